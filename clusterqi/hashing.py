"""Hashes, written once: of a file, of bytes, of a JSON-able value, of clusterqi's own code.

Provenance (the manifest's input hashes, a report's ``output_sha256``) and cache keys (run
tables, prescribing extracts) all use these. :func:`clusterqi.loaders.reading.file_sha256` adds a
memo on top of :func:`sha256_file` for large input files that are hashed again and again.

Example usage::

    sha256_file("reports/demo/dundee-4.html")
    json_hash({"period_end": "2026-09", "months": 12})
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

__all__ = ["BLOCK_BYTES", "sha256_file", "sha256_bytes", "json_hash", "code_hash"]

#: Bytes read at a time when hashing a file (large PITC extracts are never read whole).
BLOCK_BYTES = 1 << 20


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's content, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(BLOCK_BYTES):
            digest.update(block)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def json_hash(value: Any) -> str:
    """Hex SHA-256 of a value's JSON (keys sorted; other objects by ``str``)."""
    return sha256_bytes(json.dumps(value, sort_keys=True, default=str).encode())


@functools.lru_cache(maxsize=1)
def code_hash() -> str:
    """Hash of clusterqi's own source (every ``.py`` of the package): a cached table is reused
    only by the same code. Worked out once per process."""
    package = Path(__file__).resolve().parent
    return json_hash([(str(p.relative_to(package)), sha256_file(p))
                      for p in sorted(package.rglob("*.py"))])
