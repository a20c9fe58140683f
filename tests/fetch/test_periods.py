"""Periods from resource and file names, and which resources count as "latest"."""

from __future__ import annotations

import pytest

from clusterqi.fetch import DATASETS, FetchError, parse_period, resource_period, select_resources

PRACTICES, POPULATIONS, PRESCRIBING, GEOGRAPHY, SIMD = DATASETS


@pytest.mark.parametrize(("text", "expected"), [
    ("GP Practices and List sizes October 2024", "2024-10"),
    ("GP Practice Populations April 2023 ", "2023-04"),
    ("Data by Prescriber Location - September 2024", "2024-09"),
    ("Data by Dispenser Location \u2013 September 2024", "2024-09"),
    ("Prescribing Data Sept 2016", "2016-09"),
    ("practice_contactdetails_oct2024-open-data.csv", "2024-10"),
    ("practice_listsizes_jan2025-open-data.csv", "2025-01"),
    ("practice_contact_details_20250115_opendata.csv", "2025-01-15"),
    ("pitc202409.csv", "2024-09"),
    ("Data by Prescriber Location \u2014 May-2021", "2021-05"),
])
def test_parse_period_reads_every_naming_phs_has_used(text, expected):
    assert str(parse_period(text)) == expected


@pytest.mark.parametrize("text", ["hb14_hb19.csv", "Data dictionary", "", "Summary 2024"])
def test_parse_period_finds_nothing_where_no_period_is_stated(text):
    assert parse_period(text) is None


def _resource(name, file, created="2024-01-01T00:00:00.000000", last_modified=None, state="active"):
    return {"id": file, "name": name, "url": f"http://portal/download/{file}", "size": 10,
            "created": created, "last_modified": last_modified, "state": state}


def test_file_name_period_wins_over_resource_name():
    resource = _resource("GP Practices and List sizes January 2025", "practice_contact_details_20250115_opendata.csv")
    period, source = resource_period(resource)
    assert (str(period), source) == ("2025-01-15", "file name")


def test_latest_is_the_newest_stated_period_not_the_newest_upload_or_list_position():
    resources = [
        _resource("GP Practices and List sizes October 2024", "practice_contactdetails_oct2024-open-data.csv",
                  created="2024-11-01T00:00:00.000000"),
        _resource("GP Practices and List sizes April 2023 ", "practice_contactdetails_apr2023-open-data.csv",
                  created="2025-06-01T00:00:00.000000", last_modified="2025-06-02T00:00:00.000000"),
        _resource("GP Practices and List sizes July 2024", "practice_contactdetails_jul2024-open-data.csv"),
    ]
    choices, warnings = select_resources(PRACTICES, resources)
    assert [c.file for c in choices] == ["practice_contactdetails_oct2024-open-data.csv"]
    assert warnings == []


def test_months_takes_the_newest_prescriber_months_and_ignores_dispenser_and_board_files():
    resources = [_resource(f"Data by Prescriber Location - {m} 2024", f"pitc2024{n:02d}.csv")
                 for n, m in [(3, "March"), (1, "January"), (2, "February"), (4, "April")]]
    resources += [_resource("Data by Dispenser Location \u2013 May 2024", "disp_pitc202405.csv"),
                  _resource("Data by Health Board - May 2024", "hb_pitc202405.csv")]
    choices, _ = select_resources(PRESCRIBING, resources, months=2)
    assert [c.file for c in choices] == ["pitc202404.csv", "pitc202403.csv"]


def test_asking_for_more_months_than_published_warns_and_takes_them_all():
    resources = [_resource("Prescribing Data January 2016", "pitc201601.csv")]
    choices, warnings = select_resources(PRESCRIBING, resources, months=12)
    assert len(choices) == 1
    assert warnings == ["prescriptions-in-the-community: asked for 12 months, the portal has 1"]


def test_deleted_resources_are_never_chosen():
    resources = [_resource("GP Practice Populations October 2024", "practice_listsizes_oct2024-open-data.csv"),
                 _resource("GP Practice Populations January 2025", "practice_listsizes_jan2025-open-data.csv",
                           state="deleted")]
    choices, _ = select_resources(POPULATIONS, resources)
    assert [c.file for c in choices] == ["practice_listsizes_oct2024-open-data.csv"]


def test_a_resource_stating_no_period_falls_back_to_its_upload_date_with_a_warning():
    resources = [
        _resource("GP Practice Populations October 2024", "practice_listsizes_oct2024-open-data.csv"),
        _resource("GP Practice Populations (latest)", "gp-practice-populations.csv",
                  created="2024-12-01T00:00:00.000000", last_modified="2025-02-03T04:05:06.000007"),
    ]
    choices, warnings = select_resources(POPULATIONS, resources)
    assert [(c.file, str(c.period)) for c in choices] == [("gp-practice-populations.csv", "2025-02-03")]
    assert any("states no period" in w and "dated by its upload time 2025-02-03" in w for w in warnings)
    assert any("not named as clusterqi's loaders expect" in w for w in warnings)


def test_two_resources_for_one_period_take_the_most_recently_modified_and_warn():
    resources = [
        _resource("Data by Prescriber Location - May 2024", "pitc202405.csv", last_modified="2024-06-20T00:00:00.0"),
        _resource("Data by Prescriber Location - May 2024 (revised)", "pitc202405.csv",
                  last_modified="2024-08-01T00:00:00.0"),
    ]
    resources[1]["id"] = "revised"
    choices, warnings = select_resources(PRESCRIBING, resources, months=1)
    assert choices[0].resource["id"] == "revised"
    assert "2 resources for 2024-05" in warnings[0]


def test_lookups_are_chosen_by_file_name():
    resources = [_resource("Council Area 2011 - Council Area 2019", "ca11_ca19.csv"),
                 _resource("HSCP 2016 - HSCP 2019", "hscp16_hscp19.csv"),
                 _resource("Health Board 2014 - Health Board 2019", "hb14_hb19.csv")]
    choices, _ = select_resources(GEOGRAPHY, resources)
    assert [c.file for c in choices] == ["hb14_hb19.csv", "hscp16_hscp19.csv"]
    assert all(c.period is None for c in choices)


def test_a_missing_lookup_is_an_error_naming_the_dataset_and_the_file():
    with pytest.raises(FetchError, match=r"geography-codes-and-labels.*hscp16_hscp19\.csv"):
        select_resources(GEOGRAPHY, [_resource("Health Board 2014 - Health Board 2019", "hb14_hb19.csv")])


def test_a_dataset_without_files_of_the_expected_kind_is_an_error_listing_what_it_holds():
    with pytest.raises(FetchError) as raised:
        select_resources(PRACTICES, [_resource("Data dictionary", "dictionary.xlsx")])
    message = str(raised.value)
    assert "gp-practice-contact-details-and-list-sizes" in message
    assert "'Data dictionary'" in message and "practice_contactdetails_oct2024-open-data.csv" in message


def test_simd_2020v2_is_chosen_by_file_name_among_the_older_versions():
    resources = [_resource("SIMD 2016", "simd2016_18012018.csv"),
                 _resource("SIMD 2020v2", "simd2020v2_22062020.csv"),
                 _resource("SIMD 2012", "simd2012_02042020.csv")]
    choices, warnings = select_resources(SIMD, resources)
    assert SIMD.slug == "scottish-index-of-multiple-deprivation"
    assert [c.file for c in choices] == ["simd2020v2_22062020.csv"] and warnings == []
