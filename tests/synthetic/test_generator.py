"""The generator's formulas: roles from the catalogue, groups, seasons, trends, packs, plant
sizes, the row budget and the PITC writer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clusterqi.codelist import load_presentations
from clusterqi.indicators import load_catalogue
from clusterqi.synthetic import code_table
from clusterqi.synthetic.codes import (
    GROUPS,
    PACKS,
    ROW_BUDGET,
    Group,
    build_code_table,
    form_class,
    presentation_roles,
)
from clusterqi.synthetic.layouts import write_pitc
from clusterqi.synthetic.prescribing import (
    PACK_CLASSES,
    expected_shares,
    pack_quantities,
    season_factors,
    trend_factors,
)
from clusterqi.synthetic.world import MAX_SHARE_TO_DOUBLE, plant_size, populations_for

GROUP = {g.name: g for g in GROUPS}


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


@pytest.fixture(scope="module")
def roles(catalogue) -> pd.DataFrame:
    codes = pd.Series(["0501130H0AAAAAA",   # methenamine hippurate 1g tablets
                       "0501013K0AAAJAJ",   # co-amoxiclav 500mg/125mg tablets
                       "0501013B0AAABAB",   # amoxicillin 500mg capsules
                       "0103050L0AAABAB",   # lansoprazole 15mg capsules
                       "0103050L0AAAAAA",   # lansoprazole 30mg capsules
                       "0602010V0AABXBX"])  # levothyroxine 50 micrograms tablets
    return presentation_roles(catalogue, codes)


def test_roles_come_from_the_catalogue_code_lists(roles):
    abx, four_c, ppi = ("antibacterial_items_per_1000_per_day", "antibiotics_4c_share",
                        "high_dose_ppi_share")
    assert roles.loc[0, f"{abx}:excluded"] and not roles.loc[0, f"{abx}:numerator"]
    assert roles.loc[1, f"{abx}:numerator"] and roles.loc[1, f"{four_c}:numerator"]
    assert roles.loc[2, f"{four_c}:denominator"] and not roles.loc[2, f"{four_c}:numerator"]
    assert roles.loc[3, f"{ppi}:denominator"] and roles.loc[4, f"{ppi}:numerator"]
    assert not roles.loc[5].any()             # levothyroxine: background


def test_groups_take_the_first_rule_that_matches(catalogue):
    table = code_table()
    group = table.set_index("bnf_code")["group"]
    four_c = catalogue["antibiotics_4c_share"].numerator.bnf_codes
    abx = catalogue["antibacterial_items_per_1000_per_day"].numerator.bnf_codes
    in_4c = four_c.matches(table["bnf_code"]).to_numpy()
    assert set(table.loc[in_4c, "group"]) == {"antibacterial_4c"}
    assert set(table.loc[abx.matches(table["bnf_code"]).to_numpy() & ~in_4c, "group"]) \
        == {"antibacterial"}
    assert group.get("0501130H0AAAAAA") == "antibacterial_excluded"
    # every group's presentations share its rate
    rates = table.groupby("group")["rate"].sum()
    for name, g in GROUP.items():
        if name in rates:
            assert rates[name] == pytest.approx(g.rate)


def test_unknown_indicators_get_a_default_group_and_unknown_rule_ids_are_skipped():
    catalogue = load_catalogue()
    renamed = {"my_new_indicator": catalogue["dosulepin_items_per_1000_per_day"]
               .model_copy(update={"id": "my_new_indicator"})}
    table = build_code_table(renamed, load_presentations(), np.random.default_rng(0))
    assert set(table["group"]) == {"my_new_indicator:numerator"}
    assert (table["bnf_code"].str[:9] == "0403010J0").all()


def test_code_table_is_drawn_from_the_code_list_within_the_row_budget():
    table = code_table()
    listed = load_presentations().drop_duplicates("bnf_code").set_index("bnf_code")
    assert table["bnf_code"].isin(listed.index).all()
    assert (table["description"] == listed.loc[table["bnf_code"], "bnf_name"].str.upper()
            .to_numpy()).all()
    assert (table.groupby("group").size() >= 1).all()
    assert (table["rate"] > 0).all() and (table["unit_cost"] > 0).all()
    indicator_rows = table[table["group"] != "background"]
    assert len(indicator_rows) < ROW_BUDGET / 500          # about one row a practice each


@pytest.mark.parametrize("form,name,expected", [
    ("pressurised metered dose inhaler", "", "mdi"),
    ("breath actuated metered dose inhaler", "", "mdi"),
    ("dry powder inhaler", "", "dpi"),
    ("medicated plaster", "", "plaster"),
    ("patch", "", "patch"),
    ("oral solution", "", "liquid"),
    ("gastro-resistant capsule", "", "solid"),
    ("injection", "", "other"),
    ("", "Pregabalin 75mg capsules", "solid"),
    (None, "ZOPICLONE_TAB 7.5MG", "solid"),
])
def test_form_class_reads_the_form_or_else_the_name(form, name, expected):
    assert form_class(form, name) == expected


@given(start=st.integers(0, 120), amplitude=st.floats(0.001, 0.5), peak=st.integers(1, 12))
def test_season_factors_average_one_over_any_year_and_peak_in_their_month(start, amplitude, peak):
    months = pd.date_range("2015-01-01", periods=12, freq="MS") + pd.DateOffset(months=start)
    group = Group("g", (), 1.0, season=amplitude, peak=peak)
    factors = season_factors([group], months)[:, 0]
    assert factors.mean() == pytest.approx(1.0, abs=1e-12)
    assert months[int(np.argmax(factors))].month == peak


@given(n=st.integers(2, 60), trend=st.floats(-0.3, 0.3))
def test_trend_factors_change_by_the_trend_a_year_around_the_middle(n, trend):
    months = pd.date_range("2020-01-01", periods=n, freq="MS")
    factors = trend_factors([Group("g", (), 1.0, trend=trend)], months)[:, 0]
    assert factors[-1] / factors[0] == pytest.approx(np.exp(trend * (n - 1) / 12))
    assert np.log(factors).sum() == pytest.approx(0.0, abs=1e-9)


@settings(max_examples=50)
@given(items=st.lists(st.integers(0, 500), min_size=1, max_size=40),
       cls=st.sampled_from(PACK_CLASSES), seed=st.integers(0, 10**6))
def test_pack_quantities_give_every_item_one_of_its_class_packs(items, cls, seed):
    items = np.array(items)
    sizes = PACKS[cls][0]
    quantity = pack_quantities(items, np.full(len(items), PACK_CLASSES.index(cls)),
                               np.random.default_rng(seed))
    assert (quantity >= items * min(sizes)).all() and (quantity <= items * max(sizes)).all()
    assert ((quantity == 0) == (items == 0)).all()


def test_pack_quantities_average_the_class_mix():
    k = PACK_CLASSES.index("solid")
    quantity = pack_quantities(np.full(20000, 1), np.full(20000, k), np.random.default_rng(1))
    sizes, probs = PACKS["solid"]
    assert quantity.mean() == pytest.approx(np.dot(sizes, probs), rel=0.02)


@given(share=st.floats(0.01, 0.99), direction=st.sampled_from(["high", "low"]))
def test_plant_size_doubles_or_halves_a_share(share, direction):
    size = plant_size("p", direction, {"p": share})
    if direction == "high" and share > MAX_SHARE_TO_DOUBLE:
        assert size is None
        return
    factor = 1 + size
    moved = factor * share / (factor * share + 1 - share)
    assert moved == pytest.approx(share * (2.0 if direction == "high" else 0.5), rel=0.01)


def test_plant_size_of_a_rate_is_double_or_half():
    assert plant_size("rate", "high", {}) == 1.0 and plant_size("rate", "low", {}) == -0.5


def test_expected_shares_match_the_rates_of_numerator_and_denominator(catalogue):
    table = code_table()
    shares = expected_shares(table, catalogue)
    ppi = catalogue["high_dose_ppi_share"]
    num = ppi.numerator.bnf_codes.matches(table["bnf_code"]).to_numpy()
    den = ppi.denominator.bnf_codes.matches(table["bnf_code"]).to_numpy()
    assert shares["high_dose_ppi_share"] == pytest.approx(
        table["rate"][num].sum() / table["rate"][den].sum())
    assert 0.7 < shares["high_dose_ppi_share"] < 0.95
    assert 0.05 < shares["antibiotics_4c_share"] < 0.12
    assert set(shares) == {i for i, ind in catalogue.items() if ind.kind == "proportion"}


def test_populations_add_up_to_the_list_size():
    practices = pd.DataFrame({"practice_code": ["1", "2"], "old_share": [0.1, 0.3],
                              "hb_code": ["S08000001"] * 2, "hscp_code": ["S37000001"] * 2})
    sizes = pd.DataFrame({"practice_code": ["1", "2", "2"], "list_size": [5001, 150, 9999],
                          "release": pd.to_datetime(["2026-01-01", "2026-01-01", "2026-04-01"])})
    pops = populations_for(sizes, practices)
    bands = ["0to4", "5to14", "15to24", "25to44", "45to64", "65to74", "75to84", "85plus"]
    assert list(pops["sex"]) == ["Male", "Female", "All"] * 3
    every = pops[pops["sex"] == "All"]
    assert (every[bands].sum(axis=1).to_numpy() == [5001, 150, 9999]).all()
    male, female = pops[pops["sex"] == "Male"], pops[pops["sex"] == "Female"]
    assert (male[bands].to_numpy() + female[bands].to_numpy() == every[bands].to_numpy()).all()
    assert list(every["suppressed"]) == [False, True, False]


def test_write_pitc_quotes_only_what_needs_it_and_writes_two_decimals(tmp_path):
    frame = pd.DataFrame({
        "hbt": ["S08000015", "S08000016"], "practice_code": ["10002", "99999"],
        "bnf_code": ["0501013B0AAABAB", "0103050P0AAAAAA"],
        "description": ["AMOXICILLIN 500MG CAPSULES", 'A, "B"'],
        "dmd_code": ["317335000", ""], "items": [3, 1], "quantity": [63, 28],
        "cost": [1.5, 0.05],
    })
    path = tmp_path / "pitc202609.csv"
    write_pitc(path, pd.Timestamp("2026-09-01"), frame, old_layout=False)
    assert path.read_text().splitlines() == [
        "HBT,GPPractice,DMDCode,BNFItemCode,BNFItemDescription,PrescribedType,"
        "NumberOfPaidItems,PaidQuantity,GrossIngredientCost,PaidDateMonth",
        "S08000015,10002,317335000,0501013B0AAABAB,AMOXICILLIN 500MG CAPSULES,VMP,3,63,1.50,202609",
        'S08000016,99999,,0103050P0AAAAAA,"A, ""B""",VMP,1,28,0.05,202609',
    ]
    write_pitc(path, pd.Timestamp("2026-09-01"), frame.iloc[:0], old_layout=True)
    assert path.read_text() == ("HBT,GPPractice,BNFItemCode,BNFItemDescription,"
                                "ClassOfPreparationCode,NumberOfPaidItems,PaidQuantity,"
                                "GrossIngredientCost,PaidDateMonth\n")
