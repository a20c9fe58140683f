"""Interactive Altair charts that draw with no network: in JupyterLab and in emailed HTML.

Altair 6's own renderers cannot do this (measured on Altair 6.3 with Vega-Lite 6.4): the default loads Vega
from a CDN, ``template="inline"`` repeats the ~0.9 MB runtime in every chart (and the second copy
throws), and the mimetype renderer emits a Vega-Lite 6 MIME type nbformat rejects. This module
registers one small renderer, ``"clusterqi"``, that emits

- the Vega + Vega-Lite + vega-embed runtime from :func:`vl_convert.javascript_bundle` **once per
  document** (the first chart displayed after :func:`enable_offline_charts`), gzip-compressed
  and base64-encoded (~0.3 MB instead of ~0.9 MB) and unpacked with ``DecompressionStream``,
  wrapped in a function scope so its top-level ``const`` declarations cannot clash, and guarded
  so a second copy is a no-op;
- per chart, only a ``<div class="clusterqi-chart">`` and a script calling ``vegaEmbed`` with the
  spec, the SVG renderer (crisp in print, readable by tests) and the "..." menu limited to export
  (the "Open in Vega Editor" action posts the data to an external site, so it is off). The spec
  travels gzip-compressed and base64-encoded (``var packed = "...";``: about a fifth of its JSON,
  so a report with 16+ indicators stays small) and is unpacked by the browser's own
  ``DecompressionStream`` before it is drawn (its ``description``, the chart's sentence,
  becomes the drawn SVG's accessible name: ``role="img"`` and ``aria-label``; a legend that
  highlights a practice on click also gets a drop-down that does the same from the keyboard);
  :func:`embedded_specs` reads the specs of a page
  back, for size measurements and tests. Base64 cannot hold ``</``, so data cannot close the
  script.

Every embedded view (the vega-embed result) is pushed onto ``window.clusterqiViews`` so browser
tests can read signals and data. A chart displayed before the runtime has loaded waits in
``window.clusterqiPending`` and is drawn as soon as the runtime arrives.

The runtime block is delimited by :data:`RUNTIME_START` / :data:`RUNTIME_END` comments, so
:mod:`clusterqi.report` can hoist exactly one copy into the exported page whatever the kernel
history was.

Example usage::

    from clusterqi.charts.offline import enable_offline_charts

    enable_offline_charts()      # once, at the top of a notebook
    funnel_chart(table, ...)     # displays as an interactive, offline chart
"""

from __future__ import annotations

import base64
import functools
import gzip
import json
import re
import uuid
from typing import Any

import altair as alt
import altair.utils.data as alt_data
import pandas as pd
from altair.utils.schemapi import debug_mode

from clusterqi.charts.spec_values import plain_first

__all__ = [
    "RENDERER_NAME",
    "RUNTIME_START",
    "RUNTIME_END",
    "RUNTIME_PATTERN",
    "EMBED_OPTIONS",
    "CHART_CLASS",
    "enable_offline_charts",
    "offline_renderer",
    "chart_spec",
    "runtime_script",
    "unpacked_runtime",
    "chart_html",
    "chart_markup",
    "escape_json_for_script",
    "chart_values",
    "MAX_CHART_ROWS",
    "pack_spec",
    "embedded_specs",
    "PACKED_SPEC_PATTERN",
]

RENDERER_NAME = "clusterqi"
"""The name the renderer is registered under in ``alt.renderers``."""

CHART_CLASS = "clusterqi-chart"
"""CSS class of every chart's container ``<div>`` (tests count these against drawn ``.marks``)."""

RUNTIME_START = "<!-- clusterqi-runtime:start -->"
RUNTIME_END = "<!-- clusterqi-runtime:end -->"
RUNTIME_PATTERN = re.compile(re.escape(RUNTIME_START) + r".*?" + re.escape(RUNTIME_END), re.DOTALL)
"""Matches one emitted runtime block, for hoisting it out of notebook outputs."""

EMBED_OPTIONS: dict[str, Any] = {
    "renderer": "svg",
    "actions": {"export": True, "source": False, "compiled": False, "editor": False},
}
"""vega-embed options for every chart: SVG, and no action that shows or sends the spec."""

PACKED_SPEC_PATTERN = re.compile(r'var packed = "([A-Za-z0-9+/=]*)";')
"""Matches one chart's packed spec in a page (group 1: the base64 text)."""

_state = {"runtime_sent": False}


def pack_spec(spec: dict) -> str:
    """A spec as base64 of its gzip-compressed JSON (deterministic: no time stamp inside).

    Example usage::

        unpacked = json.loads(gzip.decompress(base64.b64decode(pack_spec(spec))))
    """
    text = json.dumps(spec, ensure_ascii=False, allow_nan=False, default=str,
                      separators=(",", ":"))
    return base64.b64encode(gzip.compress(text.encode("utf-8"), compresslevel=6,
                                          mtime=0)).decode("ascii")


def embedded_specs(page: str) -> list[dict]:
    """Every chart spec packed in an HTML page (or notebook output), in page order.

    Example usage::

        specs = embedded_specs(Path("reports/demo/dundee-4.html").read_text())
    """
    return [json.loads(gzip.decompress(base64.b64decode(m.group(1))))
            for m in PACKED_SPEC_PATTERN.finditer(page)]


@functools.cache
def _bundle() -> str:
    """The Vega + Vega-Lite + vega-embed runtime for Altair's Vega-Lite version (cached)."""
    import vl_convert

    major_minor = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])  # "v6.4.1" -> "6.4"
    if major_minor not in vl_convert.get_vegalite_versions():
        raise RuntimeError(
            f"vl-convert {vl_convert.__version__} bundles Vega-Lite "
            f"{', '.join(vl_convert.get_vegalite_versions())}, not the {major_minor} that altair "
            f"{alt.__version__} writes; install a vl-convert-python that supports it"
        )
    return vl_convert.javascript_bundle(vl_version=major_minor)


def unpacked_runtime(script: str) -> str:
    """The runtime code packed in a :func:`runtime_script` block (or a page holding one).

    Example usage::

        "window.vegaEmbed=" in unpacked_runtime(runtime_script())
    """
    block = RUNTIME_PATTERN.search(script)
    match = re.search(r'var packedRuntime = "([A-Za-z0-9+/=]*)";', block.group(0) if block else script)
    if match is None:
        raise ValueError("no packed runtime found")
    return gzip.decompress(base64.b64decode(match.group(1))).decode("utf-8")


def escape_json_for_script(value: Any) -> str:
    """JSON for an inline ``<script>``: ``</`` and ``<!--`` escaped so data cannot end the script.

    Example usage::

        >>> escape_json_for_script({"name": "</script><script>alert(1)</script>"})
        '{"name": "<\\\\/script><script>alert(1)<\\\\/script>"}'
    """
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, default=str)
    return (
        text.replace("</", "<\\/")
        .replace("<!--", "<\\u0021--")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


@functools.cache
def runtime_script() -> str:
    """The runtime as one guarded ``<script>`` block, delimited for :data:`RUNTIME_PATTERN`.

    The ~0.9 MB runtime travels gzip-compressed and base64-encoded (about a third of its size)
    and is unpacked by the browser's own ``DecompressionStream``, as the chart specs are, then
    run in a function scope. Loading it twice is harmless: the second copy returns at once.
    Charts queued in ``window.clusterqiPending`` before it ran are drawn when it finishes.
    """
    bundle = _bundle()
    version = alt.SCHEMA_VERSION
    code = f"(function () {{\n{bundle}\n}}).call(window);\n"
    packed = base64.b64encode(gzip.compress(code.encode("utf-8"), compresslevel=9,
                                            mtime=0)).decode("ascii")
    return (
        f"{RUNTIME_START}\n"
        f'<script type="text/javascript" data-clusterqi-runtime="vega-lite {version}">\n'
        "(function () {\n"
        "  if (window.clusterqiRuntime || window.clusterqiRuntimeLoading) { return; }\n"
        "  window.clusterqiRuntimeLoading = true;\n"
        "  function unpack(text) {\n"
        "    var bytes = Uint8Array.from(atob(text), function (c) { return c.charCodeAt(0); });\n"
        "    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));\n"
        "    return new Response(stream).text();\n"
        "  }\n"
        # a legend that highlights on click gets a drop-down doing the same (keyboard users)
        "  function keyboard(el) {\n"
        "    el.querySelectorAll('g.role-legend').forEach(function (legend) {\n"
        "      var title = legend.querySelector('g.role-legend-title text');\n"
        "      if (!title || title.textContent.indexOf('click to highlight') < 0) { return; }\n"
        "      var symbols = legend.querySelectorAll('g.role-legend-symbol path');\n"
        "      var names = Array.from(legend.querySelectorAll('g.role-legend-label text'))\n"
        "        .map(function (t) { return t.textContent; });\n"
        "      var label = document.createElement('label');\n"
        "      label.className = 'cqi-picker';\n"
        "      label.textContent = 'Highlight a practice ';\n"
        "      var select = document.createElement('select');\n"
        "      ['(none)'].concat(names).forEach(function (name, i) {\n"
        "        var option = document.createElement('option');\n"
        "        option.value = String(i - 1); option.textContent = name; select.appendChild(option);\n"
        "      });\n"
        "      select.addEventListener('change', function () {\n"
        "        var i = Number(select.value), svg = el.querySelector('svg');\n"
        "        if (i < 0) { svg.dispatchEvent(new MouseEvent('dblclick', {bubbles: true})); }\n"
        "        else { symbols[i].dispatchEvent(new MouseEvent('click', {bubbles: true})); }\n"
        "      });\n"
        "      label.appendChild(select); el.appendChild(label);\n"
        "    });\n"
        "  }\n"
        "  window.clusterqiDraw = function (chart) {\n"
        "    if (typeof chart === 'function') { return chart(); }\n"
        "    if (!window.clusterqiRuntime) {\n"
        "      (window.clusterqiPending = window.clusterqiPending || []).push(chart); return;\n"
        "    }\n"
        "    var id = chart[0], el = document.getElementById(id);\n"
        "    var description = '';\n"
        "    unpack(chart[1]).then(JSON.parse).then(function (spec) {\n"
        "      description = spec.description || '';\n"
        "      return window.vegaEmbed(el, spec, chart[2]);\n"
        "    }).then(function (result) {\n"
        "      result.chartId = id;\n"
        "      var svg = el.querySelector('svg.marks');\n"
        "      if (svg && description) {\n"
        "        svg.setAttribute('role', 'img'); svg.setAttribute('aria-label', description);\n"
        "      }\n"
        "      var menu = el.querySelector('details > summary');\n"
        "      if (menu) { menu.setAttribute('aria-label', 'Save this chart as an image'); }\n"
        "      keyboard(el);\n"
        "      (window.clusterqiViews = window.clusterqiViews || []).push(result);\n"
        "    }).catch(function (error) {\n"
        '      el.textContent = "This chart could not be drawn: " + error;\n'
        "      console.error(error);\n"
        "    });\n"
        "  };\n"
        f'  var packedRuntime = "{packed}";\n'
        "  unpack(packedRuntime).then(function (code) {\n"
        "    var script = document.createElement('script');\n"
        "    script.textContent = code;\n"
        "    document.head.appendChild(script);\n"
        f'    window.clusterqiRuntime = "vega-lite {version}";\n'
        "    var pending = window.clusterqiPending || [];\n"
        "    window.clusterqiPending = [];\n"
        "    pending.forEach(window.clusterqiDraw);\n"
        "  }).catch(function (error) { console.error(error); });\n"
        "})();\n"
        "</script>\n"
        f"{RUNTIME_END}\n"
    )


def chart_html(spec: dict, embed_options: dict | None = None, element_id: str | None = None) -> str:
    """One chart's ``<div>`` and ``vegaEmbed`` call (no runtime).

    ``embed_options`` are merged over :data:`EMBED_OPTIONS`, except that the editor, source and
    compiled actions stay off whatever is passed.
    """
    options = {**EMBED_OPTIONS, **(embed_options or {})}
    actions = options.get("actions", EMBED_OPTIONS["actions"])
    if isinstance(actions, dict) or actions is True:
        base = actions if isinstance(actions, dict) else {"export": True}
        options["actions"] = {**base, "source": False, "compiled": False, "editor": False}
    element_id = element_id or f"clusterqi-chart-{uuid.uuid4().hex[:12]}"
    # the drawing code is the runtime's (window.clusterqiDraw, once per page); a chart carries
    # only its id, packed spec and options, and waits in window.clusterqiPending until then
    return (
        f'<div id="{element_id}" class="{CHART_CLASS}"></div>\n'
        '<script type="text/javascript">\n'
        "(function () {\n"
        f'  var packed = "{pack_spec(spec)}";\n'
        f"  var options = {escape_json_for_script(options)};\n"
        f'  var chart = ["{element_id}", packed, options];\n'
        "  if (window.clusterqiDraw) { window.clusterqiDraw(chart); }\n"
        "  else { (window.clusterqiPending = window.clusterqiPending || []).push(chart); }\n"
        "})();\n"
        "</script>\n"
    )


def chart_spec(chart: alt.TopLevelMixin) -> dict:
    """The Vega-Lite spec a renderer is given for ``chart`` (what ``_repr_mimebundle_`` makes).

    Not validated against the Vega-Lite schema again: the chart tests validate every builder's
    spec, and validation was ~40% of an explorer redraw and a fifth of a report's charts. Made
    with :func:`clusterqi.charts.spec_values.plain_first`: Altair's own conversion, with a
    short way for plain values.
    """
    with debug_mode(False), plain_first():  # nor each schema object Altair makes (its "debug mode")
        return chart.to_dict(validate=False, context={"pre_transform": False})


def chart_markup(spec: dict, embed_options: dict | None = None) -> str:
    """One chart's HTML for a page built from several charts: the runtime comes with the first
    chart of a document (as :func:`offline_renderer` does), then only ``<div>`` and script.

    Example usage::

        cards = "".join(chart_markup(chart_spec(c)) for c in charts)
    """
    html = chart_html(spec, embed_options)
    if not _state["runtime_sent"]:
        html = runtime_script() + html
        _state["runtime_sent"] = True
    return html


def offline_renderer(spec: dict, **metadata: Any) -> dict[str, str]:
    """The Altair renderer: HTML for one chart, with the runtime on the first chart of a document.

    ``metadata`` may hold ``embed_options`` (from ``alt.renderers.set_embed_options``).
    """
    html = chart_html(spec, metadata.get("embed_options"))
    if not _state["runtime_sent"]:
        html = runtime_script() + html
        _state["runtime_sent"] = True
    title = spec.get("title")
    if isinstance(title, dict):
        title = title.get("text")
    plain = f"Chart: {title}" if isinstance(title, str) else "Chart (interactive; open in a browser)"
    return {"text/html": html, "text/plain": plain}


alt.renderers.register(RENDERER_NAME, offline_renderer)

#: Most rows a chart may embed (Altair's default limit).
MAX_CHART_ROWS = 5000


def chart_values(data: Any, max_rows: int = MAX_CHART_ROWS) -> Any:
    """Altair data transformer: a DataFrame's rows as inline values, as Altair's default gives
    them, in a fraction of the time.

    Altair's default cleans a frame column by column in Python (a quarter of a report's chart
    time with 70 charts); pandas' own JSON writer gives the same values (missing -> null,
    categories -> text; dates, which Altair writes as ISO text and "" when missing, are turned
    into that text first) at C speed. Anything but a DataFrame goes to Altair's
    default. A test checks the two agree on every kind of column the charts use.
    """
    if isinstance(data, pd.DataFrame):
        if len(data) > max_rows:
            raise alt.MaxRowsError(
                f"the chart data has {len(data)} rows, more than {max_rows}; aggregate it first")
        # names as text (a chart's frames mostly have them already: renaming copied each frame)
        frame = (data if all(type(c) is str for c in data.columns)
                 else data.rename(columns=str))
        dates = [c for c, kind in frame.dtypes.items()
                 if pd.api.types.is_datetime64_any_dtype(kind)]
        if dates:  # as Altair writes them: ISO text, "" for a missing date
            frame = frame.assign(**{c: frame[c].map(lambda t: "" if pd.isna(t) else t.isoformat())
                                    for c in dates})
        text = frame.to_json(orient="records", double_precision=15, force_ascii=False)
        return {"values": json.loads(text)}
    return alt_data.to_values(alt_data.limit_rows(data, max_rows=max_rows))


alt.data_transformers.register(RENDERER_NAME, chart_values)


def enable_offline_charts(theme: bool = True) -> None:
    """Display Altair charts offline and interactively from now on, starting a new document.

    Call once at the top of a notebook (calling again is safe: the next chart carries the
    runtime again, which the browser ignores if it already has it). With ``theme`` true, the house
    theme registered by :mod:`clusterqi.charts` is enabled too, when that module provides one.

    Example usage::

        from clusterqi.charts.offline import enable_offline_charts
        enable_offline_charts()
    """
    _state["runtime_sent"] = False
    alt.renderers.enable(RENDERER_NAME)
    alt.data_transformers.enable(RENDERER_NAME)
    if theme:
        _enable_house_theme()


def _enable_house_theme() -> None:
    """Enable the house theme of :mod:`clusterqi.charts.theme` (registered as "clusterqi")."""
    try:
        from clusterqi.charts.theme import enable_theme
    except ImportError:  # the charts package is optional for the renderer itself
        if RENDERER_NAME in alt.theme.names():
            alt.theme.enable(RENDERER_NAME)
        return
    enable_theme()
