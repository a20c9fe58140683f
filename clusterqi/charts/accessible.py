"""Every chart's text alternative: a one-sentence summary and the numbers behind it.

NHS content must not rest on a picture alone. For each chart kind the report shows
``describe(kind, ...)`` under the chart and ``chart_data_table(kind, ...)`` in a collapsible
table. Both take exactly the arguments of the chart's builder (``audience`` included: they
refuse a non-releasable table the same way), so the report calls all three alike:

=============  =====================  ==========================
kind           builder                sentence
=============  =====================  ==========================
"funnel"       ``funnel_chart``       ``describe_funnel``
"spc"          ``spc_chart``          ``describe_spc``
"comparison"   ``comparison_chart``   ``describe_comparison``
"summary"      ``summary_chart``      ``describe_summary``
"practice"     ``practice_chart``     ``describe_practices``
=============  =====================  ==========================

The sentences are built from the same numbers the chart draws; the tables hold those numbers
with plain-English column names (values rounded to 4 significant figures, as in the charts).

:func:`chart_with_text` gives all three at once (the chart's rows prepared once), which is what
the report and the explorer show.

Example usage::

    from clusterqi.charts import describe, chart_data_table, chart_with_text
    describe("funnel", releasable, ind, "cluster", highlight="dundee-4")
    chart_data_table("funnel", releasable, ind, "cluster", highlight="dundee-4")
    chart, sentence, numbers = chart_with_text("funnel", releasable, ind, "cluster", highlight="dundee-4")
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import altair as alt
import pandas as pd
from altair.utils.schemapi import debug_mode

from clusterqi.charts import inputs
from clusterqi.charts.comparison import (
    comparison_chart,
    comparison_data,
    describe_comparison,
)
from clusterqi.charts.funnel import (
    band_per,
    describe_funnel,
    funnel_chart,
    funnel_data,
    size_axis,
)
from clusterqi.charts.practice import describe_practices, practice_chart, practice_data
from clusterqi.charts.spc import describe_spc, spc_chart, spc_data
from clusterqi.charts.summary import describe_summary, summary_chart, summary_data

__all__ = ["CHART_KINDS", "describe", "chart_data_table", "chart_with_text"]

CHART_KINDS = ("funnel", "spc", "comparison", "summary", "practice")
_DESCRIBE: dict[str, Callable[..., str]] = {
    "funnel": describe_funnel,
    "spc": describe_spc,
    "comparison": describe_comparison,
    "summary": describe_summary,
    "practice": describe_practices,
}


def _kind(kind: str) -> str:
    if kind not in CHART_KINDS:
        raise ValueError(f"chart kind {kind!r} is not known; expected one of "
                         f"{', '.join(CHART_KINDS)}")
    return kind


def describe(kind: str, *args: Any, **kwargs: Any) -> str:
    """The one-sentence text summary of a chart of ``kind``, given the builder's arguments."""
    return _DESCRIBE[_kind(kind)](*args, **kwargs)


def _funnel_table(table, indicator, level, period=None, highlight=None, audience="cluster",
                  *, cluster_id=None, lines=None) -> pd.DataFrame:
    inputs.check_audience(table, audience)
    ind = inputs.resolve_indicator(indicator)
    data = funnel_data(table, ind, level, period, highlight, cluster_id)
    singular = inputs.LEVEL_NAMES[level][0]
    divisor, size_title = size_axis(ind, data.attrs["period"])
    size = data["size"] / divisor
    return pd.DataFrame({
        singular.capitalize(): data["unit"],
        size_title.split(" (")[0]: data["size_text"].map(lambda t: band_per(t, divisor)).fillna(size.map(
            lambda v: f"{v:,.0f}" if pd.notna(v) and v >= 100 else inputs.format_value(v))),
        f"Value ({ind.unit})": data["value"],
        "95% interval": data["interval"],
        "Against the 99.8% limits": data["category"],
    })


def _spc_table(table, indicator, area_id, level, annotations=None,
               audience="cluster") -> pd.DataFrame:
    inputs.check_audience(table, audience)
    ind = inputs.resolve_indicator(indicator)
    data = spc_data(table, ind, area_id, level)
    return pd.DataFrame({
        "Month": data["month"].map(inputs.period_label),
        f"Value ({ind.unit})": data["value"],
        "Centre line": data["cl"],
        "Lower limit": data["lcl"],
        "Upper limit": data["ucl"],
        "Special cause": data["signal"].fillna(""),
        "Why": data["rule"].fillna(""),
    })


def _comparison_table(table, indicator, cluster_id, audience="cluster", *, practices=True,
                      comparator=None) -> pd.DataFrame:
    inputs.check_audience(table, audience)
    ind = inputs.resolve_indicator(indicator)
    data = comparison_data(table, ind, cluster_id, practices)
    order = list(dict.fromkeys(data["series"]))
    wide = data.pivot(index="month", columns="series", values="value")[order]
    wide.index = wide.index.map(inputs.period_label)
    wide.index.name = "Month"
    wide.columns.name = None
    return wide.reset_index()


def _summary_table(table, catalogue, cluster_id, period=None,
                   audience="cluster") -> pd.DataFrame:
    inputs.check_audience(table, audience)
    data = summary_data(table, catalogue, cluster_id, period)
    return pd.DataFrame({
        "Indicator": data["indicator"],
        "Unit": data["unit"],
        data.attrs["cluster"]: data["value"],
        "Scotland": data["scotland"],
        "Lowest cluster": data["lowest"],
        "25th percentile": data["q25"],
        "75th percentile": data["q75"],
        "Highest cluster": data["highest"],
        "Compared with the rest of Scotland": data["category"],
    })


def _practice_table(table, indicator, cluster_id, period=None,
                    audience="cluster") -> pd.DataFrame:
    inputs.check_audience(table, audience)
    ind = inputs.resolve_indicator(indicator)
    data = practice_data(table, ind, cluster_id, period)
    return pd.DataFrame({
        "Practice": data["practice"],
        f"Value ({ind.unit})": data["value"],
        "95% interval": data["interval"],
        "Compared with the rest of Scotland": data["category"],
        "Interpretation": data["note"],
    })


_TABLES: dict[str, Callable[..., pd.DataFrame]] = {
    "funnel": _funnel_table,
    "spc": _spc_table,
    "comparison": _comparison_table,
    "summary": _summary_table,
    "practice": _practice_table,
}


def chart_data_table(kind: str, *args: Any, **kwargs: Any) -> pd.DataFrame:
    """The numbers behind a chart of ``kind``, given the builder's arguments, for a table.

    Columns have plain-English names; a comparison chart's table has one row per month and a
    column per series (the cluster, each comparator, each member practice).
    """
    return _TABLES[_kind(kind)](*args, **kwargs)


_BUILDERS: dict[str, Callable[..., alt.TopLevelMixin]] = {
    "funnel": funnel_chart,
    "spc": spc_chart,
    "comparison": comparison_chart,
    "summary": summary_chart,
    "practice": practice_chart,
}


def chart_with_text(kind: str, *args: Any, **kwargs: Any) -> tuple[alt.TopLevelMixin, str, pd.DataFrame]:
    """The chart of ``kind``, its one-sentence summary and the numbers behind it, in one call.

    Takes the builder's arguments. The chart's rows are prepared once for all three
    (:func:`clusterqi.charts.inputs.shared_chart_data`), and Altair does not re-validate each
    part of the spec as it is built (its "debug mode"): the builders' specs are validated
    against the Vega-Lite schema by the chart tests, and a report draws ~30 charts.

    Example usage::

        chart, sentence, numbers = chart_with_text("spc", releasable, ind, "dundee-4", "cluster")
    """
    builder = _BUILDERS[_kind(kind)]
    with inputs.shared_chart_data(), debug_mode(False):
        chart = builder(*args, **kwargs)
        return chart, describe(kind, *args, **kwargs), chart_data_table(kind, *args, **kwargs)
