"""Caches that cannot lie: a corrupt cached run table is discarded and rebuilt with a warning."""

from __future__ import annotations

import pytest

from clusterqi import DataError, run_tables
from tests.conftest import SYNTHETIC_PERIOD_END


@pytest.mark.slow
def test_a_truncated_cached_run_table_is_rebuilt_with_a_warning(tmp_path, monkeypatch,
                                                                synthetic_dir):
    monkeypatch.setenv("CLUSTERQI_CACHE", str(tmp_path / "cache"))
    path = run_tables.cached_run_tables(synthetic_dir, SYNTHETIC_PERIOD_END, 12)
    good = path.stat().st_size
    path.write_bytes(path.read_bytes()[: good // 3])   # a crash or a full disk mid-write
    run_tables._RUNS.clear()
    with pytest.warns(UserWarning, match="could not be read.*calculated again"):
        run = run_tables.run_for(synthetic_dir, SYNTHETIC_PERIOD_END, 12)
    assert len(run.table) > 0
    assert run_tables.cached_run_tables(synthetic_dir, SYNTHETIC_PERIOD_END, 12).stat().st_size == good


def test_a_corrupt_table_named_by_the_analyst_is_an_error_naming_it(tmp_path):
    bad = tmp_path / "indicators.parquet"
    bad.write_bytes(b"PAR1 not really parquet")
    run_tables._RUNS.clear()
    with pytest.raises(DataError, match="indicators.parquet.*cannot be read"):
        run_tables.run_for("synthetic", SYNTHETIC_PERIOD_END, 12, bad)
