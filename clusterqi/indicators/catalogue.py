"""The indicator catalogue: one YAML definition per indicator, validated by one strict model.

Definitions live in ``clusterqi/indicators/definitions/*.yaml`` (see docs/architecture.md,
"Indicator definitions", and the generated page docs/indicators.md). Each file is validated by
:class:`Indicator`; unknown keys are rejected, and every error of every file is collected and
reported together in one :class:`clusterqi.DataError` naming the file and the field.

BNF codes are legacy BNF codes as in PHS "Prescriptions in the Community" files (15 characters:
chapter 2, section 2, paragraph 2, sub-paragraph 1, chemical 2, product 2, strength and
formulation 2, generic equivalent 2). A code list holds prefixes at any of those levels; a prefix
starting with ``~`` excludes (OpenPrescribing style), and exclusions win over inclusions.

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
    "CodeList",
    "Numerator",
    "PopulationDenominator",
    "PrescribingDenominator",
    "AgeRange",
    "Reference",
    "Indicator",
    "load_catalogue",
    "catalogue_markdown",
    "catalogue_hash",
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
_BNF_PATTERN = re.compile(r"^[0-9]{6}[0-9A-Z]{0,9}$|^[0-9]{2}([0-9]{2})?$")
_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")

Measure = Literal["items", "quantity", "cost"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CodeList(_Strict):
    """A list of BNF code prefixes with ``~`` exclusions; matches prescribing rows by prefix.

    Constraints: each entry is a legacy BNF prefix of 2, 4, 6, 7, 9, 11, 13 or 15 characters
    (digits for chapter, section and paragraph; digits or capitals after), optionally preceded
    by ``~``; at least one inclusion; no duplicates.

    Example usage::

        codes = CodeList(codes=("0501", "~050109"))
        codes.matches(pd.Series(["0501013B0AAABAB", "0501090K0AAAAAA"]))  # True, False
    """

    codes: tuple[str, ...] = Field(min_length=1)

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

    def matches(self, bnf_codes: pd.Series) -> pd.Series:
        """True where a BNF code starts with an inclusion and with no exclusion."""
        codes = bnf_codes.astype("str")
        hit = codes.str.startswith(self.include)
        if self.exclude:
            hit = hit & ~codes.str.startswith(self.exclude)
        return hit.fillna(False).astype(bool)

    def matches_code(self, bnf_code: str) -> bool:
        """The same test for one code."""
        return bnf_code.startswith(self.include) and not (
            self.exclude and bnf_code.startswith(self.exclude)
        )


class Numerator(_Strict):
    """What is counted: ``items``, ``quantity`` or ``cost`` (GrossIngredientCost) of a code list."""

    measure: Measure
    bnf_codes: CodeList


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


class Indicator(_Strict):
    """One validated indicator definition (frozen).

    ``kind`` is "proportion" when the denominator is prescribing (Wilson intervals, p chart),
    "rate" when it is a population (Byar's / exact Poisson, u chart).

    Example usage::

        ind = load_catalogue()["antibiotics_4c_share"]
        ind.kind, ind.multiplier, ind.low_is_good   # ("proportion", 100.0, True)
    """

    id: str = Field(pattern=_ID_PATTERN.pattern)
    title: str = Field(min_length=1)
    description: str = Field(min_length=1)
    why_it_matters: str = Field(min_length=1)
    numerator: Numerator
    denominator: Denominator
    multiplier: float = Field(gt=0)
    unit: str = Field(min_length=1)
    low_is_good: StrictBool | None
    ci_method: Literal["wilson", "byars"]
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
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def kind(self) -> Literal["proportion", "rate"]:
        """"proportion" (prescribing denominator) or "rate" (population denominator)."""
        return "rate" if isinstance(self.denominator, PopulationDenominator) else "proportion"

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


def load_catalogue(folder: str | Path | None = None) -> dict[str, Indicator]:
    """Load and validate every ``*.yaml`` definition in ``folder`` (default: the shipped ones).

    Returns a dict from indicator id to :class:`Indicator`, in file-name order. Raises one
    :class:`clusterqi.DataError` listing every problem of every file (file name and field).

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
    return f"{den.measure} of: " + ", ".join(f"`{c}`" for c in den.bnf_codes.codes)


def catalogue_markdown(catalogue: Mapping[str, Indicator]) -> str:
    """The Markdown catalogue page (docs/indicators.md is this, for the shipped catalogue).

    Example usage::

        Path("docs/indicators.md").write_text(catalogue_markdown(load_catalogue()))
    """
    lines = [
        "# Indicator catalogue",
        "",
        "Generated by `clusterqi indicators --markdown` from "
        "`clusterqi/indicators/definitions/`; do not edit by hand.",
        "",
        "| id | title | unit | direction | kind |",
        "|---|---|---|---|---|",
    ]
    for ind in catalogue.values():
        lines.append(
            f"| `{ind.id}` | {ind.title} | {ind.unit} | {_DIRECTION[ind.low_is_good]} | "
            f"{ind.kind} |"
        )
    for ind in catalogue.values():
        lines += [
            "",
            f"## {ind.title}",
            "",
            f"`{ind.id}`: {ind.description}",
            "",
            f"**Why it matters.** {ind.why_it_matters}",
            "",
            f"- Numerator: {ind.numerator.measure} of "
            + ", ".join(f"`{c}`" for c in ind.numerator.bnf_codes.codes),
            f"- Denominator: {_describe_denominator(ind)}",
            f"- Value: numerator / denominator x {ind.multiplier:g} ({ind.unit}); "
            f"{_DIRECTION[ind.low_is_good]}; {ind.kind}, intervals by {ind.ci_method}",
            f"- Authored by {ind.authored_by}; checked by {ind.checked_by}; reviewed "
            f"{ind.date_reviewed.isoformat()}, next review {ind.next_review.isoformat()}",
            "",
            "**Change ideas for a cluster.**",
            "",
        ]
        lines += [f"- {idea}" for idea in ind.change_ideas]
        lines += ["", "**References.**", ""]
        lines += [f"- [{ref.title}]({ref.url})" for ref in ind.references]
    return "\n".join(lines) + "\n"
