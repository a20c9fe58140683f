"""Synthetic Scotland is as awkward as the real one: real codes, working days, seasons, lumpy
months, national trends, realistic spread, plausible dose and cost levels, and planted effects
present in the data at their size.

Everything is read back from the written PHS files (through the loaders), with each
presentation's group taken from :func:`clusterqi.synthetic.code_table` for the same seed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clusterqi.codelist import load_presentations
from clusterqi.indicators import load_catalogue
from clusterqi.indicators.catalogue import PrescribingDenominator
from clusterqi.synthetic import code_table
from clusterqi.synthetic.calendar import working_days
from tests.conftest import SYNTHETIC_SEED

#: WHO ATC/DDD index defined daily doses (oral): gabapentin N03AX12 1.8 g, pregabalin N03AX16
#: 300 mg.
WHO_DDD_MG = {"0408010G0": 1800.0, "0408010AE": 300.0}
#: Structural plants that touch every indicator of a practice (see tests/indicators).
STRUCTURAL = {"missing_months", "practice_opens", "practice_closes", "list_size_jump",
              "tiny_practice", "placeholder", "coding_change"}


@pytest.fixture(scope="module")
def codes() -> pd.DataFrame:
    return code_table(SYNTHETIC_SEED)


@pytest.fixture(scope="module")
def truth(synthetic_dir) -> pd.DataFrame:
    return pd.read_csv(synthetic_dir / "ground_truth.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def rx(synthetic_dataset, codes) -> pd.DataFrame:
    """Practice prescribing with each row's group and the practice's list size that month."""
    data = synthetic_dataset
    frame = data.prescribing[["practice_code", "month", "bnf_code", "items", "quantity",
                              "cost"]].copy()
    frame["bnf_code"] = frame["bnf_code"].astype(str)
    frame["practice_code"] = frame["practice_code"].astype(str)
    frame = frame.merge(codes[["bnf_code", "group"]], on="bnf_code", how="left")
    return frame


@pytest.fixture(scope="module")
def patients(synthetic_dataset) -> pd.DataFrame:
    """practice_code x month -> list size (practices open that month)."""
    data = synthetic_dataset
    months = sorted(data.prescribing["month"].unique())
    sizes = data.list_size_in_effect(months)
    sizes["practice_code"] = sizes["practice_code"].astype(str)
    return sizes


@pytest.fixture(scope="module")
def national(rx) -> pd.DataFrame:
    """month x group -> items, Scotland."""
    return rx.pivot_table(index="month", columns="group", values="items", aggfunc="sum")


def _workdays(index: pd.Index) -> np.ndarray:
    return np.array([working_days(m.year, m.month) for m in pd.to_datetime(index)], dtype=float)


def _planted_practices(truth: pd.DataFrame, data) -> set[str]:
    members = data.practices.groupby("cluster_id")["practice_code"].apply(set)
    out = set()
    for row in truth.itertuples():
        out.add(row.unit_id)
        out |= members.get(row.unit_id, set())
    return out


def test_every_written_code_is_in_the_code_list_with_its_name_and_dmd_code(synthetic_dir):
    listed = load_presentations().drop_duplicates("bnf_code").set_index("bnf_code")
    for name in ("pitc202410.csv", "pitc202609.csv"):
        month = pd.read_csv(synthetic_dir / name, dtype=str, keep_default_na=False)
        pairs = month.drop_duplicates("BNFItemCode")
        assert pairs["BNFItemCode"].isin(listed.index).all(), \
            sorted(set(pairs["BNFItemCode"]) - set(listed.index))[:5]
        names = listed.loc[pairs["BNFItemCode"], "bnf_name"].str.upper().to_numpy()
        assert (pairs["BNFItemDescription"].to_numpy() == names).all()
        if "DMDCode" in month:
            dmd = listed.loc[pairs["BNFItemCode"], "dmd_code"].fillna("").to_numpy()
            assert (pairs["DMDCode"].to_numpy() == dmd).all()
            assert (pairs["DMDCode"] != "").mean() > 0.5
        # each code has one name and one dm+d code in the file
        assert month.groupby("BNFItemCode")["BNFItemDescription"].nunique().max() == 1


def test_every_indicator_has_prescribing_in_its_numerator_and_denominator(synthetic_dir):
    month = pd.read_csv(synthetic_dir / "pitc202609.csv", dtype=str)
    bnf = month["BNFItemCode"]
    for ind in load_catalogue().values():
        num = ind.numerator.bnf_codes.matches(bnf)
        assert num.any(), ind.id
        if isinstance(ind.denominator, PrescribingDenominator):
            den = ind.denominator.bnf_codes.matches(bnf)
            assert (den & ~num).any(), ind.id


def test_items_follow_scottish_working_days(national):
    # background presentations have no season and no trend: items follow the working days
    items = national["background"]
    days = _workdays(items.index)
    calendar_days = pd.to_datetime(items.index).days_in_month.to_numpy()
    assert np.corrcoef(items.to_numpy(), days)[0, 1] > 0.9
    per_workday, per_day = items / days, items / calendar_days
    assert per_workday.std() / per_workday.mean() < 0.5 * per_day.std() / per_day.mean()
    assert per_workday.std() / per_workday.mean() < 0.02


def _winter_over_summer(series: pd.Series) -> float:
    rate = series / _workdays(series.index)
    month = pd.to_datetime(series.index).month
    return float(rate[month.isin([12, 1, 2])].mean() / rate[month.isin([6, 7, 8])].mean())


def test_antibacterials_peak_in_winter_4c_and_saba_mildly_and_flat_groups_not(national):
    assert _winter_over_summer(national["antibacterial"]) > 1.5
    assert 1.15 < _winter_over_summer(national["antibacterial_4c"]) < 1.5
    assert 1.08 < _winter_over_summer(national["saba"]) < 1.35
    for flat in ("background", "ppi_high", "gabapentinoid"):
        assert 0.95 < _winter_over_summer(national[flat]) < 1.05, flat


def test_national_trends_gabapentinoids_and_opioids_fall_and_doac_share_rises(national):
    first, last = national.iloc[:12], national.iloc[12:]

    def change(group: str) -> float:
        return float(last[group].sum() / first[group].sum())

    assert change("gabapentinoid") < 0.99 and change("opioid") < 0.99
    assert change("doac") > 1.03 and change("vitamin_k_antagonist") < 0.95
    share = national["doac"] / (national["doac"] + national["vitamin_k_antagonist"])
    assert share.iloc[12:].mean() > share.iloc[:12].mean()
    assert abs(change("background") - 1) < 0.02


def test_a_practices_monthly_items_are_over_dispersed(rx, patients, truth, synthetic_dataset):
    """Repeat prescribing is lumpy: monthly items vary several times more than Poisson."""
    skip = _planted_practices(truth, synthetic_dataset)
    group = rx[rx["group"] == "ppi_high"]
    series = group.pivot_table(index="practice_code", columns="month", values="items",
                               aggfunc="sum")
    series = series[~series.index.isin(skip)].dropna()
    big = patients.groupby("practice_code")["list_size"].min()
    series = series[series.index.isin(big[big >= 3000].index)]
    assert len(series) > 300
    # take out Scotland's month-to-month pattern (working days, trend) before comparing
    shape = series.sum() / series.sum().mean()
    expected = series.mean(axis=1).to_numpy()[:, None] * shape.to_numpy()[None, :]
    ratio = ((series - expected) ** 2).mean(axis=1) / series.mean(axis=1)
    assert ratio.median() > 2.0
    assert (series.std(axis=1) / series.mean(axis=1)).median() < 0.3


def _population_rates(rx: pd.DataFrame, patients: pd.DataFrame, group: str) -> pd.Series:
    items = rx[rx["group"] == group].groupby("practice_code")["items"].sum()
    people = patients.groupby("practice_code")["list_size"].sum().astype(float)
    return (items.reindex(people.index).fillna(0) / people)[people > 24 * 2000]


def test_between_practice_and_cluster_spread_is_realistic(rx, patients, truth, synthetic_dataset):
    skip = _planted_practices(truth, synthetic_dataset)
    cluster_of = synthetic_dataset.practices.set_index("practice_code")["cluster_id"]
    for group in ("antibacterial", "hypnotic", "statin_high"):
        rate = _population_rates(rx, patients, group)
        rate = rate[~rate.index.isin(skip)]
        practice_sd = np.log(rate / rate.median()).std()
        assert 0.15 < practice_sd < 0.45, (group, practice_sd)
        items = rx[rx["group"] == group].groupby("practice_code")["items"].sum()
        people = patients.groupby("practice_code")["list_size"].sum()
        frame = pd.DataFrame({"items": items, "people": people}).dropna()
        frame = frame[~frame.index.isin(skip)]
        frame["cluster"] = cluster_of.reindex(frame.index.astype(object)).to_numpy()
        per_cluster = frame.groupby("cluster")[["items", "people"]].sum()
        per_cluster = per_cluster[per_cluster["people"] > 24 * 15000]
        cluster_sd = np.log(per_cluster["items"] / per_cluster["people"]).std()
        assert 0.08 < cluster_sd < 0.30, (group, cluster_sd)


def test_item_dose_and_cost_levels_are_scottish(rx, patients):
    patient_days = float((patients["list_size"] * pd.to_datetime(patients["month"])
                          .dt.days_in_month).sum())

    def per_1000_per_day(values: pd.Series) -> float:
        return float(values.sum() / patient_days * 1000)

    for group, low, high in (("antibacterial", 1.3, 2.2), ("opioid", 1.5, 2.6),
                             ("hypnotic", 1.2, 2.0)):
        assert low < per_1000_per_day(rx.loc[rx["group"] == group, "items"]) < high, group
    listed = load_presentations().drop_duplicates("bnf_code").set_index("bnf_code")
    gaba = rx[rx["group"] == "gabapentinoid"]
    strength = listed.loc[gaba["bnf_code"], "strength"].to_numpy()
    units = listed.loc[gaba["bnf_code"], "strength_unit"].to_numpy()
    ddd = gaba["bnf_code"].str[:9].map(WHO_DDD_MG).to_numpy()
    assert set(units) == {"mg"}
    ddds = pd.Series(gaba["quantity"].to_numpy() * strength / ddd)
    assert 8 < per_1000_per_day(ddds) < 16
    # lidocaine plasters cost a few pounds per 1,000 patients per day
    assert 0.5 < per_1000_per_day(rx.loc[rx["group"] == "lidocaine_plaster", "cost"]) < 5


def _unit_members(unit: str, data) -> list[str]:
    practices = data.practices
    found = practices.loc[practices["cluster_id"] == unit, "practice_code"].astype(str).tolist()
    return found or [unit]


def _unit_value(rx, patients, members, ind, months=None) -> tuple[float, float]:
    """(value, numerator items) of a set of practices: items per patient-month, or share."""
    rows = rx[rx["practice_code"].isin(members)]
    if months is not None:
        rows = rows[rows["month"].isin(months)]
    num = rows.loc[ind.numerator.bnf_codes.matches(rows["bnf_code"]).to_numpy(), "items"].sum()
    if isinstance(ind.denominator, PrescribingDenominator):
        den = rows.loc[ind.denominator.bnf_codes.matches(rows["bnf_code"]).to_numpy(), "items"].sum()
    else:
        people = patients[patients["practice_code"].isin(members)]
        if months is not None:
            people = people[people["month"].isin(months)]
        den = people["list_size"].sum()
    return float(num / den) if den else np.nan, float(num)


def test_planted_outliers_sit_at_about_double_or_half_scotland(rx, patients, truth,
                                                               synthetic_dataset):
    catalogue = load_catalogue()
    everyone = patients["practice_code"].unique().tolist()
    checked = 0
    for plant in truth[truth["kind"].isin(["practice_outlier", "cluster_outlier"])].itertuples():
        ind = catalogue[plant.indicator_id]
        value, count = _unit_value(rx, patients, _unit_members(plant.unit_id, synthetic_dataset), ind)
        scotland, _ = _unit_value(rx, patients, everyone, ind)
        if count < 150:
            continue        # too few items for the ratio to say much (rare medicines)
        target = 2.0 if plant.direction == "high" else 0.5
        ratio = value / scotland
        tolerance = 0.3 + 3 / np.sqrt(count)
        assert abs(np.log(ratio / target)) < tolerance, (plant, ratio, count)
        checked += 1
    assert checked >= 15


def test_step_changes_move_the_unit_by_their_size_at_their_month(rx, patients, truth,
                                                                 synthetic_dataset):
    catalogue = load_catalogue()
    everyone = patients["practice_code"].unique().tolist()
    steps = truth[truth["kind"] == "step_change"]
    assert len(steps) >= 4
    months = pd.Series(sorted(rx["month"].unique()))
    for plant in steps.itertuples():
        ind = catalogue[plant.indicator_id]
        start = pd.Timestamp(f"{plant.month}-01")
        before, after = months[months < start].tolist(), months[months >= start].tolist()
        members = _unit_members(plant.unit_id, synthetic_dataset)
        unit_before, _ = _unit_value(rx, patients, members, ind, before)
        unit_after, count = _unit_value(rx, patients, members, ind, after)
        scot_before, _ = _unit_value(rx, patients, everyone, ind, before)
        scot_after, _ = _unit_value(rx, patients, everyone, ind, after)
        moved = (unit_after / scot_after) / (unit_before / scot_before)
        expected = 1 + float(plant.size)
        assert abs(np.log(moved / expected)) < 0.12 + 3 / np.sqrt(count), (plant, moved)
        assert (moved > 1) == (plant.direction == "high")


def test_unplanted_units_are_not_planted_by_chance(rx, patients, truth, synthetic_dataset):
    """No unplanted practice sits at double or half Scotland on a common indicator."""
    skip = _planted_practices(truth, synthetic_dataset)
    rate = _population_rates(rx, patients, "antibacterial")
    rate = rate[~rate.index.isin(skip)] / rate.median()
    assert ((rate > 2.0) | (rate < 0.5)).mean() < 0.02
