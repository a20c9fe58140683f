"""At-a-glance spine chart: orientation by low_is_good, significance colours, summary text."""

from __future__ import annotations

import pytest

from clusterqi.charts import chart_data_table, describe_summary, summary_chart
from clusterqi.charts.summary import summary_data
from tests.charts.spec import datasets, embedded_columns, titles
from tests.charts.tables import CLUSTER, INDICATORS, make_table


@pytest.fixture(scope="module")
def table():
    return make_table()


@pytest.fixture(scope="module")
def rows(table):
    data = summary_data(table, INDICATORS, CLUSTER)
    return {r["indicator"]: r for r in data.to_dict("records")}


def test_low_is_good_indicator_with_a_high_value_sits_on_the_worse_left(rows):
    abx = rows[INDICATORS["abx"].title]  # 1.4 vs Scotland 1.0, low is good
    assert abx["p_value"] < 0
    assert abx["p_lowest"] > 0 > abx["p_highest"]  # flipped: the lowest value is to the right


def test_high_is_good_indicator_is_not_flipped(rows):
    ppi = rows[INDICATORS["ppi"].title]  # 55 vs Scotland 60, high is good -> left
    assert ppi["p_value"] < 0 and ppi["p_highest"] > 0


def test_no_judgement_indicator_puts_higher_to_the_right(rows):
    gaba = rows[INDICATORS["gaba"].title]
    assert gaba["p_value"] > 0 and gaba["category"] == "higher"


def test_scotland_sits_in_the_middle_and_every_cluster_within_the_axis(rows):
    for row in rows.values():
        positions = [row[k] for k in ("p_value", "p_lowest", "p_q25", "p_q75", "p_highest")]
        assert all(-1 <= p <= 1 for p in positions)
        assert row["p_lowest"] * row["p_highest"] <= 0  # Scotland (0) lies within the range


def test_percentiles_are_of_the_clusters_values(rows):
    abx = rows[INDICATORS["abx"].title]
    assert abx["lowest"] == pytest.approx(0.7)
    assert abx["highest"] == pytest.approx(1.4)
    assert abx["lowest"] <= abx["q25"] <= abx["q75"] <= abx["highest"]


def test_summary_chart_embeds_one_row_per_indicator_and_no_other_clusters_names(table):
    chart = summary_chart(table, INDICATORS, CLUSTER)
    records = next(r for r in datasets(chart).values() if r and "indicator" in r[0])
    assert len(records) == 3
    assert "cluster" not in embedded_columns(chart) and "area_id" not in embedded_columns(chart)
    assert titles(chart)[0] == "Dundee 4 at a glance, 12 months to Sep 2026"


def test_summary_sentence_counts_each_comparison(table):
    text = describe_summary(table, INDICATORS, CLUSTER)
    assert text == ("Dundee 4, 12 months to Sep 2026: of 3 indicators against the rest of "
                    "Scotland, 1 similar, 1 worse and 1 higher (worse: Antibacterial items per "
                    "1,000 patients per day).")


def test_data_quality_flag_withholds_the_colouring(table):
    flagged = table.assign(quality_flag=(table["indicator_id"] == "abx")
                           & (table["area_id"] == CLUSTER))
    flagged.attrs = dict(table.attrs)
    data = summary_data(flagged, INDICATORS, CLUSTER)
    assert data.loc[data["indicator"] == INDICATORS["abx"].title, "category"].item() == (
        "data quality: see note")


def test_summary_data_table_lists_every_indicator(table):
    frame = chart_data_table("summary", table, INDICATORS, CLUSTER)
    assert frame["Indicator"].tolist() == [d.title for d in INDICATORS.values()]
    assert frame["Dundee 4"].tolist() == [1.4, 55.0, 24.0]
