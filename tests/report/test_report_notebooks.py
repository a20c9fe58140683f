"""The notebook through papermill for the awkward clusters: 2 practices, a suppressed indicator,
and names that are HTML (a practice named <script>alert(1)</script> must render as text)."""

from __future__ import annotations

import csv
import io
import re
import shutil

import pandas as pd
import pytest

from clusterqi.charts.offline import CHART_CLASS
from clusterqi.report_html import embedded_numbers
from clusterqi.report import QUALITY_FILE, RUN_FILE
from tests.conftest import SYNTHETIC_PERIOD_END
from tests.report.conftest import MONTHS, offline_browser, run_report

pytestmark = pytest.mark.slow

XSS_CLUSTER_NAME = "<script>alert(1)</script>"
XSS_PRACTICE_NAME = "<img src=x onerror=alert(2)>"


def _csv_rows(page: str) -> list[dict]:
    text = embedded_numbers(page)
    return list(csv.DictReader(io.StringIO(text)))


def test_two_practice_cluster_withholds_practice_rows_and_still_renders(
        two_practice_cluster, run_tables, tmp_path):
    report = run_report(tmp_path, cluster_id=two_practice_cluster, period_end=SYNTHETIC_PERIOD_END,
                        months=MONTHS, audience="cluster", indicator_table=str(run_tables))
    page = report.html.read_text(encoding="utf-8")
    rows = _csv_rows(page)
    assert rows and not [r for r in rows if r["level"] == "practice"]
    assert any(r["level"] == "cluster" for r in rows)
    assert "Practice-level figures are not shown for this cluster" in page
    assert not re.search(r'"Member practice [A-Z]"', page)  # no practice series in any chart
    assert page.count(f'class="{CHART_CLASS}"') >= 3


def test_suppressed_indicator_shows_qualifier_c_and_no_small_count(
        suppressed_cluster, analyst_table, run_tables, tmp_path):
    cluster_id, indicator_id = suppressed_cluster
    report = run_report(tmp_path, cluster_id=cluster_id, period_end=SYNTHETIC_PERIOD_END,
                        months=MONTHS, audience="cluster", indicators=[indicator_id],
                        indicator_table=str(run_tables))
    rows = _csv_rows(report.html.read_text(encoding="utf-8"))
    hidden = [r for r in rows if r["qualifier"] == "c"]
    assert hidden, "the planted small count was not suppressed"
    assert all(r["numerator"] == "" and r["value"] == "" for r in hidden)
    with offline_browser(report.html) as state:
        charts = state.page.locator(f".{CHART_CLASS}").count()
        assert state.page.locator(f".{CHART_CLASS} svg.marks").count() == charts
        assert state.errors == []


def test_names_that_are_html_render_as_text_and_never_run(normal_cluster, run_tables, tmp_path):
    """An analyst report (names shown) of a cluster and practice whose names are markup."""
    folder = tmp_path / "run"
    folder.mkdir()
    table = pd.read_parquet(run_tables)
    cluster_rows = (table["level"] == "cluster") & (table["area_id"] == normal_cluster)
    table.loc[cluster_rows, "area_name"] = XSS_CLUSTER_NAME
    member = table.loc[(table["level"] == "practice") & (table["cluster_id"] == normal_cluster), "area_id"].iloc[0]
    table.loc[(table["level"] == "practice") & (table["area_id"] == member), "area_name"] = XSS_PRACTICE_NAME
    table.to_parquet(folder / run_tables.name, index=False)
    for name in (QUALITY_FILE, RUN_FILE):
        shutil.copy(run_tables.with_name(name), folder / name)
    report = run_report(tmp_path / "out", cluster_id=normal_cluster, period_end=SYNTHETIC_PERIOD_END,
                        months=MONTHS, audience="analyst", indicators=[str(table["indicator_id"].iloc[0])],
                        indicator_table=str(folder / run_tables.name))
    page = report.html.read_text(encoding="utf-8")
    markup = re.sub(r"<script\b.*?</script>", "", page, flags=re.S)  # chart data is JSON, not HTML
    assert XSS_CLUSTER_NAME not in markup and XSS_PRACTICE_NAME not in markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markup
    assert XSS_CLUSTER_NAME not in page  # not even inside a script: "</" is escaped there
    with offline_browser(report.html) as state:
        assert state.dialogs == []
        assert state.page.locator("h1#report-title").inner_text().startswith(XSS_CLUSTER_NAME)
        assert XSS_PRACTICE_NAME in state.page.text_content("body")  # as text (tables folded away)
        assert state.page.locator("img[src=x]").count() == 0
        assert state.errors == []


def test_local_measure_is_released_with_its_pdsa_cycles(run_tables, synthetic_dir):
    """The shipped example measure (hospital letters, cluster "Dunmore Firth South 7")."""
    from clusterqi.report import build_report
    from tests.conftest import REPO

    example = REPO / "parameters" / "local_measures" / "hospital_letters.yaml"
    report = build_report(cluster_id="dunmore-firth-south-7", period_end=SYNTHETIC_PERIOD_END,
                          months=MONTHS, data=str(synthetic_dir), indicator_table=str(run_tables),
                          indicators=["antibacterial_items_per_1000_per_day"],
                          local_measures=str(example))
    assert report.local.attrs["releasable"] is True
    cluster_rows = report.local[report.local["level"] == "cluster"]
    assert len(cluster_rows) >= 12 and cluster_rows["area_id"].eq("dunmore-firth-south-7").all()
    practice_names = set(report.local.loc[report.local["level"] == "practice", "area_name"])
    assert practice_names and all(n.startswith("Member practice") for n in practice_names)
    assert len(report.local_annotations) == 2


def test_since_the_last_report_names_the_earlier_period_after_what_to_discuss(
        normal_cluster, run_tables, tmp_path):
    """Without a previous run, the report compares with the same 12 months one quarter earlier,
    recalculated from the data; the count travels in the header metadata and the section."""
    import nbformat

    from clusterqi.report_html import REPORT_METADATA_KEY

    report = run_report(tmp_path, cluster_id=normal_cluster, period_end=SYNTHETIC_PERIOD_END,
                        months=MONTHS, audience="cluster", indicator_table=str(run_tables))
    page = report.html.read_text(encoding="utf-8")
    section = re.search(r"<section class='cqi-since'[^>]*data-clusterqi-changes='(\d+)'.*?</section>", page, re.S)
    assert section, "no 'Since the last report' section with its count"
    text = section.group(0)
    assert "<h2 id='since-last-report'>Since the last report</h2>" in text
    assert ("Compared with the 12 months to Jun 2026, the same length of time one quarter earlier, "
            "recalculated from the data") in text
    count = int(section.group(1))
    items = text.count("<li>")
    assert items == min(count, 5)
    if count == 0:
        assert "No change worth a mention since the 12 months to Jun 2026." in text
    assert page.index("id='what-to-discuss'") < section.start() < page.index("id='at-a-glance'")
    executed = nbformat.read(report.notebook, as_version=4)
    header = next(o["metadata"][REPORT_METADATA_KEY] for c in executed.cells for o in c.get("outputs", [])
                  if REPORT_METADATA_KEY in o.get("metadata", {}))
    assert header["changes"] == count


def test_since_the_last_report_says_why_when_the_data_stop_short(normal_cluster, run_tables):
    from clusterqi.report import build_report

    report = build_report(cluster_id=normal_cluster, period_end=SYNTHETIC_PERIOD_END, months=MONTHS,
                          indicator_table=str(run_tables), previous_period_end="2024-12")
    assert report.since.compared is False and report.since.count is None
    assert "the data do not reach back far enough" in report.since.reason
