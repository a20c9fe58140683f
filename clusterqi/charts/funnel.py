"""Funnel plot: every unit at one level against its size, with 95% and 99.8% limits.

The limits come from :func:`clusterqi.indicators.funnel_lines` (around the Scotland value,
adjusted for over-dispersion with phi and tau² estimated from all Scottish units at the level;
Spiegelhalter DJ, *Funnel plots for comparing institutional performance*, Stat Med 2005;
the adjustment as FunnelPlotR). The chart only draws them; the ``show_unadjusted`` checkbox
also draws the limits without the adjustment. Each unit's marker colour and shape come from
its ``funnel_998`` flag (outside the 99.8% limits: better / worse, or higher / lower when the
indicator makes no judgement); a data-quality flag withholds the colouring.

Interactivity (names fixed by docs/architecture.md): ``show_unadjusted`` (checkbox) and
``unit_highlight`` (click a point to highlight that unit; double-click clears).

Example usage::

    from clusterqi.charts import funnel_chart, describe_funnel
    chart = funnel_chart(releasable, ind, "cluster", highlight="dundee-4")
    sentence = describe_funnel(releasable, ind, "cluster", highlight="dundee-4")
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from clusterqi.charts import inputs
from clusterqi.charts.theme import (
    CATEGORY_COLOURS,
    LIMIT_LINE,
    MARKER_OUTLINE,
    SHAPES,
    TARGET_LINE,
    category_scale,
    layer,
    shape_scale,
    when,
)

__all__ = [
    "SHOW_UNADJUSTED",
    "UNIT_HIGHLIGHT",
    "LIMIT_COLUMNS",
    "LINE_KEYS",
    "FUNNEL_POINTS",
    "funnel_chart",
    "funnel_data",
    "size_axis",
    "band_per",
    "describe_funnel",
]

SHOW_UNADJUSTED = "show_unadjusted"
UNIT_HIGHLIGHT = "unit_highlight"
FUNNEL_POINTS = 50  # points along each limit line: smooth enough, small enough to embed
LIMIT_COLUMNS = [
    "lower_95", "upper_95", "lower_998", "upper_998",
    "lower_95_unadjusted", "upper_95_unadjusted", "lower_998_unadjusted", "upper_998_unadjusted",
]
# short keys for the embedded limit lines (8 columns x 50 points in every funnel chart):
# l/u = lower/upper, 95/998 = the limit, a trailing "u" = without the over-dispersion adjustment
LINE_KEYS = {c: c[0] + c.split("_")[1] + ("u" if c.endswith("unadjusted") else "")
             for c in LIMIT_COLUMNS}
FUNNEL_FLAG = "funnel_998"
HIGHLIGHT_SIZE = 220
POINT_SIZE = 70
DIMMED_OPACITY = 0.25
UNADJUSTED_OPACITY = 0.45
NOTES_FOR_ALL_UP_TO = 20  # more units than this: only the highlighted one carries its note
LINE_START_SHARE = 0.5  # limit lines start at half the smallest unit's size
POINTS_VIEW = "funnel_units"


#: The columns funnel_lines and inputs.size_column read.
_LINE_INPUTS = ["indicator_id", "level", "period_type", "period", "numerator", "denominator",
                "plot_size", "value", "scotland_value", "phi", "tau2"]


#: The columns a funnel's points, numbers table and sentence read: select_rows takes only these
_POINT_INPUTS = ["area_id", "area_name", "period", "value", "lower_95", "upper_95",
                 "scotland_value", "denominator", "plot_size", "denominator_band",
                 "interpretation", FUNNEL_FLAG, inputs.QUALITY_FLAG_COLUMN]


def _sized_rows(table: pd.DataFrame, indicator_id: str, multiplier: float, level: str,
                period: str) -> pd.DataFrame:
    """The level's total rows as ``funnel_lines`` reads them from a releasable table.

    Disclosure removes pseudonymised practices' exact denominators and the table's
    ``kinds``/``multipliers`` attrs; the lines only need the span of sizes, so the banded
    ``plot_size`` stands in for a missing denominator, and the multiplier comes from the
    indicator definition. The limits themselves are still computed by the calculation module.
    """
    rows = inputs.select_rows(table, indicator_id, level, "total", period, columns=_LINE_INPUTS)
    if "plot_size" in rows:
        rows["denominator"] = inputs.size_column(rows)
    rows.attrs = {**table.attrs, "multipliers": {indicator_id: float(multiplier)}}
    return rows


def _lines(table: pd.DataFrame, indicator_id: str, kind: str, multiplier: float, level: str,
           period: str, lines: pd.DataFrame | None) -> pd.DataFrame:
    if lines is None:
        try:
            from clusterqi.indicators import funnel_lines
        except ImportError:  # exported from the package once the calculation module lands
            from clusterqi.indicators.comparisons import funnel_lines

        lines = funnel_lines(_sized_rows(table, indicator_id, multiplier, level, period),
                             indicator_id, level, period=period, points=FUNNEL_POINTS,
                             kind=kind)
    missing = [c for c in ["size", "baseline", *LIMIT_COLUMNS] if c not in lines.columns]
    if missing:
        raise KeyError(f"funnel lines lack the columns {', '.join(missing)}; expected the "
                       "output of clusterqi.indicators.funnel_lines")
    out = lines[["size", *LIMIT_COLUMNS]].astype(float).apply(inputs.compact)
    return out.rename(columns=LINE_KEYS)


def band_per(band: Any, divisor: float) -> Any:
    """A size band ("1,000,000-2,499,999" patient-days) divided into the axis's units
    ("2,740-6,850"), each end rounded to 3 significant figures; anything else unchanged."""
    if not isinstance(band, str) or "-" not in band:
        return band
    try:
        ends = [float(part.replace(",", "")) / divisor for part in band.split("-", 1)]
    except ValueError:
        return band
    return "-".join(f"{float(f'{v:.3g}'):,.0f}" if v >= 100 else f"{v:.3g}" for v in ends)


def size_axis(indicator: Any, period: str) -> tuple[float, str]:
    """(divisor, title) of a funnel's size axis.

    A population rate's denominator is patient-days (list size x days in the period: tens of
    millions for a cluster); the axis shows the average list size instead (patients), the
    denominator divided by the period's days. A share's axis counts the items it is a share of.

    Example usage::

        size_axis(catalogue["antibacterial_items_per_1000_per_day"], "2025-10..2026-09")
        # (365.0, "Patients (average list size)")
    """
    ind = inputs.resolve_indicator(indicator)
    # population rates are per patient-day (the catalogue requires it); a definition without
    # a denominator (any object with kind "rate") is taken to be one too
    if getattr(ind, "kind", None) == "rate" and getattr(getattr(ind, "denominator", None),
                                                          "per_day", True):
        if inputs.PERIOD_SEPARATOR in str(period):
            start, end = str(period).split(inputs.PERIOD_SEPARATOR)
        else:
            start = end = str(period)
        first = pd.Period(start, "M").start_time
        last = pd.Period(end, "M").end_time.normalize()
        return float((last - first).days + 1), "Patients (average list size)"
    return 1.0, "Items the share is taken of (the denominator)"


def funnel_data(
    table: pd.DataFrame,
    indicator: Any,
    level: str,
    period: str | None = None,
    highlight: str | None = None,
    cluster_id: str | None = None,
) -> pd.DataFrame:
    """The points a funnel chart draws, one row per unit (the chart's embedded data).

    Columns: unit (area name, pseudonymised in the releasable table), size (``plot_size`` or
    denominator), size_text (the band where sizes are banded), value, interval, category,
    note (the table's interpretation; only the highlighted unit's when there are more than
    :data:`NOTES_FOR_ALL_UP_TO` units) and selected (the highlighted unit). ``cluster_id``
    keeps only that cluster's units (useful for practice-level funnels). ``attrs`` hold the
    period and the Scotland value (``baseline``).
    """
    return _funnel_frame(table, indicator, level, period, highlight, cluster_id)[1]


@inputs.prepared_once  # the chart, its table and its sentence (which needs the rows) share it
def _funnel_frame(
    table: pd.DataFrame,
    indicator: Any,
    level: str,
    period: str | None,
    highlight: str | None,
    cluster_id: str | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The indicator-table rows used, and :func:`funnel_data`'s frame."""
    ind = inputs.resolve_indicator(indicator)
    rows = inputs.select_rows(table, ind.id, level, "total", period, cluster_id=cluster_id,
                              columns=_POINT_INPUTS)
    if rows.empty:
        raise ValueError(f"no {level} rows for indicator {ind.id!r} in period {period!r}")
    size = inputs.size_column(rows)
    # sizes shown as text only where banded (the chart formats exact sizes itself)
    size_text = (rows["denominator_band"].astype("str") if "denominator_band" in rows
                 else pd.Series(pd.NA, index=rows.index, dtype="str"))
    selected = (rows["area_id"] == highlight) if highlight is not None else pd.Series(
        False, index=rows.index)
    note = (rows["interpretation"].astype("str") if "interpretation" in rows
            else pd.Series(pd.NA, index=rows.index, dtype="str"))
    if len(rows) > NOTES_FOR_ALL_UP_TO:  # keep the data small: explain the highlighted unit
        note = note.where(selected)
    data = pd.DataFrame({
        "unit": rows["area_name"].astype(str),
        "size": inputs.compact(size),
        "size_text": size_text,
        "value": inputs.compact(rows["value"]),
        "interval": [inputs.format_interval(lo, hi)
                     for lo, hi in zip(rows["lower_95"], rows["upper_95"])],
        "category": inputs.funnel_category(rows, FUNNEL_FLAG, ind.low_is_good),
        "note": note,
        "selected": selected,
    })
    data.attrs["period"] = rows["period"].iloc[0]
    data.attrs["baseline"] = (pd.to_numeric(rows["scotland_value"], errors="coerce").dropna()
                              .iloc[0] if rows["scotland_value"].notna().any() else float("nan"))
    return rows, data


def funnel_chart(
    table: pd.DataFrame,
    indicator: Any,
    level: str,
    period: str | None = None,
    highlight: str | None = None,
    audience: str = "cluster",
    *,
    cluster_id: str | None = None,
    lines: pd.DataFrame | None = None,
) -> alt.LayerChart:
    """A funnel plot of one indicator's units at ``level`` for one total period.

    Constraints: ``table`` must be releasable unless ``audience="analyst"``; ``highlight``
    is an ``area_id`` (e.g. the report's cluster, or ``"member-a"``); ``lines`` defaults to
    ``clusterqi.indicators.funnel_lines(table, indicator.id, level, period)``. Points with a
    suppressed value are left out (the text summary counts them).

    Example usage::

        funnel_chart(releasable, catalogue["antibacterial_items_per_1000_per_day"],
                     "cluster", highlight="dundee-4")
    """
    inputs.check_audience(table, audience)
    ind = inputs.resolve_indicator(indicator)
    data = funnel_data(table, ind, level, period, highlight, cluster_id)
    period = data.attrs["period"]
    baseline = data.attrs["baseline"]
    limits = _lines(table, ind.id, ind.kind, ind.multiplier, level, period, lines)
    data = data[data["value"].notna() & data["size"].notna()].reset_index(drop=True)
    singular, plural = inputs.LEVEL_NAMES[level]
    # draw the limits over the units' own size range: near zero size they run off the chart
    if not data.empty:
        limits = limits[limits["size"] >= data["size"].min() * LINE_START_SHARE]

    divisor, x_title = size_axis(ind, period)
    if divisor != 1:
        data = data.assign(size=inputs.compact(data["size"] / divisor),
                           size_text=data["size_text"].map(lambda t: band_per(t, divisor)))
        limits = limits.assign(size=inputs.compact(limits["size"] / divisor))
    x = alt.X("size:Q", title=x_title, scale=alt.Scale(zero=True))
    y_title = ind.unit
    show_unadjusted = alt.param(
        name=SHOW_UNADJUSTED, value=False,
        bind=alt.binding_checkbox(name="Also show the limits without the over-dispersion "
                                       "adjustment "),
    )
    limit_layer = (
        alt.Chart(limits)
        .transform_fold(list(LINE_KEYS.values()), as_=["limit", "limit_value"])
        .transform_calculate(
            adjusted="slice(datum.limit, -1) != 'u'",
            level="indexof(datum.limit, '998') >= 0 ? '99.8% limits' : '95% limits'",
        )
        .transform_filter(f"datum.adjusted || {SHOW_UNADJUSTED}")
        .mark_line(clip=True, color=LIMIT_LINE)
        .encode(
            x=x,
            y=alt.Y("limit_value:Q", title=y_title, scale=alt.Scale(zero=False)),
            detail=alt.Detail("limit:N"),
            strokeDash=alt.StrokeDash(
                "level:N", title="Limits",
                scale=alt.Scale(domain=["95% limits", "99.8% limits"], range=[[6, 3], [1, 0]]),
            ),
            opacity=when(alt.OpacityValue, "datum.adjusted", 1.0, UNADJUSTED_OPACITY),
            strokeWidth=when(alt.StrokeWidthValue, "datum.adjusted", 1.5, 1.0),
        )
    )
    baseline_layer = alt.Chart().mark_rule(color=LIMIT_LINE, strokeWidth=1).encode(
        y=alt.YDatum(float(baseline)))
    categories = [c for c in CATEGORY_COLOURS if c in set(data["category"])]
    unit_highlight = alt.selection_point(name=UNIT_HIGHLIGHT, fields=["unit"], on="click",
                                         clear="dblclick")
    tooltip = [
        alt.Tooltip("unit:N", title=singular.capitalize()),
        alt.Tooltip("value:Q", title=f"Value ({ind.unit})", format=",.3~g"),
        alt.Tooltip("interval:N", title="95% interval"),
        alt.Tooltip("size_label:N", title="Size"),
        alt.Tooltip("category:N", title="Against the 99.8% limits"),
        alt.Tooltip("note:N", title="Interpretation"),
    ]
    points = (
        alt.Chart(data)
        .transform_calculate(size_label="isValid(datum.size_text) ? datum.size_text : "
                                        "format(datum.size, ',.0f')")
        .mark_point(filled=True, stroke=MARKER_OUTLINE, strokeWidth=1)
        .encode(
            x=x,
            y=alt.Y("value:Q", title=y_title),
            color=alt.Color("category:N", title="Compared with Scotland",
                            scale=category_scale(categories)),
            shape=alt.Shape("category:N", title="Compared with Scotland",
                            scale=shape_scale(categories)),
            size=when(alt.SizeValue, "datum.selected", HIGHLIGHT_SIZE, POINT_SIZE),
            opacity=when(alt.OpacityValue, unit_highlight, 1.0, DIMMED_OPACITY),
            tooltip=tooltip,
        )
        .add_params(unit_highlight)
        .properties(name=POINTS_VIEW)
    )
    label = (
        alt.Chart(data)
        .transform_filter("datum.selected")
        .mark_text(align="left", dx=10, dy=-10, fontWeight="bold")
        .encode(x=x, y=alt.Y("value:Q"), text=alt.Text("unit:N"))
    )
    subtitle = [
        f"Each point is a {singular}, placed by its size. The lines are the 95% and 99.8% "
        f"limits around the Scotland value ({inputs.format_value(baseline)}),",
        f"allowing for over-dispersion between {plural}. Points outside the 99.8% limits are "
        "unlikely to differ by chance alone.",
    ]
    layers = [limit_layer, baseline_layer, points, label]
    target = getattr(ind, "target", None)
    if target is not None:
        words = f"Target {inputs.format_value(target.value)} ({target.source})"
        layers += [
            alt.Chart().mark_rule(color=TARGET_LINE, strokeDash=[2, 2], strokeWidth=1.5)
            .encode(y=alt.YDatum(float(target.value))),
            alt.Chart().mark_text(align="right", dy=-6, color=TARGET_LINE, fontWeight="bold")
            .encode(x=alt.XValue("width"), y=alt.YDatum(float(target.value)),
                    text=alt.TextDatum(words)),
        ]
        subtitle.append(f"The dotted line is the published target: {words}.")
    return layer(*layers, params=(show_unadjusted,),
                 title=alt.Title(f"{ind.title}, {inputs.period_label(period)}", subtitle=subtitle))


def describe_funnel(
    table: pd.DataFrame,
    indicator: Any,
    level: str,
    period: str | None = None,
    highlight: str | None = None,
    audience: str = "cluster",
    *,
    cluster_id: str | None = None,
) -> str:
    """One sentence, from the numbers, saying what the funnel chart shows.

    Example: "Dundee 4: 1.23 items per 1,000 patients per day (95% interval 1.10 to 1.37),
    higher than the rest of Scotland; of 149 clusters, 3 lie above and 2 below the 99.8%
    limits around the Scotland value of 1.02."
    """
    inputs.check_audience(table, audience)
    ind = inputs.resolve_indicator(indicator)
    rows, data = _funnel_frame(table, ind, level, period, highlight, cluster_id)
    flags = rows[FUNNEL_FLAG]
    singular, plural = inputs.LEVEL_NAMES[level]
    shown = int(data["value"].notna().sum())
    suppressed = len(data) - shown
    counts = (f"of {shown} {plural if shown != 1 else singular}, {int((flags == 'high').sum())} "
              f"lie above and {int((flags == 'low').sum())} below the 99.8% limits around the "
              f"Scotland value of {inputs.format_value(data.attrs['baseline'])} {ind.unit}")
    if suppressed:
        counts += f" ({suppressed} suppressed to protect confidentiality)"
    chosen = data[data["selected"]]
    if chosen.empty:
        return f"{ind.title}, {inputs.period_label(data.attrs['period'])}: {counts}."
    row = chosen.iloc[0]
    if pd.isna(row["value"]):
        head = f"{row['unit']}: value suppressed to protect confidentiality"
    else:
        head = (f"{row['unit']}: {inputs.format_value(row['value'])} {ind.unit} "
                f"(95% interval {row['interval']})")
        if pd.notna(row["note"]) and row["note"]:
            note = str(row["note"]).rstrip(".")
            head += f", {note[:1].lower()}{note[1:]}"
    return f"{head}; {counts}."
