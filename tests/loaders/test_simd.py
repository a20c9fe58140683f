"""load_simd (SIMD 2020v2 by Data Zone) and what load_dataset does with it."""

from __future__ import annotations

import pandas as pd
import pytest

from clusterqi.errors import DataError
from clusterqi.loaders import load_dataset, load_simd
from clusterqi.loaders.simd import SIMD_ZONES, decile_of_rank, quintile_of_rank
from tests.loaders import phs_samples as s
from tests.loaders import simd_samples as simd


def test_subset_file_loads_into_canonical_columns(tmp_path):
    table = load_simd(simd.write_subset(tmp_path))
    assert list(table.columns) == ["data_zone", "simd_rank", "simd_decile", "simd_quintile"]
    assert [str(t) for t in table.dtypes] == ["str", "int64", "int64", "int64"]
    assert table.to_records(index=False).tolist() == simd.ZONES


def test_phs_file_with_extra_columns_bom_and_crlf_loads_the_same(tmp_path):
    table = load_simd(simd.write_phs(tmp_path, bom=True, newline="\r\n"))
    assert table.to_records(index=False).tolist() == simd.ZONES


def test_real_subset_has_every_data_zone_once_with_consistent_deciles():
    table = load_simd(simd.real_simd())
    assert len(table) == SIMD_ZONES and table["data_zone"].is_unique
    assert sorted(table["simd_rank"]) == list(range(1, SIMD_ZONES + 1))
    assert (table["simd_decile"] == decile_of_rank(table["simd_rank"])).all()
    assert (table["simd_quintile"] == quintile_of_rank(table["simd_rank"])).all()
    assert table["simd_quintile"].value_counts().sort_index().tolist() == [1396, 1395, 1395, 1395, 1395]


def test_equal_share_deciles_and_quintiles_cut_the_6976_ranks():
    assert [decile_of_rank(r) for r in (1, 698, 699, 1396, 1397, 6976)] == [1, 1, 2, 2, 3, 10]
    assert [quintile_of_rank(r) for r in (1, 1396, 1397, 5581, 5582, 6976)] == [1, 1, 2, 4, 5, 5]


def _replace(zones, i, **change):
    z, r, d, q = zones[i]
    row = {"zone": z, "rank": r, "decile": d, "quintile": q, **change}
    out = list(zones)
    out[i] = (row["zone"], row["rank"], row["decile"], row["quintile"])
    return out


@pytest.mark.parametrize("zones, where", [
    (_replace(simd.ZONES, 1, zone="S02007129"), r"row 3, column DataZone: value 'S02007129' is not a 2011 Data Zone"),
    (_replace(simd.ZONES, 1, zone="S0100712"), r"row 3, column DataZone: value 'S0100712' is not a 2011 Data Zone"),
    (_replace(simd.ZONES, 2, rank=""), r"row 4 \(DataZone S01011870\), column SIMD2020V2Rank: value is blank"),
    (_replace(simd.ZONES, 2, rank="3320.5"), r"row 4 \(DataZone S01011870\), column SIMD2020V2Rank: value '3320.5' is not a whole number"),
    (_replace(simd.ZONES, 2, rank="abc"), r"row 4 \(DataZone S01011870\), column SIMD2020V2Rank: value 'abc' is not a whole number"),
    (_replace(simd.ZONES, 0, rank=0), r"row 2 \(DataZone S01000001\), column SIMD2020V2Rank: value '0' is outside 1..6,976"),
    (_replace(simd.ZONES, 1, rank=6977), r"row 3 \(DataZone S01007129\), column SIMD2020V2Rank: value '6977' is outside 1..6,976"),
    (_replace(simd.ZONES, 1, decile=11), r"row 3 \(DataZone S01007129\), column SIMD2020V2CountryDecile: value '11' is outside 1..10"),
    (_replace(simd.ZONES, 1, quintile=0), r"row 3 \(DataZone S01007129\), column SIMD2020V2CountryQuintile: value '0' is outside 1..5"),
    # rank 4192 (row 5) in decile 4 below rank 3320 (row 4) in decile 5
    (_replace(simd.ZONES, 3, decile=4),
     r"row 5 \(DataZone S01012014\), column SIMD2020V2CountryDecile: value '4' is inconsistent with rank 4192: "
     r"DataZone S01011870 at row 4 is more deprived \(rank 3320\) but in decile 5"),
    (_replace(simd.ZONES, 1, quintile=2),
     r"row 3 \(DataZone S01007129\), column SIMD2020V2CountryQuintile: value '2' is inconsistent with rank 6199"),
    (simd.ZONES + [("S01011870", 5000, 8, 4)],
     r"row 6, column DataZone: duplicate Data Zone 'S01011870' \(first at row 4\)"),
])
def test_bad_input_is_refused_naming_file_row_column_and_value(tmp_path, zones, where):
    path = simd.write_subset(tmp_path, zones)
    with pytest.raises(DataError, match=r"^simd2020v2_dz11\.csv, " + where):
        load_simd(path)


def test_missing_column_is_refused(tmp_path):
    path = s.write(tmp_path / "simd2020v2_dz11.csv", ["DataZone,SIMD2020V2Rank", "S01000001,100"])
    with pytest.raises(DataError, match=r"missing required column\(s\) SIMD2020V2CountryDecile, "
                                        r"SIMD2020V2CountryQuintile"):
        load_simd(path)


# --- load_dataset -----------------------------------------------------------------------------


def test_dataset_gives_every_practice_its_premises_simd(tmp_path):
    folder = s.write_mini_folder(tmp_path)
    simd.write_phs(folder)
    data = load_dataset(folder)
    p = data.practices.set_index("practice_code")
    assert set(p["data_zone"]) == {"S01000001"}
    assert p["simd_rank"].tolist() == [100] * 4 and p["simd_quintile"].tolist() == [1] * 4
    assert [str(p[c].dtype) for c in ("simd_rank", "simd_decile", "simd_quintile")] == ["Int64"] * 3
    assert data.simd.to_records(index=False).tolist() == simd.ZONES
    assert "simd" in set(data.sources["kind"])
    assert not data.warnings["kind"].isin(["no_simd_file", "practice_not_in_simd", "unrecognised_file"]).any()


def test_practices_whose_zone_is_not_in_the_file_get_one_warning_and_no_made_up_decile(tmp_path):
    folder = s.write_mini_folder(tmp_path)
    rows = [r for r in s.PRACTICES]
    s.write(folder / "practices" / "practice_contactdetails_oct2024-open-data.csv",
            [s.PRACTICE_HEADER, *[line.replace("S01000001", zone) for line, zone in
                                   zip(s.practice_rows(rows), ["S01007129", "S01999999", "S01011870", ""])]])
    simd.write_subset(folder)
    data = load_dataset(folder)
    p = data.practices.set_index("practice_code")
    assert p.loc["10002", "simd_decile"] == 9 and p.loc["21558", "simd_quintile"] == 3
    assert p.loc[["10017", "25826"], ["simd_rank", "simd_decile", "simd_quintile"]].isna().all().all()
    assert pd.isna(p.loc["25826", "data_zone"])
    warned = data.warnings[data.warnings["kind"] == "practice_not_in_simd"]
    assert len(warned) == 1
    row = warned.iloc[0]
    assert row["value"] == "10017,25826" and row["file"] == "simd2020v2_dz11.csv"
    assert "10017 (S01999999)" in row["message"] and "25826 (no Data Zone)" in row["message"]


def test_without_a_simd_file_everything_loads_with_one_note(tmp_path):
    data = load_dataset(s.write_mini_folder(tmp_path))
    assert data.simd is None
    assert data.practices[["simd_rank", "simd_decile", "simd_quintile"]].isna().all().all()
    assert set(data.practices["data_zone"]) == {"S01000001"}
    notes = data.warnings[data.warnings["kind"] == "no_simd_file"]
    assert len(notes) == 1
    assert "peer comparisons" in notes["message"].iloc[0] and "simd2020v2_22062020.csv" in notes["message"].iloc[0]


def test_a_renamed_simd_copy_is_unrecognised_and_said_to_be_simd(tmp_path):
    folder = s.write_mini_folder(tmp_path)
    simd.write_subset(folder, name="simd copy.csv")
    data = load_dataset(folder)
    reported = data.warnings[data.warnings["kind"] == "unrecognised_file"].set_index("file")
    assert "PHS SIMD header" in reported.at["simd copy.csv", "message"]
    assert data.simd is None


def test_both_simd_files_may_sit_side_by_side_when_they_agree(tmp_path):
    folder = s.write_mini_folder(tmp_path)
    simd.write_subset(folder / "simd")
    simd.write_phs(folder / "simd")
    data = load_dataset(folder)
    assert len(data.simd) == len(simd.ZONES)
    assert sorted(data.sources.loc[data.sources["kind"] == "simd", "file"]) == [
        "simd/simd2020v2_22062020.csv", "simd/simd2020v2_dz11.csv"]
    # PHS's deciles are population-weighted: they may differ from the subset's, ranks may not
    weighted = _replace(simd.ZONES, 2, decile=4)
    simd.write_phs(folder / "simd", weighted)
    data = load_dataset(folder)
    assert data.simd.set_index("data_zone").at["S01011870", "simd_decile"] == 4
    simd.write_phs(folder / "simd")
    disagree = _replace(simd.ZONES, 0, rank=101)
    simd.write_subset(folder / "simd", disagree)
    with pytest.raises(DataError, match=r"simd2020v2_dz11\.csv: Data Zone S01000001 has SIMD rank 101 but "
                                        r"simd2020v2_22062020\.csv gives it 100"):
        load_dataset(folder)


@pytest.mark.realdata
def test_all_888_real_practices_get_a_decile_from_the_real_simd(tmp_path):
    data = load_dataset(simd.real_folder_with_simd(tmp_path))
    p = data.practices
    assert len(p) == 888
    assert p["data_zone"].str.fullmatch(r"S01\d{6}").all()
    assert p["simd_decile"].notna().all() and p["simd_quintile"].between(1, 5).all()
    assert not data.warnings["kind"].isin(["no_simd_file", "practice_not_in_simd"]).any()
    assert p.set_index("practice_code").loc["10002", ["data_zone", "simd_rank", "simd_decile"]].tolist() == [
        "S01007129", 6199, 9]
    # every quintile of Scotland has practices, the most deprived the most
    counts = p["simd_quintile"].value_counts().sort_index()
    assert counts.index.tolist() == [1, 2, 3, 4, 5] and counts.iloc[0] == counts.max()
