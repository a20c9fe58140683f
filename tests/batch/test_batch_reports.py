"""`clusterqi batch` with the real report notebook: complete index and manifest, nothing leaks."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from io import StringIO

import pandas as pd
import pytest

from clusterqi.charts.offline import embedded_specs
from clusterqi.cli import main
from clusterqi.report_html import embedded_numbers
from tests.batch.conftest import REPORT_NOTEBOOK, write_run_file
from tests.conftest import require

pytestmark = pytest.mark.slow
CODE_TOKEN = re.compile(r"(?<![\d.,])\d{5}(?![\d.,])")
SIZE_FIELDS = re.compile(r"size|denominator|list", re.IGNORECASE)
# Altair names each inline dataset after a hash of its content ("data-" + 32 hex digits). Such a
# name can hold five digits in a row by chance ("...c61754b..."), which is no practice code.
DATASET_NAME = re.compile(r"data-[0-9a-f]{32}")


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("script", "style")
        self.parts += [v for k, v in attrs if k in ("title", "alt", "aria-label") and v]

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def _practice_records(value):
    """Every dict in a spec that describes a pseudonymised practice ("Member practice B")."""
    if isinstance(value, dict):
        if any(isinstance(v, str) and v.startswith("Member practice") for v in value.values()):
            yield value
        for v in value.values():
            yield from _practice_records(v)
    elif isinstance(value, list):
        for v in value:
            yield from _practice_records(v)


def _walk(value, key=""):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v, key)
    else:
        yield key, value


@pytest.fixture(scope="module")
def cluster_batch(tmp_path_factory, some_clusters):
    require(REPORT_NOTEBOOK.is_file(), f"report notebook not found at {REPORT_NOTEBOOK}")
    folder = tmp_path_factory.mktemp("cluster-batch")
    run_file = write_run_file(folder, notebook=str(REPORT_NOTEBOOK), clusters=some_clusters[:2], audience="cluster")
    code = main(["batch", str(run_file), "--workers", "2"])
    return code, folder / "out", some_clusters[:2]


def test_batch_command_exits_zero_and_writes_every_report(cluster_batch):
    code, out, clusters = cluster_batch
    assert code == 0
    assert sorted(p.stem for p in out.glob("*.html") if p.name != "index.html") == sorted(clusters)


def test_index_lists_every_cluster_with_area_size_status_and_link_and_no_practice_names(
    cluster_batch, synthetic_dataset
):
    from clusterqi.runfile import cluster_directory

    _, out, clusters = cluster_batch
    page = (out / "index.html").read_text(encoding="utf-8")
    directory = cluster_directory(synthetic_dataset).set_index("cluster_id")
    for cid in clusters:
        row = re.search(rf'<tr data-cluster="{cid}">(.*?)</tr>', page).group(1)
        facts = directory.loc[cid]
        for text in (facts["hb_name"], facts["hscp_name"], f'href="{cid}.html"', f">{facts['practices']}<", "done"):
            assert str(text) in row, (cid, text)
    assert 'type="search"' in page and "<script>" in page and "http" not in page
    assert not any(name in page for name in synthetic_dataset.practices["practice_name"])


def test_manifest_records_parameters_inputs_definitions_version_and_each_report(cluster_batch):
    from clusterqi import __version__
    from clusterqi.indicators import catalogue_hash

    _, out, clusters = cluster_batch
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["parameters"]["audience"] == "cluster" and manifest["parameters"]["period_end"] == "2026-09"
    assert manifest["clusterqi_version"] == __version__
    assert manifest["indicator_definitions_sha256"] == catalogue_hash()
    assert manifest["inputs"] and all(len(item["sha256"]) == 64 for item in manifest["inputs"])
    import hashlib

    for cid in clusters:
        entry = manifest["clusters"][cid]
        assert entry["status"] == "done" and entry["seconds"] > 0
        assert entry["output_sha256"] == hashlib.sha256((out / entry["output"]).read_bytes()).hexdigest()


def test_no_report_of_a_cluster_audience_batch_holds_a_practice_name_code_or_list_size(
    cluster_batch, synthetic_dataset
):
    from clusterqi.charts.offline import RUNTIME_PATTERN

    _, out, clusters = cluster_batch
    practices = synthetic_dataset.practices
    codes = set(practices["practice_code"])
    names = [n for n in practices["practice_name"] if n]
    problems = []
    for cid in clusters:
        page = RUNTIME_PATTERN.sub("", (out / f"{cid}.html").read_text(encoding="utf-8"))
        own = practices.loc[practices["cluster_id"] == cid, "list_size"].dropna().astype(float)
        strings: list[str] = []
        sizes: list[float] = []
        parser = _Text()
        parser.feed(page)
        strings += parser.parts
        specs = embedded_specs(page)
        assert specs, f"{cid}: no chart specs found"
        for spec in specs:
            for key, value in _walk(spec):
                if isinstance(value, str) and not (key == "name" and DATASET_NAME.fullmatch(value)):
                    strings.append(value)
            # sizes beside a pseudonym would name the practice (PHS list sizes are public); a
            # cluster's item count that happens to equal a list size names no one
            for record in _practice_records(spec):
                sizes += [float(v) for k, v in record.items()
                          if isinstance(v, (int, float)) and SIZE_FIELDS.search(k)]
        csv_text = embedded_numbers(page)
        assert csv_text is not None, f"{cid}: no embedded numbers"
        table = pd.read_csv(StringIO(csv_text), dtype=str)
        pseudonymised = table["area_name"].fillna("").str.startswith("Member practice")
        for column in table.columns:
            numbers = pd.to_numeric(table[column], errors="coerce")
            if SIZE_FIELDS.search(column):
                sizes += numbers[pseudonymised].dropna().tolist()
            elif numbers.notna().sum() < table[column].notna().sum():  # a text column
                strings += table[column].dropna().tolist()
        assert any("Member practice" in text for text in strings), f"{cid}: chart data was not scanned"
        for text in strings:
            if set(CODE_TOKEN.findall(text)) & codes:
                problems.append(f"{cid}: practice code in {text!r}")
            problems += [f"{cid}: practice name {n!r}" for n in names if n in text]
        problems += [f"{cid}: exact list size {s:g}" for s in set(sizes) & set(own)]
    assert problems == []


def test_a_batch_on_a_warm_cache_starts_no_process_to_prepare_tables(cluster_batch, monkeypatch):
    """The batch above left its tables and suppression marks in the cache: the next batch of the
    same run uses them as they are, without the child process that prepares them."""
    import clusterqi.batch as batch
    from clusterqi.runfile import load_run_file

    _, out, _ = cluster_batch

    def no_child(*args, **kwargs):
        raise AssertionError("a child process was started to prepare tables already in the cache")

    run = load_run_file(out.parent / "run.yaml")
    earlier = batch.earlier_period_end(run.period_end)
    monkeypatch.setattr(batch, "ProcessPoolExecutor", no_child)
    table = batch._prepare_tables(run, earlier)
    assert table.is_file() and table.name == "indicators.parquet"
    assert (table.parent / "suppression-t5-true.parquet").is_file()
