"""Suppression worked out once over a whole table and passed in for a part of it, and the quick
text check in the scrubbing of practice mentions."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from clusterqi.disclosure import (
    DisclosurePolicy,
    DisclosurePolicyError,
    apply_disclosure,
    suppress_cells,
)
from tests.disclosure.builders import build_table, standard_practices, standard_table

SALT = "fixed-salt-for-tests"


@pytest.fixture(scope="module")
def whole() -> pd.DataFrame:
    """Two indicators with small counts, so both primary and secondary suppression happen."""
    table = pd.concat([standard_table(seed=3, interpretation_names=True),
                       standard_table(seed=4, indicator_id="second_indicator")], ignore_index=True)
    marks = suppress_cells(table, 5)
    assert (marks["suppression"] == "primary").any() and (marks["suppression"] == "secondary").any()
    return table


def _policy(**kwargs) -> DisclosurePolicy:
    return DisclosurePolicy(**{"cluster_id": "north-1", "salt": SALT, **kwargs})


@pytest.mark.parametrize("audience", ["cluster", "practice"])
def test_a_part_released_with_the_whole_tables_marks_equals_releasing_it_alone(whole, audience):
    # one indicator is a part whose groups are all inside it: its own suppression is the same
    part = whole[whole["indicator_id"] == "second_indicator"]
    assert part.index[0] > 0  # labels kept from the whole table, not 0..n
    policy = _policy(audience=audience, reveal_practice="10017" if audience == "practice" else None)
    given, given_log = apply_disclosure(part, policy, suppression=suppress_cells(whole, 5))
    alone, alone_log = apply_disclosure(part, policy)
    assert_frame_equal(given, alone)
    assert_frame_equal(given_log, alone_log)
    assert (given["qualifier"] == "c").any()


def test_the_whole_tables_marks_reach_rows_the_part_alone_would_not_suppress(whole):
    marks = suppress_cells(whole, 5)
    secondary = whole[(marks["suppression"] == "secondary").to_numpy()
                      & (whole["level"] == "cluster").to_numpy()]
    assert len(secondary), "seeds 3 and 4 give cluster rows suppressed to protect practices"
    row = secondary.index[0]
    # a part holding that cluster row but not the practice rows that made it necessary
    part = whole[(whole["level"] != "practice") & (whole["indicator_id"] == whole.loc[row, "indicator_id"])]
    released, _ = apply_disclosure(part, _policy(), suppression=marks)
    shown = released[(released["area_id"] == whole.loc[row, "area_id"])
                     & (released["period"] == whole.loc[row, "period"])]
    assert shown["qualifier"].tolist() == ["c"]
    assert shown["numerator"].isna().all()
    alone, _ = apply_disclosure(part, _policy())  # the part alone does not know why
    shown = alone[(alone["area_id"] == whole.loc[row, "area_id"])
                  & (alone["period"] == whole.loc[row, "period"])]
    assert shown["qualifier"].isna().all() and shown["numerator"].notna().all()


def test_marks_from_another_threshold_are_refused(whole):
    with pytest.raises(DisclosurePolicyError, match=r"threshold 5.*|marked"):
        apply_disclosure(whole, _policy(), suppression=suppress_cells(whole, 3))


def test_marks_that_miss_rows_of_the_table_are_refused(whole):
    marks = suppress_cells(whole, 5).iloc[:-3]
    with pytest.raises(DisclosurePolicyError, match="3 row\\(s\\) of the table have no marks"):
        apply_disclosure(whole, _policy(), suppression=marks)


def test_secondary_marks_are_refused_when_the_policy_has_no_secondary_suppression(whole):
    with pytest.raises(DisclosurePolicyError, match="secondary=False"):
        apply_disclosure(whole, _policy(secondary=False), suppression=suppress_cells(whole, 5))


def test_marks_without_their_columns_are_refused(whole):
    marks = suppress_cells(whole, 5).drop(columns="group")
    with pytest.raises(DisclosurePolicyError, match="no column group"):
        apply_disclosure(whole, _policy(), suppression=marks)


def _named_table(names: dict[str, str]) -> pd.DataFrame:
    practices = [dataclasses.replace(p, name=names.get(p.code, p.name)) for p in standard_practices()]
    months = ["2025-07", "2025-08"]
    numerators = {(p.code, m): 50.0 for p in practices for m in months}
    return build_table(practices, numerators, months, interpretation_names=True)


@pytest.mark.parametrize("name, mention", [
    ("Harbour Surgery", "HARBOUR surgery"),          # ASCII, any case: the quick check applies
    ("Ærø Health Centre", "ærø health centre"),      # not ASCII: always the full search
    ("Dr Ōtsuka's Practice", "DR ŌTSUKA'S PRACTICE"),
])
def test_a_mention_of_a_practice_is_scrubbed_in_any_case_and_alphabet(name, mention):
    table = _named_table({"10036": name})
    cluster_rows = table["level"] == "cluster"
    table.loc[cluster_rows, "interpretation"] = f"Led by {mention}; see the notes."
    released, _ = apply_disclosure(table, _policy())
    texts = released.loc[released["level"] == "cluster", "interpretation"].dropna().unique()
    assert len(texts) and all(mention.lower() not in t.lower() for t in texts), texts
    assert all("Member practice" in t or "another practice" in t.lower() for t in texts), texts


def test_text_that_names_no_practice_is_left_as_it_is():
    table = _named_table({})
    text = "Higher than the rest of Scotland (worse); 12345 items; see Harbour Road notes"
    table.loc[table["level"] == "hb", "interpretation"] = text
    released, _ = apply_disclosure(table, _policy())
    assert set(released.loc[released["level"] == "hb", "interpretation"]) == {text}
