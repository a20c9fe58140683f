"""The intruder kit works: it recovers counts from figures computed with the project's intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd

from clusterqi.stats import rate_ci, wilson_ci
from tests.disclosure import intruder


def _printed(value: float) -> float:
    return float(f"{value:.3g}")


def test_inverting_a_rate_row_recovers_the_count_and_list_size():
    days = intruder.period_days("2025-10..2026-09")
    assert days == 365
    r95 = rate_ci(3, 136 * days, multiplier=1000)
    r998 = rate_ci(3, 136 * days, multiplier=1000, confidence=0.998)
    found = intruder.invert_intervals(_printed(r95["value"][0]), _printed(r95["lower"][0]),
                                      _printed(r95["upper"][0]), _printed(r998["lower"][0]),
                                      _printed(r998["upper"][0]), kind="rate", multiplier=1000)
    assert found["numerator"].unique().tolist() == [3]
    assert found["denominator_low"].min() / days <= 136 <= found["denominator_high"].max() / days


def test_inverting_a_share_row_recovers_numerator_and_denominator():
    w95, w998 = wilson_ci(3, 40), wilson_ci(3, 40, confidence=0.998)
    found = intruder.invert_intervals(_printed(w95["value"][0] * 100), _printed(w95["lower"][0] * 100),
                                      _printed(w95["upper"][0] * 100), _printed(w998["lower"][0] * 100),
                                      _printed(w998["upper"][0] * 100), kind="share", multiplier=100)
    assert found[["numerator", "denominator_low"]].drop_duplicates().values.tolist() == [[3, 40]]


def test_without_limits_nothing_is_inverted():
    assert intruder.invert_intervals(1.5, kind="rate").empty


def test_pseudonyms_are_matched_by_list_size_and_differences_found():
    practices = pd.DataFrame({"practice_code": ["1", "2", "3"], "cluster_id": ["c"] * 3,
                              "list_size": [136, 1200, 5000], "hb_code": ["B"] * 3, "hscp_code": ["H"] * 3})
    period = "2025-10..2026-09"
    cells = pd.DataFrame({
        "source": "csv", "indicator_id": "antibacterial_items_per_1000_per_day",
        "area": ["Member practice A", "Member practice B", "Member practice C"], "level": "practice",
        "period_type": "total", "period": period,
        "band": ["25,000-49,999", "250,000-499,999", "1,000,000-2,499,999"],
    }).reindex(columns=intruder.CELL_COLUMNS)
    matched = intruder.match_pseudonyms(cells, practices, "c")
    assert matched.set_index("pseudonym")["practice"].to_dict() == {
        "Member practice A": "1", "Member practice B": "2", "Member practice C": "3"}
    months = pd.DataFrame({"source": "csv", "indicator_id": "x", "area": "C", "level": "cluster",
                           "period_type": ["month", "month", "total"], "period": ["2025-10", "2025-11", period],
                           "numerator": [np.nan, 7.0, 10.0]}).reindex(columns=intruder.CELL_COLUMNS)
    found = intruder.difference_months_total(months)
    assert found[["period", "count", "recovered"]].values.tolist() == [["2025-10", 3.0, True]]


def test_cross_boundary_clusters_in_the_public_list(phs_dir):
    practices = intruder.public_practices(phs_dir / "practices" / "practice_contactdetails_oct2024-open-data.csv")
    crossing = intruder.cross_boundary_clusters(practices)
    assert "kinross-errol-bridge-of-earn" in set(crossing["cluster_id"])
    assert (crossing["hb_code"] != crossing["home_hb"]).sum() >= 1
