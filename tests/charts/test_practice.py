"""Practice chart: pseudonymised practices in name order, intervals, suppressed rows."""

from __future__ import annotations

import pytest

from clusterqi.charts import chart_data_table, describe_practices, practice_chart
from tests.charts.spec import datasets, embedded_columns, embedded_strings, titles
from tests.charts.tables import CLUSTER, INDICATORS, PRACTICES, make_table


def practice_rows(chart):
    return next(r for r in datasets(chart).values() if r and "practice" in r[0])


@pytest.fixture(scope="module")
def table():
    return make_table()


def test_practices_are_in_name_order_not_value_order(table):
    chart = practice_chart(table, INDICATORS["abx"], CLUSTER)
    records = practice_rows(chart)
    assert [r["practice"] for r in records] == PRACTICES
    assert embedded_columns(chart) == {"practice", "value", "lower", "upper", "interval",
                                       "category", "note"}


def test_intervals_contain_values(table):
    chart = practice_chart(table, INDICATORS["abx"], CLUSTER)
    for r in practice_rows(chart):
        assert r["lower"] <= r["value"] <= r["upper"]


def test_suppressed_practice_keeps_its_row_without_a_number(table):
    chart = practice_chart(table, INDICATORS["gaba"], CLUSTER)
    last = practice_rows(chart)[-1]
    assert last["practice"] == "Member practice D"
    assert last["value"] is None and last["interval"] == "not shown"
    assert last["category"] == "not compared"


def test_practice_chart_names_only_pseudonyms(table):
    chart = practice_chart(table, INDICATORS["abx"], CLUSTER)
    names = {s for s in embedded_strings(chart) if "practice" in s.lower()}
    assert names == set(PRACTICES)
    assert "Dundee 4" in titles(chart)[1][0]


def test_summary_sentence_counts_comparisons_and_gives_the_range(table):
    text = describe_practices(table, INDICATORS["gaba"], CLUSTER)
    assert text.startswith("Dundee 4's 4 member practices, 12 months to Sep 2026, against the "
                           "rest of Scotland: 1 better, 2 similar and 1 not compared; ")
    assert "values from 19.2 to 26.4 items per 1,000 patients against 24.0 for the cluster" in text


def test_practice_data_table_rows(table):
    frame = chart_data_table("practice", table, INDICATORS["abx"], CLUSTER)
    assert frame["Practice"].tolist() == PRACTICES


def test_a_suppressed_cluster_total_draws_no_cluster_line_and_stays_valid_json(table):
    import json

    suppressed = table.copy()
    own_total = (suppressed["level"] == "cluster") & (suppressed["area_id"] == CLUSTER)
    suppressed.loc[own_total, ["numerator", "value", "lower_95", "upper_95"]] = float("nan")
    chart = practice_chart(suppressed, INDICATORS["abx"], CLUSTER)
    spec_text = json.dumps(chart.to_dict(), allow_nan=False)  # NaN would not be valid JSON
    assert '"datum"' in spec_text  # the Scotland line is still drawn
    assert "for the cluster" in describe_practices(suppressed, INDICATORS["abx"], CLUSTER)
    _, subtitle = titles(chart)
    assert "the cluster (suppressed)" in " ".join(subtitle)
