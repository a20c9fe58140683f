"""The small trend chart of each indicator card: fits its container, names itself, marks hidden months."""

from __future__ import annotations

import numpy as np
import pytest

from clusterqi.charts.small import describe_small_trend, small_trend_chart, small_trend_data
from tests.charts.spec import datasets, spec
from tests.charts.tables import CLUSTER, INDICATORS, make_table

ABX = INDICATORS["abx"]


@pytest.fixture(scope="module")
def table():
    return make_table()


def test_small_chart_fills_its_container_and_carries_its_sentence_as_description(table):
    chart = small_trend_chart(table, ABX, CLUSTER)
    s = spec(chart)
    assert s["width"] == "container"
    assert s["description"] == describe_small_trend(table, ABX, CLUSTER)
    assert s["description"].startswith("Dundee 4 month by month, Oct 2024 to Sep 2026: Sep 2026 ")
    months = next(rows for rows in datasets(chart).values() if rows and "month" in rows[0])
    assert len(months) == 24


def test_a_hidden_month_is_left_out_and_marked_c_with_words(table):
    changed = table.copy()
    own = (changed["level"] == "cluster") & (changed["area_id"] == CLUSTER) & \
        (changed["period_type"] == "month") & (changed["indicator_id"] == "abx")
    month = changed.loc[own, "period"].max()
    hit = own & (changed["period"] == month)
    changed.loc[hit, "value"] = np.nan
    changed.loc[hit, "qualifier"] = "c"
    data = small_trend_data(changed, ABX, CLUSTER, threshold=5)
    assert data["hidden"].notna().sum() == 1
    assert data.loc[data["hidden"].notna(), "hidden"].iloc[0] == "hidden: fewer than 5 items"
    text = describe_small_trend(changed, ABX, CLUSTER)
    assert "1 month hidden (fewer than 5 items)" in text
    marks = [layer.get("mark") for layer in spec(small_trend_chart(changed, ABX, CLUSTER))["layer"]]
    assert any(isinstance(m, dict) and m.get("type") == "text" and m.get("text") == "c" for m in marks)


def test_refuses_a_table_that_has_not_passed_disclosure_control():
    with pytest.raises(Exception, match="disclosure|releasable"):
        small_trend_chart(make_table(releasable=False), ABX, CLUSTER)
