"""SPC on the indicator table's month series: a chart that a calendar and a large list do not fool.

Every practice and cluster month series of every indicator gets a control chart, chosen per
indicator by :func:`chart_type` (the ``spc_chart`` column):

- **Ratio-to-Scotland Laney chart** (``"ratio_prime"``), for every prescribing indicator:
  rates, shares, quantity, cost and dose measures (``ddd``, ``ome``, ``adq``), seasonal or not.
  Each month the unit's observed numerator is compared with its expected numerator, expected =
  the unit's denominator x Scotland's rate that month (indirect standardisation), which
  divides out what every practice shares: the number of working days in the month, bank
  holidays, winter peaks and national trends (e.g. the steady rise of DOACs in anticoagulant
  prescribing). The ratio observed / expected is charted as a Laney u' chart with the expected
  numerator as the exposure: per-month limits ``CL +/- 3 sigma_z sqrt(CL / expected_i)``, CL =
  sum(observed) / sum(expected), sigma_z the mean moving range of the z-scores / 1.128, so the
  limits allow for the real month-to-month variation (repeat prescribing is lumpier than
  Poisson) and are wider in months with less expected activity. ``cl``, ``lcl`` and ``ucl`` are
  reported in the indicator's units, as the ratio's centre line and limits times Scotland's
  value that month (so they follow Scotland's seasons month by month and a chart of value
  against limits still reads as usual); a point is outside the limits exactly when its ratio
  is, and the rules are judged on the ratio. Sources: Laney DB (2002) Improved control charts
  for attributes, Quality Engineering 14(4):531-537 (qicharts2 ``chart = "up"``); indirect
  standardisation and observed / expected ratios as in Spiegelhalter DJ (2005) Funnel plots for
  comparing institutional performance, Stat Med 24:1185-1202. Measured on the synthetic
  Scotland (issue 12): plain Laney p' charts of shares flagged up to 59% of unplanted cluster
  series (the national DOAC trend), the ratio-to-Scotland XmR chart up to 18% (skewed cost
  measures); this chart kept every indicator with enough items at or below 15%.
- ``"ratio_xmr"``: the same ratio on an XmR chart ("Making Data Count"), ``"p_prime"`` (Laney
  p', qicharts2 ``pp``), and ``p``, ``u``, ``xmr``, for analysts through ``add_spc(...,
  charts={indicator_id: kind})``.
- Local measures, which have no Scotland value, get the Laney p' (proportion) or u' (rate)
  chart (``"p_prime"``, ``"u_prime"``).
- No limits (``cl, lcl, ucl`` missing, ``spc_signal`` and ``run_signal`` False, ``spc_rule``
  saying why) for a series with fewer than :data:`MIN_POINTS_FOR_LIMITS` (12) useful months (a
  value, a positive denominator, and for ratio charts a Scotland value), or with fewer than
  :data:`MIN_MEDIAN_COUNT` (5) items behind the numerator in the median month (the table's
  ``numerator_items``; without it, the numerator of item-count measures): with so few events
  the counts are too skewed for 3-sigma limits and the run rules (the normal approximation
  needs about 5 or more events a point; Montgomery DC, *Introduction to Statistical Quality
  Control*, ch. 7).

Special causes (NHS England "Making Data Count" rules, as :mod:`clusterqi.stats.spc`): a point
outside the limits; 7 or more consecutive points on one side of the centre line; 7 or more
consecutive points rising or falling; within 3 consecutive points on one side, 2 or more beyond
two-thirds of the way to a limit. On ratio charts they are judged on the ratio. A signal above
the line (or a rising trend) is a "concern" when ``low_is_good`` is true, an "improvement" when
false, "neutral" when null. ``run_signal``: the Anhøj rules around the centre line (qicharts2).

Baselines and phases (qicharts2 ``freeze`` / ``part``, NHSRplotthedots ``rebase``):
:func:`add_spc` takes ``baseline_months`` (the first N months of each series set the limits),
``baseline_period`` (the months from ... to ... that set them) and ``phases`` (months where a
series starts a new phase with its own centre line and limits). ``spc_phase`` numbers the
phases (0, 1, ...).

The columns added (docs/architecture.md, "SPC columns") are :data:`SPC_COLUMNS`; they are null
on other rows. Everything is computed for all series at once with grouped numpy (one call per
series would mean ~10,000 calls for Scotland's practices); the constants and rule names are
imported from :mod:`clusterqi.stats.spc`, and a test checks agreement with ``stats.p_chart``,
``u_chart``, ``p_prime_chart``, ``u_prime_chart`` and ``xmr_chart`` series by series.

Why one module of this size: it is the bridge between the indicator table and
:mod:`clusterqi.stats.spc` for every chart kind, baseline and phase; the chart choice, the
expected-count arithmetic and the sentences for GPs must agree, so they sit together.

Example usage::

    table = add_spc(table, catalogue)
    table.query("level == 'cluster' and spc_signal")[["area_id", "period", "spc_rule"]]
    add_spc(table, catalogue, baseline_months=12, phases={"dundee-4": ["2026-03"]})
    spc_explanation(catalogue["antibacterial_items_per_1000_per_day"])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from clusterqi.stats.spc import (
    LANEY_D2,
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
    "CHART_KINDS",
    "CHART_EXPLANATIONS",
    "RATIO_CHARTS",
    "COUNT_MEASURES",
    "MIN_POINTS_FOR_LIMITS",
    "MIN_MEDIAN_COUNT",
    "SHORT_SERIES_NOTE",
    "FEW_ITEMS_NOTE",
    "chart_type",
    "spc_explanation",
    "add_spc",
    "spc_frame",
]

#: Levels whose month series get SPC.
SPC_LEVELS = ("practice", "cluster")
SPC_COLUMNS = ["spc_chart", "cl", "lcl", "ucl", "spc_signal", "spc_flag", "spc_rule",
               "run_signal", "spc_phase"]
#: Values of ``spc_chart`` (p, u and xmr remain for analysts' own calls of :func:`spc_frame`).
CHART_KINDS = ("ratio_prime", "ratio_xmr", "p_prime", "u_prime", "p", "u", "xmr")
#: Charts on the ratio of the unit to Scotland (need ``scotland_value``).
RATIO_CHARTS = ("ratio_prime", "ratio_xmr")
#: Numerator measures that count items (events): the minimum-count rule applies to them.
COUNT_MEASURES = ("items",)
#: Fewest useful months for control limits (Laney or XmR); shorter series get a note instead.
MIN_POINTS_FOR_LIMITS = 12
#: Fewest items in the median month of a count series for control limits.
MIN_MEDIAN_COUNT = 5
SHORT_SERIES_NOTE = (f"fewer than {MIN_POINTS_FOR_LIMITS} months with data: no control limits "
                     "yet")
FEW_ITEMS_NOTE = (f"fewer than {MIN_MEDIAN_COUNT} items in a typical month: too few for "
                  "monthly control limits; see the 12-month total")
#: The plain sentence for GPs on how each chart kind judges a month.
CHART_EXPLANATIONS = {
    "p_prime": (
        "Each month's share is compared with this unit's own average; the limits allow for the "
        "usual ups and downs from month to month, so a point outside the dashed lines, or a "
        f"run of {SHIFT_LENGTH} months on one side of the centre line, is unusual for this "
        "unit."
    ),
    "ratio_prime": (
        "Each month is compared with Scotland's rate that month, so winter peaks, short months "
        "and national trends that affect every practice do not count as signals; a point "
        "outside the dashed lines is unusual for this unit."
    ),
    "ratio_xmr": (
        "Each month is compared with Scotland's rate that month, so winter peaks and short "
        "months that affect every practice do not count as signals; a point outside the "
        "dashed lines is unusual for this unit."
    ),
    "u_prime": (
        "Each month's rate is compared with this unit's own average; the limits allow for the "
        "usual ups and downs from month to month, so a point outside the dashed lines, or a "
        f"run of {SHIFT_LENGTH} months on one side of the centre line, is unusual."
    ),
    "p": "Each month's share is compared with this unit's own average (limits at 3 sigma).",
    "u": "Each month's rate is compared with this unit's own average (limits at 3 sigma).",
    "xmr": ("Each month is compared with this unit's own average; the limits come from the "
            "usual change from one month to the next."),
}


def chart_type(indicator) -> str:
    """The control chart that fits an indicator or local measure (see the module docstring).

    ``"ratio_prime"`` for prescribing indicators (they have a ``numerator`` and a Scotland
    value each month); a local measure (no prescribing ``numerator``, so no Scotland value)
    gets ``"p_prime"`` or ``"u_prime"`` by its kind.

    Example usage::

        chart_type(catalogue["high_dose_ppi_share"])    # "ratio_prime"
    """
    if getattr(indicator, "numerator", None) is None:
        return "p_prime" if indicator.kind == "proportion" else "u_prime"
    return "ratio_prime"


def _counts_items(indicator) -> bool:
    numerator = getattr(indicator, "numerator", None)
    return numerator is None or getattr(numerator, "measure", "items") in COUNT_MEASURES


def spc_explanation(indicator, chart: str | None = None) -> str:
    """One plain sentence for GPs on how the indicator's SPC chart judges a month.

    ``chart`` names the kind when an analyst chose another than :func:`chart_type`'s.

    Example usage::

        spc_explanation(catalogue["antibacterial_items_per_1000_per_day"])
        # "Each month is compared with Scotland's rate that month, so winter peaks and ..."
    """
    kind = chart or chart_type(indicator)
    if kind not in CHART_EXPLANATIONS:
        raise ValueError(f"chart {kind!r}; expected one of {sorted(CHART_EXPLANATIONS)}")
    return CHART_EXPLANATIONS[kind]


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


def _segment_mean_range(values: np.ndarray, keep: np.ndarray, segment: np.ndarray,
                        n_segments: int, screen: bool) -> np.ndarray:
    """Mean moving range per segment over successive ``keep`` points (ranges touching a NaN
    dropped), optionally screened at MR_SCREEN_FACTOR x the mean, as ``stats.spc`` does."""
    where = np.flatnonzero(keep)
    v, s = values[where], segment[where]
    ranges = np.abs(np.diff(v))
    good = (s[1:] == s[:-1]) & np.isfinite(ranges)
    owner, ranges = s[1:][good].astype(int), ranges[good]
    count = np.bincount(owner, minlength=n_segments)
    total = np.bincount(owner, weights=ranges, minlength=n_segments)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(count > 0, total / count, np.nan)
    if screen and owner.size:
        kept = ranges < MR_SCREEN_FACTOR * mean[owner]
        count_kept = np.bincount(owner[kept], minlength=n_segments)
        total_kept = np.bincount(owner[kept], weights=ranges[kept], minlength=n_segments)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = np.where(count_kept > 0, total_kept / count_kept, mean)
    return mean


def spc_frame(
    y: np.ndarray,
    numerator: np.ndarray,
    denominator: np.ndarray,
    chart: np.ndarray,
    series: np.ndarray,
    multiplier: np.ndarray,
    direction: np.ndarray,
    limit_points: np.ndarray | None = None,
    reference: np.ndarray | None = None,
) -> pd.DataFrame:
    """SPC columns for points already sorted by series (or series x phase) then time.

    ``y`` values in indicator units; ``chart`` one of :data:`CHART_KINDS` per point;
    ``series`` integer ids, contiguous per series (pass one id per series x phase for phased
    charts: limits and rules never cross ids); ``direction`` per point: +1 when an increase is
    an improvement (``low_is_good`` false), -1 when a decrease is (true), 0 for no judgement;
    ``limit_points`` (bool, default all) the points that set each id's limits (a baseline);
    ``reference`` Scotland's value per point, needed by the ratio charts.

    Returns :data:`SPC_COLUMNS` but ``spc_phase``. Same results as ``stats.p_chart``,
    ``u_chart``, ``p_prime_chart``, ``u_prime_chart`` and ``xmr_chart`` (moving ranges
    screened) series by series; ``"ratio_prime"`` is ``u_prime_chart(numerator, denominator
    x reference / multiplier)`` and ``"ratio_xmr"`` ``xmr_chart(y / reference)`` (lower limit
    clipped at 0), their centre lines and limits times ``reference``.
    """
    n = len(y)
    y = np.asarray(y, float)
    series = np.asarray(series, int)
    n_series = int(series.max()) + 1 if n else 0
    chart = np.asarray(chart, dtype=object)
    num = np.asarray(numerator, float)
    den = np.asarray(denominator, float)
    mult = np.asarray(multiplier, float)
    limit = np.ones(n, bool) if limit_points is None else np.asarray(limit_points, bool)
    ref = np.full(n, np.nan) if reference is None else np.asarray(reference, float)
    is_p, is_pp = chart == "p", chart == "p_prime"
    is_u, is_up = chart == "u", chart == "u_prime"
    is_ratio_x, is_ratio_l = chart == "ratio_xmr", chart == "ratio_prime"
    is_ratio = is_ratio_x | is_ratio_l
    proportion = is_p | is_pp
    attribute = proportion | is_u | is_up | is_ratio_l
    laney = is_pp | is_up | is_ratio_l
    individuals = (chart == "xmr") | is_ratio_x
    with np.errstate(divide="ignore", invalid="ignore"):
        judged = np.where(is_ratio, y / ref, y)
        # ratio_prime: a u' chart of observed counts against expected = den x Scotland's rate
        den = np.where(is_ratio_l, den * ref / mult, den)
    mult = np.where(is_ratio_l, 1.0, mult)
    scale = np.where(is_ratio, ref, 1.0)

    # p / u (and Laney): centre from the limit points' sums; sigma_i binomial or Poisson
    ok = np.isfinite(num) & np.isfinite(den) & (den > 0)
    use = limit & ok
    num_sum = np.bincount(series[use], weights=num[use], minlength=n_series)
    den_sum = np.bincount(series[use], weights=den[use], minlength=n_series)
    with np.errstate(divide="ignore", invalid="ignore"):
        base = (num_sum / den_sum)[series]
        spread = np.where(proportion, base * (1 - base), base)
        sd = np.sqrt(spread / den)
        z = np.where(ok & (sd > 0), (num / den - base) / sd, np.nan)
    sigma_z = _segment_mean_range(z, limit & laney, series, n_series, screen=False)[series]
    sigma_z = np.where(spread == 0, 1.0, sigma_z / LANEY_D2)
    attribute_sigma = sd * np.where(laney, sigma_z, 1.0) * mult

    # XmR (on the ratio for ratio charts): mean and screened mean moving range of limit points
    keep = limit & individuals
    counted = keep & np.isfinite(judged)
    count = np.bincount(series[counted], minlength=n_series)
    total = np.bincount(series[counted], weights=judged[counted], minlength=n_series)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(count > 0, total / count, np.nan)
    mean_range = _segment_mean_range(judged, keep, series, n_series, screen=True)

    cl = np.where(attribute, base * mult, mean[series])
    sigma = np.where(attribute, attribute_sigma,
                     mean_range[series] * XMR_LIMIT_FACTOR / SIGMA_LIMIT)
    lcl = cl - SIGMA_LIMIT * sigma
    ucl = cl + SIGMA_LIMIT * sigma
    lcl = np.where(attribute | is_ratio, np.maximum(lcl, 0.0), lcl)
    ucl = np.where(proportion, np.minimum(ucl, mult), ucl)
    signal, flag, text, run = _rules(judged, cl, lcl, ucl, sigma, series, n_series, direction)
    return pd.DataFrame(
        {
            "spc_chart": pd.array(chart.astype(str), dtype="str"),
            "cl": cl * scale,
            "lcl": lcl * scale,
            "ucl": ucl * scale,
            "spc_signal": pd.array(signal, dtype="boolean"),
            "spc_flag": pd.array(np.where(signal, flag, None), dtype="str"),
            "spc_rule": pd.array(np.where(signal, text, None), dtype="str"),
            "run_signal": pd.array(run, dtype="boolean"),
        }
    )


def _rules(y, cl, lcl, ucl, sigma, series, n_series, direction):
    """The four special-cause rules and the Anhøj signal, per series (``stats.spc``)."""
    n = len(y)
    prev = _shift_within(y, series, 1, np.nan)
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
    return signal, flag, text, run


def _direction(low_is_good) -> float:
    """The improvement direction: -1 (decrease) when low is good, +1 when high is, 0 if null."""
    return 0.0 if low_is_good is None else (-1.0 if low_is_good else 1.0)


def _month_text(value, name: str) -> str:
    text = str(value)
    try:
        return pd.Period(text, freq="M").strftime("%Y-%m")
    except (ValueError, TypeError):
        raise ValueError(f"{name}: {value!r} is not a month; expected 'YYYY-MM'") from None


def _phase_numbers(rows: pd.DataFrame, periods: np.ndarray,
                   phases: Mapping[object, Sequence[str]] | None) -> np.ndarray:
    phase = np.zeros(len(rows), int)
    if not phases:
        return phase
    area = rows["area_id"].astype(str).to_numpy()
    ids = rows["indicator_id"].astype(str).to_numpy()
    for key, starts in phases.items():
        if isinstance(starts, str):
            starts = [starts]
        months = sorted(_month_text(s, f"phases[{key!r}]") for s in starts)
        if isinstance(key, tuple):
            if len(key) != 2:
                raise ValueError(f"phases: key {key!r}; expected an area_id or "
                                 "(indicator_id, area_id)")
            hit = (ids == str(key[0])) & (area == str(key[1]))
        else:
            hit = area == str(key)
        phase[hit] = np.searchsorted(np.asarray(months), periods[hit], side="right")
    return phase


def _baseline_points(rows: pd.DataFrame, periods: np.ndarray, series: np.ndarray,
                     baseline_months: int | None,
                     baseline_period: tuple[str | None, str | None] | None) -> np.ndarray:
    limit = np.ones(len(rows), bool)
    if baseline_months is not None:
        if (isinstance(baseline_months, bool) or not float(baseline_months).is_integer()
                or baseline_months < 2):
            raise ValueError(f"baseline_months: {baseline_months!r}; expected a whole number "
                             "of months >= 2")
        position = pd.Series(series).groupby(series).cumcount().to_numpy()
        limit &= position < int(baseline_months)
    if baseline_period is not None:
        if len(baseline_period) != 2:
            raise ValueError(f"baseline_period: {baseline_period!r}; expected (first month, "
                             "last month), either may be None")
        first, last = baseline_period
        if first is not None:
            limit &= periods >= _month_text(first, "baseline_period[0]")
        if last is not None:
            limit &= periods <= _month_text(last, "baseline_period[1]")
    return limit


def add_spc(
    table: pd.DataFrame,
    catalogue: Mapping[str, object],
    levels: tuple[str, ...] = SPC_LEVELS,
    baseline_months: int | None = None,
    baseline_period: tuple[str | None, str | None] | None = None,
    phases: Mapping[object, Sequence[str]] | None = None,
    charts: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Add :data:`SPC_COLUMNS` to the month rows of ``levels`` (null elsewhere).

    ``catalogue`` maps ``indicator_id`` to an object with ``kind``, ``multiplier``,
    ``low_is_good`` and (optionally) ``numerator.measure``; the chart is :func:`chart_type`'s
    unless ``charts`` names another of :data:`CHART_KINDS` for an indicator. Ratio charts need
    the table's ``scotland_value`` on month rows.

    Options for analysts (qicharts2 ``freeze`` / ``part``, NHSRplotthedots ``rebase``):
    ``baseline_months`` (the first N months of every series set its limits; later months are
    judged against them), ``baseline_period`` (``("2025-04", "2025-09")``: the months that set
    the limits; either end may be None), ``phases`` (``{area_id: ["2026-03"]}`` or
    ``{(indicator_id, area_id): [...]}``: months where a new phase with its own centre line and
    limits starts). A phase without baseline months uses all its months.

    Example usage::

        add_spc(table, catalogue, baseline_months=12, phases={"dundee-4": ["2026-03"]})
    """
    mask = (table["period_type"] == "month") & table["level"].isin(levels)
    rows = table[mask].sort_values(["indicator_id", "level", "area_id", "period"],
                                   kind="stable")
    ids = rows["indicator_id"]
    kinds = {i: chart_type(ind) for i, ind in catalogue.items()}
    for indicator_id, kind in (charts or {}).items():
        if kind not in CHART_KINDS:
            raise ValueError(f"charts[{indicator_id!r}]: {kind!r}; expected one of "
                             f"{list(CHART_KINDS)}")
        kinds[indicator_id] = kind
    charts = ids.map(kinds).to_numpy(object)
    counts_items = ids.map({i: _counts_items(ind) for i, ind in catalogue.items()}).to_numpy(bool)
    series = rows.groupby(["indicator_id", "level", "area_id"], sort=False).ngroup().to_numpy()
    periods = rows["period"].astype(str).to_numpy()
    value = rows["value"].to_numpy(float)
    num = rows["numerator"].to_numpy(float)
    den = rows["denominator"].to_numpy(float)
    reference = (rows["scotland_value"].to_numpy(float) if "scotland_value" in rows
                 else np.full(len(rows), np.nan))
    is_ratio = np.isin(charts, RATIO_CHARTS)
    with np.errstate(invalid="ignore"):
        useful = (np.isfinite(value) & np.isfinite(den) & (den > 0)
                  & (~is_ratio | (np.isfinite(reference) & (reference > 0))))
    n_useful = np.bincount(series[useful], minlength=int(series.max()) + 1 if len(series) else 0)
    long = n_useful[series] >= MIN_POINTS_FOR_LIMITS if len(series) else np.zeros(0, bool)
    # the items behind the numerator (cost, dose) where the table has them, else item counts
    if "numerator_items" in rows:
        items = rows["numerator_items"].to_numpy(float)
        counts_items = np.ones(len(rows), bool)
    else:
        items = num
    median_count = (pd.Series(np.where(useful, items, np.nan)).groupby(series).median()
                    .to_numpy()[series] if len(series) else np.zeros(0))
    few = counts_items & long & ~(median_count >= MIN_MEDIAN_COUNT)
    note = np.where(long, np.where(few, FEW_ITEMS_NOTE, None), SHORT_SERIES_NOTE)
    long = long & ~few
    phase = _phase_numbers(rows, periods, phases)
    segment = pd.factorize(series * (int(phase.max()) + 1 if len(phase) else 1) + phase)[0]
    limit = _baseline_points(rows, periods, series, baseline_months, baseline_period)
    has_limit = np.bincount(segment[limit], minlength=int(segment.max()) + 1 if len(segment)
                            else 0) > 0
    limit = limit | ~has_limit[segment] if len(segment) else limit

    spc = pd.DataFrame({
        "spc_chart": pd.array(charts.astype(str), dtype="str"),
        "cl": np.nan, "lcl": np.nan, "ucl": np.nan,
        "spc_signal": pd.array(np.zeros(len(rows), bool), dtype="boolean"),
        "spc_flag": pd.array([None] * len(rows), dtype="str"),
        "spc_rule": pd.array(note, dtype="str"),
        "run_signal": pd.array(np.zeros(len(rows), bool), dtype="boolean"),
    }, index=rows.index)
    if long.any():
        part = rows[long]
        part_ids = part["indicator_id"]
        computed = spc_frame(
            value[long], num[long], den[long], charts[long],
            pd.factorize(segment[long])[0],
            part_ids.map({i: float(ind.multiplier) for i, ind in catalogue.items()})
            .to_numpy(float),
            part_ids.map({i: _direction(ind.low_is_good) for i, ind in catalogue.items()})
            .to_numpy(float),
            limit_points=limit[long],
            reference=reference[long],
        )
        computed.index = part.index
        for column in computed.columns:
            spc.loc[part.index, column] = computed[column]
    spc["spc_phase"] = pd.array(phase, dtype="Int64")
    spc = spc.reindex(table.index)
    return table.assign(**{column: spc[column].astype(_dtype(column)) for column in SPC_COLUMNS})


def _dtype(column: str) -> str:
    if column in ("cl", "lcl", "ucl"):
        return "float64"
    if column in ("spc_signal", "run_signal"):
        return "boolean"
    if column == "spc_phase":
        return "Int64"
    return "str"
