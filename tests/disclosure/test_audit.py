"""The protection-interval audit (clusterqi.disclosure.audit) on small tables worked by hand."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import sparse

from clusterqi.disclosure.audit import AuditProblem, ProtectionError, audit, protect

CELLS = ["a", "b", "c", "d", "r1", "r2", "c1", "c2", "t"]
#   a=3  b=7 | r1=10
#   c=6  d=9 | r2=15
#  c1=9 c2=16| t=25
VALUES = [3, 7, 6, 9, 10, 15, 9, 16, 25]
GROUPS = [("r1", ["a", "b"]), ("r2", ["c", "d"]), ("c1", ["a", "c"]), ("c2", ["b", "d"]),
          ("t", ["r1", "r2"]), ("t", ["c1", "c2"])]


def two_by_two(suppressed) -> AuditProblem:
    return AuditProblem.from_groups(CELLS, VALUES, suppressed, GROUPS)


def row(result, cell):
    return result.set_index("cell").loc[cell]


def test_one_suppressed_cell_of_a_2x2_table_is_recovered_exactly():
    result = audit(two_by_two(["a"]))
    assert list(result["cell"]) == ["a"]
    a = row(result, "a")
    assert a["lower"] == a["upper"] == a["value"] == 3
    assert bool(a["primary"]) and not bool(a["protected"])


def test_the_classic_rectangle_protects_the_cell():
    result = audit(two_by_two(["a", "b", "c", "d"]))
    # a + b = 10, a + c = 9, c + d = 15, b + d = 16: a = 3 + s for s in [-3, 6]
    assert row(result, "a")[["lower", "upper"]].tolist() == [0, 9]
    assert row(result, "b")[["lower", "upper"]].tolist() == [1, 10]
    assert row(result, "d")[["lower", "upper"]].tolist() == [6, 15]
    assert bool(row(result, "a")["protected"])
    assert result["primary"].tolist() == [True, False, False, False]
    assert result["protected"].all()


def test_a_suppressed_pair_in_one_row_only_is_still_recovered_through_the_columns():
    # a and b hidden: a = c1 - c = 3 and b = c2 - d = 7
    result = audit(two_by_two(["a", "b"]))
    assert row(result, "a")[["lower", "upper"]].tolist() == [3, 3]
    assert not result["protected"].any()


def test_share_numerator_at_most_its_denominator_narrows_the_range():
    # cluster numerator 10 = x (3, primary) + y (7, secondary); x's denominator is 4 items
    cells = ["x", "y", "total", "den_x", "den_y"]
    values = [3, 7, 10, 4, 20]
    without = audit(AuditProblem.from_groups(cells, values, ["x", "y"], [("total", ["x", "y"])]))
    assert row(without, "x")[["lower", "upper"]].tolist() == [0, 10]
    assert bool(row(without, "x")["protected"])
    with_share = audit(AuditProblem.from_groups(
        cells, values, ["x", "y"], [("total", ["x", "y"])], leq=[("x", "den_x"), ("y", "den_y")]))
    assert row(with_share, "x")[["lower", "upper"]].tolist() == [0, 4]
    assert not bool(row(with_share, "x")["protected"])   # cannot be 5 or more: it is small
    # and a denominator of 1..4 more than the numerator: numerator >= total - den_y
    tight = audit(AuditProblem.from_groups(
        cells, [3, 7, 10, 20, 8], ["x", "y"], [("total", ["x", "y"])],
        leq=[("x", "den_x"), ("y", "den_y")]))
    assert row(tight, "x")[["lower", "upper"]].tolist() == [2, 10]
    assert not bool(row(tight, "x")["protected"])        # rules out 0


def test_months_against_the_total():
    cells = ["m1", "m2", "m3", "total"]
    values = [5, 2, 6, 13]
    groups = [("total", ["m1", "m2", "m3"])]
    alone = audit(AuditProblem.from_groups(cells, values, ["m2"], groups))
    assert row(alone, "m2")[["lower", "upper"]].tolist() == [2, 2]
    pair = audit(AuditProblem.from_groups(cells, values, ["m2", "m3"], groups))
    assert row(pair, "m2")[["lower", "upper"]].tolist() == [0, 8]
    assert pair["protected"].all()
    # the total published rounded to 15 (13..17): m2 = total - 11, so 2..6 (rounding does not hide it
    # from 0, so a 2 stays unprotected)
    rounded = audit(AuditProblem.from_groups(cells, values, ["m2"], groups,
                                             released_intervals={"total": (13, 17)}))
    assert row(rounded, "m2")[["lower", "upper"]].tolist() == [2, 6]
    assert not bool(row(rounded, "m2")["protected"])


def test_protect_adds_exactly_the_smallest_non_zero_part():
    cells = ["a", "b", "zero", "d", "total"]
    problem = AuditProblem.from_groups(cells, [3, 7, 0, 9, 19], ["a"], [("total", ["a", "b", "zero", "d"])])
    mask, result = protect(problem, exact=True)
    assert [c for c, m in zip(cells, mask) if m] == ["a", "b"]
    assert row(result, "a")[["lower", "upper"]].tolist() == [0, 10]
    assert result["protected"].all()


def test_protect_finds_the_rectangle_of_a_2x2_table():
    mask, result = protect(two_by_two(["a"]), exact=True)
    assert [c for c, m in zip(CELLS, mask) if m] == ["a", "b", "c", "d"]
    assert result.loc[result["primary"], "protected"].all()


def test_protect_suppresses_unsuppressed_small_counts_first():
    problem = AuditProblem.from_groups(["a", "b", "c", "t"], [2, 3, 40, 45], [], [("t", ["a", "b", "c"])])
    mask, result = protect(problem, exact=True)
    # a and b are primary; together they pin each other to 0..5 only if c stays visible
    assert mask.tolist() == [True, True, False, False]
    assert row(result, "a")[["lower", "upper"]].tolist() == [0, 5]
    assert result["protected"].all()


def test_protect_raises_when_a_cell_is_pinned_by_a_general_row_with_nothing_to_hide():
    # a general sparse row: 1 * a = 3 (a published constant pins it; nothing else can be hidden)
    problem = AuditProblem(["a"], [3], [True], eq_matrix=sparse.csr_matrix([[1.0]]), eq_rhs=[3.0])
    assert audit(problem)[["lower", "upper"]].iloc[0].tolist() == [3, 3]
    with pytest.raises(ProtectionError, match="'a' cannot be protected"):
        protect(problem)


def test_unconstrained_cell_is_unbounded_above_and_independent_tables_do_not_interact():
    cells = CELLS + ["lonely"]
    problem = AuditProblem.from_groups(cells, VALUES + [2], ["a", "lonely"], GROUPS)
    result = audit(problem)
    assert row(result, "lonely")["upper"] == np.inf and row(result, "lonely")["lower"] == 0
    assert bool(row(result, "lonely")["protected"])
    assert row(result, "a")[["lower", "upper"]].tolist() == [3, 3]


def test_threshold_is_a_parameter():
    cells = ["m1", "m2", "m3", "total"]
    problem = AuditProblem.from_groups(cells, [5, 2, 6, 13], ["m2", "m3"], [("total", ["m1", "m2", "m3"])])
    assert audit(problem, threshold=5)["protected"].all()           # 0..8 reaches 5
    strict = audit(problem, threshold=10)
    assert not bool(row(strict, "m2")["protected"])                  # 0..8 never reaches 10
    assert bool(row(strict, "m3")["primary"])                        # 6 < 10 is primary now
    with pytest.raises(ValueError, match="threshold"):
        audit(problem, threshold=0)


def test_inconsistent_totals_are_an_error():
    problem = AuditProblem.from_groups(["a", "b", "t"], [3, 4, 99], ["a", "b"], [("t", ["a", "b"])],
                                       leq=[("a", "b")])
    problem.values[2] = -1.0   # a total below zero cannot be a sum of counts
    with pytest.raises(ValueError, match="infeasible"):
        audit(problem)


def test_the_fast_audit_makes_the_same_decisions_with_an_inner_range():
    rng = np.random.default_rng(3)
    # 6 practices x 4 months with month totals, practice totals and a grand total
    parts = rng.integers(0, 9, size=(6, 4)).astype(float)
    cells, values, groups = [], [], []
    for p in range(6):
        for m in range(4):
            cells.append(("p", p, m)), values.append(parts[p, m])
        cells.append(("p", p, "all")), values.append(parts[p].sum())
        groups.append((("p", p, "all"), [("p", p, m) for m in range(4)]))
    for m in range(4):
        cells.append(("all", m)), values.append(parts[:, m].sum())
        groups.append((("all", m), [("p", p, m) for p in range(6)]))
    cells.append("total"), values.append(parts.sum())
    groups.append(("total", [("all", m) for m in range(4)]))
    groups.append(("total", [("p", p, "all") for p in range(6)]))
    suppressed = [c for c, v in zip(cells, values) if 1 <= v <= 4] + [("p", 0, 0), ("p", 5, 3)]
    problem = AuditProblem.from_groups(cells, values, suppressed, groups)
    exact = audit(problem)
    fast = audit(problem, exact=False)
    assert exact["primary"].any() and (~exact["protected"]).any() and exact["protected"].any()
    assert fast["protected"].tolist() == exact["protected"].tolist()
    assert (fast["lower"] >= exact["lower"]).all() and (fast["upper"] <= exact["upper"]).all()
    assert (fast["lower"] <= fast["value"]).all() and (fast["upper"] >= fast["value"]).all()
    unprotected = ~exact["protected"] & exact["primary"]
    assert fast.loc[unprotected, ["lower", "upper"]].equals(exact.loc[unprotected, ["lower", "upper"]])
    mask, result = protect(problem)
    assert result.loc[result["primary"], "protected"].all()
    assert audit(dataclasses.replace(problem, suppressed=mask)).query("primary")["protected"].all()
