"""peer_groups on small hand-made contexts whose z-scores and distances are worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from clusterqi.peers import DEFAULT_PEERS, PEER_COLUMNS, PEER_MEASURES, PEER_METHOD, peer_groups


def _context(rows):
    return pd.DataFrame(rows, columns=["cluster_id", *PEER_MEASURES])


def test_one_measure_varying_gives_distances_by_hand_and_ties_broken_by_cluster_id():
    # ranks 1000..4000: mean 2500, sd (ddof 0) sqrt(1,250,000) = 1118.034; z = -1.342, -0.447, 0.447, 1.342
    context = _context([("d", 4000, 0.2, 0.1), ("b", 2000, 0.2, 0.1), ("a", 1000, 0.2, 0.1),
                        ("c", 3000, 0.2, 0.1)])
    peers = peer_groups(context, n_peers=3)
    assert list(peers.columns) == PEER_COLUMNS
    step = 1000 / math.sqrt(1_250_000)                       # 0.894427 between neighbours
    a = peers[peers["cluster_id"] == "a"]
    assert a["peer_cluster_id"].tolist() == ["b", "c", "d"]
    assert a["distance"].to_numpy() == pytest.approx([step, 2 * step, 3 * step])
    assert a["rank"].tolist() == [1, 2, 3]
    # b is as far from a as from c: a comes first by cluster_id
    b = peers[peers["cluster_id"] == "b"]
    assert b["peer_cluster_id"].tolist() == ["a", "c", "d"]
    assert b["distance"].to_numpy() == pytest.approx([step, step, 2 * step])
    assert peers["cluster_id"].tolist() == ["a"] * 3 + ["b"] * 3 + ["c"] * 3 + ["d"] * 3


def test_two_measures_varying_by_hand():
    # mean_simd_rank 100, 300, 500: z = -sqrt(1.5), 0, sqrt(1.5)
    # share_65_plus 0.1, 0.1, 0.4: mean 0.2, sd sqrt(0.02): z = -sqrt(0.5), -sqrt(0.5), sqrt(2)
    # share_under_15 all 0.2: no spread, contributes nothing
    context = _context([("p", 100, 0.1, 0.2), ("q", 300, 0.1, 0.2), ("r", 500, 0.4, 0.2)])
    peers = peer_groups(context, n_peers=2).set_index(["cluster_id", "peer_cluster_id"])["distance"]
    assert peers[("p", "q")] == pytest.approx(math.sqrt(1.5))     # 1.224745
    assert peers[("q", "r")] == pytest.approx(math.sqrt(6.0))     # 2.449490 = sqrt(1.5 + 4.5)
    assert peers[("p", "r")] == pytest.approx(math.sqrt(10.5))    # 3.240370 = sqrt(6 + 4.5)
    assert peers[("r", "q")] == pytest.approx(peers[("q", "r")])
    ranks = peer_groups(context, n_peers=2)
    assert ranks[ranks["cluster_id"] == "r"]["peer_cluster_id"].tolist() == ["q", "p"]


def test_clusters_without_simd_or_ages_are_left_out_both_ways_and_listed():
    context = _context([("a", 1000, 0.2, 0.1), ("b", 2000, 0.3, 0.1), ("c", 3000, 0.1, 0.2),
                        ("nosimd", np.nan, 0.2, 0.1), ("noage", 1500, np.nan, np.nan)])
    peers = peer_groups(context)
    assert set(peers["cluster_id"]) == {"a", "b", "c"}
    assert set(peers["peer_cluster_id"]) == {"a", "b", "c"}
    left = peers.attrs["left_out"].set_index("cluster_id")["reason"]
    assert sorted(left.index) == ["noage", "nosimd"]
    assert "no SIMD rank" in left["nosimd"] and "no age bands" in left["noage"]
    # the left-out clusters do not move the z-scores: same distances as without them
    alone = peer_groups(context.iloc[:3])
    assert alone["distance"].to_numpy() == pytest.approx(peers["distance"].to_numpy())


def test_a_cluster_is_never_its_own_peer_and_fewer_clusters_give_fewer_peers():
    context = _context([(f"c{i:02d}", 100 * i + 1, 0.1 + i / 100, 0.2 - i / 200) for i in range(20)])
    peers = peer_groups(context)
    assert DEFAULT_PEERS == 15
    assert (peers["cluster_id"] != peers["peer_cluster_id"]).all()
    assert peers.groupby("cluster_id").size().eq(15).all()
    assert peers.groupby("cluster_id")["rank"].apply(list).map(lambda r: r == list(range(1, 16))).all()
    assert (peers.groupby("cluster_id")["distance"].apply(lambda d: d.is_monotonic_increasing)).all()
    few = peer_groups(context.head(4))
    assert few.groupby("cluster_id").size().eq(3).all()


def test_the_result_does_not_depend_on_row_order():
    rng = np.random.default_rng(3)
    context = _context([(f"k{i}", float(v), float(a), float(u)) for i, (v, a, u) in
                        enumerate(zip(rng.integers(1, 6977, 30), rng.uniform(0.1, 0.3, 30),
                                      rng.uniform(0.1, 0.2, 30)))])
    first = peer_groups(context, n_peers=5)
    shuffled = peer_groups(context.sample(frac=1, random_state=1), n_peers=5)
    pd.testing.assert_frame_equal(first, shuffled)


@pytest.mark.parametrize("n", [0, -1, 2.5, True])
def test_a_peer_count_below_one_or_not_whole_is_refused(n):
    with pytest.raises(ValueError, match="n_peers"):
        peer_groups(_context([("a", 1, 0.1, 0.1), ("b", 2, 0.2, 0.2)]), n_peers=n)


def test_missing_measure_columns_are_refused():
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['share_under_15'\]"):
        peer_groups(pd.DataFrame({"cluster_id": ["a"], "mean_simd_rank": [1], "share_65_plus": [0.1]}))


def test_the_method_sentence_names_what_it_uses_and_its_limit():
    assert "15" in PEER_METHOD and "65" in PEER_METHOD and "under 15" in PEER_METHOD
    assert "Scottish Index of Multiple Deprivation" in PEER_METHOD
    assert "not where each patient lives" in PEER_METHOD
