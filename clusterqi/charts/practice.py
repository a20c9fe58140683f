"""Practice chart: the cluster's member practices with their 95% intervals.

One row per practice, in the order of their (pseudonymised) names, never by value, so the
chart cannot read as a league table. Each practice's marker is coloured and shaped by its
comparison with the rest of Scotland (``vs_rest_of_scotland``; withheld as "data quality: see
note" where flagged); the bar is the 95% interval; vertical lines mark the cluster's value
(solid) and Scotland's (dashed). A suppressed practice keeps its row, labelled "suppressed".

Example usage::

    from clusterqi.charts import practice_chart
    practice_chart(releasable, ind, "dundee-4")
"""

from __future__ import annotations

import math
from typing import Any

import altair as alt
import pandas as pd

from clusterqi import vocabulary
from clusterqi.charts import inputs
from clusterqi.charts.theme import (
    CATEGORY_COLOURS,
    CLUSTER_LINE,
    COMPARATOR_LINE,
    MARKER_OUTLINE,
    category_scale,
    layer,
    shape_scale,
)

__all__ = ["practice_chart", "practice_data", "describe_practices"]

ROW_STEP = 30
MARKER_SIZE = 110
PRACTICES_VIEW = "practice_points"


@inputs.prepared_once
def practice_data(
    table: pd.DataFrame,
    indicator: Any,
    cluster_id: str,
    period: str | None = None,
) -> pd.DataFrame:
    """The cluster's practices as a practice chart draws them (its embedded data).

    Columns: practice (name as the table gives it), value, lower, upper (95%), interval
    (text), category and note (interpretation). ``attrs`` hold the period, the cluster's name
    and value, and the Scotland value.
    """
    ind = inputs.resolve_indicator(indicator)
    verdict = vocabulary.headline().verdict_column
    rows = inputs.select_rows(table, ind.id, "practice", "total", period, cluster_id=cluster_id,
                              columns=["period", "area_name", "value", "lower_95", "upper_95",
                                       "interpretation", verdict, inputs.QUALITY_FLAG_COLUMN])
    own = inputs.select_rows(table, ind.id, "cluster", "total", period, area_id=cluster_id,
                             columns=["period", "area_name", "value", "scotland_value"])
    if own.empty:
        raise ValueError(f"no cluster total row for indicator {ind.id!r} and cluster "
                         f"{cluster_id!r}")
    rows = rows[rows["period"] == own["period"].iloc[0]].sort_values("area_name", kind="stable")
    data = pd.DataFrame({
        "practice": rows["area_name"].astype(str),
        "value": inputs.compact(rows["value"]),
        "lower": inputs.compact(rows["lower_95"]),
        "upper": inputs.compact(rows["upper_95"]),
        "interval": [inputs.format_interval(lo, hi)
                     for lo, hi in zip(rows["lower_95"], rows["upper_95"])],
        "category": inputs.comparison_category(rows, verdict),
        "note": rows["interpretation"].fillna("").astype(str)
        if "interpretation" in rows else "",
    }).reset_index(drop=True)
    data.attrs["period"] = own["period"].iloc[0]
    data.attrs["cluster"] = str(own["area_name"].iloc[0])
    data.attrs["cluster_value"] = float(own["value"].iloc[0])
    data.attrs["scotland"] = float(own["scotland_value"].iloc[0])
    return data


def practice_chart(
    table: pd.DataFrame,
    indicator: Any,
    cluster_id: str,
    period: str | None = None,
    audience: str = "cluster",
) -> alt.LayerChart:
    """The cluster's practices with their 95% intervals, against the cluster and Scotland.

    Constraints: ``table`` must be releasable unless ``audience="analyst"`` (so practices are
    pseudonymised for audience "cluster"); a cluster whose practice rows were withheld (fewer
    than 3 practices) raises ``ValueError`` saying so.

    Example usage::

        practice_chart(releasable, ind, "dundee-4")
    """
    inputs.check_audience(table, audience)
    ind = inputs.resolve_indicator(indicator)
    data = practice_data(table, ind, cluster_id, period)
    if data.empty:
        raise ValueError(f"the table holds no practice rows for cluster {cluster_id!r} "
                         f"(indicator {ind.id!r}): practice figures may have been withheld by "
                         "disclosure control")
    y = alt.Y("practice:N", title=None, sort=alt.SortField("practice"),
              axis=alt.Axis(labelLimit=260))
    x_title = ind.unit
    base = alt.Chart(data).encode(y=y)
    tooltip = [
        alt.Tooltip("practice:N", title="Practice"),
        alt.Tooltip("value:Q", title=f"Value ({ind.unit})", format=",.3~g"),
        alt.Tooltip("interval:N", title="95% interval"),
        alt.Tooltip("category:N", title="Compared with the rest of Scotland"),
        alt.Tooltip("note:N", title="Interpretation"),
    ]
    bars = base.mark_rule(color=MARKER_OUTLINE, strokeWidth=2).encode(
        x=alt.X("lower:Q", title=x_title, scale=alt.Scale(zero=False)), x2=alt.X2("upper:Q"),
        tooltip=tooltip)
    categories = [c for c in CATEGORY_COLOURS if c in set(data["category"])]
    points = base.transform_filter("isValid(datum.value)").mark_point(
        filled=True, size=MARKER_SIZE, stroke=MARKER_OUTLINE, strokeWidth=1, opacity=1,
    ).encode(
        x=alt.X("value:Q"),
        color=alt.Color("category:N", title="Compared with the rest of Scotland",
                        scale=category_scale(categories)),
        shape=alt.Shape("category:N", title="Compared with the rest of Scotland",
                        scale=shape_scale(categories)),
        tooltip=tooltip,
    ).properties(name=PRACTICES_VIEW)
    suppressed = base.transform_filter("!isValid(datum.value)").mark_text(
        align="left", x=4, fontStyle="italic", color=COMPARATOR_LINE,
    ).encode(text=alt.TextValue("suppressed"))
    # reference lines only for values that are shown (a suppressed cluster total has none)
    rules = []
    if math.isfinite(data.attrs["scotland"]):
        rules.append(alt.Chart().mark_rule(color=COMPARATOR_LINE, strokeDash=[6, 4],
                                           strokeWidth=2).encode(x=alt.XDatum(data.attrs["scotland"])))
    if math.isfinite(data.attrs["cluster_value"]):
        rules.append(alt.Chart().mark_rule(color=CLUSTER_LINE, strokeWidth=2).encode(
            x=alt.XDatum(data.attrs["cluster_value"])))
    return layer(*rules, bars, points, suppressed,
        height=alt.Step(ROW_STEP),
        title=alt.Title(
            f"{ind.title}, {inputs.period_label(data.attrs['period'])}",
            subtitle=[f"{data.attrs['cluster']}'s member practices with 95% intervals. Solid "
                      f"line: the cluster ({inputs.format_value(data.attrs['cluster_value'])}); "
                      f"dashed: Scotland ({inputs.format_value(data.attrs['scotland'])})."],
        ),
    )


def describe_practices(
    table: pd.DataFrame,
    indicator: Any,
    cluster_id: str,
    period: str | None = None,
    audience: str = "cluster",
) -> str:
    """One sentence, from the numbers, saying what the practice chart shows.

    Example: "Dundee 4's 4 member practices, 12 months to Sep 2026, against the rest of
    Scotland: 1 better, 2 similar and 1 worse; values from 1.12 to 1.93 against 1.40 for the cluster
    and 1.00 for Scotland."
    """
    inputs.check_audience(table, audience)
    ind = inputs.resolve_indicator(indicator)
    data = practice_data(table, ind, cluster_id, period)
    head = (f"{data.attrs['cluster']}'s {len(data)} member practice"
            f"{'s' if len(data) != 1 else ''}, {inputs.period_label(data.attrs['period'])}")
    if data.empty:
        return f"{head}: practice figures are not shown for this cluster."
    counts = data["category"].value_counts()
    parts = [f"{int(counts[c])} {c}" for c in CATEGORY_COLOURS if c in counts]
    listed = ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]
    text = f"{head}, against the rest of Scotland: {listed}"
    values = data["value"].dropna()
    if len(values):
        text += (f"; values from {inputs.format_value(values.min())} to "
                 f"{inputs.format_value(values.max())} {ind.unit} against "
                 f"{inputs.format_value(data.attrs['cluster_value'])} for the cluster and "
                 f"{inputs.format_value(data.attrs['scotland'])} for Scotland")
    return text + "."
