"""Audiences: pseudonyms, banded sizes, other clusters only at cluster level, the log, the guard."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from clusterqi.disclosure import (
    DisclosurePolicy,
    DisclosurePolicyError,
    NotReleasableError,
    apply_disclosure,
    pseudonyms,
    require_releasable,
)
from clusterqi.errors import DataError
from tests.disclosure.builders import DAYS, build_table, standard_practices, standard_table

PSEUDONYM = re.compile(r"^Member practice [A-Z]+$")


@pytest.fixture(scope="module")
def table():
    return pd.concat([standard_table(seed=1, interpretation_names=True),
                      standard_table(seed=2, indicator_id="second_indicator")], ignore_index=True)


def _tokens(text: str) -> set[str]:
    return set(re.findall(r"[0-9A-Za-z]+", text.lower()))


def _names_a_practice(text: str, name: str) -> bool:
    """The whole name, or its tokens in sequence, outside a "Member practice X" pseudonym."""
    if text == name:
        return True
    words = re.findall(r"[0-9a-z]+", PSEUDONYM.sub("", text).lower())
    rest = " ".join(re.findall(r"[0-9a-z]+", re.sub(r"Member practice [A-Z]+", "", text).lower()))
    wanted = " ".join(re.findall(r"[0-9a-z]+", name.lower()))
    return bool(words) and f" {wanted} " in f" {rest} "


def test_cluster_audience_pseudonymises_own_practices_and_drops_all_other_practices(table):
    released, _ = apply_disclosure(table, DisclosurePolicy(cluster_id="north-1", salt="s1"))
    practice = released[released["level"] == "practice"]
    assert practice["area_name"].map(lambda n: bool(PSEUDONYM.match(n))).all()
    assert sorted(practice["area_name"].unique()) == [f"Member practice {c}" for c in "ABCDE"]
    assert set(practice["area_id"]) == {f"member-{c}" for c in "abcde"}
    assert set(practice["cluster_id"]) == {"north-1"}
    # every other cluster only at cluster level; areas above kept
    assert set(released.loc[released["level"] == "cluster", "area_id"]) == {
        "north-1", "north-2", "isles", "south-1"}
    for level in ("hscp", "hb", "scotland"):
        assert (released["level"] == level).sum() == (table["level"] == level).sum()
    assert released.attrs["releasable"] is True and released.attrs["audience"] == "cluster"


def test_no_practice_code_or_name_appears_anywhere_in_a_cluster_release(table):
    released, log = apply_disclosure(table, DisclosurePolicy(cluster_id="north-1", salt="s1"))
    practices = standard_practices()
    for frame in (released, log):
        texts = [v for col in frame.columns for v in frame[col].dropna().unique()
                 if isinstance(v, str)]
        tokens = set().union(*(_tokens(t) for t in texts))
        for p in practices:
            assert p.code not in tokens, p.code
            assert not any(_names_a_practice(t, p.name) for t in texts), p.name
    assert "Practice B" not in set(released["area_name"])  # a real practice's name


def test_pseudonym_letters_are_stable_across_indicators_and_months_for_one_salt(table):
    policy = DisclosurePolicy(cluster_id="north-1", salt="run-7")
    released, _ = apply_disclosure(table, policy)
    practice = released[released["level"] == "practice"]
    # same band per pseudonym for every month of both indicators => same practice behind it
    bands = practice[practice["period_type"] == "month"].groupby("area_id")["denominator_band"].nunique()
    assert (bands == 1).all()
    mapping = pseudonyms(table, policy)
    again = pseudonyms(table[table["indicator_id"] == "second_indicator"], policy)
    assert mapping.equals(again)


def test_pseudonym_order_follows_neither_list_size_nor_code_and_depends_on_the_salt(table):
    sizes = {p.code: p.list_size for p in standard_practices() if p.cluster_id == "north-1"}
    by_size, by_code = tuple(sorted(sizes, key=sizes.get)), tuple(sorted(sizes))
    orders = [
        tuple(pseudonyms(table, DisclosurePolicy(cluster_id="north-1", salt=f"salt-{k}"))
              .sort_values("area_name")["practice_code"])
        for k in range(30)
    ]
    assert len(set(orders)) > 10  # 5 practices: 120 possible orders
    assert sum(o == by_size for o in orders) <= 3
    assert sum(o == by_code for o in orders) <= 3


def test_pseudonymised_rows_show_banded_size_not_exact_numerator_or_denominator(table):
    released, _ = apply_disclosure(table, DisclosurePolicy(cluster_id="north-1", salt="s1"))
    practice = released[released["level"] == "practice"]
    assert practice["numerator"].isna().all() and practice["denominator"].isna().all()
    assert practice["denominator_band"].notna().all()
    exact_sizes = {p.list_size for p in standard_practices()}
    exact_denominators = set(table.loc[table["level"] == "practice", "denominator"])
    numeric = practice.select_dtypes("number").to_numpy().ravel()
    numeric = numeric[~np.isnan(numeric)]
    assert not (set(numeric) & (exact_sizes | exact_denominators))
    # five practices are one size group: in each cell they share one band, placed at its midpoint
    cell = ["indicator_id", "period_type", "period"]
    assert (practice.groupby(cell)["denominator_band"].nunique() == 1).all()
    assert (practice.groupby(cell)["plot_size"].nunique() == 1).all()
    # values to 2 significant figures (or 1), without intervals
    for value in practice["value"].dropna():
        assert value == 0 or float(f"{value:.2g}") == value
    assert practice[["lower_95", "upper_95", "lower_998", "upper_998"]].isna().all().all()


def test_small_own_cluster_withholds_practice_rows_and_logs_why(table):
    released, log = apply_disclosure(table, DisclosurePolicy(cluster_id="isles", salt="s"))
    assert (released["level"] == "practice").sum() == 0
    why = log[log["rule"] == "small cluster"]
    assert len(why) == 1 and "fewer than 3" in why["reason"].iloc[0]
    assert "pseudonyms protect nothing" in why["reason"].iloc[0]
    kept, _ = apply_disclosure(table, DisclosurePolicy(cluster_id="isles", salt="s",
                                                      withhold_small_cluster=False))
    assert (kept["level"] == "practice").sum() > 0


def test_small_cluster_rows_are_banded_like_a_practice(table):
    released, _ = apply_disclosure(table, DisclosurePolicy(cluster_id="north-1", salt="s"))
    isles = released[(released["level"] == "cluster") & (released["area_id"] == "isles")]
    assert isles["denominator"].isna().all() and isles["numerator"].isna().all()
    assert isles["denominator_band"].notna().all()


def test_practice_audience_reveals_one_named_practice_with_exact_figures(table):
    policy = DisclosurePolicy(audience="practice", cluster_id="north-1", reveal_practice="10017", salt="s")
    released, _ = apply_disclosure(table, policy)
    practice = released[released["level"] == "practice"]
    revealed = practice[practice["area_id"] == "10017"]
    assert set(revealed["area_name"]) == {"The Blue Practice"}
    assert revealed["denominator"].iloc[0] == 7463 * DAYS
    others = practice[practice["area_id"] != "10017"]
    assert sorted(others["area_name"].unique()) == [f"Member practice {c}" for c in "ABCD"]
    assert released.attrs["audience"] == "practice"


def test_practice_audience_letters_do_not_line_up_with_the_cluster_report(table):
    lined_up = 0
    for k in range(20):
        salt = f"run-{k}"
        cluster = pseudonyms(table, DisclosurePolicy(cluster_id="north-1", salt=salt))
        practice = pseudonyms(table, DisclosurePolicy(audience="practice", cluster_id="north-1",
                                                      reveal_practice="10017", salt=salt))
        cl = cluster[cluster["practice_code"] != "10017"].sort_values("area_name")["practice_code"]
        pr = practice[practice["practice_code"] != "10017"].sort_values("area_name")["practice_code"]
        lined_up += list(cl) == list(pr)
    assert lined_up < 20


def test_practice_audience_rejects_a_practice_outside_the_cluster(table):
    with pytest.raises(DisclosurePolicyError, match="reveal_practice: '40007' is not a practice of"):
        apply_disclosure(table, DisclosurePolicy(audience="practice", cluster_id="north-1",
                                                 reveal_practice="40007"))
    with pytest.raises(DisclosurePolicyError, match="cluster_id: 'nowhere'"):
        apply_disclosure(table, DisclosurePolicy(cluster_id="nowhere"))


def test_analyst_audience_hides_nothing_and_is_not_releasable(table):
    released, log = apply_disclosure(table, DisclosurePolicy(audience="analyst"))
    assert released.attrs["releasable"] is False
    cols = list(table.columns)
    pd.testing.assert_frame_equal(released[cols].reset_index(drop=True), table.reset_index(drop=True))
    assert {"qualifier", "denominator_band", "plot_size"} <= set(released.columns)


def test_require_releasable_refuses_analyst_and_raw_tables_except_for_analysts(table):
    analyst, _ = apply_disclosure(table, DisclosurePolicy(audience="analyst"))
    cluster, _ = apply_disclosure(table, DisclosurePolicy(cluster_id="north-1"))
    for raw in (table, analyst):
        with pytest.raises(NotReleasableError, match="not releasable to audience 'cluster'"):
            require_releasable(raw, "cluster")
        require_releasable(raw, "analyst")
    require_releasable(cluster, "cluster")
    with pytest.raises(NotReleasableError, match="made releasable for audience 'cluster'"):
        require_releasable(cluster, "practice")
    # attrs survive the filtering chart code does
    require_releasable(cluster[cluster["level"] == "cluster"], "cluster")


def test_log_is_tidy_and_holds_no_suppressed_value():
    practices = [p for p in standard_practices() if p.cluster_id == "north-1"]
    counts = dict(zip([p.code for p in practices], [2, 40, 7, 25, 60]))  # 2 and 7 are secret
    table = build_table(practices, {(c, "2025-09"): n for c, n in counts.items()}, ["2025-09"])
    released, log = apply_disclosure(table, DisclosurePolicy(cluster_id="north-1", salt="s"))
    assert list(log.columns) == ["indicator_id", "level", "area_id", "period", "what", "where",
                                 "rule", "reason"]
    suppressed = log[log["rule"].str.endswith("suppression")]
    assert len(suppressed) == (released["qualifier"] == "c").sum() == 4  # 2 and 7, month + total
    tokens = set().union(*(_tokens(str(v)) for v in log.to_numpy().ravel() if pd.notna(v)))
    assert "2" not in tokens and "7" not in tokens
    assert log.select_dtypes("number").empty


def test_suppressed_rows_reveal_nothing_derived(table):
    released, _ = apply_disclosure(table, DisclosurePolicy(cluster_id="north-1", salt="s"))
    hidden = released[released["qualifier"] == "c"]
    assert len(hidden) > 0
    for column in ("numerator", "value", "lower_95", "upper_95", "lower_998", "upper_998",
                   "funnel_95", "rest_of_scotland_value", "vs_rest_of_scotland", "reliability"):
        assert hidden[column].isna().all(), column
    assert hidden["interpretation"].str.startswith("Not shown").all()


def test_missing_columns_are_reported_by_name(table):
    with pytest.raises(DataError, match="missing column\\(s\\) numerator"):
        apply_disclosure(table.drop(columns="numerator"), DisclosurePolicy(cluster_id="north-1"))


def test_cluster_release_suppresses_exactly_what_the_whole_table_suppresses(synthetic_indicators):
    """Other clusters' practices are left out before suppression runs; that must change nothing."""
    from clusterqi.disclosure import suppress_cells

    marks = suppress_cells(synthetic_indicators)
    whole = synthetic_indicators.assign(_hidden=marks["suppression"].notna().to_numpy())
    key = ["indicator_id", "level", "area_id", "period"]
    clusters = whole.loc[whole["level"] == "cluster"]
    for cluster_id in clusters["area_id"].drop_duplicates().iloc[::25]:
        released, _ = apply_disclosure(synthetic_indicators,
                                       DisclosurePolicy(cluster_id=cluster_id, salt="same"))
        shown = released[released["level"] != "practice"].assign(
            _hidden=lambda t: t["qualifier"].eq("c").fillna(False))
        expected = whole.loc[whole["level"] != "practice", [*key, "_hidden"]]
        merged = shown[[*key, "_hidden"]].merge(expected, on=key, suffixes=("", "_whole"))
        assert len(merged) == len(shown)
        assert (merged["_hidden"] == merged["_hidden_whole"]).all(), cluster_id
