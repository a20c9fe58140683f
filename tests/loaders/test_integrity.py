"""Nothing silently wrong: hostile inputs that used to load quietly now fail or warn, by name.

Each case names the file, row (or line), column and value in its message, as the loader tests do.
"""

from __future__ import annotations

import os

import pytest

from clusterqi import DataError
from clusterqi.loaders import load_dataset, load_practices
from clusterqi.loaders.practices import MAX_SLUG_LENGTH, cluster_slug, is_placeholder
from clusterqi.loaders.reading import MAX_COUNT, file_sha256, read_text_table
from tests.loaders import phs_samples as s

PRACTICE_FILE = "practice_contactdetails_oct2024-open-data.csv"


def _practices_with(cluster_names, tmp_path, **kw):
    rows = [(f"1{i:04d}", f"Practice {i}", "5000", "S08000030", "S37000007", name)
            for i, name in enumerate(cluster_names)]
    return s.write_practices(tmp_path, rows=rows, **kw)


def test_a_stray_windows_byte_in_a_utf8_file_is_refused_naming_its_line(tmp_path):
    path = _practices_with(["Dunmore Firth Sùil 8", "Dundee 4"], tmp_path)
    raw = path.read_bytes().replace(b"Dundee 4", b"Dund\xe9e 4")   # cp1252 "é" in UTF-8 text
    path.write_bytes(raw)
    with pytest.raises(DataError, match=r"practice_contactdetails_oct2024-open-data.csv, line 3: "
                                        r"byte 0xe9 is not UTF-8.*'ù' on line 2"):
        read_text_table(path)


def test_a_file_wholly_in_windows_1252_is_read_with_its_accents(tmp_path):
    path = _practices_with(["Dunmore Firth Sùil 8", "Dundée 4"], tmp_path, encoding="cp1252")
    frame = read_text_table(path)
    assert list(frame["GPCluster"]) == ["Dunmore Firth Sùil 8", "Dundée 4"]


def test_a_file_cut_short_is_refused_and_its_cut_name_never_becomes_a_cluster(tmp_path):
    path = _practices_with(["Dundee 4", "Torrance Undefined"], tmp_path)
    path.write_bytes(path.read_bytes()[:-5])   # "...Torrance Undef"
    with pytest.raises(DataError, match=r"line 3: the last line has no line ending.*'.*Torrance "
                                        r"Undef'"):
        load_practices(path)


def test_impossibly_large_counts_are_refused_not_wrapped(tmp_path):
    rows = [("10002", "Muirhead", "99999999999999999999", "S08000030", "S37000007", "Dundee 4")]
    path = s.write_practices(tmp_path, rows=rows)
    with pytest.raises(DataError, match=r"row 2 \(PracticeCode 10002\), column PracticeListSize: "
                                        r"value '99999999999999999999' is impossibly large"):
        load_practices(path)
    assert MAX_COUNT < 2**63


@pytest.mark.parametrize("name", ["Αθήνα Κέντρο", "/", "Dunmore Firth Sùil 8", "x" * 300,
                                  "Torrance Undef", "Undefined Road Surgery Group"])
def test_every_real_cluster_name_gets_an_id_of_bounded_length(name):
    slug = cluster_slug(name)
    assert slug and len(slug) <= MAX_SLUG_LENGTH
    assert not is_placeholder(name)


def test_ids_stay_as_they_were_for_plain_names_and_placeholders_are_only_board_undefined():
    assert cluster_slug("Bothwell, Uddingston & Viewpark") == "bothwell-uddingston-viewpark"
    assert cluster_slug("Kinross/Errol/Bridge of Earn") == "kinross-errol-bridge-of-earn"
    assert cluster_slug("Dunmore Firth Sùil 8") == "dunmore-firth-suil-8"
    assert cluster_slug("Greater Glasgow & Clyde Undefined") is None
    assert cluster_slug("/") != cluster_slug("//")
    assert cluster_slug("x" * 300) != cluster_slug("x" * 299)


def test_clusters_with_non_latin_names_keep_their_practices(tmp_path):
    path = _practices_with(["Αθήνα Κέντρο", "/", "Dundee 4"], tmp_path)
    table = load_practices(path)
    assert table["in_cluster"].all()
    assert table["cluster_id"].notna().all() and table["cluster_id"].nunique() == 3


def test_an_edit_that_keeps_size_and_modification_time_is_hashed_again(tmp_path):
    path = tmp_path / "pitc202409.csv"
    path.write_bytes(b"a,b\n1,2\n")
    before = file_sha256(path)
    stat = path.stat()
    path.write_bytes(b"a,b\n1,3\n")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))   # time put back
    assert path.stat().st_size == stat.st_size and path.stat().st_mtime_ns == stat.st_mtime_ns
    assert file_sha256(path) != before


def test_population_gaps_and_mismatches_are_warnings_naming_the_practice(tmp_path):
    folder = s.write_mini_folder(tmp_path)
    s.write_pitc(folder, "202410", [("10002", "0501013B0AAABAB", 3, 21, 4.5)])
    data = load_dataset(folder)
    kinds = data.warnings.groupby("kind")["practice_code"].apply(set)
    # 10017 and 21558 are listed in the release but have no population rows
    assert kinds["missing_population"] == {"10017", "21558"}
    assert "population_mismatch" not in kinds
    # a population ten times the list size (published as an All-sexes total only)
    rows = [r for r in s.POPULATION_ROWS if r.split(",")[1] != "10002" or ",All," in r]
    rows = [r.replace(",8330,", ",83300,") for r in rows]
    s.write_populations(folder / "practices", rows=rows)
    data = load_dataset(folder)
    mismatch = data.warnings[data.warnings["kind"] == "population_mismatch"]
    assert list(mismatch["practice_code"]) == ["10002"]
    assert "83,300 differs from the list size 8,330" in mismatch["message"].iloc[0]


def test_a_file_whose_rows_are_another_month_than_its_name_is_refused(tmp_path):
    from clusterqi.loaders import load_prescribing

    path = s.write_pitc(tmp_path, "202608", [("10002", "0501013B0AAABAB", 3, 21, 4.5)])
    load_prescribing([path])                       # cached under its content
    moved = path.rename(tmp_path / "pitc202607.csv")   # August's data saved as July
    with pytest.raises(DataError, match=r"pitc202607.csv, row 2, column PaidDateMonth: value "
                                        r"202608 is 2026-08, but the file name says 2026-07"):
        load_prescribing([moved])


def test_a_month_mixed_into_a_file_is_refused_at_its_row(tmp_path):
    from clusterqi.loaders import load_prescribing

    lines = [s.PITC_HEADER_2024,
             s.pitc_line("10002", "0501013B0AAABAB", 3, 21, 4.5, "202608"),
             s.pitc_line("10017", "0501013B0AAABAB", 2, 14, 3.0, "202609")]
    path = s.write(tmp_path / "pitc202608.csv", lines)
    with pytest.raises(DataError, match=r"row 3, column PaidDateMonth: value 202609 is 2026-09"):
        load_prescribing([path])


@pytest.mark.parametrize("items", ["99999999999999999999", "1000000000000000"])
def test_impossible_item_counts_are_refused_never_wrapped(tmp_path, items):
    from clusterqi.loaders import load_prescribing

    path = s.write_pitc(tmp_path, "202609", [("10002", "0501013B0AAABAB", items, 21, 4.5)])
    with pytest.raises(DataError, match=r"row 2 \(GPPractice 10002\), column NumberOfPaidItems: "
                                        r"value .* is impossibly large"):
        load_prescribing([path])


def test_a_prescribing_file_cut_short_is_refused(tmp_path):
    from clusterqi.loaders import load_prescribing

    path = s.write_pitc(tmp_path, "202609", [("10002", "0501013B0AAABAB", 3, 21, 4.5),
                                             ("10017", "0501013B0AAABAB", 2, 14, 3.0)])
    path.write_bytes(path.read_bytes()[:-8])
    with pytest.raises(DataError, match="pitc202609.csv, line 3: the last line has no line ending"):
        load_prescribing([path])


def test_a_corrupt_prescribing_cache_is_rebuilt_with_a_warning(tmp_path, monkeypatch):
    from clusterqi.loaders import load_prescribing

    monkeypatch.setenv("CLUSTERQI_CACHE", str(tmp_path / "cache"))
    paths = [s.write_pitc(tmp_path, m, [("10002", "0501013B0AAABAB", 3, 21, 4.5)])
             for m in ("202608", "202609")]
    first = load_prescribing(paths)
    for cached in (tmp_path / "cache").rglob("*"):
        if cached.is_file():
            cached.write_bytes(cached.read_bytes()[:20])   # every cache file cut short
    with pytest.warns(UserWarning, match="could not be read"):
        again = load_prescribing(paths)
    assert again["items"].sum() == first["items"].sum() == 6
