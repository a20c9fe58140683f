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


def test_a_compact_table_gives_back_the_rows_the_file_has():
    """compact holds repetitive text as categories; plain gives any rows back exactly as they
    were: the same dtypes (Arrow text, with NaN for missing), values, missing values and index."""
    import numpy as np
    import pandas as pd

    n = 40
    frame = pd.DataFrame({
        "indicator_id": pd.array(["a", "b"] * (n // 2), dtype="str"),
        "quality_flag": pd.array([None, "low list", None, None] * (n // 4), dtype="str"),
        "object_text": pd.Series(["x", None] * (n // 2), dtype=object),
        "unique_text": pd.array([f"row {i}" for i in range(n)], dtype="str"),
        "value": np.arange(n, dtype=float),
    }, index=np.arange(100, 100 + n))
    small, dtypes = run_tables.compact(frame)
    assert set(dtypes) == {"indicator_id", "quality_flag", "object_text"}  # few-valued text
    assert isinstance(small["indicator_id"].dtype, pd.CategoricalDtype)
    rows = np.array([39, 0, 3, 3, 17, 2])
    back = run_tables.plain(small.iloc[rows], dtypes)
    pd.testing.assert_frame_equal(back, frame.iloc[rows], check_exact=True)
    assert back["quality_flag"].isna().tolist() == [True, True, True, True, False, True]
    # object text, and categories not held by Arrow, are given back by pandas itself
    other = run_tables.plain(small.assign(quality_flag=small["quality_flag"].astype(object)
                                          .astype("category")), dtypes)
    pd.testing.assert_frame_equal(other, frame, check_exact=True)
