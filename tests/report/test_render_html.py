"""render_html on hand-made executed notebooks: refusal, runtime once, contents, limit, atomic write."""

from __future__ import annotations

import re

import altair as alt
import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from clusterqi.charts import offline
from clusterqi.index_page import HEAD_BYTES
from clusterqi.report_html import (
    MAX_REPORT_BYTES,
    REPORT_METADATA_KEY,
    ReportError,
    embedded_numbers,
    measure_html,
    render_html,
)

CSV = "indicator_id,level,value\nabx,cluster,1.5\n"


def _chart_output(first: bool) -> dict:
    if first:
        offline.enable_offline_charts(theme=False)
    chart = alt.Chart(pd.DataFrame({"x": [1, 2], "y": [1, 2]})).mark_line().encode(x="x", y="y")
    return new_output("display_data", data=offline.offline_renderer(chart.to_dict()))


def _notebook(audience="cluster", releasable=True, charts=2, header=True, extra_html="") -> nbformat.NotebookNode:
    meta = {REPORT_METADATA_KEY: {"role": "report", "audience": audience, "releasable": releasable,
                                  "title": "Test <cluster>", "numbers_csv": CSV,
                                  "numbers_filename": "test-numbers.csv"}}
    head = new_code_cell("show_header(report)", outputs=[
        new_output("display_data", data={"text/html": "<h1 id='report-title'>Test</h1>"},
                   metadata=meta if header else {})])
    cells = [head, new_markdown_cell("## At a glance"),
             new_code_cell("x", outputs=[_chart_output(i == 0) for i in range(charts)]),
             new_markdown_cell("## Indicators"),
             new_code_cell("y", outputs=[
                 new_output("display_data", data={"text/html": f"<h3 id='ind-a'>Antibiotics &amp; more</h3>{extra_html}"}),
                 new_output("stream", name="stderr", text="UserWarning: /home/analyst/secret/path\n")]),
             new_markdown_cell("## About this report")]
    return new_notebook(cells=cells)


def test_cluster_report_has_code_hidden_contents_download_and_one_runtime(tmp_path):
    nb = _notebook(charts=3)
    # a second runtime copy (e.g. from a reused kernel) must still end up once in the page
    nb.cells[2].outputs.append(_chart_output(True))
    out = render_html(nb, tmp_path / "r.html")
    page = out.read_text()
    assert page.count(offline.RUNTIME_START) == 1
    assert page.count(f'class="{offline.CHART_CLASS}"') == 4
    assert "show_header(report)" not in page and 'class="jp-InputArea-editor' not in page
    assert "/home/analyst/secret/path" not in page  # stderr dropped
    nav = re.search(r'<nav class="cqi-toc" aria-label="Contents">(.*?)</nav>', page, re.S).group(1)
    assert [a for a in re.findall(r'href="#([^"]+)"', nav)] == ["At-a-glance", "Indicators", "ind-a", "About-this-report"]
    assert "Antibiotics &amp; more" in nav
    assert 'download="test-numbers.csv"' in page and "Download the numbers (CSV)" in page
    assert embedded_numbers(page) == CSV
    assert "<title>Test &lt;cluster&gt;</title>" in page
    assert "@media print" in page


def test_a_notebook_node_needs_an_output_path():
    with pytest.raises(ReportError, match="out is required"):
        render_html(_notebook())


def test_no_script_or_stylesheet_comes_from_a_url(tmp_path):
    page = render_html(_notebook(), tmp_path / "r.html").read_text()
    assert not re.search(r"<script[^>]+src=", page)
    assert not re.search(r"<link[^>]+href=\"https?:", page)
    assert "require.js" not in page and "mathjax" not in page.lower().split("<main>")[0]


def test_not_releasable_cluster_report_is_refused_and_nothing_is_written(tmp_path):
    with pytest.raises(ReportError, match="has not passed disclosure control"):
        render_html(_notebook(releasable=False), tmp_path / "r.html")
    assert list(tmp_path.iterdir()) == []


def test_analyst_report_is_written_with_a_not_for_release_banner(tmp_path):
    page = render_html(_notebook(audience="analyst", releasable=False), tmp_path / "r.html").read_text()
    assert "Analyst view: not disclosure-controlled" in page


def test_notebook_without_a_report_header_is_refused(tmp_path):
    with pytest.raises(ReportError, match="no report header output"):
        render_html(_notebook(header=False), tmp_path / "r.html")


def test_report_over_the_size_limit_is_refused_and_nothing_is_written(tmp_path):
    filler = "<p>" + "x" * (MAX_REPORT_BYTES + 10) + "</p>"
    with pytest.raises(ReportError, match="over the 2,500,000-byte limit"):
        render_html(_notebook(extra_html=filler), tmp_path / "r.html")
    assert list(tmp_path.iterdir()) == []


def test_rewriting_a_report_replaces_it_whole_and_leaves_no_temporary_file(tmp_path):
    out = tmp_path / "r.html"
    out.write_text("old")
    render_html(_notebook(), out)
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]


def test_default_output_path_is_the_notebook_path_with_html(tmp_path):
    path = tmp_path / "dundee-4.ipynb"
    nbformat.write(_notebook(), path)
    assert render_html(path) == tmp_path / "dundee-4.html"


def test_measure_html_splits_runtime_chart_data_and_download(tmp_path):
    parts = measure_html(render_html(_notebook(charts=2), tmp_path / "r.html"))
    assert 300_000 < parts["runtime"] < 500_000  # the ~0.9 MB runtime, gzip-packed
    assert parts["charts"] == 2 and parts["chart_data"] > 0 and parts["download"] > 0
    assert parts["total"] == parts["runtime"] + parts["chart_data"] + parts["download"] + parts["other"]


def test_a_report_gets_the_permissions_of_any_new_file_not_private_ones(tmp_path):
    import os
    import stat

    umask = os.umask(0o022)
    try:
        out = render_html(_notebook(), tmp_path / "r.html")
    finally:
        os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644


def test_cells_tagged_for_the_notebook_only_stay_out_and_contents_go_where_the_report_puts_them(tmp_path):
    from clusterqi.report_html import DOWNLOAD_PLACEHOLDER, TOC_PLACEHOLDER

    nb = _notebook()
    note = new_markdown_cell("Run it in JupyterLab ... `clusterqi batch` ... render_html")
    note.metadata["tags"] = ["remove-from-report"]
    contents = new_code_cell("show_contents(report)", outputs=[new_output("display_data", data={
        "text/html": f"<nav class='cqi-toc'><h2 id='contents'>Contents</h2>{TOC_PLACEHOLDER}</nav>"
                     f"<p class='cqi-download'>{DOWNLOAD_PLACEHOLDER}</p>"})])
    nb.cells[1:1] = [note, contents]
    page = render_html(nb, tmp_path / "r.html").read_text()
    assert "Run it in JupyterLab" not in page and "clusterqi batch" not in page and "render_html" not in page
    main = page.split("<main>", 1)[1]
    nav = re.search(r"<nav class='cqi-toc'>(.*?)</nav>", main, re.S).group(1)
    assert re.findall(r'href="#([^"]+)"', nav) == ["At-a-glance", "Indicators", "ind-a", "About-this-report"]
    assert page.count("Download the numbers (CSV)") == 1 and "cqi-download-link" in main
    assert TOC_PLACEHOLDER not in page and DOWNLOAD_PLACEHOLDER not in page
    assert page.count('class="cqi-toc"') + page.count("class='cqi-toc'") == 1


def test_the_discussion_count_travels_in_the_page_head_for_the_index(tmp_path):
    nb = _notebook()
    nb.cells[0].outputs[0].metadata[REPORT_METADATA_KEY]["discuss"] = 3
    page = render_html(nb, tmp_path / "r.html").read_text()
    assert '<meta name="clusterqi-discuss" content="3">' in page[:HEAD_BYTES]
    assert 'name="clusterqi-discuss"' not in render_html(_notebook(), tmp_path / "s.html").read_text()


def test_contents_come_from_the_pages_headings_not_from_text_inside_its_scripts(tmp_path):
    script = ("<script type=\"text/javascript\">var label = \"<h3 id='in-a-script'>Not a heading"
              "</h3>\";</script><h3 id='ind-b'>Statins</h3>")
    first = render_html(_notebook(extra_html=script), tmp_path / "a.html").read_text()
    nav = re.search(r'<nav class="cqi-toc" aria-label="Contents">(.*?)</nav>', first, re.S).group(1)
    assert re.findall(r'href="#([^"]+)"', nav) == ["At-a-glance", "Indicators", "ind-a", "ind-b",
                                                   "About-this-report"]
    # the exporter is made once per process: the next page carries nothing of this one
    second = render_html(_notebook(), tmp_path / "b.html").read_text()
    assert "ind-b" not in second and "Statins" not in second


def test_contents_take_each_headings_text_without_its_anchor_link_or_what_lies_between():
    from clusterqi.report_html import _toc

    body = ("<H2 id='At-a-glance'>At a\n glance<a class='anchor-link' href='#At-a-glance'>&#182;</a></H2>"
            "<table><tr><td><h4 id='not-listed'>Small</h4>x &lt;h3&gt;</td></tr></table>"
            "<h3 id='ind-a'>Antibiotics &amp; <em>4C</em></h3 >"
            "<h3>No id</h3><h2 id='About-this-report'>About</h2>")
    assert _toc(body) == (
        '<ol><li><a href="#At-a-glance">At a glance</a>'
        '<ol><li><a href="#ind-a">Antibiotics &amp; 4C</a></li></ol></li>'
        '<li><a href="#About-this-report">About</a></li></ol>')
