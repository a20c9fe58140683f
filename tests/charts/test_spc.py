"""SPC chart: limits and signals drawn from the table, rule set named, PDSA annotations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clusterqi.charts import chart_data_table, describe_spc, spc_chart
from clusterqi.charts.spc import (
    CHART_TYPES,
    RUN_CHART_RULES,
    SPC_RULES,
    SUBTITLE_LINE_CHARACTERS,
    annotation_frame,
)
from clusterqi.charts.theme import CONCERN, SIGNAL_COLOURS, SIGNAL_SHAPES
from tests.charts.spec import datasets, embedded_columns, scales_for, titles
from tests.charts.tables import CLUSTER, INDICATORS, MONTHS, make_table

ABX = INDICATORS["abx"]
PDSA = [{"date": "2025-06-01", "change": "Delayed prescriptions for sore throats"}]


@pytest.fixture(scope="module")
def table():
    return make_table()


@pytest.fixture(scope="module")
def chart(table):
    return spc_chart(table, ABX, CLUSTER, "cluster", annotations=PDSA)


def test_spc_embeds_the_month_series_and_the_annotations_only(chart):
    assert embedded_columns(chart) == {"month", "phase", "value", "cl", "lcl", "ucl", "signal",
                                       "rule", "date", "text", "label"}
    series = next(r for r in datasets(chart).values() if "month" in r[0])
    assert [r["month"] for r in series] == MONTHS


def test_special_cause_months_are_marked_with_their_rule(chart):
    series = next(r for r in datasets(chart).values() if "month" in r[0])
    marked = [r for r in series if r["signal"] is not None]
    assert [r["month"] for r in marked] == MONTHS[17:]
    assert {r["signal"] for r in marked} == {"concern"}
    assert {r["rule"] for r in marked} == {"point outside the limits"}


def test_signal_markers_use_the_house_colour_and_shape(chart):
    colours = scales_for(chart, "color")
    shapes = scales_for(chart, "shape")
    assert {"domain": ["concern"], "range": [CONCERN]} in colours
    assert {"domain": ["concern"], "range": [SIGNAL_SHAPES["concern"]]} in shapes
    assert SIGNAL_COLOURS["concern"] == CONCERN


def test_subtitle_names_the_chart_type_and_rule_set(chart):
    title, subtitle = titles(chart)
    assert title == "Antibacterial items per 1,000 patients per day, Oct 2024 to Sep 2026"
    assert "u chart" in subtitle[0] and subtitle[1] == SPC_RULES


def test_pdsa_annotation_is_drawn_with_its_text(chart):
    notes = next(r for r in datasets(chart).values() if "text" in r[0])
    assert notes == [{"date": "2025-06-01", "text": "Delayed prescriptions for sore throats",
                      "label": "PDSA 1"}]
    assert "PDSA 1 (01 Jun 2025): Delayed prescriptions for sore throats" in titles(chart)[1]


def test_annotation_without_a_text_is_refused():
    with pytest.raises(ValueError, match="annotation 1"):
        annotation_frame([{"date": "2025-06-01"}])


def test_series_without_limits_is_drawn_as_a_run_chart(table):
    local = table.copy()
    local.loc[:, ["lcl", "ucl"]] = np.nan
    local["spc_signal"] = False
    local.attrs = dict(table.attrs)
    chart = spc_chart(local, ABX, CLUSTER, "cluster")
    title, subtitle = titles(chart)
    assert "run chart" in subtitle[0] and subtitle[1] == RUN_CHART_RULES


def test_summary_sentence_reports_latest_value_and_signals(table):
    text = describe_spc(table, ABX, CLUSTER, "cluster", annotations=PDSA)
    assert text.startswith("Dundee 4, Oct 2024 to Sep 2026 (u chart): the latest value, 1.77")
    assert "7 months show special-cause variation (7 concern), most recently Sep 2026" in text
    assert "1 PDSA cycle marked" in text


def test_spc_data_table_has_one_row_per_month(table):
    frame = chart_data_table("spc", table, ABX, CLUSTER, "cluster")
    assert len(frame) == len(MONTHS)
    assert frame["Special cause"].tolist().count("concern") == 7


def _phased(table, kind="p_prime"):
    """The cluster's ABX months in two phases: 60 before Feb 2026 (PDSA 1), 40 from it."""
    out = table.copy()
    rows = (out.indicator_id == "abx") & (out.area_id == CLUSTER) & (out.period_type == "month")
    later = rows & (out.period >= "2026-02")
    out["spc_phase"] = pd.array([0] * len(out), dtype="Int64")
    out.loc[later, "spc_phase"] = 1
    out.loc[rows, "spc_chart"] = kind
    out.loc[rows & ~later, ["cl", "lcl", "ucl"]] = [60.0, 50.0, 70.0]
    out.loc[later, ["cl", "lcl", "ucl"]] = [40.0, 32.0, 48.0]
    out.attrs = dict(table.attrs)
    return out


def test_each_phase_draws_its_own_centre_line_and_limits(table):
    chart = spc_chart(_phased(table), ABX, CLUSTER, "cluster")
    series = next(r for r in datasets(chart).values() if "month" in r[0])
    assert {r["phase"] for r in series} == {0, 1}
    limit_layer = chart.to_dict()["layer"][0]
    details = limit_layer["encoding"]["detail"]
    assert {d["field"] for d in details} == {"line", "phase"}


def test_sentence_says_the_change_after_a_pdsa_held(table):
    notes = [{"date": "2025-06-01", "change": "Protocol"},
             {"date": "2026-01-15", "change": "Training"}]
    text = describe_spc(_phased(table), ABX, CLUSTER, "cluster", annotations=notes)
    assert ("The change after PDSA 2 (January 2026) held: a new level of 40.0 items per 1,000 "
            "patients per day from Feb 2026 (was 60.0).") in text
    assert "Laney p' chart" in text


def test_sentence_says_when_no_change_has_held(table):
    text = describe_spc(table, ABX, CLUSTER, "cluster", annotations=PDSA)
    assert "No change has held yet: no run of 7 months on one side of the baseline" in text


@pytest.mark.parametrize("kind", ["ratio_prime", "ratio_xmr", "p_prime", "u_prime"])
def test_subtitle_explains_the_chart_kind_to_a_gp(table, kind):
    from clusterqi.indicators.series import CHART_EXPLANATIONS

    chart = spc_chart(_phased(table, kind), ABX, CLUSTER, "cluster")
    _, subtitle = titles(chart)
    # the sentence, wrapped so no subtitle line runs past the chart
    assert CHART_EXPLANATIONS[kind] in " ".join(subtitle[2:])
    assert all(len(line) <= SUBTITLE_LINE_CHARACTERS for line in subtitle[2:])
    assert CHART_TYPES[kind] in subtitle[0]
