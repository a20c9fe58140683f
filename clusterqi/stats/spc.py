"""Statistical process control: run charts (Anhøj rules) and p, u, Laney p' / u' and XmR charts.

These functions compute; drawing is :mod:`clusterqi.charts`' job. Each chart function returns one
row per point with the centre line and limits, the special-cause rules each point hits, a
combined ``signal``, a ``flag`` (improvement / concern / neutral, or None) and a ``rule`` text,
plus the series' Anhøj run analysis in ``result.attrs["anhoej"]`` (also as the ``run_signal``
column).

Every chart function takes a ``baseline`` (qicharts2 ``freeze``: limits from the first N points
or a boolean mask, later points judged against them) and ``phases`` (qicharts2 ``part``,
NHSRplotthedots ``rebase``: 0-based positions where a new phase with its own centre line and
limits starts); the result has ``phase`` and ``baseline`` columns.

Laney p' and u' charts (``p_prime_chart``, ``u_prime_chart``) widen the p and u limits by the
variation between points (Laney 2002), for large denominators where p and u charts flag most
points of an ordinary process.

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

Why one module of this size: every SPC chart (run, XmR, p, u, Laney p' and u') shares the run
rules, phases and baseline handling; each chart is a few lines on top of them, checked against the
same published reference values.

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
    "LANEY_D2",
    "anhoej_thresholds",
    "check_baseline",
    "check_phases",
    "laney_sigma_z",
    "runs_analysis",
    "seven_point_trend",
    "run_chart",
    "p_chart",
    "p_prime_chart",
    "u_chart",
    "u_prime_chart",
    "xmr_chart",
]

#: XmR limits: mean +/- 2.66 x mean moving range (3 / d2, d2 = 1.128; Making Data Count).
XMR_LIMIT_FACTOR = 2.66
#: Moving ranges at or above 3.267 x the mean moving range (D4 for n = 2) are screened out.
MR_SCREEN_FACTOR = 3.267
#: d2 for moving ranges of 2 points: Laney's sigma_z = mean moving range of z / 1.128.
LANEY_D2 = 1.128
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


def check_baseline(baseline: Any, size: int) -> np.ndarray:
    """The points that may set the limits: all (None), the first ``N`` (an int) or a mask.

    qicharts2's ``freeze`` (a number of points) and a boolean mask (one value per point) are
    both accepted; later points are judged against the limits the baseline sets. Raises
    ``ValueError`` naming the value and what was expected.

    Example usage::

        check_baseline(12, 24)    # True for the first 12 points
    """
    if baseline is None:
        return np.ones(size, bool)
    if isinstance(baseline, (bool, np.bool_)):
        raise ValueError(f"baseline: {baseline!r}; expected a number of points or one boolean "
                         "per point")
    if np.ndim(baseline) == 0:
        if not float(baseline).is_integer() or not 1 <= int(baseline) <= size:
            raise ValueError(f"baseline: {baseline!r}; expected a whole number of points from 1 "
                             f"to {size} (the series length) or one boolean per point")
        return np.arange(size) < int(baseline)
    mask = np.asarray(baseline)
    if mask.dtype != bool or mask.shape != (size,):
        raise ValueError(f"baseline: a mask of {mask.size} value(s) of type {mask.dtype}; "
                         f"expected {size} booleans (one per point)")
    if not mask.any():
        raise ValueError("baseline: the mask selects no point; at least one must set the limits")
    return mask.copy()


def check_phases(phases: Any, size: int) -> np.ndarray:
    """Phase number (0, 1, ...) of each point from the 0-based positions where phases start.

    ``phases`` lists the first point of each new phase (qicharts2 ``part``, NHSRplotthedots
    ``rebase``), strictly increasing within 1..size-1; None gives one phase. Each phase gets
    its own centre line and limits, and the special-cause and run rules never span two phases.

    Example usage::

        check_phases([12], 24)    # 0 for points 0-11, 1 for points 12-23
    """
    if phases is None:
        return np.zeros(size, int)
    starts = np.atleast_1d(np.asarray(phases, dtype=float))
    for position in starts:
        if not float(position).is_integer() or not 1 <= int(position) <= size - 1:
            raise ValueError(f"phases: start {position!r} is not a 0-based position in "
                             f"1..{size - 1} (a phase starts after the first point)")
    if np.any(np.diff(starts) <= 0):
        raise ValueError(f"phases: starts {starts.astype(int).tolist()} must be strictly "
                         "increasing")
    return np.searchsorted(starts.astype(int), np.arange(size), side="right")


def _limit_points(include: np.ndarray, baseline: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """Points that set each phase's limits: included baseline points; a phase holding no
    baseline point uses all its included points (so a baseline only freezes the first phase)."""
    use = include & baseline
    for k in np.unique(phase):
        part = phase == k
        if not use[part].any():
            use[part] = include[part]
    return use


def _mean_moving_range(values: np.ndarray, screen: bool) -> float:
    """Mean of |successive differences| of ``values`` (NaN ranges dropped), optionally
    recomputed without ranges at or above :data:`MR_SCREEN_FACTOR` x the mean (Nelson 1982)."""
    ranges = np.abs(np.diff(values))
    ranges = ranges[~np.isnan(ranges)]
    if not ranges.size:
        return np.nan
    mean_range = float(ranges.mean())
    if screen:
        kept = ranges[ranges < MR_SCREEN_FACTOR * mean_range]
        mean_range = float(kept.mean()) if kept.size else mean_range
    return mean_range


def laney_sigma_z(z: Any, screen_outliers: bool = False) -> float:
    """Laney's sigma_z: the mean moving range of the z-scores divided by 1.128 (d2, n = 2).

    ``z`` are the limit-setting points' z-scores ``(y_i - CL) / sigma_i`` in time order; a
    missing z drops the two ranges it takes part in. Over-dispersed data give sigma_z > 1 (the
    p' / u' limits widen), binomial or Poisson data about 1. ``screen_outliers`` drops moving
    ranges >= 3.267 x their mean first (qicharts2 option ``qic.screenedmr``, off by default).

    Reference: Laney DB (2002) Improved control charts for attributes, Quality Engineering
    14(4):531-537; qicharts2 ``qic(chart = "pp")``.

    Example usage::

        laney_sigma_z([0.5, -1.0, 2.0])   # (1.5 + 3.0) / 2 / 1.128 = 1.9947
    """
    return _mean_moving_range(as_array(z, "z"), screen_outliers) / LANEY_D2


def _assemble(base: dict[str, Any], y: np.ndarray, cl: np.ndarray, lcl: np.ndarray,
              ucl: np.ndarray, sigma: np.ndarray, direction: int, include: np.ndarray,
              phase: np.ndarray, limits_from: np.ndarray, index: pd.Index | None,
              chart: str) -> pd.DataFrame:
    """Rules and run analysis phase by phase (a run never spans two phases)."""
    near_low = cl - NEAR_LIMIT_SHARE * SIGMA_LIMIT * sigma
    near_high = cl + NEAR_LIMIT_SHARE * SIGMA_LIMIT * sigma
    columns: dict[str, list] = {}
    analyses = []
    run_signal = np.zeros(y.size, bool)
    for k in np.unique(phase):
        part = np.flatnonzero(phase == k)
        sl = slice(part[0], part[-1] + 1)
        rules = _special_causes(y[sl], cl[sl], lcl[sl], ucl[sl], near_low[sl], near_high[sl],
                                direction)
        for key, column in rules.items():
            values = column.to_numpy(dtype=object) if isinstance(column, pd.Series) else column
            columns.setdefault(key, []).append(values)
        analysis = runs_analysis(y[sl], cl[sl], include[sl])
        analyses.append(analysis)
        run_signal[sl] = analysis["signal"]
    frame = pd.DataFrame({**base, "phase": phase, "baseline": limits_from, "value": y, "cl": cl,
                          "lcl": lcl, "ucl": ucl})
    for key, parts in columns.items():
        frame[key] = np.concatenate(parts)
    for key in ("flag", "rule"):
        frame[key] = frame[key].astype("str")
    for key in ("outside_limits", "shift", "trend", "two_of_three", "signal"):
        frame[key] = frame[key].astype(bool)
    frame["run_signal"] = run_signal
    if index is not None:
        frame.index = index
    frame.attrs["anhoej"] = analyses[-1]
    frame.attrs["anhoej_phases"] = analyses
    frame.attrs["chart"] = chart
    return frame


_RULE_COLUMNS_DOC = """``outside_limits, shift, trend, two_of_three`` (bool, the rules each point hits),
    ``signal`` (bool, any rule), ``flag`` ("improvement" / "concern" / "neutral" for signals,
    None otherwise), ``rule`` (text naming the rules hit, None otherwise), ``run_signal`` (the
    Anhøj result of the point's phase on every row of it)"""

_OPTIONS_DOC = """``exclude`` takes 0-based positions left out of the centre line and of the run
    analysis but still flagged. ``baseline`` (qicharts2 ``freeze``): a number of leading points
    or one boolean per point; only those points set the limits, later points are judged against
    them. ``phases`` (qicharts2 ``part``, NHSRplotthedots ``rebase``): 0-based positions where a
    new phase starts; each phase has its own centre line and limits (a baseline freezes only
    the phases it covers) and the rules never span two phases. ``improvement`` is "increase",
    "decrease" or None (flags then "neutral")."""

_COMMON_COLUMNS_DOC = """``phase`` (0, 1, ...), ``baseline`` (bool: the point set its phase's
    limits), ``value, cl, lcl, ucl``"""


def _counts_and_sizes(counts: Any, sizes: Any, names: tuple[str, str],
                      proportion: bool) -> tuple[np.ndarray, np.ndarray]:
    x = as_array(counts, names[0])
    n = as_array(sizes, names[1])
    x, n = broadcast(**{names[0]: x, names[1]: n})
    check_non_negative(x, names[0])
    check_positive(n, names[1])
    if proportion:
        check_not_above(x, n, names)
    return x, n


def _attribute_chart(x: np.ndarray, n: np.ndarray, proportion: bool, laney: bool,
                     exclude: Any, baseline: Any, phases: Any, screen_outliers: bool
                     ) -> tuple[np.ndarray, ...]:
    """Centre line and sigma per point for p / u (and Laney p' / u') charts, phase by phase."""
    include = _check_exclude(exclude, x.size)
    phase = check_phases(phases, x.size)
    limits_from = _limit_points(include, check_baseline(baseline, x.size), phase)
    cl = np.full(x.size, np.nan)
    sigma = np.full(x.size, np.nan)
    ratio = x / n
    for k in np.unique(phase):
        part = phase == k
        limit = limits_from & part
        use = limit & ~np.isnan(x) & ~np.isnan(n)
        centre = float(x[use].sum() / n[use].sum()) if use.any() else np.nan
        spread = centre * (1 - centre) if proportion else centre
        sd = np.sqrt(spread / n[part])
        if laney:
            # z over every limit-setting point in order: a missing count breaks the moving
            # ranges around it (qicharts2: diff(z) then na.rm) rather than bridging it
            with np.errstate(divide="ignore", invalid="ignore"):
                z = (ratio[limit] - centre) / np.sqrt(spread / n[limit])
            # every sigma_i zero (centre 0 or 1): nothing varies, limits collapse on the line
            sigma_z = 1.0 if spread == 0 else laney_sigma_z(z, screen_outliers)
            sd = sd * sigma_z
        cl[part] = centre
        sigma[part] = sd
    return include, phase, limits_from, cl, sigma


def p_chart(counts: Any, sizes: Any, exclude: Any = None, improvement: str | None = None,
            baseline: Any = None, phases: Any = None) -> pd.DataFrame:
    """p chart (proportions): centre line, 3-sigma limits and special-cause rules per point.

    ``cl = sum(counts) / sum(sizes)`` over the points that set the limits; ``lcl, ucl = cl -/+
    3 sqrt(cl (1 - cl) / size)`` per point, clipped to [0, 1]. """ + _OPTIONS_DOC + """

    Returns one row per point with columns ``count, size, excluded``, """ + _COMMON_COLUMNS_DOC + """,
    """ + _RULE_COLUMNS_DOC + """; ``.attrs["anhoej"]`` holds the run analysis of the last
    phase around its ``cl`` (fields as :func:`run_chart`), ``.attrs["anhoej_phases"]`` all.

    Reference: Montgomery DC, Introduction to Statistical Quality Control, ch. 7; qicharts2
    ``qic(chart = "p")``; rules: NHS England Making Data Count, NHSRplotthedots.

    Example usage::

        p_chart(counts, [50] * 30, exclude=[14, 22])   # cl 0.215, ucl 0.3893
    """
    direction = _check_improvement(improvement)
    x, n = _counts_and_sizes(counts, sizes, ("counts", "sizes"), proportion=True)
    include, phase, limits_from, cl, sigma = _attribute_chart(
        x, n, True, False, exclude, baseline, phases, False)
    lcl = np.clip(cl - SIGMA_LIMIT * sigma, 0, 1)
    ucl = np.clip(cl + SIGMA_LIMIT * sigma, 0, 1)
    return _assemble({"count": x, "size": n, "excluded": ~include}, x / n, cl, lcl, ucl, sigma,
                     direction, include, phase, limits_from, result_index(counts, sizes), "p")


def p_prime_chart(counts: Any, sizes: Any, exclude: Any = None,
                  improvement: str | None = None, baseline: Any = None, phases: Any = None,
                  screen_outliers: bool = False) -> pd.DataFrame:
    """Laney p' chart: a p chart whose limits also allow for the variation between points.

    ``cl`` as :func:`p_chart`; ``sigma_i = sqrt(cl (1 - cl) / size_i)``; ``z_i = (p_i - cl) /
    sigma_i`` over the limit-setting points; ``sigma_z`` = mean moving range of ``z`` / 1.128
    (:func:`laney_sigma_z`); ``lcl, ucl = cl -/+ 3 sigma_i sigma_z``, clipped to [0, 1]. With
    large denominators (a cluster's thousands of items a month) a p chart's limits are so
    narrow that ordinary month-to-month variation falls outside them; the p' chart widens them
    by the variation actually seen (sigma_z > 1), and agrees with the p chart when the data are
    binomial (sigma_z near 1). """ + _OPTIONS_DOC + """ ``screen_outliers`` as
    :func:`laney_sigma_z`.

    Returns one row per point with columns ``count, size, excluded``, """ + _COMMON_COLUMNS_DOC + """,
    ``sigma_z`` (of the point's phase), """ + _RULE_COLUMNS_DOC + """; ``.attrs["anhoej"]``
    as :func:`p_chart`.

    Reference: Laney DB (2002) Improved control charts for attributes, Quality Engineering
    14(4):531-537; Mohammed MA et al. (2013) BMJ Qual Saf 22:362-368; qicharts2
    ``qic(chart = "pp")`` (the ``nhs_accidents`` example: cl 95.290%, limits 93.997% and
    96.582% in week 20).

    Example usage::

        p_prime_chart(seen_within_4h, attendances, improvement="increase")
    """
    direction = _check_improvement(improvement)
    x, n = _counts_and_sizes(counts, sizes, ("counts", "sizes"), proportion=True)
    include, phase, limits_from, cl, sigma = _attribute_chart(
        x, n, True, True, exclude, baseline, phases, screen_outliers)
    lcl = np.clip(cl - SIGMA_LIMIT * sigma, 0, 1)
    ucl = np.clip(cl + SIGMA_LIMIT * sigma, 0, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        sigma_z = sigma / np.sqrt(cl * (1 - cl) / n)
    frame = _assemble({"count": x, "size": n, "excluded": ~include}, x / n, cl, lcl, ucl,
                      sigma, direction, include, phase, limits_from,
                      result_index(counts, sizes), "p_prime")
    frame.insert(frame.columns.get_loc("ucl") + 1, "sigma_z", sigma_z)
    return frame


def u_chart(counts: Any, exposures: Any, exclude: Any = None, improvement: str | None = None,
            multiplier: float = 1, baseline: Any = None, phases: Any = None) -> pd.DataFrame:
    """u chart (rates): centre line, 3-sigma limits and special-cause rules per point.

    ``cl = sum(counts) / sum(exposures)`` over the points that set the limits; ``lcl, ucl = cl
    -/+ 3 sqrt(cl / exposure)`` per point, the lower clipped at 0; value, centre line and
    limits are multiplied by ``multiplier`` (e.g. 1000 for per 1,000 patients).
    """ + _OPTIONS_DOC + """

    Returns one row per point with columns ``count, exposure, excluded``, """ + _COMMON_COLUMNS_DOC + """,
    """ + _RULE_COLUMNS_DOC + """; ``.attrs["anhoej"]`` as :func:`p_chart`.

    Reference: Montgomery DC, Introduction to Statistical Quality Control, ch. 7; qicharts2
    ``qic(chart = "u")``; rules: NHS England Making Data Count, NHSRplotthedots.

    Example usage::

        u_chart(items, patient_days, multiplier=1000, improvement="decrease")
    """
    return _u_chart(counts, exposures, exclude, improvement, multiplier, baseline, phases,
                    False, False)


def u_prime_chart(counts: Any, exposures: Any, exclude: Any = None,
                  improvement: str | None = None, multiplier: float = 1, baseline: Any = None,
                  phases: Any = None, screen_outliers: bool = False) -> pd.DataFrame:
    """Laney u' chart: a u chart whose limits also allow for the variation between points.

    ``cl`` as :func:`u_chart`; ``sigma_i = sqrt(cl / exposure_i)``; ``z_i = (u_i - cl) /
    sigma_i`` over the limit-setting points; ``sigma_z`` = mean moving range of ``z`` / 1.128;
    ``lcl, ucl = cl -/+ 3 sigma_i sigma_z`` (lower clipped at 0), times ``multiplier``.
    """ + _OPTIONS_DOC + """ ``screen_outliers`` as :func:`laney_sigma_z`.

    Returns one row per point with columns ``count, exposure, excluded``, """ + _COMMON_COLUMNS_DOC + """,
    ``sigma_z``, """ + _RULE_COLUMNS_DOC + """; ``.attrs["anhoej"]`` as :func:`p_chart`.

    Reference: Laney DB (2002) Improved control charts for attributes, Quality Engineering
    14(4):531-537; qicharts2 ``qic(chart = "up")``.

    Example usage::

        u_prime_chart(items, patient_days, multiplier=1000, improvement="decrease")
    """
    return _u_chart(counts, exposures, exclude, improvement, multiplier, baseline, phases,
                    True, screen_outliers)


def _u_chart(counts, exposures, exclude, improvement, multiplier, baseline, phases, laney,
             screen_outliers) -> pd.DataFrame:
    direction = _check_improvement(improvement)
    x, e = _counts_and_sizes(counts, exposures, ("counts", "exposures"), proportion=False)
    include, phase, limits_from, cl, sigma = _attribute_chart(
        x, e, False, laney, exclude, baseline, phases, screen_outliers)
    lcl = np.maximum(cl - SIGMA_LIMIT * sigma, 0)
    ucl = cl + SIGMA_LIMIT * sigma
    m = float(multiplier)
    frame = _assemble({"count": x, "exposure": e, "excluded": ~include}, x / e * m, cl * m,
                      lcl * m, ucl * m, sigma * m, direction, include, phase, limits_from,
                      result_index(counts, exposures), "u_prime" if laney else "u")
    if laney:
        with np.errstate(divide="ignore", invalid="ignore"):
            sigma_z = sigma / np.sqrt(cl / e)
        frame.insert(frame.columns.get_loc("ucl") + 1, "sigma_z", sigma_z)
    return frame


def xmr_chart(values: Any, screen_outliers: bool = True, fix_after_n: int | None = None,
              improvement: str | None = None, baseline: Any = None,
              phases: Any = None) -> pd.DataFrame:
    """XmR (individuals) chart as NHS England's "Making Data Count".

    Per phase, ``cl`` is the mean of the points that set the limits; their moving ranges
    ``|x_i - x_(i-1)|`` (successive limit-setting points of the phase) give the mean moving
    range ``mR``; with ``screen_outliers`` moving ranges ``>= 3.267 x mR`` are dropped and
    ``mR`` recalculated; ``lcl, ucl = cl -/+ 2.66 x mR``. The "near a limit" zone starts at
    ``cl +/- (2/3) 2.66 mR``. ``fix_after_n`` is the older name of an integer ``baseline``;
    ``baseline``, ``phases`` and ``improvement`` as :func:`p_chart`.

    Returns one row per point with columns ``moving_range`` (missing at the first point of
    each phase), """ + _COMMON_COLUMNS_DOC + """, """ + _RULE_COLUMNS_DOC + """;
    ``.attrs["anhoej"]`` holds the run analysis of the last phase around its ``cl``.

    Reference: NHS England (2019) Making Data Count; Wheeler DJ, Understanding Variation;
    NHSRplotthedots ``ptd_spc`` (``fix_after_n_points``, ``rebase``).

    Example usage::

        xmr_chart(monthly_values, improvement="decrease")
        xmr_chart(monthly_values, baseline=12, phases=[18])
    """
    direction = _check_improvement(improvement)
    y = as_array(values, "values")
    if fix_after_n is not None:
        if baseline is not None:
            raise ValueError("fix_after_n and baseline both given; give one (baseline)")
        if not float(fix_after_n).is_integer() or not 2 <= int(fix_after_n) <= y.size:
            raise ValueError(f"fix_after_n: {fix_after_n!r}; expected a whole number of points "
                             f"from 2 to {y.size} (the series length)")
        baseline = int(fix_after_n)
    phase = check_phases(phases, y.size)
    limits_from = _limit_points(np.ones(y.size, bool), check_baseline(baseline, y.size), phase)
    cl = np.full(y.size, np.nan)
    half = np.full(y.size, np.nan)
    moving_range = np.full(y.size, np.nan)
    for k in np.unique(phase):
        part = phase == k
        fixed = y[limits_from & part]
        centre = float(np.nanmean(fixed)) if np.isfinite(fixed).any() else np.nan
        cl[part] = centre
        half[part] = XMR_LIMIT_FACTOR * _mean_moving_range(fixed, screen_outliers)
        first = np.flatnonzero(part)[0]
        moving_range[first + 1:first + part.sum()] = np.abs(np.diff(y[part]))
    # sigma such that SIGMA_LIMIT x sigma is the XmR half-width (for the 2/3 zone).
    sigma = half / SIGMA_LIMIT
    return _assemble({"moving_range": moving_range}, y, cl, cl - half, cl + half, sigma,
                     direction, np.ones(y.size, bool), phase, limits_from,
                     result_index(values), "xmr")
