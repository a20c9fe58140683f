"""The clusterqi house theme and the colours and shapes that carry meaning in every chart.

One registered Altair theme (``"clusterqi"``) sets fonts, sizes and the default categorical
palette. The colours that *mean* something (better / similar / worse, higher / lower, "data
quality: see note", SPC improvement / concern) are named constants here and are written into
each chart's own scales, so a chart keeps its meaning even under another theme.

Constraints:

- Palette: Okabe & Ito's colour-blind-safe set (Okabe M, Ito K. *Color Universal Design*, 2008)
  for categories; better = blue and worse = vermillion (the pair that stays distinct under the
  common colour-vision deficiencies); higher / lower (no judgement) = dark / light purple, which
  differ in lightness, not hue; data-quality cells are white with a cross.
- Meaning never rests on colour alone: each category also has its own marker shape (``SHAPES``),
  its word in the legend and in every tooltip, and markers carry a dark outline so light fills
  keep 3:1 contrast against the white background (WCAG 2.1, 1.4.11).
- Fonts: Arial first (the NHS Scotland house font for digital documents), then the metric-
  compatible Liberation Sans found on Linux; text at 12 px or more.

Example usage::

    import altair as alt
    from clusterqi.charts.theme import enable_theme, BETTER, category_scale

    enable_theme()                     # make the house theme the active Altair theme
    alt.Color("category:N", scale=category_scale(["better", "worse"]))
"""

from __future__ import annotations

from typing import Any

import altair as alt

__all__ = [
    "THEME_NAME",
    "when",
    "layer",
    "FONT",
    "BETTER",
    "SIMILAR",
    "WORSE",
    "HIGHER",
    "LOWER",
    "DATA_QUALITY",
    "NOT_COMPARED",
    "DATA_QUALITY_LABEL",
    "IMPROVEMENT",
    "CONCERN",
    "NEUTRAL",
    "CLUSTER_LINE",
    "COMPARATOR_LINE",
    "LIMIT_LINE",
    "TARGET_LINE",
    "RANGE_FILL",
    "INTERQUARTILE_FILL",
    "MARKER_OUTLINE",
    "CATEGORICAL",
    "CATEGORY_COLOURS",
    "SHAPES",
    "SIGNAL_COLOURS",
    "SIGNAL_SHAPES",
    "category_scale",
    "shape_scale",
    "house_theme",
    "enable_theme",
]

THEME_NAME = "clusterqi"

FONT = "Arial, 'Liberation Sans', Helvetica, sans-serif"
FONT_SIZE_LABEL = 12
FONT_SIZE_AXIS_TITLE = 13
FONT_SIZE_SUBTITLE = 13
FONT_SIZE_TITLE = 16
CHART_WIDTH = 560
CHART_HEIGHT = 320
TEXT_COLOUR = "#212121"
GRID_COLOUR = "#E6E6E6"

# --- colours that carry meaning (used in every chart's own scale) ---
BETTER = "#0072B2"  # Okabe-Ito blue
WORSE = "#D55E00"  # Okabe-Ito vermillion
SIMILAR = "#C8C8C8"  # light grey: neither better nor worse
HIGHER = "#5E3C99"  # dark purple: higher, no judgement
LOWER = "#B2ABD2"  # light purple: lower, no judgement
DATA_QUALITY = "#FFFFFF"  # white fill + cross: comparison withheld, see the note
NOT_COMPARED = "#8C8C8C"  # suppressed or no comparison available
DATA_QUALITY_LABEL = "data quality: see note"

# SPC special causes ("Making Data Count" colours, re-mapped to the colour-blind-safe pair).
IMPROVEMENT = BETTER
CONCERN = WORSE
NEUTRAL = HIGHER

# Lines and bands.
CLUSTER_LINE = "#000000"
COMPARATOR_LINE = "#555555"
LIMIT_LINE = "#4D4D4D"
TARGET_LINE = "#0072B2"  # a published national target (Okabe-Ito blue)
RANGE_FILL = "#E3E3E3"  # spine chart: Scotland's lowest to highest
INTERQUARTILE_FILL = "#A6A6A6"  # spine chart: 25th to 75th percentile
MARKER_OUTLINE = "#333333"

# Okabe-Ito categorical palette without black (black is the cluster's own line).
CATEGORICAL = [
    "#E69F00",
    "#56B4E9",
    "#009E73",
    "#0072B2",
    "#D55E00",
    "#CC79A7",
    "#F0E442",
]

CATEGORY_COLOURS = {
    "better": BETTER,
    "similar": SIMILAR,
    "worse": WORSE,
    "higher": HIGHER,
    "lower": LOWER,
    DATA_QUALITY_LABEL: DATA_QUALITY,
    "not compared": NOT_COMPARED,
}

SHAPES = {
    "better": "diamond",
    "similar": "circle",
    "worse": "square",
    "higher": "triangle-up",
    "lower": "triangle-down",
    DATA_QUALITY_LABEL: "cross",
    "not compared": "stroke",
}

SIGNAL_COLOURS = {"improvement": IMPROVEMENT, "concern": CONCERN, "neutral": NEUTRAL}
SIGNAL_SHAPES = {"improvement": "diamond", "concern": "square", "neutral": "triangle-up"}


def category_scale(domain: list[str], colours: dict[str, str] = CATEGORY_COLOURS) -> alt.Scale:
    """An Altair colour scale mapping each category word in ``domain`` to its house colour."""
    return alt.Scale(domain=list(domain), range=[colours[c] for c in domain])


def when(channel: type, test: str | alt.Parameter, if_true: Any, otherwise: Any) -> Any:
    """``alt.condition(test, alt.value(if_true), alt.value(otherwise))`` as a typed channel value.

    ``channel`` is Altair's value class of the encoding (``alt.ColorValue``, ``alt.OpacityValue``
    ...); ``test`` a Vega expression or a selection parameter (``alt.selection_point``). Same spec as ``alt.condition``, but
    Altair need not search its whole schema for the class a plain dict belongs to, which cost
    a report ~0.4 s (about 100 conditions and shorthands).

    Example usage::

        color=when(alt.ColorValue, "datum.role == 'cluster'", CLUSTER_LINE, COMPARATOR_LINE)
    """
    if isinstance(test, alt.Parameter):
        predicate: dict[str, Any] = {"param": test.name}
        if isinstance(test.empty, bool):  # as alt.condition: only a set "empty" is written
            predicate["empty"] = test.empty
    else:
        predicate = {"test": test}
    return channel(otherwise, condition={**predicate, "value": if_true})


_LAYER_PROPS = ("width", "height", "view")  # sizes Altair moves from a layer to the chart


def _undefined(chart: Any, attr: str) -> bool:
    return alt.utils.is_undefined(chart._get(attr))


def _variable(param: Any) -> Any:
    """The variable parameter inside ``alt.param(...)``, or None for a selection."""
    inner = param.param if isinstance(param, alt.Parameter) else param
    return inner if isinstance(inner, alt.VariableParameter) else None


def _combinable(layers: tuple, params: tuple) -> bool:
    """Whether :func:`layer` can combine ``layers`` itself: single views without sizes of their
    own, whose selections are named views' selections that no other layer repeats, and
    ``params`` that are variables, not selections (anything else is left to Altair)."""
    if not all(_variable(param) is not None for param in params):
        return False
    names: set[str] = set()
    for one in layers:
        if not isinstance(one, alt.Chart) or not all(_undefined(one, p) for p in _LAYER_PROPS):
            return False
        for param in [] if _undefined(one, "params") else one.params:
            if isinstance(param, alt.SelectionParameter):
                if _undefined(one, "name") or param.name in names:
                    return False
                names.add(param.name)
            elif not isinstance(param, alt.VariableParameter):
                return False
    return True


class _CombinedLayerChart(alt.LayerChart):
    """A layered chart whose layers are already combined (shared data and selections lifted).

    Altair's ``LayerChart`` combines its layers in its constructor, copying every layer twice,
    and runs the constructor again on each shallow copy, which ``to_dict`` makes: recombining
    charts already combined was ~0.34 s of a report in ``alt.layer`` and ~0.25 s of turning its
    charts into specs (one kernel, three reports). A chart built by
    :func:`layer` is combined once; its shallow copies keep their parts as they are (combining
    them again would change nothing), deep copies and every other method are Altair's.
    """

    def copy(self, deep: Any = True, ignore: list[str] | None = None) -> _CombinedLayerChart:
        if deep is not False:
            return super().copy(deep=deep, ignore=ignore)
        copied = object.__new__(type(self))
        object.__setattr__(copied, "_args", self._args)
        object.__setattr__(copied, "_kwds", dict(self._kwds))
        return copied


def layer(*layers: Any, params: tuple = (), **properties: Any) -> alt.LayerChart:
    """``alt.layer(*layers).add_params(*params).properties(**properties)``, built once.

    The same spec, in a fraction of the time: Altair's ``LayerChart`` lifts the layers' shared
    data and their selections to the layered chart, copying every layer twice to do it, again
    for each ``add_params`` or ``properties`` and again each time the chart is turned into its
    spec. Here layers that need only that (single views without sizes of their own, selections
    on named views) are combined once, by the same rules: data shared by every layer (or equal
    to ``properties["data"]``) moves to the chart; each layer's selection becomes a chart
    parameter naming its view, its variable parameters chart parameters, in layer order, then
    ``params``. Other layers go through Altair. ``tests/charts/test_common.py`` checks both
    give the same spec.

    Example usage::

        layer(lines, points, params=(show_limits,), title=alt.Title("Antibiotics"))
    """
    if not _combinable(layers, params):
        chart = alt.layer(*layers, **properties)
        if params:
            chart.layer[0] = chart.layer[0].add_params(*params)  # a fresh chart: nothing shares it
        return chart
    data = properties.pop("data", alt.Undefined)
    held = [one._get("data") for one in layers]
    if alt.utils.is_undefined(data):
        shared = held[0]
        if not alt.utils.is_undefined(shared) and all(d is shared for d in held):
            data = shared
        strip = not alt.utils.is_undefined(data)
    else:
        strip = all(alt.utils.is_undefined(d) or d is data for d in held)
    lifted: list[Any] = []
    variables: list[dict] = []  # variable parameters lifted once each, as Altair does
    combined = []
    for one in layers:
        own = [] if _undefined(one, "params") else list(one.params)
        if own or (strip and not _undefined(one, "data")):
            one = one.copy(deep=False)
            if strip:
                one.data = alt.Undefined
            for param in own:
                if isinstance(param, alt.SelectionParameter):
                    lifted.append(alt.TopLevelSelectionParameter(
                        **param.to_dict(validate=False), views=[one.name]))
                elif (spec := param.to_dict(validate=False)) not in variables:
                    variables.append(spec)
                    lifted.append(param.copy())
            one.params = alt.Undefined
        combined.append(one)
    for param in map(_variable, params):
        if (spec := param.to_dict(validate=False)) not in variables:
            variables.append(spec)
            lifted.append(param.copy())
    chart = _CombinedLayerChart(data=data, **properties)
    chart.layer = combined
    if lifted:
        chart.params = lifted
    return chart


def shape_scale(domain: list[str], shapes: dict[str, str] = SHAPES) -> alt.Scale:
    """An Altair shape scale mapping each category word in ``domain`` to its house marker."""
    return alt.Scale(domain=list(domain), range=[shapes[c] for c in domain])


def house_theme() -> alt.theme.ThemeConfig:
    """The house theme's configuration (fonts, sizes, grid, default palette)."""
    label = {"labelFontSize": FONT_SIZE_LABEL, "titleFontSize": FONT_SIZE_AXIS_TITLE}
    return {
        "config": {
            "font": FONT,
            "background": "#FFFFFF",
            "view": {"continuousWidth": CHART_WIDTH, "continuousHeight": CHART_HEIGHT,
                     "stroke": None},
            "axis": {**label, "labelColor": TEXT_COLOUR, "titleColor": TEXT_COLOUR,
                     "gridColor": GRID_COLOUR, "titleFontWeight": "normal"},
            "legend": {**label, "labelColor": TEXT_COLOUR, "titleColor": TEXT_COLOUR,
                       "orient": "bottom", "direction": "horizontal", "columns": 4,
                       "labelLimit": 260, "titleLimit": 400},
            "title": {"fontSize": FONT_SIZE_TITLE, "subtitleFontSize": FONT_SIZE_SUBTITLE,
                      "anchor": "start", "color": TEXT_COLOUR, "subtitleColor": TEXT_COLOUR,
                      "fontWeight": "bold", "offset": 12},
            "text": {"fontSize": FONT_SIZE_LABEL, "color": TEXT_COLOUR},
            "range": {"category": CATEGORICAL},
            "point": {"filled": True, "size": 70, "opacity": 1, "stroke": MARKER_OUTLINE,
                      "strokeWidth": 1},
            "line": {"strokeWidth": 2},
            # marks are hidden from screen readers: each chart's SVG is named by its sentence
            # (the spec's description) and its numbers are in a table beside it; thousands of
            # unnamed marks would only be noise (and fail axe's svg-img-alt)
            "mark": {"aria": False},
        }
    }


alt.theme.register(THEME_NAME, enable=False)(house_theme)


def enable_theme() -> None:
    """Make the house theme Altair's active theme (the report renderer calls this).

    Importing :mod:`clusterqi.charts` also enables it when no other theme has been chosen
    (Altair's active theme is still ``"default"``), so an analyst's own choice is never
    overridden.
    """
    alt.theme.enable(THEME_NAME)
