"""Dose-based measures: defined daily doses (DDD), average daily quantities (ADQ) and oral
morphine equivalents (OME) from quantity, strength and a defined dose.

For each presentation (BNF code) the **amount per unit of quantity** is read from its strength
(:func:`clusterqi.codelist.parse_strength` on PITC's ``BNFItemDescription``, e.g. "Pregabalin
75mg capsules" -> 75 mg a capsule; "Fentanyl 25micrograms/hour transdermal patches" -> 25
micrograms an hour), converted to the defined dose's unit. Then, for a prescribing row,

- ``ddd`` / ``adq``: quantity x amount / the chemical's defined dose (WHO DDD, or the ADQ);
- ``ome``: quantity x amount x the chemical's oral morphine equivalence factor for the
  presentation's route (the ``dose`` of an ``ome`` row is that factor: mg of oral morphine per
  unit of ``dose_unit`` of the drug); a combination (co-codamol) uses the strength at the
  row's ``ingredient_position``.

A strength per hour (patches) is multiplied by the hours one unit is worn (the table's
``hours_per_unit``, e.g. 72 for a three-day fentanyl patch). A strength per volume ("10mg/5ml")
gives the amount per ml (PITC's quantity of a liquid is in ml).

Constraints: nothing is guessed. A presentation whose description is missing, whose strength
cannot be read, whose unit cannot be converted to the defined dose's, or whose chemical has no
defined dose for the measure gets no factor (NaN): it is counted nowhere and listed as a
finding (``bnf_code, description, indicator_id, reason``).

Sources of the defined doses: the package's ``clusterqi/data/codelist/defined_doses.csv``
(:func:`clusterqi.codelist.load_defined_doses`: WHO ATC/DDD index; NHSBSA ADQ values; a
published opioid OME table), each row with its source.

Example usage::

    from clusterqi.indicators.doses import default_doses, dose_factors

    factors, findings = dose_factors(
        ["0408010AEAAACAC"], ["Pregabalin 75mg capsules"], "ddd", "gabapentinoid_ddd")
    factors   # array([0.25]): 75 mg / 300 mg DDD
    dose_factors(["0407020A0AAAAAA"], ["FENTANYL 25MICROGRAMS/HOUR TRANSDERMAL PATCHES"],
                 "ome", "opioid_ome")[0]   # array([180.]): 25 x 72 h = 1.8 mg x 100
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import pandas as pd

from clusterqi.codelist import load_defined_doses, parse_strength, parse_strengths, route_of
from clusterqi.indicators.presentations import (
    CHEMICAL_LENGTH,
    convert_amount,
    default_index,
    normalise_unit,
)

__all__ = [
    "FINDING_COLUMNS",
    "PER_HOUR_UNITS",
    "DefinedDoses",
    "default_doses",
    "amount_per_unit",
    "dose_factors",
    "findings_frame",
]

#: Columns of the findings frame (practice-independent: one row per presentation).
FINDING_COLUMNS = ["bnf_code", "description", "indicator_id", "reason"]
#: Denominators of a strength that mean "per hour" (patches).
PER_HOUR_UNITS = ("hour", "hours", "hr", "h", "24hours")
#: Volume units in ml (PITC's quantity of a liquid is in ml).
VOLUME_UNITS_ML = {"ml": 1.0, "millilitre": 1.0, "millilitres": 1.0, "l": 1000.0, "litre": 1000.0}


class DefinedDoses:
    """The defined-dose table by chemical, measure, route and (for patches) strength.

    ``frame`` has ``chemical_code, chemical, measure, route, dose, dose_unit, source`` and
    optionally ``hours_per_unit``, ``strengths`` (";"-separated strengths a row is limited to)
    and ``ingredient_position`` (which strength of a combination's name is the drug's).

    Example usage::

        doses = DefinedDoses(load_defined_doses())
        doses.select("0408010G0", "ddd", "oral", 300.0)   # ({"dose": 1800.0, ...}, None)
    """

    def __init__(self, frame: pd.DataFrame):
        table: dict[tuple[str, str], list[dict]] = {}
        for row in frame.to_dict("records"):
            key = (str(row["chemical_code"]).strip(), str(row["measure"]).strip().lower())
            table.setdefault(key, []).append(row)
        self._table = table

    def rows(self, chemical_code: str, measure: str) -> list[dict]:
        """Every row for a chemical and measure (one per route / strength group)."""
        return self._table.get((chemical_code, measure), [])

    def chemicals(self, measure: str) -> tuple[str, ...]:
        """Chemical codes with a defined dose for ``measure``."""
        return tuple(sorted(c for c, m in self._table if m == measure))

    def select(self, chemical_code: str, measure: str, route: str | None,
               strength: float | None) -> tuple[dict | None, str | None]:
        """(the row for this route and strength, None) or (None, why no row fits)."""
        rows = self.rows(chemical_code, measure)
        if not rows:
            return None, f"chemical {chemical_code} has no defined dose for {measure}"
        routes = {str(r.get("route")) for r in rows}
        if route is None:
            if len(routes) > 1:
                return None, (f"the route is unknown (not in the code list) and {chemical_code} has "
                              f"{measure} doses for several routes {sorted(routes)}")
            route = routes.pop()
        fitting = [r for r in rows if str(r.get("route")) == route]
        if not fitting:
            return None, f"chemical {chemical_code} has no {measure} dose for the {route} route"
        limited = [r for r in fitting if _strength_list(r.get("strengths"))]
        if limited:
            for row in limited:
                if strength is not None and any(abs(strength - v) < 1e-9
                                                for v in _strength_list(row.get("strengths"))):
                    return row, None
            unlimited = [r for r in fitting if not _strength_list(r.get("strengths"))]
            if not unlimited:
                return None, (f"strength {strength!r} is none of those the {route} {measure} doses "
                              f"of {chemical_code} are defined for")
            return unlimited[0], None
        return fitting[0], None


def _strength_list(value) -> tuple[float, ...]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ()
    out = []
    for part in str(value).split(";"):
        part = part.strip()
        if part:
            out.append(float(part))
    return tuple(out)


@lru_cache(maxsize=1)
def default_doses() -> DefinedDoses:
    """The package's defined-dose table (read once per process)."""
    return DefinedDoses(load_defined_doses())


def _get(strength, *names):
    for name in names:
        value = getattr(strength, name, None)
        if value is not None:
            return value
    return None


def amount_per_unit(strength, unit: str, hours_per_unit: float | None = None) -> float | None:
    """The amount of drug in one unit of PITC quantity, in ``unit``; None if it cannot be said.

    ``strength`` is what :func:`clusterqi.codelist.parse_strength` returns: a value and unit,
    optionally per an amount of something (``per_value`` and ``per_unit``: "10mg/5ml" is 10 mg
    per 5 ml; "25micrograms/hour" is 25 micrograms per 1 hour).

    Example usage::

        amount_per_unit(parse_strength("Fentanyl 25micrograms/hour patches"), "mg", 72)  # 1.8
    """
    if strength is None:
        return None
    value = _get(strength, "value", "amount")
    if value is None:
        return None
    amount = convert_amount(float(value), _get(strength, "unit"), unit)
    if amount is None:
        return None
    per_unit = normalise_unit(_get(strength, "per_unit", "denominator_unit"))
    if per_unit is None:
        return amount
    per_value = _get(strength, "per_value", "denominator_value")
    per_value = 1.0 if per_value is None else float(per_value)
    if per_value <= 0:
        return None
    if per_unit in PER_HOUR_UNITS:
        if hours_per_unit is None or not math.isfinite(hours_per_unit):
            return None
        hours = 24.0 if per_unit == "24hours" else 1.0
        return amount / (per_value * hours) * float(hours_per_unit)
    if per_unit in VOLUME_UNITS_ML:
        return amount / (per_value * VOLUME_UNITS_ML[per_unit])
    return None


def _number(value) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _position(row: dict) -> int | None:
    value = _number(row.get("ingredient_position"))
    return None if value is None else int(value)


def dose_factors(
    bnf_codes: Sequence[str],
    descriptions: Sequence[object],
    measure: str,
    indicator_id: str,
    doses: DefinedDoses | None = None,
    index=None,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Per presentation: the measure's amount per unit of quantity, and the findings.

    ``bnf_codes`` and ``descriptions`` are parallel (one description per distinct code, None
    where the data hold none). The route (which OME factor applies) comes from the code list's
    form of the presentation (through its generic equivalent; a strength per hour means a
    patch), or is the chemical's only route. Returns (factors, findings): NaN factors for the
    presentations counted nowhere, each with a row in findings (columns
    :data:`FINDING_COLUMNS`).
    """
    doses = doses or default_doses()
    index = index or default_index()
    factors = np.full(len(bnf_codes), np.nan)
    findings = []
    for i, (code, description) in enumerate(zip(bnf_codes, descriptions)):
        code = str(code)
        text = None if description is None or pd.isna(description) else str(description)
        chemical = code[:CHEMICAL_LENGTH]
        listed = index.get(code) if len(code) == 15 else None
        reason = None
        if not doses.rows(chemical, measure):
            reason = f"chemical {chemical} has no defined dose for {measure}"
        elif text is None or not text.strip():
            reason = "no BNFItemDescription in the data: the strength cannot be read"
        if reason is None:
            whole = parse_strength(text)
            route = route_of(listed.form) if listed is not None and listed.form else None
            if whole is not None and normalise_unit(whole.per_unit) in PER_HOUR_UNITS:
                route = "transdermal"
            positions = {_position(r) for r in doses.rows(chemical, measure)} - {None}
            strength = whole
            if strength is None and positions:
                parts = parse_strengths(text)
                position = min(positions)
                strength = parts[position - 1] if len(parts) >= position else None
            row, why = doses.select(chemical, measure, route,
                                    None if strength is None else float(strength.value))
            if strength is None:
                reason = "the strength cannot be read from the description"
            elif row is None:
                reason = why
            else:
                dose = _number(row.get("dose"))
                amount = amount_per_unit(strength, str(row.get("dose_unit")),
                                         _number(row.get("hours_per_unit")))
                if amount is None:
                    reason = (f"the strength {strength.value:g} {strength.unit}"
                              f"{'/' + str(strength.per_unit) if strength.per_unit else ''} cannot "
                              f"be converted to {row.get('dose_unit')} per unit of quantity")
                elif dose is None or dose <= 0:
                    reason = f"the defined dose {row.get('dose')!r} is not a positive number"
                else:
                    factors[i] = amount * dose if measure == "ome" else amount / dose
        if reason is not None:
            findings.append((code, text, indicator_id, reason))
    return factors, pd.DataFrame(findings, columns=FINDING_COLUMNS)


def findings_frame(source) -> pd.DataFrame:
    """The dose findings of an indicator table (or of counts, or their records) as a DataFrame
    with columns :data:`FINDING_COLUMNS`: one row per presentation and indicator, independent
    of practices (tables keep them in ``attrs["dose_findings"]`` as records, because pandas
    compares ``attrs`` when tables are concatenated).

    Example usage::

        findings_frame(calculate_indicators(dataset, catalogue, "2025-09"))
    """
    records = source.attrs.get("dose_findings", []) if hasattr(source, "attrs") else source
    return pd.DataFrame(list(records or []), columns=FINDING_COLUMNS)
