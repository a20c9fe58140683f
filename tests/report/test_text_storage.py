"""A report holds its text in pandas' Python string storage (clusterqi.text_storage): only the
storage changes, never a value, a section's HTML or a chart's spec."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from clusterqi import report_sections as sections
from clusterqi.charts.offline import enable_offline_charts
from clusterqi.report import build_report
from clusterqi.text_storage import PYTHON_TEXT, python_strings, python_text
from tests.conftest import SYNTHETIC_PERIOD_END
from tests.report.conftest import MONTHS

ARROW_TEXT = pd.StringDtype("pyarrow", na_value=np.nan)


def test_python_text_moves_only_text_columns_to_python_storage():
    frame = pd.DataFrame({
        "name": pd.array(["Ardcraig East 1", None, "Balmerino"], dtype=ARROW_TEXT),
        "value": [1.5, np.nan, 3.0],
        "flag": pd.array([True, None, False], dtype="boolean"),
        "na_text": pd.array(["a", None, "c"], dtype="string"),  # missing as pd.NA: left alone
        "objects": pd.Series(["x", 1, None], dtype=object),
    })
    held = python_text(frame)
    assert held["name"].dtype == PYTHON_TEXT
    assert held["name"].dtype == "str"  # still pandas' str dtype
    assert [held[c].dtype for c in ["value", "flag", "na_text", "objects"]] == [
        frame[c].dtype for c in ["value", "flag", "na_text", "objects"]]
    assert held["name"].tolist()[::2] == ["Ardcraig East 1", "Balmerino"]
    assert pd.isna(held["name"].iloc[1])
    assert_frame_equal(held, frame, check_dtype=False)
    assert python_text(held) is held  # nothing left to move


def test_python_strings_sets_the_default_storage_only_while_the_function_runs():
    seen = []

    @python_strings
    def make(fail: bool = False):
        seen.append(pd.Series(["a", None]).dtype)
        if fail:
            raise ValueError("boom")
        return pd.Series(["b"]).astype(str)

    before = pd.get_option("mode.string_storage")
    assert make().dtype == PYTHON_TEXT
    assert seen[-1] == PYTHON_TEXT
    with pytest.raises(ValueError, match="boom"):
        make(fail=True)
    assert pd.get_option("mode.string_storage") == before
    assert make.__name__ == "make"


def _arrow(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype({c: ARROW_TEXT for c, kind in frame.dtypes.items() if kind == PYTHON_TEXT})


def _markup(report, monkeypatch, storage: str) -> str:
    """The header's and indicator cards' HTML, made with Python text (as a report is) or with
    Arrow text throughout (pandas' default), chart ids made alike."""
    shown: list[str] = []
    enable_offline_charts()  # a new document: the chart runtime comes with its first chart
    monkeypatch.setattr(sections, "_show", lambda markup, metadata=None: shown.append(markup))
    for show in (sections.show_header, sections.show_at_a_glance,
                 sections.show_indicator_sections):
        if storage == "python":
            show(report)
        else:
            with pd.option_context("mode.string_storage", "pyarrow"):
                show.__wrapped__(report)
    return re.sub(r"clusterqi-chart-[0-9a-f]{12}", "ID", "".join(shown))


def test_a_reports_text_storage_changes_none_of_its_html_or_charts(run_tables, normal_cluster,
                                                                   monkeypatch):
    values = dict(cluster_id=normal_cluster, period_end=SYNTHETIC_PERIOD_END, months=MONTHS,
                  indicator_table=str(run_tables), audience="cluster")
    report = build_report(**values)
    text = [c for c, kind in report.table.dtypes.items() if kind == "str"]
    assert len(text) > 20 and all(report.table[c].dtype == PYTHON_TEXT for c in text)
    python = _markup(report, monkeypatch, "python")

    arrow = build_report(**values)
    object.__setattr__(arrow, "table", _arrow(arrow.table))
    assert arrow.table[text[0]].dtype == ARROW_TEXT
    assert _markup(arrow, monkeypatch, "pyarrow") == python
    assert python.count('id="ID"') > 20  # the charts are in it


def test_a_runs_tables_keep_arrow_text_whoever_reads_them(run_tables, monkeypatch):
    """A report's "since" reads the earlier period's run inside a report step (Python storage
    by default there); the run's large tables must still hold Arrow text (in Python strings a
    batch kernel's memory grew by ~300 MB)."""
    from collections import OrderedDict

    from clusterqi import run_tables as module

    monkeypatch.setattr(module, "_RUNS", OrderedDict())  # read afresh, not from this process's cache
    run = python_strings(module.run_for)(None, SYNTHETIC_PERIOD_END, MONTHS, str(run_tables))
    assert pd.get_option("mode.string_storage") != "python"
    text = {name: kind for frame in (run.table, run.findings)
            for name, kind in frame.dtypes.items() if isinstance(kind, pd.StringDtype)}
    text.update(run._dtypes)  # the text columns held as categories, as read
    assert len(text) > 10
    assert {kind.storage for kind in text.values()} == {"pyarrow"}, text
