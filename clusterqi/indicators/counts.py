"""Numerators and denominators per practice and month, from prescribing and populations.

The first step of :func:`clusterqi.indicators.calculate_indicators`: for every indicator in a
catalogue, the numerator (items, quantity, cost, or a dose measure: DDD, ADQ or OME, of the
numerator's BNF codes), the items behind it (``numerator_items``) and the denominator (the
same for a proportion's denominator codes; patient-days for a rate) of every practice in every
month it prescribed anything.

Constraints:

- BNF code lists are matched once per distinct code, then counted with ``numpy.bincount``
  over practice-months: no loop over practices or months.
- Population denominators use, for each practice and month, the populations release in effect
  (the latest release dated in or before the month; the practice's earliest release for months
  before it). Patients of all ages are the sum over sexes and age bands (or the practice's
  ``All`` total where PHS publishes only that). An age range sums the bands inside it; a band
  that straddles a range boundary counts in proportion to the years inside the range (open
  bands such as ``85+`` are taken as :data:`OPEN_BAND_YEARS` years wide). A practice that PHS
  publishes only as an all-ages total gets the Scotland share of patients in the range for
  that release (an estimate, counted in ``attrs["estimated_population"]``).
- ``per_day`` denominators are patients x days in the month (patient-days).
- Dose measures (:mod:`clusterqi.indicators.doses`) read each presentation's strength from
  the prescribing ``description`` (PITC's ``BNFItemDescription``). A presentation whose
  strength cannot be read is counted nowhere (neither in the numerator nor in
  ``numerator_items``) and listed in ``attrs["dose_findings"]`` (``bnf_code, description,
  indicator_id, reason``). Without descriptions in the data a dose indicator's numerator is
  NaN and ``attrs["warnings"]`` says it cannot be computed. A code that a strength or form
  rule needs the code list for, but that the code list does not hold, is listed there too.

Example usage::

    from clusterqi.indicators.counts import practice_month_counts
    counts = practice_month_counts(dataset, catalogue, months)
    counts.head()  # indicator_id, practice_code, month, numerator, numerator_items, denominator
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from clusterqi.errors import DataError
from clusterqi.indicators.doses import FINDING_COLUMNS, dose_factors
from clusterqi.indicators.presentations import default_index

__all__ = [
    "OPEN_BAND_YEARS",
    "MEASURE_COLUMNS",
    "DOSE_MEASURE_COLUMN",
    "COUNT_COLUMNS",
    "practice_month_counts",
    "population_by_month",
]

#: Width assumed for an open-ended age band (``85+``) when a range starts inside it.
OPEN_BAND_YEARS = 10

#: Catalogue ``measure`` -> prescribing column.
MEASURE_COLUMNS = {"items": "items", "quantity": "quantity", "cost": "cost"}
#: Dose measures (ddd, ome, adq) weight this column by the presentation's dose factor.
DOSE_MEASURE_COLUMN = "quantity"
#: Columns of :func:`practice_month_counts`' result.
COUNT_COLUMNS = ["indicator_id", "practice_code", "month", "numerator", "numerator_items",
                 "denominator"]
_DOSE_MEASURES = ("ddd", "ome", "adq")

_SEXES = ("Male", "Female")


def _measure_column(measure: str, indicator_id: str) -> str:
    if measure in _DOSE_MEASURES:
        return DOSE_MEASURE_COLUMN
    try:
        return MEASURE_COLUMNS[measure]
    except KeyError:
        raise DataError(
            f"indicator {indicator_id}: measure {measure!r} is not one of "
            f"{sorted(MEASURE_COLUMNS) + list(_DOSE_MEASURES)}"
        ) from None


def _population_spec(denominator) -> tuple[float | None, float | None, bool] | None:
    """(age_min, age_max, per_day) for a population denominator, None for a prescribing one."""
    population = getattr(denominator, "population", None)
    if population is None:
        return None
    return (
        getattr(population, "age_min", None),
        getattr(population, "age_max", None),
        bool(getattr(denominator, "per_day", False)),
    )


def _band_share(populations: pd.DataFrame, age_min, age_max) -> np.ndarray:
    """Share (0..1) of each band's patients that fall in [age_min, age_max] (inclusive years)."""
    lo = -np.inf if age_min is None else float(age_min)
    hi = np.inf if age_max is None else float(age_max)
    band_lo = pd.to_numeric(populations["age_min"], errors="coerce").to_numpy(dtype=float)
    band_hi = pd.to_numeric(populations["age_max"], errors="coerce").to_numpy(dtype=float)
    band_hi = np.where(np.isnan(band_hi), band_lo + OPEN_BAND_YEARS - 1, band_hi)
    width = band_hi - band_lo + 1
    overlap = np.minimum(band_hi, hi) - np.maximum(band_lo, lo) + 1
    share = np.clip(overlap / width, 0.0, 1.0)
    if age_max is None:  # an open range takes the whole of an open band it starts in or before
        open_band = pd.isna(populations["age_max"]).to_numpy() & (band_lo >= lo)
        share = np.where(open_band, 1.0, share)
    return np.nan_to_num(share, nan=0.0)


def _release_populations(populations: pd.DataFrame, age_min, age_max) -> pd.DataFrame:
    """practice_code, date, patients in the age range, estimated (bool) per release."""
    pops = populations
    banded = pops["age_band"].astype(str).str.lower() != "all"
    by_sex = pops["sex"].isin(_SEXES)
    detail = pops[banded & by_sex]
    whole = pops[~banded]
    all_ages = age_min is None and age_max is None
    share = 1.0 if all_ages else _band_share(detail, age_min, age_max)
    detail = detail.assign(patients=detail["patients"].to_numpy(dtype=float) * share)
    detailed = detail.groupby(["practice_code", "date"], observed=True)["patients"].sum()
    # totals where PHS publishes no bands: the practice's All (or per-sex all-ages) rows
    totals = (
        whole[whole["sex"] == "All"]
        .groupby(["practice_code", "date"], observed=True)["patients"]
        .sum()
    )
    if totals.empty:
        totals = (
            whole[whole["sex"].isin(_SEXES)]
            .groupby(["practice_code", "date"], observed=True)["patients"]
            .sum()
        )
    totals = totals[~totals.index.isin(detailed.index)]
    if not all_ages and len(totals):
        all_detail = (
            pops[banded & by_sex].groupby("date")["patients"].sum().astype(float)
        )
        in_range = detail.groupby("date")["patients"].sum()
        scot_share = (in_range / all_detail).reindex(totals.index.get_level_values("date"))
        totals = totals.astype(float) * scot_share.to_numpy()
    out = pd.concat(
        [
            detailed.astype(float).to_frame().assign(estimated=False),
            totals.astype(float).to_frame().assign(estimated=not all_ages),
        ]
    ).reset_index()
    # a release dated in a month applies from the start of that month (as list sizes do)
    out["date"] = (
        pd.to_datetime(out["date"]).dt.to_period("M").dt.to_timestamp().astype("datetime64[ns]")
    )
    return out


def population_by_month(
    populations: pd.DataFrame, practice_months: pd.DataFrame, age_min=None, age_max=None
) -> pd.DataFrame:
    """Patients (in an age range) for each practice-month, from the release in effect.

    ``practice_months`` has ``practice_code, month``; the result adds ``patients`` (NaN where the
    practice is in no release) and ``estimated``, in the same row order.

    Example usage::

        pm = pd.DataFrame({"practice_code": ["10002"], "month": [pd.Timestamp("2025-09-01")]})
        population_by_month(dataset.populations, pm, age_min=65)
    """
    releases = _release_populations(populations, age_min, age_max).sort_values("date")
    left = practice_months[["practice_code", "month"]].copy()
    left["month"] = pd.to_datetime(left["month"]).astype("datetime64[ns]")
    left["_row"] = np.arange(len(left))
    left = left.sort_values("month")
    kwargs = dict(left_on="month", right_on="date", by="practice_code")
    back = pd.merge_asof(left, releases, direction="backward", **kwargs)
    fwd = pd.merge_asof(left, releases, direction="forward", **kwargs)
    back = back.sort_values("_row").reset_index(drop=True)
    fwd = fwd.sort_values("_row").reset_index(drop=True)
    missing = back["patients"].isna()
    patients = back["patients"].where(~missing, fwd["patients"])
    estimated = back["estimated"].where(~missing, fwd["estimated"])
    return pd.DataFrame(
        {
            "practice_code": practice_months["practice_code"].to_numpy(),
            "month": practice_months["month"].to_numpy(),
            "patients": patients.to_numpy(dtype=float),
            "estimated": estimated.fillna(False).astype(bool).to_numpy(),
        }
    )


def _codes(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(integer code per row, the distinct values as str) without converting every row."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy(), np.asarray(column.cat.categories.astype("str"))
    codes, uniques = pd.factorize(column)
    return codes, np.asarray(pd.Index(uniques).astype("str"))


def practice_month_counts(
    dataset, catalogue: Mapping[str, object], months: pd.DatetimeIndex | list
) -> pd.DataFrame:
    """Numerator and denominator of every indicator for every practice-month with prescribing.

    Returns columns :data:`COUNT_COLUMNS` for the practices in ``dataset.practices`` and the
    given months (first days of the month): ``numerator_items`` is the number of items behind
    the numerator (equal to the numerator for an items measure). ``attrs`` records
    ``dropped_practice_codes`` (prescribing practice codes not in the practices table),
    ``estimated_population`` (practice-months whose age-range population was estimated),
    ``dose_findings`` (presentations counted nowhere, see the module docstring, as records:
    :func:`clusterqi.indicators.doses.findings_frame` makes them a DataFrame) and
    ``warnings`` (plain-English notes).

    Example usage::

        counts = practice_month_counts(dataset, load_catalogue(), pd.date_range(
            "2024-10-01", "2025-09-01", freq="MS"))
    """
    rx = dataset.prescribing
    month_values = pd.to_datetime(rx["month"]).astype("datetime64[ns]")
    wanted = pd.DatetimeIndex(months).astype("datetime64[ns]")
    practice_codes = _codes(rx["practice_code"])
    known_codes = set(dataset.practices["practice_code"].astype("str"))
    known = np.isin(practice_codes[1], list(known_codes))[practice_codes[0]]
    known &= practice_codes[0] >= 0  # a missing code (-1) is no practice
    dropped = sorted(set(practice_codes[1][~np.isin(practice_codes[1], list(known_codes))])
                     & set(practice_codes[1][np.unique(practice_codes[0])]))
    month_index = wanted.get_indexer(month_values)
    keep = known & (month_index >= 0)
    # one integer per practice-month: practice code number x months + month number
    key = practice_codes[0][keep].astype(np.int64) * len(wanted) + month_index[keep]
    pm_keys, pm_codes = np.unique(key, return_inverse=True)
    pm = pd.DataFrame({
        "practice_code": pd.Series(practice_codes[1][pm_keys // len(wanted)], dtype="str"),
        "month": wanted[pm_keys % len(wanted)],
    })
    n_pm = len(pm)
    bnf_codes, bnf_uniques = _codes(rx["bnf_code"])
    bnf_codes = bnf_codes[keep]
    bnf_uniques = pd.Series(bnf_uniques, dtype="str")
    values = {col: rx[col].to_numpy(dtype=float)[keep] for col in set(MEASURE_COLUMNS.values())
              if col in rx.columns}
    descriptions = _descriptions(rx, keep, bnf_codes, len(bnf_uniques))
    findings: list[pd.DataFrame] = []
    warnings: list[str] = []

    def weights(code_list, measure, indicator_id):
        """Per distinct BNF code: the weight of one unit of ``measure``'s column (1, or the
        dose factor; NaN where counted nowhere), 0 for codes outside the list; None when the
        measure cannot be computed at all (no descriptions)."""
        hit = np.asarray(code_list.bnf_codes.matches(bnf_uniques), dtype=bool)
        if code_list.bnf_codes.has_rules:
            unknown = _unknown_to_code_list(code_list.bnf_codes, bnf_uniques, hit)
            if len(unknown):
                findings.append(pd.DataFrame({
                    "bnf_code": unknown,
                    "description": [descriptions[i] for i in unknown.index],
                    "indicator_id": indicator_id,
                    "reason": "not in the package's code list: its strength / form rule "
                              "cannot be evaluated, so it is not counted",
                }))
        weight = hit.astype(float)
        if measure in _DOSE_MEASURES and hit.any():
            idx = np.flatnonzero(hit)
            if all(descriptions[i] is None for i in range(len(descriptions))):
                warnings.append(
                    f"indicator {indicator_id}: the prescribing data hold no BNFItemDescription, "
                    f"so its {measure.upper()}s cannot be computed (values left empty)"
                )
                return None
            factors, found = dose_factors(
                bnf_uniques.iloc[idx].tolist(), [descriptions[i] for i in idx], measure,
                indicator_id)
            weight[idx] = factors
            findings.append(found)
        return weight

    def summed(code_list, measure, indicator_id):
        """(sum of ``measure``, items behind it) per practice-month over the counted rows;
        NaN sums when the measure cannot be computed at all."""
        column = _measure_column(measure, indicator_id)
        if column not in values:
            raise DataError(
                f"indicator {indicator_id}: prescribing has no column {column!r}; "
                f"columns are {list(dataset.prescribing.columns)}"
            )
        weight = weights(code_list, measure, indicator_id)
        if weight is None:
            nan = np.full(n_pm, np.nan)
            return nan, nan
        row_weight = weight[bnf_codes]
        counted = np.isfinite(row_weight) & (row_weight != 0)
        total = np.bincount(pm_codes[counted],
                            weights=values[column][counted] * row_weight[counted],
                            minlength=n_pm)
        items = np.bincount(pm_codes[counted], weights=values["items"][counted], minlength=n_pm)
        return total, items

    populations: dict[tuple, pd.DataFrame] = {}
    days = pm["month"].dt.days_in_month.to_numpy(dtype=float)
    frames = []
    estimated = 0
    for indicator_id, indicator in catalogue.items():
        numerator, numerator_items = summed(
            indicator.numerator, indicator.numerator.measure, indicator_id)
        spec = _population_spec(indicator.denominator)
        if spec is None:
            den = indicator.denominator
            denominator, _ = summed(den, den.measure, indicator_id)
        else:
            age_min, age_max, per_day = spec
            if (age_min, age_max) not in populations:
                populations[(age_min, age_max)] = population_by_month(
                    dataset.populations, pm, age_min, age_max
                )
            pop = populations[(age_min, age_max)]
            estimated = max(estimated, int(pop["estimated"].sum()))
            denominator = pop["patients"].to_numpy() * (days if per_day else 1.0)
        frames.append(
            pd.DataFrame(
                {
                    "indicator_id": indicator_id,
                    "practice_code": pm["practice_code"].to_numpy(),
                    "month": pm["month"].to_numpy(),
                    "numerator": numerator,
                    "numerator_items": numerator_items,
                    "denominator": denominator,
                }
            )
        )
    out = (pd.concat(frames, ignore_index=True) if frames
           else pd.DataFrame(columns=COUNT_COLUMNS))
    found = [f for f in findings if len(f)]
    out.attrs["dropped_practice_codes"] = dropped
    out.attrs["estimated_population"] = estimated
    frame = (pd.concat(found, ignore_index=True).drop_duplicates() if found
             else pd.DataFrame(columns=FINDING_COLUMNS))
    # records, not a DataFrame: pandas compares attrs when tables are concatenated
    out.attrs["dose_findings"] = frame.astype(object).where(frame.notna(), None).to_dict("records")
    out.attrs["warnings"] = list(dict.fromkeys(warnings))
    return out


def _descriptions(rx: pd.DataFrame, keep: np.ndarray, bnf_codes: np.ndarray,
                  n_codes: int) -> list[str | None]:
    """Per distinct BNF code (the order of ``_codes(rx["bnf_code"])``): the first non-missing
    ``description`` of its kept rows, None where there is none (or no such column)."""
    out: list[str | None] = [None] * n_codes
    if "description" not in rx.columns:
        return out
    desc_codes, desc_names = _codes(rx["description"])
    desc_codes = desc_codes[keep]
    present = desc_codes >= 0
    if not present.any():
        return out
    pairs = pd.DataFrame({"bnf": bnf_codes[present], "desc": desc_codes[present]})
    first = pairs.drop_duplicates("bnf")
    for bnf, desc in zip(first["bnf"].to_numpy(), first["desc"].to_numpy()):
        if bnf >= 0:
            out[int(bnf)] = str(desc_names[int(desc)])
    return out


def _unknown_to_code_list(code_list, bnf_uniques: pd.Series, hit: np.ndarray) -> pd.Series:
    """Codes that match the prefixes but need the code list for a rule it cannot answer."""
    index = default_index()
    candidates = bnf_uniques[~hit]
    unknown = [i for i, code in candidates.items()
               if code_list.needs_lookup(code) and index.get(code) is None]
    return bnf_uniques.loc[unknown]
