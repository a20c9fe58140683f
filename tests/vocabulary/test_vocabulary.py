"""The vocabulary: one definition of levels, audiences and comparators, and a registry that
disclosure control follows, so a new comparator cannot leak by omission."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clusterqi import vocabulary
from clusterqi.disclosure import DisclosurePolicy, apply_disclosure, numerator_derived
from clusterqi.vocabulary import Comparator, audience, comparators, registered
from tests.disclosure.builders import standard_table

PACKAGE = Path(__file__).resolve().parents[2] / "clusterqi"


def test_audiences_say_what_they_allow():
    assert audience("analyst").releasable is False and audience("analyst").banner
    assert audience("cluster").pseudonymises and not audience("cluster").sees_other_practices
    assert audience("practice").reveals_practice
    with pytest.raises(ValueError, match="expected one of analyst, cluster, practice"):
        audience("public")


def test_comparators_name_their_columns_and_areas():
    hscp = vocabulary.comparator("rest_of_hscp")
    assert hscp.columns == ("rest_of_hscp_value", "vs_rest_of_hscp", "vs_rest_of_hscp_unadjusted")
    assert hscp.area_column == "hscp_code" and hscp.unit_levels == ("cluster",)
    assert [c.stem for c in comparators("practice")] == ["rest_of_cluster", "rest_of_scotland"]
    assert vocabulary.comparator("rest_of_scotland").area_column is None


def test_a_registered_comparator_is_withheld_with_the_numerators_it_derives_from():
    """Register a new comparator (pooled from the HSCP's rows): where an HSCP's cell is suppressed,
    its values and verdicts are withheld on every row naming that HSCP, with no other change."""
    table = standard_table(seed=3)
    new = Comparator("rest_of_test_area", ("cluster",), "hscp", "Test area", "the test area")
    table[new.value_column] = np.where(table["level"] == "cluster", 1.5, np.nan)
    table[new.verdict_column] = pd.Series(np.where(table["level"] == "cluster", "similar", None),
                                          dtype="str")
    table[new.unadjusted_column] = table[new.verdict_column]
    policy = DisclosurePolicy(audience="cluster", cluster_id="north-1", threshold=100, salt="s")
    with registered(new):
        assert set(new.columns) <= set(numerator_derived())
        released, _ = apply_disclosure(table, policy)
    assert new.stem not in {c.stem for c in comparators()}  # unregistered after the block
    hidden = released[released["qualifier"] == "c"]
    hidden_hscp = hidden[hidden["level"] == "hscp"]
    assert len(hidden_hscp), "the test needs a suppressed HSCP cell"
    cell = ["indicator_id", "period_type", "period"]
    keys = set(map(tuple, hidden_hscp[cell + ["area_id"]].to_numpy()))
    names_hidden = np.array([tuple(r) in keys for r in released[cell + ["hscp_code"]].to_numpy()])
    naming = released[names_hidden & (released["level"] == "cluster").to_numpy()]
    assert len(naming)
    assert naming[new.value_column].isna().all()
    assert naming[new.verdict_column].isna().all() and naming[new.unadjusted_column].isna().all()
    # the unit's own suppressed rows lose them too (numerator-derived)
    own_hidden = hidden[hidden["level"] == "cluster"]
    assert own_hidden[new.value_column].isna().all()
    shown = released[(released["level"] == "cluster") & released["qualifier"].isna()
                     & ~released.index.isin(naming.index)]
    assert shown[new.value_column].notna().all()


def _code_strings(tree: ast.AST) -> list[ast.Constant]:
    """String constants of a module that are not docstrings."""
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if node.body and isinstance(node.body[0], ast.Expr) and isinstance(
                    getattr(node.body[0], "value", None), ast.Constant):
                docstrings.add(id(node.body[0].value))
    return [n for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
            and id(n) not in docstrings]


def test_no_audience_or_comparator_literal_outside_the_vocabulary():
    """Code compares audiences through Audience records and names comparator columns through the
    registry; the only place the words are spelled is clusterqi/vocabulary.py."""
    comparator_words = {word for c in comparators() for word in (c.stem, *c.columns)}
    audiences = set(vocabulary.AUDIENCES)
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "vocabulary.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = path.relative_to(PACKAGE)
        offenders += [f"{where}:{n.lineno}: {n.value!r}" for n in _code_strings(tree)
                      if n.value in comparator_words]
        for node in ast.walk(tree):  # audience == "analyst" and the like
            if isinstance(node, ast.Compare) and any(
                    isinstance(side, ast.Constant) and side.value in audiences
                    for side in (node.left, *node.comparators)):
                names = [ast.unparse(side) for side in (node.left, *node.comparators)]
                if any("audience" in name for name in names):
                    offenders.append(f"{where}:{node.lineno}: {ast.unparse(node)}")
    assert offenders == []
