"""The small trend chart: one indicator's monthly series for the report's grid of small multiples.

Each indicator's card in the report shows this chart first (the funnel, the comparator trend,
the SPC chart and the practices open on demand). It draws, for the cluster's month rows:

- the control limits as a light band (where the series has limits), so a point outside them
  stands out;
- the rest of Scotland month by month (dashed grey), so the reader sees the national pattern;
- the cluster's value (black line and points); a month outside the limits or part of a
  sustained signal is coloured by the SPC flag (improvement / concern / neutral) and shaped too;
- months hidden by disclosure control: a "c" at the foot of the chart, whose tooltip says
  "hidden: fewer than 5 items".

The chart fills its container's width (Vega-Lite ``width: "container"``), so it never scrolls
sideways on a phone, and carries its sentence as the spec's ``description`` (the SVG's
accessible name).

Example usage::

    from clusterqi.charts.small import small_trend_chart, describe_small_trend
    chart = small_trend_chart(releasable, ind, "dundee-4")
"""

from __future__ import annotations

from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from clusterqi import vocabulary
from clusterqi.charts import inputs
from clusterqi.charts.theme import (
    CLUSTER_LINE,
    COMPARATOR_LINE,
    MARKER_OUTLINE,
    RANGE_FILL,
    SIGNAL_COLOURS,
    SIGNAL_SHAPES,
    layer,
)

__all__ = ["SMALL_HEIGHT", "small_trend_data", "small_trend_chart", "describe_small_trend"]

SMALL_HEIGHT = 120
MONTH_FORMAT = "%b %Y"
SIGNAL_WORDS = {"improvement": "special cause: improvement", "concern": "special cause: concern",
                "neutral": "special cause"}


@inputs.prepared_once
def small_trend_data(table: pd.DataFrame, indicator: Any, cluster_id: str,
                     threshold: int = 5) -> pd.DataFrame:
    """One row per month: month, value, scotland, lcl, ucl, signal (words or missing), hidden."""
    ind = inputs.resolve_indicator(indicator)
    rows = inputs.select_rows(table, ind.id, "cluster", "month", area_id=cluster_id, columns=[
        "period", "area_name", "value", "lcl", "ucl", vocabulary.headline().value_column,
        "spc_signal", "spc_flag", "qualifier"])
    if rows.empty:
        raise ValueError(f"no month rows for indicator {ind.id!r} for cluster {cluster_id!r}")
    for column in ("lcl", "ucl", vocabulary.headline().value_column):
        if column not in rows:
            rows[column] = np.nan
    signal = (rows["spc_signal"].astype("boolean").fillna(False).astype(bool)
              if "spc_signal" in rows else pd.Series(False, index=rows.index))
    flag = rows["spc_flag"].astype(object) if "spc_flag" in rows else pd.Series(None, index=rows.index)
    flag = flag.where(flag.notna(), "neutral")
    qualifier = rows["qualifier"].astype("string").fillna("") if "qualifier" in rows else ""
    hidden = pd.Series(qualifier == "c", index=rows.index) if "qualifier" in rows else rows["value"].isna()
    data = pd.DataFrame({
        "month": rows["period"].astype(str),
        "value": inputs.compact(rows["value"]),
        "scotland": inputs.compact(rows[vocabulary.headline().value_column]),
        "lcl": inputs.compact(rows["lcl"]),
        "ucl": inputs.compact(rows["ucl"]),
        "signal": pd.Series(np.where(signal, flag.map(SIGNAL_WORDS), None), index=rows.index,
                            dtype="str"),
        "hidden": pd.Series(np.where(hidden, f"hidden: fewer than {threshold} items", None),
                            index=rows.index, dtype="str"),
    })
    data.attrs["unit"] = str(rows["area_name"].iloc[0])
    return data


def describe_small_trend(table: pd.DataFrame, indicator: Any, cluster_id: str,
                         audience: str = "cluster", threshold: int = 5) -> str:
    """One sentence saying what the small trend chart shows, from its numbers.

    Example: "Dundee 4 month by month, Oct 2024 to Sep 2026: latest 1.56 against 1.67 for the
    rest of Scotland; no month outside the control limits."
    """
    inputs.check_audience(table, audience)
    ind = inputs.resolve_indicator(indicator)
    data = small_trend_data(table, ind, cluster_id, threshold)
    shown = data[data["value"].notna()]
    text = f"{data.attrs['unit']} month by month, {inputs.months_label(data['month'])}"
    if len(shown):
        last = shown.iloc[-1]
        text += f": {inputs._month_text(last['month'])} {inputs.format_value(last['value'])} {ind.unit}"
        if pd.notna(last["scotland"]):
            text += f" against {inputs.format_value(last['scotland'])} for the rest of Scotland"
    signals = data["signal"].notna().sum()
    if data["ucl"].notna().any():
        text += ("; no month is a special cause" if signals == 0 else
                 f"; {signals} month{'s' if signals != 1 else ''} marked as special cause "
                 "(outside the control limits or part of a run)")
    hidden = data["hidden"].notna().sum()
    if hidden:
        text += (f"; {hidden} month{'s' if hidden != 1 else ''} hidden (fewer than {threshold} "
                 "items)")
    return text + "."


def small_trend_chart(table: pd.DataFrame, indicator: Any, cluster_id: str,
                      audience: str = "cluster", threshold: int = 5) -> alt.LayerChart:
    """The small trend chart of one indicator for the cluster (fills its container's width).

    Example usage::

        small_trend_chart(releasable, catalogue["antibacterial_items"], "dundee-4")
    """
    inputs.check_audience(table, audience)
    ind = inputs.resolve_indicator(indicator)
    data = small_trend_data(table, ind, cluster_id, threshold)
    x = alt.X("month:T", title=None, scale=alt.Scale(type="utc"),
              axis=alt.Axis(format="%b %y", tickCount=4, labelFontSize=11, grid=False))
    y_scale = alt.Scale(zero=False)
    y_axis = alt.Axis(tickCount=3, labelFontSize=11, title=None)
    tooltip = [alt.Tooltip("month:T", title="Month", format=MONTH_FORMAT),
               alt.Tooltip("value:Q", title=f"{data.attrs['unit']} ({ind.unit})", format=",.3~g"),
               alt.Tooltip("scotland:Q", title="Rest of Scotland", format=",.3~g")]
    base = alt.Chart().encode(x=x)
    layers = []
    if data["ucl"].notna().any():
        layers.append(base.mark_area(color=RANGE_FILL, opacity=0.8).encode(
            y=alt.Y("lcl:Q", scale=y_scale, axis=y_axis), y2="ucl:Q"))
    layers.append(base.mark_line(color=COMPARATOR_LINE, strokeDash=[4, 3], strokeWidth=1.5)
                  .encode(y=alt.Y("scotland:Q", scale=y_scale, axis=y_axis)))
    layers.append(base.mark_line(color=CLUSTER_LINE, strokeWidth=2, point=alt.OverlayMarkDef(
        filled=True, size=18, color=CLUSTER_LINE)).encode(
        y=alt.Y("value:Q", scale=y_scale, axis=y_axis), tooltip=tooltip))
    present = [w for w in SIGNAL_WORDS.values() if w in set(data["signal"].dropna())]
    if present:
        keys = {v: k for k, v in SIGNAL_WORDS.items()}
        layers.append(base.transform_filter("isValid(datum.signal)").mark_point(
            filled=True, size=70, stroke=MARKER_OUTLINE, strokeWidth=1, opacity=1).encode(
            y=alt.Y("value:Q", scale=y_scale, axis=y_axis),
            color=alt.Color("signal:N", legend=None, scale=alt.Scale(
                domain=present, range=[SIGNAL_COLOURS[keys[w]] for w in present])),
            shape=alt.Shape("signal:N", legend=None, scale=alt.Scale(
                domain=present, range=[SIGNAL_SHAPES[keys[w]] for w in present])),
            tooltip=[*tooltip, alt.Tooltip("signal:N", title="SPC")]))
    if data["hidden"].notna().any():
        layers.append(base.transform_filter("isValid(datum.hidden)").mark_text(
            text="c", fontWeight="bold", dy=-4, color=COMPARATOR_LINE).encode(
            y=alt.YValue("height"),
            tooltip=[alt.Tooltip("month:T", title="Month", format=MONTH_FORMAT),
                     alt.Tooltip("hidden:N", title="Value")]))
    return layer(*layers, data=data, width="container", height=SMALL_HEIGHT,
                 description=describe_small_trend(table, ind, cluster_id, audience, threshold))
