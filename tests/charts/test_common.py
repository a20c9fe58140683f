"""Rules every chart keeps: refuse unreleasable tables, consistent colours, small strict JSON."""

from __future__ import annotations

import json

import altair as alt
import pandas as pd
import pytest

import clusterqi.charts as charts
from clusterqi.charts import theme
from tests.charts.spec import embedded_columns, scales_for, size_bytes
from tests.charts.tables import CLUSTER, INDICATORS, make_table
from tests.charts.test_funnel import hand_lines

ABX = INDICATORS["abx"]
# chart kind -> (builder, describer, positional args after the table)
BUILDS = {
    "funnel": (charts.funnel_chart, (ABX, "cluster"), {"highlight": CLUSTER}),
    "spc": (charts.spc_chart, (ABX, CLUSTER, "cluster"), {}),
    "comparison": (charts.comparison_chart, (ABX, CLUSTER), {}),
    "summary": (charts.summary_chart, (INDICATORS, CLUSTER), {}),
    "practice": (charts.practice_chart, (ABX, CLUSTER), {}),
}
MAX_CHART_BYTES = 40_000  # ~30 charts and a 0.9 MB runtime must fit in 2.5 MB


def build(kind, table, audience="cluster"):
    builder, args, kwargs = BUILDS[kind]
    if kind == "funnel":
        kwargs = {**kwargs, "lines": hand_lines()}
    return builder(table, *args, audience=audience, **kwargs)


@pytest.fixture(scope="module")
def table():
    return make_table()


@pytest.fixture(scope="module")
def built(table):
    return {kind: build(kind, table) for kind in BUILDS}


@pytest.mark.parametrize("kind", list(BUILDS))
def test_chart_refuses_a_table_that_has_not_passed_disclosure(kind):
    from clusterqi.disclosure import NotReleasableError

    raw = make_table(releasable=False, audience="analyst")
    with pytest.raises(NotReleasableError):
        build(kind, raw, audience="cluster")
    builder, args, kwargs = BUILDS[kind]
    with pytest.raises(NotReleasableError):
        charts.describe(kind, raw, *args, audience="cluster", **kwargs)
    with pytest.raises(NotReleasableError):
        charts.chart_data_table(kind, raw, *args, audience="cluster", **kwargs)


@pytest.mark.parametrize("kind", list(BUILDS))
def test_analyst_audience_may_chart_the_full_table(kind):
    raw = make_table(releasable=False, audience="analyst")
    assert isinstance(build(kind, raw, audience="analyst"), alt.TopLevelMixin)


def test_unknown_audience_is_refused(table):
    with pytest.raises(ValueError, match="public"):
        build("spc", table, audience="public")


@pytest.mark.parametrize("kind", list(BUILDS))
def test_chart_spec_is_strict_json_and_small(built, kind):
    json.dumps(built[kind].to_dict(), allow_nan=False)  # NaN would break the browser's parse
    assert size_bytes(built[kind]) < MAX_CHART_BYTES


@pytest.mark.parametrize("kind", list(BUILDS))
def test_no_identifier_columns_are_embedded(built, kind):
    forbidden = {"area_id", "cluster_id", "hscp_code", "hb_code", "practice_code",
                 "practice_name", "numerator", "denominator", "postcode"}
    assert not embedded_columns(built[kind]) & forbidden


def test_category_colours_and_shapes_are_the_same_in_every_chart(built):
    for kind, chart in built.items():
        for scale in scales_for(chart, "color"):
            for word, colour in zip(scale["domain"], scale["range"]):
                if word in theme.CATEGORY_COLOURS:
                    assert colour == theme.CATEGORY_COLOURS[word], (kind, word)
        for scale in scales_for(chart, "shape"):
            for word, shape in zip(scale["domain"], scale["range"]):
                if word in theme.SHAPES:
                    assert shape == theme.SHAPES[word], (kind, word)


def test_every_category_has_its_own_colour_and_shape():
    assert len(set(theme.CATEGORY_COLOURS.values())) == len(theme.CATEGORY_COLOURS)
    assert len(set(theme.SHAPES.values())) == len(theme.SHAPES)
    assert set(theme.SHAPES) == set(theme.CATEGORY_COLOURS)


def test_charts_with_a_colour_legend_also_encode_shape(built):
    for kind in ("funnel", "summary", "practice"):
        colour = {json.dumps(s) for s in scales_for(built[kind], "color")
                  if set(s["domain"]) & set(theme.CATEGORY_COLOURS)}
        assert colour and scales_for(built[kind], "shape"), kind


def test_house_theme_is_registered_and_enabled_on_import():
    assert theme.THEME_NAME in alt.theme.names()
    assert alt.theme.active == theme.THEME_NAME
    config = theme.house_theme()["config"]
    assert config["font"].startswith("Arial")
    assert config["axis"]["labelFontSize"] >= 12


@pytest.mark.parametrize("kind", list(BUILDS))
def test_every_kind_has_a_sentence_and_a_table(table, kind):
    builder, args, kwargs = BUILDS[kind]
    text = charts.describe(kind, table, *args, **kwargs)
    assert text.endswith(".") and text.count(". ") == 0
    frame = charts.chart_data_table(kind, table, *args, **kwargs)
    assert len(frame) > 0


def test_unknown_chart_kind_is_refused(table):
    with pytest.raises(ValueError, match="pie"):
        charts.describe("pie", table)


@pytest.mark.parametrize("kind", list(BUILDS))
def test_chart_with_text_gives_what_the_three_separate_calls_give(kind, table):
    builder, args, kwargs = BUILDS[kind]
    chart, sentence, numbers = charts.chart_with_text(kind, table, *args, **kwargs)
    assert chart.to_dict() == builder(table, *args, **kwargs).to_dict()  # and still schema-valid
    assert sentence == charts.describe(kind, table, *args, **kwargs)
    pd.testing.assert_frame_equal(numbers, charts.chart_data_table(kind, table, *args, **kwargs))


def test_shared_chart_data_prepares_rows_once_per_arguments_and_hands_out_copies(table, monkeypatch):
    from clusterqi.charts import inputs, spc

    calls = []
    original = spc.spc_data.__wrapped__
    shared = inputs.prepared_once(lambda *a, **k: calls.append(a) or original(*a, **k))
    with inputs.shared_chart_data():
        first = shared(table, ABX, CLUSTER, "cluster")
        first["value"] = -1.0  # a caller changing its copy changes no one else's
        second = shared(table, ABX, CLUSTER, "cluster")
    assert len(calls) == 1 and (second["value"] != -1.0).all()
    shared(table, ABX, CLUSTER, "cluster")  # outside the block nothing is remembered
    assert len(calls) == 2


def test_a_shared_tuple_of_frames_is_handed_out_as_copies(table):
    from clusterqi.charts import funnel, inputs

    with inputs.shared_chart_data():
        rows, data = funnel._funnel_frame(table, ABX, "cluster", None, CLUSTER, None)
        rows["value"], data["value"] = -1.0, -1.0
        rows_again, data_again = funnel._funnel_frame(table, ABX, "cluster", None, CLUSTER, None)
    assert (rows_again["value"] != -1.0).any() and (data_again["value"] != -1.0).any()


@pytest.mark.parametrize("test", ["datum.role == 'cluster'", "selection", "selection, empty=False"])
def test_when_writes_the_same_condition_as_alt_condition(test):
    if test.startswith("selection"):
        test = alt.selection_point(name="pick", **({"empty": False} if "empty" in test else {}))
    expected = alt.Chart().mark_point().encode(
        opacity=alt.condition(test, alt.value(1.0), alt.value(0.2))).to_dict()["encoding"]
    ours = alt.Chart().mark_point().encode(
        opacity=theme.when(alt.OpacityValue, test, 1.0, 0.2)).to_dict()["encoding"]
    assert ours == expected


def test_layer_builds_the_same_spec_as_chaining_add_params_and_properties():
    data = pd.DataFrame({"x": [1, 2, 3], "y": [3, 1, 2], "unit": ["a", "b", "c"]})
    pick = alt.selection_point(name="pick", fields=["unit"])
    show = alt.param(name="show", value=False, bind=alt.binding_checkbox(name="Show "))
    lines = alt.Chart(data).mark_line().encode(x=alt.X("x:Q"), y=alt.Y("y:Q"))
    points = (alt.Chart(data).mark_point().encode(x=alt.X("x:Q"), y=alt.Y("y:Q"))
              .add_params(pick).properties(name="points"))
    title = alt.Title("A chart", subtitle=["Two layers"])
    chained = alt.layer(lines, points).add_params(show).properties(title=title, height=200)
    built = theme.layer(lines, points, params=(show,), title=title, height=200)
    assert built.to_dict() == chained.to_dict()
    assert theme.layer(lines, points).to_dict() == alt.layer(lines, points).to_dict()


def _layers_of_every_kind():
    data = pd.DataFrame({"x": [1, 2, 3], "y": [3, 1, 2], "unit": ["a", "b", "c"]})
    other = data.assign(y=[9, 8, 7])
    pick = alt.selection_point(name="pick", fields=["unit"], on="click", clear="dblclick")
    legend = alt.selection_point(name="legend_pick", fields=["unit"], bind="legend")
    show = alt.param(name="show", value=False, bind=alt.binding_checkbox(name="Show "))
    choose = alt.param(name="choose", value="a", bind=alt.binding_select(options=["a", "b"]))
    x, y = alt.X("x:Q"), alt.Y("y:Q")
    lines = alt.Chart(data).mark_line().encode(x=x, y=y)
    points = alt.Chart(data).mark_point().encode(x=x, y=y).add_params(pick).properties(name="points")
    named = (alt.Chart(data).mark_line().encode(x=x, y=y, color=alt.Color("unit:N"))
             .add_params(legend).properties(name="units"))
    rule = alt.Chart().mark_rule().encode(y=alt.YDatum(2.0))
    elsewhere = alt.Chart(other).mark_point().encode(x=x, y=y)
    with_variable = alt.Chart(data).mark_text().encode(x=x, y=y, text=alt.Text("unit:N")).add_params(show)
    unnamed_pick = alt.Chart(data).mark_point().encode(x=x, y=y).add_params(
        alt.selection_point(name="unnamed", fields=["unit"]))
    sized = alt.Chart(data).mark_line().encode(x=x, y=y).properties(width=300)
    cases = {
        "shared data, a selection": ((lines, points), {}),
        "two selections, a variable": ((named, lines, points), {"params": (show, choose)}),
        "some layers without data": ((lines, rule, points), {"params": (show,)}),
        "layers with other data": ((lines, elsewhere, points), {"params": (choose,)}),
        "a layer's own variable": ((with_variable, points), {"params": (show,)}),
        "data given to the chart": ((lines, rule), {"data": data, "width": "container"}),
        "other data given to the chart": ((lines, elsewhere), {"data": other}),
        "a selection on an unnamed view": ((lines, unnamed_pick), {"params": (show,)}),
        "a layer with its own width": ((sized, points), {}),
    }
    return cases


@pytest.mark.parametrize("case", list(_layers_of_every_kind()))
def test_layer_combines_layers_as_altair_does(case):
    layers, options = _layers_of_every_kind()[case]
    options = dict(options)
    params = options.pop("params", ())
    title = alt.Title("A chart", subtitle=["Layers"])
    chained = alt.layer(*layers, **({"data": options["data"]} if "data" in options else {}))
    if params:
        chained = chained.add_params(*params)
    chained = chained.properties(title=title, **{k: v for k, v in options.items() if k != "data"})
    built = theme.layer(*layers, params=params, title=title, **options)
    assert built.to_dict() == chained.to_dict()
    # a copy made by a later change (as ``properties`` and ``to_dict`` make) combines nothing again
    assert built.properties(height=120).to_dict() == chained.properties(height=120).to_dict()
    assert built.copy().to_dict() == chained.copy().to_dict()


@pytest.mark.parametrize("period_type, where", [("month", {"area_id": CLUSTER}),
                                                ("month", {"cluster_id": CLUSTER}),
                                                ("total", {})])
def test_select_rows_of_a_few_columns_are_the_same_rows_in_the_same_order(period_type, where):
    from clusterqi.charts import inputs

    table = make_table()
    level = "cluster" if "area_id" in where or not where else "practice"
    whole = inputs.select_rows(table, ABX.id, level, period_type, **where)
    few = inputs.select_rows(table, ABX.id, level, period_type, **where,
                             columns=["value", "period", "not_a_column", "area_name"])
    assert len(whole) > 1
    assert list(few.columns) == ["value", "period", "area_name"]
    pd.testing.assert_frame_equal(few, whole[["value", "period", "area_name"]])
