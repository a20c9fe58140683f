"""The indicator table: every indicator x level x area x period, with comparisons and SPC.

:func:`calculate_indicators` is the one entry point. It returns the long, tidy table whose
columns docs/architecture.md ("Indicator table") fixes:

- keys ``indicator_id, level, area_id, area_name, cluster_id, hscp_code, hb_code, period_type,
  period``; levels practice, cluster, hscp, hb and scotland;
- ``numerator, numerator_items, denominator, value, lower_95, upper_95, lower_998, upper_998``
  (value = numerator / denominator x multiplier; ``numerator_items`` is the number of items
  behind the numerator, equal to it for an items measure; Wilson intervals for proportions,
  exact Poisson below 10 events and Byar's from 10 for rates, from :mod:`clusterqi.stats`);
- a rate whose numerator is not items (DDD, ADQ, OME, cost, quantity) takes its intervals
  from the item count: value x limit(items) / items, the limit by exact Poisson / Byar's on the
  items (a DDD total is not a Poisson count; the items behind it are the events);
- comparison columns (:mod:`clusterqi.indicators.comparisons`) and SPC columns
  (:mod:`clusterqi.indicators.series`).

Periods: one ``month`` row for every month with prescribing up to ``period_end`` (so SPC sees
the whole series), and one ``total`` row over the last ``months`` months (period
``"2024-10..2025-09"``). Totals sum numerators and denominators over the months. One time
base: every population rate is per patient-day (the catalogue model requires ``per_day``), so
a month and a 12-month total read on the same scale ("per 1,000 patients per day", the NTI
convention); proportions are percentages.

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
from clusterqi.context import cluster_context
from clusterqi.errors import DataError
from clusterqi.indicators.comparisons import COMPARISON_COLUMNS, add_comparisons
from clusterqi.indicators.counts import practice_month_counts
from clusterqi.indicators.levels import KEY_COLUMNS, LEVELS, aggregate_levels, practice_attributes
from clusterqi.indicators.series import SPC_COLUMNS, add_spc
from clusterqi.peers import peer_groups

__all__ = [
    "CONFIDENCE_LEVELS",
    "VALUE_COLUMNS",
    "TABLE_COLUMNS",
    "calculate_indicators",
    "add_values",
    "parse_period",
    "total_period_label",
    "ITEMS_MEASURE",
]

#: The measure whose numerator is its own item count.
ITEMS_MEASURE = "items"

#: Interval levels in the table: column suffix -> confidence.
CONFIDENCE_LEVELS = {"95": 0.95, "998": 0.998}
VALUE_COLUMNS = [
    "numerator", "numerator_items", "denominator", "value", "lower_95", "upper_95", "lower_998", "upper_998",
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


def add_values(table: pd.DataFrame, kinds: Mapping[str, str], multipliers: Mapping[str, float],
               measures: Mapping[str, str] | None = None):
    """Add ``value`` and the 95% / 99.8% intervals to rows with ``numerator, denominator``.

    ``kinds``, ``multipliers`` and ``measures`` map ``indicator_id`` to "proportion" / "rate",
    to the multiplier and to the numerator's measure (default: items). Rows with a zero or
    missing denominator get NaN. A table without ``numerator_items`` gets it equal to the
    numerator (a local measure counts events). A rate whose measure is not items takes its
    intervals from the items: value x limit(items) / items (NaN upper limits where there are no
    items, whose dose or cost per item is unknown).

    Example usage::

        add_values(rows, {"abx": "rate"}, {"abx": 1000.0}, {"abx": "items"})
    """
    if "numerator_items" not in table.columns:
        table = table.assign(numerator_items=table["numerator"])
    num = table["numerator"].to_numpy(dtype=float)
    items = table["numerator_items"].to_numpy(dtype=float)
    den = table["denominator"].to_numpy(dtype=float)
    kind = table["indicator_id"].map(kinds).to_numpy(dtype=object)
    mult = table["indicator_id"].map(multipliers).to_numpy(dtype=float)
    measure = table["indicator_id"].map(measures or {}).fillna(ITEMS_MEASURE).to_numpy(
        dtype=object)
    scaled = (kind == "rate") & (measure != ITEMS_MEASURE)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(den > 0, num / den, np.nan)
        # per-unit scale from the item rate to the value: (num / den) / (items / den)
        scale = np.where(items > 0, num / items, np.where(num == 0, 0.0, np.nan))
    base = np.where(scaled, items, num)
    out = {"value": value * mult}
    for suffix, confidence in CONFIDENCE_LEVELS.items():
        lower, upper = _interval(kind, base, den, confidence)
        lower = np.where(scaled, lower * scale, lower)
        upper = np.where(scaled & (items > 0), upper * scale, np.where(scaled, np.nan, upper))
        out[f"lower_{suffix}"] = lower * mult
        out[f"upper_{suffix}"] = upper * mult
    return table.assign(**out)


_SUMMED = ["numerator", "numerator_items", "denominator"]
#: Marks the item-count copy of an indicator's rows while levels are summed.
_ITEMS_TAG = "\x1fitems"


def _without_denominator_gaps(counts: pd.DataFrame, catalogue: Mapping[str, object]
                              ) -> tuple[pd.DataFrame, set[str]]:
    """Practice-months of population rates with prescribing but no population: left out.

    A practice missing from the population file would keep its items and lose its patients,
    pushing its cluster's rate up (a confident "worse" from a broken denominator). Its numerator
    for those months is withheld instead, so the practice gets no value and no verdict and the
    totals above it leave it out. Returns the counts and the practice codes affected.
    """
    rates = {i for i, ind in catalogue.items() if ind.kind == "rate"}
    denominator = pd.to_numeric(counts["denominator"], errors="coerce")
    gap = counts["indicator_id"].isin(rates).to_numpy() & ~(denominator > 0).to_numpy()
    gap &= (pd.to_numeric(counts["numerator"], errors="coerce").fillna(0) > 0).to_numpy()
    if not gap.any():
        return counts, set()
    counts = counts.copy()
    for column in ("numerator", "numerator_items"):
        if column in counts.columns:
            counts[column] = counts[column].astype("float64").where(~gap)
    return counts, set(counts.loc[gap, "practice_code"].astype(str))


def _practice_rows(counts, window, total_label: str):
    month_rows = counts.assign(
        period_type="month", period=counts["month"].dt.strftime("%Y-%m")
    )
    in_window = counts[counts["month"].isin(window)]
    total = (
        in_window.groupby(["indicator_id", "practice_code"], sort=False)[_SUMMED]
        .sum(min_count=1)
        .reset_index()
    )
    total = total.assign(period_type="total", period=total_label)
    columns = ["indicator_id", "practice_code", "period_type", "period"] + _SUMMED
    return pd.concat([month_rows[columns], total[columns]], ignore_index=True)


def _aggregate_with_items(rows, attributes, lookups) -> pd.DataFrame:
    """:func:`aggregate_levels` of numerators and denominators, plus ``numerator_items`` summed
    the same way (an item-count copy of each row, tagged, summed in the same call)."""
    copy = rows.assign(indicator_id=rows["indicator_id"].astype("str") + _ITEMS_TAG,
                       numerator=rows["numerator_items"])
    both = pd.concat([rows.drop(columns="numerator_items"),
                      copy.drop(columns="numerator_items")], ignore_index=True)
    summed = aggregate_levels(both, attributes, lookups)
    tagged = summed["indicator_id"].str.endswith(_ITEMS_TAG).to_numpy()
    table = summed[~tagged].reset_index(drop=True)
    items = summed[tagged].reset_index(drop=True)
    items["indicator_id"] = items["indicator_id"].str.removesuffix(_ITEMS_TAG)
    # the copy's groups come out in the same order as the originals' (same rows, same order,
    # groups in order of appearance); checked, with a merge as the fallback
    aligned = len(items) == len(table) and all(
        table[c].astype("str").fillna("\0").equals(items[c].astype("str").fillna("\0"))
        for c in KEY_COLUMNS
    )
    if aligned:
        return table.assign(numerator_items=items["numerator"].to_numpy())
    items = items.rename(columns={"numerator": "numerator_items"}).drop(columns="denominator")
    return table.merge(items, on=KEY_COLUMNS, how="left", validate="1:1")


def dataset_peers(dataset) -> pd.DataFrame | None:
    """The peer groups ("clusters like ours") of the dataset's clusters, or None when its practices
    have no deprivation (no SIMD file was loaded): :func:`clusterqi.peers.peer_groups` of
    :func:`clusterqi.context.cluster_context`."""
    practices = getattr(dataset, "practices", None)
    if practices is None or "simd_rank" not in practices.columns or practices["simd_rank"].isna().all():
        return None
    return peer_groups(cluster_context(practices, getattr(dataset, "populations", None)))


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
    ``warnings`` (a list of plain-English notes), ``kinds``, ``multipliers`` and ``measures``
    (by indicator id, for :func:`clusterqi.indicators.comparisons.funnel_lines`), and
    ``dose_findings`` (presentations counted nowhere: records of ``bnf_code, description,
    indicator_id, reason``; :func:`clusterqi.indicators.doses.findings_frame` gives the
    DataFrame).

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
    warnings.extend(counts.attrs.get("warnings", []))
    findings = counts.attrs.get("dose_findings", [])
    if findings:
        warnings.append(
            f"{len({f['bnf_code'] for f in findings})} presentation(s) are counted nowhere "
            "because their strength cannot be read or checked (table.attrs['dose_findings'])"
        )
    counts.attrs = {}
    counts, gaps = _without_denominator_gaps(counts, catalogue)
    if gaps:
        warnings.append(
            f"{len(gaps)} practice(s) have per-patient figures with no population to divide by "
            f"in some months, and those months are left out of their practice, cluster, HSCP, "
            f"board and Scotland figures: {', '.join(sorted(gaps)[:10])}"
            f"{' ...' if len(gaps) > 10 else ''}")
    label = total_period_label(first, end)
    rows = _practice_rows(counts, window, label)
    attributes = practice_attributes(dataset.practices)
    table = _aggregate_with_items(rows, attributes, getattr(dataset, "lookups", None))
    kinds = {i: ind.kind for i, ind in catalogue.items()}
    multipliers = {i: float(ind.multiplier) for i, ind in catalogue.items()}
    measures = {i: ind.numerator.measure for i, ind in catalogue.items()}
    uncomputable = [
        i for i, group in counts.groupby("indicator_id", sort=False)["numerator"]
        if len(group) and group.isna().all()
    ]
    if uncomputable:  # level sums would read "nothing" as 0: keep them empty
        empty = table["indicator_id"].isin(uncomputable)
        table.loc[empty, ["numerator", "numerator_items"]] = np.nan
    table = add_values(table, kinds, multipliers, measures)
    table = add_comparisons(table, rows, attributes, catalogue, peers=dataset_peers(dataset))
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
        "measures": measures,
        "dose_findings": findings,
    }
    return table

