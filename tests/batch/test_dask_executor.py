"""The same report jobs run on a Dask distributed cluster (--executor dask --scheduler ADDRESS)."""

from __future__ import annotations

import pytest

from clusterqi.batch import run_batch
from tests.batch.conftest import write_run_file
from tests.batch.rendering import plain_html

distributed = pytest.importorskip("distributed", reason="the [dask] extra is not installed")
pytestmark = pytest.mark.slow


def test_two_clusters_run_on_a_one_worker_local_dask_cluster(tmp_path, some_clusters):
    run_file = write_run_file(tmp_path, clusters=some_clusters[:2])
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        summary = run_batch(
            run_file, executor="dask", scheduler=cluster.scheduler_address,
            renderer=plain_html, progress=False,
        )
    assert summary.exit_code == 0
    assert sorted(r.cluster_id for r in summary.done) == sorted(some_clusters[:2])
    assert len({r.worker for r in summary.done}) == 1
    assert all((tmp_path / "out" / f"{c}.html").is_file() for c in some_clusters[:2])
