"""The indicator catalogue: shipped definitions, the strict model's errors, code matching."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from clusterqi import DataError
from clusterqi.indicators import (
    CodeList,
    Indicator,
    catalogue_hash,
    catalogue_markdown,
    load_catalogue,
)
from clusterqi.indicators.catalogue import DEFINITIONS_DIR, THEMES

REPO = Path(__file__).resolve().parents[2]
INVALID = Path(__file__).parent / "fixtures" / "invalid"
#: The target catalogue's ids (issue 13): contracts other modules rely on.
REQUIRED_IDS = {
    "antibacterial_items_per_1000_per_day", "antibiotics_4c_share", "high_dose_ppi_share",
    "nsaid_ibuprofen_naproxen_share", "opioid_ome_per_1000_per_day",
    "gabapentinoid_ddd_per_1000_per_day", "hypnotics_anxiolytics_adq_per_1000_per_day",
    "dosulepin_items_per_1000_per_day", "anticholinergic_burden_items_per_1000_per_day",
    "methotrexate_10mg_share", "saba_share_of_saba_ics", "mdi_share_of_inhalers",
    "doac_share_of_oral_anticoagulants", "low_intensity_statin_share",
    "lidocaine_plaster_cost_per_1000_per_day", "liothyronine_cost_per_1000_per_day",
    "omega3_cost_per_1000_per_day",
}
OLD_IDS = {"gabapentinoid_items_per_1000", "high_strength_opioid_items_per_1000",
           "hypnotics_anxiolytics_items_per_1000", "anticholinergic_burden_items_per_1000_65plus"}


def test_every_shipped_definition_loads_with_id_equal_to_file_name():
    catalogue = load_catalogue()
    files = sorted(p.stem for p in DEFINITIONS_DIR.glob("*.yaml"))
    assert sorted(catalogue) == files
    assert set(catalogue) == REQUIRED_IDS and not OLD_IDS & set(catalogue)
    assert len({ind.theme for ind in catalogue.values()}) >= 6
    assert all(isinstance(i, Indicator) for i in catalogue.values())


def test_kind_follows_the_denominator_and_fits_the_interval_method():
    catalogue = load_catalogue()
    assert catalogue["antibiotics_4c_share"].kind == "proportion"
    assert catalogue["antibacterial_items_per_1000_per_day"].kind == "rate"
    assert catalogue["antibacterial_items_per_1000_per_day"].denominator.per_day is True
    acb = catalogue["anticholinergic_burden_items_per_1000_per_day"]
    assert acb.denominator.population.age_min is None  # all ages: PITC has no age
    assert catalogue["nsaid_ibuprofen_naproxen_share"].low_is_good is False
    for ind in catalogue.values():
        assert ind.ci_method == ("wilson" if ind.kind == "proportion" else "byars")


def test_one_time_base_rates_per_1000_per_day_and_proportions_in_percent():
    for ind in load_catalogue().values():
        if ind.kind == "rate":
            assert ind.denominator.per_day is True, ind.id
            assert ind.multiplier == 1000 and ind.unit.endswith("per 1,000 patients per day"), ind.id
        else:
            assert ind.multiplier == 100 and ind.unit.startswith("% of"), ind.id


def test_dose_and_cost_indicators_use_their_measures():
    catalogue = load_catalogue()
    assert catalogue["opioid_ome_per_1000_per_day"].numerator.measure == "ome"
    assert catalogue["gabapentinoid_ddd_per_1000_per_day"].numerator.measure == "ddd"
    assert catalogue["hypnotics_anxiolytics_adq_per_1000_per_day"].numerator.measure == "adq"
    for id_ in ("lidocaine_plaster_cost_per_1000_per_day", "liothyronine_cost_per_1000_per_day",
                "omega3_cost_per_1000_per_day"):
        assert catalogue[id_].numerator.measure == "cost"
    assert {i for i, ind in catalogue.items() if ind.dose_based} == {
        "opioid_ome_per_1000_per_day", "gabapentinoid_ddd_per_1000_per_day",
        "hypnotics_anxiolytics_adq_per_1000_per_day"}


def test_themes_sources_and_seasonal_flags():
    catalogue = load_catalogue()
    assert THEMES[0] == "antimicrobials" and len(THEMES) == 8
    for ind in catalogue.values():
        assert ind.theme in THEMES and ind.sources
    seasonal = {i for i, ind in catalogue.items() if ind.seasonal}
    assert {"antibacterial_items_per_1000_per_day", "antibiotics_4c_share"} <= seasonal
    assert catalogue["antibiotics_4c_share"].theme == "antimicrobials"
    assert catalogue["mdi_share_of_inhalers"].theme == "respiratory"


def test_definitions_are_frozen():
    ind = load_catalogue()["antibiotics_4c_share"]
    with pytest.raises(Exception):
        ind.multiplier = 1  # type: ignore[misc]


def test_every_shipped_code_has_an_inline_comment_and_every_definition_a_reference():
    for path in DEFINITIONS_DIR.glob("*.yaml"):
        for line in path.read_text().splitlines():
            stripped = line.strip()
            if stripped.startswith('- "') and stripped[3:4].isdigit() or stripped.startswith('- "~'):
                assert "#" in stripped, f"{path.name}: code without a comment: {stripped}"
    for ind in load_catalogue().values():
        assert ind.references and ind.change_ideas


def test_code_list_matches_by_prefix_and_exclusions_win():
    codes = CodeList(codes=("0501", "~050109", "~0501013K0AAAAAA"))
    series = pd.Series(["0501013B0AAABAB", "0501090K0AAAAAA", "0501013K0AAAAAA",
                        "0501013K0AAABAB", "0401010Z0AAAAAA"])
    assert codes.matches(series).tolist() == [True, False, False, True, False]
    assert codes.include == ("0501",)
    assert codes.exclude == ("050109", "0501013K0AAAAAA")


def test_code_list_accepts_a_plain_list_and_rejects_bad_prefixes():
    assert CodeList.model_validate(["0403010B0"]).include == ("0403010B0",)
    for bad in (["05011"], ["~0501"], ["0501", "0501"], ["0501013k0"], ["ABCD"]):
        with pytest.raises(ValueError):
            CodeList.model_validate(bad)


@pytest.mark.parametrize(
    ("fixture", "field", "shown"),
    [
        ("unknown_key.yaml", "multipler", "Extra inputs are not permitted"),
        ("missing_field.yaml", "unit", "Field required"),
        ("bad_bnf_code.yaml", "numerator.bnf_codes", "'0408O10AE'"),
        ("bad_date.yaml", "date_reviewed", "'2026-13-01'"),
        ("bad_low_is_good.yaml", "low_is_good", "'sometimes'"),
        ("wrong_ci_method.yaml", "ci_method", "expected 'byars'"),
    ],
)
def test_invalid_definition_error_names_file_and_field(tmp_path, fixture, field, shown):
    shutil.copy(INVALID / fixture, tmp_path / fixture)
    with pytest.raises(DataError) as info:
        load_catalogue(tmp_path)
    message = str(info.value)
    assert f"{fixture}: field {field}" in message
    assert shown in message


def test_all_errors_of_all_files_are_reported_together():
    with pytest.raises(DataError) as info:
        load_catalogue(INVALID)
    message = str(info.value)
    for path in INVALID.glob("*.yaml"):
        assert path.name in message
    assert message.startswith(f"{len(list(INVALID.glob('*.yaml')))} problem(s)")


def test_id_must_match_the_file_name(tmp_path):
    text = (DEFINITIONS_DIR / "antibiotics_4c_share.yaml").read_text()
    (tmp_path / "renamed.yaml").write_text(text)
    with pytest.raises(DataError, match=r"renamed\.yaml: field id"):
        load_catalogue(tmp_path)


def test_missing_or_empty_folder_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="holds no .yaml files"):
        load_catalogue(tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        load_catalogue(tmp_path / "nowhere")


def test_catalogue_hash_is_stable_and_follows_the_files(tmp_path):
    assert catalogue_hash() == catalogue_hash(DEFINITIONS_DIR)
    assert catalogue_hash(load_catalogue()) == catalogue_hash(load_catalogue())
    for path in DEFINITIONS_DIR.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    assert catalogue_hash(tmp_path) == catalogue_hash()
    edited = tmp_path / "antibiotics_4c_share.yaml"
    edited.write_text(edited.read_text().replace("multiplier: 100", "multiplier: 1000"))
    assert catalogue_hash(tmp_path) != catalogue_hash()


def test_docs_indicators_page_is_current():
    page = (REPO / "docs" / "indicators.md").read_text()
    assert page == catalogue_markdown(load_catalogue()), (
        "docs/indicators.md is stale: run `clusterqi indicators --markdown > docs/indicators.md`"
    )


def test_markdown_lists_every_indicator_with_direction_and_references():
    page = catalogue_markdown(load_catalogue())
    for ind in load_catalogue().values():
        assert f"`{ind.id}`" in page and ind.references[0].url in page
    assert "higher is better" in page and "lower is better" in page


def test_cli_lists_the_catalogue_and_prints_the_page():
    run = [sys.executable, "-m", "clusterqi.cli", "indicators"]
    listing = subprocess.run(run, capture_output=True, text=True, check=True, cwd=REPO).stdout
    assert listing.splitlines()[0].split()[:4] == ["id", "title", "unit", "direction"]
    assert "antibiotics_4c_share" in listing and "higher is better" in listing
    page = subprocess.run(run + ["--markdown"], capture_output=True, text=True, check=True,
                          cwd=REPO).stdout
    assert page == (REPO / "docs" / "indicators.md").read_text()
    bad = subprocess.run(run + ["--folder", str(INVALID)], capture_output=True, text=True, cwd=REPO)
    assert bad.returncode == 1 and "bad_date.yaml: field date_reviewed" in bad.stderr
