"""The indicator table: every indicator x level x area x period, with comparisons and SPC.

:func:`calculate_indicators` is the one entry point. It returns the long, tidy table whose
columns docs/architecture.md ("Indicator table") fixes:

- keys ``indicator_id, level, area_id, area_name, cluster_id, hscp_code, hb_code, period_type,
  period``; levels practice, cluster, hscp, hb and scotland;
- ``numerator, denominator, value, lower_95, upper_95, lower_998, upper_998`` (value =
  numerator / denominator x multiplier; Wilson intervals for proportions, exact Poisson below
  10 events and Byar's from 10 for rates, from :mod:`clusterqi.stats`);
- comparison columns (:mod:`clusterqi.indicators.comparisons`) and SPC columns
  (:mod:`clusterqi.indicators.series`).

Periods: one ``month`` row for every month with prescribing up to ``period_end`` (so SPC sees
the whole series), and one ``total`` row over the last ``months`` months (period
``"2024-10..2025-09"``). Totals sum numerators and denominators over the months. For a rate
whose denominator is patients (not patient-days) the total's denominator is the average
population over the window (the sum over months divided by ``months``), so a 12-month total of
"items per 1,000 patients" is items in the year per 1,000 patients; month rows are per month.

Example usage::

    from clusterqi.loaders import load_dataset
    from clusterqi.indicators import calculate_indicators, load_catalogue

    table = calculate_indicators(load_dataset(folder), load_catalogue(), "2025-09", months=12)
    table.query("level == 'cluster' and period_type == 'total'")
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from clusterqi import stats
from clusterqi.errors import DataError
from clusterqi.indicators.comparisons import COMPARISON_COLUMNS, add_comparisons
from clusterqi.indicators.counts import practice_month_counts
from clusterqi.indicators.levels import KEY_COLUMNS, LEVELS, aggregate_levels, practice_attributes
from clusterqi.indicators.series import SPC_COLUMNS, add_spc

__all__ = [
    "calculate_local_measure",
    "funnel_lines",
    "load_local_measure",
    "CONFIDENCE_LEVELS",
    "VALUE_COLUMNS",
    "TABLE_COLUMNS",
    "calculate_indicators",
    "add_values",
    "parse_period",
    "total_period_label",
]

#: Interval levels in the table: column suffix -> confidence.
CONFIDENCE_LEVELS = {"95": 0.95, "998": 0.998}
VALUE_COLUMNS = [
    "numerator", "denominator", "value", "lower_95", "upper_95", "lower_998", "upper_998",
]
#: Every column of the indicator table, in order.
TABLE_COLUMNS = KEY_COLUMNS + VALUE_COLUMNS + COMPARISON_COLUMNS + SPC_COLUMNS

_PERIOD_SEPARATOR = ".."


def parse_period(period_end) -> pd.Period:
    """A month as a ``pandas.Period`` (freq M) from ``"YYYY-MM"``, a Timestamp or a Period."""
    try:
        if isinstance(period_end, pd.Period):
            return period_end.asfreq("M")
        if isinstance(period_end, str) and len(period_end) != 7:
            raise ValueError
        return pd.Period(period_end, freq="M")
    except (ValueError, TypeError):
        raise DataError(
            f"period_end {period_end!r} is not a month; expected 'YYYY-MM', a Timestamp or a "
            "Period"
        ) from None


def total_period_label(first: pd.Period, last: pd.Period) -> str:
    """``"2024-10..2025-09"``: the label of a total row."""
    return f"{first.strftime('%Y-%m')}{_PERIOD_SEPARATOR}{last.strftime('%Y-%m')}"


def _interval(kind: np.ndarray, num: np.ndarray, den: np.ndarray, confidence: float):
    """(lower, upper) per row on the 0..1 / per-unit scale; NaN where undefined."""
    lower = np.full(len(num), np.nan)
    upper = np.full(len(num), np.nan)
    valid = np.isfinite(num) & np.isfinite(den) & (den > 0) & (num >= 0)
    prop = valid & (kind == "proportion") & (num <= den)
    rate = valid & (kind == "rate")
    if prop.any():
        ci = stats.wilson_ci(num[prop], den[prop], confidence=confidence)
        lower[prop] = ci["lower"].to_numpy(dtype=float)
        upper[prop] = ci["upper"].to_numpy(dtype=float)
    if rate.any():
        ci = stats.rate_ci(num[rate], den[rate], multiplier=1, confidence=confidence)
        lower[rate] = ci["lower"].to_numpy(dtype=float)
        upper[rate] = ci["upper"].to_numpy(dtype=float)
    return lower, upper


def add_values(table: pd.DataFrame, kinds: Mapping[str, str], multipliers: Mapping[str, float]):
    """Add ``value`` and the 95% / 99.8% intervals to rows with ``numerator, denominator``.

    ``kinds`` and ``multipliers`` map ``indicator_id`` to "proportion" / "rate" and to the
    multiplier. Rows with a zero or missing denominator get NaN.
    """
    num = table["numerator"].to_numpy(dtype=float)
    den = table["denominator"].to_numpy(dtype=float)
    kind = table["indicator_id"].map(kinds).to_numpy(dtype=object)
    mult = table["indicator_id"].map(multipliers).to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(den > 0, num / den, np.nan)
    out = {"value": value * mult}
    for suffix, confidence in CONFIDENCE_LEVELS.items():
        lower, upper = _interval(kind, num, den, confidence)
        out[f"lower_{suffix}"] = lower * mult
        out[f"upper_{suffix}"] = upper * mult
    return table.assign(**out)


def _practice_rows(counts, window, per_patient: set, months: int, total_label: str):
    month_rows = counts.assign(
        period_type="month", period=counts["month"].dt.strftime("%Y-%m")
    )
    in_window = counts[counts["month"].isin(window)]
    total = (
        in_window.groupby(["indicator_id", "practice_code"], sort=False)[
            ["numerator", "denominator"]
        ]
        .sum(min_count=1)
        .reset_index()
    )
    average = total["indicator_id"].isin(per_patient).to_numpy()
    total.loc[average, "denominator"] = total.loc[average, "denominator"] / months
    total = total.assign(period_type="total", period=total_label)
    columns = ["indicator_id", "practice_code", "period_type", "period", "numerator",
               "denominator"]
    return pd.concat([month_rows[columns], total[columns]], ignore_index=True)


def calculate_indicators(
    dataset, catalogue: Mapping[str, object], period_end, months: int = 12
) -> pd.DataFrame:
    """Calculate every indicator in ``catalogue`` at every level, by month and in total.

    Constraints: ``period_end`` is a month present in ``dataset.prescribing`` (``"YYYY-MM"``, a
    Timestamp or a Period); ``months`` >= 1 and the window should lie within the data (a
    shorter window is calculated over the months present and said so in
    ``attrs["warnings"]``). Practices outside clusters count at HSCP, board and Scotland
    levels; cluster rows carry the cluster's home HSCP and board. Over-dispersion for the funnel
    flags is estimated from all Scottish units at each level.

    Returns the indicator table (columns :data:`TABLE_COLUMNS`), sorted by indicator, level,
    area and period. ``attrs`` holds ``period_end``, ``months``, ``total_period`` and
    ``warnings`` (a list of plain-English notes), ``kinds`` and ``multipliers`` (by indicator
    id, for :func:`clusterqi.indicators.comparisons.funnel_lines`).

    Example usage::

        table = calculate_indicators(dataset, load_catalogue(), "2025-09")
        table[(table.level == "practice") & (table.period_type == "total")]
    """
    if not isinstance(months, (int, np.integer)) or months < 1:
        raise DataError(f"months {months!r} is not a whole number of months >= 1")
    if not catalogue:
        raise DataError("the catalogue holds no indicators; expected at least one")
    end = parse_period(period_end)
    available = (
        pd.to_datetime(dataset.prescribing["month"]).dt.to_period("M").drop_duplicates()
    )
    available = sorted(p for p in available if p <= end)
    if end not in available:
        have = sorted(pd.to_datetime(dataset.prescribing["month"]).dt.to_period("M").unique())
        span = f"{have[0]}..{have[-1]}" if have else "none"
        raise DataError(
            f"period_end {end} has no prescribing data; months available: {span}"
        )
    first = end - (months - 1)
    window_periods = [p for p in available if p >= first]
    warnings = []
    if len(window_periods) < months:
        warnings.append(
            f"the total {total_period_label(first, end)} covers only {len(window_periods)} of "
            f"{months} months: prescribing data are missing for the others"
        )
    month_index = pd.DatetimeIndex([p.to_timestamp() for p in available])
    window = pd.DatetimeIndex([p.to_timestamp() for p in window_periods])

    counts = practice_month_counts(dataset, catalogue, month_index)
    if counts.attrs.get("dropped_practice_codes"):
        codes = counts.attrs["dropped_practice_codes"]
        warnings.append(
            f"{len(codes)} practice code(s) in prescribing are not in the practices table and "
            f"were left out: {', '.join(codes[:10])}{' ...' if len(codes) > 10 else ''}"
        )
    per_patient = {
        i for i, ind in catalogue.items()
        if ind.kind == "rate" and not getattr(ind.denominator, "per_day", False)
    }
    label = total_period_label(first, end)
    rows = _practice_rows(counts, window, per_patient, months, label)
    attributes = practice_attributes(dataset.practices)
    table = aggregate_levels(rows, attributes, getattr(dataset, "lookups", None))
    kinds = {i: ind.kind for i, ind in catalogue.items()}
    multipliers = {i: float(ind.multiplier) for i, ind in catalogue.items()}
    table = add_values(table, kinds, multipliers)
    table = add_comparisons(table, rows, attributes, catalogue)
    table = add_spc(table, catalogue)
    order = table["level"].map({level: i for i, level in enumerate(LEVELS)})
    table = (
        table.assign(_order=order)
        .sort_values(["indicator_id", "_order", "area_id", "period_type", "period"],
                     kind="stable")
        .drop(columns="_order")
    )
    table = table[TABLE_COLUMNS].reset_index(drop=True)
    table.attrs = {
        "period_end": end.strftime("%Y-%m"),
        "months": int(months),
        "total_period": label,
        "warnings": warnings,
        "kinds": kinds,
        "multipliers": multipliers,
    }
    return table


# Re-exported so ``clusterqi.indicators`` can offer the whole calculation API from one module.
from clusterqi.indicators.comparisons import funnel_lines  # noqa: E402
from clusterqi.indicators.local import calculate_local_measure, load_local_measure  # noqa: E402
