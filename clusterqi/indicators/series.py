"""SPC on the indicator table's month series: p / u / XmR limits, special causes, Anhøj runs.

Every practice and cluster month series of every indicator gets a control chart: a **p chart**
for proportions of counted items, a **u chart** for rates of counted items, and an **XmR chart**
where neither fits (quantity or cost numerators). The columns added (docs/architecture.md, "SPC
columns") are ``spc_chart, cl, lcl, ucl, spc_signal, spc_flag, spc_rule, run_signal``; they are
null on other rows. Limits and centre lines are in the indicator's units (x multiplier).

Methods (the same as :mod:`clusterqi.stats`, computed for all series at once with grouped numpy
instead of one call per series, which would mean ~10,000 calls for Scotland's practices; the
constants and rule names are imported from :mod:`clusterqi.stats.spc`, and a test checks
agreement with ``stats.p_chart``, ``stats.u_chart`` and ``stats.xmr_chart`` series by series):

- p chart: CL = sum(numerators) / sum(denominators); limits CL +/- 3 sqrt(CL(1-CL)/n_i), clipped
  to [0, 1] (Montgomery, *Introduction to Statistical Quality Control*, ch. 7; qicharts2).
- u chart: CL = sum(counts) / sum(exposures); limits CL +/- 3 sqrt(CL/e_i), lower clipped at 0.
- XmR: CL = mean; limits CL +/- 2.66 x mean moving range, moving ranges >= 3.267 x their mean
  screened out ("Making Data Count", NHSRplotthedots).
- Special causes (NHS England "Making Data Count" rules, applied to all three charts): a point
  outside the limits; 7 or more consecutive points on one side of the centre line; 7 or more
  consecutive points rising or falling; within 3 consecutive points on one side, 2 or more
  beyond two-thirds of the way to a limit. A signal above the line (or a rising trend) is a
  "concern" when ``low_is_good`` is true, an "improvement" when false, "neutral" when null.
- ``run_signal``: the Anhøj rules around the chart's centre line, as the stats charts do
  (qicharts2): the longest run of useful points (not on the line) exceeds round(log2(n)) + 3,
  or the number of crossings is below the 5th percentile of Binomial(n - 1, 0.5). False with
  fewer than 10 useful points (no analysis).

Example usage::

    table = add_spc(table, catalogue)
    table.query("level == 'cluster' and spc_signal")[["area_id", "period", "spc_rule"]]
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from clusterqi.stats.spc import (
    MIN_USEFUL_FOR_RUNS,
    MR_SCREEN_FACTOR,
    NEAR_LIMIT_SHARE,
    RULE_NAMES,
    SHIFT_LENGTH,
    SIGMA_LIMIT,
    TREND_LENGTH,
    XMR_LIMIT_FACTOR,
    anhoej_thresholds,
)

__all__ = [
    "SPC_LEVELS",
    "SPC_COLUMNS",
    "chart_type",
    "add_spc",
    "spc_frame",
]

#: Levels whose month series get SPC.
SPC_LEVELS = ("practice", "cluster")
SPC_COLUMNS = ["spc_chart", "cl", "lcl", "ucl", "spc_signal", "spc_flag", "spc_rule",
               "run_signal"]


def chart_type(indicator) -> str:
    """"p", "u" or "xmr": the control chart that fits an indicator (or local measure).

    Counted items make a p chart (proportion) or u chart (rate); quantity and cost are not
    counts of events, so they get an XmR chart.
    """
    measure = getattr(getattr(indicator, "numerator", None), "measure", "items")
    if measure != "items":
        return "xmr"
    return "p" if indicator.kind == "proportion" else "u"


def _shift_within(values: np.ndarray, series: np.ndarray, k: int, fill) -> np.ndarray:
    """values shifted by k positions (k>0: previous), ``fill`` where it crosses a series."""
    out = np.full(len(values), fill, dtype=values.dtype)
    if k > 0:
        out[k:] = values[:-k]
        same = np.zeros(len(values), bool)
        same[k:] = series[k:] == series[:-k]
    else:
        k = -k
        out[:-k] = values[k:]
        same = np.zeros(len(values), bool)
        same[:-k] = series[:-k] == series[k:]
    return np.where(same, out, fill)


def _run_lengths(key: np.ndarray, series: np.ndarray) -> np.ndarray:
    """Length of the run of equal ``key`` each point belongs to (runs stop at series ends)."""
    start = np.ones(len(key), bool)
    start[1:] = (key[1:] != key[:-1]) | (series[1:] != series[:-1])
    run_id = np.cumsum(start)
    return np.bincount(run_id)[run_id]


def _anhoej(y: np.ndarray, cl: np.ndarray, series: np.ndarray, n_series: int) -> np.ndarray:
    """Anhøj signal per series around each point's centre line (False below the minimum)."""
    side = np.sign(y - cl)
    useful = np.isfinite(side) & (side != 0)
    s, sd = series[useful], side[useful]
    n_useful = np.bincount(s, minlength=n_series)
    lengths = _run_lengths(sd, s)
    longest = np.zeros(n_series)
    np.maximum.at(longest, s, lengths)
    change = np.zeros(len(sd), bool)
    change[1:] = (sd[1:] != sd[:-1]) & (s[1:] == s[:-1])
    crossings = np.bincount(s[change], minlength=n_series)
    enough = n_useful >= MIN_USEFUL_FOR_RUNS
    longest_max, crossings_min = anhoej_thresholds(np.maximum(n_useful, 1))
    return enough & ((longest > longest_max) | (crossings < crossings_min))


def _per_series_mean(values: np.ndarray, mask: np.ndarray, series: np.ndarray, n: int):
    """Mean of ``values[mask]`` per series (NaN where none), and the count used."""
    count = np.bincount(series[mask], minlength=n)
    total = np.bincount(series[mask], weights=values[mask], minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(count > 0, total / count, np.nan), count


def spc_frame(
    y: np.ndarray,
    numerator: np.ndarray,
    denominator: np.ndarray,
    chart: np.ndarray,
    series: np.ndarray,
    multiplier: np.ndarray,
    direction: np.ndarray,
) -> pd.DataFrame:
    """SPC columns for points already sorted by series then time.

    ``y`` values in indicator units; ``chart`` "p" / "u" / "xmr" per point; ``series`` integer
    ids (contiguous per series); ``direction`` per point: the improvement direction, +1 when
    an increase is an improvement (``low_is_good`` false), -1 when a decrease is (true), 0 for
    no judgement. Returns :data:`SPC_COLUMNS`. Same results as ``stats.p_chart`` /
    ``u_chart`` / ``xmr_chart`` (no exclusions, moving ranges screened) series by series.
    """
    n = len(y)
    y = np.asarray(y, float)
    series = np.asarray(series)
    n_series = int(series.max()) + 1 if n else 0
    num = np.asarray(numerator, float)
    den = np.asarray(denominator, float)
    mult = np.asarray(multiplier, float)
    ok = np.isfinite(num) & np.isfinite(den) & (den > 0)
    num_sum = np.bincount(series[ok], weights=num[ok], minlength=n_series)
    den_sum = np.bincount(series[ok], weights=den[ok], minlength=n_series)
    with np.errstate(divide="ignore", invalid="ignore"):
        base = (num_sum / den_sum)[series]
        p_sigma = np.sqrt(base * (1 - base) / den) * mult
        u_sigma = np.sqrt(base / den) * mult
    # XmR: mean, mean moving range screened at MR_SCREEN_FACTOR x its mean
    finite = np.isfinite(y)
    prev = _shift_within(y, series, 1, np.nan)
    mr = np.abs(y - prev)
    has_mr = np.isfinite(mr)
    mr_mean, _ = _per_series_mean(mr, has_mr, series, n_series)
    keep = has_mr & (mr < MR_SCREEN_FACTOR * mr_mean[series])
    mr_screened, kept = _per_series_mean(mr, keep, series, n_series)
    mr_screened = np.where(kept > 0, mr_screened, mr_mean)
    y_mean, _ = _per_series_mean(y, finite, series, n_series)
    is_p, is_u, is_x = chart == "p", chart == "u", chart == "xmr"
    cl = np.where(is_x, y_mean[series], base * mult)
    sigma = np.select([is_p, is_u], [p_sigma, u_sigma],
                      default=mr_screened[series] * XMR_LIMIT_FACTOR / SIGMA_LIMIT)
    lcl = cl - SIGMA_LIMIT * sigma
    ucl = cl + SIGMA_LIMIT * sigma
    lcl = np.where(is_p | is_u, np.maximum(lcl, 0.0), lcl)
    ucl = np.where(is_p, np.minimum(ucl, mult), ucl)

    # special-cause rules (stats.spc): +1 above / rising, -1 below / falling
    with np.errstate(invalid="ignore"):
        side = np.sign(y - cl)
    side = np.where(np.isfinite(side), side, 0.0)
    with np.errstate(invalid="ignore"):
        outside = (y > ucl) | (y < lcl)
    shift = (side != 0) & (_run_lengths(side, series) >= SHIFT_LENGTH)
    step = np.sign(y - prev)
    step = np.where(np.isfinite(step), step, 0.0)
    trend_step = np.where((step != 0) & (_run_lengths(step, series) >= TREND_LENGTH - 1),
                          step, 0.0)
    trend_dir = np.where(trend_step != 0, trend_step,
                         _shift_within(trend_step, series, -1, 0.0))
    trend = trend_dir != 0
    band = NEAR_LIMIT_SHARE * SIGMA_LIMIT * sigma
    with np.errstate(invalid="ignore"):
        beyond = np.where(side > 0, y > cl + band, np.where(side < 0, y < cl - band, False))
    side_sum = side + _shift_within(side, series, 1, 0.0) + _shift_within(side, series, 2, 0.0)
    hits = beyond.astype(float)
    hit_sum = hits + _shift_within(hits, series, 1, 0.0) + _shift_within(hits, series, 2, 0.0)
    # a window ending at point t: the 3 points t-2..t all on one side, 2 or more beyond
    window = (np.abs(side_sum) == 3) & (hit_sum >= 2)
    in_window = window | _shift_within(window, series, -1, False) | _shift_within(
        window, series, -2, False)
    two_of_three = beyond & in_window

    rules = {"outside_limits": outside, "shift": shift, "trend": trend,
             "two_of_three": two_of_three}
    signal = outside | shift | trend | two_of_three
    point_direction = np.where(outside | shift | two_of_three, side, trend_dir)
    text = np.full(n, "", dtype=object)
    for name, fired in rules.items():
        label = RULE_NAMES[name]
        text = np.where(fired, np.where(text == "", label, text + "; " + label), text)
    direction = np.asarray(direction, float)
    flag = np.where(direction == 0, "neutral",
                    np.where(point_direction == direction, "improvement", "concern"))
    run = _anhoej(y, cl, series, n_series)[series] if n else np.zeros(0, bool)
    return pd.DataFrame(
        {
            "spc_chart": pd.array(np.where(is_p, "p", np.where(is_u, "u", "xmr")), dtype="str"),
            "cl": cl,
            "lcl": lcl,
            "ucl": ucl,
            "spc_signal": pd.array(signal, dtype="boolean"),
            "spc_flag": pd.array(np.where(signal, flag, None), dtype="str"),
            "spc_rule": pd.array(np.where(signal, text, None), dtype="str"),
            "run_signal": pd.array(run, dtype="boolean"),
        }
    )


def _direction(low_is_good) -> float:
    """The improvement direction: -1 (decrease) when low is good, +1 when high is, 0 if null."""
    return 0.0 if low_is_good is None else (-1.0 if low_is_good else 1.0)


def add_spc(
    table: pd.DataFrame,
    catalogue: Mapping[str, object],
    levels: tuple[str, ...] = SPC_LEVELS,
) -> pd.DataFrame:
    """Add :data:`SPC_COLUMNS` to the month rows of ``levels`` (null elsewhere).

    ``catalogue`` maps ``indicator_id`` to an object with ``kind``, ``multiplier``,
    ``low_is_good`` and (optionally) ``numerator.measure``.
    """
    mask = (table["period_type"] == "month") & table["level"].isin(levels)
    rows = table[mask].sort_values(["indicator_id", "level", "area_id", "period"],
                                   kind="stable")
    ids = rows["indicator_id"]
    charts = {i: chart_type(ind) for i, ind in catalogue.items()}
    series = rows.groupby(["indicator_id", "level", "area_id"], sort=False).ngroup().to_numpy()
    spc = spc_frame(
        rows["value"].to_numpy(float),
        rows["numerator"].to_numpy(float),
        rows["denominator"].to_numpy(float),
        ids.map(charts).to_numpy(dtype=object),
        series,
        ids.map({i: float(ind.multiplier) for i, ind in catalogue.items()}).to_numpy(float),
        ids.map({i: _direction(ind.low_is_good) for i, ind in catalogue.items()}).to_numpy(float),
    )
    spc.index = rows.index
    spc = spc.reindex(table.index)
    return table.assign(**{column: spc[column].astype(_dtype(column)) for column in SPC_COLUMNS})


def _dtype(column: str) -> str:
    if column in ("cl", "lcl", "ucl"):
        return "float64"
    if column in ("spc_signal", "run_signal"):
        return "boolean"
    return "str"
