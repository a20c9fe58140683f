"""The index page: each cluster's discussion count, read from its report, and most to discuss first."""

from __future__ import annotations

import re

from clusterqi.index_page import discuss_count, write_index


def _report(folder, name, count):
    head = f'<!DOCTYPE html><html><head><meta name="clusterqi-discuss" content="{count}"></head>'
    (folder / name).write_text(head + "<body>" + "x" * 50_000 + "</body></html>", encoding="utf-8")


def test_counts_come_from_the_reports_and_clusters_with_most_to_discuss_come_first(tmp_path):
    _report(tmp_path, "a.html", 1)
    _report(tmp_path, "b.html", 4)
    (tmp_path / "c.html").write_text("<html><head></head></html>", encoding="utf-8")
    entries = {
        "a": {"status": "done", "output": "a.html", "cluster_name": "Alpha", "hb_name": "A"},
        "b": {"status": "done", "output": "b.html", "cluster_name": "Beta", "hb_name": "Z"},
        "c": {"status": "done", "output": "c.html", "cluster_name": "Gamma", "hb_name": "A"},
        "d": {"status": "failed", "cluster_name": "Delta", "hb_name": "A"},
        "e": {"status": "done", "output": "missing.html", "cluster_name": "Eps", "discuss": 2},
    }
    page = write_index(tmp_path, entries, title="Run").read_text(encoding="utf-8")
    order = re.findall(r'<tr data-cluster="([^"]+)">', page)
    assert order[:3] == ["b", "e", "a"] and set(order[3:]) == {"c", "d"}
    counts = dict(re.findall(r'<tr data-cluster="([^"]+)">(?:<td[^>]*>.*?</td>){3}<td class="num">(\d*)</td>', page))
    assert counts == {"a": "1", "b": "4", "c": "", "d": "", "e": "2"}
    assert "<th scope=\"col\">To discuss</th>" in page


def test_discuss_count_is_none_when_unknown(tmp_path):
    assert discuss_count({"status": "done", "output": "nope.html"}, tmp_path) is None
    assert discuss_count({"status": "failed"}, tmp_path) is None
    assert discuss_count({"discuss": 3}) == 3
