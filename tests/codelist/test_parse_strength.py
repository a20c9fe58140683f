"""parse_strength / parse_strengths on real presentation names (dm+d, old BNF, PHS upper case)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clusterqi.codelist import Strength, parse_strength, parse_strengths, route_of


@pytest.mark.parametrize(
    "name, value, unit, label",
    [
        ("Omeprazole 20mg gastro-resistant capsules", 20.0, "mg", "mg"),
        ("OMEPRAZOLE 20MG GASTRO-RESISTANT CAPSULES", 20.0, "mg", "mg"),
        ("Omeprazole_Cap E/C 20mg", 20.0, "mg", "mg"),
        ("Lansoprazole 15mg orodispersible tablets", 15.0, "mg", "mg"),
        ("Warfarin Sod_Tab 500mcg", 500.0, "microgram", "microgram"),
        ("Liothyronine Sod_Tab 20mcg", 20.0, "microgram", "microgram"),
        ("Salbutamol 100micrograms/dose inhaler CFC free", 100.0, "microgram", "microgram/dose"),
        ("SALBUTAMOL 100MICROGRAMS/DOSE INHALER CFC FREE", 100.0, "microgram", "microgram/dose"),
        ("Fentanyl 25micrograms/hour transdermal patches", 25.0, "microgram", "microgram/hour"),
        ("FENTANYL 25MICROGRAMS/HOUR TRANSDERMAL PATCHES", 25.0, "microgram", "microgram/hour"),
        ("Buprenorphine 52.5micrograms/hour transdermal patches", 52.5, "microgram",
         "microgram/hour"),
        ("Fentanyl_Transdermal Patch 25mcg/hr", 25.0, "microgram", "microgram/hour"),
        ("Morphine sulfate 10mg/5ml oral solution", 10.0, "mg", "mg/5ml"),
        ("AMOXICILLIN 250MG/5ML ORAL SUSPENSION", 250.0, "mg", "mg/5ml"),
        ("Pregabalin 20mg/ml oral solution sugar free", 20.0, "mg", "mg/ml"),
        ("Methotrexate 7.5mg/0.15ml inj pre-filled syringes", 7.5, "mg", "mg/0.15ml"),
        ("Lidocaine 5% medicated plasters", 5.0, "%", "%"),
        ("Lido_Medic Plastr 5%", 5.0, "%", "%"),
        ("Amoxicillin 3g oral powder sachets sugar free", 3.0, "g", "g"),
        ("Colecal_Cap 800u", 800.0, "unit", "unit"),
        ("Nystatin 100,000units/ml oral suspension", 100000.0, "unit", "unit/ml"),
    ],
)
def test_reads_single_strengths(name, value, unit, label):
    strength = parse_strength(name)
    assert strength is not None
    assert (strength.value, strength.unit, strength.label) == (value, unit, label)


@pytest.mark.parametrize(
    "name",
    [
        "Co-codamol 30mg/500mg tablets",
        "CO-CODAMOL 30MG/500MG TABLETS",
        "Co-Codamol_Tab 8mg/500mg",
        "Co-amoxiclav 500mg/125mg tablets",
        "Fluticasone 250micrograms/dose / Salmeterol 25micrograms/dose inhaler CFC free",
        "Fluticasone/Salmeterol_Inh 125/25mcg120D",
        "Eicosapentaenoic acid 460mg / Docosahexaenoic acid 380mg capsules",
        "Lido HCl/Prilocaine_Crm 2.5%/2.5%",
        "Lido HCl/Adren (Base)_Inj 2% 20ml Vl",
        "Gabapentin 600mg tablets and Gabapentin 300mg capsules",
        "Macrogol_Co Oral Pdr Sach S/F",
        "Generic Solpadeine Plus tablets",
        "",
        None,
        float("nan"),
    ],
)
def test_combinations_and_names_without_a_strength_give_none(name):
    assert parse_strength(name) is None


def test_pack_volume_is_not_a_strength():
    assert parse_strength("Insulin aspart 100units/ml 3ml cartridges") == Strength(
        100.0, "unit", 1.0, "ml")


def test_units_are_not_read_inside_words():
    # "g" of "gastro" and "mg" of "mgs" are not units
    assert parse_strength("Esomeprazole 40mg gastro-resistant tablets").value == 40.0
    assert parse_strength("Aspirin 75mg gastro-resistant tablets").unit == "mg"


@pytest.mark.parametrize(
    "name, mg",
    [
        ("Salbutamol 100micrograms/dose inhaler CFC free", 0.1),
        ("Amoxicillin 1g sachets", 1000.0),
        ("Omeprazole 20mg gastro-resistant capsules", 20.0),
        ("Alfacalcidol_Cap 250ng", 0.00025),
        ("Lidocaine 5% medicated plasters", None),
        ("Colecal_Cap 800u", None),
    ],
)
def test_in_mg(name, mg):
    got = parse_strength(name).in_mg()
    assert got == pytest.approx(mg) if mg is not None else got is None


def test_parse_strengths_keeps_the_order_of_a_combination():
    assert parse_strengths("CO-CODAMOL 30MG/500MG TABLETS") == (
        Strength(30.0, "mg"), Strength(500.0, "mg"))
    assert [s.value for s in parse_strengths("Fluticasone/Salmeterol_Inh 125/25mcg120D")] == [
        125.0, 25.0]
    assert parse_strengths("Oxycodone 10mg / Naloxone 5mg modified-release tablets")[0] == \
        Strength(10.0, "mg")
    assert parse_strengths("Morphine 10mg/5ml oral solution") == (
        Strength(10.0, "mg", 5.0, "ml"),)
    assert parse_strengths(None) == ()


@pytest.mark.parametrize(
    "form, route",
    [("patch", "transdermal"), ("suppository", "rectal"), ("sublingual tablet", "oromucosal"),
     ("buccal film", "buccal"), ("modified-release tablet", "oral"), ("oral solution", "oral"),
     ("dry powder inhaler", "inhalation")],
)
def test_route_of(form, route):
    assert route_of(form) == route


_UNITS = {"mg": "mg", "micrograms": "microgram", "mcg": "microgram", "g": "g", "%": "%"}


@given(
    value=st.decimals(min_value="0.01", max_value="5000", places=2, allow_nan=False),
    unit=st.sampled_from(sorted(_UNITS)),
    upper=st.booleans(),
    form=st.sampled_from(["tablets", "capsules", "gastro-resistant tablets", "oral powder"]),
)
def test_property_single_strength_round_trips(value, unit, upper, form):
    number = format(value.normalize(), "f")
    name = f"Drugname {number}{unit} {form}"
    if upper:
        name = name.upper()
    strength = parse_strength(name)
    assert strength is not None
    assert strength.value == pytest.approx(float(number))
    assert strength.unit == _UNITS[unit]
    assert strength.per_unit is None


@given(
    first=st.integers(min_value=1, max_value=999),
    second=st.integers(min_value=1, max_value=999),
)
def test_property_two_mass_strengths_are_ambiguous(first, second):
    assert parse_strength(f"Co-drug {first}mg/{second}mg tablets") is None
    assert [s.value for s in parse_strengths(f"Co-drug {first}mg/{second}mg tablets")] == [
        float(first), float(second)]
