"""Batch generation: one HTML report per GP cluster, an index page and a provenance manifest.

:func:`run_batch` is what ``clusterqi batch PARAMS.yaml`` does:

1. validate the run file and check it against the data (every problem listed at once); a run of
   all its clusters starts its workers and their kernels first, so they are ready when planning ends;
2. load and calculate once for the whole run (:func:`clusterqi.run_tables.cached_run_tables` writes
   the indicator table as Parquet to the cache; each notebook gets its path as ``indicator_table``);
3. run the report notebook for each cluster in parallel (:mod:`clusterqi.executors`: spawn workers
   with reused, reset kernels; each report with a timeout; a failure never stops the others), with
   a tqdm progress bar showing counts and the ETA;
4. write ``<output>/<cluster_id>.html`` atomically, ``<output>/manifest.json`` after every report
   (so a crash loses nothing that finished) and ``<output>/index.html`` at the end;
5. return a :class:`BatchSummary` (done, failed with the failing cell's error in one line, skipped).

``resume=True`` re-runs only clusters whose report is missing, failed, changed on disk, or whose
inputs changed (data files, indicator definitions, notebook, parameters, clusterqi version: all by
hash). ``only`` restricts the run to some clusters; ``dry_run`` validates and lists what would run.

Why one module of this size: planning, provenance (the manifest), the output lock and the run loop
are the batch's one job; the executors, kernels, run tables and index page are already their own
modules.

Example usage::

    from clusterqi.batch import run_batch

    summary = run_batch("parameters/demo.yaml", resume=True)
    print(summary.table())
    raise SystemExit(summary.exit_code)
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from clusterqi import __version__
from clusterqi.errors import DataError
from clusterqi.executors import (
    DEFAULT_RENDERER,
    Executor,
    ReportJob,
    ReportResult,
    make_executor,
)
from clusterqi.hashing import json_hash, sha256_file
from clusterqi.index_page import report_counts, write_index
from clusterqi.indicators import catalogue_hash
from clusterqi.paths import TEMPORARY_GLOB, project_root, replacing
from clusterqi.run_tables import cached_run_tables, load_run, ready_run_tables
from clusterqi.runfile import (
    RunFile,
    check_against_data,
    cluster_directory,
    data_months,
    forget_datasets,
    load_run_file,
)
from clusterqi.since import (
    SAME_PERIOD_A_QUARTER_EARLIER,
    earlier_period_end,
    read_previous_manifest,
)
from clusterqi.vocabulary import audience

__all__ = ["run_batch", "plan_batch", "demo_run", "BatchPlan", "BatchSummary", "read_manifest", "MANIFEST_NAME"]

MANIFEST_NAME = "manifest.json"
INDEX_NAME = "index.html"
#: Temporary report files a killed export can leave (``.<cluster_id>.html.<pid>.<token>.tmp``,
#: see :func:`clusterqi.paths.replacing`).
PARTIAL_GLOB = TEMPORARY_GLOB
#: Status of a cluster selected by the run file that has not been run yet.
NOT_RUN = "not run"


def _write_json_atomic(path: Path, value: Any) -> None:
    with replacing(path) as tmp:
        tmp.write_text(json.dumps(value, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8")


def _prepare_output(output: Path) -> None:
    """Create the output folder, or raise one clear DataError saying why it cannot be used."""
    try:
        output.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise DataError(f"{output}: a file is in the way of the output folder; expected a folder "
                        "(move the file or choose another output)") from None
    except OSError as exc:
        raise DataError(f"{output}: cannot create the output folder ({exc.strerror})") from None
    if not os.access(output, os.W_OK | os.X_OK):
        raise DataError(f"{output}: the output folder is not writable; choose another output or "
                        "fix its permissions")


@contextlib.contextmanager
def output_lock(output: Path):
    """Hold the output folder's batch lock for the block; a second batch is refused at once.

    An advisory ``flock`` on the folder itself (no lock file to leave behind): the operating
    system releases it when the process ends, even by ``kill -9``, so a crash never leaves a
    stale lock. Leftover ``.partial`` files of a killed export are removed once it is held.
    """
    try:
        handle = os.open(output, os.O_RDONLY)
    except OSError as exc:
        raise DataError(f"{output}: cannot open the output folder ({exc.strerror})") from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            raise DataError(f"{output}: another batch is writing into this folder; wait for it "
                            "to finish or choose another output") from None
        for leftover in output.glob(PARTIAL_GLOB):
            leftover.unlink(missing_ok=True)
        yield
    finally:
        os.close(handle)


def read_manifest(output: str | Path) -> dict[str, Any]:
    """The run folder's ``manifest.json`` as a dict (empty when there is none yet)."""
    path = Path(output) / MANIFEST_NAME
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc}); delete it to start the run afresh") from None


@dataclass
class BatchPlan:
    """What a batch will do: the run, its clusters, which of them run now, and the provenance."""

    run: RunFile
    directory: pd.DataFrame
    selected: list[str]
    to_run: list[str]
    skipped: list[str]
    provenance: dict[str, Any]
    cluster_hashes: dict[str, str]
    dataset: Any = field(repr=False, default=None)
    since: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """A few lines saying what would run (``--dry-run`` prints this)."""
        names = self.directory.set_index("cluster_id")["cluster_name"]
        lines = [
            f"run file {self.run.source}: {len(self.selected)} cluster(s) selected, "
            f"{len(self.to_run)} to run, {len(self.skipped)} up to date (skipped); "
            f"period {self.run.period_start}..{self.run.period_end}, audience {self.run.audience}, "
            f"output {self.run.output}",
        ]
        lines += [f"  would run {cid}  ({names.get(cid, '?')})" for cid in self.to_run]
        return "\n".join(lines)


@dataclass
class BatchSummary:
    """Outcome of a batch: per-cluster results, skipped clusters, where the index is."""

    output: Path
    results: list[ReportResult]
    skipped: list[str]
    seconds: float
    dry_run: bool = False

    @property
    def done(self) -> list[ReportResult]:
        return [r for r in self.results if r.status == "done"]

    @property
    def failed(self) -> list[ReportResult]:
        return [r for r in self.results if r.status == "failed"]

    @property
    def index(self) -> Path:
        return self.output / INDEX_NAME

    @property
    def exit_code(self) -> int:
        """0 when nothing failed, 1 otherwise (what ``clusterqi batch`` exits with)."""
        return 1 if self.failed else 0

    def table(self) -> str:
        """The end-of-run summary: counts, then each failure with its error in one line."""
        width = max([len(r.cluster_id) for r in self.failed] + [7])
        lines = [
            f"{'status':<8} {'clusters':>8}",
            f"{'done':<8} {len(self.done):>8}",
            f"{'failed':<8} {len(self.failed):>8}",
            f"{'skipped':<8} {len(self.skipped):>8}",
            f"wall time {self.seconds:.1f} s; index: {self.index}",
        ]
        if self.failed:
            lines += ["", f"{'cluster':<{width}}  error"]
            lines += [f"{r.cluster_id:<{width}}  {r.error}" for r in sorted(self.failed, key=lambda r: r.cluster_id)]
        return "\n".join(lines)


def _provenance(run: RunFile, dataset) -> dict[str, Any]:
    sources = dataset.sources
    inputs = [
        {"file": str(row["file"]), "kind": str(row["kind"]), "sha256": str(row["sha256"]), "period": str(row["period"])}
        for row in sources.to_dict("records")
    ] if sources is not None and len(sources) else []
    return {
        "clusterqi_version": __version__,
        "inputs": inputs,
        "indicator_definitions_sha256": catalogue_hash(),
        "notebook": str(run.notebook),
        "notebook_sha256": sha256_file(run.notebook),
    }


def _cluster_hash(run: RunFile, cluster_id: str, provenance: dict[str, Any]) -> str:
    """Hash of everything a cluster's report depends on (resume re-runs it when this changes)."""
    return json_hash(
        {
            "parameters": run.notebook_parameters(cluster_id),
            "inputs": [item["sha256"] for item in provenance["inputs"]],
            "indicator_definitions": provenance["indicator_definitions_sha256"],
            "notebook": provenance["notebook_sha256"],
            "version": provenance["clusterqi_version"],
        }
    )


def _needs_run(entry: dict[str, Any] | None, output: Path, cluster_hash: str) -> bool:
    if not entry or entry.get("status") != "done" or entry.get("inputs_sha256") != cluster_hash:
        return True
    report = output / entry.get("output", "")
    return not report.is_file() or sha256_file(report) != entry.get("output_sha256")


def plan_batch(run: RunFile | str | Path, *, only: Sequence[str] | None = None, resume: bool = False) -> BatchPlan:
    """Validate a run against its data and decide which clusters run now (nothing is executed).

    Raises :class:`DataError` listing every problem of the run file, and ``--only`` ids that are
    not among the run's clusters.
    """
    run = run if isinstance(run, RunFile) else load_run_file(run)
    dataset = run.load_dataset()
    directory = cluster_directory(dataset)
    check_against_data(run, dataset, directory)
    selected = run.select_clusters(directory)
    if only:
        unknown = [cid for cid in only if cid not in selected]
        if unknown:
            raise DataError(
                f"{run.source}: --only {', '.join(unknown)}: not among this run's {len(selected)} clusters"
            )
        wanted = list(dict.fromkeys(only))
    else:
        wanted = selected
    provenance = _provenance(run, dataset)
    hashes = {cid: _cluster_hash(run, cid, provenance) for cid in selected}
    previous = read_manifest(run.output).get("clusters", {}) if resume else {}
    to_run = [cid for cid in wanted if not resume or _needs_run(previous.get(cid), run.output, hashes[cid])]
    skipped = [cid for cid in wanted if cid not in to_run]
    since = _since_record(run, dataset, provenance)
    forget_datasets()  # the plan keeps what it needs; the batch process stays small
    return BatchPlan(run, directory, selected, to_run, skipped, provenance, hashes, None,
                     since=since)


def _since_record(run: RunFile, dataset, provenance: dict[str, Any]) -> dict[str, Any]:
    """What the manifest says about "Since the last report": the earlier period (same length,
    recalculated from the data with today's definitions), which run it came from, whether that
    run's definitions differ, whether the data reach back to it (``changes`` is added as the
    reports finish)."""
    end = earlier_period_end(run.period_end, run.previous_manifest, run.previous_period_end)
    first = pd.Period(end, freq="M") - (run.months - 1)
    record: dict[str, Any] = {
        "period": f"{first}..{end}",
        "period_end": end,
        "source": SAME_PERIOD_A_QUARTER_EARLIER,
        "previous_run": None,
        "previous_definitions_sha256": None,
        "definitions_changed": False,
        "reason": None,
    }
    if run.previous_period_end:
        record["source"] = f"previous period {run.previous_period_end}"
    if run.previous_manifest:
        previous = read_previous_manifest(run.previous_manifest)
        before = previous.get("indicator_definitions_sha256")
        record.update(source=f"previous run {run.previous_manifest}", previous_run=str(run.previous_manifest),
                      previous_definitions_sha256=before,
                      definitions_changed=before != provenance["indicator_definitions_sha256"])
    span = data_months(dataset)
    if end >= run.period_end:
        record["reason"] = f"the earlier period ends in {end}, not before {run.period_end}"
    elif span is None or str(first) < span[0]:
        record["reason"] = (f"the data do not reach back far enough (the earlier period starts in "
                            f"{first}; the data in {span[0] if span else 'no month'})")
    return record


def _manifest(plan: BatchPlan, clusters: dict[str, dict[str, Any]], started: str) -> dict[str, Any]:
    parameters = plan.run.model_dump(mode="json", exclude={"source"})
    return {
        "run_file": str(plan.run.source),
        "run_file_sha256": sha256_file(plan.run.source) if plan.run.source else None,
        "started": started,
        "updated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "parameters": parameters,
        **plan.provenance,
        "since": {**plan.since, "changes": _total_changes(clusters, plan.since)},
        "clusters": clusters,
    }


def _total_changes(clusters: dict[str, dict[str, Any]], since: dict[str, Any]) -> int | None:
    """Changes since the earlier period over every cluster whose report counted them."""
    counts = [e.get("changes") for e in clusters.values() if isinstance(e.get("changes"), int)]
    return sum(counts) if counts and not since.get("reason") else None


def _cluster_entries(plan: BatchPlan, previous: dict[str, Any]) -> dict[str, dict[str, Any]]:
    rows = plan.directory.set_index("cluster_id")
    entries: dict[str, dict[str, Any]] = {}
    for cid in plan.selected:
        row = rows.loc[cid]
        entry = {
            "cluster_name": str(row["cluster_name"]),
            "hscp_name": str(row["hscp_name"]),
            "hb_name": str(row["hb_name"]),
            "practices": int(row["practices"]),
            "status": NOT_RUN,
            "output": f"{cid}.html",
            "output_sha256": None,
            "seconds": None,
            "error": None,
            "inputs_sha256": plan.cluster_hashes[cid],
            "discuss": None,
            "changes": None,
        }
        old = previous.get(cid)
        if old and cid not in plan.to_run:
            entry.update({k: old.get(k) for k in ("status", "output_sha256", "seconds", "error", "inputs_sha256",
                                                  "discuss", "changes")})
        entries[cid] = entry
    return entries


def run_batch(
    run: RunFile | str | Path,
    *,
    resume: bool = False,
    only: Sequence[str] | None = None,
    dry_run: bool = False,
    workers: int | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    renderer: Callable[..., Any] = DEFAULT_RENDERER,
    progress: bool = True,
    on_result: Callable[[ReportResult], None] | None = None,
) -> BatchSummary:
    """Render one report per cluster of a run file; see the module docstring for the steps.

    ``workers`` overrides the run file's; ``executor`` is "local" (process pool) or "dask" (with
    ``scheduler``, e.g. ``tcp://10.0.0.5:8786``); ``renderer`` is the function turning an
    executed notebook into HTML (it writes its ``out`` atomically); ``on_result`` is called with each result as it arrives (after the
    manifest records it). Returns a :class:`BatchSummary`; raises :class:`DataError` for an invalid
    run file before anything runs.
    """
    clock = time.perf_counter()
    run = run if isinstance(run, RunFile) else load_run_file(run)
    ahead = None if dry_run or resume or only else _started_ahead(run, workers, executor)
    try:
        plan = plan_batch(run, only=only, resume=resume)
        run = plan.run
        if dry_run:
            print(plan.describe())
            return BatchSummary(run.output, [], plan.skipped, time.perf_counter() - clock, dry_run=True)
        output = run.output
        _prepare_output(output)
        with output_lock(output):
            try:
                return _run_locked(plan, output, clock, workers, executor, scheduler, renderer,
                                   progress, on_result, ahead)
            except OSError as exc:
                done = len([p for p in output.glob("*.html") if p.name != INDEX_NAME])
                raise DataError(
                    f"{output}: could not write {Path(exc.filename).name if exc.filename else 'a file'}"
                    f" ({exc.strerror}); the {done} report(s) already in the folder are kept: free "
                    "space or fix the folder, then run again with --resume") from None
    finally:
        if ahead is not None:
            ahead.close()


def _started_ahead(run: RunFile, workers: int | None, executor: str) -> Executor | None:
    """The local workers, their kernels already starting while the batch plans (planning reads
    the data on one core for a few seconds; each kernel's start is ~3 s of imports). Only for a
    run of all its clusters (no ``--resume`` or ``--only``, which may leave fewer reports than
    workers, or none); a plan that fails stops them again."""
    if executor != "local":
        return None
    count = workers or run.worker_count
    if isinstance(run.clusters, list):
        count = max(1, min(count, len(set(run.clusters))))
    pool = make_executor("local", workers=count)
    pool.start(str(Path(run.notebook).resolve().parent))
    return pool


def _run_locked(plan, output, clock, workers, executor, scheduler, renderer, progress,
                on_result, ahead=None) -> BatchSummary:
    """run_batch's work once the output folder is locked."""
    run = plan.run
    old_manifest = read_manifest(output)
    previous = old_manifest.get("clusters", {})
    entries = _cluster_entries(plan, previous)
    for cid, old in previous.items():  # clusters of an earlier, wider run keep their record
        entries.setdefault(cid, old)
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    _write_json_atomic(output / MANIFEST_NAME, _manifest(plan, entries, started))
    results: list[ReportResult] = []
    if plan.to_run:
        earlier = None if plan.since.get("reason") else plan.since["period_end"]
        table = _prepare_tables(run, earlier)
        jobs = [
            ReportJob(
                cluster_id=cid,
                notebook=str(run.notebook),
                parameters={**run.notebook_parameters(cid), "indicator_table": str(table)},
                out=str(output / f"{cid}.html"),
                timeout=run.timeout,
                renderer=renderer,
            )
            for cid in plan.to_run
        ]
        results = _execute(jobs, plan, entries, started, workers or run.worker_count, executor, scheduler, progress,
                           on_result, ahead)
    write_index(output, entries, title=f"Cluster reports: {output.name}", period=f"{run.period_start} to {run.period_end}",
                since=plan.since)
    return BatchSummary(output, results, plan.skipped, time.perf_counter() - clock)


def _tables_in_this_process(data: str, period_end: str, months: int, earlier: str | None,
                            threshold: int | None) -> str:
    """The run's tables (and the earlier period's, for "since the last report") in the cache,
    with their audited suppression marks for the run's threshold (so no worker works them out)."""
    table = cached_run_tables(data, period_end, months)
    paths = [table]
    if earlier is not None:
        try:
            paths.append(cached_run_tables(data, earlier, months))
        except DataError:
            pass  # each report then says why it has no comparison
    if threshold is not None:
        for path in paths:
            load_run(path).suppression(threshold, True)
    return str(table)


def _prepare_tables(run: RunFile, earlier: str | None) -> Path:
    """:func:`_tables_in_this_process` in a short-lived child process: loading the data and
    calculating every indicator for Scotland takes a few GB for a minute, and a child hands that
    memory back to the system when it ends, instead of the batch process keeping it (the memory
    allocator rarely returns it) beside the workers for the whole run. When the cache already
    holds them (the run's tables, the earlier period's, and their suppression marks), there is
    nothing to prepare and no child is started (its start and checks were ~5 s of every batch).
    """
    threshold = None if not audience(run.audience).releasable else run.threshold
    source = run.data_source()
    ready = ready_run_tables(source, run.period_end, run.months, threshold)
    if ready is not None and (earlier is None
                              or ready_run_tables(source, earlier, run.months, threshold)):
        return ready
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        path = pool.submit(_tables_in_this_process, run.data_source(), run.period_end, run.months,
                           earlier, threshold).result()
    return Path(path)


def _execute(jobs, plan, entries, started, workers, executor, scheduler, progress, on_result,
             ahead=None) -> list[ReportResult]:
    """Run the jobs on ``ahead`` (workers started while the batch planned) or a new executor."""
    output = plan.run.output
    results: list[ReportResult] = []
    bar = tqdm(total=len(jobs), unit="report", desc="reports", disable=not progress, dynamic_ncols=True)
    pool = ahead if ahead is not None else make_executor(executor, workers=min(workers, len(jobs)),
                                                          scheduler=scheduler)
    try:
        with pool:
            for result in pool.run(jobs):
                results.append(result)
                entries[result.cluster_id].update(
                    status=result.status,
                    output_sha256=result.output_sha256,
                    seconds=round(result.seconds, 2),
                    error=result.error,
                    **_counts(output, entries[result.cluster_id], result.status),
                )
                _write_json_atomic(output / MANIFEST_NAME, _manifest(plan, entries, started))
                failed = sum(r.status == "failed" for r in results)
                bar.set_postfix(done=len(results) - failed, failed=failed, refresh=False)
                bar.update(1)
                if on_result is not None:
                    on_result(result)
    finally:
        bar.close()
    return results


def _counts(output: Path, entry: dict[str, Any], status: str) -> dict[str, int | None]:
    """The report's "What to discuss" and "Since the last report" counts, from its page (as
    the index reads them); None for a report that did not finish."""
    if status != "done":
        return {"discuss": None, "changes": None}
    return report_counts(output / str(entry.get("output")))


#: The run file ``clusterqi demo`` uses, relative to the project root.
DEMO_RUN_FILE = "parameters/demo.yaml"


def demo_run(out: str | Path | None = None) -> RunFile:
    """The demo run (every cluster of synthetic Scotland), writing to ``out`` (default reports/demo).

    Example usage::

        summary = run_batch(demo_run("reports/demo"))
    """
    root = project_root()
    if root is None or not (root / DEMO_RUN_FILE).is_file():
        raise DataError(f"{DEMO_RUN_FILE} not found: run the demo from a clusterqi checkout")
    run = load_run_file(root / DEMO_RUN_FILE)
    if out is not None:
        run = run.model_copy(update={"output": Path(out).resolve()})
    return run
