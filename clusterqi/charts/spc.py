"""SPC chart: one unit's monthly series with its centre line, limits and special causes.

The centre line, limits and signals are computed by :mod:`clusterqi.stats` (p and u charts;
XmR per NHS England's "Making Data Count" and NHSRplotthedots; run charts with Anhøj's rules,
Anhøj J, Olesen AV, *Run charts revisited*, PLoS One 2014) and carried by the indicator table's
SPC columns (``spc_chart, cl, lcl, ucl, spc_signal, spc_flag, spc_rule, run_signal``). This
module only draws them: special-cause months are marked by colour *and* shape (improvement,
concern, neutral) with the rule that fired in the tooltip; the rule set is named in the
subtitle; PDSA cycles (date and change) are drawn as labelled vertical lines.

A series without limits (``ucl`` all missing, e.g. a series too short for limits) is drawn as
a run chart around its median (the ``cl`` column). A series in phases (``spc_phase``: a
baseline and the new levels after changes that held) draws each phase's centre line and limits
as a separate segment, and :func:`describe_spc` says whether each PDSA change held. The
subtitle carries the chart kind's plain sentence for GPs
(:data:`clusterqi.indicators.series.CHART_EXPLANATIONS`).

Example usage::

    from clusterqi.charts import spc_chart, describe_spc
    spc_chart(releasable, ind, "dundee-4", "cluster")
    spc_chart(local_rows, measure, "dundee-4", "cluster",
              annotations=[{"date": "2026-03-01", "change": "Letters triaged by pharmacist"}])
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from clusterqi.charts import inputs
from clusterqi.charts.theme import (
    CLUSTER_LINE,
    COMPARATOR_LINE,
    LIMIT_LINE,
    MARKER_OUTLINE,
    SIGNAL_COLOURS,
    SIGNAL_SHAPES,
    category_scale,
    layer,
    shape_scale,
)
from clusterqi.indicators.series import CHART_EXPLANATIONS
from clusterqi.stats.spc import RULE_NAMES, SHIFT_LENGTH

__all__ = [
    "CHART_TYPES",
    "SPC_RULES",
    "RUN_CHART_RULES",
    "spc_chart",
    "spc_data",
    "describe_spc",
    "annotation_frame",
    "SUBTITLE_LINE_CHARACTERS",
]

CHART_TYPES = {
    "p_prime": ("Laney p' chart (a share each month, limits widened by the usual variation "
                "between months)"),
    "u_prime": ("Laney u' chart (a rate each month, limits widened by the usual variation "
                "between months)"),
    "ratio_prime": ("ratio-to-Scotland Laney chart (each month against Scotland's rate that "
                    "month, limits widened by the usual variation between months)"),
    "ratio_xmr": ("ratio-to-Scotland XmR chart (each month against Scotland's rate that month, "
                  "limits from the average moving range)"),
    "p": "p chart (a proportion each month, limits at 3 sigma)",
    "u": "u chart (a rate each month, limits at 3 sigma)",
    "xmr": "XmR chart (individual values, limits from the average moving range)",
    "run": "run chart (each month against the median)",
}
# the rules clusterqi.stats applies, in its own words (so the page cannot drift from the maths)
SPC_RULES = "Special causes marked: " + "; ".join(RULE_NAMES.values()) + "."
RUN_CHART_RULES = ("Non-random variation (Anhøj rules): an unusually long run of points on one "
                   "side of the median, or unusually few crossings of it.")
SIGNALS = list(SIGNAL_COLOURS)
MONTH_FORMAT = "%b %Y"
SIGNAL_POINT_SIZE = 110
SERIES_VIEW = "spc_series"

#: Longest subtitle line, in characters, before it wraps (about the chart's width).
SUBTITLE_LINE_CHARACTERS = 110


def _month_axis(title: str | None = None) -> alt.X:
    return alt.X("month:T", title=title, scale=alt.Scale(type="utc"),
                 axis=alt.Axis(format=MONTH_FORMAT, labelAngle=0, tickCount="month"))


def annotation_frame(annotations: Any) -> pd.DataFrame:
    """PDSA annotations as a frame: ``date`` (``"YYYY-MM-DD"``), ``text``, ``label`` ("PDSA 1").

    The chart marks each date with its short label (long texts would overlap) and lists the
    labelled changes in the subtitle and tooltips.

    Accepts a list of mappings with ``date`` and ``change`` (the local-measure YAML's ``pdsa``
    entries) or ``text``, or a DataFrame with those columns. Raises ``ValueError`` naming the
    entry that lacks a date or text.
    """
    if annotations is None:
        return pd.DataFrame({"date": pd.Series(dtype=str), "text": pd.Series(dtype=str),
                             "label": pd.Series(dtype=str)})
    if isinstance(annotations, pd.DataFrame):
        records: Iterable[Mapping] = annotations.to_dict("records")
    else:
        records = [a if isinstance(a, Mapping) else vars(a) for a in annotations]
    dates, texts = [], []
    for k, entry in enumerate(records):
        text = entry.get("text", entry.get("change"))
        if entry.get("date") is None or not text:
            raise ValueError(
                f"annotation {k + 1} ({dict(entry)!r}) needs a date and a text (or change)"
            )
        dates.append(pd.Timestamp(entry["date"]).strftime("%Y-%m-%d"))
        texts.append(str(text))
    order = sorted(range(len(dates)), key=lambda k: dates[k])
    return pd.DataFrame({"date": [dates[k] for k in order], "text": [texts[k] for k in order],
                         "label": [f"PDSA {n + 1}" for n in range(len(dates))]})


@inputs.prepared_once
def spc_data(table: pd.DataFrame, indicator: Any, area_id: str, level: str) -> pd.DataFrame:
    """The month series an SPC chart draws (its embedded data), one row per month.

    Columns: month (``"YYYY-MM"``), phase (0, 1, ...), value, cl, lcl, ucl, signal
    (improvement / concern / neutral, or missing) and rule (why the month is a special cause).
    ``attrs`` hold the chart type (``spc_chart``'s kind, or run), the unit's name and whether
    the run-chart rules signal.
    """
    ind = inputs.resolve_indicator(indicator)
    rows = inputs.select_rows(table, ind.id, level, "month", area_id=area_id, columns=[
        "period", "area_name", "value", "cl", "lcl", "ucl", "spc_flag", "spc_signal", "spc_rule",
        "spc_phase", "spc_chart", "run_signal"])
    if rows.empty:
        raise ValueError(f"no month rows for indicator {ind.id!r} at level {level!r} for "
                         f"area {area_id!r}")
    for column in ("cl", "lcl", "ucl"):
        if column not in rows:
            rows[column] = float("nan")
    flag = rows["spc_flag"] if "spc_flag" in rows else pd.Series(None, index=rows.index)
    signal = rows["spc_signal"] if "spc_signal" in rows else pd.Series(False, index=rows.index)
    signal = signal.astype("boolean").fillna(False).astype(bool)
    flag = flag.astype(object).where(flag.notna(), "neutral")
    rule = rows["spc_rule"].astype(object) if "spc_rule" in rows else pd.Series(None,
                                                                                 index=rows.index)
    phase = (rows["spc_phase"].astype("Int64").fillna(0).astype(int) if "spc_phase" in rows
             else pd.Series(0, index=rows.index))
    data = pd.DataFrame({
        "month": rows["period"].astype(str),
        "phase": phase,
        "value": inputs.compact(rows["value"]),
        "cl": inputs.compact(rows["cl"]),
        "lcl": inputs.compact(rows["lcl"]),
        "ucl": inputs.compact(rows["ucl"]),
        # "str" dtype: Altair writes its missing values as JSON null (object None -> NaN)
        "signal": pd.Series(np.where(signal, flag, None), index=rows.index, dtype="str"),
        "rule": pd.Series(np.where(signal & rule.notna(), rule, None), index=rows.index,
                          dtype="str"),
    })
    kinds = rows["spc_chart"].dropna() if "spc_chart" in rows else pd.Series(dtype=str)
    has_limits = data["ucl"].notna().any() or data["lcl"].notna().any()
    data.attrs["chart_type"] = (str(kinds.iloc[-1]) if len(kinds) and has_limits else "run")
    data.attrs["unit"] = str(rows["area_name"].iloc[0])
    run = rows["run_signal"].dropna() if "run_signal" in rows else pd.Series(dtype=bool)
    data.attrs["run_signal"] = bool(run.iloc[-1]) if len(run) else None
    return data


def spc_chart(
    table: pd.DataFrame,
    indicator: Any,
    area_id: str,
    level: str,
    annotations: Any = None,
    audience: str = "cluster",
) -> alt.LayerChart:
    """An SPC chart of one unit's monthly series, from the indicator table's SPC columns.

    Constraints: ``table`` must be releasable unless ``audience="analyst"``; ``area_id`` is the
    unit's id at ``level`` (e.g. ``"dundee-4"`` at ``"cluster"``); ``annotations`` are PDSA
    cycles (see :func:`annotation_frame`).

    Example usage::

        spc_chart(releasable, ind, "dundee-4", "cluster",
                  annotations=[{"date": "2026-03", "change": "Pharmacist review"}])
    """
    inputs.check_audience(table, audience)
    ind = inputs.resolve_indicator(indicator)
    data = spc_data(table, ind, area_id, level)
    notes = annotation_frame(annotations)
    chart_type = data.attrs["chart_type"]
    x = _month_axis()
    y_title = ind.unit
    centre = "Centre line (median)" if chart_type == "run" else "Centre line"
    folded = ["cl"] if chart_type == "run" else ["cl", "lcl", "ucl"]
    limit_domain = [centre] if chart_type == "run" else [centre, "Control limits"]
    limits = (
        alt.Chart(data)
        .transform_fold(folded, as_=["line", "line_value"])
        .transform_calculate(line_label=f"datum.line == 'cl' ? '{centre}' : 'Control limits'")
        .mark_line(interpolate="step", color=LIMIT_LINE, strokeWidth=1.2)
        .encode(
            x=x,
            y=alt.Y("line_value:Q", title=y_title),
            # one segment per line and phase: a new phase's limits do not join the old ones
            detail=[alt.Detail("line:N"), alt.Detail("phase:N")],
            strokeDash=alt.StrokeDash(
                "line_label:N", title=None,
                scale=alt.Scale(domain=limit_domain, range=[[1, 0], [5, 3]][:len(limit_domain)]),
            ),
        )
    )
    series = (
        alt.Chart(data)
        .mark_line(color=CLUSTER_LINE, point=alt.OverlayMarkDef(color=CLUSTER_LINE, size=25))
        .encode(
            x=x,
            y=alt.Y("value:Q", title=y_title, scale=alt.Scale(zero=False)),
            tooltip=[
                alt.Tooltip("month:T", title="Month", format=MONTH_FORMAT),
                alt.Tooltip("value:Q", title=f"Value ({ind.unit})", format=",.3~g"),
                alt.Tooltip("cl:Q", title="Centre line", format=",.3~g"),
                alt.Tooltip("ucl:Q", title="Upper limit", format=",.3~g"),
                alt.Tooltip("lcl:Q", title="Lower limit", format=",.3~g"),
            ],
        )
        .properties(name=SERIES_VIEW)
    )
    layers = [limits, series]
    present = [s for s in SIGNALS if s in set(data["signal"].dropna())]
    if present:
        layers.append(
            alt.Chart(data)
            .transform_filter("datum.signal != null")
            .mark_point(filled=True, stroke=MARKER_OUTLINE, strokeWidth=1,
                        size=SIGNAL_POINT_SIZE)
            .encode(
                x=x,
                y=alt.Y("value:Q"),
                color=alt.Color("signal:N", title="Special cause",
                                scale=category_scale(present, SIGNAL_COLOURS)),
                shape=alt.Shape("signal:N", title="Special cause",
                                scale=shape_scale(present, SIGNAL_SHAPES)),
                tooltip=[
                    alt.Tooltip("month:T", title="Month", format=MONTH_FORMAT),
                    alt.Tooltip("value:Q", title=f"Value ({ind.unit})", format=",.3~g"),
                    alt.Tooltip("signal:N", title="Special cause"),
                    alt.Tooltip("rule:N", title="Why"),
                ],
            )
        )
    if not notes.empty:
        note_base = alt.Chart(notes).encode(
            x=alt.X("date:T", scale=alt.Scale(type="utc")))
        layers.append(note_base.mark_rule(color=COMPARATOR_LINE, strokeDash=[2, 2]).encode(
            tooltip=[alt.Tooltip("label:N", title="PDSA cycle"),
                     alt.Tooltip("date:T", title="Date", format="%d %b %Y"),
                     alt.Tooltip("text:N", title="Change")]))
        layers.append(note_base.mark_text(align="left", baseline="top", dx=3, y=2, angle=0,
                                          fontSize=11, color=COMPARATOR_LINE)
                      .encode(text=alt.Text("label:N")))
    rules = RUN_CHART_RULES if chart_type == "run" else SPC_RULES
    period_text = inputs.months_label(data["month"])
    cycles = [f"{label} ({pd.Timestamp(date).strftime('%d %b %Y')}): {text}"
              for label, date, text in zip(notes["label"], notes["date"], notes["text"])]
    # wrapped: a subtitle line longer than the chart is cut off at its right edge
    explanation = (textwrap.wrap(CHART_EXPLANATIONS[chart_type], SUBTITLE_LINE_CHARACTERS)
                   if chart_type in CHART_EXPLANATIONS else [])
    return layer(*layers, title=alt.Title(
        f"{ind.title}, {period_text}",
        subtitle=[f"{data.attrs['unit']}: {CHART_TYPES.get(chart_type, chart_type)}.", rules,
                  *explanation, *cycles],
    ))


def describe_spc(
    table: pd.DataFrame,
    indicator: Any,
    area_id: str,
    level: str,
    annotations: Any = None,
    audience: str = "cluster",
) -> str:
    """One sentence, from the numbers, saying what the SPC chart shows.

    Example: "Dundee 4, Oct 2024 to Sep 2026 (u chart): the latest value, 1.82 in Sep 2026,
    against a centre line of 1.40; 7 months show special-cause variation (7 concern), most
    recently Sep 2026 (point outside the limits)."
    """
    inputs.check_audience(table, audience)
    ind = inputs.resolve_indicator(indicator)
    data = spc_data(table, ind, area_id, level)
    chart_type = data.attrs["chart_type"]
    shown = data[data["value"].notna()]
    head = (f"{data.attrs['unit']}, {inputs.months_label(data['month'])} "
            f"({CHART_TYPES.get(chart_type, chart_type).split(' (')[0]})")
    if shown.empty:
        return f"{head}: every month is suppressed to protect confidentiality."
    last = shown.iloc[-1]
    latest = (f"the latest value, {inputs.format_value(last['value'])} {ind.unit} in "
              f"{inputs.period_label(last['month'])}")
    if pd.notna(last["cl"]):
        latest += f", against a centre line of {inputs.format_value(last['cl'])}"
    signals = data[data["signal"].notna()]
    if signals.empty:
        found = "no month shows special-cause variation"
    else:
        counts = signals["signal"].value_counts()
        parts = ", ".join(f"{int(counts[s])} {s}" for s in SIGNALS if s in counts)
        recent = signals.iloc[-1]
        why = f" ({recent['rule']})" if pd.notna(recent["rule"]) else ""
        found = (f"{len(signals)} month{'s' if len(signals) != 1 else ''} show"
                 f"{'' if len(signals) != 1 else 's'} special-cause variation ({parts}), most "
                 f"recently {inputs.period_label(recent['month'])}{why}")
    if data.attrs["run_signal"] is True:
        found += "; the run-chart rules also signal non-random variation"
    elif data.attrs["run_signal"] is False and chart_type == "run":
        found += "; the run-chart rules find no non-random variation"
    notes = annotation_frame(annotations)
    if not notes.empty:
        found += f"; {len(notes)} PDSA cycle{'s' if len(notes) != 1 else ''} marked"
    held = _phase_story(data, notes, ind.unit) if not notes.empty and chart_type != "run" else ""
    return f"{head}: {latest}; {found}.{held}"


def _phase_story(data: pd.DataFrame, notes: pd.DataFrame, unit: str) -> str:
    """Sentences on whether each PDSA change held (a new phase) or has not yet."""
    shown = data[data["cl"].notna()]
    if shown.empty:
        return ""
    levels = shown.groupby("phase", sort=True).agg(start=("month", "first"), cl=("cl", "mean"))
    months = [pd.Timestamp(d).strftime("%Y-%m") for d in notes["date"]]
    sentences = []
    for phase in levels.index[1:]:
        start = levels.at[phase, "start"]
        before = [k for k, month in enumerate(months) if month <= start]
        if not before:
            continue
        k = before[-1]
        previous = levels["cl"][levels.index < phase].iloc[-1]
        sentences.append(
            f" The change after {notes['label'].iloc[k]} "
            f"({pd.Timestamp(notes['date'].iloc[k]).strftime('%B %Y')}) held: a new level of "
            f"{inputs.format_value(levels.at[phase, 'cl'])} {unit} from "
            f"{inputs.period_label(start)} (was {inputs.format_value(previous)}).")
    if sentences:
        return "".join(sentences)
    first = levels["start"].iloc[0]
    return (f" No change has held yet: no run of {SHIFT_LENGTH} months on one side of the baseline centre "
            f"line ({inputs.format_value(levels['cl'].iloc[0])} {unit}, from "
            f"{inputs.period_label(first)}) since {notes['label'].iloc[0]}.")
