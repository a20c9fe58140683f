"""The cluster report: tables for one run, one cluster's report object, and the HTML export.

Three steps, each a function the report notebook or the batch calls (no logic in notebooks):

1. :func:`clusterqi.run_tables.cached_run_tables` computes, once for a whole run, the indicator
   table with its data-quality flags joined, and keeps it as Parquet in the content-keyed cache
   (:mod:`clusterqi.run_tables`). The batch passes the table's path to every notebook as its
   ``indicator_table`` parameter, so no cluster recalculates Scotland.
2. :func:`build_report` takes the notebook's parameters (:class:`clusterqi.parameters.ReportParameters`)
   and returns a :class:`ClusterReport`: the run's tables, the report's rows
   (:mod:`clusterqi.report_rows`) passed through disclosure control for the audience
   (:func:`clusterqi.disclosure.apply_disclosure`, the last step before anything is drawn),
   the data-quality notes released with them, the cluster's local QI measure when given.
3. :func:`render_html` (from :mod:`clusterqi.report_html`) writes the executed notebook as one
   offline, releasable HTML file. The section display functions are in
   :mod:`clusterqi.report_sections`.

Example usage::

    from clusterqi.report import build_report, render_html
    report = build_report(cluster_id="dundee-4", period_end="2026-09", months=12)
    report.cluster_name              # "Dundee 4"
    render_html("reports/demo/dundee-4.ipynb")
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from clusterqi import vocabulary
from clusterqi.brief import numbers_for_download, what_to_discuss
from clusterqi.csv_safety import safe_csv
from clusterqi.disclosure import (
    NOTE_COLUMNS,
    DisclosurePolicy,
    apply_disclosure,
    release_findings,
)
from clusterqi.errors import DataError
from clusterqi.indicators import (
    calculate_local_measure,
    load_catalogue,
    load_local_measure,
)
from clusterqi.loaders import load_dataset
from clusterqi.parameters import ReportParameters, report_parameters
from clusterqi.report_html import (
    MAX_REPORT_BYTES,
    ReportError,
    measure_html,
    render_html,
)
from clusterqi.report_rows import (
    logged_in,
    numbers_rows,
    own_mask,
    own_notes,
    report_rows,
)
from clusterqi.run_tables import (
    INDICATORS_FILE,
    QUALITY_FILE,
    RUN_FILE,
    SYNTHETIC,
    cached_run_tables,
    data_folder,
    prepare_run_tables,
    run_for,
)
from clusterqi.text_storage import arrow_strings, python_text
from clusterqi.vocabulary import AUDIENCES, CLUSTER
from clusterqi.vocabulary import audience as audience_record

__all__ = [
    "AUDIENCES",
    "SYNTHETIC",
    "INDICATORS_FILE",
    "QUALITY_FILE",
    "RUN_FILE",
    "NUMBERS_COLUMNS",
    "CSV_SIGNIFICANT_FIGURES",
    "ClusterReport",
    "ReportParameters",
    "report_rows",
    "ReportError",
    "MAX_REPORT_BYTES",
    "prepare_run_tables",
    "cached_run_tables",
    "build_report",
    "released_table",
    "render_html",
    "measure_html",
]

NUMBERS_COLUMNS = (
    "indicator_id", "level", "area_name", "period_type", "period", "numerator", "denominator",
    "denominator_band", "qualifier", "value", "lower_95", "upper_95", "lower_998", "upper_998",
    "scotland_value", *vocabulary.verdict_columns(), "spc_flag", "interpretation", "quality_flag",
)
"""Columns of the "download the numbers" CSV (those present in the releasable table)."""

CSV_SIGNIFICANT_FIGURES = 4
"""Significant figures of values and intervals in the CSV (as in the charts; keeps it small)."""
_NO_ROWS = np.array([], dtype=np.intp)


def _significant(values: pd.Series, figures: int) -> pd.Series:
    """Values rounded to ``figures`` significant figures (missing stays missing)."""
    x = values.to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        digits = figures - 1 - np.floor(np.log10(np.abs(x)))
    digits = np.where(np.isfinite(digits), digits, 0).astype(int)
    out = x.copy()
    finite = np.isfinite(x)
    # NumPy's rounding (half to even, of the value scaled by a power of ten: what round() does
    # with a NumPy number), once per number of decimals instead of once per value (~0.07 s of
    # every report's CSV)
    for places in np.unique(digits[finite]):
        rows = finite & (digits == places)
        out[rows] = np.round(x[rows], int(places))
    return pd.Series(out, index=values.index, dtype="float64")


@dataclass(frozen=True)
class ClusterReport:
    """Everything one cluster's report shows, already disclosure-controlled for its audience.

    ``table`` is the releasable indicator table (all of Scotland at the levels the audience may
    see, for the chosen indicators), with quality flags attached; ``numbers`` is the part of it
    the "download the numbers" CSV carries (the cluster, its practices as the audience may see
    them, and its comparator areas). ``disclosure_log`` is what disclosure control did to the
    rows the report shows (see :func:`clusterqi.disclosure.apply_disclosure`), with its summary
    entries. ``local`` is the local QI measure's table (or None).

    ``context`` is the cluster's context (:func:`clusterqi.context.cluster_context`: list size,
    age mix, deprivation mix of its practices' premises and its place among Scotland's clusters;
    empty without data); ``peers`` its "clusters like ours" (cluster_id, cluster_name, nearest
    first; empty without a deprivation file), chosen as :data:`clusterqi.peers.PEER_METHOD` says.
    ``practice_context`` is per-practice context (deprivation decile, age mix, size): a
    quasi-identifier, so only the analyst view gets it for every member practice and a practice
    report for its revealed practice; other audiences get an empty frame.
    """

    cluster_id: str
    cluster_name: str
    parameters: dict[str, Any]
    audience: str
    policy: Any
    catalogue: dict[str, Any]
    table: pd.DataFrame
    disclosure_log: pd.DataFrame
    quality_notes: pd.DataFrame
    run: dict[str, Any]
    local: pd.DataFrame | None = None
    local_measure: Any = None
    local_annotations: Any = None
    context: dict[str, Any] = field(default_factory=dict)
    peers: pd.DataFrame = field(default_factory=pd.DataFrame)
    practice_context: pd.DataFrame = field(default_factory=pd.DataFrame)
    # "Since the last report": clusterqi.since.Since, or a function making it (the earlier
    # period's report is made only when the ``since`` property is first read)
    since_of: Any = field(default=None, repr=False, compare=False)
    generated: str = field(
        default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds")
    )

    @cached_property
    def since(self):
        """"Since the last report" (:class:`clusterqi.since.Since`: the earlier period, its source,
        whether the definitions changed, the changes or why there are none); None for an
        earlier period's own report. Worked out on first use."""
        return self.since_of() if callable(self.since_of) else self.since_of

    @cached_property
    def discussion(self) -> pd.DataFrame:
        """Every indicator that merits the meeting's time, ranked
        (:func:`clusterqi.brief.what_to_discuss` with no limit): worked out once for the header,
        the indicator cards and "since the last report"."""
        return what_to_discuss(self.table, self.cluster_id, self.catalogue, limit=None,
                               cluster_name=self.cluster_name)

    @cached_property
    def _row_groups(self) -> dict[tuple, np.ndarray]:
        """Row positions of :attr:`table` by (indicator, level, period type, the cluster's own
        row or not: :func:`clusterqi.report_rows.own_rows`), found once: the indicator cards ask
        for rows ~70 times and each scan of the whole table cost ~5 ms."""
        own = own_mask(self.table, self.cluster_id).to_numpy(dtype=bool)
        return self.table.groupby([self.table["indicator_id"], self.table["level"],
                                   self.table["period_type"], own], sort=False,
                                  observed=True).indices

    def _positions(self, indicator_id: str, level: str, period_type: str, own: bool) -> np.ndarray:
        key = (indicator_id, level, period_type)
        found = [self._row_groups.get((*key, mine)) for mine in ((True,) if own else (True, False))]
        found = [p for p in found if p is not None]
        # in table order, as unit_rows gives them
        return (found[0] if len(found) == 1
                else np.sort(np.concatenate(found)) if found else _NO_ROWS)

    def rows(self, indicator_id: str, level: str, period_type: str, own: bool = True,
             columns: list[str] | None = None) -> pd.DataFrame:
        """One indicator's rows at one level and period type (:func:`clusterqi.report_rows.unit_rows`);
        only those of ``columns`` the table has, if given (taking all ~55 is most of the cost)."""
        positions = self._positions(indicator_id, level, period_type, own)
        if columns is None:
            return self.table.iloc[positions]
        wanted = self.table.columns.get_indexer([c for c in columns if c in self.table.columns])
        return self.table.iloc[positions, wanted]

    def count(self, indicator_id: str, level: str, period_type: str, own: bool = True) -> int:
        """How many rows :meth:`rows` gives, without taking them."""
        return len(self._positions(indicator_id, level, period_type, own))

    @property
    def releasable(self) -> bool:
        return bool(self.table.attrs.get("releasable", False))

    @property
    def title(self) -> str:
        return f"{self.cluster_name}: cluster quality report"

    @property
    def total_period(self) -> str:
        totals = self.table.loc[self.table["period_type"] == "total", "period"]
        return str(totals.iloc[0]) if len(totals) else ""

    @property
    def numbers(self) -> pd.DataFrame:
        """The cluster's own rows, its member practices (as released) and its comparator areas.

        See :func:`clusterqi.report_rows.numbers_rows`.
        """
        return numbers_rows(self.table, self.cluster_id, NUMBERS_COLUMNS)

    def numbers_csv(self) -> str:
        """:attr:`numbers` as CSV with each indicator's title and unit beside its id, estimates
        rounded to :data:`CSV_SIGNIFICANT_FIGURES` figures, formula-like text escaped."""
        rows = numbers_for_download(self.numbers, self.catalogue)
        for column in rows.columns:
            if column not in ("numerator", "denominator") and pd.api.types.is_float_dtype(rows[column]):
                rows[column] = _significant(rows[column], CSV_SIGNIFICANT_FIGURES)
        return safe_csv(rows, index=False)  # cells a spreadsheet would run as formulas escaped


def _select_indicators(indicators, catalogue: dict) -> dict:
    if indicators in (None, "all"):
        return dict(catalogue)
    wanted = [indicators] if isinstance(indicators, str) else list(indicators)
    unknown = [i for i in wanted if i not in catalogue]
    if unknown:
        raise DataError(
            f"indicators: {', '.join(map(repr, unknown))} not in the catalogue; expected 'all' or "
            f"some of {', '.join(sorted(catalogue))}"
        )
    return {i: catalogue[i] for i in wanted}


def build_report(parameters: ReportParameters | None = None, /, **values: Any) -> ClusterReport:
    """One cluster's report, disclosure-controlled for its audience: the notebook's one call.

    Takes a :class:`clusterqi.parameters.ReportParameters`, or its fields as keywords (the
    notebook's parameters). Raises :class:`DataError` naming the parameter for a bad value or an
    unknown cluster.

    Example usage::

        report = build_report(cluster_id="dundee-4", period_end="2026-09", audience="cluster")
    """
    params = parameters if parameters is not None else report_parameters(**values)
    catalogue = _select_indicators(params.indicators, load_catalogue())
    run = run_for(params.data, params.period_end, params.months, params.indicator_table)
    names = run.cluster_names
    cluster_id = params.cluster_id
    who = audience_record(params.audience)
    policy, scope, releasable, log = _release(
        params, run, catalogue, run.scope(cluster_id, every_practice=who.sees_other_practices))
    # a deep copy holds the 21 number columns as one block instead of one each (54 blocks -> 35):
    # each of the hundreds of row selections a report makes takes every block in turn (one
    # cluster's rows: 1.15 -> 0.91 ms; a boolean filter of the table: 3.4 -> 2.9 ms); its text
    # in Python storage, which those selections take faster (clusterqi.text_storage)
    releasable = python_text(report_rows(releasable, cluster_id).copy())
    log = logged_in(log, releasable)
    notes = (release_findings(run.findings, releasable, scope, policy) if len(run.findings.columns)
             else _no_notes())
    notes = own_notes(notes, releasable, cluster_id)
    local, measure, annotations = (None, None, None)
    if params.local_measures:
        local, measure, annotations = _local_measure(params.local_measures, params.data, policy)
    report = ClusterReport(
        cluster_id=cluster_id, cluster_name=names[cluster_id], parameters=params.model_dump(),
        audience=params.audience, policy=policy, catalogue=catalogue, table=releasable,
        disclosure_log=log, quality_notes=notes, run=dict(run.facts), local=local,
        local_measure=measure, local_annotations=annotations,
        context=_context_of(run.context, cluster_id), peers=_peers_of(releasable, cluster_id, names),
        practice_context=_practice_context(run.practice_context, cluster_id, who,
                                           params.reveal_practice),
    )
    # --- since the last report (clusterqi.since): the earlier period's released report compared
    from clusterqi.since import since_maker

    # set on this very report, not on a copy (dataclasses.replace): "since" reads the report's
    # discussion, which is then worked out once for the header, the cards and "since"
    object.__setattr__(report, "since_of", since_maker(params, report))
    return report


def _release(params: ReportParameters, run, catalogue: dict, positions: np.ndarray):
    """(policy, scope, releasable, log): disclosure control of the run's rows at
    ``positions`` (:meth:`clusterqi.run_tables.Run.scope`, or :meth:`~clusterqi.run_tables.Run.own_scope`),
    for build_report and :func:`released_table`."""
    names = run.cluster_names
    cluster_id = params.cluster_id
    if cluster_id not in names:
        sample = ", ".join(sorted(names)[:8])
        raise DataError(
            f"cluster_id {cluster_id!r} is not a cluster in the indicator table; expected a "
            f"cluster slug such as {sample} ..."
        )
    salt = {"salt": run.facts["salt"]} if run.facts.get("salt") else {}
    policy = DisclosurePolicy(
        audience=params.audience,
        cluster_id=cluster_id,
        threshold=params.threshold,
        reveal_practice=params.reveal_practice,
        rounding=params.rounding,
        **salt,
    )
    who = audience_record(params.audience)
    # Suppression is worked out once per run over the whole table; disclosure control then
    # runs on the rows the report needs (tests/report check this equals controlling the whole
    # table and then taking the report's rows). Quality flags are already in the run's table:
    # apply_disclosure is the last step before anything is drawn or written.
    scope = run.rows(positions)
    marks = run.marks_for(scope, params.threshold, policy.secondary) if who.releasable else None
    if len(catalogue) < scope["indicator_id"].nunique():
        scope = scope[scope["indicator_id"].isin(list(catalogue))]
    releasable, log = apply_disclosure(scope, policy, suppression=marks)
    return policy, scope, releasable, log


@arrow_strings  # the earlier run's rows, as build_report works on them (clusterqi.text_storage)
def released_table(parameters: ReportParameters | None = None, /, **values: Any) -> pd.DataFrame:
    """The cluster's own rows (cluster level) of the released table the report of these
    parameters shows, without making the rest of the report: what "since the last report"
    compares with (:mod:`clusterqi.since`).

    The same disclosure control as :func:`build_report`, on the rows the cluster's own rows
    depend on (:meth:`clusterqi.run_tables.Run.own_scope`; ``tests/report`` checks the rows
    equal those of the full report).

    Example usage::

        earlier = released_table(cluster_id="dundee-4", period_end="2026-06")
    """
    params = parameters if parameters is not None else report_parameters(**values)
    catalogue = _select_indicators(params.indicators, load_catalogue())
    run = run_for(params.data, params.period_end, params.months, params.indicator_table)
    _, _, releasable, _ = _release(params, run, catalogue, run.own_scope(params.cluster_id))
    own = (releasable["level"].eq(CLUSTER).to_numpy(dtype=bool, na_value=False)
           & releasable["area_id"].eq(params.cluster_id).to_numpy(dtype=bool, na_value=False))
    return python_text(releasable[own].reset_index(drop=True))  # as build_report holds text


def _context_of(context: pd.DataFrame, cluster_id: str) -> dict[str, Any]:
    """The cluster's row of the run's cluster context, as a dict (empty when there is none)."""
    if not len(context) or "cluster_id" not in context.columns:
        return {}
    rows = context[context["cluster_id"].astype(str) == cluster_id]
    return {} if rows.empty else rows.iloc[0].to_dict()


def _peers_of(rows: pd.DataFrame, cluster_id: str, names: dict[str, str]) -> pd.DataFrame:
    """The cluster's peer clusters, nearest first, from its rows' ``peer_ids``."""
    empty = pd.DataFrame({"cluster_id": pd.Series(dtype="str"), "cluster_name": pd.Series(dtype="str")})
    if "peer_ids" not in rows.columns:
        return empty
    own = rows.loc[(rows["level"] == CLUSTER) & (rows["area_id"] == cluster_id), "peer_ids"].dropna()
    if own.empty:
        return empty
    ids = str(own.iloc[0]).split(vocabulary.MEMBER_SEPARATOR)
    return pd.DataFrame({"cluster_id": ids, "cluster_name": [names.get(i, i) for i in ids]},
                        dtype="str")


def _practice_context(context: pd.DataFrame, cluster_id: str, who, reveal: str | None) -> pd.DataFrame:
    """Per-practice context the audience may see: every member for the analyst, the revealed
    practice for a practice report, nothing beside a pseudonym."""
    if not len(context) or "cluster_id" not in context.columns:
        return pd.DataFrame()
    own = context[context["cluster_id"].astype(str) == cluster_id]
    if not who.releasable:
        return own.reset_index(drop=True)
    if who.reveals_practice and reveal:
        return own[own["practice_code"].astype(str) == reveal].reset_index(drop=True)
    return own.iloc[0:0].reset_index(drop=True)


def _no_notes() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="str") for c in NOTE_COLUMNS})
    frame["month"] = pd.to_datetime(frame["month"])
    return frame


def _local_measure(yaml_path, data, policy) -> tuple[pd.DataFrame, Any, Any]:
    """The local QI measure's rows after disclosure control, its definition and PDSA cycles.

    The measure's data must be about practices of the loaded data (their codes are checked).
    """
    measure = load_local_measure(yaml_path)
    rows = calculate_local_measure(measure, load_dataset(data_folder(data)))
    annotations = rows.attrs.get("pdsa")
    released, _ = apply_disclosure(rows, policy)
    return released, measure, annotations
