"""Funnel chart: params, embedded data, highlight, limits from the calculation, text summary."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clusterqi.charts import chart_data_table, describe_funnel, funnel_chart
from clusterqi.charts.funnel import LINE_KEYS, band_per, size_axis
from tests.charts.spec import datasets, embedded_columns, embedded_strings, params, titles
from tests.charts.tables import CLUSTER, INDICATORS, PRACTICES, make_table

ABX = INDICATORS["abx"]


def hand_lines(baseline: float = 1.0) -> pd.DataFrame:
    sizes = np.linspace(10_000, 80_000, 20)
    lines = pd.DataFrame({"size": sizes, "baseline": baseline})
    for level, z in [("95", 1.96), ("998", 3.09)]:
        for suffix, widen in [("", 1.5), ("_unadjusted", 1.0)]:
            half = z * np.sqrt(baseline * 1000 / sizes) * widen
            lines[f"lower_{level}{suffix}"] = baseline - half
            lines[f"upper_{level}{suffix}"] = baseline + half
    return lines


@pytest.fixture(scope="module")
def table():
    return make_table()


@pytest.fixture(scope="module")
def chart(table):
    return funnel_chart(table, ABX, "cluster", highlight=CLUSTER, lines=hand_lines())


def test_funnel_has_the_show_unadjusted_checkbox_off_by_default(chart):
    p = params(chart)["show_unadjusted"]
    assert p["bind"]["input"] == "checkbox"
    assert p["value"] is False


def test_unadjusted_limits_are_filtered_by_the_checkbox(chart):
    spec = chart.to_dict()
    filters = [t["filter"] for layer in spec["layer"] for t in layer.get("transform", [])
               if "filter" in t]
    assert any("show_unadjusted" in str(f) for f in filters)
    fold = [t["fold"] for layer in spec["layer"] for t in layer.get("transform", [])
            if "fold" in t]
    assert fold == [list(LINE_KEYS.values())]


def test_funnel_has_the_unit_highlight_click_selection_on_the_points(chart):
    p = params(chart)["unit_highlight"]
    assert p["select"]["type"] == "point"
    assert p["select"]["on"] == "click"
    assert p["select"]["fields"] == ["unit"]
    assert p["views"] == ["funnel_units"]


def test_funnel_embeds_only_the_drawn_columns(chart):
    assert embedded_columns(chart) == {
        "unit", "size", "size_text", "value", "interval", "category", "note", "selected",
        *LINE_KEYS.values(), "size"}


def test_funnel_embeds_no_ids_codes_or_exact_numerators(chart):
    columns = embedded_columns(chart)
    for forbidden in ["area_id", "cluster_id", "hscp_code", "hb_code", "numerator",
                      "denominator", "practice_code", "practice_name"]:
        assert forbidden not in columns


def test_highlighted_unit_is_the_only_selected_point(chart):
    points = next(r for r in datasets(chart).values() if "unit" in r[0])
    selected = [r["unit"] for r in points if r["selected"]]
    assert selected == ["Dundee 4"]


def test_colours_follow_the_99_8_flags_and_low_is_good(chart):
    points = next(r for r in datasets(chart).values() if "unit" in r[0])
    by_unit = {r["unit"]: r["category"] for r in points}
    # abx: low is good; Dundee 4 (1.4 vs 1.0) is flagged high -> worse
    assert by_unit["Dundee 4"] == "worse"
    assert by_unit["Cluster E"] == "better"  # 0.7 -> flagged low -> better
    assert by_unit["Cluster J"] == "similar"


def test_title_names_the_indicator_and_period(chart):
    title, subtitle = titles(chart)
    assert title == "Antibacterial items per 1,000 patients per day, 12 months to Sep 2026"
    assert "99.8%" in " ".join(subtitle)


def test_summary_sentence_counts_units_outside_the_limits(table):
    text = describe_funnel(table, ABX, "cluster", highlight=CLUSTER)
    assert text.startswith("Dundee 4: 1.40 items per 1,000 patients per day")
    assert "of 12 clusters, 2 lie above and 1 below the 99.8% limits" in text


def test_summary_sentence_changes_with_the_numbers(table):
    changed = table.copy()
    mask = (changed["indicator_id"] == "abx") & (changed["level"] == "cluster") & (
        changed["period_type"] == "total")
    changed.loc[mask, "funnel_998"] = "within"
    changed.attrs = dict(table.attrs)
    text = describe_funnel(changed, ABX, "cluster")
    assert "of 12 clusters, 0 lie above and 0 below" in text


def test_practice_level_funnel_in_cluster_audience_shows_only_pseudonyms_and_bands(table):
    chart = funnel_chart(table, ABX, "practice", highlight="member-b", lines=hand_lines())
    strings = embedded_strings(chart)
    assert {s for s in strings if s.startswith("Member practice")} == set(PRACTICES)
    # a rate's size axis is patients (patient-days / days in the period), bands converted too
    days, title = size_axis(ABX, "2025-10..2026-09")
    assert (days, title) == (365.0, "Patients (average list size)")
    assert {band_per(b, days) for b in ("2,500-4,999", "5,000-7,499", "7,500-9,999")} <= strings
    assert band_per("1,000,000-2,499,999", days) == "2,740-6,850"
    points = next(r for r in datasets(chart).values() if "unit" in r[0])
    assert [round(r["size"] * days, -1) for r in sorted(points, key=lambda r: r["size"])] == \
        [3750.0, 6250.0, 6250.0, 8750.0]


def test_funnel_draws_the_limits_the_calculation_module_computes(table):
    chart = funnel_chart(table, ABX, "cluster", highlight=CLUSTER)  # lines from funnel_lines
    lines = next(r for r in datasets(chart).values() if r and "l998" in r[0])
    for row in lines:
        assert row["l998"] <= row["l95"] <= 1.0 <= row["u95"] <= row["u998"]
        assert row["l998"] <= row["l998u"] <= row["u998u"] <= row["u998"]  # phi > 1 widens
    sizes = [r["size"] for r in lines]
    assert sizes == sorted(sizes) and len(lines) <= 50


def test_funnel_data_table_has_one_row_per_unit(table):
    frame = chart_data_table("funnel", table, ABX, "cluster", highlight=CLUSTER)
    assert list(frame.columns) == ["Cluster", "Patients", "Value (items per 1,000 patients per day)",
                                   "95% interval", "Against the 99.8% limits"]
    assert len(frame) == 12


def test_a_published_target_is_drawn_as_a_labelled_line_and_said(table):
    import dataclasses

    from clusterqi.indicators.catalogue import Target

    @dataclasses.dataclass(frozen=True)
    class WithTarget(type(ABX)):
        target: Target | None = None

    with_target = WithTarget(**dataclasses.asdict(ABX), target=Target(
        value=1.1, source="a national target", url="https://example.org/target"))
    chart = funnel_chart(table, with_target, "cluster", highlight=CLUSTER, lines=hand_lines())
    spec = chart.to_dict()
    rules = [lyr for lyr in spec["layer"] if lyr.get("mark", {}).get("type") == "rule"
             and lyr["mark"].get("strokeDash") == [2, 2]]
    assert [r["encoding"]["y"]["datum"] for r in rules] == [1.1]
    texts = [lyr["encoding"]["text"]["datum"] for lyr in spec["layer"]
             if lyr.get("mark", {}).get("type") == "text" and "datum" in lyr["encoding"]["text"]]
    assert texts == ["Target 1.10 (a national target)"]
    assert any("published target" in line for line in spec["title"]["subtitle"])
    # no target, no line
    plain = funnel_chart(table, ABX, "cluster", highlight=CLUSTER, lines=hand_lines()).to_dict()
    assert not [lyr for lyr in plain["layer"] if lyr.get("mark", {}).get("strokeDash") == [2, 2]]
