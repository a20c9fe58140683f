"""Where clusterqi keeps its own files: the cache folder and the project root.

The cache is never written beside input data (inputs may be read-only). It is, in order:
``$CLUSTERQI_CACHE`` if set; ``<project>/.cache/clusterqi`` when running from a checkout
(a folder holding ``pyproject.toml`` above the package); otherwise ``~/.cache/clusterqi``.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["project_root", "cache_dir"]


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
