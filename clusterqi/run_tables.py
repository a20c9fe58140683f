"""One run's tables: calculated once per inputs, cached by content, shared by batch, report and explorer.

A *run* is a data folder (or the embedded synthetic Scotland), a period and the indicator
definitions. Its tables are calculated once and kept as Parquet in the project cache
(``$CLUSTERQI_CACHE``, see :mod:`clusterqi.paths`) under a key made from their *content*: the
SHA-256 of every input file, the catalogue's hash, the period and a hash of clusterqi's own
source code. The batch, a single report and the explorer all ask :func:`cached_run_tables` and
so share one copy; in one process :func:`load_run` keeps the few most recently used runs in
memory, so a batch kernel or the explorer reads each run once.

What a run folder holds (:func:`prepare_run_tables` writes it):

- :data:`INDICATORS_FILE`: the analyst-level indicator table, every indicator and level, with
  the data-quality flags already joined (``quality_flag``; verdicts cleared where quality is in
  doubt: :func:`clusterqi.quality.flag_indicator_table`). It is **not releasable**: disclosure
  control (:func:`clusterqi.disclosure.apply_disclosure`) is the last step before anything from
  it is drawn or written.
- :data:`QUALITY_FILE`: the data-quality findings behind the flags, one row per unit,
  indicator, month and flag, with real codes (analyst-side; released through
  :func:`clusterqi.disclosure.release_findings`).
- :data:`CONTEXT_FILE`: each cluster's context (:func:`clusterqi.context.cluster_context`:
  list size, age mix, deprivation mix, its place among Scotland's clusters) and
  :data:`PRACTICE_CONTEXT_FILE`, each practice's (analyst-side: a practice's deprivation decile,
  age mix and size are quasi-identifiers, shown only to the analyst or for a revealed practice).
- :data:`RUN_FILE`: the run's facts (data extract dates, catalogue hash, period, clusterqi
  version, the salt that keys pseudonyms for every report of the run).

Why one module of this size: a run's tables are calculated, cached by content, read back
compactly and searched for each cluster's rows; all of it shares the folder layout, the file
names and the compact dtypes, which splitting would pass back and forth between modules.

Example usage::

    path = cached_run_tables("synthetic", "2026-09", 12)     # calculated once, then reused
    run = load_run(path)
    run.table.shape, run.findings.shape, run.facts["salt"]
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import warnings
from collections import OrderedDict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from clusterqi import __version__, vocabulary
from clusterqi.context import cluster_context, practice_context
from clusterqi.disclosure import suppress_cells
from clusterqi.errors import DataError
from clusterqi.hashing import code_hash, json_hash
from clusterqi.indicators import calculate_indicators, catalogue_hash, load_catalogue
from clusterqi.loaders import load_dataset
from clusterqi.loaders.reading import file_sha256
from clusterqi.paths import cache_dir, replacing
from clusterqi.quality import assess_quality, flag_indicator_table
from clusterqi.text_storage import arrow_strings
from clusterqi.vocabulary import CLUSTER, HB, HSCP, PRACTICE, SCOTLAND, UNIT_LEVELS

__all__ = [
    "SYNTHETIC",
    "INDICATORS_FILE",
    "QUALITY_FILE",
    "RUN_FILE",
    "CONTEXT_FILE",
    "PRACTICE_CONTEXT_FILE",
    "RUNS_KEPT",
    "CACHE_FOLDER",
    "data_folder",
    "run_key",
    "prepare_run_tables",
    "cached_run_tables",
    "ready_run_tables",
    "Run",
    "load_run",
    "compact",
    "plain",
]

SYNTHETIC = "synthetic"
"""The ``data`` value meaning "the embedded synthetic Scotland" (generated once, cached)."""

INDICATORS_FILE = "indicators.parquet"
QUALITY_FILE = "quality.parquet"
RUN_FILE = "run.json"
CONTEXT_FILE = "context.parquet"
PRACTICE_CONTEXT_FILE = "practice-context.parquet"
"""File names :func:`prepare_run_tables` writes into its folder."""

CACHE_FOLDER = "runs"
"""The run tables' folder in the project cache: ``<cache>/runs/<content key>/``."""

#: Version of what a run folder holds: part of the key, so older folders are never read.
RUN_FORMAT = 3

#: Runs kept in memory per process, most recently used last.
RUNS_KEPT = 3


def data_folder(data: str | os.PathLike) -> Path:
    """The folder of PHS files ``data`` names (``"synthetic"``: generated once, cached)."""
    if str(data) == SYNTHETIC:
        from clusterqi.synthetic import (
            ensure_synthetic,  # generating it imports much: on demand
        )

        return Path(ensure_synthetic())
    folder = Path(data)
    if not folder.is_dir():
        raise DataError(f"data {str(data)!r}: no such folder; expected a folder of PHS files or 'synthetic'")
    return folder


def run_key(folder: Path, period_end: str, months: int) -> str:
    """The run's content key: every input file's path and SHA-256, the catalogue, the period and
    clusterqi's source. Files are hashed once and remembered by their size, times and inode
    (:func:`clusterqi.loaders.reading.file_sha256`), so an unchanged folder is not read again."""
    files = [(str(p.relative_to(folder)), file_sha256(p))
             for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.startswith(".")]
    return json_hash([RUN_FORMAT, files, catalogue_hash(load_catalogue()), str(period_end),
                      int(months), code_hash()])[:20]


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


def prepare_run_tables(data, period_end: str, months: int, out_dir) -> Path:
    """Calculate a run's tables once and write them into ``out_dir``; return the table's path.

    ``data`` is a folder of PHS files or ``"synthetic"``. Writes :data:`INDICATORS_FILE` (the
    analyst-level indicator table with the data-quality flags joined), :data:`QUALITY_FILE` (the
    findings behind them) and :data:`RUN_FILE`. Files are written under temporary names and
    renamed, so a reader never sees half a table. The returned path is what the report notebook
    takes as ``indicator_table``; the other two files are found beside it.

    Example usage::

        path = prepare_run_tables("synthetic", "2026-09", 12, "/tmp/run")
    """
    folder = data_folder(data)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    dataset = load_dataset(folder)
    catalogue = load_catalogue()
    table = calculate_indicators(dataset, catalogue, period_end, months=months)
    flags = assess_quality(dataset, table)
    flagged, findings = flag_indicator_table(table, flags)
    context = cluster_context(dataset.practices, dataset.populations)
    practices = practice_context(dataset.practices, dataset.populations)
    run = {
        "data": str(data) if str(data) == SYNTHETIC else str(folder.resolve()),
        "period_end": str(period_end),
        "months": int(months),
        "catalogue_hash": catalogue_hash(catalogue),
        "sources": _sources(dataset),
        "warnings": [str(w) for w in table.attrs.get("warnings", [])],
        "deprivation": bool(_has_simd(dataset)),
        "clusterqi_version": __version__,
        "salt": secrets.token_hex(16),  # keys the pseudonym order: stable for every report of the run
        "calculated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    _write_parquet(_plain(flagged), out_dir / INDICATORS_FILE)
    _write_parquet(_plain(findings), out_dir / QUALITY_FILE)
    _write_parquet(_plain(context), out_dir / CONTEXT_FILE)
    _write_parquet(_plain(practices), out_dir / PRACTICE_CONTEXT_FILE)
    with replacing(out_dir / RUN_FILE) as tmp:
        tmp.write_text(json.dumps(run, indent=2), encoding="utf-8")
    return out_dir / INDICATORS_FILE


def _has_simd(dataset) -> bool:
    practices = dataset.practices
    return "simd_rank" in practices.columns and practices["simd_rank"].notna().any()


def _complete(out_dir: Path) -> bool:
    return all((out_dir / name).is_file() for name in
               (INDICATORS_FILE, QUALITY_FILE, CONTEXT_FILE, PRACTICE_CONTEXT_FILE, RUN_FILE))


def cached_run_tables(data, period_end: str, months: int) -> Path:
    """The run tables for ``data`` and the period, from the project cache (calculated once).

    Keyed by content (:func:`run_key`), so changed data, definitions or code are calculated
    again, and the batch, reports and the explorer share one copy. Returns the indicator table's
    path, as :func:`prepare_run_tables` does.

    Example usage::

        path = cached_run_tables("synthetic", "2026-09", 12)
    """
    out_dir = _run_folder(data, period_end, months)
    if not _complete(out_dir):
        prepare_run_tables(data, period_end, months, out_dir)
    return out_dir / INDICATORS_FILE


def _run_folder(data, period_end: str, months: int) -> Path:
    """The cache folder of the run's tables (by :func:`run_key`)."""
    return cache_dir(CACHE_FOLDER, run_key(data_folder(data), period_end, months))


def ready_run_tables(data, period_end: str, months: int, threshold: int | None = None) -> Path | None:
    """The cached run's indicator table if :func:`cached_run_tables` would find it complete
    (and, for ``threshold``, with its audited suppression marks, as a batch prepares them),
    else None. Reads nothing but the inputs' digests (remembered by file size and times).

    Example usage::

        path = ready_run_tables("synthetic", "2026-09", 12, threshold=5)
    """
    out_dir = _run_folder(data, period_end, months)
    if not _complete(out_dir):
        return None
    if threshold is not None and not (out_dir / SUPPRESSION_FILE.format(
            threshold=int(threshold), secondary="true")).is_file():
        return None
    return out_dir / INDICATORS_FILE


def read_table(path: Path) -> pd.DataFrame:
    """A Parquet table as pandas, the same frame ``pd.read_parquet`` gives, at half its peak
    memory: Arrow's buffers are released column by column as pandas takes them over
    (``self_destruct``), so a batch kernel never holds the run table twice."""
    return pq.read_table(path).to_pandas(self_destruct=True, split_blocks=True)


#: A text column whose distinct values are at most this share of its rows is held in memory as a
#: category (a run table repeats indicator ids, area names, periods... on every row).
CATEGORY_SHARE = 0.2
#: Suppression marks kept beside the run tables, by threshold and secondary suppression.
SUPPRESSION_FILE = "suppression-t{threshold}-{secondary}.parquet"


def compact(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The frame with its repetitive text columns as categories, and their original dtypes (for
    :func:`plain`). A run table takes about half the memory, so a batch kernel can hold two."""
    dtypes: dict[str, Any] = {}
    out = {}
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_string_dtype(values.dtype) and len(values) and (
                values.nunique(dropna=True) <= CATEGORY_SHARE * len(values)):
            dtypes[column] = values.dtype
            out[column] = values.astype("category")
    return (frame.assign(**out) if out else frame), dtypes


def plain(frame: pd.DataFrame, dtypes: dict[str, Any]) -> pd.DataFrame:
    """A part of a :func:`compact` frame with its columns back in their original dtypes (the
    same frame the Parquet file gives for those rows)."""
    back = {c: _uncategorised(frame[c], dtype) for c, dtype in dtypes.items() if c in frame.columns}
    return frame.assign(**back) if back else frame


def _uncategorised(column: pd.Series, dtype: Any) -> pd.Series:
    """A category column back as ``dtype``. For Arrow-backed text (the run tables' text) the
    categories are taken by code in Arrow: pandas' ``astype`` goes through a Python object per
    row (~70 ms of every report's ~30,000 rows; this ~10 ms). The same values, missing included."""
    values = column.array
    categories = getattr(getattr(values, "categories", None), "array", None)
    if (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"
            and isinstance(categories, pd.arrays.ArrowStringArray)):
        codes = values.codes
        taken = pa.array(categories).take(pa.array(codes, mask=codes < 0))
        return pd.Series(dtype.construct_array_type()(taken, dtype=dtype), index=column.index,
                         name=column.name)
    return column.astype(dtype)


_NO_ROWS = np.array([], dtype=np.intp)


class Run:
    """One run's tables as read from disk, and what every report of the run shares.

    The frames are never changed in place (pandas copies on write), so every report can start
    from them. The indicator table is held compact (:func:`compact`); :meth:`rows` gives rows
    as the file has them. Worked out once: the suppression marks for a threshold (over the whole
    table with the linear-programming audit, see :func:`clusterqi.disclosure.suppress_cells`;
    kept in a file beside the tables, so every process of a run reads them instead of working
    them out again) and where each cluster's rows are (:meth:`scope`), so a report picks its rows
    without scanning all of Scotland.
    """

    def __init__(self, table: pd.DataFrame, findings: pd.DataFrame, facts: dict,
                 context: pd.DataFrame | None = None, practice_context: pd.DataFrame | None = None,
                 path: Path | None = None):
        self.table, self._dtypes = compact(table)
        self.path = path
        self.findings = findings
        self.facts = facts
        self.context = context if context is not None else pd.DataFrame()
        self.practice_context = practice_context if practice_context is not None else pd.DataFrame()
        self._marks: dict[tuple[int, bool], pd.DataFrame] = {}
        self._places = None
        self._cluster_names: dict[str, str] | None = None
        self._months: list[str] | None = None

    @classmethod
    def read(cls, path: Path) -> "Run":
        def optional(name: str) -> pd.DataFrame:
            beside = path.with_name(name)
            return pd.read_parquet(beside) if beside.is_file() else pd.DataFrame()

        run_path = path.with_name(RUN_FILE)
        return cls(
            read_table(path),
            optional(QUALITY_FILE),
            json.loads(run_path.read_text(encoding="utf-8")) if run_path.is_file() else {},
            optional(CONTEXT_FILE),
            optional(PRACTICE_CONTEXT_FILE),
            path=path,
        )

    def rows(self, positions: np.ndarray) -> pd.DataFrame:
        """The table's rows at ``positions`` (index labels kept), as the Parquet file has them."""
        return plain(self.table.iloc[positions], self._dtypes)

    def suppression(self, threshold: int, secondary: bool) -> pd.DataFrame:
        """:func:`clusterqi.disclosure.suppress_cells` over the whole table, with the audit
        (``audit=secondary``), read from the run's folder or worked out once and written there."""
        key = (int(threshold), bool(secondary))
        if key not in self._marks:
            name = SUPPRESSION_FILE.format(threshold=key[0], secondary=str(key[1]).lower())
            stored = self.path.with_name(name) if self.path is not None else None
            marks = None
            if stored is not None and stored.is_file():
                try:
                    marks = read_table(stored)
                    if len(marks) != len(self.table):
                        marks = None
                except (OSError, ValueError):
                    marks = None  # a broken file is worked out again
            if marks is None:
                marks = suppress_cells(plain(self.table, self._dtypes), key[0], key[1], audit=key[1])
                if stored is not None:
                    _write_parquet(marks.reset_index(drop=True), stored)
            marks.index = self.table.index
            self._marks[key] = compact(marks)
        return self._marks[key][0]

    def marks_for(self, rows: pd.DataFrame, threshold: int, secondary: bool) -> pd.DataFrame:
        """:meth:`suppression`'s marks for some rows of the table (their index labels), as
        :func:`clusterqi.disclosure.suppress_cells` gives them."""
        marks = self.suppression(threshold, secondary)
        return plain(marks.loc[rows.index], self._marks[int(threshold), bool(secondary)][1])

    def scope(self, cluster_id: str, every_practice: bool = True) -> np.ndarray:
        """Positions of the rows disclosure control needs for one cluster's report, in order.

        The report's rows (:func:`clusterqi.report_rows.report_rows`), every HSCP and board total
        row (other clusters' totals compare with their own areas), the monthly rows of its peer
        clusters (members of a pooled comparator) and the monthly rows of every
        HSCP and board the cluster's own rows name (a practice of a cross-boundary cluster sits
        in an HSCP other than the cluster's home one): a row's comparator value is withheld
        where its area's row for the same cell is suppressed. Without ``every_practice``
        (audiences that see no other practice), another cluster's practice or an unclustered
        practice is there by one row only: such rows are never released, and suppression comes
        from the whole table, so disclosure control needs them only for what it knows about
        every practice (its name, code and cluster, and how many practices each cluster has),
        which one row gives.
        """
        every, lean, own, *_ = self._place_index()
        return self._with_areas_and_peers(
            cluster_id, [every if every_practice else lean, own.get(cluster_id, _NO_ROWS)])

    def own_scope(self, cluster_id: str) -> np.ndarray:
        """Positions of the rows disclosure control needs for the cluster's own cluster-level
        rows alone (what "since the last report" compares): those rows, Scotland's, the rows of
        the HSCPs and boards its rows name and of its peer clusters (their comparators are
        withheld where those are suppressed), and one row per practice (what disclosure control
        knows of every practice). ``tests/report`` checks the released rows equal the full
        report's."""
        *_, cluster_rows, _, known = self._place_index()
        return self._with_areas_and_peers(cluster_id, [known, cluster_rows.get(cluster_id, _NO_ROWS)])

    def _place_index(self) -> tuple:
        """:func:`_places` of the table, worked out once."""
        if self._places is None:
            self._places = _places(self.table)
        return self._places

    def _with_areas_and_peers(self, cluster_id: str, parts: list[np.ndarray]) -> np.ndarray:
        """``parts`` with the rows of the HSCPs and boards the cluster's rows name and of its
        peer clusters (a pooled comparator is withheld where any member's cell is suppressed),
        as sorted unique positions."""
        _, _, _, areas, named, cluster_rows, peers, _ = self._place_index()
        parts = parts + [areas[k] for k in sorted(named.get(cluster_id, ())) if k in areas]
        parts += [cluster_rows[p] for p in peers.get(cluster_id, ()) if p in cluster_rows]
        return np.unique(np.concatenate(parts))

    @property
    def months(self) -> list[str]:
        """The months (``"YYYY-MM"``) the table has month rows for, in order (worked out once)."""
        if self._months is None:
            rows = self.table.loc[self.table["period_type"] == "month", "period"]
            self._months = sorted(str(p) for p in pd.unique(rows.astype(str)))
        return self._months

    @property
    def cluster_names(self) -> dict[str, str]:
        """cluster_id -> cluster name, for every cluster of the run."""
        if self._cluster_names is None:
            rows = self.table.loc[self.table["level"] == CLUSTER, ["area_id", "area_name"]]
            rows = rows.drop_duplicates("area_id")
            self._cluster_names = dict(zip(rows["area_id"].astype(str), rows["area_name"].astype(str)))
        return self._cluster_names


def _places(t: pd.DataFrame) -> tuple:
    """Row positions :meth:`Run.scope` combines: shared rows (with every practice's total, and
    with one row per practice), each cluster's own rows, each area's rows, each cluster's areas."""
    level = t["level"].astype(str).to_numpy()
    total = t["period_type"].eq("total").to_numpy()
    practice = level == PRACTICE
    unit = np.isin(level, UNIT_LEVELS)
    area = np.isin(level, [HSCP, HB])
    shared = (total & (area | (level == CLUSTER))) | (level == SCOTLAND)
    every = np.flatnonzero(shared | (total & practice))
    codes = t["area_id"].astype(str).to_numpy()
    _, first = np.unique(np.where(practice, codes, ""), return_index=True)
    one_each = np.zeros(len(t), bool)
    one_each[first] = True
    lean = np.flatnonzero(shared | (one_each & practice))
    known = np.flatnonzero((level == SCOTLAND) | (one_each & practice))
    cluster = t["cluster_id"].astype("string").where(unit)
    own = {str(k): v for k, v in cluster.groupby(cluster, dropna=True).indices.items()}
    areas = {(str(lv), str(a)): v for (lv, a), v in
             t[area].groupby(["level", "area_id"], observed=True).indices.items()}
    areas = {k: np.flatnonzero(area)[v] for k, v in areas.items()}
    is_cluster = level == CLUSTER
    ids = t["area_id"].astype("string").where(is_cluster)
    cluster_rows = {str(k): v for k, v in ids.groupby(ids, dropna=True).indices.items()}
    peers: dict[str, list[str]] = {}
    for comparator in vocabulary.comparators():
        column = comparator.members_column
        if column is None or column not in t.columns:
            continue
        listed = t.loc[is_cluster, ["area_id", column]].dropna().drop_duplicates("area_id")
        for cid, members in listed.itertuples(index=False):
            peers.setdefault(str(cid), []).extend(str(members).split(vocabulary.MEMBER_SEPARATOR))
    named: dict[str, set] = {}
    homes = t.loc[unit, ["cluster_id", "hscp_code", "hb_code"]].drop_duplicates()
    for cid, hscp, hb in homes.itertuples(index=False):
        if isinstance(cid, str):
            named.setdefault(cid, set()).update(
                ([(HSCP, str(hscp))] if isinstance(hscp, str) else [])
                + ([(HB, str(hb))] if isinstance(hb, str) else []))
    return every, lean, own, areas, named, cluster_rows, peers, known


_RUNS: OrderedDict[tuple, Run] = OrderedDict()


def _file_key(path: Path) -> tuple:
    """A run table's identity: its path, and the size and change times of its three files."""
    key: list = [str(path.resolve())]
    for name in (path.name, QUALITY_FILE, RUN_FILE):
        try:
            stat = path.with_name(name).stat()
            key += [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns]
        except FileNotFoundError:
            key += [None, None, None]
    return tuple(key)


def load_run(path: str | os.PathLike, rebuild=None) -> Run:
    """The run whose indicator table is at ``path``, read once per process (a small LRU).

    A file that cannot be read raises :class:`DataError` naming it, unless ``rebuild`` (a
    function returning a new path) is given: then the broken folder is discarded with a warning
    and ``rebuild()``'s run is read instead (a cache that cannot lie).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"indicator_table {str(path)!r}: no such file; expected the Parquet file "
                        "clusterqi.run_tables.prepare_run_tables wrote")
    key = _file_key(path)
    if key not in _RUNS:
        try:
            _RUNS[key] = Run.read(path)
        except (OSError, ValueError) as exc:   # pyarrow's ArrowInvalid is a ValueError
            if rebuild is None:
                raise DataError(f"indicator_table {str(path)!r}: cannot be read ({exc}); "
                                "expected the Parquet file prepare_run_tables wrote") from None
            warnings.warn(f"the cached run tables in {path.parent} could not be read ({exc}); "
                          "they are discarded and calculated again", stacklevel=2)
            shutil.rmtree(path.parent, ignore_errors=True)
            return load_run(rebuild())
        while len(_RUNS) > RUNS_KEPT:
            _RUNS.popitem(last=False)
    _RUNS.move_to_end(key)
    return _RUNS[key]


@arrow_strings  # a run's tables keep Arrow text whoever asks (clusterqi.text_storage)
def run_for(data, period_end: str, months: int, indicator_table=None) -> Run:
    """The run a report asks for: its ``indicator_table`` if given, else the cached run of
    ``data``; checked to be for the same period."""
    if indicator_table is None:
        run = load_run(cached_run_tables(data, period_end, months),
                       rebuild=lambda: cached_run_tables(data, period_end, months))
    else:
        run = load_run(indicator_table)
    facts = run.facts
    if facts and (facts.get("period_end") != str(period_end)
                  or int(facts.get("months", months)) != int(months)):
        name = Path(indicator_table).name if indicator_table is not None else INDICATORS_FILE
        raise DataError(
            f"indicator_table {name}: calculated for {facts.get('months')} months to "
            f"{facts.get('period_end')}, but the report asks for {months} months to {period_end}"
        )
    return run
