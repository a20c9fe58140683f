"""A normal cluster's report, audience "cluster": it draws offline in chromium, its dropdowns and
practice highlight work without a kernel, and it holds no practice name, code or list size.

The largest cluster's report (15 practices, every indicator) is the meeting brief's test: its
first screen holds the cluster's name, the period and what to discuss; no developer text;
collapsed it is at most 8 screens at 1280x800; at 390 px nothing scrolls sideways; axe-core
finds no serious or critical violation; "print brief" is at most 2 A4 pages; <= 1.5 MB."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from clusterqi.charts.offline import CHART_CLASS, embedded_specs
from clusterqi.report_html import embedded_numbers
from clusterqi.report import MAX_REPORT_BYTES, measure_html
from tests.conftest import REPO, SYNTHETIC_PERIOD_END, require
from tests.report.conftest import MONTHS, offline_browser, run_report

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture(scope="module")
def report(normal_cluster, run_tables, tmp_path_factory):
    return run_report(tmp_path_factory.mktemp("normal"), cluster_id=normal_cluster,
                      period_end=SYNTHETIC_PERIOD_END, months=MONTHS, audience="cluster",
                      indicator_table=str(run_tables))


@pytest.fixture(scope="module")
def page_html(report) -> str:
    return report.html.read_text(encoding="utf-8")


def test_report_is_under_the_size_limit_with_the_runtime_once(page_html):
    parts = measure_html(page_html)
    assert parts["total"] <= MAX_REPORT_BYTES
    assert page_html.count("clusterqi-runtime:start") == 1
    assert parts["charts"] >= 4


def test_every_chart_draws_offline_with_no_console_error_and_no_request(report):
    with offline_browser(report.html) as state:
        page = state.page
        charts = page.locator(f".{CHART_CLASS}").count()
        drawn = page.locator(f".{CHART_CLASS} svg.marks").count()
        views = page.evaluate("window.clusterqiViews.length")
        assert charts > 0 and drawn == charts == views
        assert state.errors == []
        assert state.requests == [report.html.resolve().as_uri()]


def test_download_link_gives_the_embedded_numbers_as_a_csv_file_offline(report, page_html):
    with offline_browser(report.html) as state:
        with state.page.expect_download() as info:
            state.page.click("a.cqi-download-link")
        download = info.value
        text = Path(download.path()).read_text(encoding="utf-8")
        assert download.suggested_filename.endswith(".csv")
        assert text == embedded_numbers(page_html)
        assert text.startswith("indicator_id,indicator_title,indicator_unit,level,")
        assert state.errors == []
        assert state.requests == [report.html.resolve().as_uri()]


def _views_with(page, signal: str) -> list[str]:
    """The chartIds of every embedded view that has ``signal``, in page order."""
    return page.evaluate(
        """(name) => {
            const found = [];
            for (const r of window.clusterqiViews) {
                try { r.view.signal(name); found.push(r.chartId); } catch (e) {}
            }
            const order = Array.from(document.querySelectorAll('.clusterqi-chart')).map(e => e.id);
            return found.sort((a, b) => order.indexOf(a) - order.indexOf(b));
        }""", signal)


def _view_with(page, signal: str) -> str:
    """The chartId of the first embedded view that has ``signal``, its card opened as a reader
    would ("More on this indicator")."""
    ids = _views_with(page, signal)
    if ids:
        _open(page, ids[0])
    return ids[0] if ids else None


def _open(page, chart_id: str) -> None:
    page.evaluate("""(id) => { let d = document.getElementById(id).closest('details');
                               while (d) { d.open = true; d = d.parentElement.closest('details'); } }""",
                  chart_id)
    page.wait_for_timeout(100)


def test_comparator_dropdown_changes_the_named_signal_and_the_marks(report):
    with offline_browser(report.html) as state:
        page = state.page
        chart_id = _view_with(page, "comparator")
        assert chart_id, "no view has the comparator parameter"
        chart = page.locator(f"#{chart_id}")
        select = chart.locator("select[name='comparator']")
        options = select.locator("option").all_inner_texts()
        before_signal = page.evaluate(
            f"window.clusterqiViews.find(r => r.chartId == '{chart_id}').view.signal('comparator')")
        before_marks = chart.locator("svg.marks").inner_html()
        other = next(o for o in options if o != before_signal)
        select.select_option(label=other)
        page.wait_for_timeout(300)
        after_signal = page.evaluate(
            f"window.clusterqiViews.find(r => r.chartId == '{chart_id}').view.signal('comparator')")
        assert before_signal != after_signal == other
        assert chart.locator("svg.marks").inner_html() != before_marks


def test_every_comparator_dropdown_works_offline(report):
    with offline_browser(report.html) as state:
        page = state.page
        ids = _views_with(page, "comparator")
        assert len(ids) >= 4
        for chart_id in ids:
            _open(page, chart_id)
            select = page.locator(f"#{chart_id} select[name='comparator']")
            view = f"window.clusterqiViews.find(r => r.chartId == '{chart_id}').view"
            before = page.evaluate(f"{view}.signal('comparator')")
            other = next(o for o in select.locator("option").all_inner_texts() if o != before)
            select.select_option(label=other)
            page.wait_for_timeout(50)
            assert page.evaluate(f"{view}.signal('comparator')") == other, chart_id
        assert state.errors == []


def test_clicking_a_practice_in_the_legend_highlights_it(report):
    with offline_browser(report.html) as state:
        page = state.page
        chart_id = _view_with(page, "practice_highlight")
        assert chart_id, "no view has the practice_highlight selection"
        chart = page.locator(f"#{chart_id}")
        store = f"window.clusterqiViews.find(r => r.chartId == '{chart_id}').view.data('practice_highlight_store')"
        assert page.evaluate(f"{store}.length") == 0
        before = chart.locator("svg.marks").inner_html()
        labels = chart.locator("g.role-legend-label text")
        member = next(i for i, t in enumerate(labels.all_text_contents()) if t.startswith("Member practice"))
        chart.locator("g.role-legend-symbol path").nth(member).click(force=True)
        page.wait_for_timeout(300)
        chosen = page.evaluate(f"{store}.map(s => s.values)")
        assert len(chosen) == 1 and str(chosen[0][0]).startswith("Member practice")
        assert chart.locator("svg.marks").inner_html() != before


def test_the_practice_highlight_works_from_the_keyboard(report):
    with offline_browser(report.html) as state:
        page = state.page
        chart_id = _view_with(page, "practice_highlight")
        store = f"window.clusterqiViews.find(r => r.chartId == '{chart_id}').view.data('practice_highlight_store')"
        picker = page.locator(f"#{chart_id} .cqi-picker select")
        assert picker.locator("option").first.inner_text() == "(none)"
        picker.focus()
        page.keyboard.press("ArrowDown")
        page.wait_for_timeout(300)
        chosen = page.evaluate(f"{store}.map(s => s.values)")
        assert len(chosen) == 1 and str(chosen[0][0]).startswith("Member practice")
        page.keyboard.press("ArrowUp")
        page.wait_for_timeout(300)
        assert page.evaluate(f"{store}.length") == 0
        assert state.errors == []


# --- leak test --------------------------------------------------------------------------------


def _strings(value, out: set[str]) -> set[str]:
    if isinstance(value, str):
        out.add(value)
    elif isinstance(value, dict):
        for v in value.values():
            _strings(v, out)
    elif isinstance(value, list):
        for v in value:
            _strings(v, out)
    return out


def _size_numbers(value, out: set[float]) -> set[float]:
    """Numbers under keys that could hold a size (list size, denominator, plot size) in records
    of pseudonymised practices: beside a pseudonym an exact size names the practice, while a
    cluster's item count that happens to equal a list size names no one."""
    if isinstance(value, dict):
        practice = any(isinstance(v, str) and v.startswith("Member practice")
                       for v in value.values())
        for k, v in value.items():
            if any(w in k.lower() for w in ("size", "denominator", "patients")) and isinstance(v, (int, float)):
                if practice:
                    out.add(float(v))
            else:
                _size_numbers(v, out)
    elif isinstance(value, list):
        for v in value:
            _size_numbers(v, out)
    return out


def test_cluster_audience_report_holds_no_practice_name_code_or_exact_list_size(
        report, page_html, synthetic_dataset, normal_cluster):
    practices = synthetic_dataset.practices
    codes = set(practices["practice_code"].astype(str))
    names = set(practices["practice_name"].dropna().astype(str))
    own_sizes = {int(s) for s in practices.loc[practices["cluster_id"] == normal_cluster, "list_size"].dropna()}
    assert codes and names and own_sizes

    specs = embedded_specs(page_html)
    assert specs
    chart_strings = set().union(*(_strings(s, set()) for s in specs))
    assert not chart_strings & codes, sorted(chart_strings & codes)[:5]
    assert not chart_strings & names, sorted(chart_strings & names)[:5]
    chart_sizes = set().union(*(_size_numbers(s, set()) for s in specs))
    assert any(t.startswith("Member practice") for t in chart_strings), "no practice scanned"
    assert not {float(s) for s in own_sizes} & chart_sizes

    csv_text = embedded_numbers(page_html)
    rows = list(csv.reader(io.StringIO(csv_text)))
    cells = {c for row in rows for c in row}
    assert not cells & codes and not cells & names
    practice_cells = {c for row in rows if any(c.startswith("Member practice") for c in row)
                      for c in row}
    assert practice_cells, "no pseudonymised practice row in the numbers"
    assert not practice_cells & ({str(s) for s in own_sizes} | {f"{s}.0" for s in own_sizes})

    with offline_browser(report.html) as state:
        text = state.page.inner_text("body")
    tokens = set(re.findall(r"(?<![\w.,])\d[\d,]*(?![\w]|[.,]\d)", text))
    assert not tokens & codes
    assert not tokens & ({str(s) for s in own_sizes} | {f"{s:,}" for s in own_sizes})
    leaked = [n for n in names if re.search(rf"(?<!\w){re.escape(n)}(?!\w)", text)]
    assert leaked == []


# --- the meeting brief: the largest cluster, every indicator --------------------------------------

AXE = REPO / ".axe" / "node_modules" / "axe-core" / "axe.min.js"
SCREEN = (1280, 800)
PHONE = (390, 844)


@pytest.fixture(scope="module")
def large_report(analyst_table, run_tables, tmp_path_factory):
    practices = analyst_table[analyst_table["level"] == "practice"]
    counts = practices.groupby("cluster_id")["area_id"].nunique()
    cluster = counts.sort_values(kind="stable").index[-1]
    assert counts[cluster] >= 12
    rendered = run_report(tmp_path_factory.mktemp("large"), cluster_id=cluster,
                          period_end=SYNTHETIC_PERIOD_END, months=MONTHS, audience="cluster",
                          indicator_table=str(run_tables))
    return rendered, cluster


def test_large_report_is_at_most_1_5_mb_with_every_indicator(large_report):
    rendered, _ = large_report
    parts = measure_html(rendered.html)
    assert parts["total"] <= 1_500_000, parts
    assert len(embedded_specs(rendered.html.read_text(encoding="utf-8"))) >= 4 * 16


def test_first_screen_holds_the_cluster_name_the_period_and_what_to_discuss(large_report, analyst_table):
    rendered, cluster = large_report
    name = str(analyst_table.loc[analyst_table["area_id"] == cluster, "area_name"].iloc[0])
    with offline_browser(rendered.html, viewport=SCREEN) as state:
        page = state.page
        assert page.locator("h1").count() == 1
        assert page.locator("h1").inner_text().strip() == name

        def bottom(selector):
            box = page.locator(selector).first.bounding_box()
            return box["y"] + box["height"]
        assert bottom("h1") <= SCREEN[1]
        period = page.locator(".cqi-period")
        assert re.search(r"12 months to Sep 2026; trends show the last 24 months", period.inner_text())
        assert bottom(".cqi-period") <= SCREEN[1]
        assert page.locator("h2#what-to-discuss").inner_text() == "What to discuss"
        first_item = ".cqi-discuss li" if page.locator(".cqi-discuss li").count() else ".cqi-brief p"
        assert bottom(first_item) <= SCREEN[1]
        # the contents list comes after the headline, not before it
        assert page.locator("nav.cqi-toc").bounding_box()["y"] > page.locator("h2#what-to-discuss").bounding_box()["y"]


def test_no_developer_text_reaches_the_reader(large_report):
    rendered, _ = large_report
    with offline_browser(rendered.html, viewport=SCREEN) as state:
        text = state.page.inner_text("body")
    for words in ("JupyterLab", "clusterqi batch", "render_html", "papermill", "notebook",
                  "Run it in"):
        assert words not in text, words


def test_collapsed_report_is_at_most_8_screens_and_nothing_scrolls_sideways_on_a_phone(large_report):
    rendered, _ = large_report
    with offline_browser(rendered.html, viewport=SCREEN) as state:
        height = state.page.evaluate("document.documentElement.scrollHeight")
        assert height <= 8 * SCREEN[1], f"{height / SCREEN[1]:.1f} screens"
    with offline_browser(rendered.html, viewport=PHONE) as state:
        page = state.page
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE[0]
        wide = page.evaluate("""(w) => Array.from(document.querySelectorAll('.clusterqi-chart svg'))
            .filter(e => e.getBoundingClientRect().right > w + 1).length""", PHONE[0])
        assert wide == 0
        # opened, a card's charts fit too
        page.evaluate("document.querySelectorAll('details.cqi-more').forEach(d => d.open = true)")
        page.wait_for_timeout(200)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE[0]


def test_print_brief_is_at_most_two_a4_pages(large_report):
    rendered, _ = large_report
    with offline_browser(rendered.html, viewport=SCREEN) as state:
        page = state.page
        page.evaluate("cqiPrintMode('brief')")
        page.emulate_media(media="print")
        pdf = page.pdf(format="A4")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert 1 <= pages <= 2


def test_axe_finds_no_serious_or_critical_violation(large_report):
    require(AXE.is_file(), f"axe-core not installed at {AXE} (make test installs it)")
    rendered, _ = large_report
    with offline_browser(rendered.html, viewport=SCREEN) as state:
        page = state.page
        page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
        found = page.evaluate("""() => axe.run(document, {resultTypes: ['violations']}).then(r =>
            r.violations.filter(v => ['serious', 'critical'].includes(v.impact))
             .map(v => [v.id, v.impact, v.nodes.length, v.nodes[0].target.join(' ')]))""")
        assert found == []
        # with every card opened, the charts inside (funnel, trend, SPC, practices) pass too
        page.evaluate("document.querySelectorAll('details.cqi-more').forEach(d => d.open = true)")
        page.wait_for_timeout(300)
        found = page.evaluate("""() => axe.run(document, {resultTypes: ['violations']}).then(r =>
            r.violations.filter(v => ['serious', 'critical'].includes(v.impact))
             .map(v => [v.id, v.impact, v.nodes.length, v.nodes[0].target.join(' ')]))""")
        assert found == []


def test_every_chart_is_named_by_its_sentence_and_headings_do_not_skip_levels(large_report):
    rendered, _ = large_report
    with offline_browser(rendered.html, viewport=SCREEN) as state:
        page = state.page
        unnamed = page.evaluate("""() => Array.from(document.querySelectorAll('.clusterqi-chart svg.marks'))
            .filter(s => !(s.getAttribute('aria-label') || '').trim()).length""")
        assert unnamed == 0
        levels = page.evaluate("""() => Array.from(document.querySelectorAll('main h1, main h2, main h3, main h4'))
            .map(h => Number(h.tagName[1]))""")
        assert levels[0] == 1 and levels.count(1) == 1
        assert all(b - a <= 1 for a, b in zip(levels, levels[1:])), levels
        stops = page.evaluate("""() => Array.from(document.querySelectorAll('[tabindex]'))
            .filter(e => e.tabIndex >= 0 && e.tagName === 'DIV'
                    && !(e.getAttribute('aria-label') || e.getAttribute('aria-labelledby'))).length""")
        assert stops == 0
