"""The comparisons of the indicator table: funnels, rest-of comparators, reliability, wording.

Adds the comparison columns of docs/architecture.md ("Indicator table"). The three comparisons
clusters asked for (Huang et al., BJGP 2021), each with its centre and comparator stated:

1. a practice against the rest of its cluster (the cluster excluding the practice) and against
   Scotland (the funnel of all Scottish practices, centre = the Scotland value);
2. a cluster against the rest of its home HSCP and home board (each excluding the cluster's
   practices in it), and on the funnel of all clusters (centre = the Scotland value);
3. a practice or cluster against the rest of Scotland excluding itself.

Rules:

- Funnel flags (total rows of every level below Scotland) use over-dispersion (phi, tau2)
  estimated from **all Scottish units at that level** (:func:`clusterqi.stats.overdispersion`:
  winsorised z-scores, DerSimonian-Laird additive random effects; FunnelPlotR), never from one
  cluster's practices. Proportions use the proportion funnel; rates the ratio funnel on
  observed / expected with expected = denominator x Scotland rate. Both the adjusted and the
  unadjusted flags are kept.
- ``rest_of_*_value`` columns are on month and total rows of practices and clusters (so trend
  charts can draw each comparator month by month); ``vs_*`` columns, ``reliability`` and
  ``interpretation`` on total rows. ``vs_*`` come from :func:`clusterqi.stats.compare` at
  :data:`COMPARISON_CONFIDENCE`: "similar" when the comparator's value lies inside the unit's
  interval (Fingertips' method).
- ``scotland_value`` is on every row (that period's Scotland value).

Example usage::

    table = add_comparisons(table, practice_rows, practice_attributes(practices), catalogue)
    table.loc[table.level == "cluster", ["area_id", "vs_rest_of_hscp", "interpretation"]]
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from clusterqi import stats

__all__ = [
    "COMPARISON_CONFIDENCE",
    "FUNNEL_LEVELS",
    "COMPARISON_COLUMNS",
    "LEVEL_WORDS",
    "add_comparisons",
    "funnel_lines",
]

#: Interval used by the ``vs_*`` comparisons (Fingertips compares at 95% by default).
COMPARISON_CONFIDENCE = 0.95
#: Levels with a funnel of all Scottish units.
FUNNEL_LEVELS = ("practice", "cluster", "hscp", "hb")
#: Plural nouns for the levels, used in the wording.
LEVEL_WORDS = {"practice": "practices", "cluster": "clusters", "hscp": "HSCPs", "hb": "boards"}

_FUNNEL_FLAGS = ["funnel_95", "funnel_998", "funnel_95_unadjusted", "funnel_998_unadjusted"]
COMPARISON_COLUMNS = [
    "scotland_value",
    *_FUNNEL_FLAGS,
    "phi",
    "tau2",
    "rest_of_cluster_value",
    "vs_rest_of_cluster",
    "rest_of_hscp_value",
    "vs_rest_of_hscp",
    "rest_of_hb_value",
    "vs_rest_of_hb",
    "rest_of_scotland_value",
    "vs_rest_of_scotland",
    "reliability",
    "interpretation",
]
_PERIOD = ["indicator_id", "period_type", "period"]
_SUMS = ["numerator", "denominator"]


def _sums(frame: pd.DataFrame, keys: list[str], prefix: str) -> pd.DataFrame:
    out = frame.groupby(_PERIOD + keys, observed=True, sort=False)[_SUMS].sum().reset_index()
    return out.rename(columns={"numerator": f"{prefix}_num", "denominator": f"{prefix}_den"})


def _rest_value(total_num, total_den, own_num, own_den, mult) -> np.ndarray:
    num = np.asarray(total_num, float) - np.nan_to_num(np.asarray(own_num, float))
    den = np.asarray(total_den, float) - np.nan_to_num(np.asarray(own_den, float))
    with np.errstate(divide="ignore", invalid="ignore"):
        # a tolerance for float subtraction: an empty remainder is no comparator
        return np.where(den > 1e-9 * np.abs(np.asarray(total_den, float)), num / den * mult,
                        np.nan)


def _rest_values(table, base, multiplier) -> dict[str, np.ndarray]:
    """rest_of_{cluster,hscp,hb,scotland}_value for every row (NaN where not applicable)."""
    t = table[_PERIOD + ["level", "area_id", "cluster_id", "hscp_code", "hb_code"] + _SUMS]
    practice = (t["level"] == "practice").to_numpy()
    cluster = (t["level"] == "cluster").to_numpy()
    mult = multiplier.to_numpy(float)
    out = {}
    cl = t.merge(_sums(base.dropna(subset=["cluster_id"]), ["cluster_id"], "c"),
                 on=_PERIOD + ["cluster_id"], how="left")
    out["rest_of_cluster_value"] = np.where(
        practice, _rest_value(cl["c_num"], cl["c_den"], cl["numerator"], cl["denominator"], mult),
        np.nan)
    for area, code in (("hscp", "hscp_code"), ("hb", "hb_code")):
        whole = _sums(base.dropna(subset=[code]), [code], "a")
        part = _sums(base.dropna(subset=["cluster_id", code]), ["cluster_id", code], "p")
        part = part.rename(columns={"cluster_id": "area_id"})
        m = t.merge(whole, on=_PERIOD + [code], how="left").merge(
            part, on=_PERIOD + ["area_id", code], how="left")
        out[f"rest_of_{area}_value"] = np.where(
            cluster, _rest_value(m["a_num"], m["a_den"], m["p_num"], m["p_den"], mult), np.nan)
    sc = t.merge(_sums(base, [], "s"), on=_PERIOD, how="left")
    out["rest_of_scotland_value"] = np.where(
        practice | cluster,
        _rest_value(sc["s_num"], sc["s_den"], sc["numerator"], sc["denominator"], mult), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["scotland_value"] = np.where(sc["s_den"] > 0, sc["s_num"] / sc["s_den"] * mult,
                                         np.nan)
    return out


def _funnel_inputs(kind: str, num: np.ndarray, den: np.ndarray, scotland_rate: float):
    """(numerators, denominators) as overdispersion expects them; NaN for unusable units."""
    ok = np.isfinite(num) & np.isfinite(den) & (den > 0) & (num >= 0)
    if kind == "proportion":
        ok &= num <= den
        return np.where(ok, num, np.nan), np.where(ok, den, np.nan)
    expected = den * scotland_rate
    ok &= expected > 0
    return np.where(ok, num, np.nan), np.where(ok, expected, np.nan)


def _funnels(table: pd.DataFrame, kinds: Mapping[str, str], out: dict) -> None:
    """Fill funnel flags, phi, tau2 and reliability on total rows of the funnel levels."""
    n = len(table)
    for column in _FUNNEL_FLAGS:
        out[column] = np.full(n, None, dtype=object)
    for column in ("phi", "tau2", "reliability"):
        out[column] = np.full(n, np.nan)
    totals = table[(table["period_type"] == "total") & table["level"].isin(FUNNEL_LEVELS)]
    scot = table[(table["period_type"] == "total") & (table["level"] == "scotland")]
    scot_rate = dict(zip(scot["indicator_id"], scot["numerator"] / scot["denominator"]))
    for (indicator_id, _level), group in totals.groupby(["indicator_id", "level"], sort=False):
        kind = kinds[indicator_id]
        rate = float(scot_rate.get(indicator_id, np.nan))
        if not np.isfinite(rate) or rate <= 0:
            continue
        num, den = _funnel_inputs(kind, group["numerator"].to_numpy(float),
                                  group["denominator"].to_numpy(float), rate)
        usable = np.isfinite(num) & np.isfinite(den)
        if usable.sum() == 0:
            continue
        stat_kind = "proportion" if kind == "proportion" else "ratio"
        od = stats.overdispersion(num[usable], den[usable], kind=stat_kind)
        baseline = rate if kind == "proportion" else 1.0
        flags = od.flag(num[usable], den[usable], baseline=baseline)
        rel = stats.reliability(num[usable], den[usable], dispersion=od)
        positions = table.index.get_indexer(group.index[usable])
        for column in _FUNNEL_FLAGS:
            out[column][positions] = flags[column].to_numpy(dtype=object)
        out["phi"][table.index.get_indexer(group.index)] = od.phi
        out["tau2"][table.index.get_indexer(group.index)] = od.tau2
        out["reliability"][positions] = rel["reliability"].to_numpy(float)


def _compare(table, benchmark: np.ndarray, rows: np.ndarray, low_is_good: Mapping) -> np.ndarray:
    """stats.compare per indicator on the given rows; None elsewhere or without a comparator."""
    result = np.full(len(table), None, dtype=object)
    value = table["value"].to_numpy(float)
    lower = table["lower_95"].to_numpy(float)
    upper = table["upper_95"].to_numpy(float)
    usable = rows & np.isfinite(value) & np.isfinite(lower) & np.isfinite(upper) & np.isfinite(
        benchmark)
    ids = table["indicator_id"].to_numpy(dtype=object)
    for indicator_id in pd.unique(ids[usable]):
        pick = usable & (ids == indicator_id)
        verdict = stats.compare(value[pick], lower[pick], upper[pick], benchmark[pick],
                                low_is_good[indicator_id])
        result[pick] = np.asarray(verdict, dtype=object)
    return result


def _direction_words(verdict: np.ndarray, value: np.ndarray, benchmark: np.ndarray,
                     comparator: str) -> np.ndarray:
    """"higher than the rest of Scotland (worse)" / "similar to ..." / None."""
    higher = value > benchmark
    word = np.where(higher, "higher than", "lower than")
    judged = np.isin(verdict, ["better", "worse"])
    tail = np.where(judged, " (" + verdict.astype(str) + ")", "")
    text = np.where(verdict == "similar", "similar to " + comparator,
                    word + " " + comparator + tail)
    return np.where(pd.isna(verdict), None, text)


def _interpretation(table: pd.DataFrame, out: dict) -> np.ndarray:
    level = table["level"].to_numpy(dtype=object)
    total = (table["period_type"] == "total").to_numpy()
    value = table["value"].to_numpy(float)
    f95 = np.asarray(out["funnel_95"], dtype=object)
    f998 = np.asarray(out["funnel_998"], dtype=object)
    plural = np.array([LEVEL_WORDS.get(lv, "") for lv in level], dtype=object)
    funnel_text = np.select(
        [np.isin(f998, ["high", "low"]), np.isin(f95, ["high", "low"]), f95 == "within"],
        [
            "outside the 99.8% limits for Scottish " + plural
            + " after allowing for over-dispersion",
            "outside the 95% but within the 99.8% limits for Scottish " + plural
            + " after allowing for over-dispersion",
            "within the 95% limits for Scottish " + plural + " after allowing for over-dispersion",
        ],
        default=None,
    ).astype(object)
    parts = [
        _direction_words(np.asarray(out["vs_rest_of_scotland"], dtype=object), value,
                         out["rest_of_scotland_value"], "the rest of Scotland"),
        funnel_text,
        _direction_words(np.asarray(out["vs_rest_of_cluster"], dtype=object), value,
                         out["rest_of_cluster_value"], "the rest of its cluster"),
        _direction_words(np.asarray(out["vs_rest_of_hscp"], dtype=object), value,
                         out["rest_of_hscp_value"], "the rest of its HSCP"),
        _direction_words(np.asarray(out["vs_rest_of_hb"], dtype=object), value,
                         out["rest_of_hb_value"], "the rest of its board"),
    ]
    text = np.full(len(table), None, dtype=object)
    for part in parts:
        has = ~pd.isna(part)
        text = np.where(has & pd.isna(text), part,
                        np.where(has, text.astype(str) + "; " + part.astype(str), text))
    text = np.array([None if pd.isna(t) else t[0].upper() + t[1:] for t in text], dtype=object)
    text = np.where(total & (level != "scotland"), text, None)
    return text


def add_comparisons(
    table: pd.DataFrame,
    practice_rows: pd.DataFrame,
    attributes: pd.DataFrame,
    catalogue: Mapping[str, object],
) -> pd.DataFrame:
    """Add :data:`COMPARISON_COLUMNS` to an indicator table that has keys and values.

    ``practice_rows``: ``indicator_id, practice_code, period_type, period, numerator,
    denominator`` (the rows the table was summed from); ``attributes`` from
    :func:`clusterqi.indicators.levels.practice_attributes`; ``catalogue`` maps ids to objects
    with ``kind``, ``multiplier`` and ``low_is_good``.
    """
    table = table.reset_index(drop=True)
    base = practice_rows.merge(attributes, on="practice_code", how="inner")
    multiplier = table["indicator_id"].map({i: float(v.multiplier) for i, v in catalogue.items()})
    kinds = {i: v.kind for i, v in catalogue.items()}
    low_is_good = {i: v.low_is_good for i, v in catalogue.items()}
    out = _rest_values(table, base, multiplier)
    _funnels(table, kinds, out)
    level = table["level"].to_numpy(dtype=object)
    total = (table["period_type"] == "total").to_numpy()
    practice_total = total & (level == "practice")
    cluster_total = total & (level == "cluster")
    out["vs_rest_of_cluster"] = _compare(table, out["rest_of_cluster_value"], practice_total,
                                         low_is_good)
    out["vs_rest_of_hscp"] = _compare(table, out["rest_of_hscp_value"], cluster_total,
                                      low_is_good)
    out["vs_rest_of_hb"] = _compare(table, out["rest_of_hb_value"], cluster_total, low_is_good)
    out["vs_rest_of_scotland"] = _compare(table, out["rest_of_scotland_value"],
                                          practice_total | cluster_total, low_is_good)
    words = np.full(len(table), None, dtype=object)
    show = np.flatnonzero(total & (level != "scotland"))
    if show.size:
        words[show] = _interpretation(table.iloc[show].reset_index(drop=True),
                                      {k: np.asarray(v)[show] for k, v in out.items()})
    out["interpretation"] = words
    columns = {}
    for column in COMPARISON_COLUMNS:
        values = out[column]
        if np.asarray(values).dtype == object:
            columns[column] = pd.Series(values, index=table.index, dtype="str")
        else:
            columns[column] = pd.Series(values, index=table.index, dtype="float64")
    return table.assign(**columns)


def funnel_lines(
    table: pd.DataFrame,
    indicator_id: str,
    level: str,
    period: str | None = None,
    points: int = 100,
    kind: str | None = None,
) -> pd.DataFrame:
    """Funnel limits to draw behind a level's units, from the table's own figures.

    Uses the total rows of ``indicator_id`` at ``level`` (``period`` defaults to the table's
    total period): their ``scotland_value``, ``phi`` and ``tau2``, and ``points`` sizes spread
    evenly on a log scale between the smallest and largest denominator. For rates the size is
    the denominator (patients or patient-days) and the limits are the ratio limits at expected
    = size x Scotland rate, times the Scotland value. Values in the indicator's units.
    ``kind`` ("proportion" | "rate") defaults to ``table.attrs["kinds"]``.

    Returns ``size, baseline, lower_95, upper_95, lower_998, upper_998, lower_95_unadjusted,
    upper_95_unadjusted, lower_998_unadjusted, upper_998_unadjusted``.

    Example usage::

        lines = funnel_lines(table, "antibiotics_4c_share", "practice")
        # charts.funnel_chart draws lines and the practices' points
    """
    rows = table[(table["indicator_id"] == indicator_id) & (table["level"] == level)
                 & (table["period_type"] == "total")]
    if period is not None:
        rows = rows[rows["period"] == period]
    elif len(rows):
        rows = rows[rows["period"] == rows["period"].iloc[-1]]
    rows = rows[(rows["denominator"] > 0) & rows["value"].notna()]
    if rows.empty:
        raise ValueError(
            f"no total rows for indicator {indicator_id!r} at level {level!r}"
            + (f" and period {period!r}" if period else "")
        )
    if points < 2:
        raise ValueError(f"points {points!r}: expected at least 2")
    scotland = float(rows["scotland_value"].iloc[0])
    phi = float(rows["phi"].iloc[0])
    tau2 = float(rows["tau2"].iloc[0])
    multiplier = (table.attrs.get("multipliers") or {}).get(indicator_id)
    if multiplier is None:  # a table without attrs: value = numerator / denominator x multiplier
        ratio = rows["numerator"] / rows["denominator"]
        multiplier = float(np.nanmedian((rows["value"] / ratio)[ratio > 0]))
    kind = kind or (table.attrs.get("kinds") or {}).get(indicator_id)
    if kind not in ("proportion", "rate"):
        raise ValueError(
            f"kind of indicator {indicator_id!r} unknown: pass kind='proportion' or 'rate' "
            "(calculate_indicators records it in table.attrs['kinds'])"
        )
    sizes = np.geomspace(rows["denominator"].min(), rows["denominator"].max(), points)
    if kind == "proportion":
        od = stats.Overdispersion(kind="proportion", phi=phi, tau2=tau2, n=len(rows),
                                  baseline=scotland / multiplier)
        adjusted = od.limits(sizes, multiplier=multiplier)
        plain = od.limits(sizes, multiplier=multiplier, adjusted=False)
    else:
        rate = scotland / multiplier
        od = stats.Overdispersion(kind="ratio", phi=phi, tau2=tau2, n=len(rows), baseline=1.0)
        adjusted = od.limits(sizes * rate, multiplier=scotland)
        plain = od.limits(sizes * rate, multiplier=scotland, adjusted=False)
    out = pd.DataFrame({"size": sizes, "baseline": np.full(points, scotland)})
    for column in ("lower_95", "upper_95", "lower_998", "upper_998"):
        out[column] = adjusted[column].to_numpy()
    for column in ("lower_95", "upper_95", "lower_998", "upper_998"):
        out[f"{column}_unadjusted"] = plain[column].to_numpy()
    return out
