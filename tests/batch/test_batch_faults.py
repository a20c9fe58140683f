"""A batch that survives faults: a second batch on the same folder, bad output folders, leftovers
of a killed export, and kill -9 of the batch itself (no worker or kernel lives on)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from clusterqi import DataError
from clusterqi.batch import _prepare_tables, output_lock, plan_batch, run_batch
from tests.batch.conftest import write_run_file
from tests.batch.rendering import plain_html

RENDERER = plain_html
REPO = Path(__file__).resolve().parents[2]


def test_a_second_batch_on_the_same_folder_is_refused_while_the_first_runs(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with output_lock(out):
        with pytest.raises(DataError, match="another batch is writing into this folder"):
            with output_lock(out):
                pass
    with output_lock(out):   # released when the first ends
        pass


def test_leftover_partial_files_of_a_killed_export_are_removed_at_the_next_start(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    leftover = out / ".dundee-4.html.12345.0a1b2c3d.tmp"
    leftover.write_bytes(b"")
    keep = out / "dundee-4.html"
    keep.write_text("a finished report")
    with output_lock(out):
        assert not leftover.exists()
    assert keep.read_text() == "a finished report"


def test_a_file_in_the_way_of_the_output_folder_is_one_clear_error(tmp_path, some_clusters):
    (tmp_path / "out").write_text("not a folder")
    run_file = write_run_file(tmp_path, clusters=some_clusters[:1])
    with pytest.raises(DataError, match="a file is in the way of the output folder"):
        run_batch(run_file, renderer=RENDERER, progress=False)


def test_an_output_folder_that_cannot_be_created_is_one_clear_error(tmp_path, some_clusters):
    # /proc refuses new folders even to root: a real unwritable place, whoever runs the tests
    run_file = write_run_file(tmp_path, clusters=some_clusters[:1],
                              output="/proc/self/clusterqi-reports")
    with pytest.raises(DataError, match="cannot create the output folder"):
        run_batch(run_file, renderer=RENDERER, progress=False)


def _children(pid: int) -> set[int]:
    """Every descendant process of ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
def test_kill_9_of_a_batch_leaves_no_worker_or_kernel_running(tmp_path, some_clusters):
    run_file = write_run_file(tmp_path, clusters=some_clusters, workers=2, timeout=120)
    # the run's tables and audited suppression are prepared here first (the batch's child then
    # finds them cached), so the workers and kernels start within the wait below on a cold cache
    plan = plan_batch(run_file)
    _prepare_tables(plan.run, None if plan.since.get("reason") else plan.since["period_end"])
    script = textwrap.dedent(f"""
        import os
        os.environ["CLUSTERQI_PROBE_SLEEP"] = "60"
        from clusterqi.batch import run_batch
        from tests.batch.rendering import plain_html
        run_batch({str(run_file)!r}, renderer=plain_html, progress=False)
    """)
    batch = subprocess.Popen([sys.executable, "-c", script], cwd=REPO,
                             env={**os.environ, "PYTHONPATH": str(REPO)})
    descendants: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:   # wait for 2 workers and their kernels
            descendants = _children(batch.pid)
            if len(descendants) >= 4:
                break
            time.sleep(0.5)
        assert len(descendants) >= 4, f"workers and kernels did not start: {descendants}"
        os.kill(batch.pid, signal.SIGKILL)
        batch.wait(timeout=10)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(_alive(p) for p in descendants):
            time.sleep(0.5)
        assert not [p for p in descendants if _alive(p)], "processes outlived the batch"
    finally:
        if batch.poll() is None:
            batch.kill()
        for pid in descendants | _children(batch.pid):   # never leave a failed run's processes
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
