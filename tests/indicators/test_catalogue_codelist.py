"""The catalogue against the real code list: codes resolve, titles' chemicals are counted, strength
and form rules answer for any 15-character code, and bad definitions are refused at load."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clusterqi import DataError
from clusterqi.codelist import load_presentations
from clusterqi.indicators import CodeList, load_catalogue
from clusterqi.indicators.catalogue import DEFINITIONS_DIR, EXCLUDE_MARK
from clusterqi.indicators.presentations import PresentationIndex, default_index, generic_equivalent

PRESENTATIONS = load_presentations()
CATALOGUE = load_catalogue()


def _counted(code_list) -> pd.DataFrame:
    return PRESENTATIONS[code_list.matches(PRESENTATIONS["bnf_code"]).to_numpy()]


@pytest.mark.parametrize("indicator_id", sorted(CATALOGUE))
def test_every_catalogue_code_resolves_in_the_code_list(indicator_id):
    for code_list in CATALOGUE[indicator_id].code_lists():
        for raw in code_list.codes:
            prefix = raw.removeprefix(EXCLUDE_MARK)
            assert PRESENTATIONS["bnf_code"].str.startswith(prefix).any(), (indicator_id, raw)


@pytest.mark.parametrize("indicator_id", sorted(CATALOGUE))
def test_every_counted_presentation_belongs_to_a_promised_chemical(indicator_id):
    numerator = CATALOGUE[indicator_id].numerator
    assert numerator.chemicals, f"{indicator_id} promises no chemicals"
    counted = _counted(numerator.bnf_codes)
    assert len(counted), indicator_id
    strays = counted[~counted["chemical_code"].isin(numerator.chemicals)]
    assert strays.empty, strays[["bnf_code", "bnf_name"]].to_string()


@pytest.mark.parametrize("indicator_id", sorted(CATALOGUE))
def test_every_promised_chemical_is_counted_under_its_code_list_name(indicator_id):
    numerator = CATALOGUE[indicator_id].numerator
    counted = _counted(numerator.bnf_codes)
    names = dict(zip(PRESENTATIONS["chemical_code"], PRESENTATIONS["chemical"]))
    for code, name in numerator.chemicals.items():
        assert code in set(counted["chemical_code"]), (indicator_id, code, name)
        assert names[code] == name


@pytest.mark.parametrize("indicator_id", sorted(i for i, ind in CATALOGUE.items()
                                                if ind.kind == "proportion"))
def test_a_proportions_numerator_lies_inside_its_denominator(indicator_id):
    ind = CATALOGUE[indicator_id]
    numerator = set(_counted(ind.numerator.bnf_codes)["bnf_code"])
    denominator = set(_counted(ind.denominator.bnf_codes)["bnf_code"])
    assert numerator and numerator < denominator, indicator_id


def _name(code: str) -> str:
    return PRESENTATIONS.loc[PRESENTATIONS["bnf_code"] == code, "bnf_name"].iloc[0]


def test_ppidose_strength_rule_on_real_presentations():
    ppi = CATALOGUE["high_dose_ppi_share"]
    num, den = ppi.numerator.bnf_codes, ppi.denominator.bnf_codes
    cases = {
        "0103050L0AAABAB": (False, True),   # lansoprazole 15 mg capsules: out of the numerator
        "0103050L0AAAAAA": (True, True),    # lansoprazole 30 mg capsules
        "0103050L0AAAGAG": (False, True),   # lansoprazole 15 mg orodispersible tablets
        "0103050P0AAAFAF": (False, True),   # omeprazole 10 mg capsules
        "0103050P0AAAAAA": (True, True),    # omeprazole 20 mg capsules
        "0103050P0AAAEAE": (True, True),    # omeprazole 40 mg capsules
        "0103050R0AAABAB": (False, True),   # pantoprazole 20 mg
        "0103050R0AAAAAA": (True, True),    # pantoprazole 40 mg
        "0103050T0AAAAAA": (False, True),   # rabeprazole 10 mg
        "0103050T0AAABAB": (True, True),    # rabeprazole 20 mg
        "0103050E0AAAAAA": (True, True),    # esomeprazole 20 mg: any strength
        "0103050P0AAAKAK": (False, False),  # omeprazole 40mg/5ml oral solution: a liquid
        "0103050L0AAAYAY": (False, False),  # lansoprazole 30mg/5ml oral suspension
        "0103050E0AAAEAE": (False, False),  # esomeprazole granules for suspension
    }
    for code, (in_num, in_den) in cases.items():
        assert (num.matches_code(code), den.matches_code(code)) == (in_num, in_den), (code, _name(code))
    # no liquid is counted anywhere
    liquids = PRESENTATIONS[PRESENTATIONS["form"].str.startswith("oral s")
                            & PRESENTATIONS["chemical_code"].str.startswith("0103050")]
    assert len(liquids) > 10 and not den.matches(liquids["bnf_code"]).any()


def test_a_branded_code_is_judged_by_its_generic_equivalent():
    num = CATALOGUE["high_dose_ppi_share"].numerator.bnf_codes
    # a brand (product "BB") whose generic equivalent is lansoprazole 15 mg (AB) / 30 mg (AA)
    assert generic_equivalent("0103050L0BBABAB") == "0103050L0AAABAB"
    assert num.matches_code("0103050L0BBACAB") is False
    assert num.matches_code("0103050L0BBAAAA") is True
    assert num.matches(pd.Series(["0103050L0BBACAB", "0103050L0BBAAAA"])).tolist() == [False, True]
    # a code the code list does not know cannot pass a rule
    assert num.matches_code("0103050L0AAZZZZ") is False


def test_methotrexate_10mg_share_counts_only_tablets():
    ind = CATALOGUE["methotrexate_10mg_share"]
    assert ind.numerator.bnf_codes.matches_code("1001030U0AAACAC")        # 10 mg tablets
    assert not ind.numerator.bnf_codes.matches_code("1001030U0AAABAB")    # 2.5 mg tablets
    assert not ind.numerator.bnf_codes.matches_code("1001030U0AAAHAH")    # 10mg/5ml liquid
    assert set(_counted(ind.denominator.bnf_codes)["bnf_code"]) == {"1001030U0AAABAB",
                                                                     "1001030U0AAACAC"}


def test_statin_intensity_strengths():
    num = CATALOGUE["low_intensity_statin_share"].numerator.bnf_codes
    assert num.matches_code("0212000B0AAAAAA") and not num.matches_code("0212000B0AAABAB")  # atorva 10 / 20
    assert num.matches_code("0212000AAAAADAD") and not num.matches_code("0212000AAAAAAAA")  # rosuva 5 / 10
    assert num.matches_code("0212000Y0AAADAD") and not num.matches_code("0212000Y0AAAHAH")  # simva 40 / 80
    assert num.matches_code("0212000X0AAADAD")                                             # prava 40


def test_antibacterials_exclude_methenamine_antituberculosis_and_antileprotic_drugs():
    abx = CATALOGUE["antibacterial_items_per_1000_per_day"].numerator.bnf_codes
    assert abx.matches_code("0501013B0AAABAB")  # amoxicillin
    for code in PRESENTATIONS["bnf_code"]:
        if code.startswith(("0501130H0", "050109", "050110")):
            assert not abx.matches_code(code), code
    four_c = CATALOGUE["antibiotics_4c_share"]
    assert set(four_c.denominator.bnf_codes.codes) == set(abx.codes)


def test_mdi_share_counts_metered_dose_inhalers_over_all_inhalers_without_salbutamol():
    ind = CATALOGUE["mdi_share_of_inhalers"]
    counted = _counted(ind.numerator.bnf_codes)
    assert set(counted["form"]) <= {"pressurised metered dose inhaler",
                                    "breath actuated metered dose inhaler"}
    den = _counted(ind.denominator.bnf_codes)
    assert "dry powder inhaler" in set(den["form"])
    assert not den["chemical_code"].eq("0301011R0").any()


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(CATALOGUE)), st.sampled_from(sorted(PRESENTATIONS["bnf_code"])),
       st.sampled_from(["AA", "BB", "CD"]))
def test_matches_and_matches_code_agree_for_any_code(indicator_id, code, product):
    """Property: the Series test and the one-code test give the same answer, for listed codes
    and for branded codes derived from them."""
    code = code[:9] + product + code[11:]
    for code_list in CATALOGUE[indicator_id].code_lists():
        assert code_list.matches(pd.Series([code])).iloc[0] == code_list.matches_code(code)


def _write(tmp_path, name, text):
    (tmp_path / f"{name}.yaml").write_text(text)


def _variant(tmp_path, source_id, old, new, name=None):
    text = (DEFINITIONS_DIR / f"{source_id}.yaml").read_text()
    assert old in text
    name = name or source_id
    _write(tmp_path, name, text.replace(old, new).replace(f"id: {source_id}", f"id: {name}"))


def test_a_code_missing_from_the_code_list_is_refused_naming_file_field_and_value(tmp_path):
    _variant(tmp_path, "dosulepin_items_per_1000_per_day", '- "0403010J0"', '- "0403010Q0"')
    with pytest.raises(DataError) as info:
        load_catalogue(tmp_path)
    message = str(info.value)
    assert "dosulepin_items_per_1000_per_day.yaml: field numerator.bnf_codes.codes[0]" in message
    assert "'0403010Q0' matches no presentation in the code list" in message


def test_a_dose_measure_without_a_defined_dose_is_refused(tmp_path):
    _variant(tmp_path, "gabapentinoid_ddd_per_1000_per_day", '- "0408010AE"  # Pregabalin',
             '- "0408010AE"  # Pregabalin\n    - "0403010J0"  # Dosulepin')
    with pytest.raises(DataError) as info:
        load_catalogue(tmp_path)
    assert ("gabapentinoid_ddd_per_1000_per_day.yaml: field numerator.measure: 'ddd' but chemical "
            "0403010J0 (Dosulepin HCl) has no defined dose") in str(info.value)


def test_a_strength_rule_that_cannot_be_evaluated_is_refused(tmp_path):
    # without the form filter, the rule meets lansoprazole liquids (mg/5ml): not comparable in mg
    text = (DEFINITIONS_DIR / "high_dose_ppi_share.yaml").read_text()
    start = text.index("    forms:")
    end = text.index("    strengths:")
    _write(tmp_path, "high_dose_ppi_share", text[:start] + text[end:])
    with pytest.raises(DataError) as info:
        load_catalogue(tmp_path)
    message = str(info.value)
    assert "high_dose_ppi_share.yaml: field numerator.bnf_codes.strengths[0]: cannot be evaluated" in message
    assert "0103050L0AAAIAI" in message and "'mg/5ml'" in message


def test_a_promised_chemical_must_carry_its_code_list_name(tmp_path):
    _variant(tmp_path, "dosulepin_items_per_1000_per_day", '"0403010J0": "Dosulepin HCl"',
             '"0403010J0": "Dothiepin"')
    with pytest.raises(DataError, match=r"field numerator.chemicals.0403010J0: named 'Dothiepin'"):
        load_catalogue(tmp_path)


def test_rules_answer_from_an_explicit_code_list_index():
    frame = pd.DataFrame({
        "bnf_code": ["0103050L0AAAAAA", "0103050L0AAABAB"], "bnf_name": ["L 30mg caps", "L 15mg caps"],
        "chemical_code": ["0103050L0"] * 2, "chemical": ["Lansoprazole"] * 2,
        "strength": [30.0, 15.0], "strength_unit": ["mg", "mg"], "form": ["capsule"] * 2,
    })
    index = PresentationIndex(frame)
    codes = CodeList(codes=("0103050L0",), strengths=[{"chemical": "0103050L0", "above": 15,
                                                       "unit": "mg"}])
    assert codes.matches_code("0103050L0BBABAB", index) is False
    assert codes.matches_code("0103050L0BBAAAA", index) is True
    # a 500 microgram strength compares in mg
    assert CodeList(codes=("0103050L0",), strengths=[{"chemical": "0103050L0", "below": 0.6,
                                                      "unit": "g"}]).matches_code("0103050L0AAABAB", index)


def test_code_list_model_refuses_rules_outside_its_codes():
    with pytest.raises(ValueError, match="outside the codes"):
        CodeList(codes=("0103050L0",), strengths=[{"chemical": "0103050P0", "above": 10, "unit": "mg"}])
    with pytest.raises(ValueError, match="needs above, below or equals"):
        CodeList(codes=("0103050L0",), strengths=[{"chemical": "0103050L0", "unit": "mg"}])
    with pytest.raises(ValueError, match="more than one strength rule"):
        CodeList(codes=("0103050L0",), strengths=[{"chemical": "0103050L0", "above": 1, "unit": "mg"},
                                                  {"chemical": "0103050L0", "below": 9, "unit": "mg"}])


def test_default_index_is_the_package_code_list():
    assert len(default_index()) == len(PRESENTATIONS)


def test_shipped_folder_still_loads_after_copy(tmp_path):
    for path in DEFINITIONS_DIR.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    assert set(load_catalogue(tmp_path)) == set(CATALOGUE)
