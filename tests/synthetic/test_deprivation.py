"""Deprivation in synthetic Scotland: a SIMD file the loaders read, deprivation clustered by HSCP
and cluster, and the planted gradient (1.30 per SIMD quintile) present in the linked groups only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clusterqi.loaders import load_simd
from clusterqi.loaders.simd import decile_of_rank, quintile_of_rank
from clusterqi.synthetic import code_table
from clusterqi.synthetic.deprivation import (
    DEPRIVATION_GRADIENT,
    DEPRIVATION_GROUPS,
    DEPRIVATION_INDICATORS,
    GRADIENT_TRUTH_RATIO,
    SIMD_FILE,
    assign_deprivation,
    gradient_factors,
)
from tests.conftest import SYNTHETIC_SEED


@pytest.fixture(scope="module")
def practices(synthetic_dataset) -> pd.DataFrame:
    p = synthetic_dataset.practices
    return p[p["last_release"] == p["last_release"].max()].copy()


@pytest.fixture(scope="module")
def truth(synthetic_dir) -> pd.DataFrame:
    return pd.read_csv(synthetic_dir / "ground_truth.csv", dtype=str, keep_default_na=False)


def _eta_squared(values: pd.Series, groups: pd.Series) -> float:
    """Share of the variance of ``values`` between ``groups``."""
    means = values.groupby(groups).transform("mean")
    return float(((means - values.mean()) ** 2).sum() / ((values - values.mean()) ** 2).sum())


def test_the_simd_file_is_phs_shaped_and_gives_every_practice_a_decile(synthetic_dir, synthetic_dataset,
                                                                        practices):
    simd = load_simd(synthetic_dir / SIMD_FILE)
    header = (synthetic_dir / SIMD_FILE).read_text().splitlines()[0]
    assert header.startswith("DataZone,IntZone,HB,HSCP,SIMD2020V2Rank,SIMD2020V2CountryDecile")
    assert synthetic_dataset.simd is not None and len(synthetic_dataset.simd) == len(simd)
    assert not synthetic_dataset.warnings["kind"].isin(["no_simd_file", "practice_not_in_simd"]).any()
    everyone = synthetic_dataset.practices
    assert everyone["simd_decile"].notna().all() and everyone["data_zone"].is_unique
    # invented zones, in a range real Data Zones (S01006506..S01013481) do not use
    assert everyone["data_zone"].str.fullmatch(r"S019\d{5}").all()
    assert simd["simd_rank"].is_unique
    assert (simd["simd_decile"] == decile_of_rank(simd["simd_rank"])).all()
    assert (simd["simd_quintile"] == quintile_of_rank(simd["simd_rank"])).all()
    # every quintile of Scotland holds practices
    assert practices["simd_quintile"].value_counts().reindex(range(1, 6)).gt(50).all()


def test_deprivation_is_clustered_by_cluster_and_hscp(practices):
    p = practices[practices["in_cluster"]]
    q = p["simd_quintile"].astype(float)
    rng = np.random.default_rng(0)
    for groups in (p["cluster_id"], p["hscp_code"]):
        shuffled = [_eta_squared(pd.Series(rng.permutation(q.to_numpy()), index=q.index), groups)
                    for _ in range(30)]
        # far more of the variation lies between areas than if practices were placed at random
        assert _eta_squared(q, groups) > 1.4 * max(shuffled), groups.name
    by_hscp = q.groupby(p["hscp_code"]).mean()
    assert by_hscp.max() - by_hscp.min() > 1.0
    weighted = p.assign(q=q, w=p["list_size"].astype(float)).groupby("cluster_id").apply(
        lambda g: np.average(g["q"], weights=g["w"]))
    assert (weighted <= 1.6).sum() >= 3      # some clusters almost all in the most deprived fifth
    assert (weighted >= 4.4).sum() >= 2      # some almost all in the least deprived
    assert weighted.between(2.5, 3.5).mean() > 0.5   # most are mixed


def test_the_generator_is_deterministic_and_its_factors_keep_scotland_unchanged(practices):
    base = practices[["practice_code", "cluster_name", "hscp_code", "list_size"]]
    first, again = assign_deprivation(base, SYNTHETIC_SEED), assign_deprivation(base, SYNTHETIC_SEED)
    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(assign_deprivation(base, SYNTHETIC_SEED + 1))
    factor = gradient_factors(first, base)
    sizes = base.set_index("practice_code")["list_size"].astype(float)
    assert float((factor * sizes.reindex(factor.index)).sum() / sizes.sum()) == pytest.approx(1.0)
    by_quintile = factor.groupby(first.set_index("practice_code")["simd_quintile"]).first()
    assert by_quintile[1] / by_quintile[5] == pytest.approx(DEPRIVATION_GRADIENT ** 4)
    assert by_quintile[2] / by_quintile[3] == pytest.approx(DEPRIVATION_GRADIENT)


def _rates_by_quintile(synthetic_dataset, practices, truth, group: str) -> pd.Series:
    """Items per patient-month of ``group`` in each SIMD quintile, practices without plants."""
    codes = code_table(SYNTHETIC_SEED).set_index("bnf_code")["group"]
    rx = synthetic_dataset.prescribing
    rx = rx[rx["bnf_code"].astype(str).map(codes).eq(group)]
    items = rx.groupby(rx["practice_code"].astype(str), observed=True)["items"].sum()
    sizes = synthetic_dataset.list_size_in_effect(sorted(synthetic_dataset.prescribing["month"].unique()))
    people = sizes.groupby("practice_code")["list_size"].sum().astype(float)
    members = practices.groupby("cluster_id")["practice_code"].apply(set)
    planted: set[str] = set()
    for row in truth[truth["kind"] != "deprivation_gradient"].itertuples():
        planted |= {row.unit_id} | members.get(row.unit_id, set())
    table = practices[~practices["practice_code"].isin(planted)].set_index("practice_code")
    rate = (items.reindex(table.index).fillna(0) / people.reindex(table.index))
    frame = pd.DataFrame({"items": items.reindex(table.index).fillna(0),
                          "people": people.reindex(table.index), "q": table["simd_quintile"].astype(int)})
    totals = frame.groupby("q")[["items", "people"]].sum()
    assert rate.notna().all()
    return totals["items"] / totals["people"]


@pytest.mark.parametrize("group", DEPRIVATION_GROUPS[:3])
def test_the_gradient_is_planted_in_the_linked_groups(synthetic_dataset, practices, truth, group):
    rates = _rates_by_quintile(synthetic_dataset, practices, truth, group)
    steps = np.log(rates / rates[5]) / np.log(DEPRIVATION_GRADIENT)
    # quintile q prescribes about 1.30 ** (5 - q) times quintile 5 (other effects average out)
    assert steps.to_numpy() == pytest.approx([4, 3, 2, 1, 0], abs=0.5)
    assert rates[1] / rates[5] == pytest.approx(DEPRIVATION_GRADIENT ** 4, rel=0.2)


@pytest.mark.parametrize("group", ["antibacterial", "statin_high"])
def test_other_groups_have_no_deprivation_gradient(synthetic_dataset, practices, truth, group):
    rates = _rates_by_quintile(synthetic_dataset, practices, truth, group)
    assert (rates / rates.mean()).between(0.85, 1.15).all()


def test_ground_truth_lists_the_clusters_the_gradient_sets_apart(truth, practices):
    rows = truth[truth["kind"] == "deprivation_gradient"]
    assert set(rows["indicator_id"]) == set(DEPRIVATION_INDICATORS)
    assert set(rows["direction"]) == {"high", "low"}
    sizes = rows["size"].astype(float)
    assert ((sizes >= GRADIENT_TRUTH_RATIO - 1 - 1e-3) | (sizes <= 1 / GRADIENT_TRUTH_RATIO - 1 + 1e-3)).all()
    assert ((sizes > 0) == (rows["direction"] == "high")).all()
    # deprived clusters are the "high" ones
    p = practices[practices["in_cluster"]]
    mean_q = p.assign(q=p["simd_quintile"].astype(float)).groupby("cluster_id")["q"].mean()
    assert mean_q.reindex(rows.loc[rows["direction"] == "high", "unit_id"]).max() < 2.5
    assert mean_q.reindex(rows.loc[rows["direction"] == "low", "unit_id"]).min() > 3.5
    # never on a cluster planted as an outlier on the same indicator
    outliers = set(zip(truth.loc[truth["kind"] == "cluster_outlier", "unit_id"],
                       truth.loc[truth["kind"] == "cluster_outlier", "indicator_id"]))
    assert not outliers & set(zip(rows["unit_id"], rows["indicator_id"]))
