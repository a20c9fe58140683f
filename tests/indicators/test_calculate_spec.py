"""Spec tests for calculate_indicators on a hand-made nine-practice Scotland (handmade.py).

Each test states the input and the expected output worked out by hand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clusterqi import DataError, stats
from clusterqi.indicators.calculate import TABLE_COLUMNS, calculate_indicators
from clusterqi.indicators.counts import population_by_month
from tests.indicators import handmade

SHARE, OLDER, DAILY = "coamox_share", "abx_per_1000_65plus", "abx_per_1000_per_day"


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return calculate_indicators(handmade.dataset(), handmade.indicators(), "2025-02", months=2)


def row(table, indicator, level, area, period="2025-01..2025-02"):
    hit = table[(table.indicator_id == indicator) & (table.level == level)
                & (table.area_id == area) & (table.period == period)]
    assert len(hit) == 1, (indicator, level, area, period, len(hit))
    return hit.iloc[0]


def test_table_has_exactly_the_architecture_columns(table):
    assert list(table.columns) == TABLE_COLUMNS
    assert set(table.level) == {"practice", "cluster", "hscp", "hb", "scotland"}
    assert set(table.period) == {"2025-01", "2025-02", "2025-01..2025-02"}


def test_one_row_per_indicator_level_area_period(table):
    keys = ["indicator_id", "level", "area_id", "period"]
    assert not table.duplicated(keys).any()
    # 9 practices + 4 clusters + 3 HSCPs + 2 boards + Scotland, 3 periods, 3 indicators
    assert len(table) == (9 + 4 + 3 + 2 + 1) * 3 * 3


def test_practice_values_are_numerator_over_denominator_times_multiplier(table):
    p1 = row(table, SHARE, "practice", "P1")
    assert (p1.numerator, p1.denominator, p1.value) == (20, 200, pytest.approx(10.0))
    ci = stats.wilson_ci(20, 200, confidence=0.998)
    assert p1.lower_998 == pytest.approx(ci["lower"].iloc[0] * 100)
    # 65+ rate per day: 200 items in two months over 1,000 patients aged 65+ x 59 days
    older = row(table, OLDER, "practice", "P1")
    assert (older.numerator, older.denominator) == (200, 1000 * 59)
    assert older.value == pytest.approx(200 / 59)
    # an items measure carries its own count as the items behind it
    assert older.numerator_items == older.numerator
    # per day: 5,000 patients x (31 + 28) days
    daily = row(table, DAILY, "practice", "P1")
    assert daily.denominator == 5000 * 59
    assert daily.value == pytest.approx(200 / (5000 * 59) * 1000)
    assert daily.upper_95 == pytest.approx(
        stats.rate_ci(200, 5000 * 59, multiplier=1000)["upper"].iloc[0])


def test_month_rows_cover_each_month(table):
    jan = row(table, SHARE, "practice", "P7", "2025-01")
    assert (jan.numerator, jan.denominator, jan.value) == (40, 100, pytest.approx(40.0))


def test_higher_levels_sum_numerators_and_denominators(table):
    c1 = row(table, SHARE, "cluster", "c1")  # P1 + P2 + P3
    assert (c1.numerator, c1.denominator) == (70, 500)
    assert c1.value == pytest.approx(14.0)  # not the mean of 10, 20, 10
    # a cluster carries its home HSCP and board
    assert (c1.hscp_code, c1.hb_code, c1.cluster_id) == ("S37000001", "S08000001", "c1")
    # HSCP B holds P3 (of cluster c1, home A) as well as c2's P4 and P5
    hscp_b = row(table, SHARE, "hscp", "S37000002")
    assert (hscp_b.numerator, hscp_b.denominator) == (10 + 60 + 24, 100 + 200 + 200)
    # board 2 holds P8, which is in no cluster
    hb2 = row(table, SHARE, "hb", "S08000002")
    assert (hb2.numerator, hb2.denominator) == (16 + 80 + 6, 200 + 200 + 20)
    scot = row(table, SHARE, "scotland", "S92000003")
    assert (scot.numerator, scot.denominator) == (306, 1520)


def test_practice_outside_clusters_has_no_cluster(table):
    p8 = row(table, SHARE, "practice", "P8")
    assert pd.isna(p8.cluster_id)
    assert pd.isna(p8.rest_of_cluster_value) and pd.isna(p8.vs_rest_of_cluster)
    assert "hb2-undefined" not in set(table.area_id)


def test_practice_against_rest_of_cluster(table):
    # P1 (20/200) against P2 + P3: (40 + 10) / (200 + 100)
    p1 = row(table, SHARE, "practice", "P1")
    assert p1.rest_of_cluster_value == pytest.approx(50 / 300 * 100)
    # P1's 95% interval (6.6%, 14.9%) lies below 16.7%: the plain interval test says lower, and
    # low is good ...
    assert p1.vs_rest_of_cluster_unadjusted == "better"
    # ... but the verdict allows for the usual variation between Scottish practices (tau2) and
    # the comparator's own sampling error: z = (asin(sqrt(.1)) - asin(sqrt(1/6))) /
    # sqrt(1/800 + tau2 + 1/1200) = -0.78, well within +/-3.09
    z = (np.arcsin(np.sqrt(0.1)) - np.arcsin(np.sqrt(50 / 300))) / np.sqrt(
        1 / 800 + p1.tau2 + 1 / 1200)
    assert z == pytest.approx(-0.782, abs=0.001)
    assert p1.vs_rest_of_cluster == "similar"
    # P6 (8%) against P7 alone (40%): far beyond the usual variation, and low is good
    p6 = row(table, SHARE, "practice", "P6")
    z6 = (np.arcsin(np.sqrt(0.08)) - np.arcsin(np.sqrt(0.4))) / np.sqrt(
        1 / 800 + p6.tau2 + 1 / 800)
    assert z6 < -3.09
    assert p6.vs_rest_of_cluster == "better"
    # P9 is alone in cluster c4: no rest of cluster
    p9 = row(table, SHARE, "practice", "P9")
    assert pd.isna(p9.rest_of_cluster_value) and pd.isna(p9.vs_rest_of_cluster)


def test_cluster_against_rest_of_home_hscp_and_board(table):
    # c1's home HSCP A holds P1, P2 (c1) and P9 (c4): the rest is P9 = 50/200
    c1 = row(table, SHARE, "cluster", "c1")
    assert c1.rest_of_hscp_value == pytest.approx(25.0)
    assert c1.vs_rest_of_hscp_unadjusted == "better"  # 14% (11.2%, 17.3%) below 25%
    # with the clusters' tau2 and the comparator's 200 items: z = -2.26, inside +/-3.09
    z = (np.arcsin(np.sqrt(0.14)) - np.arcsin(np.sqrt(0.25))) / np.sqrt(
        1 / 2000 + c1.tau2 + 1 / 800)
    assert z == pytest.approx(-2.260, abs=0.001)
    assert c1.vs_rest_of_hscp == "similar"
    # board 1 (P1-P5, P9: 204/1100) excluding all of c1 (70/500)
    assert c1.rest_of_hb_value == pytest.approx(134 / 600 * 100)
    # c2's home HSCP B holds P3 (of c1) besides c2's own P4, P5: the rest is P3 = 10/100
    c2 = row(table, SHARE, "cluster", "c2")
    assert c2.rest_of_hscp_value == pytest.approx(10.0)
    assert c2.vs_rest_of_hscp_unadjusted == "worse"
    assert c2.vs_rest_of_hscp == "similar"


def test_rest_of_scotland_excludes_the_unit(table):
    p8 = row(table, SHARE, "practice", "P8")
    assert p8.rest_of_scotland_value == pytest.approx(300 / 1500 * 100)
    assert p8.vs_rest_of_scotland == "similar"  # 6/20 = 30% (14.5%, 51.9%) holds 20%
    c3 = row(table, SHARE, "cluster", "c3")
    assert c3.rest_of_scotland_value == pytest.approx((306 - 96) / (1520 - 400) * 100)
    assert row(table, SHARE, "scotland", "S92000003").scotland_value == pytest.approx(
        306 / 1520 * 100)


def test_no_judgement_indicator_says_higher_or_lower(table):
    # 65+ rate per day, low_is_good null: P5 100 / 59 per 1,000 per day against the rest of
    # Scotland's 171.4 / 59 (the same days: the verdict of the old per-patient rate)
    p5 = row(table, OLDER, "practice", "P5")
    assert p5.vs_rest_of_scotland_unadjusted == "lower"
    # within the practices' funnel once their spread is allowed for: "similar", no direction word
    assert p5.funnel_998 == "within" and p5.vs_rest_of_scotland == "similar"
    assert p5.interpretation.startswith("Similar to the rest of Scotland: within the usual "
                                        "variation between Scottish practices")
    assert "better" not in p5.interpretation and "worse" not in p5.interpretation


def test_rest_of_values_on_month_rows_but_verdicts_only_on_totals(table):
    jan = row(table, SHARE, "practice", "P1", "2025-01")
    assert jan.rest_of_cluster_value == pytest.approx(25 / 150 * 100)
    assert pd.isna(jan.vs_rest_of_cluster) and pd.isna(jan.interpretation)


def test_funnel_uses_dispersion_of_all_practices_and_keeps_both_flags(table):
    practices = table[(table.indicator_id == SHARE) & (table.level == "practice")
                      & (table.period_type == "total")]
    od = stats.overdispersion(practices.numerator, practices.denominator, kind="proportion")
    assert practices.phi.unique().tolist() == [pytest.approx(od.phi)]
    assert practices.tau2.unique().tolist() == [pytest.approx(od.tau2)]
    assert od.tau2 > 0
    flags = practices.set_index("area_id")
    # P7: 80/200 = 40% against Scotland 20.1%: beyond the plain 99.8% limit (28.9%)...
    assert flags.loc["P7", "funnel_998_unadjusted"] == "high"
    assert flags.loc["P6", "funnel_998_unadjusted"] == "low"  # 8% < 11.4%
    # ... but within it once the practices' over-dispersion widens the limits
    assert flags.loc["P7", "funnel_998"] == "within"
    assert flags.loc["P7", "reliability"] == pytest.approx(
        od.tau2 / (od.tau2 + 1 / (4 * 200)))
    # the verdict against the rest of Scotland is the funnel's: never a contradiction
    assert flags.loc["P7", "vs_rest_of_scotland"] == "similar"
    assert flags.loc["P7", "vs_rest_of_scotland_unadjusted"] == "worse"
    assert flags.loc["P7", "interpretation"].startswith(
        "Similar to the rest of Scotland: within the usual variation")


def test_verdict_against_scotland_always_matches_the_adjusted_funnel(table):
    totals = table[(table.period_type == "total") & table.level.isin(["practice", "cluster"])]
    words = {"high": {"worse", "higher", "better"}, "low": {"better", "lower", "worse"},
             "within": {"similar"}}
    for flag, verdict in zip(totals.funnel_998, totals.vs_rest_of_scotland):
        assert verdict in words[flag]


def test_rate_funnel_compares_observed_with_expected(table):
    clusters = table[(table.indicator_id == DAILY) & (table.level == "cluster")
                     & (table.period_type == "total")]
    rate = 1520 / 2448500
    od = stats.overdispersion(clusters.numerator, clusters.denominator * rate, kind="ratio")
    assert clusters.tau2.iloc[0] == pytest.approx(od.tau2)
    expected = od.flag(clusters.numerator.to_numpy(), clusters.denominator.to_numpy() * rate)
    assert clusters.funnel_95_unadjusted.tolist() == expected.funnel_95_unadjusted.tolist()


def test_spc_columns_only_on_practice_and_cluster_months(table):
    months = table[(table.period_type == "month") & table.level.isin(["practice", "cluster"])]
    assert months.spc_chart.notna().all()
    # every prescribing indicator: the unit's monthly ratio to Scotland on a Laney chart; two
    # months are too few for limits, which the rule text says
    assert set(months.spc_chart) == {"ratio_prime"}
    assert not months.spc_signal.any()
    assert months.spc_rule.str.contains("no control limits").all()
    others = table.drop(months.index)
    assert others[["spc_chart", "cl", "spc_signal", "run_signal"]].isna().all().all()


def test_period_end_without_data_is_refused():
    with pytest.raises(DataError, match="period_end 2025-06 has no prescribing data"):
        calculate_indicators(handmade.dataset(), handmade.indicators(), "2025-06")
    with pytest.raises(DataError, match="not a month"):
        calculate_indicators(handmade.dataset(), handmade.indicators(), "June 2025")


def test_short_window_is_calculated_and_said():
    t = calculate_indicators(handmade.dataset(), handmade.indicators(), "2025-02", months=12)
    assert t.attrs["total_period"] == "2024-03..2025-02"
    assert "covers only 2 of 12 months" in t.attrs["warnings"][0]


def test_age_range_uses_release_in_effect_and_splits_straddling_bands():
    pops = pd.DataFrame({
        "practice_code": ["A"] * 4,
        "date": pd.to_datetime(["2025-01-15", "2025-01-15", "2025-04-15", "2025-04-15"]),
        "sex": ["Female"] * 4,
        "age_band": ["60-69", "70+", "60-69", "70+"],
        "age_min": [60, 70, 60, 70],
        "age_max": [69, None, 69, None],
        "patients": [100.0, 50.0, 200.0, 80.0],
    })
    pm = pd.DataFrame({"practice_code": ["A"] * 3,
                       "month": pd.to_datetime(["2024-12-01", "2025-03-01", "2025-04-01"])})
    got = population_by_month(pops, pm, age_min=65)
    # half of the 60-69 band is aged 65+; December uses the earliest release
    assert got.patients.tolist() == [100.0, 100.0, 180.0]


def test_a_unit_with_nothing_to_compare_gets_no_verdict_and_a_note():
    import dataclasses

    data = handmade.dataset()
    # P8's patients are missing from the populations: its per-day rate has no denominator, so
    # nothing is expected of it, and its items are left out of every total above it
    data = dataclasses.replace(
        data, populations=data.populations[data.populations["practice_code"] != "P8"])
    table = calculate_indicators(data, handmade.indicators(), "2025-02", months=2)
    p8 = row(table, DAILY, "practice", "P8")
    assert pd.isna(p8.value) and pd.isna(p8.vs_rest_of_scotland)
    assert p8.interpretation == "No verdict: no patients or items to compare"
    assert any("P8" in w for w in table.attrs["warnings"])
    scotland = row(table, DAILY, "scotland", "S92000003")
    assert scotland.numerator == 1520 - 2 * (3 + 7)   # P8's items in both months left out
