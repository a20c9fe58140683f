"""The real BNF code list: presentations, their strengths and forms, and defined doses.

Two data files ship with the package, in ``clusterqi/data/codelist/`` (provenance of every row in
``SOURCES.md`` there):

- ``presentations.csv``: one row per real legacy BNF presentation (15-character code) that an
  indicator of the catalogue counts, plus the exclusions (antituberculosis, antileprotic drugs,
  methenamine) and common background presentations. Columns :data:`PRESENTATION_COLUMNS`.
- ``defined_doses.csv``: WHO DDDs, NHSBSA ADQs and oral morphine equivalence (OME) factors,
  for the dose-based indicators. Columns :data:`DEFINED_DOSE_COLUMNS`.
- ``acb3_chemicals.csv``: the BNF chemicals with an anticholinergic burden score of 3.

:func:`parse_strength` reads the strength per unit from a presentation name, in the dm+d style
("Omeprazole 20mg gastro-resistant capsules"), the old abbreviated BNF style
("Omeprazole_Cap E/C 20mg") or PHS Prescribing in the Community's upper-case
``BNFItemDescription`` ("FENTANYL 25MICROGRAMS/HOUR TRANSDERMAL PATCHES").

Constraints: a BNF code's characters 1-9 are its chemical; codes are kept as strings (never
numbers: leading zeros matter). Strengths are per unit of the prescribed quantity as written in
the name; a name with several active ingredients (or several strengths) has no single strength.

Why one module of this size: the shipped code list's reader, its strength parser and its form and
route vocabulary are one contract with the data files under ``clusterqi/data/codelist``.

Example usage::

    from clusterqi.codelist import load_presentations, parse_strength

    codes = load_presentations()
    codes.loc[codes["chemical_code"] == "0103050P0", ["bnf_code", "bnf_name", "strength"]]
    parse_strength("FENTANYL 25MICROGRAMS/HOUR TRANSDERMAL PATCHES")
    # Strength(value=25.0, unit='microgram', per_value=1.0, per_unit='hour')
    parse_strength("Co-codamol 30mg/500mg tablets")   # None: two active ingredients
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

__all__ = [
    "ACB_COLUMNS",
    "BNF_CODE_LENGTH",
    "CHEMICAL_CODE_LENGTH",
    "DATA_DIR",
    "DEFINED_DOSE_COLUMNS",
    "MG_PER_UNIT",
    "PRESENTATION_COLUMNS",
    "Strength",
    "load_acb3_chemicals",
    "load_defined_doses",
    "load_presentations",
    "ROUTE_BY_FORM",
    "parse_strength",
    "parse_strengths",
    "presentations_matching",
    "route_of",
]

#: Length of a legacy BNF presentation code.
BNF_CODE_LENGTH = 15
#: Length of the chemical part of a BNF code (characters 1-9).
CHEMICAL_CODE_LENGTH = 9
#: Columns of ``presentations.csv``, in order.
PRESENTATION_COLUMNS = (
    "bnf_code", "bnf_name", "chemical_code", "chemical", "strength", "strength_unit", "form",
    "dmd_code", "source",
)
#: Columns of ``defined_doses.csv``, in order.
DEFINED_DOSE_COLUMNS = (
    "chemical_code", "chemical", "measure", "route", "dose", "dose_unit", "hours_per_unit",
    "strengths", "ingredient_position", "source", "note",
)
#: Milligrams in one unit of each mass unit :func:`parse_strength` returns.
MG_PER_UNIT = {"g": 1000.0, "mg": 1.0, "microgram": 0.001, "nanogram": 0.000001}

#: Folder of the code-list data files inside the package.
DATA_DIR = Path(__file__).resolve().parent / "data" / "codelist"
_PRESENTATIONS_FILE = "presentations.csv"
_DEFINED_DOSES_FILE = "defined_doses.csv"
_ACB_FILE = "acb3_chemicals.csv"
#: Columns of ``acb3_chemicals.csv``, in order.
ACB_COLUMNS = ("chemical_code", "chemical", "acb_substance", "acb_score", "source")

# Numerator units as names spell them (lower case), mapped to the unit returned.
_AMOUNT_UNITS = {
    "micrograms": "microgram", "microgram": "microgram", "mcg": "microgram",
    "nanograms": "nanogram", "nanogram": "nanogram", "ng": "nanogram",
    "mg": "mg", "milligrams": "mg", "milligram": "mg",
    "grams": "g", "gram": "g", "g": "g",
    "units": "unit", "unit": "unit", "u": "unit",
    "mmol": "mmol", "%": "%",
}
# Denominator units (after "/"), mapped to the unit returned.
_PER_UNITS = {
    "ml": "ml", "hour": "hour", "hours": "hour", "hr": "hour", "hrs": "hour", "h": "hour",
    "24hours": "24hours", "24hrs": "24hours", "24hr": "24hours",
    "dose": "dose", "doses": "dose", "actuation": "dose", "actuations": "dose", "d": "dose",
    "g": "g", "gram": "g", "mg": "mg",
}
_MASS = {"microgram", "nanogram", "mg", "g"}
_NUMBER = r"\d+(?:,\d{3})*(?:\.\d+)?|\.\d+"
_AMOUNT_ALT = "|".join(sorted((re.escape(u) for u in _AMOUNT_UNITS), key=len, reverse=True))
_PER_ALT = "|".join(sorted((re.escape(u) for u in _PER_UNITS), key=len, reverse=True))
# One strength: number, unit, optionally "/" [number] per-unit. Units end at a word boundary
# (so "mg" does not match the start of "mgs", "g" not the start of "gastro").
_STRENGTH = re.compile(
    rf"(?<![\w.])(?P<value>{_NUMBER})\s?(?P<unit>{_AMOUNT_ALT})(?![a-z])"
    rf"(?:\s?/\s?(?P<per_value>{_NUMBER})?\s?(?P<per_unit>{_PER_ALT})(?![a-z]))?",
    re.IGNORECASE,
)
# parse_strengths: a strength, optionally preceded by a bare number and "/" ("125/25mcg").
_ANY_PER = r"(?:ml|hours?|hrs?|h|24hours|24hrs|24hr|doses?|actuations?|d)"
_ANY_STRENGTH = re.compile(
    rf"(?<![\w.])(?:(?P<first>{_NUMBER})\s?/\s?)?(?P<value>{_NUMBER})\s?"
    rf"(?P<unit>{_AMOUNT_ALT})(?![a-z])"
    rf"(?:\s?/\s?(?P<per_value>{_NUMBER})?\s?(?P<per_unit>{_ANY_PER})(?![a-z]))?",
    re.IGNORECASE,
)
# A bare number directly before "/" and a strength ("125/25mcg"): a combination.
_BARE_RATIO = re.compile(
    rf"(?<![\w.])(?:{_NUMBER})\s?/\s?(?:{_NUMBER})\s?(?:{_AMOUNT_ALT})(?![a-z])", re.IGNORECASE
)


# Several active ingredients: dm+d names join them with " / " ("Co-amoxiclav" aside), old BNF
# names with "/" before the "_" ("Lido HCl/Prilocaine_Crm"), and a strength directly followed by
# "/" and another strength ("2.5%/2.5%").
_COMBINATION = re.compile(
    r"\s/\s|^[^_]*/[^_]*_"
    rf"|(?:{_AMOUNT_ALT})\s?/\s?(?:{_NUMBER})\s?(?:%|mg|micrograms?|mcg|g|units?)(?![a-z])",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Strength:
    """The strength of one unit of a presentation, as its name states it.

    ``value`` of ``unit`` (mg, microgram, g, nanogram, unit, mmol or %), per ``per_value`` of
    ``per_unit`` when the name gives a concentration or rate ("10mg/5ml": 10 mg per 5 ml;
    "25micrograms/hour": 25 microgram per 1 hour; "100micrograms/dose"); otherwise per unit of
    quantity (one tablet, capsule, patch...).

    Example usage::

        s = parse_strength("Morphine 10mg/5ml oral solution")
        s.label            # "mg/5ml"
        s.in_mg()          # 10.0 (mg per 5 ml)
        parse_strength("Salbutamol 100micrograms/dose inhaler CFC free").in_mg()   # 0.1
    """

    value: float
    unit: str
    per_value: float | None = None
    per_unit: str | None = None

    @property
    def label(self) -> str:
        """The unit as ``presentations.csv`` writes it: "mg", "mg/5ml", "microgram/hour"."""
        if self.per_unit is None:
            return self.unit
        if self.per_value is None or self.per_value == 1:
            return f"{self.unit}/{self.per_unit}"
        return f"{self.unit}/{_format_number(self.per_value)}{self.per_unit}"

    def in_mg(self) -> float | None:
        """``value`` converted to milligrams (per the same ``per_value`` ``per_unit``); None when
        the unit is not a mass (unit, mmol, %)."""
        factor = MG_PER_UNIT.get(self.unit)
        return None if factor is None else self.value * factor


def _format_number(value: float) -> str:
    return f"{value:g}"


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def parse_strength(description: object) -> Strength | None:
    """The strength per unit read from a presentation name, or None.

    Reads dm+d-style names ("Omeprazole 20mg gastro-resistant capsules"), old abbreviated BNF
    names ("Omeprazole_Cap E/C 20mg", "Fentanyl_Transdermal Patch 25mcg/hr") and PHS's
    upper-case ``BNFItemDescription`` ("FENTANYL 25MICROGRAMS/HOUR TRANSDERMAL PATCHES"),
    case-insensitively. Units come back as mg, microgram, g, nanogram, unit, mmol or %; rates
    and concentrations keep their denominator (ml, hour, dose, g).

    Constraints: returns None when no strength can be read, and when the name is ambiguous:
    several different strengths ("Co-codamol 30mg/500mg tablets", "Fluticasone 250micrograms/dose
    / Salmeterol 25micrograms/dose inhaler", "Fluticasone/Salmeterol_Inh 125/25mcg120D").
    Pack volumes ("3ml") are not strengths and are ignored.

    Example usage::

        parse_strength("OMEPRAZOLE 20MG GASTRO-RESISTANT CAPSULES")   # Strength(20.0, 'mg')
        parse_strength("Amoxicillin 250mg/5ml oral suspension").label  # "mg/5ml"
        parse_strength("Lidocaine 5% medicated plasters")               # Strength(5.0, '%')
    """
    if description is None or (isinstance(description, float) and description != description):
        return None
    text = str(description)
    if _BARE_RATIO.search(text) or _COMBINATION.search(text):
        return None
    found: list[Strength] = []
    for match in _STRENGTH.finditer(text):
        unit = _AMOUNT_UNITS[match.group("unit").lower()]
        per_unit_text = match.group("per_unit")
        per_unit = _PER_UNITS[per_unit_text.lower()] if per_unit_text else None
        per_value_text = match.group("per_value")
        if per_unit in _MASS and unit in _MASS and per_value_text is not None:
            # "30mg/500mg": two ingredients' strengths, not a concentration.
            return None
        if per_unit in ("mg",) and per_value_text is None and unit in _MASS:
            return None
        per_value = _number(per_value_text) if per_value_text else (1.0 if per_unit else None)
        found.append(Strength(_number(match.group("value")), unit, per_value, per_unit))
    distinct = set(found)
    if len(distinct) != 1:
        return None
    return found[0]


def parse_strengths(description: object) -> tuple[Strength, ...]:
    """Every strength in a presentation name, in the order written (empty when none).

    For combinations, where :func:`parse_strength` returns None: "Co-codamol 30mg/500mg
    tablets" gives (30 mg, 500 mg), codeine first; "Fluticasone 250micrograms/dose / Salmeterol
    25micrograms/dose inhaler" gives (250 microgram/dose, 25 microgram/dose). A ratio of bare
    numbers ("125/25mcg") gives each number with the unit that follows. ``defined_doses.csv``
    says which position holds the opioid of a combination (``ingredient_position``).

    Example usage::

        parse_strengths("CO-CODAMOL 30MG/500MG TABLETS")[0]   # Strength(30.0, 'mg')
    """
    if description is None or (isinstance(description, float) and description != description):
        return ()
    text = str(description)
    found: list[Strength] = []
    for match in _ANY_STRENGTH.finditer(text):
        unit = _AMOUNT_UNITS[match.group("unit").lower()]
        per_unit_text = match.group("per_unit")
        per_value_text = match.group("per_value")
        per_unit = _PER_UNITS[per_unit_text.lower()] if per_unit_text else None
        if match.group("first") is not None:
            found.append(Strength(_number(match.group("first")), unit))
        found.append(Strength(_number(match.group("value")), unit,
                              _number(per_value_text) if per_value_text else
                              (1.0 if per_unit else None), per_unit))
    return tuple(found)


#: Route of administration (as ``defined_doses.csv`` names it) for each ``form`` of the code list
#: that is not taken by mouth.
ROUTE_BY_FORM = {
    "patch": "transdermal", "suppository": "rectal", "enema": "rectal", "spray": "nasal",
    "injection": "injection", "buccal": "buccal", "buccal tablet": "buccal",
    "buccal film": "buccal", "sublingual tablet": "oromucosal", "medicated plaster": "cutaneous",
    "topical": "cutaneous", "pressurised metered dose inhaler": "inhalation",
    "dry powder inhaler": "inhalation", "breath actuated metered dose inhaler": "inhalation",
    "nebuliser liquid": "inhalation",
}


def route_of(form: object) -> str:
    """The route (``defined_doses.csv`` spelling) of a code-list ``form``: ``oral`` unless
    :data:`ROUTE_BY_FORM` says otherwise.

    Example usage::

        route_of("patch")                      # "transdermal"
        route_of("modified-release tablet")    # "oral"
    """
    return ROUTE_BY_FORM.get(str(form).strip().lower(), "oral")


def _read_csv(name: str, columns: tuple[str, ...]) -> pd.DataFrame:
    """A shipped code-list file as text, its ``columns`` in order (a missing one is an error)."""
    path = DATA_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the code-list file is missing from the package")
    table = pd.read_csv(path, dtype=str, keep_default_na=False, na_values={})
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"{name}: missing columns {missing}")
    return table.loc[:, list(columns)]


@lru_cache(maxsize=1)
def _presentations() -> pd.DataFrame:
    table = _read_csv(_PRESENTATIONS_FILE, PRESENTATION_COLUMNS)
    _check_codes(table)
    strength = table["strength"].replace("", None)
    try:
        table["strength"] = pd.to_numeric(strength).astype(float)
    except ValueError as error:
        bad = [(i + 2, v) for i, v in strength.items() if v is not None and not _is_number(v)]
        raise ValueError(f"{_PRESENTATIONS_FILE}: column strength: not a number at "
                         f"(line, value) {bad[:5]}") from error
    for column in ("strength_unit", "dmd_code"):
        table[column] = table[column].replace("", None)
    return table


_CODE_PATTERN = re.compile(r"[0-9]{7}[0-9A-Z]{8}")


def _check_codes(table: pd.DataFrame) -> None:
    """Raise ValueError naming the line, column and value of the first bad BNF code."""
    seen: set[str] = set()
    for i, (code, chemical) in enumerate(zip(table["bnf_code"], table["chemical_code"])):
        line = i + 2  # header is line 1
        where = f"{_PRESENTATIONS_FILE}: line {line}"
        if not _CODE_PATTERN.fullmatch(code):
            raise ValueError(f"{where}, column bnf_code: {code!r} is not a {BNF_CODE_LENGTH}-"
                             "character BNF presentation code")
        if code in seen:
            raise ValueError(f"{where}, column bnf_code: {code!r} is listed twice")
        if code[:CHEMICAL_CODE_LENGTH] != chemical:
            raise ValueError(f"{where}, column chemical_code: {chemical!r} is not the first "
                             f"{CHEMICAL_CODE_LENGTH} characters of {code!r}")
        seen.add(code)


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def load_presentations() -> pd.DataFrame:
    """The code list of real BNF presentations (a copy; read once per process).

    Columns :data:`PRESENTATION_COLUMNS`: ``bnf_code`` (15 characters, str), ``bnf_name`` (as
    the source gives it), ``chemical_code`` (characters 1-9), ``chemical``, ``strength`` (float,
    NaN where the name has none or several), ``strength_unit`` ("mg", "mg/5ml",
    "microgram/hour"...), ``form`` (tablet, capsule, oral solution, pressurised metered dose
    inhaler, dry powder inhaler, patch...), ``dmd_code`` (a dm+d VMP code paired with the BNF
    code in a public source, or None) and ``source`` (an id in ``SOURCES.md``).

    Example usage::

        codes = load_presentations()
        codes[codes["bnf_code"].str.startswith("0501")]      # the antibacterials
    """
    return _presentations().copy()


@lru_cache(maxsize=1)
def _defined_doses() -> pd.DataFrame:
    table = _read_csv(_DEFINED_DOSES_FILE, DEFINED_DOSE_COLUMNS)
    for column in ("dose", "hours_per_unit", "ingredient_position"):
        values = table[column].replace("", None)
        bad = [(i + 2, v) for i, v in values.items() if v is not None and not _is_number(v)]
        if bad:
            raise ValueError(f"{_DEFINED_DOSES_FILE}: column {column}: not a number at "
                             f"(line, value) {bad[:5]}")
        table[column] = pd.to_numeric(values).astype(float)
    for column in ("strengths", "note"):
        table[column] = table[column].replace("", None)
    return table


def load_defined_doses() -> pd.DataFrame:
    """Defined doses for the dose-based indicators (a copy; read once per process).

    Columns :data:`DEFINED_DOSE_COLUMNS`: ``measure`` is ``ddd`` (WHO ATC/DDD: ``dose`` in
    ``dose_unit`` is one defined daily dose) or ``ome`` (``dose`` is mg of oral morphine per
    1 ``dose_unit`` of the opioid by that ``route``). For transdermal patches ``hours_per_unit``
    is the wear time OpenPrescribing assumes (a patch of S microgram/hour delivers
    S x hours / 1000 mg); ``strengths`` lists the patch strengths a row applies to where one
    chemical's patches differ (blank: all).

    Example usage::

        doses = load_defined_doses()
        doses.query("measure == 'ddd'")[["chemical", "dose", "dose_unit"]]
    """
    return _defined_doses().copy()


def load_acb3_chemicals() -> pd.DataFrame:
    """BNF chemicals with an anticholinergic burden (ACB) score of 3 (a copy).

    Columns :data:`ACB_COLUMNS`: the BNF chemical code and name as ``presentations.csv`` gives
    them, the substance as the ACB list names it, its score (3) and the source id. Systemic
    preparations only (eye drops, creams and anaesthetic injections of these substances are
    not listed). Every chemical here has presentations in :func:`load_presentations`.

    Example usage::

        acb = load_acb3_chemicals()
        codes = load_presentations()
        codes[codes["chemical_code"].isin(acb["chemical_code"])]   # presentations to count
    """
    table = _read_csv(_ACB_FILE, ACB_COLUMNS)
    table["acb_score"] = pd.to_numeric(table["acb_score"]).astype(int)
    return table


def presentations_matching(code_list) -> pd.DataFrame:
    """The presentations of the code list that ``code_list`` counts.

    ``code_list`` is any object with ``matches(bnf_codes: pd.Series) -> boolean Series`` (for
    example an indicator's ``numerator.bnf_codes`` from :mod:`clusterqi.indicators`).

    Example usage::

        from clusterqi.indicators import load_catalogue
        ppi = load_catalogue()["high_dose_ppi_share"]
        presentations_matching(ppi.numerator.bnf_codes)[["bnf_code", "bnf_name"]]
    """
    table = load_presentations()
    hit = code_list.matches(table["bnf_code"])
    mask = pd.Series(hit, index=table.index).astype(bool)
    return table.loc[mask].reset_index(drop=True)
