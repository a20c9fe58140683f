"""Count cells (issue 17): complements, denominators and counts shared across indicators are
protected; the cross-boundary cluster's relations; the linear-programming audit; peers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from clusterqi import vocabulary
from clusterqi.disclosure import DisclosurePolicy, apply_disclosure, suppress_cells
from clusterqi.disclosure.suppression import audit_suppression
from tests.disclosure.builders import Practice, build_table, standard_practices

SHARE, RATE = "antibiotics_4c_share", "antibacterial_items_per_1000_per_day"
MONTHS = ["2025-08", "2025-09"]


def _share_and_rate(four_c: dict, antibacterial: dict, practices=None) -> pd.DataFrame:
    """The 4C share (numerator 4C items, denominator antibacterial items) and the antibacterial
    rate (numerator antibacterial items), both summed up like the indicator table."""
    practices = practices or [p for p in standard_practices() if p.cluster_id in ("north-1", "north-2")]
    share = build_table(practices, four_c, MONTHS, indicator_id=SHARE)
    rate = build_table(practices, antibacterial, MONTHS, indicator_id=RATE)
    share["denominator"] = rate["numerator"].to_numpy()
    share["value"] = share["numerator"] / share["denominator"] * 100
    return pd.concat([share, rate], ignore_index=True)


def _row(table, marks, indicator, area, period):
    at = ((table["indicator_id"] == indicator) & (table["area_id"] == area)
          & (table["period"] == period)).to_numpy()
    assert at.sum() == 1
    return marks[at].iloc[0]


def _counts(practices, value, special=None):
    return {(p.code, m): float((special or {}).get((p.code, m), value)) for p in practices for m in MONTHS}


def test_a_small_complement_suppresses_the_share_row():
    practices = [p for p in standard_practices() if p.cluster_id in ("north-1", "north-2")]
    table = _share_and_rate(_counts(practices, 10, {("10017", "2025-09"): 40}),
                            _counts(practices, 60, {("10017", "2025-09"): 42}), practices)
    marks = suppress_cells(table, 5)
    # 40 of 42: the complement (2 non-4C items) is a small count
    assert _row(table, marks, SHARE, "10017", "2025-09")["suppression"] == "primary"
    assert _row(table, marks, SHARE, "10017", "2025-08")["suppression"] != "primary"
    released, _ = apply_disclosure(table, DisclosurePolicy(cluster_id="north-1", salt="s"))
    shown = released[(released["indicator_id"] == SHARE) & released["numerator"].notna()
                     & released["denominator"].notna()]
    rest = shown["denominator"] - shown["numerator"]
    assert not rest.between(1, 4).any()


def test_a_small_denominator_is_hidden_with_its_row_and_in_the_indicator_counting_it():
    practices = [p for p in standard_practices() if p.cluster_id in ("north-1", "north-2")]
    table = _share_and_rate(_counts(practices, 10, {("20015", "2025-08"): 0}),
                            _counts(practices, 60, {("20015", "2025-08"): 3}), practices)
    marks = suppress_cells(table, 5)
    share, rate = _row(table, marks, SHARE, "20015", "2025-08"), _row(table, marks, RATE, "20015", "2025-08")
    assert share["suppression"] == "primary" and bool(share["denominator_hidden"])
    assert rate["suppression"] == "primary"
    released, _ = apply_disclosure(table, DisclosurePolicy(audience="practice", cluster_id="north-2",
                                                           reveal_practice="20015", salt="s"))
    mine = released[(released["area_id"] == "20015") & (released["period"] == "2025-08")]
    assert mine["numerator"].isna().all() and len(mine) == 2
    share = mine[mine["indicator_id"] == SHARE]
    assert share["denominator"].isna().all() and share["plot_size"].isna().all()
    # the rate's denominator is patient-days, not a small count: it stays
    assert mine.loc[mine["indicator_id"] == RATE, "denominator"].notna().all()


def test_a_count_hidden_in_one_indicator_is_hidden_where_another_shows_it():
    practices = [p for p in standard_practices() if p.cluster_id == "north-1"]
    # practice 10002 has 3 antibacterial items (primary in the rate); 10021's 6 is hidden with
    # it (next smallest in the cluster); the 4C share shows 6 as its denominator
    anti = _counts(practices, 60, {("10002", "2025-09"): 3, ("10021", "2025-09"): 6})
    table = _share_and_rate(_counts(practices, 0), anti, practices)
    marks = suppress_cells(table, 5)
    assert _row(table, marks, RATE, "10021", "2025-09")["suppression"] == "secondary"
    share = _row(table, marks, SHARE, "10021", "2025-09")
    assert share["suppression"] == "secondary" and bool(share["denominator_hidden"])


def test_counts_are_shared_by_equal_values_when_the_catalogue_does_not_say_so():
    practices = [p for p in standard_practices() if p.cluster_id == "north-1"]
    anti = _counts(practices, 60, {("10002", "2025-09"): 3, ("10021", "2025-09"): 6})
    table = _share_and_rate(_counts(practices, 0), anti, practices)
    copy = table[table["indicator_id"] == RATE].assign(indicator_id="local_copy_of_the_rate")
    both = pd.concat([table, copy], ignore_index=True)
    marks = suppress_cells(both, 5)
    # the copy is the same count: hidden wherever the original is, as the same count
    original = marks[(both["indicator_id"] == RATE).to_numpy()]["suppression"].to_numpy()
    copied = marks[(both["indicator_id"] == "local_copy_of_the_rate").to_numpy()]["suppression"].to_numpy()
    assert (pd.isna(original) == pd.isna(copied)).all()


def _crossing_practices() -> list[Practice]:
    """Cluster "kinross" homed in board A with one practice in board B (HSCP B), and cluster
    "fife" the only other cluster of board B."""
    return [
        Practice("11001", "K1", "kinross", "S37000001", "S08000001", 5000),
        Practice("11002", "K2", "kinross", "S37000001", "S08000001", 6000),
        Practice("11003", "Newburgh", "kinross", "S37000009", "S08000009", 3000),
        Practice("12001", "F1", "fife", "S37000009", "S08000009", 7000),
        Practice("12002", "F2", "fife", "S37000009", "S08000009", 8000),
        Practice("12003", "F3", "fife", "S37000009", "S08000009", 9000),
        Practice("13001", "A1", "angus", "S37000001", "S08000001", 4000),
        Practice("13002", "A2", "angus", "S37000001", "S08000001", 4000),
        Practice("13003", "A3", "angus", "S37000001", "S08000001", 4000),
    ]


def test_board_minus_its_own_clusters_cannot_give_a_cross_boundary_practice_back():
    practices = _crossing_practices()
    numerators = _counts(practices, 40, {("11003", "2025-09"): 2})
    table = build_table(practices, numerators, MONTHS)
    old = suppress_cells(table, 5)
    # the old rule: board B - cluster fife = Newburgh's 2, and fife's 120 is visible
    fife = _row(table, old, "test_indicator", "fife", "2025-09")
    board = _row(table, old, "test_indicator", "S08000009", "2025-09")
    assert pd.isna(fife["suppression"]) and pd.isna(board["suppression"])
    found = audit_suppression(table, old, 5)
    assert (~found["protected"]).any()
    new = suppress_cells(table, 5, audit=True)
    found = audit_suppression(table, new, 5)
    assert len(found) and found["protected"].all()
    assert (found["lower"] <= 0).all() and (found["upper"] >= 5).all()


def test_the_audit_protects_what_one_subtraction_leaves_recoverable():
    # HSCP 1 holds clusters c0 and c1, HSCP 2 clusters c2 and c3, one board. In August c0 has
    # 1 item and c1 none, so HSCP 1's August is 1 too. One subtraction is satisfied (c0 and
    # c1 are hidden together, HSCP 1 with c0), but board - HSCP 2 pins HSCP 1 at 1, and
    # c0 + c1 = 1: the LP finds c0 between 0 and 1, never 5.
    practices = [Practice(f"2{c}{k:03d}", f"P{c}{k}", f"c{c}", f"S3700000{1 + c // 2}",
                          "S08000001", 5000) for c in range(4) for k in range(3)]
    small = {(p.code, "2025-08"): 0 for p in practices if p.cluster_id in ("c0", "c1")}
    small[("20000", "2025-08")] = 1
    table = build_table(practices, _counts(practices, 30, small), MONTHS)
    old = suppress_cells(table, 5)
    found_old = audit_suppression(table, old, 5)
    assert (~found_old["protected"]).any(), found_old
    new = suppress_cells(table, 5, audit=True)
    found_new = audit_suppression(table, new, 5)
    assert len(found_new) and found_new["protected"].all(), found_new
    assert new["suppression"].notna().sum() > old["suppression"].notna().sum()


def test_peers_are_withheld_where_any_member_cluster_is_suppressed():
    practices = standard_practices()
    numerators = _counts(practices, 40, {(p.code, "2025-09"): 0 for p in practices
                                         if p.cluster_id == "isles"})
    numerators[("30004", "2025-09")] = 2
    table = build_table(practices, numerators, MONTHS)
    peers = vocabulary.comparator("peers")
    cluster = (table["level"] == "cluster").to_numpy()
    lists = {"north-1": "isles;south-1", "north-2": "south-1", "south-1": "north-1;north-2",
             "isles": "north-2"}
    table[peers.members_column] = pd.Series(
        np.where(cluster, table["area_id"].map(lists), None), dtype="str")
    table[peers.value_column] = np.where(cluster, 1.0, np.nan)
    for column in (peers.verdict_column, peers.unadjusted_column):
        table[column] = pd.Series(np.where(cluster, "similar", None), dtype="str")
    marks = suppress_cells(table, 5)
    assert _row(table, marks, "test_indicator", "isles", "2025-09")["suppression"] == "primary"
    released, _ = apply_disclosure(table, DisclosurePolicy(cluster_id="north-1", salt="s"))
    hidden = set(zip(table.loc[cluster & marks["suppression"].notna().to_numpy(), "area_id"],
                     table.loc[cluster & marks["suppression"].notna().to_numpy(), "period"]))
    rows = released[released["level"] == "cluster"]
    checked = 0
    for r in rows.to_dict("records"):
        if (r["area_id"], r["period"]) in hidden:
            continue   # its own value is withheld anyway
        member_hidden = any((m, r["period"]) in hidden for m in lists[r["area_id"]].split(";"))
        assert pd.isna(r[peers.value_column]) == member_hidden, r
        assert pd.isna(r[peers.verdict_column]) == member_hidden, r
        checked += member_hidden
    assert checked >= 1
    north_1 = rows.set_index(["area_id", "period"]).loc[("north-1", "2025-09")]
    assert pd.isna(north_1[peers.value_column])      # isles is suppressed that month
    assert rows[peers.value_column].eq(1.0).any()   # where no member is hidden, it stays
