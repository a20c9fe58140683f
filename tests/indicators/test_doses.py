"""Dose-based measures: DDD, ADQ and OME per unit of quantity, from real names and the shipped
defined-dose table; presentations whose strength cannot be read are findings, never guesses."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clusterqi.codelist import Strength, parse_strength
from clusterqi.indicators.doses import (
    FINDING_COLUMNS,
    DefinedDoses,
    amount_per_unit,
    default_doses,
    dose_factors,
    findings_frame,
)
from clusterqi.indicators.presentations import convert_amount


def _one(code, name, measure):
    factors, findings = dose_factors([code], [name], measure, "test")
    return factors[0], findings


def test_ddd_of_pregabalin_and_gabapentin_follow_the_who_ddd():
    # WHO DDD pregabalin 300 mg: a 75 mg capsule is a quarter of a DDD
    assert _one("0408010AEAAACAC", "PREGABALIN 75MG CAPSULES", "ddd")[0] == pytest.approx(0.25)
    # gabapentin 1,800 mg: a 600 mg tablet is a third
    assert _one("0408010G0AAAJAJ", "Gabapentin 600mg tablets", "ddd")[0] == pytest.approx(1 / 3)
    # a liquid: quantity in ml, 100mg/5ml is 20 mg a ml
    assert _one("0408010G0AAAGAG", "Gabapentin 100mg/5ml oral liquid", "ddd")[0] == pytest.approx(20 / 1800)


def test_adq_of_zopiclone_and_diazepam():
    assert _one("0401010Z0AAAAAA", "Zopiclone_Tab 7.5mg", "adq")[0] == pytest.approx(1.0)
    assert _one("0401020K0AAAIAI", "Diazepam_Tab 5mg", "adq")[0] == pytest.approx(0.5)


def test_ome_of_oral_opioids_and_patches_with_wear_time():
    # morphine sulfate 10 mg tablet: OME factor 1
    assert _one("0407020Q0AAAHAH", "Morphine 100mg modified-release tablets", "ome")[0] == pytest.approx(100)
    # oxycodone 5 mg: x 1.5
    assert _one("0407020ADAAACAC", "Oxycodone 5mg capsules", "ome")[0] == pytest.approx(7.5)
    # fentanyl 25 microgram/hour patch worn 72 h = 1.8 mg x 100 = 180 mg OME per patch
    fentanyl = _one("0407020A0AAAEAE", "FENTANYL 25MICROGRAMS/HOUR TRANSDERMAL PATCHES", "ome")[0]
    assert fentanyl == pytest.approx(180)
    # buprenorphine 10 microgram/hour seven-day patch: 10 x 168 h = 1.68 mg x 100
    bup = _one("0407020B0AAAIAI", "Buprenorphine 10micrograms/hour transdermal patches", "ome")
    assert bup[0] == pytest.approx(168)
    # 35 microgram/hour patches are worn 96 h
    bup35 = _one("0407020B0AAAEAE", "Buprenorphine 35micrograms/hour transdermal patches", "ome")
    assert bup35[0] == pytest.approx(35 * 96 / 1000 * 100)


def test_ome_of_a_combination_uses_the_opioid_strength():
    # co-codamol 30/500: codeine 30 mg (first strength) x 0.1
    assert _one("0407010F0AAAHAH", "CO-CODAMOL 30MG/500MG TABLETS", "ome")[0] == pytest.approx(3.0)


def test_unreadable_or_undefined_strengths_are_findings_not_guesses():
    codes = ["0408010G0AAAXAX", "0408010AEAAABAB", "0403010J0AAAAAA", "0408010G0AAASAS"]
    names = ["Gabapentin 600mg tablets and Gabapentin 300mg capsules", None, "Dosulepin HCl_Cap 25mg",
             "Gabapentin 50mg/5ml oral liquid"]
    factors, findings = dose_factors(codes, names, "ddd", "gaba")
    assert np.isnan(factors[:3]).all()
    assert factors[3] == pytest.approx(10 / 1800)  # per ml
    assert list(findings.columns) == FINDING_COLUMNS
    reasons = dict(zip(findings.index, findings["reason"]))
    assert "cannot be read" in reasons[0]
    assert "no BNFItemDescription" in reasons[1]
    assert "no defined dose" in reasons[2]
    assert findings["indicator_id"].eq("gaba").all()


def test_a_patch_rate_without_a_wear_time_cannot_be_counted():
    strength = parse_strength("FENTANYL 25MICROGRAMS/HOUR TRANSDERMAL PATCHES")
    assert amount_per_unit(strength, "mg", None) is None
    assert amount_per_unit(strength, "mg", 72) == pytest.approx(1.8)
    assert amount_per_unit(Strength(5.0, "%"), "mg") is None
    assert amount_per_unit(None, "mg") is None


def test_route_unknown_to_the_code_list_with_several_routes_is_a_finding():
    doses = DefinedDoses(pd.DataFrame({
        "chemical_code": ["0407020A0", "0407020A0"], "chemical": ["Fentanyl"] * 2,
        "measure": ["ome"] * 2, "route": ["buccal", "nasal"], "dose": [130.0, 160.0],
        "dose_unit": ["mg"] * 2, "source": ["t"] * 2,
    }))
    factors, findings = dose_factors(["0407020A0AAZZZZ"], ["Fentanyl 100microgram thing"], "ome",
                                     "opioid", doses=doses)
    assert np.isnan(factors[0]) and "route is unknown" in findings["reason"].iloc[0]


def test_shipped_defined_doses_cover_the_catalogues_dose_chemicals():
    doses = default_doses()
    assert {"0408010AE", "0408010G0"} <= set(doses.chemicals("ddd"))
    assert "0401010Z0" in doses.chemicals("adq")
    assert "0407020A0" in doses.chemicals("ome")


def test_findings_frame_reads_records_or_a_table():
    records = [{"bnf_code": "x", "description": None, "indicator_id": "i", "reason": "r"}]
    assert findings_frame(records).shape == (1, 4)
    table = pd.DataFrame()
    table.attrs["dose_findings"] = records
    assert findings_frame(table)["reason"].tolist() == ["r"]
    assert findings_frame(pd.DataFrame()).empty


@settings(max_examples=100, deadline=None)
@given(st.floats(0.001, 5000), st.sampled_from(["mg", "microgram", "g", "nanogram"]),
       st.sampled_from(["mg", "microgram", "g"]))
def test_unit_conversion_round_trips(value, unit, target):
    """Property: converting there and back gives the value again; mass units scale by 1000s."""
    there = convert_amount(value, unit, target)
    assert math.isclose(convert_amount(there, target, unit), value, rel_tol=1e-9)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 400))
def test_ddd_scales_linearly_with_strength(mg):
    """Property: a DDD factor is strength / DDD, so doubling the strength doubles it."""
    one = _one("0408010AEAAABAB", f"Pregabalin {mg}mg capsules", "ddd")[0]
    two = _one("0408010AEAAABAB", f"Pregabalin {2 * mg}mg capsules", "ddd")[0]
    assert one == pytest.approx(mg / 300) and two == pytest.approx(2 * one)


@pytest.mark.parametrize("indicator_id", ["opioid_ome_per_1000_per_day", "gabapentinoid_ddd_per_1000_per_day",
                                          "hypnotics_anxiolytics_adq_per_1000_per_day"])
def test_real_presentations_of_dose_indicators_get_a_factor_or_a_stated_reason(indicator_id):
    from clusterqi.codelist import load_presentations
    from clusterqi.indicators import load_catalogue

    indicator = load_catalogue()[indicator_id]
    codes = load_presentations()
    counted = codes[indicator.numerator.bnf_codes.matches(codes["bnf_code"]).to_numpy()]
    factors, findings = dose_factors(counted["bnf_code"].tolist(), counted["bnf_name"].tolist(),
                                     indicator.numerator.measure, indicator_id)
    assert np.isfinite(factors).mean() >= 0.95, findings.to_string()
    assert (factors[np.isfinite(factors)] > 0).all()
    assert set(findings["bnf_code"]) == set(counted["bnf_code"][~np.isfinite(factors)])
    assert findings["reason"].str.len().gt(10).all()
