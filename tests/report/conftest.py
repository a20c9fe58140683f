"""Fixtures for the report tests: one run's tables, clusters chosen from the data, a report runner
and an offline browser (Debian chromium, network blocked and every request recorded)."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import CHROMIUM, REPO, SYNTHETIC_PERIOD_END, require

NOTEBOOK = REPO / "notebooks" / "cluster_report.ipynb"
MONTHS = 12
THRESHOLD = 5
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


@pytest.fixture(scope="session")
def run_tables(synthetic_dir, tmp_path_factory) -> Path:
    """prepare_run_tables on synthetic Scotland, once per session (what a batch passes)."""
    from clusterqi.report import prepare_run_tables

    return prepare_run_tables(synthetic_dir, SYNTHETIC_PERIOD_END, MONTHS,
                              tmp_path_factory.mktemp("run"))


@pytest.fixture(scope="session")
def analyst_table(run_tables) -> pd.DataFrame:
    return pd.read_parquet(run_tables)


@pytest.fixture(scope="session")
def ground_truth(synthetic_dir) -> pd.DataFrame:
    return pd.read_csv(synthetic_dir / "ground_truth.csv", dtype=str)


def _practice_counts(table: pd.DataFrame) -> pd.Series:
    practices = table[table["level"] == "practice"]
    return practices.groupby("cluster_id")["area_id"].nunique()


def _planted_clusters(table: pd.DataFrame, truth: pd.DataFrame) -> set[str]:
    """Clusters holding a planted unit (kept out of the "normal" choice)."""
    practices = table[table["level"] == "practice"].drop_duplicates("area_id")
    cluster_of = dict(zip(practices["area_id"].astype(str), practices["cluster_id"].astype(str)))
    return {cluster_of.get(u, u) for u in truth["unit_id"].dropna()}


#: An indicator whose practice rows are suppressed more often than this is low-volume by nature
#: (e.g. methotrexate 10 mg, liothyronine): every cluster has suppressed months of it.
LOW_VOLUME_SHARE = 0.01


def _suppressed_clusters(table: pd.DataFrame) -> set[str]:
    """Clusters with a suppressed practice cell of an indicator that is seldom suppressed."""
    practices = table[table["level"] == "practice"]
    count = practices.get("numerator_items", practices["numerator"])
    small = count.between(1, THRESHOLD - 1)
    share = small.groupby(practices["indicator_id"]).mean()
    common = share[share <= LOW_VOLUME_SHARE].index
    rows = practices[small & practices["indicator_id"].isin(common)]
    return set(rows["cluster_id"].dropna().astype(str))


@pytest.fixture(scope="session")
def normal_cluster(analyst_table, ground_truth) -> str:
    """A cluster of 4-8 practices with nothing planted and no suppressed cell."""
    counts = _practice_counts(analyst_table)
    skip = _planted_clusters(analyst_table, ground_truth) | _suppressed_clusters(analyst_table)
    choices = sorted(c for c, n in counts.items() if 4 <= n <= 8 and c not in skip)
    require(bool(choices), "synthetic Scotland has no ordinary cluster of 4-8 practices")
    return choices[0]


@pytest.fixture(scope="session")
def two_practice_cluster(analyst_table, ground_truth) -> str:
    """The planted 2-practice cluster (ground_truth small_cluster of size 2)."""
    rows = ground_truth[(ground_truth["kind"] == "small_cluster") & (ground_truth["size"] == "2")]
    require(len(rows) == 1, "ground_truth.csv has no single 2-practice small_cluster")
    cluster_id = rows["unit_id"].iloc[0]
    assert _practice_counts(analyst_table)[cluster_id] == 2
    return cluster_id


@pytest.fixture(scope="session")
def suppressed_cluster(analyst_table) -> tuple[str, str]:
    """(cluster, indicator) where a member practice has a count of 1-4: suppressed at threshold 5."""
    counts = _practice_counts(analyst_table)
    rows = analyst_table[(analyst_table["level"] == "practice")
                         & analyst_table["numerator"].between(1, THRESHOLD - 1)]
    rows = rows[rows["cluster_id"].map(counts).fillna(0) >= 3]
    require(len(rows) > 0, "synthetic Scotland has no practice count below the threshold")
    first = rows.sort_values(["cluster_id", "indicator_id"]).iloc[0]
    return str(first["cluster_id"]), str(first["indicator_id"])


@dataclass
class RenderedReport:
    html: Path
    notebook: Path
    execute_seconds: float
    render_seconds: float


def run_report(out_dir: Path, **parameters) -> RenderedReport:
    """Execute the report notebook with papermill (as the batch does) and render its HTML."""
    import papermill

    from clusterqi.report import render_html

    out_dir.mkdir(parents=True, exist_ok=True)
    executed = out_dir / f"{parameters['cluster_id']}.ipynb"
    start = time.perf_counter()
    papermill.execute_notebook(str(NOTEBOOK), str(executed), parameters=parameters,
                               progress_bar=False, cwd=str(REPO), kernel_name="python3")
    middle = time.perf_counter()
    html = render_html(executed)
    return RenderedReport(html, executed, middle - start, time.perf_counter() - middle)


@dataclass
class OfflinePage:
    page: object
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@contextlib.contextmanager
def offline_browser(html: Path, viewport=(1100, 900)):
    """Open ``html`` from disk in headless chromium with every network request blocked.

    Yields an :class:`OfflinePage` whose ``requests`` lists every URL the page asked for
    (including the file itself), ``errors`` the console errors and page errors, ``dialogs`` any
    alert() that fired. Waits until every chart has been embedded.
    """
    require(CHROMIUM.exists(), f"Debian chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
            state = OfflinePage(page)
            page.on("console", lambda m: state.errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: state.errors.append(str(e)))
            page.on("dialog", lambda d: (state.dialogs.append(d.message), d.dismiss()))

            def route(r):
                state.requests.append(r.request.url)
                if r.request.url == html.resolve().as_uri():
                    return r.continue_()
                return r.abort()

            page.route("**/*", route)
            page.goto(html.resolve().as_uri())
            charts = page.locator(".clusterqi-chart").count()
            page.wait_for_function(
                f"(window.clusterqiViews || []).length >= {charts}", timeout=60_000)
            yield state
        finally:
            browser.close()
