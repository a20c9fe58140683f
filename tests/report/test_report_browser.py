"""A normal cluster's report, audience "cluster": it draws offline in chromium, its dropdown and
practice highlight work without a kernel, and it holds no practice name, code or list size."""

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
from tests.conftest import SYNTHETIC_PERIOD_END
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
        assert text.startswith("indicator_id,level,")
        assert state.errors == []
        assert state.requests == [report.html.resolve().as_uri()]


def _view_with(page, signal: str) -> str:
    """The chartId of the first embedded view that has ``signal``."""
    return page.evaluate(
        """(name) => {
            for (const r of window.clusterqiViews) {
                try { r.view.signal(name); return r.chartId; } catch (e) {}
            }
            return null;
        }""", signal)


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
