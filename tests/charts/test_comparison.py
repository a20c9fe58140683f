"""Comparison chart: the comparator dropdown, the practice highlight, and what it embeds."""

from __future__ import annotations

import pytest

from clusterqi.charts import chart_data_table, comparison_chart, describe_comparison
from tests.charts.spec import datasets, embedded_columns, embedded_strings, params, titles
from tests.charts.tables import CLUSTER, INDICATORS, MONTHS, OTHER_CLUSTERS, PRACTICES, make_table

ABX = INDICATORS["abx"]


@pytest.fixture(scope="module")
def table():
    return make_table()


@pytest.fixture(scope="module")
def chart(table):
    return comparison_chart(table, ABX, CLUSTER)


def test_comparator_is_a_select_input_with_the_three_comparators(chart):
    p = params(chart)["comparator"]
    assert p["bind"]["input"] == "select"
    assert p["bind"]["options"] == ["Rest of HSCP", "Rest of board", "Rest of Scotland"]
    assert p["value"] == "Rest of Scotland"


def test_comparator_param_filters_the_comparator_series(chart):
    spec = chart.to_dict()
    filters = [str(t["filter"]) for layer in spec["layer"] for t in layer.get("transform", [])
               if "filter" in t]
    assert any("datum.series == comparator" in f for f in filters)


def test_practice_highlight_is_a_legend_and_click_selection(chart):
    p = params(chart)["practice_highlight"]
    assert p["bind"] == "legend"
    assert p["select"]["on"] == "click"
    assert p["select"]["fields"] == ["series"]


def test_comparison_embeds_only_month_series_role_value(chart):
    assert embedded_columns(chart) == {"month", "series", "role", "value"}


def test_comparison_holds_only_the_cluster_its_practices_and_comparators(chart):
    strings = embedded_strings(chart)
    series = {s for s in strings if s not in MONTHS and s not in {"cluster", "comparator",
                                                                  "practice"}}
    assert series == {"Dundee 4", "Rest of HSCP", "Rest of board", "Rest of Scotland",
                      *PRACTICES}
    assert not strings & set(OTHER_CLUSTERS)
    rows = next(iter(datasets(chart).values()))
    assert len(rows) == len(MONTHS) * (1 + 3 + len(PRACTICES))


def test_no_practice_layer_or_highlight_without_practice_rows(table):
    chart = comparison_chart(table, ABX, CLUSTER, practices=False)
    assert "practice_highlight" not in params(chart)
    assert "comparator" in params(chart)


def test_unknown_comparator_is_refused(table):
    with pytest.raises(ValueError, match="Rest of the world"):
        comparison_chart(table, ABX, CLUSTER, comparator="Rest of the world")


def test_title_has_the_months(chart):
    assert titles(chart)[0] == ("Antibacterial items per 1,000 patients per day, Oct 2024 to "
                                "Sep 2026")


def test_summary_sentence_gives_latest_values_of_each_comparator(table):
    text = describe_comparison(table, ABX, CLUSTER)
    assert text.startswith("Dundee 4's latest value, 1.77 items per 1,000 patients per day in "
                           "Sep 2026, compares with 1.10 for the rest of its HSCP, 1.05 for the "
                           "rest of its board and 1.00 for the rest of Scotland")
    assert "above the rest of Scotland in 24 of 24 months" in text


def test_comparison_data_table_has_a_column_per_series(table):
    frame = chart_data_table("comparison", table, ABX, CLUSTER)
    assert list(frame.columns) == ["Month", "Dundee 4", "Rest of HSCP", "Rest of board",
                                   "Rest of Scotland", *PRACTICES]
    assert len(frame) == len(MONTHS)
