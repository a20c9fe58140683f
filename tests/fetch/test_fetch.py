"""``fetch_latest`` and ``clusterqi fetch`` against the local PHS portal."""

from __future__ import annotations

import hashlib
import json

import pytest

from clusterqi.cli import main
from clusterqi.fetch import MANIFEST_NAME, PORTAL_ENV, RECORD_FIELDS, FetchError, fetch_latest, portal_base
from clusterqi.portal import DEFAULT_PORTAL, partial_path
from tests.fetch.phs_portal import (
    LATEST_LIST_SIZE,
    LATEST_PRACTICES,
    PITC_MONTHS,
    PRACTICES_SLUG,
    PRESCRIBING_SLUG,
    SIMD_FILE,
    SIMD_SLUG,
    expected_files,
)
from tests.fetch.portal_server import Scripted


def _csvs(folder):
    return {p.name for p in folder.iterdir() if p.suffix == ".csv"}


def test_fetch_picks_the_latest_release_of_each_dataset_and_ignores_other_files(client, portal, tmp_path):
    result = fetch_latest(tmp_path, client=client)
    assert _csvs(tmp_path) == expected_files(12)
    assert {r.file for r in result.fetched} == expected_files(12)
    assert not any(f.startswith(("disp_", "hb_pitc", "ca11", "simd2016", "simd2012")) for f in portal.downloads())
    assert result.warnings == []


def test_months_3_gets_exactly_the_three_latest_prescriber_months(client, tmp_path):
    fetch_latest(tmp_path, months=3, client=client)
    assert sorted(f for f in _csvs(tmp_path) if f.startswith("pitc")) == [f"pitc{m}.csv" for m in PITC_MONTHS[-3:]]


def test_fetch_json_records_every_file_with_its_checksum(client, portal, tmp_path):
    result = fetch_latest(tmp_path, months=2, client=client)
    manifest = json.loads((tmp_path / MANIFEST_NAME).read_text("utf-8"))
    assert result.manifest == tmp_path / MANIFEST_NAME
    assert manifest["portal"] == portal.url and manifest["months"] == 2
    assert {r["file"] for r in manifest["files"]} == expected_files(2)
    for record in manifest["files"]:
        assert tuple(record) == RECORD_FIELDS
        data = (tmp_path / record["file"]).read_bytes()
        assert record["sha256"] == hashlib.sha256(data).hexdigest()
        assert record["size"] == len(data)
    latest = next(r for r in manifest["files"] if r["file"] == LATEST_PRACTICES)
    assert latest["dataset"] == PRACTICES_SLUG and latest["period"] == "2025-01-15"
    assert latest["name"] == "GP Practices and List sizes January 2025"
    assert latest["last_modified"] == "2025-02-04T09:00:00.000001"
    assert latest["url"].startswith(portal.url) and latest["fetched_at"].endswith("+00:00")


def test_a_second_run_downloads_nothing(client, portal, tmp_path):
    fetch_latest(tmp_path, months=3, client=client)
    before = len(portal.downloads())
    result = fetch_latest(tmp_path, months=3, client=client)
    assert len(portal.downloads()) == before
    assert result.fetched == [] and {r.file for r in result.skipped} == expected_files(3)


def test_a_revised_resource_is_downloaded_again(client, portal, tmp_path):
    fetch_latest(tmp_path, months=1, client=client)
    resource = next(r for r in portal.packages[PRESCRIBING_SLUG] if r["url"].endswith("/pitc202410.csv"))
    revised = portal.files[portal.resource_path("pitc202410.csv")] + (
        b"S08000030,10017,39732311000001104,0501013B0AAABAB,Amoxicillin 500mg capsules,AMP,1,21,0.85,202410\r\n")
    portal.replace(resource, revised, last_modified="2025-04-01T00:00:00.000000")
    result = fetch_latest(tmp_path, months=1, client=client)
    assert [r.file for r in result.fetched] == ["pitc202410.csv"]
    assert result.fetched[0].last_modified == "2025-04-01T00:00:00.000000"
    assert (tmp_path / "pitc202410.csv").read_bytes() == revised


def test_a_download_cut_off_leaves_no_final_file_and_a_rerun_completes_it(client, portal, tmp_path):
    path = portal.resource_path("pitc202410.csv")
    portal.fail(path, *[Scripted(cut=True)] * 3)
    with pytest.raises(FetchError, match=r"prescriptions-in-the-community.*cut off.*gave up after 3 tries"):
        fetch_latest(tmp_path, months=3, client=client)
    assert not (tmp_path / "pitc202410.csv").exists()
    assert partial_path(tmp_path / "pitc202410.csv").exists()
    # files finished before the failure are recorded, so the rerun skips them
    done = {r["file"] for r in json.loads((tmp_path / MANIFEST_NAME).read_text("utf-8"))["files"]}
    assert done == {LATEST_PRACTICES, "practice_listsizes_jan2025-open-data.csv"}

    result = fetch_latest(tmp_path, months=3, client=client)
    assert (tmp_path / "pitc202410.csv").read_bytes() == portal.files[path]
    assert {r.file for r in result.skipped} == done
    assert _csvs(tmp_path) == expected_files(3)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_429_with_retry_after_is_honoured_during_a_fetch(client, portal, sleeps, tmp_path):
    portal.fail(portal.resource_path("hb14_hb19.csv"), Scripted(429, {"Retry-After": "3"}, b"Too Many Requests"))
    fetch_latest(tmp_path, months=1, client=client)
    assert sleeps == [3.0]
    assert (tmp_path / "hb14_hb19.csv").is_file()


def test_a_missing_dataset_fails_before_any_download(client, portal, sleeps, tmp_path):
    del portal.packages[PRESCRIBING_SLUG]
    with pytest.raises(FetchError, match=rf"'{PRESCRIBING_SLUG}'.*HTTP 404.*'Not found'"):
        fetch_latest(tmp_path, client=client)
    assert portal.downloads() == [] and sleeps == []


def test_the_fetched_folder_loads_with_load_dataset(client, tmp_path, monkeypatch):
    from clusterqi.loaders import load_dataset

    monkeypatch.setenv("CLUSTERQI_CACHE", str(tmp_path / "cache"))
    fetch_latest(tmp_path / "phs", months=3, client=client)
    data = load_dataset(tmp_path / "phs")
    assert sorted(data.practices["practice_code"]) == ["10002", "10017", "10036"]
    assert data.practices.set_index("practice_code").loc["10002", "list_size"] == LATEST_LIST_SIZE
    assert sorted(f"{m:%Y%m}" for m in data.prescribing["month"].unique()) == PITC_MONTHS[-3:]
    assert set(data.populations["date"].dt.strftime("%Y-%m-%d")) == {"2025-01-01"}
    assert set(data.lookups["hb"]["hb_code"]) == {"S08000030"}
    # the fetched SIMD gives every practice its premises' deprivation: no SIMD warning either
    simd = data.practices.set_index("practice_code")[["data_zone", "simd_rank", "simd_decile", "simd_quintile"]]
    assert simd.loc["10002"].tolist() == ["S01007129", 6199, 9, 5]
    assert simd["simd_quintile"].notna().all() and len(data.simd) == 3
    assert data.warnings.empty


def test_portal_address_comes_from_argument_then_environment_then_default(monkeypatch):
    monkeypatch.delenv(PORTAL_ENV, raising=False)
    assert portal_base() == DEFAULT_PORTAL
    monkeypatch.setenv(PORTAL_ENV, "http://mirror.example/")
    assert portal_base() == "http://mirror.example"
    assert portal_base("http://other.example") == "http://other.example"


def test_months_below_one_is_refused(client, tmp_path):
    with pytest.raises(FetchError, match="at least 1 month"):
        fetch_latest(tmp_path, months=0, client=client)


def test_cli_fetch_prints_what_it_fetched_and_where_fetch_json_is(portal, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(PORTAL_ENV, portal.url)
    assert main(["fetch", "--out", str(tmp_path), "--months", "2"]) == 0
    out = capsys.readouterr().out
    assert "fetched: 7 file(s)" in out and "pitc202410.csv  (prescriptions-in-the-community, 2024-10;" in out
    assert f"fetch.json: {tmp_path / MANIFEST_NAME}" in out
    assert main(["fetch", "--out", str(tmp_path), "--months", "2", "--portal", portal.url]) == 0
    assert "unchanged, skipped: 7 file(s)" in capsys.readouterr().out


def test_cli_fetch_reports_a_portal_error_without_a_traceback(portal, tmp_path, capsys):
    del portal.packages[PRACTICES_SLUG]
    assert main(["fetch", "--out", str(tmp_path), "--portal", portal.url]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"clusterqi: error: dataset '{PRACTICES_SLUG}'") and "Traceback" not in err


def test_the_simd_file_is_fetched_from_its_dataset_and_recorded(client, portal, tmp_path):
    result = fetch_latest(tmp_path, months=1, client=client)
    record = next(r for r in result.fetched if r.file == SIMD_FILE)
    assert record.dataset == SIMD_SLUG and record.name == "SIMD 2020v2" and record.period == ""
    assert (tmp_path / SIMD_FILE).read_bytes() == portal.files[portal.resource_path(SIMD_FILE)]


def test_a_portal_without_simd_2020v2_fails_naming_the_file(client, portal, tmp_path):
    portal.packages[SIMD_SLUG] = [r for r in portal.packages[SIMD_SLUG] if not r["url"].endswith(SIMD_FILE)]
    with pytest.raises(FetchError, match=rf"'{SIMD_SLUG}'.*{SIMD_FILE}"):
        fetch_latest(tmp_path, months=1, client=client)
    assert portal.downloads() == []
