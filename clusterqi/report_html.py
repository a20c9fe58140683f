"""Export an executed cluster report notebook as one self-contained, releasable HTML file.

:func:`render_html` turns the notebook that papermill executed into the file a cluster quality
lead receives by email and opens offline:

- code hidden (inputs and prompts excluded; stderr such as warnings dropped);
- no network: nbconvert's CDN scripts removed by the ``clusterqi_report`` template, and the
  Vega runtime included exactly once (:mod:`clusterqi.charts.offline`; every copy in the outputs
  is hoisted into the page head);
- a table of contents built from the section headings (where the notebook's contents section
  puts :data:`TOC_PLACEHOLDER`, else in the page header), a print stylesheet with a "print
  brief" (headline, what to discuss, at a glance) and a "print full" (every ``<details>`` open);
- cells tagged :data:`REMOVE_TAGS` (notes for whoever runs the notebook) left out;
- a "Download the numbers" link holding the releasable table as CSV inside the file
  (gzip-compressed, base64 in an inert ``<script type="application/gzip">`` block that a few
  lines of script unpack into a CSV download with the browser's own ``DecompressionStream``;
  a large cluster's CSV is ~500 KB as text, ~60 KB packed), written by
  :func:`clusterqi.report_sections.show_header` into the notebook; :func:`embedded_numbers`
  reads it back;
- names from data HTML-escaped (the display functions escape; this module escapes the title,
  contents and file name it writes itself);
- at most :data:`MAX_REPORT_BYTES`; larger is an error, not a warning;
- written atomically (temporary file in the same folder, then renamed), so a batch never leaves
  a half-written report.

A notebook whose report header says it is not releasable is refused unless its audience is
``"analyst"`` (then the page carries a "not for release" banner).

Why one module of this size: turning an executed notebook into the released page is one pass
(check releasability, strip outputs, place the contents list and the numbers download, export,
write) over the same template and report metadata.

Example usage::

    from clusterqi.report_html import render_html
    path = render_html("reports/demo/dundee-4.ipynb")          # -> reports/demo/dundee-4.html
"""

from __future__ import annotations

import base64
import functools
import gzip
import html
import os
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import nbformat

from clusterqi import __version__
from clusterqi.charts.offline import (
    CHART_CLASS,
    PACKED_SPEC_PATTERN,
    RUNTIME_PATTERN,
    runtime_script,
)
from clusterqi.paths import replacing
from clusterqi.vocabulary import AUDIENCES
from clusterqi.vocabulary import audience as audience_record

__all__ = [
    "MAX_REPORT_BYTES",
    "REPORT_METADATA_KEY",
    "TOC_PLACEHOLDER",
    "DOWNLOAD_PLACEHOLDER",
    "REMOVE_TAGS",
    "TEMPLATE_NAME",
    "ReportError",
    "render_html",
    "numbers_link",
    "embedded_numbers",
    "measure_html",
]

MAX_REPORT_BYTES = 2_500_000
"""Hard limit on one report's size (2.5 MB): it is emailed, often to NHS mailboxes."""

REPORT_METADATA_KEY = "clusterqi"
"""Output-metadata key of the report header output (audience, releasability, title, CSV)."""

TEMPLATE_NAME = "clusterqi_report"
TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
TOC_PLACEHOLDER = "<!-- clusterqi-toc -->"
"""Where the contents list goes: in the report's own contents section, else the page header."""
DOWNLOAD_PLACEHOLDER = "<!-- clusterqi-download -->"
"""Where the "download the numbers" link goes (as the contents list)."""
REMOVE_TAGS = ("remove-from-report", "remove_cell")
"""Notebook cell tags whose cells never reach the HTML (notes for whoever runs the notebook)."""
TOC_LEVELS = ("h2", "h3")
TOC_SKIP = frozenset({"contents", "report-title"})
"""Heading ids the contents list leaves out (itself)."""
NUMBERS_ELEMENT_ID = "cqi-numbers"
"""Id of the element holding the packed CSV (base64 of gzip)."""


class ReportError(ValueError):
    """A report that cannot or must not be written (not releasable, too large, not a report)."""


def numbers_link(csv_text: str, filename: str) -> str:
    """The "Download the numbers" link and the packed CSV behind it.

    The CSV is gzip-compressed (``mtime=0``, so the same numbers give the same bytes) and
    base64-encoded inside an inert ``<script type="application/gzip">`` element; a small script
    turns it into a ``text/csv`` download when the link is clicked (``DecompressionStream``, in
    every current browser), so the report needs no network. Base64 holds no ``<`` or ``&``, so
    no text in the CSV can leave the element.

    Example usage::

        markup = numbers_link("a,b\\n1,2\\n", "x.csv")
        embedded_numbers(markup)    # 'a,b\\n1,2\\n'
    """
    packed = base64.b64encode(gzip.compress(csv_text.encode("utf-8"), mtime=0)).decode("ascii")
    name = html.escape(filename)
    return (
        f'<script type="application/gzip" id="{NUMBERS_ELEMENT_ID}" data-filename="{name}">'
        f"{packed}</script>"
        f'<a download="{name}" href="#{NUMBERS_ELEMENT_ID}" class="cqi-download-link" '
        f'onclick="return cqiDownloadNumbers(this);">Download the numbers (CSV)</a>'
        "<script>function cqiDownloadNumbers(link) {"
        f"var el = document.getElementById('{NUMBERS_ELEMENT_ID}');"
        "var bytes = Uint8Array.from(atob(el.textContent.trim()), function (c) { return c.charCodeAt(0); });"
        "var csv = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));"
        "new Response(csv).blob().then(function (blob) {"
        "var a = document.createElement('a');"
        "a.href = URL.createObjectURL(new Blob([blob], {type: 'text/csv;charset=utf-8'}));"
        "a.download = el.dataset.filename; document.body.appendChild(a); a.click(); a.remove();"
        "});"
        "return false; }</script>"
    )


_NUMBERS_BLOCK = re.compile(
    r'<script\b[^>]*\bid="' + NUMBERS_ELEMENT_ID + r'"[^>]*>([A-Za-z0-9+/=\s]*)</script>'
)


def embedded_numbers(page: str | os.PathLike) -> str | None:
    """The CSV a report's "Download the numbers" link gives, read from the page (None if absent).

    For tests and for analysts checking what a file carries before sending it.

    Example usage::

        csv_text = embedded_numbers(Path("reports/demo/dundee-4.html"))
    """
    if not isinstance(page, str) or "<" not in page[:2000]:
        page = Path(page).read_text(encoding="utf-8")
    match = _NUMBERS_BLOCK.search(page)
    if match is None:
        return None
    return gzip.decompress(base64.b64decode(match.group(1))).decode("utf-8")


def _load(executed_notebook: Any) -> tuple[nbformat.NotebookNode, Path | None]:
    if isinstance(executed_notebook, nbformat.NotebookNode):
        return nbformat.from_dict(executed_notebook), None
    path = Path(executed_notebook)
    if not path.is_file():
        raise ReportError(f"{path}: no such notebook; expected the notebook papermill executed")
    return nbformat.read(path, as_version=4), path


def _report_header(nb: nbformat.NotebookNode, name: str) -> dict:
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            meta = output.get("metadata", {}).get(REPORT_METADATA_KEY)
            if isinstance(meta, dict) and meta.get("role") == "report":
                return meta
    raise ReportError(
        f"{name}: no report header output found (output metadata '{REPORT_METADATA_KEY}' with "
        "role 'report'); expected a notebook that called clusterqi.report_sections.show_header, "
        "executed (an unexecuted notebook has no outputs)"
    )


def _check_releasable(header: dict, name: str) -> None:
    audience = header.get("audience")
    if audience not in AUDIENCES:
        raise ReportError(
            f"{name}: report audience {audience!r} is not known; expected one of {', '.join(AUDIENCES)}"
        )
    if not audience_record(audience).releasable:
        return  # an internal copy: its page carries the audience's banner
    if header.get("releasable") is not True:
        raise ReportError(
            f"{name}: audience {audience!r} but the report's table has not passed disclosure "
            "control (releasable is not True); refusing to write a releasable HTML file. Run the "
            "notebook with audience 'analyst' for an internal copy."
        )


def _strip_outputs(nb: nbformat.NotebookNode) -> int:
    """Drop stderr streams and every runtime copy from the outputs; return the number of charts."""
    charts = 0
    for cell in nb.cells:
        outputs = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                continue
            data = output.get("data", {})
            if "text/html" in data:
                text = data["text/html"]
                text = "".join(text) if isinstance(text, list) else text
                text = RUNTIME_PATTERN.sub("", text)
                charts += text.count(f'class="{CHART_CLASS}"')
                data["text/html"] = text
            outputs.append(output)
        if cell.cell_type == "code":
            cell.outputs = outputs
    return charts


class _Headings(HTMLParser):
    """Collects (level, id, text) of the h2/h3 headings that have an id."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str, str]] = []
        self._open: tuple[str, str] | None = None
        self._text: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag in TOC_LEVELS and attributes.get("id") and self._open is None:
            self._open, self._text = (tag, attributes["id"]), []
        elif self._open and tag == "a" and "anchor-link" in (attributes.get("class") or ""):
            self._skip += 1

    def handle_endtag(self, tag):
        if self._open and tag == "a" and self._skip:
            self._skip -= 1
        elif self._open and tag == self._open[0]:
            text = " ".join("".join(self._text).split())
            if text:
                self.found.append((self._open[0], self._open[1], text))
            self._open = None

    def handle_data(self, data):
        if self._open and not self._skip:
            self._text.append(data)


#: A script element (HTML parsers read its content as text, never as tags).
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script\s*>", re.IGNORECASE | re.DOTALL)
#: An h2 or h3 element, from its start tag to its end tag.
_HEADING = re.compile(r"<(h[23])\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)


def _toc(body: str) -> str:
    """Nested contents list: each h2 an item, the h3 after it a list inside that item."""
    parser = _Headings()
    # only the headings are parsed: the scripts (the charts' data, nearly all of a report's
    # bytes) hold none, and the rest (the charts' data tables: ~14,000 tags a page) took the
    # parser ~0.05-0.1 s a page
    parser.feed("".join(m.group(0) for m in _HEADING.finditer(_SCRIPT.sub("", body))))
    sections: list[tuple[str, list[str]]] = []
    for level, anchor, text in parser.found:
        if anchor in TOC_SKIP:
            continue
        link = f'<a href="#{html.escape(anchor)}">{html.escape(text)}</a>'
        if level == "h3" and sections:
            sections[-1][1].append(f"<li>{link}</li>")
        else:
            sections.append((link, []))
    items = [
        f"<li>{link}" + (f"<ol>{''.join(subs)}</ol>" if subs else "") + "</li>"
        for link, subs in sections
    ]
    return "<ol>" + "".join(items) + "</ol>"


def _write_atomically(text: str, out: Path) -> None:
    # the usual permissions (umask), so reports on a shared drive can be read by the team
    with replacing(out) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _placed(nb: nbformat.NotebookNode, marker: str) -> bool:
    """Whether an HTML output of the notebook holds ``marker`` (so the page header need not)."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            text = output.get("data", {}).get("text/html", "")
            if marker in ("".join(text) if isinstance(text, list) else text):
                return True
    return False


def _report_exporter(**settings: Any):
    """nbconvert's HTMLExporter without its last step, a BeautifulSoup pass over the whole page.

    That pass gives images without alternative text a placeholder (a report has no images: its
    charts are SVG drawn by Vega) and makes every input and output area a keyboard stop
    (``tabindex="0"``: dozens of unnamed stops before the first chart). On a report with 17
    indicators it was about 0.4 s, a tenth of the report's time. Everything before it is
    HTMLExporter's own ``from_notebook_node``.
    """
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class ReportExporter(HTMLExporter):
        def from_notebook_node(self, nb, resources=None, **kw):
            langinfo = nb.metadata.get("language_info", {})
            lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
            highlight_code = self.filters.get(
                "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self))
            resources = self._init_resources(resources)
            filter_data_type = WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources)
            self.register_filter("highlight_code", highlight_code)
            self.register_filter("filter_data_type", filter_data_type)
            return TemplateExporter.from_notebook_node(self, nb, resources, **kw)

    return ReportExporter(**settings)


@functools.lru_cache(maxsize=1)
def _exporter():
    """The report's exporter, made once per process: nbconvert compiles its templates once per
    exporter (eleven of them, ~0.05 s of every page), and nothing of one page stays in it
    (resources are given to each page, its filters set again for each)."""
    from traitlets.config import Config

    config = Config()
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_cell_tags = set(REMOVE_TAGS)
    return _report_exporter(
        config=config,
        template_name=TEMPLATE_NAME,
        extra_template_basedirs=[str(TEMPLATE_DIR)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )


def render_html(executed_notebook: str | os.PathLike | nbformat.NotebookNode, out=None) -> Path:
    """Write the executed report notebook as one offline, releasable HTML file; return its path.

    ``executed_notebook`` is a path to (or a ``NotebookNode`` of) the notebook papermill executed;
    ``out`` defaults to the same path with ``.html`` (required when a NotebookNode is passed).

    Raises :class:`ReportError` when the notebook has no report header, when its audience is not
    "analyst" and its table is not releasable, or when the page would exceed
    :data:`MAX_REPORT_BYTES` (nothing is written then).

    Example usage::

        render_html("reports/demo/dundee-4.ipynb", "reports/demo/dundee-4.html")
    """

    nb, path = _load(executed_notebook)
    name = path.name if path else "notebook"
    if out is None:
        if path is None:
            raise ReportError("render_html: out is required when a NotebookNode is passed")
        out = path.with_suffix(".html")
    out = Path(out)
    header = _report_header(nb, name)
    _check_releasable(header, name)
    charts = _strip_outputs(nb)
    nb.metadata["title"] = str(header.get("title") or "Cluster quality report")

    banner = ""
    if header.get("audience") in AUDIENCES and not audience_record(header["audience"]).releasable:
        banner = (
            '<p class="cqi-banner" role="alert">Analyst view: not disclosure-controlled. '
            "Do not send this file outside the analytical team.</p>"
        )
    download = ""
    if header.get("numbers_csv") is not None:
        filename = str(header.get("numbers_filename") or "numbers.csv")
        download = numbers_link(str(header["numbers_csv"]), filename)
    in_body = _placed(nb, TOC_PLACEHOLDER)
    download_in_body = _placed(nb, DOWNLOAD_PLACEHOLDER)
    exporter = _exporter()
    resources = {
        "clusterqi": {
            "version": html.escape(__version__),
            "runtime": runtime_script() if charts else "",
            "banner": banner,
            "download": "" if download_in_body else download,
            "discuss": str(int(header["discuss"])) if isinstance(header.get("discuss"), int) else "",
            "changes": str(int(header["changes"])) if isinstance(header.get("changes"), int) else "",
            "toc_placeholder": "" if in_body else TOC_PLACEHOLDER,
        }
    }
    page, _ = exporter.from_notebook_node(nb, resources=resources)
    main = page.split("<main>", 1)[-1]
    page = page.replace(TOC_PLACEHOLDER, _toc(main), 1)
    if download_in_body:
        page = page.replace(DOWNLOAD_PLACEHOLDER, download, 1)
    size = len(page.encode("utf-8"))
    if size > MAX_REPORT_BYTES:
        parts = measure_html(page)
        raise ReportError(
            f"{out.name}: the report would be {size:,} bytes, over the {MAX_REPORT_BYTES:,}-byte "
            f"limit (runtime {parts['runtime']:,}, chart data {parts['chart_data']:,}, "
            f"download {parts['download']:,}); choose fewer indicators or months"
        )
    _write_atomically(page, out)
    return out





def measure_html(page: str | os.PathLike) -> dict[str, int]:
    """Bytes of a rendered report by part: total, runtime, chart_data (specs), download, other.

    Example usage::

        measure_html(Path("reports/demo/dundee-4.html"))["runtime"]
    """
    if not isinstance(page, str) or "<html" not in page[:2000].lower():
        page = Path(page).read_text(encoding="utf-8")

    def size(parts) -> int:
        return sum(len(p.encode("utf-8")) for p in parts)

    total = size([page])
    runtime = size(m.group(0) for m in RUNTIME_PATTERN.finditer(page))
    chart_data = size(m.group(1) for m in PACKED_SPEC_PATTERN.finditer(page))
    download = size(m.group(0) for m in _NUMBERS_BLOCK.finditer(page))
    return {
        "total": total,
        "runtime": runtime,
        "chart_data": chart_data,
        "download": download,
        "other": total - runtime - chart_data - download,
        "charts": page.count(f'class="{CHART_CLASS}"'),
    }
