"""Where a batch's report jobs run: a local process pool (default) or a Dask cluster.

A :class:`ReportJob` is everything one cluster's report needs (notebook, parameters, output path,
timeout) and is plain data, so the same jobs run on either executor. :func:`run_report_job` is what
is done with one, in two halves: :func:`execute_report_job` runs the notebook on the worker's reused
kernel (:class:`clusterqi.kernels.ReusableKernel`); :func:`write_report` renders the HTML and writes
it atomically (temp file in the same folder, then rename: a crash never leaves a half-written
report under its final name) and returns a :class:`ReportResult`. Dask workers do both halves; a
local pool of up to :data:`PARENT_RENDERS_UP_TO` workers does the first while the parent process
does the second. A failing job returns a "failed" result; it never raises,
so one cluster cannot stop the others.

- :class:`LocalExecutor`: ``workers`` processes started with ``spawn`` (forked workers hang after
  nbclient has run in the parent, as measured on this stack), one reused kernel each.
- :class:`DaskExecutor`: the jobs go to a ``distributed`` scheduler (``--executor dask --scheduler
  tcp://host:8786``), for when one machine is not enough (England's ~1,250 networks). Needs the
  ``[dask]`` extra. Kernels are shut down on every worker when the run ends.

Example usage::

    jobs = [ReportJob("dundee-4", "notebooks/cluster_report.ipynb", {...}, "reports/run/dundee-4.html")]
    with make_executor("local", workers=2) as executor:
        for result in executor.run(jobs):
            print(result.cluster_id, result.status, result.error)
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from clusterqi.hashing import sha256_file
from clusterqi.kernels import NotebookFailed, ReusableKernel, end_with_parent
from clusterqi.report_html import render_html

__all__ = [
    "ReportJob",
    "ReportResult",
    "Executor",
    "LocalExecutor",
    "DaskExecutor",
    "make_executor",
    "run_report_job",
    "execute_report_job",
    "write_report",
    "ExecutedReport",
    "shutdown_worker_kernels",
    "start_worker_kernel",
    "DEFAULT_RENDERER",
    "PARENT_RENDERS_UP_TO",
]

#: The function that turns an executed notebook into HTML, ``renderer(executed, out=path) -> Path``.
DEFAULT_RENDERER = render_html


@dataclass(frozen=True)
class ReportJob:
    """One cluster's report: run ``notebook`` with ``parameters``, write HTML to ``out``.

    ``renderer`` is the HTML exporter, a module-level function (so it can travel to a Dask
    worker); it is called as ``renderer(executed_notebook, out=path)``, must write ``path``
    atomically (with :func:`clusterqi.paths.replacing`, as :func:`clusterqi.report_html.render_html`
    does) and return it.
    """

    cluster_id: str
    notebook: str
    parameters: dict[str, Any]
    out: str
    timeout: float = 600.0
    renderer: Callable[..., Any] = DEFAULT_RENDERER


@dataclass(frozen=True)
class ReportResult:
    """What happened to one job: ``status`` "done" (with the HTML's sha256) or "failed" (with why)."""

    cluster_id: str
    status: Literal["done", "failed"]
    seconds: float
    output_sha256: str | None = None
    error: str | None = None
    worker: str = field(default="")


# --- the worker side ---------------------------------------------------------------------------

_LOCAL = threading.local()


def _kernel():
    kernel = getattr(_LOCAL, "kernel", None)
    if kernel is None:
        kernel = _LOCAL.kernel = ReusableKernel()
        _KERNELS.append(kernel)
    return kernel


_KERNELS: list = []


def shutdown_worker_kernels() -> int:
    """Stop every kernel this process started for jobs; return how many (run on worker exit)."""
    count = 0
    while _KERNELS:
        _KERNELS.pop().shutdown()
        count += 1
    _LOCAL.__dict__.clear()
    return count


@dataclass(frozen=True)
class ExecutedReport:
    """A job whose notebook has run: the executed notebook, or the failed result if it did not."""

    job: ReportJob
    notebook: Any = None
    failed: ReportResult | None = None
    seconds: float = 0.0
    worker: str = ""


def start_worker_kernel(folder: str) -> str:
    """Start this worker's kernel ahead of its first job, in ``folder`` (where the notebooks
    run); returns the worker's name. :meth:`LocalExecutor.start` sends one to each worker."""
    _kernel().start(folder)
    return f"{os.uname().nodename}:{os.getpid()}"


def execute_report_job(job: ReportJob) -> ExecutedReport:
    """Run one job's notebook on this worker's kernel (first half of :func:`run_report_job`)."""
    started = time.perf_counter()
    worker = f"{os.uname().nodename}:{os.getpid()}"
    try:
        executed = _kernel().run(job.notebook, job.parameters, timeout=job.timeout)
    except NotebookFailed as exc:
        failed = ReportResult(job.cluster_id, "failed", time.perf_counter() - started, error=str(exc), worker=worker)
        return ExecutedReport(job, failed=failed, seconds=failed.seconds, worker=worker)
    return ExecutedReport(job, notebook=executed, seconds=time.perf_counter() - started, worker=worker)


def write_report(executed: ExecutedReport) -> ReportResult:
    """Render an executed job's HTML and write it atomically (second half of :func:`run_report_job`)."""
    if executed.failed is not None:
        return executed.failed
    job = executed.job
    started = time.perf_counter()
    out = Path(job.out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        written = Path(job.renderer(executed.notebook, out=out))  # writes out atomically
        digest = sha256_file(written)
    except Exception as exc:  # the renderer refused or could not write: report it, keep going
        message = next((line for line in str(exc).splitlines() if line.strip()), "")
        return ReportResult(
            job.cluster_id,
            "failed",
            executed.seconds + time.perf_counter() - started,
            error=f"HTML export: {type(exc).__name__}: {message}"[:300],
            worker=executed.worker,
        )
    return ReportResult(job.cluster_id, "done", executed.seconds + time.perf_counter() - started,
                        output_sha256=digest, worker=executed.worker)


def run_report_job(job: ReportJob) -> ReportResult:
    """Run one job on this worker's kernel and write its HTML atomically; never raises."""
    return write_report(execute_report_job(job))


#: Seconds between a worker's checks that the batch process that started it is still alive.
PARENT_WATCH_SECONDS = 1.0


def _exit_with_parent(parent: int | None = None) -> None:
    """End this worker (and its kernels) when the batch process that started it dies.

    Two guards: Linux's parent-death signal (``prctl(PR_SET_PDEATHSIG, SIGTERM)``), and a daemon
    thread that checks every :data:`PARENT_WATCH_SECONDS` whether the parent changed (the
    process was re-parented), then stops the kernels and exits. A kernel itself exits when its
    worker dies (Linux's parent-death signal, set as it starts: :mod:`clusterqi.kernels`). So ``kill -9`` of a
    batch leaves no worker or kernel running.
    """
    # ``parent``: the batch process's pid, passed from it, since a worker that is still starting
    # when the batch is killed has already been re-parented by the time it asks for its parent
    parent = os.getppid() if parent is None else parent
    if sys.platform.startswith("linux"):
        end_with_parent()  # the watch thread still guards where this cannot be set

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                try:
                    shutdown_worker_kernels()
                finally:
                    os._exit(1)
            time.sleep(PARENT_WATCH_SECONDS)

    if os.getppid() != parent:  # the batch ended while this worker was starting
        os._exit(1)
    threading.Thread(target=watch, name="clusterqi-parent-watch", daemon=True).start()


def _init_local_worker(parent: int | None = None) -> None:
    import atexit

    atexit.register(shutdown_worker_kernels)
    _exit_with_parent(parent)


# --- executors ---------------------------------------------------------------------------------


class Executor(ABC):
    """Runs report jobs somewhere and yields their results as they finish."""

    workers: int

    @abstractmethod
    def run(self, jobs: Sequence[ReportJob]) -> Iterator[ReportResult]:
        """Yield one :class:`ReportResult` per job, in the order they finish."""

    @abstractmethod
    def close(self) -> None:
        """Stop the workers and their kernels."""

    def start(self, folder: str) -> list[Future]:
        """Start the workers and their kernels ahead of the jobs (e.g. while the batch is still
        planning), the notebooks to run in ``folder``; returns the starts under way (none by
        default: :meth:`run` starts what it needs)."""
        return []

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


#: Up to this many workers the parent process renders every report's HTML (~0.35 s each, ~10%
#: of a report's work) while the workers go on with the next cluster; beyond it one process could
#: not keep up with the reports arriving, so each worker renders its own.
PARENT_RENDERS_UP_TO = 4


class LocalExecutor(Executor):
    """A pool of ``workers`` spawned processes on this machine, one reused kernel each.

    ``render_in_parent``: whether this process renders and writes the HTML (the workers only run
    notebooks) or each worker does; default: the parent for up to :data:`PARENT_RENDERS_UP_TO`
    workers.
    """

    def __init__(self, workers: int | None = None, render_in_parent: bool | None = None):
        self.workers = workers or os.cpu_count() or 1
        self.render_in_parent = self.workers <= PARENT_RENDERS_UP_TO if render_in_parent is None else render_in_parent
        self._pool: ProcessPoolExecutor | None = None

    def _started_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_local_worker,
                initargs=(os.getpid(),),
            )
        return self._pool

    def start(self, folder: str) -> list[Future]:
        """Spawn the workers and start a kernel in each (~3 s of imports) while this process
        goes on (the batch plans meanwhile, on one core); the jobs queue behind. Returns the
        starts (each gives its worker's name). A kernel that fails to start here is started
        again by its first job, which reports any failure."""
        pool = self._started_pool()
        return [pool.submit(start_worker_kernel, str(folder)) for _ in range(self.workers)]

    def run(self, jobs: Sequence[ReportJob]) -> Iterator[ReportResult]:
        self._started_pool()
        # With few workers, they only run notebooks and this process writes the HTML while they go
        # on to the next cluster, so no core idles while a report is rendered (2 cores: ~1.6 -> ~1.85
        # busy); with many, one process could not keep up, and each worker renders its own.
        task = execute_report_job if self.render_in_parent else run_report_job
        futures = {self._pool.submit(task, job): job for job in jobs}
        try:
            for future in as_completed(futures):
                # forget the future once read: it holds the executed notebook (a few MB), and
                # keeping every one made the batch process grow with the number of reports
                job = futures.pop(future)
                try:
                    outcome = future.result()
                except Exception as exc:  # the worker process itself died
                    yield ReportResult(job.cluster_id, "failed", 0.0, error=f"worker lost: {type(exc).__name__}: {exc}")
                else:
                    del future
                    yield write_report(outcome) if isinstance(outcome, ExecutedReport) else outcome
                    del outcome
        finally:
            for future in futures:
                future.cancel()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class DaskExecutor(Executor):
    """Jobs sent to a Dask ``distributed`` scheduler at ``address`` (e.g. ``tcp://10.0.0.5:8786``).

    Every worker needs clusterqi installed and must see the notebook, the data, the run's
    indicator table and the output folder at the same paths (a shared file system).
    """

    def __init__(self, address: str):
        try:
            from distributed import Client
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise RuntimeError("the dask executor needs the [dask] extra: pip install 'clusterqi[dask]'") from exc
        self.address = address
        self._client = Client(address)
        self.workers = max(1, sum(w.get("nthreads", 1) for w in self._client.scheduler_info()["workers"].values()))

    def run(self, jobs: Sequence[ReportJob]) -> Iterator[ReportResult]:
        from distributed import as_completed as dask_completed

        futures = {
            self._client.submit(run_report_job, job, pure=False, key=f"report-{job.cluster_id}-{os.getpid()}-{time.time_ns()}"): job
            for job in jobs
        }
        try:
            for future in dask_completed(list(futures)):
                job = futures[future]
                try:
                    yield future.result()
                except Exception as exc:
                    yield ReportResult(job.cluster_id, "failed", 0.0, error=f"worker lost: {type(exc).__name__}: {exc}")
        finally:
            for future in futures:
                future.cancel()

    def close(self) -> None:
        if self._client is not None:
            try:  # one task per worker, run in its task threads like the jobs were
                workers = list(self._client.scheduler_info()["workers"])
                stops = [
                    self._client.submit(shutdown_worker_kernels, pure=False, workers=[w], allow_other_workers=False)
                    for w in workers
                ]
                self._client.gather(stops)
            finally:
                self._client.close()
                self._client = None


def make_executor(kind: str = "local", workers: int | None = None, scheduler: str | None = None) -> Executor:
    """The executor for ``--executor local|dask`` (``scheduler`` is required for dask)."""
    if kind == "local":
        return LocalExecutor(workers)
    if kind == "dask":
        if not scheduler:
            raise ValueError("--executor dask needs --scheduler ADDRESS (e.g. tcp://127.0.0.1:8786)")
        return DaskExecutor(scheduler)
    raise ValueError(f"unknown executor {kind!r}; expected 'local' or 'dask'")
