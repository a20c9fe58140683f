"""cluster_context and practice_context on hand-made practices and populations (worked by hand),
and on the real practice list with the real SIMD file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clusterqi.context import (
    CLUSTER_CONTEXT_COLUMNS,
    PRACTICE_CONTEXT_COLUMNS,
    age_shares,
    cluster_context,
    practice_context,
)

OCT, JAN = pd.Timestamp("2024-10-01"), pd.Timestamp("2025-01-01")


def _practices():
    rows = [
        # code, cluster, list, rank, decile, quintile, last release
        ("P1", "c1", 1000, 100, 1, 1, JAN),
        ("P2", "c1", 3000, 5000, 8, 4, JAN),
        ("P3", "c2", 2000, None, None, None, JAN),   # Data Zone not in the SIMD file
        ("P4", None, 50, 3000, 5, 3, JAN),           # <Board> Undefined placeholder
        ("P5", "c1", 9000, 6900, 10, 5, OCT),        # closed: not in the latest release
        ("P6", "c3", 500, 6000, 9, 5, JAN),
    ]
    frame = pd.DataFrame(rows, columns=["practice_code", "cluster_id", "list_size", "simd_rank",
                                        "simd_decile", "simd_quintile", "last_release"])
    frame["practice_name"] = "Practice " + frame["practice_code"]
    frame["cluster_name"] = frame["cluster_id"].fillna("Fife Undefined").str.upper()
    frame["hscp_code"] = "S37000001"
    frame["home_hscp_code"] = np.where(frame["cluster_id"] == "c3", "S37000002", "S37000001")
    frame["home_hb_code"] = "S08000001"
    frame["data_zone"] = ["S01000001", "S01000002", "S01999999", "S01000004", "S01000005", "S01000006"]
    for column in ("simd_rank", "simd_decile", "simd_quintile"):
        frame[column] = frame[column].astype("Int64")
    return frame


def _band(code, sex, label, low, high, patients, date=JAN):
    return {"practice_code": code, "date": date, "sex": sex, "age_band": label, "age_min": low,
            "age_max": high, "patients": patients}


def _populations():
    rows = []
    # P1: 0-14 200, 15-64 600, 65+ 200 of 1,000 -> 20% / 20%
    # P2: 0-14 300, 15-64 1,800, 65+ 900 of 3,000 -> 10% under 15, 30% 65+
    for code, young, middle, old in (("P1", 100, 300, 100), ("P2", 150, 900, 450)):
        for sex in ("Male", "Female"):
            rows += [_band(code, sex, "0-14", 0, 14, young), _band(code, sex, "15-64", 15, 64, middle),
                     _band(code, sex, "65+", 65, None, old)]
    # P1 in an older release: ignored (latest date per practice)
    rows.append(_band("P1", "Male", "0-14", 0, 14, 9999, date=OCT))
    # P3: published only as an all-ages total (PHS suppressed its cells)
    rows.append(_band("P3", "All", "all", 0, None, 2000))
    # P6: bands that split at 65 but not at 15 (0-4, 5-64, 65+)
    for sex in ("Male", "Female"):
        rows += [_band("P6", sex, "0-4", 0, 4, 10), _band("P6", sex, "5-64", 5, 64, 190),
                 _band("P6", sex, "65+", 65, None, 50)]
    frame = pd.DataFrame(rows)
    frame["patients"] = frame["patients"].astype("Int64")
    frame["age_min"] = frame["age_min"].astype("Int64")
    frame["age_max"] = frame["age_max"].astype("Int64")
    return frame


def test_age_shares_by_hand():
    shares = age_shares(_populations()).set_index("practice_code")
    assert shares.loc["P1", ["share_65_plus", "share_under_15"]].tolist() == pytest.approx([0.2, 0.2])
    assert shares.loc["P2", ["share_65_plus", "share_under_15"]].tolist() == pytest.approx([0.3, 0.1])
    assert shares.loc["P1", "patients"] == 1000 and shares.loc["P3", "patients"] == 2000
    assert np.isnan(shares.loc["P3", "share_65_plus"]) and np.isnan(shares.loc["P3", "share_under_15"])
    # 5-64 holds both sides of 15: the under-15 share cannot be told; 65+ can (100 of 500)
    assert shares.loc["P6", "share_65_plus"] == pytest.approx(0.2)
    assert np.isnan(shares.loc["P6", "share_under_15"])


def test_cluster_context_by_hand():
    context = cluster_context(_practices(), _populations())
    assert list(context.columns) == CLUSTER_CONTEXT_COLUMNS
    assert context["cluster_id"].tolist() == ["c1", "c2", "c3"]   # no placeholder
    c = context.set_index("cluster_id")
    # c1 = P1 + P2 (P5 closed): 4,000 patients
    assert c.loc["c1", "practices"] == 2 and c.loc["c1", "list_size"] == 4000
    assert c.loc["c1", "share_65_plus"] == pytest.approx((200 + 900) / 4000)     # 0.275
    assert c.loc["c1", "share_under_15"] == pytest.approx((200 + 300) / 4000)    # 0.125
    assert c.loc["c1", "mean_simd_rank"] == pytest.approx((100 * 1000 + 5000 * 3000) / 4000)   # 3775
    assert c.loc["c1", ["simd_q1_share", "simd_q2_share", "simd_q3_share", "simd_q4_share",
                        "simd_q5_share"]].tolist() == pytest.approx([0.25, 0, 0, 0.75, 0])
    assert (c.loc["c1", "practices_with_simd"], c.loc["c1", "practices_without_simd"]) == (2, 0)
    assert c.loc["c1", "home_hscp_code"] == "S37000001" and c.loc["c3", "home_hscp_code"] == "S37000002"
    # c2: no SIMD, no age bands: missing, never guessed
    assert (c.loc["c2", "practices_with_simd"], c.loc["c2", "practices_without_simd"]) == (0, 1)
    assert c.loc["c2", ["mean_simd_rank", "share_65_plus", "simd_q1_share"]].isna().all()
    assert c.loc["c2", "list_size"] == 2000


def test_positions_among_clusters_by_hand():
    c = cluster_context(_practices(), _populations()).set_index("cluster_id")
    # list size: c1 4,000 (1st), c2 2,000 (2nd), c3 500 (3rd) of 3
    assert c["list_size_rank_among_clusters"].tolist() == [1, 2, 3]
    assert c["list_size_clusters_ranked"].tolist() == [3, 3, 3]
    # deprivation: c1 mean rank 3,775 is more deprived than c3's 6,000; c2 has none
    assert c.loc["c1", "mean_simd_rank_rank_among_clusters"] == 1
    assert c.loc["c3", "mean_simd_rank_rank_among_clusters"] == 2
    assert pd.isna(c.loc["c2", "mean_simd_rank_rank_among_clusters"])
    assert c.loc["c1", "mean_simd_rank_clusters_ranked"] == 2
    # 65+: c1 27.5% is older than c3 20% (rank 1 = the oldest); under 15: only c1 has a value
    assert c.loc["c1", "share_65_plus_rank_among_clusters"] == 1
    assert c.loc["c3", "share_65_plus_rank_among_clusters"] == 2
    assert c.loc["c1", "share_under_15_clusters_ranked"] == 1
    # quintile-1 share: c1 25% first, c3 0% second
    assert c["simd_q1_share_rank_among_clusters"].tolist()[0::2] == [1, 2]


def test_ties_share_the_best_place():
    practices = _practices()
    practices.loc[practices["practice_code"] == "P6", "list_size"] = 2000   # c3 now ties c2
    c = cluster_context(practices).set_index("cluster_id")
    assert c["list_size_rank_among_clusters"].tolist() == [1, 2, 2]


def test_without_populations_or_simd_the_context_still_comes_with_missing_measures():
    practices = _practices().drop(columns=["simd_rank", "simd_decile", "simd_quintile"])
    context = cluster_context(practices)
    assert context["share_65_plus"].isna().all() and context["mean_simd_rank"].isna().all()
    assert context["practices_without_simd"].tolist() == [2, 1, 1]
    assert context["list_size"].tolist() == [4000, 2000, 500]


def test_practice_context_by_hand():
    table = practice_context(_practices(), _populations())
    assert list(table.columns) == PRACTICE_CONTEXT_COLUMNS
    assert table["practice_code"].tolist() == ["P1", "P2", "P3", "P4", "P6"]   # open practices
    row = table.set_index("practice_code").loc["P2"]
    assert (row["simd_decile"], row["simd_quintile"], row["list_size"]) == (8, 4, 3000)
    assert (row["share_65_plus"], row["share_under_15"]) == pytest.approx((0.3, 0.1))
    assert pd.isna(table.set_index("practice_code").loc["P3", "simd_decile"])


@pytest.mark.realdata
def test_real_clusters_all_have_context_and_a_spread_of_deprivation(tmp_path, monkeypatch):
    from clusterqi.loaders import load_dataset
    from tests.loaders.simd_samples import real_folder_with_simd

    monkeypatch.setenv("CLUSTERQI_CACHE", str(tmp_path / "cache"))
    data = load_dataset(real_folder_with_simd(tmp_path / "phs"))
    context = cluster_context(data.practices, data.populations)
    assert len(context) == 149
    assert int(context["list_size"].sum()) == 6_018_624 - int(
        data.practices.loc[~data.practices["in_cluster"], "list_size"].sum())
    assert context["practices_without_simd"].eq(0).all()
    assert context["mean_simd_rank"].between(1, 6976).all()
    assert context[["simd_q1_share", "simd_q2_share", "simd_q3_share", "simd_q4_share",
                    "simd_q5_share"]].sum(axis=1).to_numpy() == pytest.approx(1.0)
    # Scotland's clusters run from mostly very deprived to mostly affluent
    assert context["simd_q1_share"].max() > 0.8 and context["simd_q5_share"].max() > 0.8
    assert context["share_65_plus"].between(0.03, 0.4).all()
    assert context["mean_simd_rank_clusters_ranked"].eq(149).all()
    ranks = context["list_size_rank_among_clusters"]
    assert ranks.min() == 1 and ranks.max() <= 149 and ranks.notna().all()
