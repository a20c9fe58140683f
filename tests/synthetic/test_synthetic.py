"""Synthetic Scotland: PHS layouts, determinism, shape, planted effects, attach mode, loaders."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pandas as pd
import pytest

from clusterqi import DataError
from clusterqi.indicators import load_catalogue
from clusterqi.synthetic import ensure_synthetic, write_synthetic
from clusterqi.synthetic.geography import cluster_slug
from clusterqi.synthetic.layouts import NON_PRACTICE_CODES, PITC_COLUMNS, PITC_COLUMNS_OLD
from tests.conftest import PHS_DIR

REAL_DETAILS = "practice_contactdetails_oct2024-open-data.csv"
REAL_POPULATIONS = "practice_listsizes_oct2024-open-data.csv"
#: Rows a default-scale month may have (about 63,000: 17 indicators, real presentation mix).
MAX_DEFAULT_ROWS = 66_000


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _header(path: Path) -> bytes:
    return path.read_bytes().split(b"\n", 1)[0]


def _practice_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("practice_contactdetails_*-open-data.csv"))


def _latest_practices(folder: Path) -> pd.DataFrame:
    frames = [pd.read_csv(p, dtype=str, keep_default_na=False) for p in _practice_files(folder)]
    return pd.concat(frames).drop_duplicates("PracticeCode", keep="last")


@pytest.fixture(scope="module")
def small_pair(tmp_path_factory):
    """Two folders written with the same seed, and one with another seed (3 months)."""
    root = tmp_path_factory.mktemp("synth")
    a = write_synthetic(root / "a", seed=7, months=3)
    b = write_synthetic(root / "b", seed=7, months=3)
    c = write_synthetic(root / "c", seed=8, months=3)
    return a, b, c


def test_same_seed_gives_byte_identical_files(small_pair):
    a, b, c = small_pair
    assert _digest(a) == _digest(b)
    assert _digest(a) != _digest(c)


def test_files_written_are_the_phs_set(small_pair):
    a, _, _ = small_pair
    names = {p.name for p in a.iterdir()}
    assert {"pitc202607.csv", "pitc202608.csv", "pitc202609.csv", "hb14_hb19.csv",
            "hscp16_hscp19.csv", "ground_truth.csv", "simd2020v2_22062020.csv",
            "practice_contactdetails_jul2026-open-data.csv",
            "practice_listsizes_jul2026-open-data.csv"} == names


def test_practice_and_population_layouts_match_the_real_files(synthetic_dir):
    from tests.conftest import require

    require(PHS_DIR.is_dir(), f"real PHS files not found at {PHS_DIR}")
    real_details = PHS_DIR / "practices" / REAL_DETAILS
    real_pops = PHS_DIR / "practices" / REAL_POPULATIONS
    for path in _practice_files(synthetic_dir):
        assert _header(path) == _header(real_details)          # 15 columns, CRLF, same order
        assert path.read_bytes().count(b"\r\n") == path.read_bytes().count(b"\n")
    for path in synthetic_dir.glob("practice_listsizes_*-open-data.csv"):
        assert _header(path) == _header(real_pops)
    for name in ("hb14_hb19.csv", "hscp16_hscp19.csv"):
        real = PHS_DIR / "lookups" / name
        assert _header(synthetic_dir / name) == _header(real)


def test_pitc_files_use_the_recent_layout_and_the_first_month_the_older_one(synthetic_dir):
    pitc = sorted(synthetic_dir.glob("pitc*.csv"))
    assert len(pitc) == 24
    assert _header(pitc[0]).decode() == ",".join(PITC_COLUMNS_OLD)
    for path in pitc[1:]:
        assert _header(path).decode() == ",".join(PITC_COLUMNS)
    month = pd.read_csv(pitc[-1], dtype=str)
    assert set(month["PaidDateMonth"]) == {"202609"}
    assert month["BNFItemCode"].str.len().eq(15).all()
    assert set(NON_PRACTICE_CODES) <= set(month["GPPractice"])


def test_default_scale_rows_and_shape_are_within_limits(synthetic_dir):
    for path in synthetic_dir.glob("pitc*.csv"):
        rows = sum(1 for _ in path.open()) - 1
        assert 30_000 < rows <= MAX_DEFAULT_ROWS, (path.name, rows)
    practices = _latest_practices(synthetic_dir)
    assert 850 <= len(practices) <= 950
    assert 140 <= practices["GPCluster"].nunique() <= 160
    assert practices["HB"].nunique() == 14 and practices["HSCP"].nunique() == 31
    assert practices["HB"].str.match(r"^S08\d{6}$").all()
    assert practices["HSCP"].str.match(r"^S37\d{6}$").all()
    assert practices["PracticeCode"].str.match(r"^\d{5}$").all()
    sizes = practices["PracticeListSize"].astype(int)
    assert sizes.min() < 200 and sizes.max() > 20_000 and 4_000 < sizes.median() < 7_500
    per_cluster = practices.groupby("GPCluster").size()
    assert per_cluster.min() == 1 and per_cluster.max() <= 15
    assert practices["GPCluster"].str.endswith(" Undefined").sum() >= 1


def test_age_mix_varies_and_rows_add_up(synthetic_dir):
    pops = pd.read_csv(sorted(synthetic_dir.glob("practice_listsizes_*"))[-1], dtype=str,
                       keep_default_na=False)
    full = pops[(pops["Sex"] == "All") & (pops["Ages0To4QF"] != "c")]
    bands = [c for c in pops.columns if re.match(r"^Ages\d+(to\d+|plus)$", c)]
    counts = full[bands].astype(int)
    assert (counts.sum(axis=1) == full["AllAges"].astype(int)).all()
    old = counts[["Ages65to74", "Ages75to84", "Ages85plus"]].sum(axis=1) / counts.sum(axis=1)
    assert old.min() < 0.14 and old.max() > 0.27
    suppressed = pops[pops["Ages0To4QF"] == "c"]
    assert set(suppressed["Sex"]) == {"Male", "Female", "All"}
    assert (suppressed.loc[suppressed["Sex"] == "All", "AllAges"].astype(int) < 200).all()


def test_ground_truth_points_to_real_units_months_and_indicators(synthetic_dir):
    truth = pd.read_csv(synthetic_dir / "ground_truth.csv", dtype=str, keep_default_na=False)
    assert list(truth.columns) == ["kind", "indicator_id", "unit_id", "month", "direction", "size"]
    practices = _latest_practices(synthetic_dir)
    codes = set(practices["PracticeCode"])
    clusters = {cluster_slug(n) for n in practices["GPCluster"]} - {None}
    catalogue = load_catalogue()
    months = {f"{m.year}-{m.month:02d}" for m in pd.date_range(end="2026-09-01", periods=24, freq="MS")}
    for row in truth.itertuples():
        assert row.unit_id in codes or row.unit_id in clusters, row
        assert row.indicator_id == "" or row.indicator_id in catalogue, row
        assert row.month == "" or row.month in months, row
    expected = {"practice_outlier", "cluster_outlier", "step_change", "missing_months",
                "coding_change", "list_size_jump", "practice_closes", "practice_opens",
                "tiny_practice", "small_cluster", "placeholder"}
    assert expected <= set(truth["kind"])
    effects = truth[truth["kind"].isin(["practice_outlier", "cluster_outlier", "step_change"])]
    assert not effects["unit_id"].duplicated().any()
    assert {"high", "low"} == set(truth.loc[truth["kind"] == "practice_outlier", "direction"])


def test_every_catalogue_code_list_has_prescribing_and_exclusions_are_exercised(synthetic_dir):
    month = pd.read_csv(synthetic_dir / "pitc202609.csv", dtype=str)
    codes = month["BNFItemCode"]
    for ind in load_catalogue().values():
        for code_list in ind.code_lists():
            assert code_list.matches(codes).any(), ind.id
            excluded = codes.str.startswith(code_list.include)
            if code_list.exclude:
                assert (excluded & ~code_list.matches(codes)).any(), ind.id


def test_missing_months_practice_has_no_rows_in_those_months(synthetic_dir):
    truth = pd.read_csv(synthetic_dir / "ground_truth.csv", dtype=str, keep_default_na=False)
    gaps = truth[truth["kind"] == "missing_months"]
    assert len(gaps) == 2 and gaps["unit_id"].nunique() == 1
    for row in gaps.itertuples():
        month = pd.read_csv(synthetic_dir / f"pitc{row.month.replace('-', '')}.csv", dtype=str)
        assert row.unit_id not in set(month["GPPractice"])


def test_arguments_are_checked(tmp_path):
    with pytest.raises(DataError, match="YYYY-MM"):
        write_synthetic(tmp_path, period_end="Sept 2026")
    with pytest.raises(DataError, match="scale"):
        write_synthetic(tmp_path, scale="huge")
    with pytest.raises(DataError, match="both practices and populations"):
        write_synthetic(tmp_path, practices="x.csv")


def test_ensure_synthetic_reuses_its_cached_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("CLUSTERQI_CACHE", str(tmp_path))
    first = ensure_synthetic(seed=3, months=1)
    stamp = (first / "ground_truth.csv").stat().st_mtime_ns
    again = ensure_synthetic(seed=3, months=1)
    assert again == first and (again / "ground_truth.csv").stat().st_mtime_ns == stamp
    assert first.parent == tmp_path / "synthetic"
    assert [p.name for p in first.parent.iterdir()] == [first.name]   # no temp folder left


def test_attach_mode_generates_prescribing_for_the_real_practices(phs_dir, tmp_path):
    out = write_synthetic(tmp_path / "attached", months=1,
                          practices=phs_dir / "practices" / REAL_DETAILS,
                          populations=phs_dir / "practices" / REAL_POPULATIONS,
                          lookups=phs_dir / "lookups")
    for name in (REAL_DETAILS, REAL_POPULATIONS):
        assert (out / name).read_bytes() == (phs_dir / "practices" / name).read_bytes()
    assert (out / "hb14_hb19.csv").is_file() and (out / "hscp16_hscp19.csv").is_file()
    real = pd.read_csv(phs_dir / "practices" / REAL_DETAILS, dtype=str, keep_default_na=False)
    month = pd.read_csv(out / "pitc202609.csv", dtype=str)
    practices_seen = set(month["GPPractice"]) - set(NON_PRACTICE_CODES)
    assert practices_seen <= set(real["PracticeCode"]) and len(practices_seen) > 850
    truth = pd.read_csv(out / "ground_truth.csv", dtype=str, keep_default_na=False)
    clusters = {cluster_slug(n) for n in real["GPCluster"]}
    assert len(truth) > 0
    assert truth["unit_id"].isin(set(real["PracticeCode"]) | clusters).all()


def test_synthetic_folder_round_trips_through_the_loaders(synthetic_dataset, synthetic_dir):
    data = synthetic_dataset
    practices = _latest_practices(synthetic_dir)
    assert set(data.practices["practice_code"]) >= set(practices["PracticeCode"])
    assert data.prescribing["month"].nunique() == 24
    assert not data.prescribing["practice_code"].isin(NON_PRACTICE_CODES).any()
    assert data.practices["cluster_id"].isna().sum() >= 1          # the placeholder
    truth = pd.read_csv(synthetic_dir / "ground_truth.csv", dtype=str, keep_default_na=False)
    clusters = set(data.practices["cluster_id"].dropna())
    for row in truth[truth["kind"] == "cluster_outlier"].itertuples():
        assert row.unit_id in clusters
    closed = truth.loc[truth["kind"] == "practice_closes", "unit_id"].iloc[0]
    assert closed in set(data.practices["practice_code"])
