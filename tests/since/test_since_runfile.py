"""A run file names the previous run (``previous_run:``, relative to the run file) or an earlier
period; the batch's manifest and index then say which earlier period was compared."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from clusterqi import DataError
from clusterqi.index_page import changes_count, report_counts, write_index
from clusterqi.runfile import load_run_file
from tests.conftest import REPO

NOTEBOOK = REPO / "notebooks" / "cluster_report.ipynb"


def _run_file(folder, **settings):
    values = {"notebook": str(NOTEBOOK), "clusters": "all", "period_end": "2026-09", "months": 12,
              "data": "synthetic", "output": "out"}
    values.update(settings)
    path = folder / "run.yaml"
    path.write_text(yaml.safe_dump(values, sort_keys=False), encoding="utf-8")
    return path


def test_previous_run_is_a_manifest_path_relative_to_the_run_file(tmp_path):
    earlier = tmp_path / "reports" / "june"
    earlier.mkdir(parents=True)
    (earlier / "manifest.json").write_text(json.dumps({"parameters": {"period_end": "2026-06"}}))
    run = load_run_file(_run_file(tmp_path, previous_run="reports/june"))
    assert run.previous_manifest == str((earlier / "manifest.json").resolve())
    assert run.notebook_parameters("x")["previous_manifest"] == run.previous_manifest
    run = load_run_file(_run_file(tmp_path, previous_run="reports/june/manifest.json"))
    assert run.previous_manifest == str((earlier / "manifest.json").resolve())
    run = load_run_file(_run_file(tmp_path, previous_period_end="2026-03"))
    assert run.previous_period_end == "2026-03" and run.previous_manifest is None


def test_a_missing_or_own_previous_run_is_a_problem_naming_the_key(tmp_path):
    with pytest.raises(DataError, match=r"key 'previous_run': file .*nowhere.* not found"):
        load_run_file(_run_file(tmp_path, previous_run="nowhere"))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "manifest.json").write_text(json.dumps({"parameters": {"period_end": "2026-06"}}))
    with pytest.raises(DataError, match=r"key 'previous_run': names this run's own manifest"):
        load_run_file(_run_file(tmp_path, previous_run="out"))
    with pytest.raises(DataError, match=r"previous_period_end"):
        load_run_file(_run_file(tmp_path, previous_period_end="2026-6"))


def _page(folder, name, discuss, changes=None):
    head = f'<!DOCTYPE html><html><head><meta name="clusterqi-discuss" content="{discuss}"></head>'
    runtime = "<script>" + "x" * 300_000 + "</script>"  # the section comes after the runtime
    section = ("" if changes is None else
               f"<section class='cqi-since' data-clusterqi-changes='{changes}'></section>")
    (folder / name).write_text(head + "<body>" + runtime + section + "</body></html>", encoding="utf-8")


def test_the_index_shows_changes_since_last_and_sorts_by_discussion_then_changes(tmp_path):
    _page(tmp_path, "a.html", 2, changes=1)
    _page(tmp_path, "b.html", 2, changes=5)
    _page(tmp_path, "c.html", 3)
    assert report_counts(tmp_path / "b.html") == {"discuss": 2, "changes": 5}
    assert report_counts(tmp_path / "c.html") == {"discuss": 3, "changes": None}
    assert changes_count({"changes": 4}) == 4
    entries = {
        "a": {"status": "done", "output": "a.html", "cluster_name": "Alpha", "hb_name": "A"},
        "b": {"status": "done", "output": "b.html", "cluster_name": "Beta", "hb_name": "Z"},
        "c": {"status": "done", "output": "c.html", "cluster_name": "Gamma", "hb_name": "Z"},
        "d": {"status": "done", "output": "gone.html", "cluster_name": "Delta", "discuss": 2, "changes": 3},
    }
    since = {"period": "2025-07..2026-06", "period_end": "2026-06", "source": "same period one quarter earlier",
             "previous_run": None, "definitions_changed": False, "reason": None}
    page = write_index(tmp_path, entries, title="Run", since=since).read_text(encoding="utf-8")
    order = re.findall(r'<tr data-cluster="([^"]+)">', page)
    assert order == ["c", "b", "d", "a"]
    cells = dict(re.findall(r'<tr data-cluster="([^"]+)">(?:<td[^>]*>.*?</td>){4}<td class="num">(\d*)</td>', page))
    assert cells == {"a": "1", "b": "5", "c": "", "d": "3"}
    assert '<th scope="col">Since last</th>' in page
    assert "compared with the 12 months to Jun 2026, the same length of time one quarter earlier" in page
    changed = write_index(tmp_path, entries, title="Run", since={
        **since, "previous_run": "/x/june/manifest.json", "source": "previous run /x/june/manifest.json",
        "definitions_changed": True}).read_text(encoding="utf-8")
    assert "the previous run (june)" in changed and "definitions have changed" in changed
