"""clusterqi.paths.replacing: how every shared file is written (whole or not at all)."""

from __future__ import annotations

import os
import stat

import pytest

from clusterqi.paths import replacing


def test_the_new_content_replaces_the_file_and_no_temporary_stays(tmp_path):
    target = tmp_path / "sub" / "manifest.json"
    with replacing(target) as tmp:
        assert tmp.parent == target.parent and tmp.name.startswith(".") and not target.exists()
        tmp.write_text("new", encoding="utf-8")
    assert target.read_text(encoding="utf-8") == "new"
    assert sorted(p.name for p in target.parent.iterdir()) == ["manifest.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "index.html"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), replacing(target) as tmp:
        tmp.write_text("half", encoding="utf-8")
        raise RuntimeError("disk full")
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["index.html"]


def test_writers_of_the_same_file_get_different_temporary_names(tmp_path):
    with replacing(tmp_path / "t.json") as first, replacing(tmp_path / "t.json") as second:
        assert first != second
        first.write_text("first", encoding="utf-8")
        second.write_text("second", encoding="utf-8")
    assert (tmp_path / "t.json").read_text(encoding="utf-8") == "first"  # the last to finish wins


def test_files_get_the_permissions_of_the_umask(tmp_path):
    umask = os.umask(0o022)
    try:
        with replacing(tmp_path / "report.html") as tmp:
            tmp.write_text("x", encoding="utf-8")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "report.html").stat().st_mode) == 0o644
