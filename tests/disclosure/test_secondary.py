"""Secondary suppression: no suppressed cell can be recovered by one subtraction, in any group."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clusterqi.disclosure import DisclosurePolicy, apply_disclosure, suppress_cells
from tests.disclosure.builders import Practice, build_table, groups, standard_practices

THRESHOLD = 5


def _recoverable(parent_visible: bool, children_hidden: list[bool], children_small: list[bool],
                 parent_small: bool) -> bool:
    """One subtraction recovers a small hidden cell: the total minus the visible others, or the
    sum of all visible children for a hidden total."""
    if parent_visible and sum(children_hidden) == 1:
        return children_small[children_hidden.index(True)]
    if not parent_visible and children_hidden and not any(children_hidden):
        return parent_small
    return False


def _assert_nothing_recoverable(table: pd.DataFrame, visible: np.ndarray, small: np.ndarray) -> None:
    for parent, children in groups(table):
        if not children:
            continue
        hidden = [not visible[c] for c in children]
        assert not _recoverable(bool(visible[parent]), hidden, [bool(small[c]) for c in children],
                                bool(small[parent])), (
            table.loc[[parent] + children, ["level", "area_id", "period", "numerator"]])


@st.composite
def small_tables(draw):
    """1-2 boards, 1-3 HSCPs, 1-4 clusters of 1-4 practices, maybe an unclustered practice,
    1-3 months, numerators mostly small so suppression is common."""
    n_months = draw(st.integers(1, 3))
    months = [f"2025-{m:02d}" for m in range(1, n_months + 1)]
    hscps = [("S37000001", "S08000001"), ("S37000002", "S08000001"), ("S37000003", "S08000002")]
    practices = []
    for c in range(draw(st.integers(1, 4))):
        hscp, hb = hscps[draw(st.integers(0, 2))]
        for k in range(draw(st.integers(1, 4))):
            practices.append(Practice(f"{c + 1}{k:04d}", f"Practice {c}-{k}", f"cl-{c}", hscp, hb,
                                      draw(st.integers(50, 9000))))
    if draw(st.booleans()):
        hscp, hb = hscps[draw(st.integers(0, 2))]
        practices.append(Practice("99001", "Undefined practice", None, hscp, hb, 40))
    numerators = {
        (p.code, m): draw(st.sampled_from([0, 0, 1, 2, 3, 4, 5, 6, 8, 12, 30]))
        for p in practices for m in months
    }
    return build_table(practices, numerators, months)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_tables())
def test_no_suppressed_cell_is_recoverable_by_one_subtraction_in_any_group(table):
    marks = suppress_cells(table, threshold=THRESHOLD)
    numerator = table["numerator"].to_numpy()
    small = (numerator > 0) & (numerator < THRESHOLD)
    visible = marks["suppression"].isna().to_numpy()
    assert not (visible & small).any()
    _assert_nothing_recoverable(table, visible, small)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_tables(), st.data())
def test_released_cluster_table_lets_no_small_cell_be_recovered_by_one_subtraction(table, data):
    clusters = sorted(table.loc[table["level"] == "cluster", "area_id"].unique())
    policy = DisclosurePolicy(cluster_id=data.draw(st.sampled_from(clusters)), salt="s")
    released, _ = apply_disclosure(table, policy)
    # a cell is visible only if its row is released with its exact numerator
    shown = table.merge(
        released.loc[released["numerator"].notna() & (released["level"] != "practice"),
                     ["level", "area_id", "period"]].assign(shown=True),
        on=["level", "area_id", "period"], how="left")["shown"].fillna(False).astype(bool).to_numpy()
    numerator = table["numerator"].to_numpy()
    small = (numerator > 0) & (numerator < THRESHOLD)
    _assert_nothing_recoverable(table, shown, small)
    visible_small = released["numerator"].between(1, THRESHOLD - 1)
    assert not visible_small.any()


def test_single_suppressed_practice_makes_next_smallest_practice_suppressed():
    practices = [p for p in standard_practices() if p.cluster_id == "north-1"]
    counts = dict(zip([p.code for p in practices], [3, 40, 9, 25, 60]))
    table = build_table(practices, {(c, "2025-09"): n for c, n in counts.items()}, ["2025-09"])
    marks = suppress_cells(table, threshold=THRESHOLD)
    month = (table["level"] == "practice") & (table["period_type"] == "month")
    chosen = dict(zip(table.loc[month, "area_id"], marks.loc[month, "suppression"]))
    assert chosen["10002"] == "primary"
    assert chosen["10021"] == "secondary"  # 9 is the next smallest, not 25, 40 or 60
    assert sum(pd.notna(v) for v in chosen.values()) == 2
    assert marks.loc[marks["suppression"] == "secondary", "group"].tolist()[0] == (
        "practices in their cluster")


def test_secondary_prefers_a_non_zero_cell_over_a_zero_one():
    practices = [p for p in standard_practices() if p.cluster_id == "north-1"]
    counts = dict(zip([p.code for p in practices], [2, 0, 0, 11, 7]))
    table = build_table(practices, {(c, "2025-09"): n for c, n in counts.items()}, ["2025-09"])
    marks = suppress_cells(table, threshold=THRESHOLD)
    month = (table["level"] == "practice") & (table["period_type"] == "month")
    chosen = dict(zip(table.loc[month, "area_id"], marks.loc[month, "suppression"]))
    assert chosen["10040"] == "secondary"  # the 7, not a 0


def test_secondary_suppression_can_be_switched_off():
    practices = [p for p in standard_practices() if p.cluster_id == "north-1"]
    counts = dict(zip([p.code for p in practices], [3, 40, 9, 25, 60]))
    table = build_table(practices, {(c, "2025-09"): n for c, n in counts.items()}, ["2025-09"])
    marks = suppress_cells(table, threshold=THRESHOLD, secondary=False)
    assert set(marks["suppression"].dropna()) == {"primary"}


def test_board_total_minus_clusters_cannot_reveal_a_small_undefined_practice():
    practices = standard_practices()
    numerators = {(p.code, "2025-09"): (2 if p.cluster_id is None else 80) for p in practices}
    table = build_table(practices, numerators, ["2025-09"])
    marks = suppress_cells(table, threshold=THRESHOLD)
    month = table["period_type"] == "month"
    board = month & (table["hb_code"] == "S08000002")
    clusters = board & (table["level"] == "cluster")
    # the only cluster in that board is suppressed too, so board - clusters reveals nothing
    assert marks.loc[clusters, "suppression"].eq("secondary").any() or marks.loc[
        board & (table["level"] == "hb"), "suppression"].notna().any()


def test_comparator_value_is_withheld_where_its_unit_is_suppressed():
    practices = [p for p in standard_practices() if p.cluster_id == "north-1"]
    counts = dict(zip([p.code for p in practices], [1, 1, 0, 1, 0]))
    table = build_table(practices, {(c, "2025-09"): n for c, n in counts.items()}, ["2025-09"])
    released, _ = apply_disclosure(table, DisclosurePolicy(audience="practice", cluster_id="north-1",
                                                           reveal_practice="10021"))
    cluster_row = released[(released["level"] == "cluster")]
    assert (cluster_row["qualifier"] == "c").all()  # 3 in total
    revealed = released[released["area_id"] == "10021"]
    assert revealed["rest_of_cluster_value"].isna().all()
    assert revealed["vs_rest_of_cluster"].isna().all()
