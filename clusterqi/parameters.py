"""A cluster report's parameters, declared once.

:class:`ReportSettings` is what a run file sets for every report of a batch (period, audience,
indicators, disclosure settings, contact); :class:`ReportParameters` adds what differs per report
(``cluster_id``) and where its tables come from (``data``, ``indicator_table``). The run file
(:class:`clusterqi.runfile.RunFile`) extends the settings, :func:`clusterqi.report.build_report`
validates its arguments with :class:`ReportParameters`, and the report notebook's parameters cell
declares exactly its fields (a test checks the cell against the model).

Example usage::

    params = ReportParameters(cluster_id="dundee-4", period_end="2026-09")
    params.model_dump()        # what papermill injects into the notebook
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from clusterqi.errors import DataError
from clusterqi.vocabulary import AUDIENCES, DEFAULT_AUDIENCE, audience

__all__ = [
    "SYNTHETIC",
    "ROUNDING_CHOICES",
    "ReportSettings",
    "ReportParameters",
    "report_parameters",
]

SYNTHETIC = "synthetic"
"""The ``data`` value meaning "the embedded synthetic Scotland" (generated once, cached)."""

ROUNDING_CHOICES = ("none", "nearest-5", "midpoint-6")
"""Disclosure rounding rules (run files may spell them with ``_``: ``nearest_5``)."""

_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class ReportSettings(BaseModel):
    """The settings every report of a run shares (a run file's report keys).

    ``period_end`` is the last month (``"YYYY-MM"``) of a period of ``months`` months;
    ``audience`` one of :data:`clusterqi.vocabulary.AUDIENCES` (``reveal_practice``, the practice
    code to name, only for the audience that reveals one); ``indicators`` ``"all"`` or a list of
    catalogue ids; counts from 1 to ``threshold - 1`` are suppressed; ``rounding`` one of
    :data:`ROUNDING_CHOICES`; ``local_measures`` a local QI measure's YAML; ``contact`` who made
    the report and how to reach them (shown in "About"). "Since the last report"
    (:mod:`clusterqi.since`) compares with the previous run's period (``previous_manifest``, its
    ``manifest.json``) or with ``previous_period_end`` (``"YYYY-MM"``, before ``period_end``);
    with neither, with the same period one quarter earlier.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    period_end: str
    months: int = 12
    audience: str = DEFAULT_AUDIENCE
    reveal_practice: str | None = None
    indicators: str | list[str] = "all"
    threshold: int = 5
    rounding: str = "none"
    local_measures: str | None = None
    contact: str | None = None
    previous_manifest: str | None = None
    previous_period_end: str | None = None

    @field_validator("period_end")
    @classmethod
    def _period_format(cls, value: str) -> str:
        if not _PERIOD.match(value):
            raise ValueError(f"value {value!r} is not a month; expected 'YYYY-MM', e.g. '2026-09'")
        return value

    @field_validator("previous_period_end")
    @classmethod
    def _previous_period_format(cls, value: str | None) -> str | None:
        if value is not None and not _PERIOD.match(value):
            raise ValueError(f"value {value!r} is not a month; expected 'YYYY-MM', e.g. '2026-06'")
        return value

    @model_validator(mode="after")
    def _previous_before_period(self):
        if self.previous_manifest and self.previous_period_end:
            raise ValueError("previous_manifest and previous_period_end are both set; give one "
                             "(the previous run's manifest, or the earlier period's last month)")
        if self.previous_period_end and self.previous_period_end >= self.period_end:
            raise ValueError(f"previous_period_end {self.previous_period_end!r} is not before "
                             f"period_end {self.period_end!r}; expected an earlier month")
        return self

    @field_validator("months", "threshold")
    @classmethod
    def _at_least_one(cls, value: int) -> int:
        if value < 1:
            raise ValueError(f"value {value} is below 1; expected a whole number >= 1")
        return value

    @field_validator("audience")
    @classmethod
    def _known_audience(cls, value: str) -> str:
        if value not in AUDIENCES:
            raise ValueError(f"value {value!r} is not an audience; expected one of {', '.join(AUDIENCES)}")
        return value

    @field_validator("rounding")
    @classmethod
    def _rounding(cls, value: str) -> str:
        value = str(value).replace("_", "-")
        if value not in ROUNDING_CHOICES:
            raise ValueError(f"value {value!r} is not a rounding rule; expected one of {', '.join(ROUNDING_CHOICES)}")
        return value


class ReportParameters(ReportSettings):
    """One report's parameters: the notebook's parameters cell and :func:`build_report`'s arguments.

    ``cluster_id`` is the cluster's slug (``"dundee-4"``); ``data`` a folder of PHS files or
    ``"synthetic"``; ``indicator_table`` the Parquet a batch computed once for the run (None: the
    report finds or computes the run's tables itself).
    """

    cluster_id: str
    data: str = SYNTHETIC
    indicator_table: str | None = None

    @model_validator(mode="after")
    def _reveal_matches_audience(self):
        reveals = audience(self.audience).reveals_practice
        if reveals and not self.reveal_practice:
            raise ValueError(f"reveal_practice is empty: audience {self.audience!r} names one practice code")
        if not reveals and self.reveal_practice:
            raise ValueError(f"reveal_practice {self.reveal_practice!r} is set, but audience "
                             f"{self.audience!r} names no practice; use audience 'practice' or drop it")
        return self

    @field_validator("cluster_id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("value is empty; expected a cluster slug such as 'dundee-4'")
        return value


def report_parameters(**values) -> ReportParameters:
    """:class:`ReportParameters` from keyword values, or one :class:`DataError` listing every
    problem by parameter name (papermill passes paths and numbers as they are)."""
    try:
        return ReportParameters(**values)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"]) or "parameters"
            message = str(error["msg"]).removeprefix("Value error, ")
            given = error.get("input")
            given_text = "" if isinstance(given, dict) else f" (given {given!r})"
            problems.append(f"{where}{given_text}: {message}")
        raise DataError("report parameters: " + "; ".join(problems)) from None
