"""One parameters model: the notebook's parameters cell, the run file and build_report agree."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from clusterqi import DataError
from clusterqi.parameters import ReportParameters, ReportSettings, report_parameters
from clusterqi.runfile import RunFile

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "cluster_report.ipynb"


def _parameters_cell() -> dict[str, object]:
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    cells = [c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", [])]
    assert len(cells) == 1
    declared = {}
    for node in ast.parse("".join(cells[0]["source"])).body:
        assert isinstance(node, ast.AnnAssign), ast.dump(node)
        declared[node.target.id] = ast.literal_eval(node.value)
    return declared


def test_the_notebook_declares_exactly_the_models_fields_with_its_defaults():
    declared = _parameters_cell()
    fields = ReportParameters.model_fields
    assert list(declared) and set(declared) == set(fields)
    for name, spec in fields.items():
        if not spec.is_required():
            assert declared[name] == spec.default, name


def test_the_run_file_takes_the_report_settings():
    assert set(ReportSettings.model_fields) <= set(RunFile.model_fields)


def test_bad_parameters_are_one_error_naming_each():
    with pytest.raises(DataError) as caught:
        report_parameters(cluster_id="dundee-4", period_end="2026-13", months=0, audience="public")
    message = str(caught.value)
    for name in ("period_end", "months", "audience"):
        assert name in message
    with pytest.raises(DataError, match="reveal_practice is empty"):
        report_parameters(cluster_id="dundee-4", period_end="2026-09", audience="practice")


def test_rounding_may_be_spelled_with_an_underscore():
    assert report_parameters(cluster_id="a", period_end="2026-09", rounding="nearest_5").rounding == "nearest-5"
