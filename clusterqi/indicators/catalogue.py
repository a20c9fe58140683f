"""The indicator catalogue: one YAML definition per indicator, validated by one strict model.

Definitions live in ``clusterqi/indicators/definitions/*.yaml`` (see docs/architecture.md,
"Indicator definitions", and the generated page docs/indicators.md). Each file is validated by
:class:`Indicator`; unknown keys are rejected, and every error of every file is collected and
reported together in one :class:`clusterqi.DataError` naming the file and the field.

BNF codes are legacy BNF codes as in PHS "Prescriptions in the Community" files (15 characters:
chapter 2, section 2, paragraph 2, sub-paragraph 1, chemical 2, product 2, strength and
formulation 2, generic equivalent 2). A code list holds prefixes at any of those levels; a prefix
starting with ``~`` excludes (OpenPrescribing style), and exclusions win over inclusions. Where
prefixes cannot say it, a code list may add ``strengths`` (per chemical: above / below / equal to
a strength) and ``forms`` (only presentations of these forms): those are answered from the
package's code list of real presentations (:mod:`clusterqi.indicators.presentations`), for any
15-character code through its generic equivalent.

:func:`load_catalogue` also checks every definition against that code list and refuses, naming
the file, field and value: a code or prefix that matches no listed presentation, a dose measure
(``ddd``, ``ome``, ``adq``) counting a chemical without a defined dose, a strength rule whose
chemical has a listed presentation without a comparable strength, and a promised chemical
(``numerator.chemicals``) that the code list does not name so.

Why one module of this size: the catalogue's pydantic model and its checks against the code list
(codes, forms, strengths, chemicals, doses) are one contract; every rule is next to the field it
checks.

Example usage::

    from clusterqi.indicators import load_catalogue

    catalogue = load_catalogue()
    abx = catalogue["antibacterial_items_per_1000_per_day"]
    abx.kind                                  # "rate"
    abx.numerator.bnf_codes.matches(prescribing["bnf_code"])   # boolean Series
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from clusterqi.errors import DataError

__all__ = [
    "DEFINITIONS_DIR",
    "THEMES",
    "SOURCES",
    "MEASURES",
    "DOSE_MEASURES",
    "StrengthRule",
    "CodeList",
    "Target",
    "Numerator",
    "PopulationDenominator",
    "PrescribingDenominator",
    "AgeRange",
    "Reference",
    "Indicator",
    "load_catalogue",
    "catalogue_markdown",
    "catalogue_hash",
    "check_against_code_list",
]

#: Folder of the shipped definitions.
DEFINITIONS_DIR = Path(__file__).resolve().parent / "definitions"

#: Lengths a legacy BNF prefix may have: chapter, section, paragraph, sub-paragraph, chemical,
#: product, strength/formulation, generic equivalent.
BNF_PREFIX_LENGTHS = (2, 4, 6, 7, 9, 11, 13, 15)
#: Full length of a legacy BNF presentation code.
BNF_CODE_LENGTH = 15
#: Marks an exclusion in a code list.
EXCLUDE_MARK = "~"
#: A population rate's unit ends so (one time base, the NTI convention).
RATE_UNIT_SUFFIX = "per 1,000 patients per day"
#: Population rates are per 1,000 patients per day.
RATE_MULTIPLIER = 1000.0
#: Proportions are percentages.
PROPORTION_MULTIPLIER = 100.0
PROPORTION_UNIT_PREFIX = "% of"
_BNF_PATTERN = re.compile(r"^[0-9]{6}[0-9A-Z]{0,9}$|^[0-9]{2}([0-9]{2})?$")
_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")

#: Themes of the catalogue, in the order reports and the catalogue page show them.
THEMES = (
    "antimicrobials",
    "pain",
    "mental health and sleep",
    "respiratory",
    "cardiovascular",
    "gastrointestinal",
    "safety",
    "low-value prescribing",
)
#: Sources an indicator may follow.
SOURCES = ("NTI", "SAPG", "Scottish polypharmacy guidance", "OpenPrescribing", "NHSBSA")
#: What a numerator or prescribing denominator may count.
MEASURES = ("items", "quantity", "cost", "ddd", "ome", "adq")
#: Measures computed from the presentation's strength and a defined dose
#: (:mod:`clusterqi.indicators.doses`).
DOSE_MEASURES = ("ddd", "ome", "adq")

Measure = Literal["items", "quantity", "cost", "ddd", "ome", "adq"]
Theme = Literal[
    "antimicrobials", "pain", "mental health and sleep", "respiratory", "cardiovascular",
    "gastrointestinal", "safety", "low-value prescribing",
]
Source = Literal["NTI", "SAPG", "Scottish polypharmacy guidance", "OpenPrescribing", "NHSBSA"]
_CHEMICAL_PATTERN = re.compile(r"^[0-9]{6}[0-9A-Z]{3}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StrengthRule(_Strict):
    """Which strengths of one chemical count: above, below and / or equal to a strength.

    The strength is that of the presentation (per tablet, capsule, patch, dose or ml) in the
    package's code list, through the generic equivalent; it is compared in ``unit`` (masses
    convert: 0.5 g is 500 mg). Presentations of other chemicals are not affected.

    Example usage::

        StrengthRule(chemical="0103050L0", above=15, unit="mg")   # lansoprazole above 15 mg
    """

    chemical: str = Field(pattern=_CHEMICAL_PATTERN.pattern)
    unit: str = Field(min_length=1)
    above: float | None = None
    below: float | None = None
    equals: float | None = None

    @model_validator(mode="after")
    def _has_bound(self) -> StrengthRule:
        if self.above is None and self.below is None and self.equals is None:
            raise ValueError(f"strength rule for {self.chemical} needs above, below or equals")
        return self

    def admits(self, strength: float) -> bool:
        """True when ``strength`` (in :attr:`unit`) passes every bound given."""
        tolerance = 1e-9 * max(1.0, abs(strength))
        if self.above is not None and not strength > self.above + tolerance:
            return False
        if self.below is not None and not strength < self.below - tolerance:
            return False
        if self.equals is not None and abs(strength - self.equals) > tolerance:
            return False
        return True

    def describe(self) -> str:
        """``"above 15 mg"``, ``"equal to 10 mg"`` ..."""
        parts = []
        for word, bound in (("above", self.above), ("below", self.below),
                            ("equal to", self.equals)):
            if bound is not None:
                parts.append(f"{word} {bound:g} {self.unit}")
        return " and ".join(parts)


class CodeList(_Strict):
    """BNF code prefixes with ``~`` exclusions, optional strength rules and form filter.

    Constraints: each entry is a legacy BNF prefix of 2, 4, 6, 7, 9, 11, 13 or 15 characters
    (digits for chapter, section and paragraph; digits or capitals after), optionally preceded
    by ``~``; at least one inclusion; no duplicates. ``strengths`` rules (one chemical each,
    at most one rule a chemical) and ``forms`` are answered from the package's code list for
    any 15-character code through its generic equivalent; a code the code list does not know
    cannot pass a rule and is not counted (counts report it).

    A YAML code list is either a plain list of codes or a mapping with ``codes`` and,
    optionally, ``strengths`` and ``forms``.

    Example usage::

        codes = CodeList(codes=("0501", "~050109"))
        codes.matches(pd.Series(["0501013B0AAABAB", "0501090K0AAAAAA"]))  # True, False
        ppi = CodeList(codes=("0103050L0",), strengths=[{"chemical": "0103050L0",
                                                          "above": 15, "unit": "mg"}])
        ppi.matches_code("0103050L0AAAAAA")   # False: lansoprazole 15 mg capsules
    """

    codes: tuple[str, ...] = Field(min_length=1)
    strengths: tuple[StrengthRule, ...] = ()
    forms: tuple[str, ...] = ()

    @field_validator("codes")
    @classmethod
    def _check_codes(cls, codes: tuple[str, ...]) -> tuple[str, ...]:
        problems = []
        for i, raw in enumerate(codes):
            prefix = raw[1:] if raw.startswith(EXCLUDE_MARK) else raw
            if len(prefix) not in BNF_PREFIX_LENGTHS or not _BNF_PATTERN.match(prefix):
                problems.append(
                    f"[{i}] {raw!r} is not a legacy BNF code prefix (expected 2, 4, 6, 7, 9, 11, "
                    "13 or 15 characters: digits for chapter/section/paragraph, then digits or "
                    "capital letters; '~' in front to exclude)"
                )
        if len(set(codes)) != len(codes):
            dupes = sorted({c for c in codes if codes.count(c) > 1})
            problems.append(f"duplicate codes {dupes}")
        if not any(not c.startswith(EXCLUDE_MARK) for c in codes):
            problems.append("no inclusion: at least one code without '~' is needed")
        if problems:
            raise ValueError("; ".join(problems))
        return codes

    @model_validator(mode="after")
    def _rules_fit(self) -> CodeList:
        chemicals = [rule.chemical for rule in self.strengths]
        dupes = sorted({c for c in chemicals if chemicals.count(c) > 1})
        if dupes:
            raise ValueError(f"more than one strength rule for chemical(s) {dupes}")
        for rule in self.strengths:
            if not (rule.chemical.startswith(self.include)
                    or any(c.startswith(rule.chemical) for c in self.include)):
                raise ValueError(
                    f"strength rule for chemical {rule.chemical!r} is outside the codes "
                    f"{list(self.include)}"
                )
        if len(set(self.forms)) != len(self.forms):
            raise ValueError(f"duplicate forms {list(self.forms)}")
        return self

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return {"codes": tuple(value)}
        return value

    @property
    def include(self) -> tuple[str, ...]:
        """The inclusion prefixes."""
        return tuple(c for c in self.codes if not c.startswith(EXCLUDE_MARK))

    @property
    def exclude(self) -> tuple[str, ...]:
        """The exclusion prefixes (without the ``~``)."""
        return tuple(c[1:] for c in self.codes if c.startswith(EXCLUDE_MARK))

    @property
    def has_rules(self) -> bool:
        """True when membership needs the code list (strength rules or forms)."""
        return bool(self.strengths or self.forms)

    def _prefix_match(self, bnf_code: str) -> bool:
        return bnf_code.startswith(self.include) and not (
            self.exclude and bnf_code.startswith(self.exclude)
        )

    def needs_lookup(self, bnf_code: str) -> bool:
        """True when a prefix-matching code's membership depends on the code list."""
        if not self._prefix_match(bnf_code):
            return False
        return bool(self.forms) or any(
            bnf_code.startswith(rule.chemical) for rule in self.strengths
        )

    def matches_code(self, bnf_code: str, index=None) -> bool:
        """True when one BNF code is counted (prefixes, exclusions, then the rules).

        ``index``: a :class:`clusterqi.indicators.presentations.PresentationIndex` (default: the
        package's code list), consulted only when a rule applies to the code.
        """
        if not self._prefix_match(bnf_code):
            return False
        if not self.needs_lookup(bnf_code):
            return True
        from clusterqi.indicators.presentations import default_index

        found = (index or default_index()).get(bnf_code)
        if found is None:
            return False
        if self.forms and found.form not in self.forms:
            return False
        for rule in self.strengths:
            if bnf_code.startswith(rule.chemical):
                strength = found.strength_in(rule.unit)
                return strength is not None and rule.admits(strength)
        return True

    def matches(self, bnf_codes: pd.Series, index=None) -> pd.Series:
        """True where a BNF code is counted; the same test as :meth:`matches_code`, by row."""
        codes = bnf_codes.astype("str")
        hit = codes.str.startswith(self.include)
        if self.exclude:
            hit = hit & ~codes.str.startswith(self.exclude)
        hit = hit.fillna(False).astype(bool)
        if self.has_rules and hit.any():
            distinct = pd.unique(codes[hit])
            answer = {code: self.matches_code(code, index) for code in distinct}
            hit = hit & codes.map(answer).fillna(False).astype(bool)
        return hit


class Numerator(_Strict):
    """What is counted: ``items``, ``quantity``, ``cost`` (GrossIngredientCost) or a dose
    measure (``ddd``, ``ome``, ``adq``) of a code list.

    ``chemicals`` lists the chemicals the indicator's title promises (9-character chemical code
    -> name as the code list names it): the catalogue tests check that every presentation the
    numerator counts belongs to one of them and that each of them is counted.
    """

    measure: Measure
    bnf_codes: CodeList
    chemicals: dict[str, str] = Field(default_factory=dict)

    @field_validator("chemicals")
    @classmethod
    def _chemical_codes(cls, chemicals: dict[str, str]) -> dict[str, str]:
        bad = [code for code in chemicals if not _CHEMICAL_PATTERN.match(code)]
        if bad:
            raise ValueError(f"{bad} are not 9-character BNF chemical codes")
        return chemicals


class AgeRange(_Strict):
    """Patients in an age range (inclusive, whole years); None means open-ended."""

    age_min: Annotated[int, Field(ge=0, le=120)] | None = None
    age_max: Annotated[int, Field(ge=0, le=120)] | None = None

    @model_validator(mode="after")
    def _ordered(self) -> AgeRange:
        if self.age_min is not None and self.age_max is not None and self.age_max < self.age_min:
            raise ValueError(f"age_max {self.age_max} is below age_min {self.age_min}")
        return self


class PopulationDenominator(_Strict):
    """Registered patients (optionally an age range); ``per_day`` makes it patient-days."""

    population: AgeRange
    per_day: StrictBool = False


class PrescribingDenominator(_Strict):
    """Prescribing of a (wider) code list: the indicator is then a proportion."""

    measure: Measure
    bnf_codes: CodeList


def _denominator_tag(value: Any) -> str:
    if isinstance(value, Mapping):
        return "population" if "population" in value else "prescribing"
    return "population" if isinstance(value, PopulationDenominator) else "prescribing"


Denominator = Annotated[
    Annotated[PopulationDenominator, Tag("population")]
    | Annotated[PrescribingDenominator, Tag("prescribing")],
    Discriminator(_denominator_tag),
]


class Reference(_Strict):
    """A source: title and URL (where the code list or the rationale comes from)."""

    title: str = Field(min_length=1)
    url: str = Field(pattern=r"^https?://\S+$")


class Target(_Strict):
    """A published national target, in the indicator's own units, with where it is published."""

    value: float
    source: str = Field(min_length=1)
    url: str = Field(pattern=r"^https?://\S+$")


class Indicator(_Strict):
    """One validated indicator definition (frozen).

    ``kind`` is "proportion" when the denominator is prescribing (Wilson intervals, proportion
    funnel), "rate" when it is a population (Byar's / exact Poisson, ratio funnel). Both get the
    ratio-to-Scotland Laney chart (:mod:`clusterqi.indicators.series`), which divides out
    national seasons, so ``seasonal`` (true for antibacterials and 4C) documents the indicator
    and shapes the synthetic world; it does not change the chart.

    Example usage::

        ind = load_catalogue()["antibiotics_4c_share"]
        ind.kind, ind.multiplier, ind.low_is_good   # ("proportion", 100.0, True)
    """

    id: str = Field(pattern=_ID_PATTERN.pattern)
    title: str = Field(min_length=1)
    theme: Theme
    sources: tuple[Source, ...] = Field(min_length=1)
    description: str = Field(min_length=1)
    why_it_matters: str = Field(min_length=1)
    numerator: Numerator
    denominator: Denominator
    multiplier: float = Field(gt=0)
    unit: str = Field(min_length=1)
    low_is_good: StrictBool | None
    ci_method: Literal["wilson", "byars"]
    target: Target | None = None
    seasonal: StrictBool = False
    change_ideas: tuple[str, ...] = Field(min_length=1)
    references: tuple[Reference, ...] = Field(min_length=1)
    authored_by: str = Field(min_length=1)
    checked_by: str = Field(min_length=1)
    date_reviewed: dt.date
    next_review: dt.date

    @field_validator("date_reviewed", "next_review", mode="before")
    @classmethod
    def _real_date(cls, value: Any) -> Any:
        if isinstance(value, dt.datetime):
            raise ValueError(f"{value!r} has a time; expected a date YYYY-MM-DD")
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                raise ValueError(f"{value!r} is not a date; expected YYYY-MM-DD") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Indicator:
        problems = []
        if self.next_review <= self.date_reviewed:
            problems.append(
                f"next_review {self.next_review} is not after date_reviewed {self.date_reviewed}"
            )
        expected = "wilson" if self.kind == "proportion" else "byars"
        if self.ci_method != expected:
            problems.append(
                f"ci_method {self.ci_method!r} does not fit a {self.kind}; expected {expected!r}"
            )
        if self.kind == "rate":
            if not self.denominator.per_day:
                problems.append(
                    "denominator per_day false: population rates are per patient-day (one time "
                    "base: per 1,000 patients per day); expected per_day: true"
                )
            if self.multiplier != RATE_MULTIPLIER:
                problems.append(
                    f"multiplier {self.multiplier:g}: population rates are per 1,000 patients "
                    f"per day; expected {RATE_MULTIPLIER:g}"
                )
            if not self.unit.endswith(RATE_UNIT_SUFFIX):
                problems.append(f"unit {self.unit!r} does not end with {RATE_UNIT_SUFFIX!r}")
        else:
            if self.multiplier != PROPORTION_MULTIPLIER:
                problems.append(
                    f"multiplier {self.multiplier:g}: a proportion is a percentage; expected "
                    f"{PROPORTION_MULTIPLIER:g}"
                )
            if not self.unit.startswith(PROPORTION_UNIT_PREFIX):
                problems.append(
                    f"unit {self.unit!r}: a proportion's unit starts with "
                    f"{PROPORTION_UNIT_PREFIX!r}"
                )
            if self.numerator.measure in DOSE_MEASURES or self.denominator.measure in DOSE_MEASURES:
                problems.append(
                    f"numerator.measure {self.numerator.measure!r}: dose measures need a "
                    "population denominator (a rate per 1,000 patients per day)"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def kind(self) -> Literal["proportion", "rate"]:
        """"proportion" (prescribing denominator) or "rate" (population denominator)."""
        return "rate" if isinstance(self.denominator, PopulationDenominator) else "proportion"

    @property
    def dose_based(self) -> bool:
        """True when the numerator is a dose measure (DDD, OME or ADQ)."""
        return self.numerator.measure in DOSE_MEASURES

    def code_lists(self) -> tuple[CodeList, ...]:
        """The numerator's code list, and the denominator's when it is prescribing."""
        if isinstance(self.denominator, PrescribingDenominator):
            return (self.numerator.bnf_codes, self.denominator.bnf_codes)
        return (self.numerator.bnf_codes,)


# --- loading --------------------------------------------------------------------------------


class _DefinitionLoader(yaml.SafeLoader):
    """YAML loader that leaves dates as text, so the model (not PyYAML) reports a bad date
    with its file and field."""


_DefinitionLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _definition_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix in {".yaml", ".yml"} and p.is_file())


def _loc(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item in {"population", "prescribing"} and parts and parts[-1] == "denominator":
            continue  # the union tag, not a field the author wrote
        elif item in {"codes"} and parts and parts[-1].endswith("bnf_codes"):
            continue
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(file)"


def _errors_for(path: Path, exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors():
        field = _loc(err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if field == "(file)" and msg.split(" ", 1)[0] in Indicator.model_fields:
            field = msg.split(" ", 1)[0]  # a check across fields names its first field
        got = ""
        if err["type"] not in {"missing", "value_error"} and "input" in err:
            value = err["input"]
            if not isinstance(value, (dict, list)):
                got = f" (got {value!r})"
        out.append(f"{path.name}: field {field}: {msg}{got}")
    return out


#: Definitions already parsed, by (path, modification time, size): a batch worker builds a report
#: a few seconds apart and re-parsing 8 YAML files each time cost ~0.1 s. Indicators are frozen.
_PARSED: dict[tuple[str, int, int], Indicator] = {}


#: Code-list checks already made: (path, index identity) -> (indicator checked, problems).
_CHECKED: dict[tuple[Path, int], tuple[Indicator, list[str]]] = {}


def _load_one(path: Path) -> tuple[Indicator | None, list[str]]:
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if key in _PARSED:
        return _PARSED[key], []
    indicator, problems = _parse_one(path)
    if indicator is not None:
        _PARSED[key] = indicator
    return indicator, problems


def _parse_one(path: Path) -> tuple[Indicator | None, list[str]]:
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_DefinitionLoader)  # noqa: S506
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        return None, [f"{path.name}: not valid YAML: {exc}".replace("\n", " ")]
    if not isinstance(raw, dict):
        return None, [f"{path.name}: expected a mapping of fields, got {type(raw).__name__}"]
    try:
        indicator = Indicator.model_validate(raw)
    except ValidationError as exc:
        return None, _errors_for(path, exc)
    if indicator.id != path.stem:
        return None, [f"{path.name}: field id: {indicator.id!r} must equal the file name "
                      f"{path.stem!r}"]
    return indicator, []


def _code_list_problems(field: str, codes: CodeList, index) -> list[str]:
    problems = []
    for i, raw in enumerate(codes.codes):
        prefix = raw.removeprefix(EXCLUDE_MARK)
        if not index.codes_with_prefix(prefix):
            problems.append(f"field {field}.codes[{i}]: {raw!r} matches no presentation in the "
                            "code list (clusterqi/data/codelist/presentations.csv)")
    listed = {p.form for p in (index.get(c) for c in index.codes) if p is not None}
    for i, form in enumerate(codes.forms):
        if form not in listed:
            problems.append(f"field {field}.forms[{i}]: {form!r} is the form of no presentation "
                            f"in the code list; forms there are {sorted(f for f in listed if f)}")
    for i, rule in enumerate(codes.strengths):
        members = [index.get(c) for c in index.codes_with_prefix(rule.chemical)
                   if codes._prefix_match(c)]
        members = [p for p in members if not codes.forms or p.form in codes.forms]
        if not members:
            problems.append(f"field {field}.strengths[{i}]: chemical {rule.chemical!r} has no "
                            "presentation in the code list to apply the rule to")
        for member in members:
            if member.strength_in(rule.unit) is None:
                problems.append(
                    f"field {field}.strengths[{i}]: cannot be evaluated for {member.bnf_code} "
                    f"({member.bnf_name!r}): its strength {member.strength!r} "
                    f"{member.strength_unit!r} is not comparable with {rule.unit!r}"
                )
    return problems


def check_against_code_list(indicator: Indicator, index=None, doses=None) -> list[str]:
    """Problems of one definition against the code list (empty when it passes).

    Each problem names the field and the value: a code or prefix that matches no listed
    presentation, a form no presentation has, a strength rule that cannot be evaluated, a dose
    measure counting a chemical without a defined dose, a promised chemical the code list does
    not list (or names differently).

    ``index``: a :class:`clusterqi.indicators.presentations.PresentationIndex` (default: the
    package's); ``doses``: a :class:`clusterqi.indicators.doses.DefinedDoses` (default: the
    package's table).

    Example usage::

        check_against_code_list(load_catalogue()["high_dose_ppi_share"])   # []
    """
    from clusterqi.indicators.presentations import default_index

    index = index or default_index()
    problems = _code_list_problems("numerator.bnf_codes", indicator.numerator.bnf_codes, index)
    if isinstance(indicator.denominator, PrescribingDenominator):
        problems += _code_list_problems(
            "denominator.bnf_codes", indicator.denominator.bnf_codes, index
        )
    numerator = indicator.numerator
    counted = [c for c in index.codes if numerator.bnf_codes.matches_code(c, index)]
    if numerator.measure in DOSE_MEASURES:
        from clusterqi.indicators.doses import default_doses

        try:
            doses = doses or default_doses()
        except FileNotFoundError as exc:
            return problems + [f"field numerator.measure: {numerator.measure!r} needs the defined "
                               f"dose table, which cannot be read ({exc})"]
        missing = sorted({index.get(c).chemical_code for c in counted}
                         - set(doses.chemicals(numerator.measure)))
        for chemical in missing:
            problems.append(
                f"field numerator.measure: {numerator.measure!r} but chemical {chemical} "
                f"({index.chemicals().get(chemical, '?')}) has no defined dose for it in "
                "clusterqi/data/codelist/defined_doses.csv"
            )
    names = index.chemicals()
    for code, name in numerator.chemicals.items():
        if code not in names:
            problems.append(f"field numerator.chemicals.{code}: {name!r} is not a chemical of "
                            "the code list")
        elif names[code].casefold() != name.casefold():
            problems.append(f"field numerator.chemicals.{code}: named {name!r}, but the code "
                            f"list names it {names[code]!r}")
    return problems


def load_catalogue(folder: str | Path | None = None, index=None) -> dict[str, Indicator]:
    """Load and validate every ``*.yaml`` definition in ``folder`` (default: the shipped ones).

    Returns a dict from indicator id to :class:`Indicator`, in file-name order. Every definition
    is also checked against the code list (:func:`check_against_code_list`; ``index`` replaces
    the package's code list). Raises one :class:`clusterqi.DataError` listing every problem of
    every file (file name and field).

    Example usage::

        catalogue = load_catalogue()                      # shipped catalogue
        local = load_catalogue("my_indicators/")          # a folder of YAML files
    """
    root = DEFINITIONS_DIR if folder is None else Path(folder)
    if not root.is_dir():
        raise DataError(f"indicator definitions folder {str(root)!r} does not exist")
    files = _definition_files(root)
    if not files:
        raise DataError(f"indicator definitions folder {str(root)!r} holds no .yaml files")
    catalogue: dict[str, Indicator] = {}
    errors: list[str] = []
    for path in files:
        indicator, problems = _load_one(path)
        errors.extend(problems)
        if indicator is not None:
            checked = _CHECKED.get((path.resolve(), id(index)))
            if checked is None or checked[0] is not indicator:
                checked = (indicator, check_against_code_list(indicator, index))
                _CHECKED[(path.resolve(), id(index))] = checked
            errors.extend(f"{path.name}: {problem}" for problem in checked[1])
            catalogue[indicator.id] = indicator
    if errors:
        raise DataError(
            f"{len(errors)} problem(s) in the indicator definitions in {root.name}/:\n  "
            + "\n  ".join(errors)
        )
    return catalogue


def catalogue_hash(source: str | Path | Mapping[str, Indicator] | None = None) -> str:
    """A stable SHA-256 (hex) of a catalogue, for report provenance.

    ``source`` None (the shipped definitions) or a folder: the hash of the definition files'
    names and bytes, in name order. A loaded catalogue mapping: the hash of its validated
    content (canonical JSON), so it is independent of comments and layout.

    Example usage::

        manifest["catalogue_sha256"] = catalogue_hash()
    """
    digest = hashlib.sha256()
    if isinstance(source, Mapping):
        for key in sorted(source):
            digest.update(key.encode())
            digest.update(
                json.dumps(source[key].model_dump(mode="json"), sort_keys=True).encode()
            )
        return digest.hexdigest()
    root = DEFINITIONS_DIR if source is None else Path(source)
    for path in _definition_files(root):
        digest.update(path.name.encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


# --- the catalogue page -----------------------------------------------------------------------

_DIRECTION = {True: "lower is better", False: "higher is better", None: "no judgement"}


def _describe_codes(codes: CodeList) -> str:
    text = ", ".join(f"`{c}`" for c in codes.codes)
    if codes.forms:
        text += "; forms: " + ", ".join(codes.forms)
    for rule in codes.strengths:
        text += f"; `{rule.chemical}` only {rule.describe()}"
    return text


def _describe_denominator(ind: Indicator) -> str:
    den = ind.denominator
    if isinstance(den, PopulationDenominator):
        lo, hi = den.population.age_min, den.population.age_max
        who = "registered patients"
        if lo is not None and hi is not None:
            who += f" aged {lo}-{hi}"
        elif lo is not None:
            who += f" aged {lo}+"
        elif hi is not None:
            who += f" aged up to {hi}"
        return who + (" x days in the period (patient-days)" if den.per_day else "")
    return f"{den.measure} of: " + _describe_codes(den.bnf_codes)


_MEASURE_WORDS = {
    "items": "items", "quantity": "quantity", "cost": "cost (£, gross ingredient cost)",
    "ddd": "defined daily doses (DDD)", "ome": "oral morphine equivalent (mg)",
    "adq": "average daily quantities (ADQ)",
}


def catalogue_markdown(catalogue: Mapping[str, Indicator]) -> str:
    """The Markdown catalogue page (docs/indicators.md is this, for the shipped catalogue),
    grouped by theme in :data:`THEMES` order.

    Example usage::

        Path("docs/indicators.md").write_text(catalogue_markdown(load_catalogue()))
    """
    by_theme = {theme: [i for i in catalogue.values() if i.theme == theme] for theme in THEMES}
    lines = [
        "# Indicator catalogue",
        "",
        "Generated by `clusterqi indicators --markdown` from "
        "`clusterqi/indicators/definitions/`; do not edit by hand.",
        "",
        f"{len(catalogue)} indicators in {sum(1 for v in by_theme.values() if v)} themes. "
        "Population rates are per 1,000 patients per day (patient-days: the NTI convention, so a "
        "month and a 12-month total read on the same scale); proportions are percentages. Every "
        "BNF code is checked against the package's code list of real presentations "
        "(`clusterqi/data/codelist/`); strength and form rules are answered from it for any "
        "15-character code through its generic equivalent.",
        "",
        "**Dose-based and cost indicators.** A numerator in DDDs, ADQs or oral morphine "
        "equivalents is quantity x strength (read from PHS's `BNFItemDescription`) / the defined "
        "dose; a presentation whose strength cannot be read is counted nowhere and listed as a "
        "data-quality finding (`attrs[\"dose_findings\"]`), never guessed. Without descriptions in "
        "the data these indicators cannot be computed and say so. The indicator table carries the "
        "items behind every numerator (`numerator_items`): intervals, funnels and disclosure "
        "control of a dose-based or cost indicator work on that item count (the interval is the "
        "value x limit(items) / items), and a count of 1-4 items is suppressed whatever its DDDs, "
        "OMEs or cost.",
        "",
        "| theme | id | title | unit | direction | kind | seasonal | measure |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for theme, indicators in by_theme.items():
        for ind in indicators:
            lines.append(
                f"| {theme} | `{ind.id}` | {ind.title} | {ind.unit} | "
                f"{_DIRECTION[ind.low_is_good]} | {ind.kind} | "
                f"{'yes' if ind.seasonal else 'no'} | {ind.numerator.measure} |"
            )
    for theme, indicators in by_theme.items():
        if not indicators:
            continue
        lines += ["", f"## {theme[0].upper()}{theme[1:]}"]
        for ind in indicators:
            target = (
                f"{ind.target.value:g} {ind.unit} ([{ind.target.source}]({ind.target.url}))"
                if ind.target else "none found in a public source"
            )
            basis = (
                "dose-based (" + _MEASURE_WORDS[ind.numerator.measure] + ")" if ind.dose_based
                else _MEASURE_WORDS[ind.numerator.measure]
            )
            lines += [
                "",
                f"### {ind.title}",
                "",
                f"`{ind.id}`: {ind.description}",
                "",
                f"**Why it matters.** {ind.why_it_matters}",
                "",
                f"- Sources: {', '.join(ind.sources)}",
                f"- Numerator: {basis} of " + _describe_codes(ind.numerator.bnf_codes),
                "- Chemicals counted: " + (", ".join(
                    f"{name} (`{code}`)" for code, name in ind.numerator.chemicals.items())
                    or "not listed"),
                f"- Denominator: {_describe_denominator(ind)}",
                f"- Value: numerator / denominator x {ind.multiplier:g} ({ind.unit}); "
                f"{_DIRECTION[ind.low_is_good]}; {ind.kind}, intervals by {ind.ci_method}"
                + (" on the items behind the numerator" if ind.kind == "rate"
                   and ind.numerator.measure != "items" else ""),
                f"- Seasonal: {'yes' if ind.seasonal else 'no'}",
                f"- National target: {target}",
                f"- Checked: {ind.checked_by}",
                f"- Authored by {ind.authored_by}; reviewed {ind.date_reviewed.isoformat()}, "
                f"next review {ind.next_review.isoformat()}",
                "",
                "**Change ideas for a cluster.**",
                "",
            ]
            lines += [f"- {idea}" for idea in ind.change_ideas]
            lines += ["", "**References.**", ""]
            lines += [f"- [{ref.title}]({ref.url})" for ref in ind.references]
    return "\n".join(lines) + "\n"
