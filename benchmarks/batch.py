"""Benchmark: every cluster's report with `clusterqi batch` against the naive per-report loop.

Not a test. On synthetic Scotland it measures:

First, untimed, the run's cached tables are prepared (both periods a report compares, and their
audited suppression), so neither side pays the once-per-code-version calculation and (a) is the
loop's steady state: without this, the first naive report alone took 95 s (the calculation)
against ~17 s for the next ones, and the naive average tripled.

(a) the naive loop an analyst would write: for each of a sample of clusters, the ``papermill``
    CLI then ``jupyter nbconvert --to html``, the notebook loading the data itself (no
    ``indicator_table``), one cluster after another;
(b) ``clusterqi batch`` with default workers (one per core) on every cluster;
(c) the explorer's update time (changing indicator, comparison and cluster).

It prints the figures (per-report times and their ratio, total wall time, peak memory of the
whole process tree) and, with ``--write``, rewrites docs/performance.md. Goals (issue 7): (b) at
most one fifth of (a) per report; every cluster of Scotland in under 6 minutes on 2 cores; explorer
updates under 150 ms.

Usage::

    .venv/bin/python benchmarks/batch.py --sample 3 --write
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import yaml

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
NOTEBOOK = REPO / "notebooks" / "cluster_report.ipynb"
PERIOD_END = "2026-09"
SAMPLE_INTERVAL_SECONDS = 0.2


class PeakMemory:
    """Peak resident memory of a process and all its descendants, sampled in a thread."""

    def __init__(self, pid: int):
        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                procs = [self.process, *self.process.children(recursive=True)]
                total = 0
                for proc in procs:
                    try:
                        total += proc.memory_info().rss
                    except psutil.Error:
                        pass
                self.peak = max(self.peak, total)
            except psutil.Error:
                pass
            time.sleep(SAMPLE_INTERVAL_SECONDS)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def run_measured(command: list[str], **kwargs) -> tuple[float, int, subprocess.CompletedProcess]:
    """Run a command; return wall seconds, peak RSS of its process tree, and the result."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)
    memory = PeakMemory(proc.pid)
    out, err = proc.communicate()
    peak = memory.stop()
    result = subprocess.CompletedProcess(command, proc.returncode, out, err)
    return time.perf_counter() - started, peak, result


WARM = """
from clusterqi.run_tables import cached_run_tables, load_run
from clusterqi.since import earlier_period_end
for period in ({end!r}, earlier_period_end({end!r})):
    load_run(cached_run_tables("synthetic", period, 12)).suppression(5, True)
"""


def warm_cache() -> float:
    """Prepare the run's cached tables (both periods, with suppression) in a child process."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", WARM.format(end=PERIOD_END)], check=True)
    return time.perf_counter() - started


def naive_loop(clusters: list[str], folder: Path) -> tuple[list[float], int]:
    """papermill CLI then nbconvert CLI per cluster; the notebook loads and calculates itself."""
    times, peak = [], 0
    for cid in clusters:
        executed = folder / f"{cid}.ipynb"
        started = time.perf_counter()
        seconds, memory, result = run_measured(
            [str(BIN / "papermill"), str(NOTEBOOK), str(executed), "-p", "cluster_id", cid,
             "-p", "period_end", PERIOD_END, "-p", "data", "synthetic", "--no-progress-bar"]
        )
        if result.returncode:
            raise SystemExit(f"papermill failed for {cid}:\n{result.stderr[-2000:]}")
        _, memory2, result = run_measured(
            [str(BIN / "jupyter"), "nbconvert", "--to", "html", str(executed)]
        )
        if result.returncode:
            raise SystemExit(f"nbconvert failed for {cid}:\n{result.stderr[-2000:]}")
        times.append(time.perf_counter() - started)
        peak = max(peak, memory, memory2)
        print(f"  naive {cid}: {times[-1]:.1f} s", flush=True)
    return times, peak


def batch_all(folder: Path) -> tuple[float, int, int, int]:
    """`clusterqi batch` with default workers on every cluster; returns wall, peak, done, failed."""
    import json

    run_file = folder / "all.yaml"
    run_file.write_text(yaml.safe_dump({
        "notebook": str(NOTEBOOK), "clusters": "all", "period_end": PERIOD_END, "months": 12,
        "audience": "cluster", "data": "synthetic", "output": str(folder / "reports"),
    }), encoding="utf-8")
    seconds, peak, result = run_measured([str(BIN / "clusterqi"), "batch", str(run_file)])
    print(result.stdout[-1500:], flush=True)
    manifest = json.loads((folder / "reports" / "manifest.json").read_text())
    statuses = [entry["status"] for entry in manifest["clusters"].values()]
    return seconds, peak, statuses.count("done"), statuses.count("failed")


def explorer_updates(repeats: int = 5) -> dict[str, float]:
    """Median seconds per explorer redraw for each kind of change.

    First visits to a cluster build its report (3 clusters of the first board, 2 of each of the
    next ``repeats`` boards); revisits redraw from the explorer's cache of reports.
    """
    from clusterqi.explore import COMPARISONS, Explorer

    explorer = Explorer(data="synthetic", period_end=PERIOD_END)
    timings: dict[str, list[float]] = {"indicator": [], "comparison": [], "cluster (first visit)": [],
                                       "cluster (revisit)": []}
    indicators = [value for _, value in explorer.indicator.options]
    clusters = [value for _, value in explorer.cluster.options]
    for i in range(repeats):
        explorer.indicator.value = indicators[(i + 1) % len(indicators)]
        timings["indicator"].append(explorer.last_update_seconds)
        explorer.comparison.value = list(COMPARISONS)[(i + 1) % len(COMPARISONS)]
        timings["comparison"].append(explorer.last_update_seconds)
    for cid in clusters[1:4]:
        explorer.cluster.value = cid
        timings["cluster (first visit)"].append(explorer.last_update_seconds)
    for cid in clusters[1:4]:
        explorer.cluster.value = cid
        timings["cluster (revisit)"].append(explorer.last_update_seconds)
    # more first visits, in other boards (choosing a board shows its first cluster: a first visit)
    for board in [value for _, value in explorer.board.options][1:1 + repeats]:
        explorer.board.value = board
        for cid in [value for _, value in explorer.cluster.options][1:3]:
            explorer.cluster.value = cid
            timings["cluster (first visit)"].append(explorer.last_update_seconds)
    return {k: statistics.median(v) for k, v in timings.items() if v}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=int, default=3, help="clusters in the naive loop (default 3)")
    parser.add_argument("--write", action="store_true", help="rewrite docs/performance.md")
    args = parser.parse_args(argv)

    from clusterqi.batch import plan_batch
    from clusterqi.batch import demo_run

    clusters = plan_batch(demo_run()).selected
    sample = clusters[:: max(1, len(clusters) // args.sample)][: args.sample]
    with tempfile.TemporaryDirectory(prefix="clusterqi-bench-") as tmp:
        folder = Path(tmp)
        print(f"cache prepared in {warm_cache():.0f} s (untimed)", flush=True)
        print(f"(a) naive loop on {len(sample)} clusters", flush=True)
        naive, naive_peak = naive_loop(sample, folder)
        print(f"(b) clusterqi batch on all {len(clusters)} clusters, {os.cpu_count()} cores", flush=True)
        wall, batch_peak, done, failed = batch_all(folder)
    print("(c) explorer updates", flush=True)
    updates = explorer_updates()
    naive_per = statistics.mean(naive)
    batch_per = wall / max(1, done + failed)
    rows = [
        ("naive loop, per report (papermill CLI + nbconvert CLI)", f"{naive_per:.1f} s"),
        ("naive loop, estimated for every cluster", f"{naive_per * len(clusters) / 60:.1f} min"),
        ("naive loop, peak memory", f"{naive_peak / 2**20:,.0f} MB"),
        (f"clusterqi batch, all {len(clusters)} clusters, wall", f"{wall / 60:.1f} min ({done} done, {failed} failed)"),
        ("clusterqi batch, per report (wall / reports)", f"{batch_per:.2f} s"),
        ("ratio batch / naive per report", f"{batch_per / naive_per:.3f} (goal <= 0.10)"),
        ("clusterqi batch, peak memory (all processes)", f"{batch_peak / 2**20:,.0f} MB (goal <= 2,560 MB)"),
    ] + [(f"explorer update: {k}", f"{v * 1000:.0f} ms") for k, v in updates.items()]
    width = max(len(r[0]) for r in rows)
    table = "\n".join(f"| {name:<{width}} | {value} |" for name, value in rows)
    print(table)
    if args.write:
        write_doc(table, len(sample))
    return 0


def write_doc(table: str, sample: int) -> None:
    path = REPO / "docs" / "performance.md"
    text = path.read_text(encoding="utf-8")
    start, end = "<!-- batch-benchmark:start -->", "<!-- batch-benchmark:end -->"
    block = (f"{start}\nMeasured by `benchmarks/batch.py --sample {sample}` on "
             f"{time.strftime('%d %b %Y')}, {os.cpu_count()} cores (shared machine):\n\n"
             f"| measure | value |\n|---|---|\n{table}\n{end}")
    if start in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text += "\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
