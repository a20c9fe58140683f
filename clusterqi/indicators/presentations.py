"""The code list seen from the catalogue: each BNF presentation's chemical, form and strength.

Membership rules that BNF prefixes cannot express (``lansoprazole above 15 mg``, ``pressurised
inhalers only``) are answered from the package's code list of real presentations
(:func:`clusterqi.codelist.load_presentations`, columns ``bnf_code, bnf_name, chemical_code,
chemical, strength, strength_unit, form, dmd_code, source``). Any 15-character legacy BNF code
is looked up through its **generic equivalent**: characters 1-9 are the chemical, 10-11 the
product (``AA`` for the generic), 12-13 the strength and formulation, and 14-15 the strength
and formulation of the equivalent generic, so a branded code's generic is
``code[:9] + "AA" + code[13:15] * 2`` (the join OpenPrescribing's measures use).

Constraints: strengths compare only in units of the same kind; :data:`MASS_UNITS_MG` converts
masses (g, mg, microgram, nanogram) to milligrams; anything else (units per ml, "%") is
left as it is and compared only with the same unit.

Example usage::

    from clusterqi.indicators.presentations import default_index, generic_equivalent

    generic_equivalent("0103050L0BBAAAA")          # "0103050L0AAAAAA"
    default_index().get("0103050L0AAAAAA")          # Presentation(... strength=15.0, unit='mg')
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from clusterqi.codelist import load_presentations

__all__ = [
    "BNF_CODE_LENGTH",
    "CHEMICAL_LENGTH",
    "GENERIC_PRODUCT",
    "MASS_UNITS_MG",
    "Presentation",
    "PresentationIndex",
    "generic_equivalent",
    "convert_amount",
    "normalise_unit",
    "default_index",
]

#: Length of a legacy BNF presentation code.
BNF_CODE_LENGTH = 15
#: Length of the chemical (substance) part of a BNF code.
CHEMICAL_LENGTH = 9
#: Product code of a generic presentation (characters 10-11).
GENERIC_PRODUCT = "AA"
#: Mass units in milligrams, by the spellings BNF names and dm+d use.
MASS_UNITS_MG = {
    "kg": 1e6, "g": 1e3, "gram": 1e3, "grams": 1e3, "mg": 1.0, "milligram": 1.0,
    "milligrams": 1.0, "microgram": 1e-3, "micrograms": 1e-3, "mcg": 1e-3, "ug": 1e-3,
    "µg": 1e-3, "nanogram": 1e-6, "nanograms": 1e-6, "ng": 1e-6,
}
_CODE = re.compile(r"^[0-9]{6}[0-9A-Z]{9}$")


def normalise_unit(unit: object) -> str | None:
    """A unit's spelling in lower case without spaces (``"Microgram"`` -> ``"microgram"``);
    None for a missing unit."""
    if unit is None or (isinstance(unit, float) and math.isnan(unit)):
        return None
    text = str(unit).strip().lower().replace(" ", "")
    return text or None


def convert_amount(value: float, unit: object, target: object) -> float | None:
    """``value`` in ``unit`` expressed in ``target``; None when the units are not comparable.

    Example usage::

        convert_amount(500, "microgram", "mg")   # 0.5
        convert_amount(5, "%", "mg")             # None
    """
    source, goal = normalise_unit(unit), normalise_unit(target)
    if source is None or goal is None:
        return None
    if source == goal:
        return float(value)
    if source in MASS_UNITS_MG and goal in MASS_UNITS_MG:
        return float(value) * MASS_UNITS_MG[source] / MASS_UNITS_MG[goal]
    return None


def generic_equivalent(code: str) -> str:
    """The generic presentation code of any 15-character legacy BNF code.

    A generic code maps to itself; a branded one to chemical + ``AA`` + its last two characters
    twice. Raises ValueError for a code that is not 15 characters of the BNF's shape.
    """
    if not _CODE.match(code):
        raise ValueError(f"{code!r} is not a 15-character legacy BNF presentation code")
    tail = code[13:15]
    return code[:CHEMICAL_LENGTH] + GENERIC_PRODUCT + tail + tail


@dataclass(frozen=True)
class Presentation:
    """One presentation of the code list: what the rules need to know about it."""

    bnf_code: str
    bnf_name: str
    chemical_code: str
    chemical: str
    form: str | None
    strength: float | None
    strength_unit: str | None

    def strength_in(self, unit: str) -> float | None:
        """The strength converted to ``unit``; None when missing or not comparable."""
        if self.strength is None:
            return None
        return convert_amount(self.strength, self.strength_unit, unit)


def _number(value: object) -> float | None:
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) else out


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    text = str(value).strip()
    return text or None


class PresentationIndex:
    """Lookup of code-list presentations by BNF code, through the generic equivalent.

    Example usage::

        index = PresentationIndex(load_presentations())
        index.get("0103050L0BBAAAA").strength      # the generic's strength
        index.codes_with_prefix("0103050L0")       # every lansoprazole presentation listed
    """

    def __init__(self, presentations: pd.DataFrame):
        by_code: dict[str, Presentation] = {}
        for row in presentations.itertuples(index=False):
            code = str(row.bnf_code).strip()
            by_code[code] = Presentation(
                bnf_code=code,
                bnf_name=_text(row.bnf_name) or "",
                chemical_code=_text(row.chemical_code) or code[:CHEMICAL_LENGTH],
                chemical=_text(row.chemical) or "",
                form=_text(getattr(row, "form", None)),
                strength=_number(getattr(row, "strength", None)),
                strength_unit=normalise_unit(getattr(row, "strength_unit", None)),
            )
        self._by_code = by_code
        self.codes: tuple[str, ...] = tuple(sorted(by_code))

    def __len__(self) -> int:
        return len(self._by_code)

    def get(self, code: str) -> Presentation | None:
        """The presentation itself if listed, else its generic equivalent's; None if neither."""
        found = self._by_code.get(code)
        if found is not None or len(code) != BNF_CODE_LENGTH:
            return found
        try:
            return self._by_code.get(generic_equivalent(code))
        except ValueError:
            return None

    def codes_with_prefix(self, prefix: str) -> tuple[str, ...]:
        """Listed codes starting with ``prefix``, in code order."""
        return tuple(c for c in self.codes if c.startswith(prefix))

    def chemicals(self) -> dict[str, str]:
        """Chemical code -> chemical name over the listed presentations."""
        return {p.chemical_code: p.chemical for p in self._by_code.values()}


@lru_cache(maxsize=1)
def default_index() -> PresentationIndex:
    """The index of the package's code list (read once per process)."""
    return PresentationIndex(load_presentations())
