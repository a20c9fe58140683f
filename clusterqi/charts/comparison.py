"""Comparison chart: the cluster's monthly trend against a comparator chosen from a dropdown.

The cluster's line (black, solid) is drawn with one comparator (grey, dashed) chosen with the
``comparator`` dropdown (every comparator of the registry with ``in_trend`` that has values: the
rest of its home HSCP, the rest of its home board, clusters like it, or the rest of
Scotland, each *excluding the cluster* (the table's ``rest_of_hscp_value``,
``rest_of_hb_value`` and ``rest_of_scotland_value`` month columns). The member practices'
series (names as the releasable table gives them: pseudonymised for audience "cluster") are
thin coloured lines; click a name in the legend, or a line's point, to highlight that practice
(the ``practice_highlight`` selection; double-click clears). Both work in offline HTML with no
kernel: they are Vega-Lite parameters, not widgets.

Lines are labelled directly at their last month as well as in the legend, so no meaning rests
on colour alone.

Example usage::

    from clusterqi.charts import comparison_chart
    comparison_chart(releasable, ind, "dundee-4")
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from clusterqi import vocabulary
from clusterqi.charts import inputs
from clusterqi.charts.spc import MONTH_FORMAT
from clusterqi.charts.theme import (
    CATEGORICAL,
    CLUSTER_LINE,
    COMPARATOR_LINE,
    layer,
    when,
)

__all__ = [
    "COMPARATOR",
    "PRACTICE_HIGHLIGHT",
    "COMPARATORS",
    "DEFAULT_COMPARATOR",
    "comparison_chart",
    "comparison_data",
    "describe_comparison",
]

COMPARATOR = "comparator"
PRACTICE_HIGHLIGHT = "practice_highlight"
#: The trend chart's comparator menu: label -> value column, from the comparator registry.
COMPARATORS = {c.label: c.value_column for c in vocabulary.comparators(vocabulary.CLUSTER) if c.in_trend}
#: Label -> the words a sentence uses for it.
COMPARATOR_PHRASES = {c.label: c.phrase for c in vocabulary.comparators(vocabulary.CLUSTER) if c.in_trend}
DEFAULT_COMPARATOR = vocabulary.headline().label
PRACTICES_VIEW = "comparison_practices"
PRACTICE_OPACITY = 0.85
DIMMED_OPACITY = 0.15


@inputs.prepared_once
def comparison_data(
    table: pd.DataFrame,
    indicator: Any,
    cluster_id: str,
    practices: bool = True,
) -> pd.DataFrame:
    """The long series a comparison chart draws (its embedded data).

    Columns: month (``"YYYY-MM"``), series (the cluster's name, a comparator label from
    :data:`COMPARATORS`, or a practice's name as the table gives it), role ("cluster",
    "comparator", "practice") and value. Only the cluster's own rows and its practices are
    read; months with a suppressed value stay as missing values (a gap in the line).
    """
    ind = inputs.resolve_indicator(indicator)
    own = inputs.select_rows(table, ind.id, "cluster", "month", area_id=cluster_id,
                             columns=["area_name", "period", "value", *COMPARATORS.values()])
    if own.empty:
        raise ValueError(f"no cluster month rows for indicator {ind.id!r} and cluster "
                         f"{cluster_id!r}")
    name = str(own["area_name"].iloc[0])
    parts = [pd.DataFrame({"month": own["period"].astype(str), "series": name,
                           "role": "cluster", "value": inputs.compact(own["value"])})]
    offered = []
    for label, column in COMPARATORS.items():
        if column not in own or own[column].isna().all():
            continue  # e.g. no peer clusters without a deprivation file: not offered
        offered.append(label)
        values = own[column]
        parts.append(pd.DataFrame({"month": own["period"].astype(str), "series": label,
                                   "role": "comparator", "value": inputs.compact(values)}))
    if practices:
        rows = inputs.select_rows(table, ind.id, "practice", "month", cluster_id=cluster_id,
                                  columns=["period", "area_name", "value"])
        if not rows.empty:
            parts.append(pd.DataFrame({
                "month": rows["period"].astype(str), "series": rows["area_name"].astype(str),
                "role": "practice", "value": inputs.compact(rows["value"])}))
    data = pd.concat(parts, ignore_index=True)
    data.attrs["cluster_name"] = name
    data.attrs["comparators"] = offered
    return data


def comparison_chart(
    table: pd.DataFrame,
    indicator: Any,
    cluster_id: str,
    audience: str = "cluster",
    *,
    practices: bool = True,
    comparator: str = DEFAULT_COMPARATOR,
) -> alt.LayerChart:
    """The cluster's monthly trend with a comparator dropdown and its practices' series.

    Constraints: ``table`` must be releasable unless ``audience="analyst"``; ``comparator`` is
    the dropdown's starting choice (one of :data:`COMPARATORS`); ``practices=False`` leaves the
    practices out (and with them the ``practice_highlight`` selection, which also does not
    exist when the table holds no practice rows for the cluster, e.g. withheld in a cluster of
    fewer than 3 practices).

    Example usage::

        comparison_chart(releasable, ind, "dundee-4", comparator="Rest of HSCP")
    """
    inputs.check_audience(table, audience)
    if comparator not in COMPARATORS:
        raise ValueError(f"comparator {comparator!r} is not known; expected one of "
                         f"{', '.join(COMPARATORS)}")
    ind = inputs.resolve_indicator(indicator)
    data = comparison_data(table, ind, cluster_id, practices)
    name = data.attrs["cluster_name"]
    offered = data.attrs["comparators"] or [comparator]
    if comparator not in offered:
        comparator = offered[0]
    last_month = data["month"].max()
    choose = alt.param(
        name=COMPARATOR, value=comparator,
        bind=alt.binding_select(options=offered, name="Compare the cluster with: "),
    )
    x = alt.X("month:T", title=None, scale=alt.Scale(type="utc"),
              axis=alt.Axis(format=MONTH_FORMAT, labelAngle=0, tickCount="month"))
    y = alt.Y("value:Q", title=ind.unit, scale=alt.Scale(zero=False))
    tooltip = [alt.Tooltip("month:T", title="Month", format=MONTH_FORMAT),
               alt.Tooltip("series:N", title="Series"),
               alt.Tooltip("value:Q", title=f"Value ({ind.unit})", format=",.3~g")]
    shown = f"datum.role == 'cluster' || datum.series == {COMPARATOR}"
    main = (
        alt.Chart(data)
        .transform_filter(shown)
        .mark_line(point=True)
        .encode(
            x=x, y=y, detail=alt.Detail("series:N"), tooltip=tooltip,
            color=when(alt.ColorValue, "datum.role == 'cluster'", CLUSTER_LINE, COMPARATOR_LINE),
            strokeDash=when(alt.StrokeDashValue, "datum.role == 'cluster'", [1, 0], [6, 4]),
            strokeWidth=when(alt.StrokeWidthValue, "datum.role == 'cluster'", 3, 2),
        )
    )
    labels = (
        alt.Chart(data)
        .transform_filter(f"({shown}) && utcFormat(datum.month, '%Y-%m') == '{last_month}'")
        .mark_text(align="left", dx=8, fontWeight="bold")
        .encode(x=x, y=y, text=alt.Text("series:N"),
                color=when(alt.ColorValue, "datum.role == 'cluster'", CLUSTER_LINE, COMPARATOR_LINE))
    )
    layers = [main, labels]
    practice_names = sorted(data.loc[data["role"] == "practice", "series"].unique())
    if practice_names:
        highlight = alt.selection_point(name=PRACTICE_HIGHLIGHT, fields=["series"],
                                        bind="legend", on="click", clear="dblclick")
        layers.insert(0, (
            alt.Chart(data)
            .transform_filter("datum.role == 'practice'")
            .mark_line(point=alt.OverlayMarkDef(size=20), strokeWidth=1.5)
            .encode(
                x=x, y=y, tooltip=tooltip,
                color=alt.Color("series:N", title="Member practices (click to highlight)",
                                scale=alt.Scale(domain=practice_names, range=CATEGORICAL)),
                opacity=when(alt.OpacityValue, highlight, PRACTICE_OPACITY, DIMMED_OPACITY),
            )
            .add_params(highlight)
            .properties(name=PRACTICES_VIEW)
        ))
    subtitle = [
        f"{name} each month (black, solid) against the comparator chosen below (grey, dashed),",
        "which excludes the cluster itself."
        + (" Thin lines are the member practices: click one in the legend to highlight it."
           if practice_names else ""),
    ]
    return layer(*layers, params=(choose,),
                 title=alt.Title(f"{ind.title}, {inputs.months_label(data['month'])}",
                                 subtitle=subtitle))


def describe_comparison(
    table: pd.DataFrame,
    indicator: Any,
    cluster_id: str,
    audience: str = "cluster",
    *,
    practices: bool = True,
    comparator: str = DEFAULT_COMPARATOR,
) -> str:
    """One sentence, from the numbers, saying what the comparison chart shows.

    Example: "Dundee 4's latest value, 1.77 items per 1,000 patients per day in Sep 2026,
    compares with 1.10 for the rest of its HSCP, 1.05 for the rest of its board and 1.00 for
    the rest of Scotland; it was above the rest of Scotland in 24 of 24 months."
    """
    inputs.check_audience(table, audience)
    ind = inputs.resolve_indicator(indicator)
    data = comparison_data(table, ind, cluster_id, practices)
    name = data.attrs["cluster_name"]
    wide = data[data["role"] != "practice"].pivot(index="month", columns="series",
                                                  values="value")
    own = wide[name].dropna()
    if own.empty:
        return f"{name}: every month is suppressed to protect confidentiality."
    month = own.index[-1]
    others = [f"{inputs.format_value(wide.at[month, label])} for {phrase}"
              for label, phrase in COMPARATOR_PHRASES.items()
              if label in wide.columns and pd.notna(wide.at[month, label])]
    text = (f"{name}'s latest value, {inputs.format_value(own.iloc[-1])} {ind.unit} in "
            f"{inputs.period_label(month)}")
    if others:
        text += ", compares with " + (", ".join(others[:-1]) + " and " + others[-1]
                                      if len(others) > 1 else others[0])
    if comparator not in wide.columns:
        return text + "."
    both = wide[[name, comparator]].dropna()
    if len(both):
        above = int((both[name] > both[comparator]).sum())
        text += (f"; it was above {COMPARATOR_PHRASES[comparator]} in {above} of {len(both)} "
                 "months")
    n_practices = data.loc[data["role"] == "practice", "series"].nunique()
    if n_practices:
        text += f", and {n_practices} member practices are shown"
    return text + "."
