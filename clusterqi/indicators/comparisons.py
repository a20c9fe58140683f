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
- One verdict (``vs_*`` columns, the at-a-glance chart, the practice chart's colours, the
  sentences): :func:`clusterqi.stats.compare_adjusted`, the unit's z-score against the
  comparator with the level's ``tau2`` added to its sampling variance, judged at the 99.8%
  limits. Against the rest of Scotland the verdict *is* the funnel's adjusted 99.8% flag
  (``funnel_998``; the funnel's centre, Scotland, differs from the rest of Scotland by the unit's
  own share, under 3% for the largest cluster), so the words and the funnel never disagree.
  Against the rest of a cluster, HSCP or board the comparator's own sampling variance is added.
  The Fingertips interval test (comparator inside the unit's 95% interval) stays available as
  ``vs_*_unadjusted``; with large denominators it calls most units better or worse.
- ``rest_of_*_value`` columns are on month and total rows of practices and clusters (so trend
  charts can draw each comparator month by month); ``vs_*`` columns, ``reliability`` and
  ``interpretation`` on total rows.
- Dose and cost indicators (a ``numerator_items`` column beside a numerator that is not an item
  count) are judged on their item counts: the unit's ratio to Scotland is kept, its precision is
  that of the items expected at Scotland's item rate.
- ``scotland_value`` is on every row (that period's Scotland value).

Why one module of this size: every comparison column is worked out here from the same sums, funnel
fits and per-indicator settings; split, the pieces would pass half a dozen intermediate arrays
between modules.

Example usage::

    table = add_comparisons(table, practice_rows, practice_attributes(practices), catalogue)
    table.loc[table.level == "cluster", ["area_id", "vs_rest_of_hscp", "interpretation"]]
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import numpy as np
import pandas as pd

from clusterqi import stats, vocabulary
from clusterqi.vocabulary import LEVELS, SCOTLAND

__all__ = [
    "COMPARISON_CONFIDENCE",
    "VERDICT_COLUMNS",
    "VERDICT_WORDS",
    "FUNNEL_LEVELS",
    "COMPARISON_COLUMNS",
    "LEVEL_WORDS",
    "add_comparisons",
    "funnel_lines",
]

#: Interval of the unadjusted ``vs_*_unadjusted`` comparisons (Fingertips compares at 95%).
COMPARISON_CONFIDENCE = 0.95
#: The verdict columns (one per comparator of :mod:`clusterqi.vocabulary`); each has an
#: ``_unadjusted`` twin.
VERDICT_COLUMNS = vocabulary.verdict_columns()
#: What a verdict means, in one plain sentence for the report.
VERDICT_WORDS = (
    '"Better" or "worse" means further from the comparator than the usual differences between '
    "Scottish units of the same kind can explain: outside the 99.8% limits that allow for them, "
    'as on the funnel plot. "Similar" means within them.')
#: Levels with a funnel of all Scottish units.
FUNNEL_LEVELS = tuple(level for level in LEVELS if level != SCOTLAND)
#: Plural nouns for the levels, used in the wording.
LEVEL_WORDS = {level: LEVELS[level].short_plural for level in FUNNEL_LEVELS}

_FUNNEL_FLAGS = ["funnel_95", "funnel_998", "funnel_95_unadjusted", "funnel_998_unadjusted"]
COMPARISON_COLUMNS = [
    "scotland_value",
    *_FUNNEL_FLAGS,
    "phi",
    "tau2",
    *vocabulary.comparator_columns(),
    "reliability",
    "interpretation",
    "peer_ids",
]
_PERIOD = ["indicator_id", "period_type", "period"]
_SUMS = ["numerator", "denominator"]


def _sums(frame: pd.DataFrame, keys: list[str], prefix: str) -> pd.DataFrame:
    out = frame.groupby(_PERIOD + keys, observed=True, sort=False)[_SUMS].sum().reset_index()
    return out.rename(columns={"numerator": f"{prefix}_num", "denominator": f"{prefix}_den"})


def _rest_value(total_num, total_den, own_num, own_den, mult) -> tuple[np.ndarray, np.ndarray]:
    """(value, denominator) of a total less the unit's own part (NaN where nothing is left)."""
    num = np.asarray(total_num, float) - np.nan_to_num(np.asarray(own_num, float))
    den = np.asarray(total_den, float) - np.nan_to_num(np.asarray(own_den, float))
    # a tolerance for float subtraction: an empty remainder is no comparator
    left = den > 1e-9 * np.abs(np.asarray(total_den, float))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(left, num / den * mult, np.nan), np.where(left, den, np.nan)


def _rest_of_own_area(t, base, mult, area_column: str, **_):
    """A practice's cluster (``cluster_id``) less the practice: (value, denominator)."""
    m = t.merge(_sums(base.dropna(subset=[area_column]), [area_column], "c"),
                on=_PERIOD + [area_column], how="left")
    return _rest_value(m["c_num"], m["c_den"], m["numerator"], m["denominator"], mult)


def _rest_of_area_less_cluster(t, base, mult, area_column: str, **_):
    """A cluster's HSCP or board less the cluster's practices in it: (value, denominator)."""
    whole = _sums(base.dropna(subset=[area_column]), [area_column], "a")
    part = _sums(base.dropna(subset=["cluster_id", area_column]), ["cluster_id", area_column], "p")
    part = part.rename(columns={"cluster_id": "area_id"})
    m = t.merge(whole, on=_PERIOD + [area_column], how="left").merge(
        part, on=_PERIOD + ["area_id", area_column], how="left")
    return _rest_value(m["a_num"], m["a_den"], m["p_num"], m["p_den"], mult)


def _rest_of_scotland(t, base, mult, area_column=None, **_):
    """Scotland less the unit: (value, denominator)."""
    m = t.merge(_sums(base, [], "s"), on=_PERIOD, how="left")
    return _rest_value(m["s_num"], m["s_den"], m["numerator"], m["denominator"], mult)


def _peer_pool(t, base, mult, area_column=None, peers: pd.DataFrame | None = None, **_):
    """A cluster's peer group pooled (the sum of its peer clusters' numerators over the sum of
    their denominators), cell by cell: (value, denominator). NaN without peer groups."""
    nothing = np.full(len(t), np.nan)
    if peers is None or not len(peers):
        return nothing, nothing
    sums = _sums(base.dropna(subset=["cluster_id"]), ["cluster_id"], "c")
    pairs = peers[["cluster_id", "peer_cluster_id"]]
    pooled = (pairs.merge(sums.rename(columns={"cluster_id": "peer_cluster_id"}),
                          on="peer_cluster_id", how="inner")
              .groupby(_PERIOD + ["cluster_id"], observed=True, sort=False)[["c_num", "c_den"]]
              .sum().reset_index().rename(columns={"cluster_id": "area_id"}))
    m = t[_PERIOD + ["area_id"]].merge(pooled, on=_PERIOD + ["area_id"], how="left")
    num, den = m["c_num"].to_numpy(float), m["c_den"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(den > 0, num / den * mult, np.nan)
    return value, np.where(den > 0, den, np.nan)


def peer_ids(table: pd.DataFrame, peers: pd.DataFrame | None) -> pd.Series:
    """Each cluster row's peer clusters, nearest first, joined by
    :data:`clusterqi.vocabulary.MEMBER_SEPARATOR` (null elsewhere or without peer groups)."""
    out = pd.Series([None] * len(table), index=table.index, dtype="str")
    if peers is None or not len(peers):
        return out
    joined = (peers.sort_values(["cluster_id", "rank"]).groupby("cluster_id")["peer_cluster_id"]
              .agg(vocabulary.MEMBER_SEPARATOR.join))
    cluster = table["level"].eq(vocabulary.CLUSTER)
    out[cluster] = table.loc[cluster, "area_id"].map(joined)
    return out


#: How each comparator's value is computed (``(t, base, multiplier, area_column, peers=...) ->
#: (value, denominator)``), by stem. A comparator registered in :mod:`clusterqi.vocabulary` gets its
#: columns in the indicator table once it has an entry here.
VALUE_FUNCTIONS = {
    vocabulary.REST_OF_CLUSTER: _rest_of_own_area,
    vocabulary.REST_OF_HSCP: _rest_of_area_less_cluster,
    vocabulary.REST_OF_HB: _rest_of_area_less_cluster,
    vocabulary.REST_OF_SCOTLAND: _rest_of_scotland,
    vocabulary.PEERS: _peer_pool,
}


def _rest_values(table, base, multiplier, peers=None) -> dict[str, np.ndarray]:
    """Every comparator's ``<stem>_value`` for every row (NaN where not applicable), and each
    comparator's denominator under ``_den:<column>`` (for the verdict's variance)."""
    t = table[_PERIOD + ["level", "area_id", "cluster_id", "hscp_code", "hb_code"] + _SUMS]
    level = t["level"].to_numpy(dtype=object)
    mult = multiplier.to_numpy(float)
    out = {}
    for comparator in vocabulary.comparators():
        compute = VALUE_FUNCTIONS.get(comparator.stem)
        if compute is None:
            continue
        value, den = compute(t, base, mult, comparator.area_column, peers=peers)
        rows = np.isin(level, comparator.unit_levels)
        out[comparator.value_column] = np.where(rows, value, np.nan)
        out[f"_den:{comparator.value_column}"] = np.where(rows, den, np.nan)
    sc = t.merge(_sums(base, [], "s"), on=_PERIOD, how="left")
    with np.errstate(divide="ignore", invalid="ignore"):
        out["scotland_value"] = np.where(sc["s_den"] > 0, sc["s_num"] / sc["s_den"] * mult,
                                         np.nan)
    return out


def _funnel_inputs(kind: str, num: np.ndarray, den: np.ndarray, scotland_rate: float,
                   items: np.ndarray | None = None, scotland_item_rate: float = np.nan):
    """(numerators, denominators) as the funnel and the verdict take them; NaN for unusable units.

    Proportions: the counts. Rates: observed and expected (denominator x Scotland rate). A dose
    or cost rate with its ``items`` given: the unit's ratio to Scotland times the items expected
    at Scotland's item rate, over those expected items (its precision is that of its items).
    """
    ok = np.isfinite(num) & np.isfinite(den) & (den > 0) & (num >= 0)
    if kind == "proportion":
        ok &= num <= den
        return np.where(ok, num, np.nan), np.where(ok, den, np.nan)
    if items is not None and np.isfinite(scotland_item_rate) and scotland_item_rate > 0:
        expected = den * scotland_item_rate
        with np.errstate(divide="ignore", invalid="ignore"):
            observed = num / (den * scotland_rate) * expected
    else:
        expected = den * scotland_rate
        observed = num
    ok &= np.isfinite(expected) & (expected > 0)
    return np.where(ok, observed, np.nan), np.where(ok, expected, np.nan)


def _dose_items(table: pd.DataFrame, measures: Mapping[str, str]) -> np.ndarray | None:
    """The ``numerator_items`` column where the numerator is not an item count, else None."""
    if "numerator_items" not in table.columns:
        return None
    non_items = table["indicator_id"].map(lambda i: measures.get(i, "items") != "items")
    return np.where(non_items.to_numpy(bool), table["numerator_items"].to_numpy(float), np.nan)


def _funnels(table: pd.DataFrame, kinds: Mapping[str, str], out: dict,
             items: np.ndarray | None) -> dict:
    """Fill funnel flags, phi, tau2 and reliability on total rows of the funnel levels.

    Returns ``{(indicator_id, level): (Overdispersion, scotland_rate, scotland_item_rate)}`` for
    the verdicts.
    """
    n = len(table)
    for column in _FUNNEL_FLAGS:
        out[column] = np.full(n, None, dtype=object)
    for column in ("phi", "tau2", "reliability"):
        out[column] = np.full(n, np.nan)
    fitted = {}
    totals = table[(table["period_type"] == "total") & table["level"].isin(FUNNEL_LEVELS)]
    scot = table[(table["period_type"] == "total") & (table["level"] == "scotland")]
    scot_rate = dict(zip(scot["indicator_id"], scot["numerator"] / scot["denominator"]))
    scot_items = ({} if items is None else dict(zip(
        scot["indicator_id"], items[table.index.get_indexer(scot.index)] / scot["denominator"])))
    for (indicator_id, level), group in totals.groupby(["indicator_id", "level"], sort=False):
        kind = kinds[indicator_id]
        rate = float(scot_rate.get(indicator_id, np.nan))
        if not np.isfinite(rate) or rate <= 0:
            continue
        item_rate = float(scot_items.get(indicator_id, np.nan))
        positions_all = table.index.get_indexer(group.index)
        unit_items = None if not np.isfinite(item_rate) else items[positions_all]
        num, den = _funnel_inputs(kind, group["numerator"].to_numpy(float),
                                  group["denominator"].to_numpy(float), rate, unit_items,
                                  item_rate)
        usable = np.isfinite(num) & np.isfinite(den)
        if usable.sum() == 0:
            continue
        stat_kind = "proportion" if kind == "proportion" else "ratio"
        od = stats.overdispersion(num[usable], den[usable], kind=stat_kind)
        fitted[(indicator_id, level)] = (od, rate, item_rate)
        baseline = rate if kind == "proportion" else 1.0
        flags = od.flag(num[usable], den[usable], baseline=baseline)
        rel = stats.reliability(num[usable], den[usable], dispersion=od)
        positions = positions_all[usable]
        for column in _FUNNEL_FLAGS:
            out[column][positions] = flags[column].to_numpy(dtype=object)
        out["phi"][positions_all] = od.phi
        out["tau2"][positions_all] = od.tau2
        out["reliability"][positions] = rel["reliability"].to_numpy(float)
    return fitted


def _compare_unadjusted(table, benchmark: np.ndarray, rows: np.ndarray,
                        low_is_good: Mapping) -> np.ndarray:
    """The Fingertips interval test per indicator on the given rows; None elsewhere."""
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


#: The funnel's side -> the verdict's word, by ``low_is_good``.
_FUNNEL_VERDICT = {True: {"high": "worse", "low": "better"},
                   False: {"high": "better", "low": "worse"},
                   None: {"high": "higher", "low": "lower"}}


def _verdict_from_funnel(table, flags: np.ndarray, rows: np.ndarray,
                         low_is_good: Mapping) -> np.ndarray:
    """The funnel's adjusted 99.8% flag in the indicator's words (the rest of Scotland)."""
    ids = table["indicator_id"].to_numpy(dtype=object)
    result = np.full(len(table), None, dtype=object)
    for i in np.flatnonzero(rows):
        flag = flags[i]
        if flag in ("high", "low"):
            result[i] = _FUNNEL_VERDICT[low_is_good[ids[i]]][flag]
        elif flag == "within":
            result[i] = stats.SIMILAR
    return result


def _verdict(table, fitted: Mapping, benchmark: np.ndarray, benchmark_den: np.ndarray,
             rows: np.ndarray, kinds: Mapping, low_is_good: Mapping, mult: np.ndarray,
             items: np.ndarray | None) -> np.ndarray:
    """stats.compare_adjusted per indicator and level on the given rows (None elsewhere)."""
    result = np.full(len(table), None, dtype=object)
    ids = table["indicator_id"].to_numpy(dtype=object)
    levels = table["level"].to_numpy(dtype=object)
    num_all = table["numerator"].to_numpy(float)
    den_all = table["denominator"].to_numpy(float)
    usable = rows & np.isfinite(benchmark)
    for indicator_id, level in set(zip(ids[usable], levels[usable])):
        if (indicator_id, level) not in fitted:
            continue
        od, rate, item_rate = fitted[(indicator_id, level)]
        pick = usable & (ids == indicator_id) & (levels == level)
        unit_items = None if items is None or not np.isfinite(item_rate) else items[pick]
        num, den = _funnel_inputs(kinds[indicator_id], num_all[pick], den_all[pick], rate,
                                  unit_items, item_rate)
        if kinds[indicator_id] == "proportion":
            bench = benchmark[pick] / mult[pick]
            size = benchmark_den[pick]
        else:
            bench = benchmark[pick] / (rate * mult[pick])
            size = benchmark_den[pick] * (item_rate if unit_items is not None else rate)
        verdict = stats.compare_adjusted(num, den, bench, od, low_is_good[indicator_id],
                                         benchmark_size=size)
        result[pick] = np.asarray(verdict, dtype=object)
    return result


def _direction_words(verdict: np.ndarray, value: np.ndarray, benchmark: np.ndarray,
                     comparator: str) -> np.ndarray:
    """"higher than the rest of its HSCP (worse)" / "similar to ..." / None."""
    higher = value > benchmark
    word = np.where(higher, "higher than", "lower than")
    judged = np.isin(verdict, ["better", "worse"])
    tail = np.where(judged, " (" + verdict.astype(str) + ")", "")
    text = np.where(verdict == "similar", "similar to " + comparator,
                    word + " " + comparator + tail)
    return np.where(pd.isna(verdict), None, text)


def _interpretation(table: pd.DataFrame, out: dict) -> np.ndarray:
    """One sentence per total row, led by the verdict against the rest of Scotland."""
    level = table["level"].to_numpy(dtype=object)
    total = (table["period_type"] == "total").to_numpy()
    value = table["value"].to_numpy(float)
    plural = np.array([LEVEL_WORDS.get(lv, "") for lv in level], dtype=object)
    leading = [c for c in vocabulary.comparators() if c.funnel_verdict]
    others = [c for c in vocabulary.comparators() if not c.funnel_verdict
              and c.verdict_column in out]
    first = leading[0]
    scotland = np.asarray(out[first.verdict_column], dtype=object)
    judged = np.isin(scotland, ["better", "worse", "higher", "lower"])
    lead = _direction_words(scotland, value, out[first.value_column], first.phrase)
    lead = np.where(
        judged, lead.astype(str) + ": outside the 99.8% limits that allow for the usual "
        "variation between Scottish " + plural,
        np.where(scotland == "similar", lead.astype(str) + ": within the usual variation "
                 "between Scottish " + plural, None)).astype(object)
    no_verdict = pd.isna(scotland) & np.isin(level, first.unit_levels)
    lead = np.where(no_verdict & ~np.isfinite(value),
                    "No verdict: no patients or items to compare", lead)
    lead = np.where(no_verdict & np.isfinite(value),
                    "No verdict: nothing expected to compare with", lead)
    parts = [lead] + [
        _direction_words(np.asarray(out[c.verdict_column], dtype=object), value,
                         out[c.value_column], c.phrase)
        for c in others
    ]
    text = np.full(len(table), None, dtype=object)
    for part in parts:
        has = ~pd.isna(part)
        text = np.where(has & pd.isna(text), part,
                        np.where(has, text.astype(str) + "; " + part.astype(str), text))
    text = np.array([None if pd.isna(t) else t[0].upper() + t[1:] for t in text], dtype=object)
    text = np.where(total & (level != SCOTLAND), text, None)
    return text


def add_comparisons(
    table: pd.DataFrame,
    practice_rows: pd.DataFrame,
    attributes: pd.DataFrame,
    catalogue: Mapping[str, object],
    peers: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Add :data:`COMPARISON_COLUMNS` to an indicator table that has keys and values.

    ``practice_rows``: ``indicator_id, practice_code, period_type, period, numerator,
    denominator`` (the rows the table was summed from); ``attributes`` from
    :func:`clusterqi.indicators.levels.practice_attributes`; ``catalogue`` maps ids to objects
    with ``kind``, ``multiplier`` and ``low_is_good``; ``peers`` is
    :func:`clusterqi.peers.peer_groups` (cluster_id, peer_cluster_id, rank), or None when the data
    have no deprivation file: ``peer_value`` and ``vs_peers`` are then empty and ``peer_ids``
    null.
    """
    table = table.reset_index(drop=True)
    base = practice_rows.merge(attributes, on="practice_code", how="inner")
    multiplier = table["indicator_id"].map({i: float(v.multiplier) for i, v in catalogue.items()})
    kinds = {i: v.kind for i, v in catalogue.items()}
    low_is_good = {i: v.low_is_good for i, v in catalogue.items()}
    measures = {i: getattr(getattr(v, "numerator", None), "measure", "items")
                for i, v in catalogue.items()}
    items = _dose_items(table, measures)
    out = _rest_values(table, base, multiplier, peers)
    fitted = _funnels(table, kinds, out, items)
    level = table["level"].to_numpy(dtype=object)
    total = (table["period_type"] == "total").to_numpy()
    for c in vocabulary.comparators():
        if c.value_column not in out:
            continue
        rows = total & np.isin(level, c.unit_levels)
        comparator = c.value_column
        out[c.unadjusted_column] = _compare_unadjusted(table, out[comparator], rows, low_is_good)
        if c.funnel_verdict:
            out[c.verdict_column] = _verdict_from_funnel(table, out["funnel_998"], rows,
                                                         low_is_good)
        else:
            out[c.verdict_column] = _verdict(table, fitted, out[comparator],
                                             out[f"_den:{comparator}"], rows, kinds,
                                             low_is_good, multiplier.to_numpy(float), items)
    words = np.full(len(table), None, dtype=object)
    show = np.flatnonzero(total & (level != SCOTLAND))
    if show.size:
        words[show] = _interpretation(table.iloc[show].reset_index(drop=True),
                                      {k: np.asarray(v)[show] for k, v in out.items()})
    out["interpretation"] = words
    columns = {}
    for column in COMPARISON_COLUMNS:
        if column not in out:
            continue
        values = out[column]
        if np.asarray(values).dtype == object:
            columns[column] = pd.Series(values, index=table.index, dtype="str")
        else:
            columns[column] = pd.Series(values, index=table.index, dtype="float64")
    columns["peer_ids"] = peer_ids(table, peers)
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
    return _limit_lines(kind, scotland, phi, tau2, len(rows), float(multiplier),
                        float(rows["denominator"].min()), float(rows["denominator"].max()),
                        int(points)).copy()


@functools.lru_cache(maxsize=256)
def _limit_lines(kind: str, scotland: float, phi: float, tau2: float, n: int, multiplier: float,
                 smallest: float, largest: float, points: int) -> pd.DataFrame:
    """:func:`funnel_lines`' limits from its scalars: the same for every report of a run that
    draws the same level of an indicator, so a batch kernel works each out once (callers get
    a copy)."""
    sizes = np.geomspace(smallest, largest, points)
    if kind == "proportion":
        od = stats.Overdispersion(kind="proportion", phi=phi, tau2=tau2, n=n,
                                  baseline=scotland / multiplier)
        adjusted = od.limits(sizes, multiplier=multiplier)
        plain = od.limits(sizes, multiplier=multiplier, adjusted=False)
    else:
        rate = scotland / multiplier
        od = stats.Overdispersion(kind="ratio", phi=phi, tau2=tau2, n=n, baseline=1.0)
        adjusted = od.limits(sizes * rate, multiplier=scotland)
        plain = od.limits(sizes * rate, multiplier=scotland, adjusted=False)
    out = pd.DataFrame({"size": sizes, "baseline": np.full(points, scotland)})
    for column in ("lower_95", "upper_95", "lower_998", "upper_998"):
        out[column] = adjusted[column].to_numpy()
    for column in ("lower_95", "upper_95", "lower_998", "upper_998"):
        out[f"{column}_unadjusted"] = plain[column].to_numpy()
    return out
