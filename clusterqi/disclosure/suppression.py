"""Primary and secondary suppression: which cells are hidden, and the comparators that go with them.

:func:`suppress_cells` marks, over a whole indicator table, the rows whose counts are small
(primary) and the further rows hidden so that no hidden cell can be recovered by one subtraction
within an additive group (secondary): practices in their cluster; clusters and unclustered
practices in their HSCP and in their board; boards in Scotland; months in the total period.
:func:`withhold_suppressed_comparators` withholds every comparator's columns on rows whose
comparator area is hidden in the same cell (the comparator registry says which area each
comparator is pooled from).

Example usage::

    marks = suppress_cells(table, threshold=5)
    table.loc[marks["suppression"].notna(), ["area_id", "period"]]
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from clusterqi import vocabulary
from clusterqi.disclosure.counts import _replace_rows, suppress_small_counts, suppression_counts
from clusterqi.disclosure.policy import (
    DEFAULT_THRESHOLD,
    REQUIRED_COLUMNS,
    DisclosurePolicy,
    DisclosurePolicyError,
)
from clusterqi.errors import DataError
from clusterqi.vocabulary import CLUSTER, HB, HSCP, LEVELS, PRACTICE, SCOTLAND

__all__ = [
    "suppress_cells",
]

def _key(frame: pd.DataFrame, columns: Iterable[str]) -> pd.Series:
    parts = [frame[c].astype("str").fillna("\x00") for c in columns]
    out = parts[0]
    for part in parts[1:]:
        out = out + "\x1f" + part
    return out


def _groups(table: pd.DataFrame) -> pd.DataFrame:
    """Membership of rows in additive groups: row, group (int), parent (bool), group name."""
    level = table["level"]
    clustered = table["cluster_id"].notna()
    cell = ["indicator_id", "period_type", "period"]
    specs = [
        # name, child mask, child key columns, parent mask, parent key columns
        ("practices in their cluster", (level == PRACTICE) & clustered, cell + ["cluster_id"],
         level == CLUSTER, cell + ["area_id"]),
        ("clusters and unclustered practices in their HSCP",
         (level == CLUSTER) | ((level == PRACTICE) & ~clustered), cell + ["hscp_code"],
         level == HSCP, cell + ["area_id"]),
        ("clusters and unclustered practices in their board",
         (level == CLUSTER) | ((level == PRACTICE) & ~clustered), cell + ["hb_code"],
         level == HB, cell + ["area_id"]),
        ("boards in Scotland", level == HB, cell, level == SCOTLAND, cell),
        ("months in the total period", table["period_type"] == "month",
         ["indicator_id", "level", "area_id"], table["period_type"] == "total",
         ["indicator_id", "level", "area_id"]),
    ]
    parts = []
    for name, child_mask, child_cols, parent_mask, parent_cols in specs:
        children = table.loc[child_mask]
        parents = table.loc[parent_mask]
        keys = pd.concat([
            name + "\x1e" + _key(children, child_cols),
            name + "\x1e" + _key(parents, parent_cols),
        ])
        parts.append(pd.DataFrame({
            "row": np.concatenate([children.index.to_numpy(), parents.index.to_numpy()]),
            "key": keys.to_numpy(),
            "parent": np.r_[np.zeros(len(children), bool), np.ones(len(parents), bool)],
            "group_name": name,
        }))
    members = pd.concat(parts, ignore_index=True)
    members["group"] = pd.factorize(members["key"])[0]
    return members.drop(columns="key")


def _secondary_suppression(table: pd.DataFrame, suppressed: np.ndarray) -> tuple[np.ndarray, dict[int, str]]:
    """Suppress more cells until no group holds exactly one hidden cell; returns (mask, why)."""
    members = _groups(table)
    row = members["row"].to_numpy()
    group = members["group"].to_numpy()
    parent = members["parent"].to_numpy()
    numerator = suppression_counts(table).to_numpy(dtype=float)
    missing = np.isnan(numerator)
    n_groups = group.max() + 1 if len(group) else 0
    size = np.bincount(group, minlength=n_groups)
    suppressed = suppressed.copy()
    why: dict[int, str] = {}
    while True:
        hidden = suppressed[row] | missing[row]
        n_hidden = np.bincount(group, weights=hidden, minlength=n_groups)
        n_suppressed = np.bincount(group, weights=suppressed[row], minlength=n_groups)
        needy = (n_hidden == 1) & (n_suppressed == 1) & (size > 1)
        candidates = needy[group] & ~hidden
        if not candidates.any():
            break
        c_row, c_group, c_parent = row[candidates], group[candidates], parent[candidates]
        c_num = numerator[c_row]
        # children before the total, non-zero before zero, then smallest, then table order
        order = np.lexsort((c_row, c_num, c_num <= 0, c_parent, c_group))
        _, first = np.unique(c_group[order], return_index=True)
        chosen = order[first]
        names = members["group_name"].to_numpy()[candidates][chosen]
        for r, name in zip(c_row[chosen], names):
            if not suppressed[r]:
                suppressed[r] = True
                why[int(r)] = name
    return suppressed, why


def suppress_cells(
    indicator_table: pd.DataFrame, threshold: int = DEFAULT_THRESHOLD, secondary: bool = True
) -> pd.DataFrame:
    """Which rows' numerators disclosure control suppresses, and why (analyst-side, no audience).

    Returns a frame aligned with the table: ``suppression`` ("primary", "secondary" or missing)
    and ``group`` (for a secondary suppression, the group whose single hidden cell it protects).
    Primary: a count (:func:`suppression_counts`: the items behind the numerator where the table
    has them) from 1 to threshold - 1. Secondary: see the module docstring.

    Example usage::

        marks = suppress_cells(table, threshold=5)
        table.loc[marks["suppression"].notna(), ["area_id", "period"]]
    """
    _check_table(indicator_table)
    table = indicator_table.reset_index(drop=True)
    primary = suppress_small_counts(suppression_counts(table), threshold)
    suppressed, why = (_secondary_suppression(table, primary) if secondary else (primary, {}))
    kind = np.where(primary, "primary", np.where(suppressed, "secondary", None))
    group = [why.get(i) for i in range(len(table))]
    return pd.DataFrame({"suppression": kind, "group": group}, index=indicator_table.index).astype("str")


def _check_table(table: pd.DataFrame) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise DataError(
            f"indicator table: missing column(s) {', '.join(missing)}; expected the indicator "
            "table of clusterqi.indicators.calculate_indicators (docs/architecture.md)"
        )
    levels = set(table["level"].dropna().unique()) - set(LEVELS)
    if levels:
        raise DataError(
            f"indicator table, column level: value(s) {sorted(levels)} not expected; expected "
            f"one of {', '.join(LEVELS)}"
        )


def _given_marks(table: pd.DataFrame, suppression: pd.DataFrame, policy: DisclosurePolicy) -> pd.DataFrame:
    """The rows' suppression marks out of a whole table's (aligned, index reset), checked."""
    def refuse(what: str) -> DisclosurePolicyError:
        return DisclosurePolicyError(
            f"apply_disclosure(suppression=...): {what}; expected the marks suppress_cells gave "
            f"for the whole table this one was taken from (index labels kept), with threshold "
            f"{policy.threshold} and secondary={policy.secondary}"
        )

    missing = [c for c in ("suppression", "group") if c not in suppression.columns]
    if missing:
        raise refuse(f"no column {', '.join(missing)}")
    if not suppression.index.is_unique or not table.index.is_unique:
        raise refuse("index labels are not unique")
    absent = table.index.difference(suppression.index)
    if len(absent):
        raise refuse(f"{len(absent)} row(s) of the table have no marks (index label {absent[0]!r})")
    marks = suppression.loc[table.index, ["suppression", "group"]].reset_index(drop=True)
    kind = marks["suppression"]
    primary = suppress_small_counts(suppression_counts(table), policy.threshold)
    wrong = np.flatnonzero(primary != kind.eq("primary").fillna(False).to_numpy())
    if len(wrong):
        row = table.iloc[wrong[0]]
        raise refuse(
            f"row {table.index[wrong[0]]!r} ({row['level']} {row['area_id']}, {row['period']}) "
            f"has numerator {row['numerator']!r} but is marked {kind.iloc[wrong[0]]!r}"
        )
    if not policy.secondary and kind.eq("secondary").any():
        raise refuse("secondary suppressions given, but the policy has secondary=False")
    return marks


def _withhold_suppressed_comparators(table: pd.DataFrame, suppressed: np.ndarray) -> None:
    """Every comparator's columns on any row are withheld where the comparator's area row
    (its ``area_level`` row named by the row's ``area_column``; Scotland: every row) is
    suppressed in the same cell."""
    if not suppressed.any():
        return
    cell = [table[c].to_numpy(dtype=object) for c in ("indicator_id", "period_type", "period")]
    levels = table["level"].to_numpy(dtype=object)
    area = table["area_id"].to_numpy(dtype=object)
    for comparator in vocabulary.comparators():
        level, column = comparator.area_level, comparator.area_column
        value_col, vs_col = comparator.value_column, comparator.verdict_column
        if value_col not in table.columns:
            continue
        hidden = np.flatnonzero(suppressed & (levels == level))
        if not len(hidden):
            continue
        if column:  # rows naming a hidden unit, in a cell where it is hidden
            named = table[column].to_numpy(dtype=object)
            keys = set(zip(*(c[hidden] for c in cell), area[hidden]))
            rows = np.flatnonzero(pd.Series(named).isin(set(area[hidden])).to_numpy())
            hit = [i for i in rows if (cell[0][i], cell[1][i], cell[2][i], named[i]) in keys]
        else:  # Scotland: every row of a cell where Scotland is hidden
            keys = set(zip(*(c[hidden] for c in cell)))
            hit = [i for i in range(len(table)) if (cell[0][i], cell[1][i], cell[2][i]) in keys]
        mask = np.zeros(len(table), bool)
        mask[np.asarray(hit, dtype=np.intp)] = True
        _replace_rows(table, mask, value_col, np.nan)
        for verdict in (vs_col, f"{vs_col}_unadjusted"):
            if verdict in table.columns:
                _replace_rows(table, mask, verdict, None)
