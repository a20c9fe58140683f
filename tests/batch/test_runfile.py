"""Run files are validated strictly, and every problem is listed at once with the file and key."""

from __future__ import annotations

import pytest

from clusterqi import DataError
from clusterqi.runfile import check_against_data, cluster_directory, load_run_file
from tests.batch.conftest import REPO, write_run_file


def test_an_invalid_run_file_lists_every_problem_with_file_and_key(tmp_path):
    run_file = write_run_file(
        tmp_path, clusters=["fine-id", 7], period_end="2026-13", months=0, audiance="cluster",
        workers=0, rounding="up", notebook="missing.ipynb",
    )
    with pytest.raises(DataError) as caught:
        load_run_file(run_file)
    message = str(caught.value)
    for key in ("clusters[1]", "period_end", "months", "audiance", "workers", "rounding", "notebook"):
        assert f"{run_file}, key '{key}'" in message, key
    assert "unknown key" in message and "'2026-13'" in message and "7 problem(s)" in message


def test_clusters_by_area_reject_unknown_keys_and_other_shapes(tmp_path):
    with pytest.raises(DataError, match=r"key 'clusters.hscpz': unknown key"):
        load_run_file(write_run_file(tmp_path, clusters={"boards": ["x"], "hscpz": ["y"]}))
    with pytest.raises(DataError, match=r"key 'clusters': value 5 is not valid; expected 'all', a list"):
        load_run_file(write_run_file(tmp_path, clusters=5))


def test_unknown_clusters_and_impossible_periods_are_reported_together(tmp_path, synthetic_dataset):
    directory = cluster_directory(synthetic_dataset)
    real = directory["cluster_id"].iloc[0]
    run = load_run_file(write_run_file(tmp_path, clusters=[real, "nowhere-1", "nowhere-2"], period_end="2027-01"))
    with pytest.raises(DataError) as caught:
        check_against_data(run, synthetic_dataset, directory)
    message = str(caught.value)
    assert "key 'clusters[1]': unknown cluster id 'nowhere-1'" in message
    assert "key 'clusters[2]': unknown cluster id 'nowhere-2'" in message
    assert "key 'period_end': value '2027-01' is after the data's last month '2026-09'" in message
    too_long = load_run_file(write_run_file(tmp_path, months=400))
    with pytest.raises(DataError, match=r"key 'months': 400 months to 2026-09 start in .* before the data's first month"):
        check_against_data(too_long, synthetic_dataset, directory)


def test_clusters_chosen_by_board_name_or_code_are_the_clusters_homed_there(tmp_path, synthetic_dataset):
    directory = cluster_directory(synthetic_dataset)
    board_code, board_name = directory.iloc[0][["hb_code", "hb_name"]]
    expected = directory.loc[directory["hb_code"] == board_code, "cluster_id"].tolist()
    for board in (board_code, board_name.upper()):
        run = load_run_file(write_run_file(tmp_path, clusters={"boards": [board]}))
        assert run.select_clusters(directory) == expected


def test_shipped_run_files_are_valid():
    for name in ("demo.yaml", "example-real-data.yaml"):
        try:
            run = load_run_file(REPO / "parameters" / name)
        except DataError as exc:  # the real-data example may lack its data folder, nothing else
            problems = [line for line in str(exc).splitlines()[1:]]
            assert name == "example-real-data.yaml" and all("key 'data': folder" in p for p in problems), exc
            continue
        assert run.notebook.name == "cluster_report.ipynb"


def test_a_key_given_twice_is_refused_naming_both_lines(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("notebook: notebooks/cluster_report.ipynb\nperiod_end: '2026-09'\n"
                    "months: 12\noutput: out\nmonths: 24\n")
    with pytest.raises(DataError, match=r"key 'months' is given twice \(lines 3 and 5\)"):
        load_run_file(path)


def test_an_oversized_run_file_is_refused_before_parsing(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("# padding\n" * 200_000)
    with pytest.raises(DataError, match="too large for a YAML file"):
        load_run_file(path)
