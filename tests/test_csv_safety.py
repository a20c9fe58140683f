"""CSV injection: formula-like text cells are quoted, numbers stay numbers (clusterqi.csv_safety)."""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pytest

from clusterqi.csv_safety import escape_formula, safe_csv, write_safe_csv

HOSTILE = ['=HYPERLINK("http://x","y")', "@SUM(1)", "\tcmd", "+1+2", "-2+3", "\rline", "=1+1"]


@pytest.mark.parametrize("text", HOSTILE)
def test_formula_like_text_gets_a_leading_quote(text):
    assert escape_formula(text) == "'" + text


@pytest.mark.parametrize("value", ["Dundee 4", "Member practice A", "", "a=b", " =x", "'quoted", 3, -3,
                                   -2.5, None, np.nan])
def test_everything_else_is_unchanged(value):
    out = escape_formula(value)
    assert out is value or (isinstance(value, float) and np.isnan(out)) or out == value


def _read(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_safe_csv_escapes_text_cells_and_keeps_numbers():
    frame = pd.DataFrame({
        "area_name": ['=HYPERLINK("http://x","y")', "@SUM(1)", "\tTabbed practice", "Harbour Surgery"],
        "value": [-1.5, 2.0, -0.25, 3.0],
        "numerator": pd.array([-4, 5, 6, None], dtype="Int64"),
        "note": pd.array(["-12", None, "+ok", "fine"], dtype="string"),
    })
    rows = _read(safe_csv(frame, index=False))
    assert rows[0] == ["area_name", "value", "numerator", "note"]
    assert [r[0] for r in rows[1:]] == ['\'=HYPERLINK("http://x","y")', "'@SUM(1)", "'\tTabbed practice",
                                        "Harbour Surgery"]
    assert [r[1] for r in rows[1:]] == ["-1.5", "2.0", "-0.25", "3.0"]      # numbers stay numbers
    assert [r[2] for r in rows[1:]] == ["-4", "5", "6", ""]
    assert [r[3] for r in rows[1:]] == ["'-12", "", "'+ok", "fine"]         # text that looks numeric is text
    assert frame.loc[0, "area_name"].startswith("=")                         # the input is not changed


def test_no_cell_of_the_written_csv_starts_a_formula(tmp_path):
    names = HOSTILE + ["Plain"]
    frame = pd.DataFrame({"area_name": names, "area_id": [f"=id{i}" for i in range(len(names))],
                          "value": np.linspace(-1, 1, len(names))})
    frame.columns = ["area_name", "@area_id", "value"]
    path = write_safe_csv(frame, tmp_path / "out.csv", index=False)
    rows = _read(path.read_text(encoding="utf-8"))
    text_cells = [cell for row in rows for cell in row[:2]]
    assert text_cells and not [c for c in text_cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert rows[0][1] == "'@area_id"
    assert float(rows[1][2]) == -1.0


def test_safe_csv_refuses_a_path():
    with pytest.raises(TypeError, match="write_safe_csv"):
        safe_csv(pd.DataFrame({"a": [1]}), path_or_buf="x.csv")


def test_the_report_numbers_csv_is_escaped():
    """ClusterReport.numbers_csv goes through safe_csv: a hostile area name is quoted."""
    from clusterqi.report import ClusterReport

    table = pd.DataFrame({
        "indicator_id": ["x", "x"], "level": ["cluster", "hb"], "area_id": ["c-1", "S08000001"],
        "area_name": ['=HYPERLINK("http://x","y")', "@SUM(1)"], "cluster_id": ["c-1", None],
        "hscp_code": [None, None], "hb_code": ["S08000001", "S08000001"], "period_type": ["total", "total"],
        "period": ["2025-10..2026-09"] * 2, "numerator": [10.0, 100.0], "denominator": [20.0, 400.0],
        "value": [-50.0, 25.0],
    })
    report = ClusterReport(cluster_id="c-1", cluster_name="C 1", parameters={}, audience="cluster",
                           policy=None, catalogue={}, table=table, disclosure_log=pd.DataFrame(),
                           quality_notes=pd.DataFrame(), run={})
    rows = _read(report.numbers_csv())
    header = rows[0]
    names = [r[header.index("area_name")] for r in rows[1:]]
    assert names == ['\'=HYPERLINK("http://x","y")', "'@SUM(1)"]
    assert [r[header.index("value")] for r in rows[1:]] == ["-50.0", "25.0"]
