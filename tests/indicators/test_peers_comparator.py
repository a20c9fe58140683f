""""Clusters like ours" as a comparator: pooled peer values, the same verdict as the others,
in the sentence; nothing without a deprivation file."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from clusterqi import vocabulary
from clusterqi.indicators import calculate_indicators, load_catalogue
from clusterqi.peers import DEFAULT_PEERS
from tests.conftest import SYNTHETIC_PERIOD_END

PEERS = vocabulary.comparator(vocabulary.PEERS)


def _clusters(table: pd.DataFrame, period_type: str = "total") -> pd.DataFrame:
    return table[(table["level"] == "cluster") & (table["period_type"] == period_type)]


def test_the_peer_value_pools_the_peer_clusters_cell_by_cell(synthetic_indicators):
    table = synthetic_indicators
    for period_type in ("total", "month"):
        rows = _clusters(table, period_type)
        sample = rows[rows["indicator_id"] == "opioid_ome_per_1000_per_day"].head(5)
        for row in sample.itertuples():
            peers = row.peer_ids.split(vocabulary.MEMBER_SEPARATOR)
            assert len(peers) == DEFAULT_PEERS and row.area_id not in peers
            cell = rows[(rows["indicator_id"] == row.indicator_id) & (rows["period"] == row.period)
                        & rows["area_id"].isin(peers)]
            assert len(cell) == len(peers)
            multiplier = row.value / (row.numerator / row.denominator)
            expected = cell["numerator"].sum() / cell["denominator"].sum() * multiplier
            assert row.peer_value == pytest.approx(expected, rel=1e-9)


def test_peers_get_a_verdict_and_a_phrase_only_on_cluster_rows(synthetic_indicators):
    table = synthetic_indicators
    totals = _clusters(table)
    assert totals[PEERS.verdict_column].isin(["better", "similar", "worse", "higher", "lower"]).mean() > 0.95
    assert totals["interpretation"].str.contains("clusters like it").all()
    practices = table[table["level"] == "practice"]
    assert practices[PEERS.value_column].isna().all() and practices[PEERS.verdict_column].isna().all()
    assert practices["peer_ids"].isna().all()


def test_without_a_deprivation_file_there_are_no_peers_and_nothing_fails(synthetic_dataset):
    practices = synthetic_dataset.practices.drop(
        columns=[c for c in ("simd_rank", "simd_decile", "simd_quintile") if c in synthetic_dataset.practices])
    plain = dataclasses.replace(synthetic_dataset, practices=practices)
    rate = "opioid_ome_per_1000_per_day"
    table = calculate_indicators(plain, {rate: load_catalogue()[rate]}, SYNTHETIC_PERIOD_END, months=12)
    assert table[PEERS.value_column].isna().all() and table["peer_ids"].isna().all()
    totals = _clusters(table)
    assert totals["vs_rest_of_scotland"].notna().any()
    assert not totals["interpretation"].str.contains("clusters like it").any()
    assert np.isfinite(totals["value"]).any()
