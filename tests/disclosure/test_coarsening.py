"""Coarsening of pseudonymised rows: what a member practice's row releases cannot fix its counts
or name it (issue 17, item 2). Attacked with the intruder kit (tests/disclosure/intruder.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clusterqi.disclosure import DisclosurePolicy, apply_disclosure, size_band
from clusterqi.disclosure.audiences import coarsening_note
from tests.disclosure import intruder
from tests.disclosure.builders import DAYS, MULTIPLIER, Practice, build_table

#: An all-ages rate per 1,000 patients per day in the catalogue: the intruder reads list sizes
#: from its denominators (patient-days / days).
RATE = "antibacterial_items_per_1000_per_day"
#: One 30-day month: the builder's DAYS equals the days the intruder counts in the period.
MONTHS = ["2025-09"]
THRESHOLD = 5


def _practices(sizes: dict[str, int], cluster_id: str = "small-1") -> list[Practice]:
    return [Practice(code, f"Practice {code}", cluster_id, "S37000001", "S08000001", size)
            for code, size in sizes.items()]


def _table(sizes: dict[str, int], counts: dict[str, int], cluster_id: str = "small-1") -> pd.DataFrame:
    # a second cluster so the HSCP is more than the cluster
    practices = _practices(sizes, cluster_id) + _practices(
        {"90001": 6000, "90002": 7000, "90003": 8000}, "other-1")
    numerators = {(p.code, m): float(counts.get(p.code, 40)) for p in practices for m in MONTHS}
    return build_table(practices, numerators, MONTHS, indicator_id=RATE)


def _public(sizes: dict[str, int], cluster_id: str = "small-1") -> pd.DataFrame:
    return pd.DataFrame({"practice_code": list(sizes), "cluster_id": cluster_id,
                         "list_size": list(sizes.values())})


def _cells(released: pd.DataFrame) -> pd.DataFrame:
    """The released rows as the intruder's kit reads a report's numbers CSV."""
    return pd.DataFrame({
        "source": "csv", "indicator_id": released["indicator_id"], "area": released["area_name"],
        "level": released["level"], "period_type": released["period_type"],
        "period": released["period"], "value": released["value"],
        "lower_95": released["lower_95"], "upper_95": released["upper_95"],
        "lower_998": released["lower_998"], "upper_998": released["upper_998"],
        "numerator": released["numerator"], "denominator": released["denominator"],
        "band": released["denominator_band"], "qualifier": released["qualifier"],
    }).reindex(columns=intruder.CELL_COLUMNS).reset_index(drop=True)


#: Coll, Colonsay & Tiree-like: three practices whose standard size bands all differ.
SMALL = {"84097": 175, "84129": 136, "84805": 735}
SMALL_COUNTS = {"84097": 9, "84129": 6, "84805": 31}


def test_standard_bands_would_name_every_practice_of_a_small_cluster():
    """The attack works on what was released before: one size band per practice."""
    table = _table(SMALL, SMALL_COUNTS)
    practice = table[(table["level"] == "practice") & (table["cluster_id"] == "small-1")].copy()
    practice["area_name"] = practice["area_id"].map({c: f"Member practice {x}" for c, x in zip(SMALL, "ABC")})
    practice["denominator_band"] = size_band(practice["denominator"])["band"].to_numpy()
    practice["qualifier"] = None
    practice[["numerator", "denominator", "lower_95", "upper_95", "lower_998", "upper_998"]] = np.nan
    matched = intruder.match_pseudonyms(_cells(practice), _public(SMALL), "small-1")
    assert matched["recovered"].all()


def test_shared_bands_do_not_identify_the_practices_of_a_small_cluster():
    table = _table(SMALL, SMALL_COUNTS)
    released, _ = apply_disclosure(table, DisclosurePolicy(cluster_id="small-1", salt="s"))
    practice = released[released["level"] == "practice"]
    cell = ["indicator_id", "period_type", "period"]
    assert (practice.groupby(cell)["denominator_band"].nunique() == 1).all()
    cells = _cells(practice)
    matched = intruder.match_pseudonyms(cells, _public(SMALL), "small-1",
                                        inverted=intruder.invert_released(cells))
    assert len(matched) == 3 and not matched["recovered"].any()
    assert all(len(c) == 3 for c in matched["candidates"])


def test_a_larger_cluster_is_banded_in_groups_of_at_least_three():
    sizes = {"11": 1200, "12": 2500, "13": 3900, "14": 5200, "15": 8100, "16": 11000, "17": 15000}
    counts = {code: size // 40 for code, size in sizes.items()}
    table = _table(sizes, counts, "big-1")
    released, _ = apply_disclosure(table, DisclosurePolicy(cluster_id="big-1", salt="s"))
    practice = released[(released["level"] == "practice")]
    total = practice[practice["period_type"] == "total"]
    assert 2 <= total["denominator_band"].nunique() < len(sizes)      # coarser, not one band
    assert total.groupby("denominator_band").size().min() >= 3
    cells = _cells(practice)
    matched = intruder.match_pseudonyms(cells, _public(sizes, "big-1"), "big-1",
                                        inverted=intruder.invert_released(cells))
    assert not matched["recovered"].any()
    assert min(len(c) for c in matched["candidates"]) >= 3


def _banded_candidates(row: pd.Series, min_count: int = THRESHOLD) -> pd.DataFrame:
    low, high = intruder._band_range(row["denominator_band"])
    return intruder.invert_banded(row["value"], low, high, kind="rate", multiplier=MULTIPLIER,
                                  figures=intruder.printed_figures(row["value"]), min_count=min_count)


@pytest.mark.parametrize("audience,reveal", [("cluster", None), ("practice", "84805")])
def test_a_released_member_row_admits_many_numerators_and_denominators(audience, reveal):
    table = _table(SMALL, SMALL_COUNTS)
    released, _ = apply_disclosure(table, DisclosurePolicy(audience=audience, cluster_id="small-1",
                                                           reveal_practice=reveal, salt="s"))
    members = released[released["area_name"].str.startswith("Member practice")]
    assert len(members) == (2 if reveal else 3) * (len(MONTHS) + 1)
    assert members[["numerator", "denominator", "lower_95", "upper_95", "lower_998", "upper_998",
                    "reliability", "rest_of_cluster_value"]].isna().all().all()
    for _, row in members.iterrows():
        if pd.isna(row["value"]) or row["value"] == 0:
            continue
        found = _banded_candidates(row)
        assert found["numerator"].nunique() >= 3, row[["area_name", "period", "value", "denominator_band"]]
        pairs = sum(int(h - lo + 1) for lo, h in zip(found["denominator_low"], found["denominator_high"]))
        assert pairs >= 100          # (numerator, denominator) pairs: the band leaves the size open
    if reveal:                       # the practice the report is for keeps its exact figures
        own = released[released["area_id"] == reveal]
        assert (own["denominator"] == SMALL[reveal] * DAYS * np.array([1] * len(own))).all()


def test_a_value_that_would_say_which_practice_is_large_is_shown_coarser_or_not_at_all():
    """Three practices with the same small count: the large one's rate, to 2 figures, would fit
    only a large denominator (x >= 5 items), telling it apart from the others."""
    sizes = {"80202": 3597, "80522": 4071, "80720": 8968}
    counts = {"80202": 6, "80522": 6, "80720": 6}
    table = _table(sizes, counts, "doon")
    released, _ = apply_disclosure(table, DisclosurePolicy(cluster_id="doon", salt="s"))
    exact = table[(table["level"] == "practice") & (table["cluster_id"] == "doon")]
    members = released[released["level"] == "practice"]
    for _, row in members.iterrows():
        if pd.isna(row["value"]):
            continue
        found = _banded_candidates(row)
        same = exact[(exact["period"] == row["period"])]
        for n in same["denominator"]:   # every practice of the group could have printed this value
            assert ((found["denominator_low"] <= n) & (n <= found["denominator_high"])).any(), (row["value"], n)
    # and at 2 figures the large practice's value would have excluded the small ones
    big = exact[exact["area_id"] == "80720"].iloc[0]
    two = float(f"{big['value']:.2g}")
    low, high = intruder._band_range(members["denominator_band"].iloc[0])
    strict = intruder.invert_banded(two, low, high, kind="rate", multiplier=MULTIPLIER, figures=2,
                                    min_count=THRESHOLD)
    assert strict["denominator_low"].min() > sizes["80522"] * DAYS


def test_small_cluster_rows_are_not_inverted_either():
    table = _table(SMALL, SMALL_COUNTS)
    practices = _practices({"30004": 3454, "30018": 231}, "isles")
    extra = build_table(practices, {(p.code, m): 25.0 for p in practices for m in MONTHS}, MONTHS,
                        indicator_id=RATE)
    table = pd.concat([table, extra[extra["level"].isin(["practice", "cluster"])]], ignore_index=True)
    released, _ = apply_disclosure(table, DisclosurePolicy(cluster_id="small-1", salt="s"))
    isles = released[(released["level"] == "cluster") & (released["area_id"] == "isles")]
    assert len(isles) == 2
    assert isles[["numerator", "denominator", "lower_95", "upper_95"]].isna().all().all()
    found = intruder.invert_released(_cells(isles))
    assert len(found) == 2 and not found["recovered"].any() and (found["candidates"] >= 3).all()


def test_the_log_and_the_page_say_what_is_coarsened():
    table = _table(SMALL, SMALL_COUNTS)
    policy = DisclosurePolicy(cluster_id="small-1", salt="s")
    _, log = apply_disclosure(table, policy)
    summary = log[log["level"].isna() & log["where"].eq("pseudonymised practices")]
    assert set(summary["rule"]) == {"banded size", "rounded to two significant figures, or one", "withheld"}
    assert "lower_95" in summary.loc[summary["rule"] == "withheld", "what"].iloc[0]
    note = coarsening_note(policy)
    assert note.startswith("Member practices' figures are rounded") and "bands" in note
    practice = coarsening_note(DisclosurePolicy(audience="practice", cluster_id="small-1",
                                                reveal_practice="84805"))
    assert practice.startswith("The other member practices'")
    assert coarsening_note(DisclosurePolicy(audience="analyst")) == ""


def test_a_printed_value_must_fit_every_practice_of_its_size_group():
    """(b) of the released values: a row's printed value range [lo, hi] is kept only if every
    practice of its cell (known size n) has a whole count x, threshold <= x <= n, with x / n in
    the range; a cell of one row, and members of unknown size, constrain nothing."""
    from clusterqi.disclosure.audiences import _every_member_fits

    lo = np.array([0.05, 0.70, 0.90, 0.05, 0.05])
    hi = np.array([0.055, 0.72, 0.91, 0.055, 0.055])
    n = np.array([100.0, 7.0, 3.0, 100.0, np.nan])
    cell = np.array([0, 0, 1, 2, 2])
    # row 0: n=100 allows x=5, but n=7 allows no x >= 5 in [0.35, 0.385]; row 1: x=70..72 of
    # 100 and x=5 of 7 fit; row 2 is alone in its cell; rows 3 and 4: the only member of known
    # size is row 3, which fits (x=5 of 100)
    assert _every_member_fits(lo, hi, n, cell, THRESHOLD).tolist() == [False, True, True, True, True]
    # the cell order in the arrays does not matter
    turn = np.array([4, 2, 0, 3, 1])
    assert _every_member_fits(lo[turn], hi[turn], n[turn], cell[turn], THRESHOLD).tolist() == \
        [True, True, False, True, True]
