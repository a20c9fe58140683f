"""A reused kernel behaves like a fresh one for each report (the condition for reusing kernels)."""

from __future__ import annotations

from pathlib import Path

import pytest

from clusterqi.kernel_state import GC_THRESHOLD
from clusterqi.kernels import NotebookFailed, ReusableKernel
from tests.batch.rendering import probe_lines

PROBE = Path(__file__).parent / "notebooks" / "probe.ipynb"


@pytest.fixture(scope="module")
def kernel():
    with ReusableKernel() as kernel:
        yield kernel


def test_variables_and_settings_of_one_report_are_not_visible_to_the_next(kernel):
    first = probe_lines(kernel.run(PROBE, {"cluster_id": "set-state-1"}, timeout=60))
    second = probe_lines(kernel.run(PROBE, {"cluster_id": "after-set-state"}, timeout=60))
    assert first["pid"] == second["pid"], "the kernel was not reused"
    assert second["leaked_variable"] is False
    assert second["max_rows"] == first["max_rows"] == 60
    assert second["renderer"] == first["renderer"]
    assert second["env"] is None
    # the collector was settled once (import-time objects frozen) and its thresholds put back
    assert first["gc_frozen"] > 0 and second["gc_frozen"] > 0
    assert second["gc_threshold"] == first["gc_threshold"] == list(GC_THRESHOLD)
    # and the state really was changed in between: a third run sees none of it either
    third = probe_lines(kernel.run(PROBE, {"cluster_id": "set-state-2"}, timeout=60))
    assert third["leaked_variable"] is False and third["env"] is None


def test_execution_counts_restart_at_one_for_each_report(kernel):
    executed = kernel.run(PROBE, {"cluster_id": "counts"}, timeout=60)
    counts = [cell.execution_count for cell in executed.cells if cell.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1))


def test_a_failed_report_hands_a_fresh_kernel_to_the_next(kernel):
    before = probe_lines(kernel.run(PROBE, {"cluster_id": "before-failure"}, timeout=60))
    started = kernel.started
    with pytest.raises(NotebookFailed, match=r"cell \d+: RuntimeError: planted failure for fail-1"):
        kernel.run(PROBE, {"cluster_id": "fail-1"}, timeout=60)
    after = probe_lines(kernel.run(PROBE, {"cluster_id": "after-failure"}, timeout=60))
    assert kernel.started == started + 1
    assert after["pid"] != before["pid"]
    assert after["failed_marker"] is False


def test_a_report_past_its_timeout_fails_and_its_kernel_is_replaced(kernel):
    # a running kernel to time out on, whichever tests ran before (pytest -n may run this first)
    before = probe_lines(kernel.run(PROBE, {"cluster_id": "before-timeout"}, timeout=60))
    started = kernel.started
    with pytest.raises(NotebookFailed, match="timed out after 3 s"):
        kernel.run(PROBE, {"cluster_id": "slow-1"}, timeout=3)
    after = probe_lines(kernel.run(PROBE, {"cluster_id": "after-timeout"}, timeout=60))
    assert after["cluster_id"] == "after-timeout" and after["pid"] != before["pid"]
    assert kernel.started == started + 1


def test_reports_on_a_reused_kernel_leave_no_kernel_client_open():
    """Each notebook's kernel client is closed after it: a client left open keeps an IOPub
    socket that receives every later report's outputs, so a batch worker grew by more with
    each report (2.4 GB per worker after ~50 reports of synthetic Scotland)."""
    import psutil

    me = psutil.Process()
    with ReusableKernel() as kernel:
        kernel.run(PROBE, {"cluster_id": "warm-up"}, timeout=60)
        before = me.num_fds()
        for i in range(4):
            kernel.run(PROBE, {"cluster_id": f"again-{i}"}, timeout=60)
        after = me.num_fds()
    assert after <= before, f"open file descriptors grew from {before} to {after} over 4 reports"


def test_a_kernel_started_ahead_runs_the_first_report_and_a_failed_start_is_tried_again(tmp_path):
    """start() readies the kernel before any notebook (a batch does it while it plans): the
    first report runs on that kernel, a second start() changes nothing, and a kernel whose
    warm-up fails is stopped, so the next run starts afresh and reports its own failure."""
    with ReusableKernel() as kernel:
        kernel.start(PROBE.parent)
        assert kernel.started == 1
        kernel.start(PROBE.parent)
        first = probe_lines(kernel.run(PROBE, {"cluster_id": "after-start"}, timeout=60))
        assert first["cluster_id"] == "after-start" and kernel.started == 1
    with ReusableKernel(warm_imports=("a_module_that_does_not_exist",)) as broken:
        with pytest.raises(NotebookFailed, match="kernel set-up failed: ModuleNotFoundError"):
            broken.start(tmp_path)
        assert broken._km is None
        with pytest.raises(NotebookFailed, match="ModuleNotFoundError"):
            broken.run(PROBE, {"cluster_id": "after-failed-start"}, timeout=60)
        assert broken.started == 2
