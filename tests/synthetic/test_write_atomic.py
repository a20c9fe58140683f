"""synth never leaves a half-written world: it writes beside the folder and moves in when done."""

from __future__ import annotations

import pytest

from clusterqi import DataError
from clusterqi.synthetic import layouts, write_synthetic


class Interrupted(Exception):
    pass


def test_an_interrupted_synth_leaves_no_folder_and_no_debris(tmp_path, monkeypatch):
    real = layouts.write_pitc
    written = []

    def stop_after_three(path, *args, **kwargs):
        if len(written) == 3:
            raise Interrupted
        written.append(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(layouts, "write_pitc", stop_after_three)
    with pytest.raises(Interrupted):
        write_synthetic(tmp_path / "world", months=6)
    assert not (tmp_path / "world").exists()
    assert list(tmp_path.iterdir()) == []


def test_an_earlier_world_is_replaced_whole_and_other_folders_are_refused(tmp_path, monkeypatch):
    out = write_synthetic(tmp_path / "world", months=2)
    assert sorted(p.name for p in out.glob("pitc*.csv")) == ["pitc202608.csv", "pitc202609.csv"]
    write_synthetic(out, months=3)
    assert len(list(out.glob("pitc*.csv"))) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["world"]   # no backup left behind
    other = tmp_path / "notes"
    other.mkdir()
    (other / "mine.txt").write_text("keep me")
    with pytest.raises(DataError, match="holds other files"):
        write_synthetic(other, months=2)
    assert (other / "mine.txt").read_text() == "keep me"
