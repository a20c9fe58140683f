"""The local pool: who renders the HTML (the parent with few workers, each worker with many)."""

from __future__ import annotations

import os
import re

import pytest

from clusterqi.executors import PARENT_RENDERS_UP_TO, LocalExecutor, ReportJob
from tests.batch.conftest import PROBE
from tests.batch.rendering import pid_html

pytestmark = pytest.mark.slow


def test_few_workers_leave_rendering_to_the_parent_and_many_render_their_own():
    assert LocalExecutor(2).render_in_parent
    assert LocalExecutor(PARENT_RENDERS_UP_TO).render_in_parent
    assert not LocalExecutor(PARENT_RENDERS_UP_TO + 1).render_in_parent


@pytest.mark.parametrize("render_in_parent", [True, False])
def test_reports_are_written_whichever_process_renders_them(tmp_path, render_in_parent):
    jobs = [
        ReportJob(cid, str(PROBE), {"cluster_id": cid}, str(tmp_path / f"{cid}.html"), timeout=120,
                  renderer=pid_html)
        for cid in ("first", "fail-on-purpose", "second")
    ]
    with LocalExecutor(1, render_in_parent=render_in_parent) as executor:
        results = {r.cluster_id: r for r in executor.run(jobs)}
    assert results["fail-on-purpose"].status == "failed" and results["fail-on-purpose"].error.startswith("cell ")
    for cid in ("first", "second"):
        result = results[cid]
        assert result.status == "done" and result.output_sha256 and result.seconds > 0
        page = (tmp_path / f"{cid}.html").read_text(encoding="utf-8")
        assert "PROBE" in page
        renderer_pid = int(re.search(r"id='rendered-by'>(\d+)<", page).group(1))
        worker_pid = int(result.worker.rsplit(":", 1)[1])
        assert worker_pid != os.getpid()
        assert renderer_pid == (os.getpid() if render_in_parent else worker_pid)
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left
    assert not (tmp_path / "fail-on-purpose.html").exists()


def test_workers_started_ahead_run_the_jobs_on_the_kernels_they_started(tmp_path):
    """LocalExecutor.start spawns the workers and starts their kernels before any job is sent
    (the batch does it while it plans); the jobs then run in those workers."""
    jobs = [ReportJob(cid, str(PROBE), {"cluster_id": cid}, str(tmp_path / f"{cid}.html"), timeout=120,
                      renderer=pid_html) for cid in ("first", "second")]
    with LocalExecutor(1) as executor:
        (starting,) = executor.start(str(PROBE.parent))
        started_in = starting.result(timeout=120)
        results = list(executor.run(jobs))
    assert [r.status for r in results] == ["done", "done"]
    assert {r.worker for r in results} == {started_in}
