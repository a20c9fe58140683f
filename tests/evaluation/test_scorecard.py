"""signal_scorecard on a hand-made table whose every share is worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clusterqi.evaluation import LAST_MONTHS, SCORECARD_COLUMNS, signal_scorecard

IND = "abx"
PRACTICES = pd.DataFrame({"practice_code": ["P1", "P2", "P3", "P4", "P5", "P6"],
                          "cluster_id": ["c1", "c1", "c2", "c2", "c3", "c3"]})
MONTHS = [f"2025-{m:02d}" for m in range(1, 13)] + [f"2026-{m:02d}" for m in range(1, 13)]


def _total(level, area, verdict, value, rest):
    return {"indicator_id": IND, "level": level, "area_id": area, "period_type": "total",
            "period": "2025-10..2026-09", "vs_rest_of_scotland": verdict, "value": value,
            "rest_of_scotland_value": rest, "spc_signal": pd.NA, "cl": np.nan}


def _series(level, area, signal_months=(), values=None):
    rows = []
    for i, month in enumerate(MONTHS):
        rows.append({"indicator_id": IND, "level": level, "area_id": area,
                     "period_type": "month", "period": month, "vs_rest_of_scotland": None,
                     "value": 10.0 if values is None else values[i],
                     "rest_of_scotland_value": 10.0, "spc_signal": month in signal_months,
                     "cl": 10.0})
    return rows


def _table():
    rows = [
        _total("practice", "P1", "worse", 20, 10),      # planted high: found
        _total("practice", "P2", "similar", 10, 10),    # ordinary
        _total("practice", "P3", "better", 5, 10),      # ordinary, called
        _total("practice", "P4", "similar", 10, 10),    # ordinary
        _total("practice", "P5", "similar", 10, 10),    # in a planted cluster
        _total("practice", "P6", "similar", 10, 10),    # in a planted cluster
        _total("cluster", "c1", "worse", 14, 10),       # holds planted P1
        _total("cluster", "c2", "similar", 10, 10),     # ordinary
        _total("cluster", "c3", "similar", 6, 10),      # planted low: missed
    ]
    rows += _series("practice", "P2", signal_months={"2025-03"})   # signal too early to count
    rows += _series("practice", "P3", signal_months={"2026-05"})   # counted
    rows += _series("practice", "P4")
    step = [10.0] * 16 + [14.0] * 8
    rows += _series("practice", "P5", signal_months={"2026-06"}, values=step)  # step found
    rows += _series("cluster", "c2")
    return pd.DataFrame(rows)


TRUTH = pd.DataFrame({
    "kind": ["practice_outlier", "cluster_outlier", "step_change", "tiny_practice"],
    "indicator_id": [IND, IND, IND, ""],
    "unit_id": ["P1", "c3", "P5", "P6"],
    "month": ["", "", "2026-05", ""],
    "direction": ["high", "low", "high", ""],
    "size": ["1", "-0.5", "0.4", ""],
})


def test_scorecard_shares_by_hand():
    card = signal_scorecard(_table(), TRUTH, PRACTICES).set_index("level")
    assert list(card.reset_index()[SCORECARD_COLUMNS].columns) == SCORECARD_COLUMNS
    practice, cluster = card.loc["practice"], card.loc["cluster"]
    # ordinary practices: P2, P3, P4 (P1 planted, P5/P6 in the planted cluster c3)
    assert practice.unplanted_units == 3
    assert practice.unplanted_called == pytest.approx(1 / 3)
    assert (practice.planted_outliers, practice.planted_found) == (1, 1.0)
    # P2's signal is 18 months back, outside the last 12; P3's counts
    assert LAST_MONTHS == 12
    assert practice.unplanted_series == 3
    assert practice.unplanted_series_signalled == pytest.approx(1 / 3)
    assert (practice.planted_steps, practice.steps_signalled) == (1, 1.0)
    # ordinary clusters: c2 only (c1 holds planted P1, c3 is planted); c3 planted low, "similar"
    assert cluster.unplanted_units == 1 and cluster.unplanted_called == 0
    assert (cluster.planted_outliers, cluster.planted_found) == (1, 0.0)
    assert cluster.planted_steps == 0 and np.isnan(cluster.steps_signalled)


def test_a_step_signal_on_the_wrong_side_is_not_a_find():
    table = _table()
    after = (table.area_id == "P5") & (table.period >= "2026-05")
    table.loc[after, "value"] = 6.0   # below the centre line although planted high
    card = signal_scorecard(table, TRUTH, PRACTICES).set_index("level")
    assert card.loc["practice", "steps_signalled"] == 0.0


def test_ground_truth_without_its_columns_is_refused():
    with pytest.raises(ValueError, match="ground truth lacks"):
        signal_scorecard(_table(), TRUTH.drop(columns="direction"), PRACTICES)
