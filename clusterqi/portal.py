"""A small client for the PHS open data portal (CKAN): ``package_show`` and resource downloads.

Only GET requests, with the standard library's ``urllib.request``:

- ``GET {portal}/api/3/action/package_show?id=<slug>``: a dataset and its ``resources[]``;
- ``GET <resource url>``: a file, streamed to a hidden temporary file beside its final name
  (``.<name>.part``) and renamed into place only when complete and the size agrees with the
  resource's ``size``. An interrupted download resumes from the partial file (HTTP ``Range``)
  when the resource has not changed since, and restarts otherwise; a truncated file never sits
  under its final name.

Every request carries an identifying User-Agent and a timeout. Failures are retried
(:data:`MAX_TRIES` tries in all) with exponential backoff and full jitter, honouring
``Retry-After`` on 429 and 503; 404, 409 and a ``"success": false`` answer are not retried.
Errors are :class:`FetchError` naming the dataset and quoting what the portal said.

Example usage::

    client = PortalClient("https://www.opendata.nhs.scot")
    package = client.package_show("geography-codes-and-labels")
    [r["name"] for r in package["resources"]]
    client.download(resource, Path("data") / "hb14_hb19.csv", dataset="geography-codes-and-labels")
"""

from __future__ import annotations

import email.utils
import hashlib
import http.client
import json
import os
import random
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from tqdm import tqdm

from clusterqi import __version__

__all__ = [
    "DEFAULT_PORTAL",
    "PROJECT_URL",
    "USER_AGENT",
    "DEFAULT_TIMEOUT",
    "MAX_TRIES",
    "BACKOFF_BASE",
    "MAX_RETRY_AFTER",
    "CHUNK_SIZE",
    "FetchError",
    "Download",
    "PortalClient",
    "resource_file_name",
    "partial_path",
]

#: The PHS open data portal.
DEFAULT_PORTAL = "https://www.opendata.nhs.scot"
#: Where the portal's operators can read about the client that is calling.
PROJECT_URL = "https://pypi.org/project/clusterqi/"
USER_AGENT = f"clusterqi/{__version__} (+{PROJECT_URL})"
#: Seconds a connection or a single read may block.
DEFAULT_TIMEOUT = 60.0
#: Tries per request in all (the first and two retries).
MAX_TRIES = 3
#: First backoff in seconds; doubled at each retry, with full jitter (a uniform draw up to it).
BACKOFF_BASE = 1.0
#: Longest ``Retry-After`` (seconds) honoured; a portal asking for more is reported, not waited on.
MAX_RETRY_AFTER = 300.0
#: Bytes read from the network at a time.
CHUNK_SIZE = 1 << 16
#: HTTP statuses worth another try (rate limits and passing server trouble).
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Statuses whose ``Retry-After`` header is honoured.
RETRY_AFTER_STATUSES = frozenset({429, 503})
#: The longest portal answer quoted in an error message.
QUOTE_LIMIT = 300


class FetchError(RuntimeError):
    """The portal could not give what was asked: names the dataset and quotes the portal.

    Example usage::

        raise FetchError("prescriptions-in-the-community: package_show answered 404 Not Found: "
                         "'Not found' (Not Found Error); expected the dataset to exist")
    """


class _Retryable(Exception):
    """A failure worth another try; ``wait`` is the server's Retry-After, if it gave one."""

    def __init__(self, message: str, wait: float | None = None):
        super().__init__(message)
        self.wait = wait


@dataclass(frozen=True)
class Download:
    """A file put in place by :meth:`PortalClient.download`: its path, byte count and SHA-256."""

    path: Path
    size: int
    sha256: str
    resumed_from: int = 0


def resource_file_name(resource: dict) -> str:
    """The resource's own file name: the last segment of its download ``url``.

    Example usage::

        resource_file_name({"url": "https://x/dataset/a/resource/b/download/pitc202409.csv"})
        # 'pitc202409.csv'
    """
    path = urllib.parse.urlsplit(resource.get("url") or "").path
    return urllib.parse.unquote(path.rstrip("/").rsplit("/", 1)[-1]).strip()


def partial_path(final: Path) -> Path:
    """The hidden temporary file a download of ``final`` streams into (loaders skip dot files)."""
    return final.with_name(f".{final.name}.part")


def _quote(text: str) -> str:
    text = " ".join(str(text).split())
    return repr(text if len(text) <= QUOTE_LIMIT else text[:QUOTE_LIMIT] + "...")


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _portal_message(body: bytes) -> str:
    """What the portal said in an error body: CKAN's ``error.message`` and ``__type`` if JSON."""
    try:
        answer = json.loads(body.decode("utf-8", "replace"))
    except ValueError:
        return _quote(body.decode("utf-8", "replace")) if body.strip() else "(empty body)"
    if isinstance(answer, dict) and isinstance(answer.get("error"), dict):
        error = answer["error"]
        message = error.get("message") or {k: v for k, v in error.items() if k != "__type"}
        kind = error.get("__type")
        return f"{_quote(message)}" + (f" ({kind})" if kind else "")
    return _quote(json.dumps(answer))


@dataclass
class PortalClient:
    """GET-only CKAN client with retries, backoff, timeouts and an identifying User-Agent.

    ``sleep`` and ``jitter`` are injectable so tests neither wait nor draw random numbers;
    ``progress`` turns the per-file tqdm bars (bytes, with sizes) on or off; ``waits`` records
    every pause taken between tries, in seconds.

    Example usage::

        client = PortalClient(os.environ.get("CLUSTERQI_PORTAL", DEFAULT_PORTAL))
        resources = client.package_show("gp-practice-populations")["resources"]
    """

    base: str = DEFAULT_PORTAL
    timeout: float = DEFAULT_TIMEOUT
    tries: int = MAX_TRIES
    backoff: float = BACKOFF_BASE
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[float, float], float] = random.uniform
    progress: bool = True
    user_agent: str = USER_AGENT
    waits: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.base = self.base.rstrip("/")
        if not self.base.startswith(("http://", "https://")):
            raise FetchError(f"portal {self.base!r}: expected an http:// or https:// address")

    # --- requests with retries ------------------------------------------------------------

    def _open(self, url: str, headers: dict[str, str] | None = None):
        request = urllib.request.Request(url, headers={"User-Agent": self.user_agent, **(headers or {})})
        return urllib.request.urlopen(request, timeout=self.timeout)  # noqa: S310 (http/https checked)

    def _with_retries(self, what: str, attempt: Callable[[], object]):
        """Run ``attempt`` up to ``tries`` times, sleeping between retryable failures."""
        for number in range(1, self.tries + 1):
            try:
                return attempt()
            except _Retryable as failure:
                if number == self.tries:
                    tries = f"{self.tries} {'try' if self.tries == 1 else 'tries'}"
                    raise FetchError(f"{what}: {failure} (gave up after {tries})") from None
                if failure.wait is not None:
                    if failure.wait > MAX_RETRY_AFTER:
                        raise FetchError(
                            f"{what}: {failure}; the portal asked to wait {failure.wait:.0f} s "
                            f"(more than {MAX_RETRY_AFTER:.0f} s): try again later") from None
                    wait = failure.wait
                else:
                    wait = self.jitter(0.0, self.backoff * 2 ** (number - 1))
                self.waits.append(wait)
                self.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _http_failure(self, what: str, error: urllib.error.HTTPError) -> Exception:
        """A retryable failure or a final FetchError for an HTTP error status."""
        try:
            body = error.read()
        except (OSError, http.client.HTTPException):
            body = b""
        said = f"HTTP {error.code} {error.reason}: {_portal_message(body)}"
        if error.code in RETRY_STATUSES:
            wait = _retry_after(error.headers.get("Retry-After")) if error.code in RETRY_AFTER_STATUSES else None
            return _Retryable(said, wait)
        hint = {404: "expected it to exist on the portal", 409: "the portal rejected the request"}.get(
            error.code, "not retried")
        return FetchError(f"{what}: {said}; {hint}")

    def package_show(self, slug: str) -> dict:
        """The dataset ``slug`` (CKAN ``result``: name, title, ``resources[]``...).

        Raises FetchError naming the dataset for a 404/409, a ``success: false`` answer, an
        answer that is not CKAN JSON, or repeated network failures.
        """
        url = f"{self.base}/api/3/action/package_show?{urllib.parse.urlencode({'id': slug})}"
        what = f"dataset {slug!r} ({url})"

        def attempt():
            try:
                with self._open(url, {"Accept": "application/json"}) as response:
                    body = response.read()
            except urllib.error.HTTPError as error:
                failure = self._http_failure(what, error)
                raise failure from None
            except (urllib.error.URLError, TimeoutError, socket.timeout, ConnectionError,
                    http.client.HTTPException) as error:
                raise _Retryable(f"network error: {getattr(error, 'reason', error)}") from None
            try:
                answer = json.loads(body.decode("utf-8"))
            except ValueError:
                said = _quote(body[:QUOTE_LIMIT].decode("utf-8", "replace"))
                raise FetchError(f"{what}: the answer is not JSON: {said}; "
                                 "expected CKAN's {\"success\": ..., \"result\": ...}") from None
            if not isinstance(answer, dict) or answer.get("success") is not True:
                raise FetchError(f"{what}: the portal answered success: false: {_portal_message(body)}")
            result = answer.get("result")
            if not isinstance(result, dict) or not isinstance(result.get("resources"), list):
                raise FetchError(f"{what}: the answer has no result.resources list; expected a CKAN dataset")
            return result

        return self._with_retries(what, attempt)

    # --- downloads ------------------------------------------------------------------------

    def download(self, resource: dict, final: Path, *, dataset: str, resume_key: str = "") -> Download:
        """Stream ``resource['url']`` to ``final`` via ``.<name>.part``; rename only when complete.

        ``resume_key`` identifies the resource version (e.g. its ``last_modified``): a partial
        file left by an earlier, interrupted download of the same version is continued with an
        HTTP ``Range`` request; any other partial file is discarded. The byte count is checked
        against ``Content-Length`` and against the resource's ``size`` when the portal gives one.
        """
        final = Path(final)
        part = partial_path(final)
        marker = part.with_name(part.name + ".json")
        url = resource.get("url") or ""
        what = f"dataset {dataset!r}, resource {resource.get('name', '').strip()!r} ({url})"
        if not url.startswith(("http://", "https://")):
            raise FetchError(f"{what}: the resource has no http(s) download url")
        expected = _as_size(resource.get("size"))
        identity = {"url": url, "resume_key": resume_key, "size": expected}
        final.parent.mkdir(parents=True, exist_ok=True)

        def attempt():
            offset = 0
            if part.exists() and marker.exists():
                try:
                    if json.loads(marker.read_text("utf-8")) == identity:
                        offset = part.stat().st_size
                except ValueError:
                    offset = 0
            if offset == 0:
                part.unlink(missing_ok=True)
                marker.write_text(json.dumps(identity), "utf-8")
            return self._stream(url, part, offset, expected, what, final.name)

        resumed_from = self._with_retries(what, attempt)
        size = part.stat().st_size
        if expected is not None and size != expected:
            part.unlink(missing_ok=True)
            marker.unlink(missing_ok=True)
            raise FetchError(f"{what}: downloaded {size:,} bytes but the portal lists size {expected:,}; "
                             "the partial file was removed, run fetch again")
        digest = _sha256(part)
        os.replace(part, final)
        marker.unlink(missing_ok=True)
        return Download(final, size, digest, resumed_from)

    def _stream(self, url: str, part: Path, offset: int, expected: int | None, what: str, label: str) -> int:
        """One try: append the body to ``part`` from ``offset``; return the offset resumed from."""
        if expected is not None and offset == expected:
            return offset
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        try:
            response = self._open(url, headers)
        except urllib.error.HTTPError as error:
            if error.code == 416 and offset:
                part.unlink(missing_ok=True)  # the partial file is stale: restart on the next try
                raise _Retryable("the portal refused to resume a partial download") from None
            raise self._http_failure(what, error) from None
        except (urllib.error.URLError, TimeoutError, socket.timeout, ConnectionError,
                http.client.HTTPException) as error:
            raise _Retryable(f"network error: {getattr(error, 'reason', error)}") from None
        with response:
            if offset and response.status != 206:
                offset = 0  # the server sent the whole file: start again
            length = _as_size(response.headers.get("Content-Length"))
            total = (offset + length) if length is not None else expected
            received = 0
            with open(part, "ab" if offset else "wb") as out, tqdm(
                    total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024,
                    desc=label, disable=not self.progress, leave=True) as bar:
                while True:
                    try:
                        chunk = response.read(CHUNK_SIZE)
                    except (TimeoutError, socket.timeout, ConnectionError, http.client.HTTPException) as error:
                        raise _Retryable(f"download cut off after {offset + received:,} bytes: {error}") from None
                    if not chunk:
                        break
                    out.write(chunk)  # a full disk is not retried: the OSError names the file
                    received += len(chunk)
                    bar.update(len(chunk))
        if length is not None and received < length:
            raise _Retryable(f"download cut off after {offset + received:,} of {offset + length:,} bytes "
                             "(the connection closed early)")
        return offset


def _as_size(value) -> int | None:
    try:
        size = int(value)
    except (TypeError, ValueError):
        return None
    return size if size >= 0 else None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
