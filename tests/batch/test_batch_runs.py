"""Batches end to end on the probe notebook: failures are contained, resume does only what is left."""

from __future__ import annotations

import json

import pytest

from clusterqi.batch import read_manifest, run_batch
from tests.batch.conftest import write_run_file
from tests.batch.rendering import plain_html

RENDERER = plain_html
pytestmark = pytest.mark.slow


class SimulatedCrash(Exception):
    """Raised from on_result to stop a batch part-way, as a crash or Ctrl-C would."""


def test_one_failing_cluster_does_not_stop_the_others_and_is_reported(tmp_path, some_clusters, monkeypatch):
    failing = some_clusters[1]
    monkeypatch.setenv("CLUSTERQI_PROBE_FAIL", failing)
    run_file = write_run_file(tmp_path, clusters=some_clusters)
    summary = run_batch(run_file, renderer=RENDERER, progress=False)

    assert summary.exit_code == 1
    assert sorted(r.cluster_id for r in summary.done) == sorted(c for c in some_clusters if c != failing)
    [failure] = summary.failed
    assert failure.cluster_id == failing
    assert failure.error.startswith("cell ") and f"RuntimeError: planted failure for {failing}" in failure.error
    assert "\n" not in failure.error
    table = summary.table()
    assert f"{failing}  cell " in table and "failed          1" in table
    out = tmp_path / "out"
    for cid in some_clusters:
        assert (out / f"{cid}.html").is_file() == (cid != failing)
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")], "a temporary file was left behind"
    manifest = read_manifest(out)
    assert manifest["clusters"][failing]["status"] == "failed"
    assert "planted failure" in manifest["clusters"][failing]["error"]
    index = (out / "index.html").read_text(encoding="utf-8")
    assert f'href="{some_clusters[0]}.html"' in index and f'href="{failing}.html"' not in index


def test_resume_after_a_crash_runs_only_the_clusters_left(tmp_path, some_clusters):
    run_file = write_run_file(tmp_path, clusters=some_clusters, workers=1)
    finished: list[str] = []

    def crash_after_first(result):
        finished.append(result.cluster_id)
        raise SimulatedCrash

    with pytest.raises(SimulatedCrash):
        run_batch(run_file, renderer=RENDERER, progress=False, on_result=crash_after_first)
    manifest = read_manifest(tmp_path / "out")
    assert [c for c, e in manifest["clusters"].items() if e["status"] == "done"] == finished

    resumed = run_batch(run_file, renderer=RENDERER, progress=False, resume=True)
    assert sorted(r.cluster_id for r in resumed.results) == sorted(set(some_clusters) - set(finished))
    assert resumed.skipped == finished and resumed.exit_code == 0

    # nothing changed: nothing runs; a report deleted or edited on disk runs again
    assert run_batch(run_file, renderer=RENDERER, progress=False, resume=True).results == []
    (tmp_path / "out" / f"{some_clusters[0]}.html").unlink()
    (tmp_path / "out" / f"{some_clusters[1]}.html").write_text("tampered", encoding="utf-8")
    again = run_batch(run_file, renderer=RENDERER, progress=False, resume=True)
    assert sorted(r.cluster_id for r in again.results) == sorted(some_clusters[:2])


def test_resume_reruns_every_cluster_when_a_parameter_changes(tmp_path, some_clusters):
    run_file = write_run_file(tmp_path, clusters=some_clusters[:2], workers=1)
    run_batch(run_file, renderer=RENDERER, progress=False)
    write_run_file(tmp_path, clusters=some_clusters[:2], workers=1, threshold=10)
    rerun = run_batch(run_file, renderer=RENDERER, progress=False, resume=True)
    assert sorted(r.cluster_id for r in rerun.results) == sorted(some_clusters[:2])
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["parameters"]["threshold"] == 10


def test_only_runs_the_named_clusters_and_dry_run_runs_nothing(tmp_path, some_clusters, capsys):
    run_file = write_run_file(tmp_path, clusters=some_clusters, workers=1)
    dry = run_batch(run_file, renderer=RENDERER, progress=False, dry_run=True, only=[some_clusters[2]])
    assert dry.results == [] and not (tmp_path / "out").exists()
    assert f"would run {some_clusters[2]}" in capsys.readouterr().out
    only = run_batch(run_file, renderer=RENDERER, progress=False, only=[some_clusters[2]])
    assert [r.cluster_id for r in only.results] == [some_clusters[2]]
    statuses = {c: e["status"] for c, e in read_manifest(tmp_path / "out")["clusters"].items()}
    assert statuses[some_clusters[2]] == "done"
    assert {statuses[c] for c in some_clusters if c != some_clusters[2]} == {"not run"}
