"""Input PHS really publishes (or that spreadsheets produce) loads correctly."""

from __future__ import annotations

import pandas as pd
import pytest

from clusterqi.loaders import load_dataset, load_lookups, load_populations, load_practices, load_prescribing
from tests.loaders import phs_samples as s

REAL_PRACTICES = "practices/practice_contactdetails_oct2024-open-data.csv"
REAL_POPULATIONS = "practices/practice_listsizes_oct2024-open-data.csv"


def test_practices_with_utf8_bom_load_with_the_first_column_named_correctly(tmp_path):
    path = s.write_practices(tmp_path, bom=True)
    practices = load_practices(path)
    assert list(practices["practice_code"]) == ["10002", "10017", "21558", "25826"]


def test_practices_with_crlf_line_ends_load_without_stray_carriage_returns(tmp_path):
    practices = load_practices(s.write_practices(tmp_path, newline="\r\n"))
    assert set(practices["cluster_name"]) == {"Dundee 4", "Kinross/Errol/Bridge of Earn", "Fife Undefined"}
    assert not practices["cluster_name"].str.contains("\r").any()


def test_windows_1252_practice_names_decode_correctly(tmp_path):
    rows = [(*s.PRACTICES[0][:1], "Caf\u00e9 Road Surgery \u2013 Muirhead", *s.PRACTICES[0][2:])]
    practices = load_practices(s.write_practices(tmp_path, rows=rows, encoding="cp1252"))
    assert practices["practice_name"].iloc[0] == "Caf\u00e9 Road Surgery \u2013 Muirhead"


def test_practice_columns_in_another_order_with_extra_columns_load(tmp_path):
    frame = pd.read_csv(s.write_practices(tmp_path / "a"), dtype=str, keep_default_na=False)
    frame = frame[list(reversed(frame.columns))].assign(Website="https://example.org")
    path = tmp_path / "practice_contactdetails_oct2024-open-data.csv"
    frame.to_csv(path, index=False)
    assert load_practices(path).equals(load_practices(tmp_path / "a" / path.name))


def test_real_practice_and_population_files_reencoded_crlf_bom_load_the_same(phs_dir, tmp_path):
    for name in (REAL_PRACTICES, REAL_POPULATIONS):
        text = (phs_dir / name).read_text(encoding="utf-8")
        s.write(tmp_path / name, text, newline="\r\n", bom=True)
    assert load_practices(tmp_path / REAL_PRACTICES).equals(load_practices(phs_dir / REAL_PRACTICES))
    assert load_populations(tmp_path / REAL_POPULATIONS).equals(load_populations(phs_dir / REAL_POPULATIONS))


def test_real_lookups_reencoded_as_windows_1252_load_the_same(phs_dir, tmp_path):
    for name in ("hb14_hb19.csv", "hscp16_hscp19.csv"):
        text = (phs_dir / "lookups" / name).read_text(encoding="utf-8")
        s.write(tmp_path / name, text.replace("Western Isles", "Na h-Eileanan Siar \u2013 W\u00e9stern Isles"),
                encoding="cp1252")
    lookups = load_lookups(tmp_path)
    assert "Na h-Eileanan Siar \u2013 W\u00e9stern Isles" in set(lookups["hscp"]["hscp_name"])
    assert len(lookups["hb"]) == 14


def test_suppressed_population_blanks_load_as_one_all_ages_total(tmp_path):
    populations = load_populations(s.write_populations(tmp_path))
    small = populations[populations["practice_code"] == "25826"]
    assert small[["sex", "age_band", "patients"]].values.tolist() == [["All", "all", 32]]
    assert small["age_max"].isna().all() and small["age_min"].iloc[0] == 0
    big = populations[populations["practice_code"] == "10002"]
    assert set(big["sex"]) == {"Male", "Female"}  # the derived All row is not double counted
    assert int(populations["patients"].sum()) == 8330 + 32


def test_five_year_age_bands_are_read_from_the_header(tmp_path):
    header = "Date,PracticeCode,Sex,AllAges,Ages00to04,Ages00To04QF,Ages05to09,Ages05To09QF,Ages90plus,Ages90PlusQF"
    rows = ["20250115,10002,Male,30,10,,12,,8,", "20250115,10002,Female,31,11,,12,,8,"]
    populations = load_populations(s.write(tmp_path / "practice_listsizes_20250115_opendata.csv", [header, *rows]))
    bands = populations.drop_duplicates("age_band")
    assert list(bands["age_band"]) == ["0-4", "5-9", "90+"]
    assert list(bands["age_min"]) == [0, 5, 90]
    assert bands["age_max"].tolist()[:2] == [4, 9] and pd.isna(bands["age_max"].iloc[2])
    assert populations["date"].iloc[0] == pd.Timestamp("2025-01-15")


@pytest.mark.parametrize("encoding,newline,bom", [("utf-8", "\r\n", True), ("cp1252", "\n", False)])
def test_prescribing_with_bom_crlf_or_windows_1252_descriptions_loads(tmp_path, encoding, newline, bom):
    lines = [s.PITC_HEADER_2024, s.pitc_line("10002", "0501013B0AAABAB", 3, 21, 4.5, "202410"),
             "S08000030,10002,1,0501013B0AAABAB,AMOXICILLIN \u00e9\u2013,AMP,2,14,3.25,202410"]
    path = s.write(tmp_path / "pitc202410.csv", lines, encoding=encoding, newline=newline, bom=bom)
    table = load_prescribing([path])
    assert table[["items", "quantity", "cost"]].values.tolist() == [[5, 35.0, 7.75]]
    assert str(table["practice_code"].iloc[0]) == "10002"


def test_prescribing_columns_reordered_with_extra_columns_load(tmp_path):
    header = "PaidDateMonth,GrossIngredientCost,Extra,NumberOfPaidItems,PaidQuantity,BNFItemCode,GPPractice"
    path = s.write(tmp_path / "pitc202410.csv", [header, "202410,1.5,x,2,10,0501013B0AAABAB,10002"])
    table = load_prescribing(path)
    assert table[["items", "quantity", "cost"]].values.tolist() == [[2, 10.0, 1.5]]


def test_a_whole_folder_with_bom_crlf_and_cp1252_files_loads(tmp_path):
    s.write_lookups(tmp_path)
    s.write_practices(tmp_path / "practices", bom=True, newline="\r\n")
    s.write_populations(tmp_path / "practices", encoding="cp1252")
    data = load_dataset(tmp_path)
    assert len(data.practices) == 4
    assert data.practices.set_index("practice_code").loc["10017", "hb_name"] == "NHS Tayside"
