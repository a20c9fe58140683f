"""The real PHS October 2024 files in ../shared/data/phs load with Scotland's known totals."""

from __future__ import annotations

import pandas as pd
import pytest

from clusterqi.loaders import load_dataset, load_lookups, load_populations, load_practices

pytestmark = pytest.mark.realdata

PRACTICES = 888
CLUSTERS = 149
PLACEHOLDERS = 4
PATIENTS = 6_018_624
CROSS_BOUNDARY = ["Bothwell, Uddingston & Viewpark", "Doon Valley Cluster", "Kinross/Errol/Bridge of Earn"]


@pytest.fixture(scope="module")
def real(phs_dir, tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CLUSTERQI_CACHE", str(tmp_path_factory.mktemp("cache")))
        return load_dataset(phs_dir)


def test_real_practice_list_has_888_practices_and_153_cluster_names(real):
    p = real.practices
    assert len(p) == PRACTICES
    assert p["practice_code"].is_unique
    assert p["cluster_name"].nunique() == CLUSTERS + PLACEHOLDERS
    assert p.loc[p["in_cluster"], "cluster_id"].nunique() == CLUSTERS
    assert p["cluster_name"].notna().all()


def test_board_undefined_placeholders_have_no_cluster_id(real):
    placeholders = real.practices[~real.practices["in_cluster"]]
    assert len(placeholders) == PLACEHOLDERS
    assert placeholders["cluster_name"].str.endswith(" Undefined").all()
    assert placeholders["cluster_id"].isna().all()
    assert (placeholders["home_hscp_code"] == placeholders["hscp_code"]).all()


def test_real_list_sizes_and_populations_both_total_6018624(real):
    assert int(real.practices["list_size"].sum()) == PATIENTS
    assert int(real.list_sizes["list_size"].sum()) == PATIENTS
    assert int(real.populations["patients"].sum()) == PATIENTS


def test_seven_suppressed_practices_keep_only_their_all_sexes_total(real):
    pop = real.populations
    totals_only = pop[pop["sex"] == "All"]
    assert len(totals_only) == 7
    assert (totals_only["age_band"] == "all").all()
    assert totals_only["age_max"].isna().all()
    assert set(pop["sex"]) == {"Male", "Female", "All"}
    assert (real.warnings["kind"] == "suppressed_population").sum() == 7
    # every other practice: 2 sexes x 8 broad bands, none missing
    sexed = pop[pop["sex"] != "All"]
    assert sexed["patients"].notna().all()
    assert sexed.groupby("practice_code").size().eq(16).all()
    assert sexed["practice_code"].nunique() == PRACTICES - 7


def test_age_bands_are_read_from_the_real_header(real):
    bands = real.populations.drop_duplicates("age_band").set_index("age_band")
    assert list(bands.index[:2]) == ["0-4", "5-14"]
    assert bands.loc["85+", "age_min"] == 85 and pd.isna(bands.loc["85+", "age_max"])
    assert bands.loc["5-14", "age_max"] == 14


@pytest.mark.parametrize("name", CROSS_BOUNDARY)
def test_cross_boundary_cluster_is_kept_whole_with_one_home(real, name):
    members = real.practices[real.practices["cluster_name"] == name]
    assert members["hscp_code"].nunique() == 2
    assert members["cluster_id"].nunique() == 1
    assert members["home_hscp_code"].nunique() == 1 and members["home_hb_code"].nunique() == 1
    by_hscp = members.groupby("hscp_code")["list_size"].sum()
    assert members["home_hscp_code"].iloc[0] == by_hscp.idxmax()
    by_hb = members.groupby("hb_code")["list_size"].sum()
    assert members["home_hb_code"].iloc[0] == by_hb.idxmax()


def test_kinross_cluster_spans_tayside_and_fife_with_home_in_tayside(real):
    members = real.practices[real.practices["cluster_name"] == "Kinross/Errol/Bridge of Earn"]
    assert set(members["hb_name"]) == {"NHS Tayside", "NHS Fife"}
    assert set(members["home_hb_code"]) == {"S08000030"}


def test_only_the_three_known_clusters_span_two_hscps(real):
    spans = real.practices[real.practices["in_cluster"]].groupby("cluster_name")["hscp_code"].nunique()
    assert sorted(spans[spans > 1].index) == sorted(CROSS_BOUNDARY)


def test_lookups_drop_archived_codes(phs_dir):
    lookups = load_lookups(phs_dir / "lookups")
    assert len(lookups["hb"]) == 14 and lookups["hb"]["hb_code"].is_unique
    assert len(lookups["hscp"]) == 31 and lookups["hscp"]["hscp_code"].is_unique
    assert "S08000027" not in set(lookups["hb"]["hb_code"])  # Tayside's archived 2014 code
    assert list(lookups["hscp"].columns) == ["hscp_code", "hscp_name", "hb_code"]


def test_every_practice_gets_names_from_the_lookups(real):
    assert real.practices["hscp_name"].notna().all()
    assert real.practices["hb_name"].notna().all()
    assert not (real.warnings["kind"] == "unknown_area").any()


def test_single_file_loaders_agree_with_load_dataset(phs_dir, real):
    practices = load_practices(phs_dir / "practices" / "practice_contactdetails_oct2024-open-data.csv")
    assert practices["list_size"].sum() == PATIENTS
    assert practices["hb_name"].isna().all()  # no lookups passed
    populations = load_populations(phs_dir / "practices" / "practice_listsizes_oct2024-open-data.csv")
    assert populations.equals(real.populations)


def test_sources_record_each_file_with_its_hash(real):
    kinds = real.sources.set_index("kind")
    assert kinds.loc["practices", "period"] == "2024-10-01"
    assert real.sources["sha256"].str.fullmatch(r"[0-9a-f]{64}").all()
