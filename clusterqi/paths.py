"""Where clusterqi keeps its own files: the cache folder and the project root, and how it writes them.

The cache is never written beside input data (inputs may be read-only). It is, in order:
``$CLUSTERQI_CACHE`` if set; ``<project>/.cache/clusterqi`` when running from a checkout
(a folder holding ``pyproject.toml`` above the package); otherwise ``~/.cache/clusterqi``.

Every file clusterqi writes for others to read (caches, run tables, reports, manifests) is written
through :func:`replacing`: readers never see half a file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

__all__ = ["project_root", "cache_dir", "replacing", "TEMPORARY_SUFFIX", "TEMPORARY_GLOB"]

#: Suffix of the hidden temporary file :func:`replacing` writes beside its target.
TEMPORARY_SUFFIX = ".tmp"
#: What a killed writer can leave behind in a folder (``.<name>.<pid>.<token>.tmp``).
TEMPORARY_GLOB = f".*{TEMPORARY_SUFFIX}"


def project_root() -> Path | None:
    """The checkout's root folder, or None when clusterqi is installed as a plain package."""
    here = Path(__file__).resolve().parent.parent
    return here if (here / "pyproject.toml").is_file() else None


def cache_dir(*parts: str) -> Path:
    """The cache folder (created if missing), optionally a named sub-folder of it.

    Example usage::

        parquet = cache_dir("prescribing") / f"{digest}.parquet"
    """
    env = os.environ.get("CLUSTERQI_CACHE")
    if env:
        base = Path(env)
    elif (root := project_root()) is not None:
        base = root / ".cache" / "clusterqi"
    else:
        base = Path.home() / ".cache" / "clusterqi"
    folder = base.joinpath(*parts)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextlib.contextmanager
def replacing(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path beside ``path`` to write; when the block ends it replaces ``path`` in one rename.

    A reader sees the old file or the new one, never half of one. If the block raises, ``path`` is
    left as it was and no temporary file stays behind. The temporary name is hidden and holds the
    process id and a random token, so processes writing the same file at once (two batches of the
    same data) never take each other's file. Files get the usual permissions (the umask).

    Example usage::

        with replacing(out_dir / "indicators.parquet") as tmp:
            table.to_parquet(tmp, index=False)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{TEMPORARY_SUFFIX}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
