"""Prescribing: needed columns only, non-practices dropped, aggregated, every header variant, cached."""

from __future__ import annotations

import pandas as pd
import pytest

from clusterqi.loaders import load_prescribing
from clusterqi.loaders import prescribing as module
from clusterqi.paths import cache_dir
from tests.loaders import phs_samples as s

ROWS = [
    ("10002", "0501013B0AAABAB", 3, 21, 4.5),
    ("10002", "0501013B0AAABAB", 2, 14, 3.0),   # same practice x BNF code (another DMD code): summed
    ("10002", "0403030E0AAAAAA", 1, 28, 1.25),
    ("10017", "0501013B0AAABAB", 4, 28, 6.0),
    ("99996", "0501013B0AAABAB", 50, 700, 90.0),  # community pharmacy
    ("99999", "0501013B0AAABAB", 7, 70, 9.0),     # dental
]
EXPECTED = {("10002", "0403030E0AAAAAA"): (1, 28.0, 1.25), ("10002", "0501013B0AAABAB"): (5, 35.0, 7.5),
            ("10017", "0501013B0AAABAB"): (4, 28.0, 6.0)}


def _as_dict(table):
    return {(str(r.practice_code), str(r.bnf_code)): (r.items, r.quantity, r.cost) for r in table.itertuples()}


def test_rows_are_summed_per_practice_month_bnf_code_and_non_practices_dropped(tmp_path):
    table = load_prescribing([s.write_pitc(tmp_path, "202410", ROWS)])
    assert list(table.columns) == ["practice_code", "month", "bnf_code", "items", "quantity", "cost"]
    assert _as_dict(table) == EXPECTED
    assert (table["month"] == pd.Timestamp("2024-10-01")).all()
    assert pd.api.types.is_datetime64_any_dtype(table["month"])
    assert table["items"].dtype == "int64"


@pytest.mark.parametrize("variant", ["with DMDCode", "without DMDCode", "PaidDate YYYYMMDD"])
def test_each_phs_header_variant_gives_the_same_table(tmp_path, variant):
    if variant == "with DMDCode":
        path = s.write_pitc(tmp_path, "202410", ROWS)
    elif variant == "without DMDCode":
        path = s.write_pitc(tmp_path, "202410", ROWS, header=s.PITC_HEADER_OLD)
    else:
        header = s.PITC_HEADER_OLD.replace("PaidDateMonth", "PaidDate")
        lines = [header, *(s.pitc_line(*r, "20241001", header=s.PITC_HEADER_OLD) for r in ROWS)]
        path = s.write(tmp_path / "pitc202410.csv", lines)
    table = load_prescribing([path])
    assert _as_dict(table) == EXPECTED
    assert set(table["month"]) == {pd.Timestamp("2024-10-01")}


def test_several_months_load_from_a_folder_in_month_order(tmp_path):
    s.write_pitc(tmp_path / "2024", "202411", ROWS[:2])
    s.write_pitc(tmp_path / "2024", "202410", ROWS)
    s.write(tmp_path / "disp_pitc202410.csv", "not,a,practice,file\n")
    s.write(tmp_path / "hb_pitc202410.csv", "not,a,practice,file\n")
    table = load_prescribing(tmp_path)
    assert table.groupby("month")["items"].sum().to_dict() == {pd.Timestamp("2024-10-01"): 10,
                                                                 pd.Timestamp("2024-11-01"): 5}
    assert str(table["month"].iloc[0])[:7] == "2024-10"


def test_second_load_reads_the_parquet_cache_not_the_csv(tmp_path, monkeypatch):
    path = s.write_pitc(tmp_path, "202410", ROWS)
    first = load_prescribing([path])
    assert list(cache_dir("prescribing").glob("*.parquet"))

    def fail(_path):
        raise AssertionError("the CSV was read again")

    monkeypatch.setattr(module, "read_prescribing_file", fail)
    second = load_prescribing([path])
    pd.testing.assert_frame_equal(first, second)


def test_cache_is_keyed_by_content_so_a_changed_file_is_read_again(tmp_path):
    path = s.write_pitc(tmp_path, "202410", ROWS)
    assert load_prescribing([path])["items"].sum() == 10
    s.write_pitc(tmp_path, "202410", [*ROWS, ("10017", "0403030E0AAAAAA", 90, 1, 1.0)])
    assert load_prescribing([path])["items"].sum() == 100


def test_cache_is_never_written_beside_read_only_inputs(tmp_path):
    path = s.write_pitc(tmp_path / "in", "202410", ROWS)
    (tmp_path / "in").chmod(0o555)
    try:
        load_prescribing([path])
        assert sorted(p.name for p in (tmp_path / "in").iterdir()) == ["pitc202410.csv"]
    finally:
        (tmp_path / "in").chmod(0o755)


def test_no_files_give_an_empty_table_with_the_canonical_columns(tmp_path):
    table = load_prescribing(tmp_path)
    assert list(table.columns) == ["practice_code", "month", "bnf_code", "items", "quantity", "cost"]
    assert table.empty


def test_reloading_the_same_months_reads_one_combined_cache_file(tmp_path, monkeypatch):
    files = [s.write_pitc(tmp_path, "202410", ROWS), s.write_pitc(tmp_path, "202411", ROWS[:3])]
    before = set(cache_dir("prescribing").glob("set-*.arrow"))
    first = load_prescribing(files)
    assert len(set(cache_dir("prescribing").glob("set-*.arrow")) - before) == 1

    def fail(_parquet_files):
        raise AssertionError("the months were assembled again")

    monkeypatch.setattr(module, "_assemble", fail)
    pd.testing.assert_frame_equal(first, load_prescribing(files))
    assert first["items"].sum() == 10 + 6
