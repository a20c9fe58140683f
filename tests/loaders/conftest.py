"""Loader tests keep their Parquet cache and hash memo in a temporary folder."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("CLUSTERQI_CACHE", str(tmp_path_factory.getbasetemp() / "clusterqi-cache"))
