"""Local QI measures: a cluster's own improvement data, calculated like any indicator.

A local measure is two files side by side (templates in ``parameters/local_measures/``):

- a CSV with columns ``period`` (``YYYY-MM``), ``practice_code`` (5 digits), ``numerator``,
  ``denominator`` and optionally ``sex`` (Male / Female / All) and ``age_band``; one row per
  period x practice (x sex x age band);
- a YAML describing it: ``id`` (optional, default the file name), ``title``, ``description``,
  ``unit``, ``multiplier``, ``low_is_good`` (true / false / null), ``kind`` (proportion | rate,
  default proportion), ``data`` (the CSV, relative to the YAML; default ``<name>.csv``),
  ``change_ideas``, ``pdsa``: a list of ``{date, change}``, the PDSA changes to annotate on
  run charts, and optionally ``baseline: {start: YYYY-MM, end: YYYY-MM}``, the months whose
  limits later months are judged against (default: the months before the first PDSA change).

Validation is strict (pydantic, unknown keys rejected) and every problem is reported at once,
naming the file, row, column and value and what was expected.

:func:`calculate_local_measure` returns rows shaped like the indicator table (same columns):
levels practice and cluster, one month row per period, values with Wilson (proportion) or
Byar's / exact Poisson (rate) intervals, the cluster-excluding-the-practice comparator, and the
Laney p' / u' chart and Anhøj run columns ready for annotated charts; the PDSA changes are in
``attrs["pdsa"]``. Rows with sex or age band are summed to practice-month (crude values).

Baseline and phases, the way improvers read a QI chart (qicharts2 ``freeze`` / ``part``,
NHSRplotthedots ``rebase``; Provost & Murray, *The Health Care Data Guide*, ch. 6): the centre
line and limits come from the baseline months (the stated ``baseline``, else the months before
the first PDSA date), and later months are judged against them, so the months before a change
are not flagged for being below an average that includes the improvement. When, after a PDSA
change, :data:`SUSTAINED_SHIFT` (7) or more months in a row fall on one side of the centre line
(a shift), the change has held: a new phase starts at the first month of that run with its own
centre line and limits, and later PDSA changes are judged against the new phase the same way.
``spc_phase`` numbers the phases; ``attrs["phases"]`` lists each new phase (unit, first month,
the PDSA change it follows, the new and previous centre lines) and ``attrs["baseline"]`` the
baseline months.

Why one module of this size: a local QI measure is one feature end to end (its YAML model, its CSV
checks, its calculation and its PDSA phases), used only through two functions.

Example usage::

    from clusterqi.indicators import load_local_measure, calculate_local_measure
    measure = load_local_measure("parameters/local_measures/hospital_letters.yaml")
    rows = calculate_local_measure(measure, dataset)          # or dataset.practices
    rows.attrs["pdsa"]     # [{"date": "2025-03-03", "period": "2025-03", "change": "..."}]
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError

from clusterqi import vocabulary
from clusterqi.errors import DataError
from clusterqi.indicators.calculate import TABLE_COLUMNS, add_values
from clusterqi.indicators.comparisons import add_comparisons
from clusterqi.indicators.levels import aggregate_levels, practice_attributes
from clusterqi.indicators.series import add_spc
from clusterqi.stats.spc import SHIFT_LENGTH

__all__ = [
    "LOCAL_MEASURE_COLUMNS",
    "OPTIONAL_COLUMNS",
    "MAX_REPORTED_ERRORS",
    "SUSTAINED_SHIFT",
    "PdsaChange",
    "BaselinePeriod",
    "LocalMeasureSpec",
    "LocalMeasure",
    "load_local_measure",
    "calculate_local_measure",
]

#: Required CSV columns, in order.
LOCAL_MEASURE_COLUMNS = ["period", "practice_code", "numerator", "denominator"]
#: Optional CSV columns (for standardisation by sex and age).
OPTIONAL_COLUMNS = ["sex", "age_band"]
#: At most this many CSV problems are listed in one error.
MAX_REPORTED_ERRORS = 20
#: Months in a row on one side of the centre line after a PDSA change that start a new phase
#: (the "Making Data Count" shift rule).
SUSTAINED_SHIFT = SHIFT_LENGTH
_MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"
_SEXES = {"Male", "Female", "All"}
_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_PRACTICE = re.compile(r"^\d{5}$")
_ID = r"^[a-z][a-z0-9_]*$"
# columns of the indicator table that have no meaning for one cluster's own data
_NOT_APPLICABLE = [
    "scotland_value", "funnel_95", "funnel_998", "funnel_95_unadjusted", "funnel_998_unadjusted",
    "phi", "tau2",
    *(column for c in vocabulary.comparators() if c.stem != vocabulary.REST_OF_CLUSTER
      for column in (c.value_column, c.verdict_column)),
    "reliability", "interpretation",
]


class PdsaChange(BaseModel):
    """One PDSA change to annotate: the date it was made and what was changed."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    date: dt.date
    change: str = Field(min_length=1)


class BaselinePeriod(BaseModel):
    """The months (``YYYY-MM``, inclusive) whose centre line and limits later months are judged
    against; ``start`` may be left out (from the first month)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    start: str | None = Field(default=None, pattern=_MONTH)
    end: str = Field(pattern=_MONTH)


class LocalMeasureSpec(BaseModel):
    """The YAML of a local measure (strict: unknown keys are errors)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str | None = Field(default=None, pattern=_ID)
    title: str = Field(min_length=1)
    description: str = ""
    unit: str = Field(min_length=1)
    multiplier: float = Field(default=100, gt=0)
    low_is_good: StrictBool | None
    kind: Literal["proportion", "rate"] = "proportion"
    data: str | None = None
    change_ideas: tuple[str, ...] = ()
    pdsa: tuple[PdsaChange, ...] = ()
    baseline: BaselinePeriod | None = None


@dataclass(frozen=True)
class LocalMeasure:
    """A validated local measure: its description and its data (one row per CSV row).

    ``data`` columns: ``period`` (datetime64, first day of the month), ``practice_code`` (str),
    ``numerator``, ``denominator`` (float), and ``sex``, ``age_band`` when the CSV has them.
    ``id``, ``kind``, ``multiplier`` and ``low_is_good`` make it usable wherever an indicator
    definition is (e.g. :func:`clusterqi.indicators.series.add_spc`).
    """

    spec: LocalMeasureSpec
    data: pd.DataFrame
    yaml_path: Path
    csv_path: Path

    @property
    def id(self) -> str:
        return self.spec.id or self.yaml_path.stem

    @property
    def title(self) -> str:
        return self.spec.title

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def multiplier(self) -> float:
        return float(self.spec.multiplier)

    @property
    def low_is_good(self) -> bool | None:
        return self.spec.low_is_good

    @property
    def unit(self) -> str:
        return self.spec.unit


def _spec_errors(path: Path, exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors():
        field = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in err["loc"])
        got = "" if err["type"] == "missing" else f" (got {err.get('input')!r})"
        out.append(f"{path.name}: field {field or '(file)'}: {err['msg']}{got}")
    return out


def _read_spec(path: Path) -> LocalMeasureSpec:
    if not path.is_file():
        raise DataError(f"local measure file {str(path)!r} does not exist")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise DataError(f"{path.name}: not valid YAML: {exc}".replace("\n", " ")) from None
    if not isinstance(raw, dict):
        raise DataError(f"{path.name}: expected a mapping of fields, got {type(raw).__name__}")
    try:
        return LocalMeasureSpec.model_validate(raw)
    except ValidationError as exc:
        problems = _spec_errors(path, exc)
        raise DataError(f"{len(problems)} problem(s) in {path.name}:\n  " + "\n  ".join(problems))


def _number(value: str, whole: bool) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    if not np.isfinite(number) or (whole and not number.is_integer()):
        return None
    return number


def _read_data(path: Path, kind: str) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(f"local measure data {str(path)!r} does not exist")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{path.name}: cannot be read as CSV: {exc}".replace("\n", " ")) from None
    raw.columns = [c.strip() for c in raw.columns]
    missing = [c for c in LOCAL_MEASURE_COLUMNS if c not in raw.columns]
    unknown = [c for c in raw.columns if c not in LOCAL_MEASURE_COLUMNS + OPTIONAL_COLUMNS]
    if missing or unknown:
        raise DataError(
            f"{path.name}: columns {list(raw.columns)}; "
            + (f"missing {missing}; " if missing else "")
            + (f"unexpected {unknown}; " if unknown else "")
            + f"expected {LOCAL_MEASURE_COLUMNS} and optionally {OPTIONAL_COLUMNS}"
        )
    if raw.empty:
        raise DataError(f"{path.name}: no data rows; expected one row per period and practice")
    problems: list[str] = []
    rows: dict[str, list] = {c: [] for c in raw.columns}
    for i, record in enumerate(raw.to_dict("records")):
        where = f"{path.name}, row {i + 2}"  # row 1 is the header
        cells = {k: str(v).strip() for k, v in record.items()}
        if not _PERIOD.match(cells["period"]):
            problems.append(f"{where}, column period: value {cells['period']!r} is not a month; "
                            "expected YYYY-MM")
        if not _PRACTICE.match(cells["practice_code"]):
            problems.append(f"{where}, column practice_code: value {cells['practice_code']!r}; "
                            "expected a 5-digit PHS practice code")
        num = _number(cells["numerator"], whole=True)
        den = _number(cells["denominator"], whole=kind == "proportion")
        if num is None or num < 0:
            problems.append(f"{where}, column numerator: value {cells['numerator']!r}; "
                            "expected a whole number >= 0")
        if den is None or den <= 0:
            expected = "a whole number > 0" if kind == "proportion" else "a number > 0"
            problems.append(f"{where}, column denominator: value {cells['denominator']!r}; "
                            f"expected {expected}")
        elif kind == "proportion" and num is not None and num > den:
            problems.append(f"{where}, column numerator: value {cells['numerator']!r} is above "
                            f"the denominator {cells['denominator']!r}; expected numerator <= "
                            "denominator for a proportion")
        if "sex" in cells and cells["sex"] not in _SEXES:
            problems.append(f"{where}, column sex: value {cells['sex']!r}; expected one of "
                            f"{sorted(_SEXES)}")
        if "age_band" in cells and not cells["age_band"]:
            problems.append(f"{where}, column age_band: empty; expected a band such as 65-74")
        for key, value in cells.items():
            rows[key].append(value)
        rows["numerator"][-1] = num
        rows["denominator"][-1] = den
    data = pd.DataFrame(rows)
    keys = ["period", "practice_code"] + [c for c in OPTIONAL_COLUMNS if c in data.columns]
    for i in np.flatnonzero(data.duplicated(keys).to_numpy()):
        values = ", ".join(f"{k} {data[k].iloc[i]!r}" for k in keys)
        problems.append(f"{path.name}, row {i + 2}: a second row for {values}; expected one row "
                        f"per {' x '.join(keys)}")
    if problems:
        shown = problems[:MAX_REPORTED_ERRORS]
        more = len(problems) - len(shown)
        raise DataError(
            f"{len(problems)} problem(s) in {path.name}:\n  " + "\n  ".join(shown)
            + (f"\n  ... and {more} more" if more else "")
        )
    data["period"] = pd.to_datetime(data["period"], format="%Y-%m")
    data["numerator"] = data["numerator"].astype(float)
    data["denominator"] = data["denominator"].astype(float)
    return data


def load_local_measure(yaml_path: str | Path) -> LocalMeasure:
    """Load and validate a local measure's YAML and its CSV.

    Raises :class:`clusterqi.DataError` listing every problem (file, row, column, value, what
    was expected).

    Example usage::

        measure = load_local_measure("parameters/local_measures/hospital_letters.yaml")
        measure.data.head()
    """
    path = Path(yaml_path)
    spec = _read_spec(path)
    csv_path = path.parent / (spec.data or f"{path.stem}.csv")
    return LocalMeasure(spec=spec, data=_read_data(csv_path, spec.kind), yaml_path=path,
                        csv_path=csv_path)


def calculate_local_measure(measure: LocalMeasure, dataset_or_practices: Any) -> pd.DataFrame:
    """Indicator-table rows for a local measure: practice and cluster month rows with SPC.

    ``dataset_or_practices`` is a :class:`clusterqi.loaders.Dataset` or its ``practices`` table
    (for names and clusters). Every practice code in the data must be in it. Returns
    :data:`clusterqi.indicators.calculate.TABLE_COLUMNS`; ``indicator_id`` is the measure's id;
    ``rest_of_cluster_value`` is the practice's cluster excluding it (from the measure's own
    data); the Scotland and funnel columns are null. SPC limits come from the baseline and
    are rebased after a sustained shift that follows a PDSA change (module docstring).
    ``attrs`` holds ``measure`` (id, title, unit, kind, multiplier, low_is_good,
    change_ideas), ``pdsa`` (date, period, change), ``baseline`` (start, end, or None: all
    months) and ``phases`` (one dict per new phase: level, area_id, phase, start, pdsa
    ("PDSA 2"), pdsa_date, cl, previous_cl).

    Example usage::

        rows = calculate_local_measure(load_local_measure(path), dataset)
        rows.query("level == 'cluster'")[["period", "value", "cl", "spc_signal", "run_signal"]]
    """
    practices = getattr(dataset_or_practices, "practices", dataset_or_practices)
    attributes = practice_attributes(practices)
    unknown = sorted(set(measure.data["practice_code"]) - set(attributes["practice_code"]))
    if unknown:
        raise DataError(
            f"{measure.csv_path.name}: practice_code(s) {unknown[:10]} are not in the practices "
            "table; expected codes of practices in the loaded data"
        )
    monthly = (
        measure.data.groupby(["practice_code", "period"], sort=True)[["numerator", "denominator"]]
        .sum()
        .reset_index()
    )
    rows = monthly.assign(
        indicator_id=measure.id, period_type="month",
        period=monthly["period"].dt.strftime("%Y-%m"),
    )[["indicator_id", "practice_code", "period_type", "period", "numerator", "denominator"]]
    table = aggregate_levels(rows, attributes, None, levels=("practice", "cluster"))
    catalogue = {measure.id: measure}
    table = add_values(table, {measure.id: measure.kind}, {measure.id: measure.multiplier})
    table = add_comparisons(table, rows, attributes, catalogue)
    for column in _NOT_APPLICABLE:
        table[column] = pd.Series(np.nan, index=table.index, dtype=table[column].dtype)
    baseline = _baseline(measure.spec)
    table, phases = _rebased_spc(table, catalogue, measure, baseline)
    table = table.sort_values(["level", "area_id", "period"], ascending=[False, True, True],
                              kind="stable")
    table = table[TABLE_COLUMNS].reset_index(drop=True)
    spec = measure.spec
    table.attrs = {
        "measure": {"id": measure.id, "title": spec.title, "unit": spec.unit, "kind": spec.kind,
                    "multiplier": measure.multiplier, "low_is_good": spec.low_is_good,
                    "change_ideas": list(spec.change_ideas)},
        "pdsa": [{"date": c.date.isoformat(), "period": c.date.strftime("%Y-%m"),
                  "change": c.change} for c in spec.pdsa],
        "baseline": {"start": baseline[0], "end": baseline[1]} if baseline else None,
        "phases": phases,
        "kinds": {measure.id: measure.kind},
        "multipliers": {measure.id: measure.multiplier},
    }
    return table


def _baseline(spec: LocalMeasureSpec) -> tuple[str | None, str] | None:
    """The stated baseline months, else the months before the first PDSA change, else None."""
    if spec.baseline is not None:
        return spec.baseline.start, spec.baseline.end
    if not spec.pdsa:
        return None
    first = min(change.date for change in spec.pdsa)
    return None, (pd.Period(first, freq="M") - 1).strftime("%Y-%m")


def _pdsa_months(spec: LocalMeasureSpec) -> list[tuple[str, str, str]]:
    """(month, label, date) of each PDSA change in date order; labels as the charts number them."""
    ordered = sorted(spec.pdsa, key=lambda change: change.date)
    return [(c.date.strftime("%Y-%m"), f"PDSA {k + 1}", c.date.isoformat())
            for k, c in enumerate(ordered)]


def _first_sustained_shift(periods: np.ndarray, values: np.ndarray, centre: np.ndarray,
                           after: str) -> int | None:
    """Where the first shift from month ``after`` on begins: the first point, in or after
    ``after``, of a run with SUSTAINED_SHIFT or more such points on one side of the centre line
    (points on the line break a run); None if there is none."""
    side = np.sign(values - centre)
    side[~np.isfinite(side)] = 0
    side[periods < after] = 0          # only months from the change on count
    start = 0
    for i in range(1, len(side) + 1):
        if i == len(side) or side[i] != side[start]:
            if side[start] != 0 and i - start >= SUSTAINED_SHIFT:
                return start
            start = i
    return None


def _rebased_spc(table: pd.DataFrame, catalogue: dict, measure: LocalMeasure,
                 baseline: tuple[str | None, str] | None) -> tuple[pd.DataFrame, list[dict]]:
    """SPC from the baseline, then a new phase wherever a shift after a PDSA change held."""
    changes = _pdsa_months(measure.spec)
    starts: dict[tuple[str, str], list[str]] = {}
    found: list[dict] = []
    while True:
        out = add_spc(table, catalogue, baseline_period=baseline,
                      phases={(measure.id, area): months for (_, area), months in starts.items()})
        added = False
        months = out[(out["period_type"] == "month") & out["cl"].notna()]
        for (level, area), rows in months.groupby(["level", "area_id"], sort=True):
            rows = rows.sort_values("period")
            last = int(rows["spc_phase"].max())
            current = rows[rows["spc_phase"] == last]
            begun = current["period"].iloc[0]
            later = [c for c in changes if c[0] >= (baseline[1] if last == 0 and baseline
                                                     else begun)]
            if last > 0:
                later = [c for c in changes if c[0] > begun]
            if not later:
                continue
            periods = current["period"].to_numpy(str)
            at = _first_sustained_shift(periods, current["value"].to_numpy(float),
                                        current["cl"].to_numpy(float), later[0][0])
            if at is None or at == 0:
                continue
            start = periods[at]
            month, label, date = [c for c in changes if c[0] <= start][-1]
            starts.setdefault((level, area), []).append(start)
            found.append({"level": str(level), "area_id": str(area), "phase": last + 1,
                          "start": str(start), "pdsa": label, "pdsa_date": date})
            added = True
        if not added:
            break
    for entry in found:
        rows = out[(out["area_id"] == entry["area_id"]) & (out["level"] == entry["level"])
                   & (out["period_type"] == "month")]
        centre = rows.groupby("spc_phase")["cl"].first()
        entry["cl"] = float(centre[entry["phase"]])
        entry["previous_cl"] = float(centre[entry["phase"] - 1])
    return out, found
