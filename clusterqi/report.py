"""The cluster report: tables for one run, one cluster's report object, and the HTML export.

Three steps, each a function the report notebook or the batch calls (no logic in notebooks):

1. :func:`prepare_run_tables` computes, once for a whole run, the indicator table and the
   data-quality flags, and writes them as Parquet (plus ``run.json`` with the data extract dates,
   catalogue hash and period) into a folder. The batch passes the table's path to every notebook
   as its ``indicator_table`` parameter, so no cluster recalculates Scotland.
2. :func:`build_report` takes the notebook's parameters and returns a :class:`ClusterReport`:
   tables loaded (or computed and cached when no ``indicator_table`` is given), disclosure applied
   for the audience through :class:`clusterqi.disclosure.DisclosurePolicy`, quality flags
   attached, the cluster's local QI measure calculated when given.
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

import hashlib
import json
import os
import secrets
import shutil
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from clusterqi import __version__
from clusterqi.errors import DataError
from clusterqi.paths import replacing
from clusterqi.report_html import MAX_REPORT_BYTES, ReportError, measure_html, render_html

__all__ = [
    "AUDIENCES",
    "SYNTHETIC",
    "INDICATORS_FILE",
    "QUALITY_FILE",
    "RUN_FILE",
    "NUMBERS_COLUMNS",
    "CSV_SIGNIFICANT_FIGURES",
    "ClusterReport",
    "report_rows",
    "ReportError",
    "MAX_REPORT_BYTES",
    "prepare_run_tables",
    "cached_run_tables",
    "build_report",
    "render_html",
    "measure_html",
]

AUDIENCES = ("analyst", "cluster", "practice")
SYNTHETIC = "synthetic"
"""The ``data`` parameter value meaning "the embedded synthetic Scotland" (generated once, cached)."""

INDICATORS_FILE = "indicators.parquet"
QUALITY_FILE = "quality.parquet"
RUN_FILE = "run.json"
"""File names :func:`prepare_run_tables` writes into its folder."""

NUMBERS_COLUMNS = (
    "indicator_id", "level", "area_name", "period_type", "period", "numerator", "denominator",
    "denominator_band", "qualifier", "value", "lower_95", "upper_95", "lower_998", "upper_998",
    "scotland_value", "vs_rest_of_cluster", "vs_rest_of_hscp", "vs_rest_of_hb",
    "vs_rest_of_scotland", "spc_flag", "interpretation", "quality_flag",
)
"""Columns of the "download the numbers" CSV (those present in the releasable table)."""

CSV_SIGNIFICANT_FIGURES = 4
"""Significant figures of values and intervals in the CSV (as in the charts; keeps it small)."""


def _significant(values: pd.Series, figures: int) -> pd.Series:
    """Values rounded to ``figures`` significant figures (missing stays missing)."""
    x = values.to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        digits = figures - 1 - np.floor(np.log10(np.abs(x)))
    digits = np.where(np.isfinite(digits), digits, 0).astype(int)
    out = np.array([round(v, d) if np.isfinite(v) else v for v, d in zip(x, digits)])
    return pd.Series(out, index=values.index, dtype="float64")


# --- one run's tables -------------------------------------------------------------------------


def _data_folder(data: str | os.PathLike) -> Path:
    if str(data) == SYNTHETIC:
        from clusterqi.synthetic import ensure_synthetic

        return Path(ensure_synthetic())
    folder = Path(data)
    if not folder.is_dir():
        raise DataError(f"data {str(data)!r}: no such folder; expected a folder of PHS files or 'synthetic'")
    return folder


def prepare_run_tables(data, period_end: str, months: int, out_dir) -> Path:
    """Calculate the indicator table and quality flags once for a run; return the table's path.

    ``data`` is a folder of PHS files or ``"synthetic"``. Writes into ``out_dir``:
    :data:`INDICATORS_FILE` (the analyst-level indicator table for every catalogue indicator and
    every level), :data:`QUALITY_FILE` (``assess_quality`` flags) and :data:`RUN_FILE` (data
    extract dates, catalogue hash, period, clusterqi version). Files are written under temporary
    names and renamed, so a reader never sees half a table. The returned path is what the report
    notebook takes as ``indicator_table``; the other two files are found beside it.

    Example usage::

        path = prepare_run_tables("synthetic", "2026-09", 12, cache_dir("runs", "demo"))
    """
    from clusterqi.indicators import calculate_indicators, catalogue_hash, load_catalogue
    from clusterqi.loaders import load_dataset
    from clusterqi.quality import assess_quality

    folder = _data_folder(data)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    dataset = load_dataset(folder)
    catalogue = load_catalogue()
    table = calculate_indicators(dataset, catalogue, period_end, months=months)
    flags = assess_quality(dataset, table)
    run = {
        "data": str(data) if str(data) == SYNTHETIC else str(folder.resolve()),
        "period_end": str(period_end),
        "months": int(months),
        "catalogue_hash": catalogue_hash(catalogue),
        "sources": _sources(dataset),
        "warnings": [str(w) for w in table.attrs.get("warnings", [])],
        "clusterqi_version": __version__,
        "salt": secrets.token_hex(16),  # keys the pseudonym order: stable for every report of the run
        "calculated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    _write_parquet(_plain(table), out_dir / INDICATORS_FILE)
    _write_parquet(_plain(flags), out_dir / QUALITY_FILE)
    with replacing(out_dir / RUN_FILE) as tmp:
        tmp.write_text(json.dumps(run, indent=2), encoding="utf-8")
    return out_dir / INDICATORS_FILE


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame without attrs (Parquet stores attrs as JSON; ours may hold non-JSON values)."""
    out = frame.copy()
    out.attrs = {}
    return out


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    # two batches of the same data may prepare the same cached run at once: see replacing
    with replacing(path) as tmp:
        frame.to_parquet(tmp, index=False)


def _sources(dataset) -> list[dict[str, str]]:
    """Each input file's name, kind and period (the data extract dates), for "About this report"."""
    sources = getattr(dataset, "sources", None)
    if sources is None or len(sources) == 0:
        return []
    keep = [c for c in ("file", "kind", "period", "sha256") if c in sources.columns]
    rows = sources[keep].astype("string").fillna("")
    return [{k: str(v) for k, v in r.items()} for r in rows.to_dict("records")]


def _run_key(folder: Path, period_end: str, months: int) -> str:
    """A cache key from the data files (name, size, modification and change times, inode), period
    and catalogue. The inode change time moves on any edit, even one whose modification time was
    put back, so an edited file never reads old numbers."""
    from clusterqi.indicators import catalogue_hash, load_catalogue

    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            stat = path.stat()
            digest.update(f"{path.relative_to(folder)}|{stat.st_size}|{stat.st_mtime_ns}|"
                          f"{stat.st_ctime_ns}|{stat.st_ino}\n".encode())
    digest.update(f"{period_end}|{months}|{catalogue_hash(load_catalogue())}|{__version__}".encode())
    return digest.hexdigest()[:16]


def cached_run_tables(data, period_end: str, months: int) -> Path:
    """The run tables for ``data`` and the period, from the project cache (calculated once).

    Keyed by the data files' names, sizes and modification times, the period, the catalogue
    and the clusterqi version (so changed data is calculated again). Returns the indicator
    table's path, as :func:`prepare_run_tables` does.

    Example usage::

        path = cached_run_tables("synthetic", "2026-09", 12)
    """
    from clusterqi.paths import cache_dir

    folder = _data_folder(data)
    out_dir = cache_dir("report-runs", _run_key(folder, period_end, months))
    path = out_dir / INDICATORS_FILE
    if not (path.is_file() and (out_dir / QUALITY_FILE).is_file() and (out_dir / RUN_FILE).is_file()):
        path = prepare_run_tables(data, period_end, months, out_dir)
    return path


def _run_tables(data, period_end: str, months: int, indicator_table) -> "_Run":
    """The run's indicator table, quality flags and run facts: from memory, disk, or computed."""
    if indicator_table is None:
        path = cached_run_tables(data, period_end, months)
    else:
        path = Path(indicator_table)
        if not path.is_file():
            raise DataError(
                f"indicator_table {str(path)!r}: no such file; expected the Parquet file "
                "clusterqi.report.prepare_run_tables wrote"
            )
    key = _file_key(path)
    if key not in _RUNS:
        try:
            _RUNS[key] = _Run.read(path)
        except (OSError, ValueError) as exc:   # pyarrow's ArrowInvalid is a ValueError
            if indicator_table is not None:
                raise DataError(f"indicator_table {str(path)!r}: cannot be read ({exc}); "
                                "expected the Parquet file prepare_run_tables wrote") from None
            warnings.warn(f"the cached run tables in {path.parent} could not be read ({exc}); "
                          "they are discarded and calculated again", stacklevel=2)
            shutil.rmtree(path.parent, ignore_errors=True)
            path = cached_run_tables(data, period_end, months)
            key = _file_key(path)
            _RUNS[key] = _Run.read(path)
        while len(_RUNS) > RUNS_KEPT:
            _RUNS.popitem(last=False)
    _RUNS.move_to_end(key)
    run = _RUNS[key]
    facts = run.facts
    if facts and (facts.get("period_end") != str(period_end)
                  or int(facts.get("months", months)) != int(months)):
        raise DataError(
            f"indicator_table {path.name}: calculated for {facts.get('months')} months to "
            f"{facts.get('period_end')}, but the report asks for {months} months to {period_end}"
        )
    return run


#: Runs kept in memory per process, most recently used last, so the explorer and a batch
#: kernel read each run's tables, and work out its suppression, once.
RUNS_KEPT = 3


def _file_key(path: Path) -> tuple:
    """A run table's identity: its path, and the size and modified time of its three files."""
    key: list = [str(path.resolve())]
    for name in (path.name, QUALITY_FILE, RUN_FILE):
        try:
            stat = path.with_name(name).stat()
            key += [stat.st_size, stat.st_mtime_ns]
        except FileNotFoundError:
            key += [None, None]
    return tuple(key)


class _Run:
    """One run's tables as read from disk, and what every report of the run shares.

    The frames are never changed in place (pandas copies on write), so every report can start
    from them. Worked out once, on first use: the suppression marks for a threshold (over the
    whole table, see :func:`clusterqi.disclosure.suppress_cells`) and where each cluster's rows
    are, so a report picks its rows without scanning all of Scotland.
    """

    def __init__(self, table: pd.DataFrame, flags: pd.DataFrame, facts: dict):
        self.table = table
        self.flags = flags
        self.facts = facts
        self._marks: dict[tuple[int, bool], pd.DataFrame] = {}
        self._places = None
        self._cluster_names: dict[str, str] | None = None

    @classmethod
    def read(cls, path: Path) -> "_Run":
        quality_path = path.with_name(QUALITY_FILE)
        run_path = path.with_name(RUN_FILE)
        return cls(
            pd.read_parquet(path),
            pd.read_parquet(quality_path) if quality_path.is_file() else pd.DataFrame(),
            json.loads(run_path.read_text(encoding="utf-8")) if run_path.is_file() else {},
        )

    def suppression(self, threshold: int, secondary: bool) -> pd.DataFrame:
        """:func:`clusterqi.disclosure.suppress_cells` over the whole table (cached)."""
        from clusterqi.disclosure import suppress_cells

        if (threshold, secondary) not in self._marks:
            self._marks[threshold, secondary] = suppress_cells(self.table, threshold, secondary)
        return self._marks[threshold, secondary]

    def scope(self, cluster_id: str, every_practice: bool = True) -> np.ndarray:
        """Positions of the rows disclosure control needs for one cluster's report, in order.

        The report's rows (:func:`report_rows`), every HSCP and board total row (other clusters'
        totals compare with their own areas) and the monthly rows of every HSCP and board the
        cluster's own rows name (a practice of a cross-boundary cluster sits in an HSCP other
        than the cluster's home one): a row's comparator value is withheld where its area's row
        for the same cell is suppressed. Without
        ``every_practice`` (audiences that see no other practice), another cluster's practice
        or an unclustered practice is there by one row only: such rows are never released,
        and suppression comes from the whole table, so disclosure control needs them only for
        what it knows about every practice (its name, code and cluster, and how many practices
        each cluster has), which one row gives.
        """
        if self._places is None:
            t = self.table
            level = t["level"].astype(str).to_numpy()
            total = t["period_type"].eq("total").to_numpy()
            practice = level == "practice"
            unit = practice | (level == "cluster")
            area = np.isin(level, ["hscp", "hb"])
            shared = (total & (area | (level == "cluster"))) | (level == "scotland")
            every = np.flatnonzero(shared | (total & practice))
            codes = t["area_id"].astype(str).to_numpy()
            _, first = np.unique(np.where(practice, codes, ""), return_index=True)
            one_each = np.zeros(len(t), bool)
            one_each[first] = True
            lean = np.flatnonzero(shared | (one_each & practice))
            cluster = t["cluster_id"].astype("string").where(unit)
            own = {str(k): v for k, v in cluster.groupby(cluster, dropna=True).indices.items()}
            areas = {(str(lv), str(a)): v for (lv, a), v in
                     t[area].groupby(["level", "area_id"], observed=True).indices.items()}
            areas = {k: np.flatnonzero(area)[v] for k, v in areas.items()}
            named: dict[str, set] = {}
            homes = t.loc[unit, ["cluster_id", "hscp_code", "hb_code"]].drop_duplicates()
            for cid, hscp, hb in homes.itertuples(index=False):
                if isinstance(cid, str):
                    named.setdefault(cid, set()).update(
                        ([("hscp", str(hscp))] if isinstance(hscp, str) else [])
                        + ([("hb", str(hb))] if isinstance(hb, str) else []))
            self._places = (every, lean, own, areas, named)
        every, lean, own, areas, named = self._places
        mine = own.get(cluster_id, np.array([], dtype=np.intp))
        parts = [every if every_practice else lean, mine]
        parts += [areas[k] for k in sorted(named.get(cluster_id, ())) if k in areas]
        return np.unique(np.concatenate(parts))

    @property
    def cluster_names(self) -> dict[str, str]:
        """cluster_id -> cluster name, for every cluster of the run."""
        if self._cluster_names is None:
            rows = self.table.loc[self.table["level"] == "cluster", ["area_id", "area_name"]]
            rows = rows.drop_duplicates("area_id")
            self._cluster_names = dict(zip(rows["area_id"].astype(str), rows["area_name"].astype(str)))
        return self._cluster_names


_RUNS: OrderedDict[tuple, _Run] = OrderedDict()


# --- one cluster's report -----------------------------------------------------------------------


@dataclass(frozen=True)
class ClusterReport:
    """Everything one cluster's report shows, already disclosure-controlled for its audience.

    ``table`` is the releasable indicator table (all of Scotland at the levels the audience may
    see, for the chosen indicators), with quality flags attached; ``numbers`` is the part of it
    the "download the numbers" CSV carries (the cluster, its practices as the audience may see
    them, and its comparator areas). ``disclosure_log`` is what disclosure control did to the
    rows the report shows (see :func:`clusterqi.disclosure.apply_disclosure`), with its summary
    entries. ``local`` is the local QI measure's table (or None).
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
    generated: str = field(
        default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds")
    )

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

        The table holds only the report's rows (:func:`report_rows`), so its HSCP and board rows
        are already the cluster's home ones.
        """
        t = self.table
        own = t[t["cluster_id"].astype("string").eq(self.cluster_id).fillna(False)
                & t["level"].isin(["cluster", "practice"])]
        areas = t[t["level"].isin(["hscp", "hb", "scotland"])]
        rows = pd.concat([own, areas], ignore_index=True)
        return rows[[c for c in NUMBERS_COLUMNS if c in rows.columns]]

    def numbers_csv(self) -> str:
        """:attr:`numbers` as CSV, estimates rounded to :data:`CSV_SIGNIFICANT_FIGURES` figures."""
        rows = self.numbers.copy()
        for column in rows.columns:
            if column not in ("numerator", "denominator") and pd.api.types.is_float_dtype(rows[column]):
                rows[column] = _significant(rows[column], CSV_SIGNIFICANT_FIGURES)
        from clusterqi.csv_safety import safe_csv; return safe_csv(rows, index=False)  # noqa: E702 (formula cells escaped)


def _check_parameters(cluster_id, period_end, months, audience, reveal_practice, threshold) -> None:
    problems = []
    if not isinstance(cluster_id, str) or not cluster_id:
        problems.append(f"cluster_id {cluster_id!r}: expected a cluster slug such as 'dundee-4'")
    if not (isinstance(period_end, str) and len(period_end) == 7 and period_end[4] == "-"):
        problems.append(f"period_end {period_end!r}: expected 'YYYY-MM', e.g. '2026-09'")
    if not isinstance(months, int) or months < 1:
        problems.append(f"months {months!r}: expected a whole number of months >= 1")
    if audience not in AUDIENCES:
        problems.append(f"audience {audience!r}: expected one of {', '.join(AUDIENCES)}")
    if audience == "practice" and not reveal_practice:
        problems.append("reveal_practice is empty: audience 'practice' names one practice code")
    if not isinstance(threshold, int) or threshold < 1:
        problems.append(f"threshold {threshold!r}: expected a whole number >= 1")
    if problems:
        raise DataError("report parameters: " + "; ".join(problems))


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


def build_report(
    cluster_id: str,
    period_end: str,
    months: int = 12,
    audience: str = "cluster",
    reveal_practice: str | None = None,
    indicators: str | list[str] = "all",
    data: str = SYNTHETIC,
    indicator_table: str | None = None,
    threshold: int = 5,
    local_measures: str | None = None,
    rounding: str = "none",
) -> ClusterReport:
    """One cluster's report, disclosure-controlled for ``audience``: the notebook's one call.

    Takes exactly the notebook's parameters (see notebooks/cluster_report.ipynb). Raises
    :class:`DataError` naming the parameter for a bad value or an unknown cluster.

    Example usage::

        report = build_report(cluster_id="dundee-4", period_end="2026-09", audience="cluster")
    """
    from clusterqi.disclosure import DisclosurePolicy, apply_disclosure
    from clusterqi.indicators import load_catalogue

    _check_parameters(cluster_id, period_end, months, audience, reveal_practice, threshold)
    catalogue = _select_indicators(indicators, load_catalogue())
    this_run = _run_tables(data, period_end, months, indicator_table)
    table, flags, run = this_run.table, this_run.flags, dict(this_run.facts)
    names = this_run.cluster_names
    if cluster_id not in names:
        sample = ", ".join(sorted(names)[:8])
        raise DataError(
            f"cluster_id {cluster_id!r} is not a cluster in the indicator table; expected a "
            f"cluster slug such as {sample} ..."
        )
    cluster_name = names[cluster_id]
    salt = {"salt": run["salt"]} if run.get("salt") else {}
    policy = DisclosurePolicy(
        audience=audience,
        cluster_id=cluster_id,
        threshold=threshold,
        reveal_practice=reveal_practice,
        rounding=str(rounding).replace("_", "-"),  # run files spell it nearest_5
        **salt,
    )
    # Suppression is worked out once per run over the whole table; disclosure control then
    # runs on the report's rows and the area rows they compare with (tests/report check this
    # equals controlling the whole table and then taking the report's rows).
    marks = this_run.suppression(threshold, policy.secondary) if audience != "analyst" else None
    scope = table.iloc[this_run.scope(cluster_id, every_practice=audience == "analyst")]
    if len(catalogue) < scope["indicator_id"].nunique():
        scope = scope[scope["indicator_id"].isin(list(catalogue))]
    releasable, log = apply_disclosure(scope, policy, suppression=marks)
    releasable = report_rows(releasable, cluster_id)
    log = _logged_in(log, releasable)
    # quality flags attach row by row, so only the rows the report shows need them
    releasable, notes = _attach_quality(releasable, flags, scope, policy, cluster_id)
    local, measure, annotations = (None, None, None)
    if local_measures:
        local, measure, annotations = _local_measure(local_measures, data, policy, table)
    parameters = {
        "cluster_id": cluster_id, "period_end": period_end, "months": months,
        "audience": audience, "reveal_practice": reveal_practice, "indicators": indicators,
        "data": str(data), "indicator_table": None if indicator_table is None else str(indicator_table),
        "threshold": threshold, "local_measures": local_measures, "rounding": rounding,
    }
    return ClusterReport(
        cluster_id=cluster_id, cluster_name=cluster_name, parameters=parameters,
        audience=audience, policy=policy, catalogue=catalogue, table=releasable,
        disclosure_log=log, quality_notes=notes, run=run, local=local, local_measure=measure,
        local_annotations=annotations,
    )


def report_rows(table: pd.DataFrame, cluster_id: str) -> pd.DataFrame:
    """The rows of a (releasable) indicator table that one cluster's report shows.

    The cluster's own rows (cluster and practices, every month and the total); the total rows
    of every other unit at practice and cluster level (funnel plots and the at-a-glance chart
    place the cluster among them); Scotland, and the cluster's home HSCP and board. Other
    clusters' month-by-month rows are not drawn anywhere, so they are left out: the report
    stays small and quick, and a report never carries more than it shows.

    Example usage::

        rows = report_rows(releasable, "dundee-4")
    """
    return table[_report_mask(table, cluster_id)].reset_index(drop=True)


def _report_mask(table: pd.DataFrame, cluster_id: str) -> np.ndarray:
    """Which rows :func:`report_rows` keeps."""
    def column(name: str) -> np.ndarray:
        return table[name].to_numpy(dtype=object)

    level, cluster, area = column("level"), column("cluster_id"), column("area_id")
    total = column("period_type") == "total"
    unit = (level == "cluster") | (level == "practice")
    own = unit & (cluster == cluster_id)
    keep = own | (total & unit) | (level == "scotland")
    home = own & (level == "cluster")
    hscps = {str(c) for c in column("hscp_code")[home] if isinstance(c, str)}
    boards = {str(c) for c in column("hb_code")[home] if isinstance(c, str)}
    keep |= (level == "hscp") & np.isin(area.astype(str), list(hscps))
    keep |= (level == "hb") & np.isin(area.astype(str), list(boards))
    return keep


def _logged_in(log: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """The disclosure log's entries about ``rows`` (a report's rows), and its summary entries."""
    key = ["indicator_id", "level", "area_id", "period"]
    summary = log["area_id"].isna().to_numpy()
    if summary.all():
        return log.reset_index(drop=True)
    shown = set(zip(*(rows[c].to_numpy(dtype=object) for c in key)))
    entries = zip(*(log[c].to_numpy(dtype=object) for c in key))
    keep = summary | np.fromiter((entry in shown for entry in entries), bool, count=len(log))
    return log[keep].reset_index(drop=True)


def _attach_quality(releasable: pd.DataFrame, flags: pd.DataFrame, table: pd.DataFrame,
                    policy, cluster_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Quality flags on the releasable table, and the releasable notes about this cluster only."""
    from clusterqi.quality import apply_quality_flags

    flagged, notes = apply_quality_flags(releasable, flags, table, policy)
    if len(notes):
        own = flagged["cluster_id"].astype("string").eq(cluster_id).fillna(False) & flagged["level"].eq("practice")
        mine = set(flagged.loc[own, "area_id"].astype(str)) | {cluster_id}
        notes = notes[notes["area_id"].astype(str).isin(mine)].reset_index(drop=True)
    return flagged, notes


def _local_measure(yaml_path, data, policy, table: pd.DataFrame) -> tuple[pd.DataFrame, Any, Any]:
    """The local QI measure's rows after disclosure control, its definition and PDSA cycles.

    The measure's data must be about practices of the loaded data (their codes are checked).
    """
    from clusterqi.disclosure import apply_disclosure
    from clusterqi.indicators import calculate_local_measure, load_local_measure
    from clusterqi.loaders import load_dataset

    measure = load_local_measure(yaml_path)
    rows = calculate_local_measure(measure, load_dataset(_data_folder(data)))
    annotations = rows.attrs.get("pdsa")
    released, _ = apply_disclosure(rows, policy)
    return released, measure, annotations
