"""The offline renderer: runtime once per document, safe inline specs, no editor action."""

from __future__ import annotations

import json
import re

import altair as alt
import pandas as pd
import pytest

from clusterqi.charts import offline


@pytest.fixture
def chart() -> alt.Chart:
    data = pd.DataFrame({"x": [1, 2], "y": [2, 1], "name": ["</script><script>alert(1)</script>", "b"]})
    return alt.Chart(data).mark_point().encode(x="x", y="y", tooltip="name")


@pytest.fixture(autouse=True)
def _restore_renderer():
    previous = alt.renderers.active
    yield
    alt.renderers.enable(previous)


def _html(chart: alt.Chart) -> str:
    bundle = chart._repr_mimebundle_()  # one display: the renderer runs once
    return (bundle[0] if isinstance(bundle, tuple) else bundle)["text/html"]


def test_runtime_is_emitted_with_the_first_chart_only_until_re_enabled(chart):
    offline.enable_offline_charts(theme=False)
    first, second = _html(chart), _html(chart)
    assert first.count(offline.RUNTIME_START) == 1
    assert offline.RUNTIME_START not in second
    offline.enable_offline_charts(theme=False)
    assert _html(chart).count(offline.RUNTIME_START) == 1


def test_runtime_is_packed_wrapped_in_a_function_scope_and_guarded_against_a_second_copy():
    script = offline.runtime_script()
    assert "if (window.clusterqiRuntime || window.clusterqiRuntimeLoading) { return; }" in script
    assert "DecompressionStream('gzip')" in script
    assert script.count("<script") == 1 and script.count("</script>") == 1
    code = offline.unpacked_runtime(script)
    assert code.startswith("(function () {\n") and code.rstrip().endswith("}).call(window);")
    assert "window.vegaEmbed=" in code  # the bundle sits inside the function
    # packed, the runtime is well under half its size; the specs' pattern does not match it
    assert len(script) < 0.5 * len(code)
    assert offline.embedded_specs(script) == []


def test_data_cannot_close_the_script_tag(chart):
    offline.enable_offline_charts(theme=False)
    _html(chart)
    html = _html(chart)
    assert "</script><script>alert(1)" not in html
    assert html.count("</script>") == 1  # only the chart's own closing tag
    [spec] = offline.embedded_specs(html)
    assert spec["datasets"][next(iter(spec["datasets"]))][0]["name"].startswith("</script>")


def test_charts_use_svg_and_never_offer_the_editor_source_or_compiled_actions(chart):
    html = offline.chart_html(chart.to_dict(), {"actions": True, "renderer": "svg"})
    options = json.loads(re.search(r"var options = (.*?);\n", html).group(1))
    assert options["renderer"] == "svg"
    assert options["actions"] == {"export": True, "source": False, "compiled": False, "editor": False}
    assert "window.clusterqiDraw(chart)" in html and f'class="{offline.CHART_CLASS}"' in html
    assert "window.clusterqiViews" in offline.runtime_script()  # the runtime draws and records


def test_escape_json_for_script_escapes_html_comment_openers_and_line_separators():
    text = offline.escape_json_for_script({"a": "<!-- x \u2028 </b>"})
    assert "<!--" not in text and "</" not in text and "\u2028" not in text
    assert json.loads(text) == {"a": "<!-- x \u2028 </b>"}


def test_the_chart_data_transformer_gives_altairs_values_for_every_column_kind():
    import altair as alt
    import numpy as np
    import pandas as pd
    from altair.utils.data import to_values

    frame = pd.DataFrame({
        "text": pd.Series(["a", None, "Member practice B"], dtype="str"),
        "category": pd.Categorical(["worse", "similar", "worse"]),
        "value": [1.23456789012, np.nan, -0.5],
        "count": pd.array([1, None, 3], dtype="Int64"),
        "flag": pd.array([True, False, None], dtype="boolean"),
        "plain_int": np.array([1, 2, 3]),
        "month": pd.to_datetime(["2026-07-01", "2026-08-01", None]),
    })
    assert offline.chart_values(frame) == to_values(frame)
    with pytest.raises(alt.MaxRowsError):
        offline.chart_values(pd.DataFrame({"a": range(offline.MAX_CHART_ROWS + 1)}))


def test_chart_spec_gives_the_spec_altair_gives():
    """chart_spec's short way for plain values changes nothing: a layered chart with data of
    every kind the charts use (numpy numbers, dates, missing values, nested lists and dicts in
    properties) gives Altair's own spec; afterwards Altair's conversion is its own again."""
    import numpy as np
    from altair.utils import schemapi

    from clusterqi.charts import spec_values

    data = pd.DataFrame({
        "name": pd.Series(["Practice A", None, "B"], dtype="str"),
        "value": [1.5, np.nan, 3.0],
        "count": pd.array([1, None, 3], dtype="Int64"),
        "month": pd.to_datetime(["2026-07-01", "2026-08-01", None]),
        "flag": [True, False, True],
    })
    base = alt.Chart(data).encode(
        x=alt.X("month:T", axis=alt.Axis(values=[np.datetime64("2026-07-01")], format="%b")),
        y=alt.Y("value:Q", scale=alt.Scale(domain=(np.float64(0.0), 4)), title=["two", "lines"]),
        tooltip=[alt.Tooltip("name:N"), alt.Tooltip("count:Q", format=",")],
    )
    layered = alt.layer(
        base.mark_line(),
        base.mark_point().encode(color=alt.condition("datum.flag", alt.value("red"),
                                                     alt.value(None))),
        alt.Chart(pd.DataFrame({"y": [np.int64(2)]})).mark_rule().encode(y="y:Q"),
    ).properties(title={"text": "A chart", "subtitle": ["one", "two"]}, width=300,
                 usermeta={"nested": {"list": [1, (2, 3)], "none": None}})
    context = {"pre_transform": False}
    with alt.data_transformers.enable(offline.RENDERER_NAME):
        expected = layered.to_dict(validate=False, context=dict(context))
        assert offline.chart_spec(layered) == expected
    assert schemapi._todict is spec_values._ALTAIR_TODICT
    assert json.dumps(offline.chart_spec(layered), sort_keys=True) == json.dumps(expected,
                                                                               sort_keys=True)
