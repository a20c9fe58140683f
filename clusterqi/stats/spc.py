"""Statistical process control: run charts (Anhøj rules) and p, u and XmR control charts.

These functions compute; drawing is :mod:`clusterqi.charts`' job. Each chart function returns one
row per point with the centre line and limits, the special-cause rules each point hits, a
combined ``signal``, a ``flag`` (improvement / concern / neutral, or None) and a ``rule`` text,
plus the series' Anhøj run analysis in ``result.attrs["anhoej"]`` (also as the ``run_signal``
column).

Rules (NHS England "Making Data Count"; NHSRplotthedots):

- ``outside_limits``: a point above the upper or below the lower limit;
- ``shift``: part of a run of :data:`SHIFT_LENGTH` (7) or more points on one side of the centre
  line (a point on the line breaks the run);
- ``trend``: part of :data:`TREND_LENGTH` (7) or more points each higher (or each lower) than the
  one before;
- ``two_of_three``: within 3 consecutive points all on one side of the centre line, 2 or more lie
  beyond 2/3 of the way from the centre line to the limit (the "2 sigma" zone); the points beyond
  are flagged. Unlike NHSRplotthedots, points beyond the limit count as beyond 2/3 too.

Anhøj run analysis (qicharts2): ignoring points on the centre line, the longest run is unusually
long when it exceeds ``round(log2(n)) + 3`` and there are too few crossings when fewer than
``qbinom(0.05, n - 1, 0.5)``, ``n`` the useful observations. Below
:data:`MIN_USEFUL_FOR_RUNS` useful observations no analysis is made (the note says so).

Example usage::

    from clusterqi.stats import run_chart, p_chart, xmr_chart
    chart = xmr_chart(monthly_values, improvement="decrease")
    chart[["value", "cl", "lcl", "ucl", "signal", "flag", "rule"]]
    chart.attrs["anhoej"]["signal"]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from clusterqi.stats.inputs import (
    as_array,
    broadcast,
    check_non_negative,
    check_not_above,
    check_positive,
    result_index,
)

__all__ = [
    "XMR_LIMIT_FACTOR",
    "MR_SCREEN_FACTOR",
    "SIGMA_LIMIT",
    "NEAR_LIMIT_SHARE",
    "SHIFT_LENGTH",
    "TREND_LENGTH",
    "MIN_USEFUL_FOR_RUNS",
    "LONGEST_RUN_OFFSET",
    "CROSSINGS_PROBABILITY",
    "IMPROVEMENT_DIRECTIONS",
    "RULE_NAMES",
    "anhoej_thresholds",
    "runs_analysis",
    "seven_point_trend",
    "run_chart",
    "p_chart",
    "u_chart",
    "xmr_chart",
]

#: XmR limits: mean +/- 2.66 x mean moving range (3 / d2, d2 = 1.128; Making Data Count).
XMR_LIMIT_FACTOR = 2.66
#: Moving ranges at or above 3.267 x the mean moving range (D4 for n = 2) are screened out.
MR_SCREEN_FACTOR = 3.267
#: p and u chart limits: centre line +/- 3 standard errors (Shewhart; qicharts2).
SIGMA_LIMIT = 3
#: The "close to the limit" zone starts 2/3 of the way from the centre line to the limit.
NEAR_LIMIT_SHARE = 2 / 3
#: Points on one side of the centre line that make a shift.
SHIFT_LENGTH = 7
#: Consecutive rising (or falling) points that make a trend.
TREND_LENGTH = 7
#: Fewest useful observations (not on the centre line) for an Anhøj run analysis.
MIN_USEFUL_FOR_RUNS = 10
#: Anhøj longest-run limit: round(log2(n)) + 3 (Schilling 2012).
LONGEST_RUN_OFFSET = 3
#: Anhøj crossings limit: the 5% quantile of Binomial(n - 1, 0.5) (Chen 2010).
CROSSINGS_PROBABILITY = 0.05
#: Values accepted by ``improvement``.
IMPROVEMENT_DIRECTIONS = ("increase", "decrease", None)
#: Rule text used in the ``rule`` column, by rule column.
RULE_NAMES = {
    "outside_limits": "point outside the limits",
    "shift": f"shift ({SHIFT_LENGTH} points on one side)",
    "trend": f"trend ({TREND_LENGTH} points rising or falling)",
    "two_of_three": "2 of 3 points near a limit",
}
_NO_RUNS_NOTE = (f"fewer than {MIN_USEFUL_FOR_RUNS} useful observations (points not on the centre "
                 "line): no run analysis")


def anhoej_thresholds(n_useful: Any) -> tuple[np.ndarray, np.ndarray]:
    """Anhøj thresholds for ``n_useful`` observations: (longest run maximum, crossings minimum).

    ``longest_run_max = round(log2(n)) + 3``; ``crossings_min = qbinom(0.05, n - 1, 0.5)``
    (smallest c with P(C <= c) >= 0.05).

    Reference: Anhøj J, Olesen AV (2014) Run charts revisited, PLoS One 9:e113825; qicharts2
    ``runs.analysis``.

    Example usage::

        anhoej_thresholds(24)   # (array([8.]), array([8.]))
    """
    n = as_array(n_useful, "n_useful")
    check_positive(n, "n_useful")
    longest = np.round(np.log2(n)) + LONGEST_RUN_OFFSET
    crossings = sps.binom.ppf(CROSSINGS_PROBABILITY, n - 1, 0.5)
    return longest, crossings


def runs_analysis(values: Any, centre: Any, include: Any = None) -> dict[str, Any]:
    """Anhøj run analysis of ``values`` around ``centre`` (scalar or per point).

    ``include`` (booleans) leaves points out, as qicharts2 does for excluded points. Returns a
    dict with ``n_obs, n_useful, longest_run, longest_run_max, crossings, crossings_min, signal,
    note``; with fewer than :data:`MIN_USEFUL_FOR_RUNS` useful observations the counts and
    thresholds are None, ``signal`` is False and ``note`` says why.

    Reference: Anhøj & Olesen (2014) PLoS One 9:e113825; qicharts2 ``runs.analysis``.
    """
    y = as_array(values, "values")
    cl, y = broadcast(centre=as_array(centre, "centre"), values=y)
    keep = np.ones(y.size, bool) if include is None else np.asarray(include, bool)
    side = np.sign(y[keep] - cl[keep])
    side = side[~np.isnan(side) & (side != 0)]
    result: dict[str, Any] = {"n_obs": int(keep.sum()), "n_useful": int(side.size),
                              "longest_run": None, "longest_run_max": None, "crossings": None,
                              "crossings_min": None, "signal": False, "note": _NO_RUNS_NOTE}
    if side.size < MIN_USEFUL_FOR_RUNS:
        return result
    breaks = np.flatnonzero(np.diff(side) != 0)
    run_lengths = np.diff(np.concatenate(([-1], breaks, [side.size - 1])))
    longest_max, crossings_min = (int(v[0]) for v in anhoej_thresholds(side.size))
    longest, crossings = int(run_lengths.max()), int(breaks.size)
    result.update(longest_run=longest, longest_run_max=longest_max, crossings=crossings,
                  crossings_min=crossings_min,
                  signal=bool(longest > longest_max or crossings < crossings_min),
                  note="unusually long run" if longest > longest_max else
                  ("too few crossings" if crossings < crossings_min else "random variation"))
    return result


def run_chart(values: Any) -> pd.DataFrame:
    """Run chart: the median and the Anhøj run analysis of a series.

    Returns one row per point with columns ``value, cl`` (the median of the non-missing values)
    and the analysis repeated on every row: ``n_useful, longest_run, longest_run_max, crossings,
    crossings_min, signal`` (True when the longest run is too long or there are too few
    crossings) and ``note``. Points on the median are not useful. Fewer than 10 useful
    observations: the analysis columns are missing, ``signal`` False and ``note`` says so. The
    analysis is also in ``.attrs["anhoej"]``.

    Reference: Anhøj J, Olesen AV (2014) Run charts revisited, PLoS One 9:e113825; Anhøj J (2015)
    Diagnostic value of run chart analysis, PLoS One 10:e0121349; qicharts2 ``qic(chart = "run")``.

    Example usage::

        run_chart([3, 5, 4, 6, 7, 5, 4, 8, 9, 7, 6, 5])
    """
    y = as_array(values, "values")
    median = float(np.nanmedian(y)) if np.isfinite(y).any() else np.nan
    analysis = runs_analysis(y, median)
    frame = pd.DataFrame({"value": y, "cl": np.full(y.size, median)}, index=result_index(values))
    for key in ("n_useful", "longest_run", "longest_run_max", "crossings", "crossings_min"):
        frame[key] = pd.array([analysis[key]] * y.size, dtype="Int64")
    frame["signal"] = analysis["signal"]
    frame["note"] = analysis["note"]
    frame.attrs["anhoej"] = analysis
    return frame


def _check_improvement(improvement: Any) -> int:
    if improvement not in IMPROVEMENT_DIRECTIONS:
        raise ValueError(f"improvement: {improvement!r}; expected 'increase', 'decrease' or None")
    return {"increase": 1, "decrease": -1, None: 0}[improvement]


def _runs_of(mask_values: np.ndarray, length: int) -> np.ndarray:
    """Mark points in runs of >= ``length`` equal non-zero values of ``mask_values``."""
    marked = np.zeros(mask_values.size, bool)
    start = 0
    for i in range(1, mask_values.size + 1):
        if i == mask_values.size or mask_values[i] != mask_values[start]:
            if mask_values[start] != 0 and i - start >= length:
                marked[start:i] = True
            start = i
    return marked


def seven_point_trend(values: Any) -> np.ndarray:
    """Where a trend completes: +1 at a point ending 7 rising points, -1 ending 7 falling, else 0.

    "Rising" means each of the 7 points is strictly higher than the one before (6 increases).
    This is NHSRplotthedots' ``ptd_seven_point_trend`` convention; the charts' ``trend`` column
    marks every point of such a run.

    Example usage::

        seven_point_trend([1, 2, 3, 4, 5, 6, 7])   # [0, 0, 0, 0, 0, 0, 1]
    """
    y = as_array(values, "values")
    step = np.sign(np.diff(y))
    step[np.isnan(step)] = 0
    ends = np.zeros(y.size, int)
    needed = TREND_LENGTH - 1
    for i in range(needed, y.size):
        window = step[i - needed:i]
        if (window == 1).all():
            ends[i] = 1
        elif (window == -1).all():
            ends[i] = -1
    return ends


def _trend_points(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ends = seven_point_trend(y)
    marked = np.zeros(y.size, bool)
    direction = np.zeros(y.size, int)
    for i in np.flatnonzero(ends):
        marked[i - TREND_LENGTH + 1:i + 1] = True
        direction[i - TREND_LENGTH + 1:i + 1] = ends[i]
    return marked, direction


def _special_causes(y: np.ndarray, cl: np.ndarray, lcl: np.ndarray, ucl: np.ndarray,
                    near_low: np.ndarray, near_high: np.ndarray, direction: int) -> dict[str, Any]:
    """Apply the four rules; return the rule columns plus signal, flag and rule text."""
    with np.errstate(invalid="ignore"):
        side = np.sign(y - cl)
        side[np.isnan(side)] = 0
        outside = (y > ucl) | (y < lcl)
        beyond = np.where(side > 0, y > near_high, np.where(side < 0, y < near_low, False))
    shift = _runs_of(side.astype(int), SHIFT_LENGTH)
    trend, trend_direction = _trend_points(y)
    two_of_three = np.zeros(y.size, bool)
    for i in range(y.size - 2):
        window = slice(i, i + 3)
        if abs(side[window].sum()) == 3 and beyond[window].sum() >= 2:
            two_of_three[window] |= beyond[window]
    rules = {"outside_limits": outside, "shift": shift, "trend": trend,
             "two_of_three": two_of_three}
    signal = outside | shift | trend | two_of_three
    point_direction = np.where(outside | shift | two_of_three, side, trend_direction)
    flag: list[str | None] = []
    text: list[str | None] = []
    for i in range(y.size):
        if not signal[i]:
            flag.append(None)
            text.append(None)
            continue
        if direction == 0:
            flag.append("neutral")
        else:
            flag.append("improvement" if point_direction[i] == direction else "concern")
        text.append("; ".join(RULE_NAMES[name] for name, hit in rules.items() if hit[i]))
    return {**rules, "signal": signal, "flag": pd.Series(flag, dtype="str"),
            "rule": pd.Series(text, dtype="str")}


def _check_exclude(exclude: Any, size: int) -> np.ndarray:
    include = np.ones(size, bool)
    if exclude is None:
        return include
    for position in np.atleast_1d(exclude):
        if not float(position).is_integer() or not 0 <= int(position) < size:
            raise ValueError(f"exclude: position {position!r} is not a 0-based position in 0..{size - 1}")
        include[int(position)] = False
    if not include.any():
        raise ValueError("exclude: every point is excluded; at least one must set the limits")
    return include


def _assemble(base: dict[str, Any], y: np.ndarray, cl: np.ndarray, lcl: np.ndarray,
              ucl: np.ndarray, sigma: np.ndarray, direction: int, include: np.ndarray,
              index: pd.Index | None, chart: str) -> pd.DataFrame:
    near_low = cl - NEAR_LIMIT_SHARE * SIGMA_LIMIT * sigma
    near_high = cl + NEAR_LIMIT_SHARE * SIGMA_LIMIT * sigma
    rules = _special_causes(y, cl, lcl, ucl, near_low, near_high, direction)
    analysis = runs_analysis(y, cl, include)
    frame = pd.DataFrame({**base, "value": y, "cl": cl, "lcl": lcl, "ucl": ucl})
    for key, column in rules.items():
        frame[key] = column.to_numpy() if isinstance(column, pd.Series) else column
    for key in ("flag", "rule"):
        frame[key] = frame[key].astype("str")
    frame["run_signal"] = analysis["signal"]
    if index is not None:
        frame.index = index
    frame.attrs["anhoej"] = analysis
    frame.attrs["chart"] = chart
    return frame


_RULE_COLUMNS_DOC = """``outside_limits, shift, trend, two_of_three`` (bool, the rules each point hits),
    ``signal`` (bool, any rule), ``flag`` ("improvement" / "concern" / "neutral" for signals,
    None otherwise), ``rule`` (text naming the rules hit, None otherwise), ``run_signal`` (the
    series' Anhøj result on every row)"""


def p_chart(counts: Any, sizes: Any, exclude: Any = None, improvement: str | None = None) -> pd.DataFrame:
    """p chart (proportions): centre line, 3-sigma limits and special-cause rules per point.

    ``cl = sum(counts) / sum(sizes)`` over the points not excluded; ``lcl, ucl = cl -/+ 3
    sqrt(cl (1 - cl) / size)`` per point, clipped to [0, 1]. ``exclude`` takes 0-based positions
    left out of the centre line and of the run analysis but still flagged. ``improvement`` is
    "increase", "decrease" or None (flags then "neutral").

    Returns one row per point with columns ``count, size, excluded, value, cl, lcl, ucl``,
    """ + _RULE_COLUMNS_DOC + """; ``.attrs["anhoej"]`` holds the run analysis around ``cl``
    (fields as :func:`run_chart`).

    Reference: Montgomery DC, Introduction to Statistical Quality Control, ch. 7; qicharts2
    ``qic(chart = "p")``; rules: NHS England Making Data Count, NHSRplotthedots.

    Example usage::

        p_chart(counts, [50] * 30, exclude=[14, 22])   # cl 0.215, ucl 0.3893
    """
    direction = _check_improvement(improvement)
    x = as_array(counts, "counts")
    n = as_array(sizes, "sizes")
    x, n = broadcast(counts=x, sizes=n)
    check_non_negative(x, "counts")
    check_positive(n, "sizes")
    check_not_above(x, n, ("counts", "sizes"))
    include = _check_exclude(exclude, x.size)
    use = include & ~np.isnan(x) & ~np.isnan(n)
    centre = float(x[use].sum() / n[use].sum()) if use.any() else np.nan
    cl = np.full(x.size, centre)
    sigma = np.sqrt(centre * (1 - centre) / n)
    lcl = np.clip(cl - SIGMA_LIMIT * sigma, 0, 1)
    ucl = np.clip(cl + SIGMA_LIMIT * sigma, 0, 1)
    return _assemble({"count": x, "size": n, "excluded": ~include}, x / n, cl, lcl, ucl, sigma,
                     direction, include, result_index(counts, sizes), "p")


def u_chart(counts: Any, exposures: Any, exclude: Any = None, improvement: str | None = None,
            multiplier: float = 1) -> pd.DataFrame:
    """u chart (rates): centre line, 3-sigma limits and special-cause rules per point.

    ``cl = sum(counts) / sum(exposures)`` over the points not excluded; ``lcl, ucl = cl -/+ 3
    sqrt(cl / exposure)`` per point, the lower clipped at 0; value, centre line and limits are
    multiplied by ``multiplier`` (e.g. 1000 for per 1,000 patients). ``exclude`` and
    ``improvement`` as :func:`p_chart`.

    Returns one row per point with columns ``count, exposure, excluded, value, cl, lcl, ucl``,
    """ + _RULE_COLUMNS_DOC + """; ``.attrs["anhoej"]`` holds the run analysis around ``cl``.

    Reference: Montgomery DC, Introduction to Statistical Quality Control, ch. 7; qicharts2
    ``qic(chart = "u")``; rules: NHS England Making Data Count, NHSRplotthedots.

    Example usage::

        u_chart(items, patient_days, multiplier=1000, improvement="decrease")
    """
    direction = _check_improvement(improvement)
    x = as_array(counts, "counts")
    e = as_array(exposures, "exposures")
    x, e = broadcast(counts=x, exposures=e)
    check_non_negative(x, "counts")
    check_positive(e, "exposures")
    include = _check_exclude(exclude, x.size)
    use = include & ~np.isnan(x) & ~np.isnan(e)
    centre = float(x[use].sum() / e[use].sum()) if use.any() else np.nan
    cl = np.full(x.size, centre)
    sigma = np.sqrt(centre / e)
    lcl = np.maximum(cl - SIGMA_LIMIT * sigma, 0)
    ucl = cl + SIGMA_LIMIT * sigma
    m = float(multiplier)
    return _assemble({"count": x, "exposure": e, "excluded": ~include}, x / e * m, cl * m,
                     lcl * m, ucl * m, sigma * m, direction, include,
                     result_index(counts, exposures), "u")


def xmr_chart(values: Any, screen_outliers: bool = True, fix_after_n: int | None = None,
              improvement: str | None = None) -> pd.DataFrame:
    """XmR (individuals) chart as NHS England's "Making Data Count".

    ``cl`` is the mean of the baseline points (all, or the first ``fix_after_n``); the moving
    ranges ``|x_i - x_(i-1)|`` among them give the mean moving range ``mR``; with
    ``screen_outliers`` moving ranges ``>= 3.267 x mR`` are dropped and ``mR`` recalculated;
    ``lcl, ucl = cl -/+ 2.66 x mR``. The "near a limit" zone starts at ``cl +/- (2/3) 2.66 mR``.
    ``improvement`` as :func:`p_chart`.

    Returns one row per point with columns ``value, moving_range, baseline (bool: used for the
    limits), cl, lcl, ucl``, """ + _RULE_COLUMNS_DOC + """; ``.attrs["anhoej"]`` holds the run
    analysis around ``cl``.

    Reference: NHS England (2019) Making Data Count; Wheeler DJ, Understanding Variation;
    NHSRplotthedots ``ptd_spc``.

    Example usage::

        xmr_chart(monthly_values, improvement="decrease")
    """
    direction = _check_improvement(improvement)
    y = as_array(values, "values")
    if fix_after_n is not None:
        if not float(fix_after_n).is_integer() or not 2 <= int(fix_after_n) <= y.size:
            raise ValueError(f"fix_after_n: {fix_after_n!r}; expected a whole number of points "
                             f"from 2 to {y.size} (the series length)")
    cut = y.size if fix_after_n is None else int(fix_after_n)
    baseline = np.arange(y.size) < cut
    fixed = y[:cut]
    centre = float(np.nanmean(fixed)) if np.isfinite(fixed).any() else np.nan
    ranges = np.abs(np.diff(fixed))
    ranges = ranges[~np.isnan(ranges)]
    mean_range = float(ranges.mean()) if ranges.size else np.nan
    if screen_outliers and ranges.size:
        kept = ranges[ranges < MR_SCREEN_FACTOR * mean_range]
        mean_range = float(kept.mean()) if kept.size else mean_range
    cl = np.full(y.size, centre)
    half = XMR_LIMIT_FACTOR * mean_range
    # sigma such that SIGMA_LIMIT x sigma is the XmR half-width (for the 2/3 zone).
    sigma = np.full(y.size, half / SIGMA_LIMIT)
    moving_range = np.concatenate(([np.nan], np.abs(np.diff(y))))
    return _assemble({"moving_range": moving_range, "baseline": baseline}, y, cl, cl - half,
                     cl + half, sigma, direction, np.ones(y.size, bool), result_index(values),
                     "xmr")

