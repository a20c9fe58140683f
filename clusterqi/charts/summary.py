"""At-a-glance spine chart: where the cluster sits among Scotland's clusters, every indicator.

The idea of Public Health England's Fingertips spine chart: for each indicator a light bar
spans Scotland's lowest to highest cluster value, a darker bar the 25th to 75th percentile, a
vertical line marks the Scotland value (the centre), and the cluster's marker is coloured and
shaped by its comparison with the rest of Scotland (the table's ``vs_rest_of_scotland``).

Orientation: each indicator is scaled so that the Scotland value sits in the middle and the
furthest cluster at the edge, then flipped by ``low_is_good`` so "better" is always to the
right (indicators with no judgement put higher to the right, coloured higher / lower).

Indicators are grouped by theme (antimicrobials, pain, ...: the catalogue's ``theme`` and its
order, :data:`clusterqi.indicators.catalogue.THEMES`), one row of the chart per theme, indicators in
catalogue order within it.

The percentiles are descriptive (pandas' linear interpolation over the clusters' values in the
releasable table, suppressed values left out); no limits are computed here.

Example usage::

    from clusterqi.charts import summary_chart
    summary_chart(releasable, load_catalogue(), "dundee-4")
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import altair as alt
import pandas as pd

from clusterqi import vocabulary
from clusterqi.charts import inputs
from clusterqi.charts.theme import (
    CATEGORY_COLOURS,
    INTERQUARTILE_FILL,
    LIMIT_LINE,
    MARKER_OUTLINE,
    RANGE_FILL,
    category_scale,
    layer,
    shape_scale,
)

__all__ = ["QUARTILES", "OTHER_THEME", "summary_chart", "summary_data", "describe_summary",
           "theme_order"]

QUARTILES = (0.25, 0.75)
ROW_STEP = 34
SPINE_WIDTH = 420
MARKER_SIZE = 120
EDGE = 1.05  # the axis runs a little past the furthest cluster
#: Theme of a definition without one (e.g. a local measure).
OTHER_THEME = "other"


def theme_order(catalogue: Mapping[str, Any]) -> list[str]:
    """The themes of ``catalogue``'s indicators, in the catalogue's theme order, then any others.

    Example usage::

        theme_order(load_catalogue())   # ["antimicrobials", "pain", ...]
    """
    from clusterqi.indicators.catalogue import THEMES

    present = [getattr(d, "theme", None) or OTHER_THEME for d in catalogue.values()]
    known = [t for t in THEMES if t in present]
    return known + [t for t in dict.fromkeys(present) if t not in known]


@inputs.prepared_once
def summary_data(
    table: pd.DataFrame,
    catalogue: Mapping[str, Any],
    cluster_id: str,
    period: str | None = None,
) -> pd.DataFrame:
    """One row per indicator the table holds for the cluster (the chart's embedded data).

    Columns: indicator (title), unit, value, scotland, lowest, q25, q75, highest (in the
    indicator's units, for tooltips and the data table), the same scaled for drawing
    (p_value, p_lowest, p_q25, p_q75, p_highest: -1..1 with better to the right), category,
    note (interpretation), theme and order (theme order, then catalogue order).
    """
    records = []
    themes = theme_order(catalogue)
    for order, (indicator_id, definition) in enumerate(catalogue.items()):
        ind = inputs.resolve_indicator(definition)
        clusters = inputs.select_rows(table, indicator_id, "cluster", "total", period, columns=[
            "area_id", "area_name", "period", "value", "scotland_value", "interpretation",
            vocabulary.headline().verdict_column, inputs.QUALITY_FLAG_COLUMN])
        own = clusters[clusters["area_id"] == cluster_id]
        if own.empty:
            continue
        row = own.iloc[0]
        values = pd.to_numeric(clusters["value"], errors="coerce").dropna()
        scot = float(row["scotland_value"])
        lowest, highest = float(values.min()), float(values.max())
        q25, q75 = (float(q) for q in values.quantile(list(QUARTILES)))
        reach = max(abs(highest - scot), abs(scot - lowest)) * EDGE or 1.0
        sign = -1.0 if ind.low_is_good is True else 1.0
        category = inputs.comparison_category(own, vocabulary.headline().verdict_column).iloc[0]
        records.append({
            "indicator": ind.title, "unit": ind.unit, "value": row["value"], "scotland": scot,
            "lowest": lowest, "q25": q25, "q75": q75, "highest": highest,
            **{f"p_{k}": sign * (v - scot) / reach
               for k, v in [("value", row["value"]), ("lowest", lowest), ("q25", q25),
                            ("q75", q75), ("highest", highest)]},
            "category": category,
            "note": str(row["interpretation"]) if pd.notna(row.get("interpretation")) else "",
            "theme": getattr(definition, "theme", None) or OTHER_THEME,
            "order": order,
            "period": row["period"],
            "cluster": str(row["area_name"]),
        })
    if not records:
        raise ValueError(f"no cluster total rows for cluster {cluster_id!r} for any indicator "
                         "in the catalogue")
    data = pd.DataFrame(records)
    data["order"] = data["theme"].map(themes.index) * len(catalogue) + data["order"]
    data = data.sort_values("order", ignore_index=True)
    data.attrs["period"] = data["period"].iloc[0]
    data.attrs["cluster"] = data["cluster"].iloc[0]
    numbers = ["value", "scotland", "lowest", "q25", "q75", "highest",
               "p_value", "p_lowest", "p_q25", "p_q75", "p_highest"]
    data[numbers] = data[numbers].apply(inputs.compact)
    return data.drop(columns=["period", "cluster"])


def summary_chart(
    table: pd.DataFrame,
    catalogue: Mapping[str, Any],
    cluster_id: str,
    period: str | None = None,
    audience: str = "cluster",
) -> alt.FacetChart:
    """The at-a-glance spine chart of every catalogue indicator for one cluster, by theme.

    Constraints: ``table`` must be releasable unless ``audience="analyst"``; ``catalogue`` is
    ``load_catalogue()`` (or any mapping of id to definition) and sets the rows' order;
    indicators the table lacks for the cluster are left out.

    Example usage::

        summary_chart(releasable, load_catalogue(), "dundee-4")
    """
    inputs.check_audience(table, audience)
    data = summary_data(table, catalogue, cluster_id, period)
    period_text = inputs.period_label(data.attrs["period"])
    y = alt.Y("indicator:N", title=None, sort=alt.SortField("order"),
              axis=alt.Axis(labelLimit=320, labelFontSize=12))
    x_axis = alt.Axis(values=[-1, 0, 1], labelExpr="datum.value < 0 ? '\u2190 worse' : "
                      "datum.value > 0 ? 'better \u2192' : 'Scotland'", grid=False)
    x_scale = alt.Scale(domain=[-1, 1])
    base = alt.Chart().encode(y=y)
    tooltip = [
        alt.Tooltip("indicator:N", title="Indicator"),
        alt.Tooltip("value:Q", title=data.attrs["cluster"], format=",.3~g"),
        alt.Tooltip("unit:N", title="Unit"),
        alt.Tooltip("scotland:Q", title="Scotland", format=",.3~g"),
        alt.Tooltip("lowest:Q", title="Lowest cluster", format=",.3~g"),
        alt.Tooltip("q25:Q", title="25th percentile", format=",.3~g"),
        alt.Tooltip("q75:Q", title="75th percentile", format=",.3~g"),
        alt.Tooltip("highest:Q", title="Highest cluster", format=",.3~g"),
        alt.Tooltip("category:N", title="Compared with the rest of Scotland"),
        alt.Tooltip("note:N", title="Interpretation"),
    ]
    spread = base.mark_bar(color=RANGE_FILL, size=16).encode(
        x=alt.X("p_lowest:Q", title="Scotland's clusters: lowest to highest (dark: middle "
                                    "half)", scale=x_scale, axis=x_axis),
        x2=alt.X2("p_highest:Q"), tooltip=tooltip)
    middle = base.mark_bar(color=INTERQUARTILE_FILL, size=16).encode(
        x=alt.X("p_q25:Q", scale=x_scale), x2=alt.X2("p_q75:Q"), tooltip=tooltip)
    centre = alt.Chart().mark_rule(color=LIMIT_LINE, strokeWidth=2).encode(x=alt.XDatum(0))
    categories = [c for c in CATEGORY_COLOURS if c in set(data["category"])]
    marker = base.transform_filter("isValid(datum.p_value)").mark_point(
        filled=True, size=MARKER_SIZE, stroke=MARKER_OUTLINE, strokeWidth=1, opacity=1,
    ).encode(
        x=alt.X("p_value:Q", scale=x_scale),
        color=alt.Color("category:N", title="Compared with the rest of Scotland",
                        scale=category_scale(categories)),
        shape=alt.Shape("category:N", title="Compared with the rest of Scotland",
                        scale=shape_scale(categories)),
        tooltip=tooltip,
    )
    spines = layer(spread, middle, centre, marker, width=SPINE_WIDTH, height=alt.Step(ROW_STEP))
    themes = [t for t in theme_order(catalogue) if t in set(data["theme"])]
    return alt.FacetChart(
        data=data, spec=spines, spacing=4,
        facet=alt.Facet("theme:N", sort=themes, title=None,
                        header=alt.Header(labelAngle=0, labelOrient="top", labelAnchor="start",
                                          labelFontWeight="bold", labelFontSize=13,
                                          labelExpr="upper(slice(datum.value, 0, 1)) + "
                                                    "slice(datum.value, 1)")),
        columns=1, resolve=alt.Resolve(scale=alt.ScaleResolveMap(y="independent")),
        title=alt.Title(
            f"{data.attrs['cluster']} at a glance, {period_text}",
            subtitle=["Each row is an indicator. The bar spans Scotland's clusters (dark: the "
                      "middle half); the line is Scotland.",
                      "Better is always to the right; indicators with no better or worse put "
                      "higher to the right."],
        ),
    )


def describe_summary(
    table: pd.DataFrame,
    catalogue: Mapping[str, Any],
    cluster_id: str,
    period: str | None = None,
    audience: str = "cluster",
) -> str:
    """One sentence, from the numbers, saying what the at-a-glance chart shows.

    Example: "Dundee 4, 12 months to Sep 2026: of 8 indicators against the rest of Scotland,
    1 better, 5 similar and 2 worse (worse: Antibacterial items per 1,000 patients per day)."
    """
    inputs.check_audience(table, audience)
    data = summary_data(table, catalogue, cluster_id, period)
    counts = data["category"].value_counts()
    parts = [f"{int(counts[c])} {c}" for c in CATEGORY_COLOURS if c in counts]
    listed = ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]
    text = (f"{data.attrs['cluster']}, {inputs.period_label(data.attrs['period'])}: of "
            f"{len(data)} indicator{'s' if len(data) != 1 else ''} against the rest of "
            f"Scotland, {listed}")
    worse = data.loc[data["category"] == "worse", "indicator"].tolist()
    if worse:
        text += f" (worse: {'; '.join(worse)})"
    return text + "."
