"""A stand-in for the PHS open data portal: a real ``http.server`` on 127.0.0.1, in a thread.

It answers ``/api/3/action/package_show?id=<slug>`` in CKAN's shape (``{"help", "success",
"result": {..., "resources": [...]}}``, or ``{"success": false, "error": {"message", "__type"}}``
with status 404 for an unknown slug) and serves each resource's bytes at its ``url``, with HTTP
``Range`` support. Tests script failures per path (a status with headers and body, a download cut
off half way) and read the request log (path, headers) afterwards.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HELP = "https://www.opendata.nhs.scot/api/3/action/help_show?name=package_show"


@dataclass
class Scripted:
    """One scripted answer: a status with headers and body, or (``cut``) half a file then EOF."""

    status: int = 200
    headers: dict = field(default_factory=dict)
    body: bytes = b""
    cut: bool = False


class FakePortal:
    """Datasets, files, scripted failures and the request log of the local portal."""

    def __init__(self) -> None:
        self.packages: dict[str, list[dict]] = {}
        self.files: dict[str, bytes] = {}
        self.script: dict[str, deque[Scripted]] = defaultdict(deque)
        self.requests: list[tuple[str, dict]] = []
        self.lock = threading.Lock()
        self.url = ""

    # --- content ------------------------------------------------------------------------------

    def add(self, slug: str, name: str, file: str, content: bytes, *, created: str, last_modified: str | None = None,
            size: int | None | str = "auto", rid: str | None = None) -> dict:
        """Add a resource to dataset ``slug``; returns the resource dict (editable by tests)."""
        resources = self.packages.setdefault(slug, [])
        rid = rid or f"{slug[:8]}-{len(resources):03d}"
        path = self.file_path(slug, rid, file)
        self.files[path] = content
        resource = {
            "id": rid, "package_id": slug, "name": name, "url": self.url + path, "format": "CSV",
            "size": len(content) if size == "auto" else size, "created": created,
            "last_modified": last_modified, "state": "active", "position": len(resources),
            "mimetype": "text/csv", "description": "",
        }
        resources.append(resource)
        return resource

    def replace(self, resource: dict, content: bytes, last_modified: str) -> None:
        """Publish a revision of a resource: new bytes, size and last_modified."""
        self.files[urlsplit(resource["url"]).path] = content
        resource["size"] = len(content)
        resource["last_modified"] = last_modified

    @staticmethod
    def file_path(slug: str, rid: str, file: str) -> str:
        return f"/dataset/{slug}/resource/{rid}/download/{file}"

    @staticmethod
    def package_path(slug: str) -> str:
        return f"/api/3/action/package_show?id={slug}"

    def resource_path(self, file: str) -> str:
        """The download path of the resource whose file name is ``file``."""
        return next(p for p in self.files if p.rsplit("/", 1)[-1] == file)

    def fail(self, path: str, *answers: Scripted) -> None:
        """Answer the next requests for ``path`` with ``answers``, in order."""
        self.script[path].extend(answers)

    def hits(self, path_or_file: str) -> int:
        """Requests seen for an exact path, or for any path ending in ``/<file>``."""
        return sum(1 for p, _ in self.requests if p == path_or_file or p.endswith("/" + path_or_file))

    def downloads(self) -> list[str]:
        """File names requested for download, in order."""
        return [p.rsplit("/", 1)[-1] for p, _ in self.requests if "/download/" in p]


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeCKAN/1"

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    @property
    def portal(self) -> FakePortal:
        return self.server.portal  # type: ignore[attr-defined]

    def _send(self, status: int, body: bytes, headers: dict | None = None, length: int | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, str(value))
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _json(self, status: int, answer: dict, headers: dict | None = None) -> None:
        self._send(status, json.dumps(answer).encode(), {"Content-Type": "application/json", **(headers or {})})

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        portal = self.portal
        with portal.lock:
            portal.requests.append((self.path, dict(self.headers.items())))
            scripted = portal.script[self.path].popleft() if portal.script.get(self.path) else None
        if scripted is not None and not scripted.cut:
            self._send(scripted.status, scripted.body, scripted.headers)
            return
        parts = urlsplit(self.path)
        if parts.path == "/api/3/action/package_show":
            slug = parse_qs(parts.query).get("id", [""])[0]
            if slug not in portal.packages:
                self._json(404, {"help": HELP, "success": False,
                                 "error": {"message": "Not found", "__type": "Not Found Error"}})
                return
            result = {"name": slug, "title": slug, "resources": portal.packages[slug]}
            self._json(200, {"help": HELP, "success": True, "result": result})
            return
        body = portal.files.get(parts.path)
        if body is None:
            self._json(404, {"success": False, "error": {"message": "Not found", "__type": "Not Found Error"}})
            return
        if scripted is not None:  # cut off: promise the whole file, send half, close
            self.close_connection = True
            self._send(200, body[: len(body) // 2], {"Content-Type": "text/csv"}, length=len(body))
            return
        start = 0
        if (wanted := self.headers.get("Range", "")).startswith("bytes="):
            start = int(wanted[len("bytes="):].split("-")[0] or 0)
            if start >= len(body):
                self._send(416, b"", {"Content-Range": f"bytes */{len(body)}"})
                return
            self._send(206, body[start:], {"Content-Type": "text/csv",
                                            "Content-Range": f"bytes {start}-{len(body) - 1}/{len(body)}"})
            return
        self._send(200, body, {"Content-Type": "text/csv"})


def start_portal() -> tuple[FakePortal, ThreadingHTTPServer, threading.Thread]:
    """Start a :class:`FakePortal` on 127.0.0.1 (a free port); stop with ``server.shutdown()``."""
    portal = FakePortal()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.portal = portal  # type: ignore[attr-defined]
    portal.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                              name="fake-phs-portal", daemon=True)
    thread.start()
    return portal, server, thread
