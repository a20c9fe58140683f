"""Altair chart builders and the house theme for cluster reports.

Builders take the releasable indicator table (docs/architecture.md) and an indicator
definition, and return Altair charts: they never save or display. They refuse a table that has
not passed disclosure control unless ``audience="analyst"``, embed only the columns they encode
and only the rows they draw (the cluster, its practices and the aggregates), and draw limits and
signals computed upstream (compute, then draw). Each chart kind has a one-sentence text summary
and a table of its numbers (:func:`describe`, :func:`chart_data_table`).

Interactive parameters (names fixed by docs/architecture.md): ``comparator`` and
``practice_highlight`` (comparison chart), ``show_unadjusted`` and ``unit_highlight`` (funnel).

Importing this package registers the house theme ``"clusterqi"`` and enables it when Altair's
active theme is still the default (an analyst's own choice is left alone);
:func:`enable_theme` enables it explicitly.

Example usage::

    from clusterqi.charts import funnel_chart, describe, chart_data_table
    chart = funnel_chart(releasable, catalogue[ind_id], "cluster", highlight="dundee-4")
    text = describe("funnel", releasable, catalogue[ind_id], "cluster", highlight="dundee-4")
"""

import importlib

import altair as alt

from clusterqi.charts.theme import THEME_NAME, enable_theme

# The builders are imported when first asked for (PEP 562), not with the package: a batch worker
# that only runs notebooks imports clusterqi.charts.offline for the HTML exporter, and importing
# every builder (pandas, SciPy, the statistics) made each worker ~100 MB larger for nothing.
_LAZY = {
    "CHART_KINDS": "accessible",
    "chart_data_table": "accessible",
    "chart_with_text": "accessible",
    "describe": "accessible",
    "comparison_chart": "comparison",
    "describe_comparison": "comparison",
    "describe_funnel": "funnel",
    "funnel_chart": "funnel",
    "describe_practices": "practice",
    "practice_chart": "practice",
    "describe_spc": "spc",
    "spc_chart": "spc",
    "describe_summary": "summary",
    "summary_chart": "summary",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "funnel_chart",
    "spc_chart",
    "comparison_chart",
    "summary_chart",
    "practice_chart",
    "describe",
    "describe_funnel",
    "describe_spc",
    "describe_comparison",
    "describe_summary",
    "describe_practices",
    "chart_data_table",
    "chart_with_text",
    "CHART_KINDS",
    "THEME_NAME",
    "enable_theme",
]

if alt.theme.active == "default":
    enable_theme()
