"""presentations_matching with any object that has matches(Series)."""

from __future__ import annotations

import pandas as pd

from clusterqi.codelist import load_presentations, presentations_matching


class _Prefixes:
    """A minimal code list: BNF prefixes, "~" to exclude."""

    def __init__(self, *prefixes: str):
        self.include = [p for p in prefixes if not p.startswith("~")]
        self.exclude = [p[1:] for p in prefixes if p.startswith("~")]

    def matches(self, codes: pd.Series) -> pd.Series:
        hit = codes.str.startswith(tuple(self.include))
        if self.exclude:
            hit &= ~codes.str.startswith(tuple(self.exclude))
        return hit


def test_returns_the_counted_presentations_only():
    table = presentations_matching(_Prefixes("0501", "~050109", "~050110"))
    assert len(table) > 0
    assert table["bnf_code"].str.startswith("0501").all()
    assert not table["bnf_code"].str.startswith(("050109", "050110")).any()
    everything = load_presentations()
    codes = everything["bnf_code"]
    expected = codes.str.startswith("0501") & ~codes.str.startswith(("050109", "050110"))
    assert len(table) == int(expected.sum())
    assert list(table.index) == list(range(len(table)))


def test_a_list_that_matches_nothing_gives_an_empty_table():
    table = presentations_matching(_Prefixes("9999"))
    assert table.empty
    assert list(table.columns) == list(load_presentations().columns)


def test_load_presentations_returns_a_copy():
    first = load_presentations()
    first.loc[0, "bnf_name"] = "changed"
    assert load_presentations().loc[0, "bnf_name"] != "changed"
