"""The CKAN client against the local portal: retries, Retry-After, errors, User-Agent."""

from __future__ import annotations

import json

import pytest

from clusterqi import __version__
from clusterqi.portal import MAX_RETRY_AFTER, FetchError, PortalClient, partial_path
from tests.fetch.phs_portal import GEOGRAPHY_SLUG, PRESCRIBING_SLUG
from tests.fetch.portal_server import Scripted


def test_package_show_returns_the_dataset_with_its_resources(client):
    package = client.package_show(GEOGRAPHY_SLUG)
    assert {r["name"] for r in package["resources"]} >= {"HSCP 2016 - HSCP 2019"}


def test_requests_identify_clusterqi_by_user_agent(client, portal):
    client.package_show(GEOGRAPHY_SLUG)
    _, headers = portal.requests[-1]
    assert headers["User-Agent"].startswith(f"clusterqi/{__version__} (+")


def test_429_with_retry_after_waits_as_long_as_the_portal_asked(client, portal, sleeps):
    path = portal.package_path(GEOGRAPHY_SLUG)
    portal.fail(path, Scripted(429, {"Retry-After": "7"}, b'{"success": false}'))
    assert client.package_show(GEOGRAPHY_SLUG)["resources"]
    assert sleeps == [7.0]
    assert portal.hits(path) == 2


def test_503_retries_then_gives_up_after_three_tries_with_growing_backoff(client, portal, sleeps):
    path = portal.package_path(GEOGRAPHY_SLUG)
    portal.fail(path, *[Scripted(503, {}, b"Service Unavailable")] * 3)
    with pytest.raises(FetchError) as raised:
        client.package_show(GEOGRAPHY_SLUG)
    assert portal.hits(path) == 3
    assert sleeps == [1.0, 2.0]  # jitter at its maximum: base, then doubled
    message = str(raised.value)
    assert GEOGRAPHY_SLUG in message and "HTTP 503" in message and "'Service Unavailable'" in message
    assert "gave up after 3 tries" in message


def test_a_retry_after_longer_than_the_limit_is_reported_not_waited_on(client, portal, sleeps):
    path = portal.package_path(GEOGRAPHY_SLUG)
    portal.fail(path, Scripted(429, {"Retry-After": str(int(MAX_RETRY_AFTER) + 1)}, b""))
    with pytest.raises(FetchError, match="asked to wait"):
        client.package_show(GEOGRAPHY_SLUG)
    assert sleeps == []


def test_404_is_a_clear_error_quoting_the_portal_without_retries(client, portal, sleeps):
    with pytest.raises(FetchError) as raised:
        client.package_show("no-such-dataset")
    message = str(raised.value)
    assert "'no-such-dataset'" in message and "HTTP 404" in message
    assert "'Not found' (Not Found Error)" in message
    assert portal.hits(portal.package_path("no-such-dataset")) == 1
    assert sleeps == []


def test_409_validation_error_is_not_retried(client, portal, sleeps):
    path = portal.package_path(GEOGRAPHY_SLUG)
    body = json.dumps({"success": False, "error": {"message": "Bad id", "__type": "Validation Error"}}).encode()
    portal.fail(path, Scripted(409, {"Content-Type": "application/json"}, body))
    with pytest.raises(FetchError, match=r"HTTP 409 .*'Bad id' \(Validation Error\)"):
        client.package_show(GEOGRAPHY_SLUG)
    assert portal.hits(path) == 1 and sleeps == []


def test_success_false_with_status_200_is_a_clear_error_without_retries(client, portal, sleeps):
    path = portal.package_path(PRESCRIBING_SLUG)
    body = json.dumps({"help": "x", "success": False,
                       "error": {"message": "Access denied", "__type": "Authorization Error"}}).encode()
    portal.fail(path, Scripted(200, {"Content-Type": "application/json"}, body))
    with pytest.raises(FetchError) as raised:
        client.package_show(PRESCRIBING_SLUG)
    assert str(raised.value).startswith(f"dataset '{PRESCRIBING_SLUG}'")
    assert "success: false: 'Access denied' (Authorization Error)" in str(raised.value)
    assert portal.hits(path) == 1 and sleeps == []


def test_an_answer_that_is_not_json_is_a_clear_error(client, portal):
    portal.fail(portal.package_path(GEOGRAPHY_SLUG), Scripted(200, {}, b"<html>maintenance</html>"))
    with pytest.raises(FetchError, match=r"not JSON: '<html>maintenance</html>'"):
        client.package_show(GEOGRAPHY_SLUG)


def test_connection_refused_is_retried_then_reported(sleeps):
    client = PortalClient("http://127.0.0.1:9", timeout=2, sleep=sleeps.append, jitter=lambda a, b: b,
                          progress=False)
    with pytest.raises(FetchError, match=r"network error.*gave up after 3 tries"):
        client.package_show(GEOGRAPHY_SLUG)
    assert len(sleeps) == 2


def test_portal_address_must_be_http():
    with pytest.raises(FetchError, match="expected an http"):
        PortalClient("ftp://example.org")


def _resource(client, file):
    package = client.package_show(PRESCRIBING_SLUG)
    return next(r for r in package["resources"] if r["url"].endswith("/" + file))


def test_download_that_is_cut_off_once_resumes_with_a_range_request(client, portal, tmp_path, sleeps):
    resource = _resource(client, "pitc202410.csv")
    path = portal.resource_path("pitc202410.csv")
    portal.fail(path, Scripted(cut=True))
    done = client.download(resource, tmp_path / "pitc202410.csv", dataset=PRESCRIBING_SLUG, resume_key="v1")
    assert (tmp_path / "pitc202410.csv").read_bytes() == portal.files[path]
    assert done.resumed_from == len(portal.files[path]) // 2
    assert portal.requests[-1][1]["Range"] == f"bytes={done.resumed_from}-"
    assert len(sleeps) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pitc202410.csv"]


def test_a_partial_file_of_another_version_is_discarded_not_resumed(client, portal, tmp_path):
    resource = _resource(client, "pitc202410.csv")
    final = tmp_path / "pitc202410.csv"
    partial_path(final).write_bytes(b"stale bytes from an older revision")
    done = client.download(resource, final, dataset=PRESCRIBING_SLUG, resume_key="v2")
    assert done.resumed_from == 0
    assert final.read_bytes() == portal.files[portal.resource_path("pitc202410.csv")]
    assert "Range" not in portal.requests[-1][1]


def test_a_file_whose_size_disagrees_with_the_portal_is_not_put_in_place(client, tmp_path):
    resource = dict(_resource(client, "pitc202410.csv"))
    resource["size"] = resource["size"] + 5
    with pytest.raises(FetchError, match=r"pitc202410\.csv.*lists size"):
        client.download(resource, tmp_path / "pitc202410.csv", dataset=PRESCRIBING_SLUG)
    assert list(tmp_path.iterdir()) == []


def test_a_missing_file_is_a_404_error_naming_dataset_and_resource(client, portal, tmp_path, sleeps):
    resource = dict(_resource(client, "pitc202410.csv"))
    resource["url"] = resource["url"].replace("pitc202410", "pitc209901")
    with pytest.raises(FetchError) as raised:
        client.download(resource, tmp_path / "pitc209901.csv", dataset=PRESCRIBING_SLUG)
    assert f"dataset '{PRESCRIBING_SLUG}', resource 'Data by Prescriber Location - October 2024'" in str(raised.value)
    assert "HTTP 404" in str(raised.value)
    assert sleeps == [] and portal.hits("pitc209901.csv") == 1
    assert not (tmp_path / "pitc209901.csv").exists()
