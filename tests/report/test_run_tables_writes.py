"""The cached run tables: written so that processes preparing the same run at once never clash."""

from __future__ import annotations

import threading

import pandas as pd

from clusterqi import run_tables


def test_concurrent_writers_of_the_same_run_table_never_take_each_others_file(tmp_path):
    frame = pd.DataFrame({"indicator_id": ["a"] * 2000, "value": range(2000)})
    target = tmp_path / run_tables.INDICATORS_FILE
    errors: list[BaseException] = []

    def write_many():
        try:
            for _ in range(30):
                run_tables._write_parquet(frame, target)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=write_many) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    pd.testing.assert_frame_equal(pd.read_parquet(target), frame)
    assert [p.name for p in tmp_path.iterdir()] == [run_tables.INDICATORS_FILE]  # no temporary left
