"""The shipped code-list files: shape, codes, provenance and catalogue coverage."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from clusterqi.codelist import (
    BNF_CODE_LENGTH,
    CHEMICAL_CODE_LENGTH,
    DATA_DIR,
    DEFINED_DOSE_COLUMNS,
    PRESENTATION_COLUMNS,
    load_defined_doses,
    load_presentations,
    parse_strength,
)

# Chemicals (BNF characters 1-9) that the target catalogue's numerators or denominators name.
CATALOGUE_CHEMICALS = {
    "co-amoxiclav": "0501013K0", "clindamycin": "0501060D0", "amoxicillin": "0501013B0",
    "methenamine hippurate": "0501130H0", "rifampicin": "0501090R0", "dapsone": "0501100H0",
    "esomeprazole": "0103050E0", "lansoprazole": "0103050L0", "omeprazole": "0103050P0",
    "pantoprazole": "0103050R0", "rabeprazole": "0103050T0",
    "ibuprofen": "1001010J0", "naproxen": "1001010P0", "diclofenac sodium": "1001010C0",
    "codeine": "0407020C0", "dihydrocodeine": "0407020G0", "tramadol": "040702040",
    "tapentadol": "0407020AG", "buprenorphine": "0407020B0", "fentanyl": "0407020A0",
    "morphine sulfate": "0407020Q0", "oxycodone": "0407020AD",
    "gabapentin": "0408010G0", "pregabalin": "0408010AE",
    "zopiclone": "0401010Z0", "zolpidem": "0401010Y0", "temazepam": "0401010T0",
    "nitrazepam": "0401010R0", "lormetazepam": "0401010P0", "diazepam": "0401020K0",
    "lorazepam": "0401020P0", "chlordiazepoxide": "0401020E0",
    "dosulepin": "0403010J0", "amitriptyline": "0403010B0", "oxybutynin": "0704020J0",
    "methotrexate": "1001030U0",
    "salbutamol": "0301011R0", "terbutaline": "0301011V0", "beclometasone": "0302000C0",
    "budesonide": "0302000K0", "fluticasone propionate": "0302000N0",
    "apixaban": "0208020Z0", "rivaroxaban": "0208020Y0", "dabigatran": "0208020X0",
    "edoxaban": "0208020AA", "warfarin": "0208020V0",
    "atorvastatin": "0212000B0", "simvastatin": "0212000Y0", "rosuvastatin": "0212000AA",
    "pravastatin": "0212000X0", "fluvastatin": "0212000M0",
    "lidocaine": "1502010J0", "liothyronine": "0602010M0",
    "omega-3-acid ethyl esters": "0212000AB", "omega-3 marine triglycerides": "0212000V0",
}
# Chemicals with a defined dose, by measure.
DOSE_CHEMICALS = {
    "ddd": ["0408010G0", "0408010AE"],
    "adq": ["0401010Z0", "0401010Y0", "0401010T0", "0401010R0", "0401010P0", "0401020K0",
            "0401020P0", "0401020E0"],
    "ome": ["0407020C0", "0407020G0", "040702040", "0407020AG", "0407020B0", "0407020A0",
            "0407020Q0", "0407020AD"],
}


@pytest.fixture(scope="module")
def presentations() -> pd.DataFrame:
    return load_presentations()


@pytest.fixture(scope="module")
def doses() -> pd.DataFrame:
    return load_defined_doses()


def _source_ids() -> set[str]:
    text = (DATA_DIR / "SOURCES.md").read_text(encoding="utf-8")
    return set(re.findall(r"^\| ([a-z0-9_]+) \|", text, flags=re.MULTILINE)) - {"id"}


def test_presentations_load_with_columns_in_order(presentations):
    assert tuple(presentations.columns) == PRESENTATION_COLUMNS
    assert len(presentations) >= 300
    assert presentations["strength"].dtype == float
    assert all(isinstance(c, str) for c in presentations["bnf_code"])


def test_codes_are_fifteen_characters_unique_and_start_with_their_chemical(presentations):
    codes = presentations["bnf_code"]
    bad_length = codes[codes.str.len() != BNF_CODE_LENGTH]
    assert bad_length.empty, bad_length.tolist()
    assert codes.is_unique, codes[codes.duplicated()].tolist()
    assert (presentations["chemical_code"].str.len() == CHEMICAL_CODE_LENGTH).all()
    mismatch = presentations[codes.str[:CHEMICAL_CODE_LENGTH] != presentations["chemical_code"]]
    assert mismatch.empty, mismatch[["bnf_code", "chemical_code"]].to_dict("records")
    assert codes.str.fullmatch(r"[0-9]{7}[0-9A-Z]{8}").all()


def test_only_generic_presentations_are_listed(presentations):
    assert (presentations["bnf_code"].str[9:11] == "AA").all()


def test_every_row_names_a_documented_source(presentations, doses):
    ids = _source_ids()
    assert set(presentations["source"]) <= ids, set(presentations["source"]) - ids
    assert set(doses["source"]) <= ids, set(doses["source"]) - ids


def test_names_and_forms_are_filled(presentations):
    assert (presentations["bnf_name"].str.strip() != "").all()
    assert (presentations["chemical"].str.strip() != "").all()
    missing_form = presentations.loc[presentations["form"].str.strip() == "", "bnf_name"]
    assert missing_form.empty, missing_form.tolist()


def test_parsed_strength_equals_the_strength_column(presentations):
    problems = []
    for row in presentations.itertuples(index=False):
        parsed = parse_strength(row.bnf_name)
        if pd.isna(row.strength):
            if parsed is not None:
                problems.append((row.bnf_code, row.bnf_name, "column blank", parsed))
        elif parsed is None or parsed.value != row.strength or parsed.label != row.strength_unit:
            problems.append((row.bnf_code, row.bnf_name, row.strength, row.strength_unit, parsed))
    assert not problems, problems[:10]


def test_strength_unit_given_exactly_when_strength_is(presentations):
    assert (presentations["strength"].notna() == presentations["strength_unit"].notna()).all()


@pytest.mark.parametrize("name, code", sorted(CATALOGUE_CHEMICALS.items()))
def test_every_catalogue_chemical_has_a_presentation(presentations, name, code):
    count = (presentations["chemical_code"] == code).sum()
    assert count >= 1, f"{name} ({code}) has no presentation"


def test_indicator_specific_presentations_are_present(presentations):
    codes = set(presentations["bnf_code"])
    by_code = presentations.set_index("bnf_code")
    # methotrexate measure: 10 mg tablets (strength code AC) and 2.5 mg tablets (AB)
    assert by_code.loc["1001030U0AAACAC", "strength"] == 10.0
    assert by_code.loc["1001030U0AAABAB", "strength"] == 2.5
    # lidocaine 5% medicated plasters: OpenPrescribing's 1502010J0%EL
    plasters = [c for c in codes if c.startswith("1502010J0") and c.endswith("EL")]
    assert plasters and by_code.loc[plasters[0], "form"] == "medicated plaster"
    # inhalers of each device kind
    forms = set(presentations.loc[presentations["bnf_code"].str.startswith("03"), "form"])
    assert {"pressurised metered dose inhaler", "dry powder inhaler",
            "breath actuated metered dose inhaler"} <= forms
    # fentanyl and buprenorphine patches with an hourly rate
    patches = presentations[presentations["form"] == "patch"]
    assert set(patches["chemical_code"]) >= {"0407020A0", "0407020B0"}
    opioid_patches = patches[patches["chemical_code"].isin(["0407020A0", "0407020B0"])]
    assert (opioid_patches["strength_unit"] == "microgram/hour").all()


def test_exclusions_of_the_antibacterial_indicators_are_listed(presentations):
    codes = presentations["bnf_code"]
    assert codes.str.startswith("050109").any()    # antituberculosis
    assert codes.str.startswith("050110").any()    # antileprotic
    assert codes.str.startswith("0501130H0").any()  # methenamine hippurate


def test_defined_doses_load_with_columns_in_order(doses):
    assert tuple(doses.columns) == DEFINED_DOSE_COLUMNS
    assert set(doses["measure"]) <= {"ddd", "adq", "ome"}
    assert (doses["dose"] > 0).all()
    assert (doses["dose_unit"] == "mg").all()
    keys = doses[["chemical_code", "measure", "route", "strengths"]].astype(str)
    assert not keys.duplicated().any(), keys[keys.duplicated()].to_dict("records")


@pytest.mark.parametrize("measure", sorted(DOSE_CHEMICALS))
def test_every_dose_based_chemical_has_a_defined_dose(doses, measure):
    have = set(doses.loc[doses["measure"] == measure, "chemical_code"])
    missing = set(DOSE_CHEMICALS[measure]) - have
    assert not missing, missing


def test_published_doses(doses):
    def dose(code, measure, route="oral"):
        hit = doses[(doses["chemical_code"] == code) & (doses["measure"] == measure)
                    & (doses["route"] == route)]
        return hit["dose"].tolist()

    assert dose("0408010G0", "ddd") == [1800.0]
    assert dose("0408010AE", "ddd") == [300.0]
    assert dose("0401010Z0", "adq") == [7.5]
    assert dose("0401020K0", "adq") == [10.0]
    assert dose("0407020Q0", "ome") == [1.0]
    assert dose("0407020C0", "ome") == [0.1]
    assert dose("0407020AD", "ome") == [1.5]
    assert dose("0407020A0", "ome", "transdermal") == [100.0]


def test_patch_rows_give_a_wear_time(doses):
    patches = doses[doses["route"] == "transdermal"]
    assert not patches.empty
    assert patches["hours_per_unit"].notna().all()
    fentanyl = patches[patches["chemical_code"] == "0407020A0"]
    assert fentanyl["hours_per_unit"].tolist() == [72.0]
    bup = patches[patches["chemical_code"] == "0407020B0"].set_index("strengths")
    assert bup.loc["5;10;15;20", "hours_per_unit"] == 168.0
    assert bup.loc["35;52.5;70", "hours_per_unit"] == 96.0


def test_dose_chemicals_have_presentations(presentations, doses):
    listed = set(presentations["chemical_code"])
    used = set(doses.loc[doses["measure"].isin(["ddd", "ome"]), "chemical_code"])
    assert used <= listed, used - listed


def test_acb3_chemicals_are_listed_with_presentations(presentations):
    from clusterqi.codelist import ACB_COLUMNS, load_acb3_chemicals

    acb = load_acb3_chemicals()
    assert tuple(acb.columns) == ACB_COLUMNS
    assert (acb["acb_score"] == 3).all()
    assert acb["chemical_code"].is_unique
    assert set(acb["chemical_code"]) <= set(presentations["chemical_code"])
    assert set(acb["source"]) <= _source_ids()
    # the commonest ACB-3 drugs in primary care
    assert {"0403010B0", "0704020J0", "0403030P0", "0304010G0"} <= set(acb["chemical_code"])
    named = acb.set_index("chemical_code")["chemical"]
    first = presentations.drop_duplicates("chemical_code")
    chemicals = first.set_index("chemical_code")["chemical"]
    assert (named == chemicals.loc[named.index]).all()


@pytest.mark.parametrize(
    "row, message",
    [
        ("0103050P0AAAAA,Omeprazole 20mg capsules,0103050P0", "line 2, column bnf_code"),
        ("0103050P0AAAAAA,Omeprazole 20mg capsules,0103050L0", "line 2, column chemical_code"),
    ],
)
def test_a_bad_code_is_reported_with_its_line_and_column(tmp_path, monkeypatch, row, message):
    import clusterqi.codelist as codelist

    header = ",".join(PRESENTATION_COLUMNS)
    (tmp_path / "presentations.csv").write_text(f"{header}\n{row},Omeprazole,20,mg,capsule,,x\n")
    monkeypatch.setattr(codelist, "DATA_DIR", tmp_path)
    codelist._presentations.cache_clear()
    try:
        with pytest.raises(ValueError, match=message):
            codelist.load_presentations()
    finally:
        codelist._presentations.cache_clear()


def test_a_duplicate_code_is_reported(tmp_path, monkeypatch):
    import clusterqi.codelist as codelist

    header = ",".join(PRESENTATION_COLUMNS)
    row = "0103050P0AAAAAA,Omeprazole 20mg capsules,0103050P0,Omeprazole,20,mg,capsule,,x"
    (tmp_path / "presentations.csv").write_text(f"{header}\n{row}\n{row}\n")
    monkeypatch.setattr(codelist, "DATA_DIR", tmp_path)
    codelist._presentations.cache_clear()
    try:
        with pytest.raises(ValueError, match="line 3, column bnf_code: '0103050P0AAAAAA' is"):
            codelist.load_presentations()
    finally:
        codelist._presentations.cache_clear()
