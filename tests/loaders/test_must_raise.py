"""Unusable input raises clusterqi.DataError naming file, PHS column, row / practice, value, expectation."""

from __future__ import annotations

import pytest

from clusterqi import DataError
from clusterqi.loaders import load_dataset, load_lookups, load_populations, load_practices, load_prescribing
from tests.loaders import phs_samples as s

PRACTICE_FILE = "practice_contactdetails_oct2024-open-data.csv"
POPULATION_FILE = "practice_listsizes_oct2024-open-data.csv"


def _raises(call, *fragments):
    with pytest.raises(DataError) as info:
        call()
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert isinstance(info.value, ValueError)
    return message


def _with(rows, index, **change):
    fields = ["code", "name", "size", "hb", "hscp", "cluster"]
    out = [list(r) for r in rows]
    for key, value in change.items():
        out[index][fields.index(key)] = value
    return [tuple(r) for r in out]


# --- practices ---------------------------------------------------------------------------------

def test_practices_missing_gpcluster_column_names_the_column(tmp_path):
    path = s.write(tmp_path / PRACTICE_FILE, [s.PRACTICE_HEADER.replace(",GPCluster", ""),
                                              *(r.rsplit(",", 1)[0] for r in s.practice_rows())])
    _raises(lambda: load_practices(path), PRACTICE_FILE, "missing required column", "GPCluster", "expected")


def test_practices_unparseable_list_size_names_row_practice_and_value(tmp_path):
    path = s.write_practices(tmp_path, rows=_with(s.PRACTICES, 1, size="7,4x3".replace(",", "")))
    _raises(lambda: load_practices(path), PRACTICE_FILE, "row 3", "PracticeCode 10017", "PracticeListSize",
            "'74x3'", "not a whole number", "expected a whole number >= 0")


def test_practices_negative_list_size_is_an_error(tmp_path):
    path = s.write_practices(tmp_path, rows=_with(s.PRACTICES, 2, size="-12"))
    _raises(lambda: load_practices(path), PRACTICE_FILE, "row 4", "PracticeCode 21558", "PracticeListSize",
            "'-12'", "negative", "expected")


def test_practices_duplicate_practice_code_names_both_rows(tmp_path):
    path = s.write_practices(tmp_path, rows=[*s.PRACTICES, s.PRACTICES[0]])
    _raises(lambda: load_practices(path), PRACTICE_FILE, "row 6", "PracticeCode", "duplicate practice",
            "'10002'", "first at row 2", "expected each practice once")


def test_practices_empty_file_is_an_error(tmp_path):
    path = s.write(tmp_path / PRACTICE_FILE, "")
    _raises(lambda: load_practices(path), PRACTICE_FILE, "empty", "expected a header line")


def test_practices_header_without_rows_is_an_error(tmp_path):
    path = s.write(tmp_path / PRACTICE_FILE, [s.PRACTICE_HEADER])
    _raises(lambda: load_practices(path), PRACTICE_FILE, "no data rows", "expected")


def test_practices_blank_cluster_is_an_error(tmp_path):
    path = s.write_practices(tmp_path, rows=_with(s.PRACTICES, 0, cluster=""))
    _raises(lambda: load_practices(path), PRACTICE_FILE, "row 2", "PracticeCode 10002", "GPCluster", "blank",
            "expected the practice's GP cluster name")


def test_practice_file_name_without_a_release_date_is_an_error(tmp_path):
    path = s.write_practices(tmp_path, name="practices.csv")
    _raises(lambda: load_practices(path), "practices.csv", "release date", "expected practice_contactdetails_")


# --- populations -------------------------------------------------------------------------------

def test_populations_missing_sex_column_names_the_column(tmp_path):
    header = s.POPULATION_HEADER.replace("Sex,SexQF,", "")
    rows = [",".join(r.split(",")[:4] + r.split(",")[6:]) for r in s.POPULATION_ROWS]
    path = s.write(tmp_path / POPULATION_FILE, [header, *rows])
    _raises(lambda: load_populations(path), POPULATION_FILE, "missing required column", "Sex", "expected")


def test_populations_unparseable_count_names_row_practice_column_and_value(tmp_path):
    rows = list(s.POPULATION_ROWS)
    rows[1] = rows[1].replace(",172,", ",17two,")
    path = s.write_populations(tmp_path, rows=rows)
    _raises(lambda: load_populations(path), POPULATION_FILE, "row 3", "PracticeCode 10002", "Ages0to4",
            "'17two'", "expected a whole number >= 0")


def test_populations_negative_count_is_an_error(tmp_path):
    rows = list(s.POPULATION_ROWS)
    rows[0] = rows[0].replace(",936,", ",-936,")
    path = s.write_populations(tmp_path, rows=rows)
    _raises(lambda: load_populations(path), POPULATION_FILE, "row 2", "PracticeCode 10002", "Ages65plus",
            "'-936'", "negative", "expected")


def test_populations_duplicate_practice_and_sex_is_an_error(tmp_path):
    path = s.write_populations(tmp_path, rows=[*s.POPULATION_ROWS, s.POPULATION_ROWS[0]])
    _raises(lambda: load_populations(path), POPULATION_FILE, "row 8", "duplicate practice", "'10002'", "'Male'",
            "expected one row per practice and sex")


def test_populations_empty_file_is_an_error(tmp_path):
    path = s.write(tmp_path / POPULATION_FILE, "\r\n")
    _raises(lambda: load_populations(path), POPULATION_FILE, "empty", "expected")


def test_populations_all_row_disagreeing_with_male_plus_female_is_an_error(tmp_path):
    rows = list(s.POPULATION_ROWS)
    rows[2] = rows[2].replace(",8330,", ",8331,")
    path = s.write_populations(tmp_path, rows=rows)
    _raises(lambda: load_populations(path), POPULATION_FILE, "row 4", "PracticeCode 10002", "AllAges", "8331",
            "Male + Female = 8330", "expected")


def test_populations_without_age_band_columns_is_an_error(tmp_path):
    path = s.write(tmp_path / POPULATION_FILE, ["Date,PracticeCode,Sex,AllAges", "20241001,10002,Male,3"])
    _raises(lambda: load_populations(path), POPULATION_FILE, "no age-band columns", "expected columns such as Ages0to4")


# --- prescribing -------------------------------------------------------------------------------

def test_prescribing_missing_items_column_names_the_column(tmp_path):
    path = s.write(tmp_path / "pitc202410.csv", ["GPPractice,BNFItemCode,PaidQuantity,GrossIngredientCost,PaidDateMonth",
                                                 "10002,0501013B0AAABAB,2,1.5,202410"])
    _raises(lambda: load_prescribing([path]), "pitc202410.csv", "missing required column", "NumberOfPaidItems",
            "expected")


def test_prescribing_unparseable_items_names_row_practice_and_value(tmp_path):
    path = s.write_pitc(tmp_path, "202410", [("10002", "0501013B0AAABAB", 3, 21, 4.5),
                                             ("10017", "0501013B0AAABAB", "3 items", 21, 4.5)])
    _raises(lambda: load_prescribing([path]), "pitc202410.csv", "row 3", "GPPractice 10017", "NumberOfPaidItems",
            "'3 items'", "not a whole number", "expected a whole number of items >= 0")


def test_prescribing_unparseable_cost_names_row_practice_and_value(tmp_path):
    path = s.write_pitc(tmp_path, "202410", [("10002", "0501013B0AAABAB", 3, 21, "\u00a34.50")])
    _raises(lambda: load_prescribing([path]), "pitc202410.csv", "row 2", "GPPractice 10002", "GrossIngredientCost",
            "'\u00a34.50'", "expected a cost in pounds")


def test_prescribing_negative_items_is_an_error(tmp_path):
    path = s.write_pitc(tmp_path, "202410", [("10002", "0501013B0AAABAB", 3, 21, 4.5),
                                             ("10017", "0501013B0AAABAB", -2, 21, 4.5)])
    _raises(lambda: load_prescribing([path]), "pitc202410.csv", "row 3", "GPPractice 10017", "NumberOfPaidItems",
            "-2", "negative", "expected")


def test_prescribing_empty_file_is_an_error(tmp_path):
    path = s.write(tmp_path / "pitc202410.csv", "")
    _raises(lambda: load_prescribing([path]), "pitc202410.csv", "empty", "expected")


def test_prescribing_bad_month_value_is_an_error(tmp_path):
    path = s.write_pitc(tmp_path, "202413", [("10002", "0501013B0AAABAB", 3, 21, 4.5)])
    _raises(lambda: load_prescribing([path]), "pitc202413.csv", "row 2", "GPPractice 10002", "PaidDateMonth",
            "202413", "expected YYYYMM")


# --- lookups and folders -----------------------------------------------------------------------

def test_lookup_missing_name_column_is_an_error(tmp_path):
    s.write_lookups(tmp_path)
    s.write(tmp_path / "lookups" / "hb14_hb19.csv", s.HB_LOOKUP.replace("HBName", "Name"))
    _raises(lambda: load_lookups(tmp_path), "hb14_hb19.csv", "missing required column", "HBName", "expected")


def test_folder_without_practice_file_is_an_error(tmp_path):
    s.write_lookups(tmp_path)
    _raises(lambda: load_dataset(tmp_path), "no GP practice details file", "practice_contactdetails_")


def test_two_practice_files_for_one_release_are_an_error(tmp_path):
    s.write_mini_folder(tmp_path)
    s.write_practices(tmp_path / "copy")
    _raises(lambda: load_dataset(tmp_path), PRACTICE_FILE, "2024-10-01", "expected one file per release")
