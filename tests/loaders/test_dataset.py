"""load_dataset: file discovery, several releases, list size in effect, warnings; clusterqi validate."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from clusterqi.cli import main
from clusterqi.loaders import Dataset, load_dataset
from tests.loaders import phs_samples as s

JAN_RELEASE = "practice_contact_details_20250115_opendata.csv"


def _two_releases(folder):
    """October 2024 (4 practices) and 15 January 2025 (10017 closed, 30001 opened, 10002 grew)."""
    s.write_mini_folder(folder)
    rows = [r for r in s.PRACTICES if r[0] != "10017"]
    rows = [(c, n, "8500" if c == "10002" else size, hb, hscp, cl) for c, n, size, hb, hscp, cl in rows]
    rows.append(("30001", "New Town Practice", "0", "S08000030", "S37000007", "Dundee 4"))
    s.write_practices(folder / "practices", name=JAN_RELEASE, rows=rows)
    return folder


def test_dataset_is_frozen_with_every_contract_field(tmp_path):
    data = load_dataset(s.write_mini_folder(tmp_path))
    names = [f.name for f in dataclasses.fields(Dataset)]
    assert names == ["practices", "populations", "list_sizes", "prescribing", "lookups", "warnings", "sources",
                     "simd"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        data.practices = None
    assert list(data.warnings.columns) == ["kind", "file", "row", "column", "practice_code", "value", "message"]
    assert list(data.sources.columns) == ["file", "kind", "sha256", "period"]


def test_practices_from_several_releases_keep_first_and_last_release(tmp_path):
    data = load_dataset(_two_releases(tmp_path))
    p = data.practices.set_index("practice_code")
    assert sorted(p.index) == ["10002", "10017", "21558", "25826", "30001"]
    assert p.loc["10017", "last_release"] == pd.Timestamp("2024-10-01")   # closed
    assert p.loc["30001", "first_release"] == pd.Timestamp("2025-01-15")  # opened
    assert p.loc["10002", "list_size"] == 8500                             # latest release
    assert len(data.list_sizes) == 4 + 4


def test_list_size_in_effect_uses_the_latest_release_on_or_before_each_month(tmp_path):
    data = load_dataset(_two_releases(tmp_path))
    sizes = data.list_size_in_effect(["2024-09", "2024-12", "2025-01", pd.Timestamp("2025-03-01")])
    table = sizes.set_index(["practice_code", "month"])["list_size"]
    assert table[("10002", pd.Timestamp("2024-09-01"))] == 8330   # before the first release: earliest
    assert table[("10002", pd.Timestamp("2024-12-01"))] == 8330
    assert table[("10002", pd.Timestamp("2025-01-01"))] == 8500   # January release applies from January
    assert ("10017", pd.Timestamp("2025-03-01")) not in table.index  # closed practice has no size
    assert table[("30001", pd.Timestamp("2025-03-01"))] == 0


def test_cluster_home_comes_from_most_patients(tmp_path):
    data = load_dataset(s.write_mini_folder(tmp_path))
    kinross = data.practices[data.practices["cluster_id"] == "kinross-errol-bridge-of-earn"]
    # 21558 in Fife (9,000 patients) outweighs 10017 in Perth and Kinross (7,463)
    assert set(kinross["home_hscp_code"]) == {"S37000032"} and set(kinross["home_hb_code"]) == {"S08000029"}
    assert set(kinross["hscp_code"]) == {"S37000032", "S37000033"}


def test_findings_become_warning_rows_not_errors(tmp_path):
    folder = _two_releases(tmp_path)
    s.write_pitc(folder / "prescribing", "202501", [("10002", "0501013B0AAABAB", 3, 21, 4.5),
                                                    ("10017", "0501013B0AAABAB", 2, 14, 3.0)])
    data = load_dataset(folder)
    w = data.warnings
    unknown = w[w["kind"] == "unknown_practice"]
    assert list(unknown["practice_code"]) == []  # 10017 is in an earlier release: known, not unknown
    missing = w[w["kind"] == "missing_month"]
    assert set(missing["practice_code"]) == {"21558", "25826", "30001"}
    assert set(missing["value"]) == {"2025-01"}
    zero = w[w["kind"] == "zero_list_size"]
    assert list(zero["practice_code"]) == ["30001"] and list(zero["column"]) == ["PracticeListSize"]
    assert set(w.loc[w["kind"] == "suppressed_population", "practice_code"]) == {"25826"}


def test_prescribing_codes_missing_from_every_practice_list_are_warnings(tmp_path):
    folder = s.write_mini_folder(tmp_path)
    s.write_pitc(folder, "202410", [("10002", "0501013B0AAABAB", 3, 21, 4.5), ("77777", "0501013B0AAABAB", 9, 1, 1)])
    data = load_dataset(folder)
    unknown = data.warnings[data.warnings["kind"] == "unknown_practice"]
    assert list(unknown["practice_code"]) == ["77777"]
    assert "9 items" in unknown["message"].iloc[0]
    assert data.prescribing["items"].sum() == 12  # kept in the table, flagged in the warnings


def test_only_files_named_as_phs_names_them_are_read_and_copies_are_reported(tmp_path):
    folder = s.write_mini_folder(tmp_path)
    s.write_pitc(folder, "202410", [("10002", "0501013B0AAABAB", 3, 21, 4.5)])
    (folder / "pitc202410 - Copy.csv").write_bytes((folder / "pitc202410.csv").read_bytes())
    s.write_pitc(folder, "202411", [("10002", "0501013B0AAABAB", 5, 35, 7.5)])
    (folder / "pitc202411.csv").rename(folder / "november prescribing.csv")
    s.write(folder / "notes.csv", ["Name,Comment", "a,b"])
    s.write(folder / "ground_truth.csv", ["kind,indicator_id", "practice_outlier,x"])  # known, skipped
    (folder / "fetch.json").write_text("{not json at all")  # may be used, never needed
    data = load_dataset(folder)
    assert data.prescribing["items"].sum() == 3  # October once; the copy and the renamed file unread
    reported = data.warnings[data.warnings["kind"] == "unrecognised_file"].set_index("file")
    assert sorted(reported.index) == ["notes.csv", "november prescribing.csv",
                                      "pitc202410 - Copy.csv"]
    assert "PHS prescribing header" in reported.at["pitc202410 - Copy.csv", "message"]
    assert "not read" in reported.at["notes.csv", "message"]
    assert set(data.sources["kind"]) == {"hb_lookup", "hscp_lookup", "practices", "populations", "prescribing"}


def test_validate_prints_a_summary_and_exits_0(tmp_path, capsys):
    folder = s.write_mini_folder(tmp_path)
    s.write_pitc(folder, "202410", [("10002", "0501013B0AAABAB", 3, 21, 4.5)])
    assert main(["validate", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "Practices: 4 seen" in out
    assert "Clusters: 2 (+ 1 '<Board> Undefined' placeholders)" in out
    assert "1 months (2024-10)" in out
    assert "suppressed_population: 1" in out and "practice 25826" in out


def test_validate_exits_1_with_the_message_and_no_traceback(tmp_path, capsys):
    folder = s.write_mini_folder(tmp_path)
    s.write_pitc(folder, "202410", [("10002", "0501013B0AAABAB", "many", 21, 4.5)])
    assert main(["validate", str(folder)]) == 1
    err = capsys.readouterr().err
    assert "pitc202410.csv, row 2 (GPPractice 10002), column NumberOfPaidItems: value 'many'" in err
    assert "Traceback" not in err
