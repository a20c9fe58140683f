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
    assert list(table.columns) == ["practice_code", "month", "bnf_code", "items", "quantity", "cost",
                                   "description", "dmd_code"]
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
    assert list(table.columns) == ["practice_code", "month", "bnf_code", "items", "quantity", "cost",
                                   "description", "dmd_code"]
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


def _no_pandas_read(*_args):
    raise AssertionError("the file was read with pandas (the memory-hungry path)")


@pytest.mark.parametrize("variant", ["with DMDCode", "without DMDCode", "PaidDate YYYYMMDD", "Windows-1252 CRLF"])
def test_well_formed_files_are_read_straight_into_arrow(tmp_path, monkeypatch, variant):
    if variant == "PaidDate YYYYMMDD":
        header = s.PITC_HEADER_OLD.replace("PaidDateMonth", "PaidDate")
        path = s.write(tmp_path / "pitc202410.csv",
                       [header, *(s.pitc_line(*r, "20241001", header=s.PITC_HEADER_OLD) for r in ROWS)])
    elif variant == "Windows-1252 CRLF":
        lines = [s.PITC_HEADER_2024, *(s.pitc_line(*r, "202410") for r in ROWS)]
        lines.append(s.pitc_line("10017", "0403030E0AAAAAA", 1, 1, 1.0, "202410").replace("SOME DRUG", "CAF\u00c9 CR\u00c8ME"))
        path = s.write(tmp_path / "pitc202410.csv", lines, encoding="cp1252", newline="\r\n")
    else:
        header = s.PITC_HEADER_2024 if variant == "with DMDCode" else s.PITC_HEADER_OLD
        path = s.write_pitc(tmp_path, "202410", ROWS, header=header)
    monkeypatch.setattr(module, "_read_with_pandas", _no_pandas_read)
    table = module.read_prescribing_file(path)
    expected = dict(EXPECTED)
    if variant == "Windows-1252 CRLF":
        expected[("10017", "0403030E0AAAAAA")] = (1, 1.0, 1.0)
    assert _as_dict(table) == expected
    assert set(table["month"]) == {pd.Timestamp("2024-10-01")}


def _same_table(path):
    """The Arrow read and the pandas read of one file, with category order made irrelevant."""
    needed = ["GPPractice", "BNFItemCode", *module.MEASURE_COLUMNS, "PaidDateMonth"]
    fast = module._read_with_arrow(path, needed, "PaidDateMonth")
    slow = module._read_with_pandas(path, needed, "PaidDateMonth")
    assert fast is not None
    as_text = {"practice_code": "str", "bnf_code": "str"}
    pd.testing.assert_frame_equal(fast.astype(as_text), slow.astype(as_text))
    return fast


def test_arrow_read_names_codes_as_the_pandas_read_does(tmp_path):
    # spaces around codes are trimmed and the trimmed codes summed together; a column of whole
    # numbers is read by pandas as integers, so "010002" is practice 10002 in both reads
    rows = [(" 10002", "0501013B0AAABAB ", 3, 21, 4.5), ("10002", "0501013B0AAABAB", 2, 14, 3.0),
            ("010002", "0403030E0AAAAAA", 1, 28, 1.25), ("99996", "0909090X0AAAAAA", 50, 700, 90.0),
            ("10017", "0501013B0AAABAB", 4, 28, 6.0)]
    fast = _same_table(s.write_pitc(tmp_path, "202410", rows))
    assert _as_dict(fast) == EXPECTED
    assert "0909090X0AAAAAA" not in fast["bnf_code"].cat.categories  # only a non-practice row had it


def test_text_practice_codes_are_trimmed_not_read_as_numbers(tmp_path):
    rows = [("S1002 ", "0501013B0AAABAB", 3, 21, 4.5), ("010002", "0501013B0AAABAB", 2, 14, 3.0)]
    fast = _same_table(s.write_pitc(tmp_path, "202410", rows))
    assert sorted(fast["practice_code"].astype("str")) == ["010002", "S1002"]


def test_combined_cache_gives_the_cold_tables_dtypes_and_values(tmp_path):
    files = [s.write_pitc(tmp_path, "202410", ROWS), s.write_pitc(tmp_path, "202411", ROWS[:3])]
    cold = load_prescribing(files)
    assert len(list(cache_dir("prescribing").glob("set-*.arrow"))) >= 1
    cached = load_prescribing(files)
    pd.testing.assert_frame_equal(cold, cached, check_exact=True)
    for table in (cold, cached):
        assert table["month"].dtype == "datetime64[us]"
        assert table["items"].dtype == "int64" and table["cost"].dtype == "float64"
        for name in ("practice_code", "bnf_code"):
            assert isinstance(table[name].dtype, pd.CategoricalDtype)
            assert table[name].cat.categories.dtype == "str"
            assert list(table[name].cat.categories) == sorted(table[name].cat.categories)


def test_a_file_the_arrow_read_declines_is_read_with_pandas_to_the_same_table(tmp_path, monkeypatch):
    rows = [(p, b, f"{i}.0", q, c) for p, b, i, q, c in ROWS]  # whole numbers of items written as 3.0
    path = s.write_pitc(tmp_path, "202410", rows)
    needed = ["GPPractice", "BNFItemCode", *module.MEASURE_COLUMNS, "PaidDateMonth"]
    assert module._read_with_arrow(path, needed, "PaidDateMonth") is None
    assert _as_dict(load_prescribing([path])) == EXPECTED


def test_only_the_most_recently_used_combined_files_are_kept(tmp_path, monkeypatch):
    import time

    monkeypatch.setenv("CLUSTERQI_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(module, "COMBINED_KEEP", 2)
    sets = {name: [s.write_pitc(tmp_path / name, "202410", ROWS), s.write_pitc(tmp_path / name, "202411", ROWS[:n])]
            for name, n in (("a", 1), ("b", 2), ("c", 3))}
    combined = lambda: set(cache_dir("prescribing").glob("set-*.arrow"))  # noqa: E731
    made = {}
    for name in ("a", "b"):
        before = combined()
        load_prescribing(sets[name])
        (made[name],) = combined() - before
        time.sleep(0.05)
    first_a = load_prescribing(sets["a"])  # a reused: now more recent than b
    time.sleep(0.05)
    load_prescribing(sets["c"])
    assert made["a"] in combined() and made["b"] not in combined() and len(combined()) == 2
    again = load_prescribing(sets["b"])  # a pruned set is assembled again from its month caches
    assert again["items"].sum() == 10 + 3 + 2 and first_a["items"].sum() == 10 + 3


# --- PHS's own description columns (issue 13) ---------------------------------------------------

HEADER_2024 = s.PITC_HEADER_2024


def _line(practice, bnf, description, dmd, items=1, month="202410"):
    return f"S08000030,{practice},{dmd},{bnf},{description},AMP,{items},{items * 28},{items * 1.5},{month}"


DESCRIBED = [
    _line("10002", "0103050L0AAAAAA", "LANSOPRAZOLE 15MG GASTRO-RESISTANT CAPSULES", "317284002"),
    _line("10002", "0103050L0AAABAB", "LANSOPRAZOLE 30MG GASTRO-RESISTANT CAPSULES", "317285001"),
    _line("10017", "0103050L0AAABAB", "", ""),  # blank cells: the code keeps its first non-blank value
    _line("10017", "0103050L0AAABAB", "LANSOPRAZOLE 30MG GASTRO-RESISTANT CAPSULES", "317285001"),
    _line("99996", "0103050P0AAAAAA", "OMEPRAZOLE 20MG GASTRO-RESISTANT CAPSULES", "317354001"),
]


def _descriptions(table):
    return {str(r.bnf_code): (r.description, r.dmd_code) for r in table.itertuples()}


@pytest.mark.parametrize("reader", ["arrow", "pandas"])
def test_description_and_dmd_code_are_kept_as_categoricals_per_bnf_code(tmp_path, monkeypatch, reader):
    path = s.write(tmp_path / "pitc202410.csv", [HEADER_2024, *DESCRIBED])
    if reader == "pandas":
        monkeypatch.setattr(module, "_read_with_arrow", lambda *_a: None)
    table = module.read_prescribing_file(path)
    assert isinstance(table["description"].dtype, pd.CategoricalDtype)
    assert isinstance(table["dmd_code"].dtype, pd.CategoricalDtype)
    assert _descriptions(table) == {
        "0103050L0AAAAAA": ("LANSOPRAZOLE 15MG GASTRO-RESISTANT CAPSULES", "317284002"),
        "0103050L0AAABAB": ("LANSOPRAZOLE 30MG GASTRO-RESISTANT CAPSULES", "317285001"),
    }
    # the DMD code is text, never a number that loses digits
    assert table["dmd_code"].cat.categories.dtype == "str"


def test_a_file_without_the_columns_loads_with_all_null_description(tmp_path):
    path = s.write_pitc(tmp_path, "202410", ROWS, header=s.PITC_HEADER_OLD)  # no DMDCode
    table = load_prescribing([path])
    assert table["dmd_code"].isna().all() and len(table) == 3
    header = "HBT,GPPractice,BNFItemCode,NumberOfPaidItems,PaidQuantity,GrossIngredientCost,PaidDateMonth"
    bare = s.write(tmp_path / "other" / "pitc202411.csv",
                   [header, "S08000030,10002,0501013B0AAABAB,3,21,4.5,202411"])
    table = load_prescribing([bare])
    assert table["description"].isna().all() and table["dmd_code"].isna().all()
    assert table["items"].tolist() == [3]


def test_windows_1252_descriptions_are_decoded(tmp_path, monkeypatch):
    lines = [HEADER_2024, _line("10002", "1502010J0AAAFAF", "LIDOCAINE 5% MEDICATED PLASTERS CAF\u00c9", "1")]
    path = s.write(tmp_path / "pitc202410.csv", lines, encoding="cp1252", newline="\r\n")
    monkeypatch.setattr(module, "_read_with_pandas", _no_pandas_read)
    table = module.read_prescribing_file(path)
    assert table["description"].tolist() == ["LIDOCAINE 5% MEDICATED PLASTERS CAF\u00c9"]


def test_descriptions_survive_both_caches_and_mixed_files(tmp_path):
    described = s.write(tmp_path / "pitc202410.csv", [HEADER_2024, *DESCRIBED])
    bare = s.write_pitc(tmp_path, "202411", ROWS[:2], header=s.PITC_HEADER_OLD)
    first = load_prescribing([described, bare])
    again = load_prescribing([described, bare])  # the combined Arrow cache
    pd.testing.assert_frame_equal(first, again)
    october = first[first["month"] == pd.Timestamp("2024-10-01")]
    assert _descriptions(october)["0103050L0AAAAAA"][0].startswith("LANSOPRAZOLE 15MG")
    november = first[first["month"] == pd.Timestamp("2024-11-01")]
    assert november["description"].eq("SOME DRUG").all() and november["dmd_code"].isna().all()
    assert module.CACHE_VERSION >= 2
