"""Primary and secondary suppression: which cells are hidden, and the comparators that go with them.

:func:`suppress_cells` works on **count cells**, not on rows. A row of the indicator table
releases counts (:func:`clusterqi.disclosure.counts.row_counts`): its numerator count, and for a
proportion its denominator (an item count) and the complement (denominator - numerator). A count
is identified by what it counts (its *spec*: measure and code list, from the catalogue) and the
unit and period, so a count that two indicators show (antibacterial items: the antibacterial
rate's numerator and the 4C share's denominator) is one cell; as a safety net, two specs whose
values agree on every cluster, HSCP, board and Scotland row of the table are one count too.

1. **Primary**: a row is suppressed when any count it releases is 1 to threshold - 1. Its
   numerator count is then hidden, and a hidden count is hidden wherever it appears: every row
   showing it as numerator is suppressed, and every row showing it as denominator is suppressed
   with its denominator withheld (``denominator_hidden``).
2. **Secondary, one subtraction**: in each additive group of real equations (practices in their
   cluster; months in the total period, at every level) a group with a single hidden cell gets
   its next smallest cell hidden (a non-zero one first), repeated.
3. **Secondary, the linear-programming audit** (``audit=True``): the additive
   relations as they really hold are built per count spec: a cluster within one HSCP is one
   *piece*; a cluster spanning HSCPs or boards is split into one unknown piece per HSCP (its
   practices there); an unclustered practice is an unknown piece; an HSCP and a board are the
   sums of the pieces of their *own* practices (so a cross-boundary practice counts in its own
   board, as PHS's totals do), Scotland the sum of its boards, every unit's total the sum of its
   months, and a proportion's denominator its numerator plus its complement. The intruder sees
   every cluster, HSCP, board and Scotland cell that is not hidden (every report of a run for
   the cluster audience together); practice cells are unknowns (released only pseudonymised and
   coarsened, which does not fix a count). :func:`clusterqi.disclosure.audit.protect` then
   proves that every primary cell's feasible range reaches 0 and the threshold, adding cells
   until it does (the protection-interval audit of tau-ARGUS and sdcTable).

:func:`_withhold_suppressed_comparators` withholds every comparator's columns on rows whose
comparator area (or, for a comparator pooled from a set of clusters such as peers, any member)
is hidden in the same cell.

Why one module of this size: primary and secondary suppression, the audit loop that confirms
them and the comparators withheld with suppressed counts are one pass over the same count cells
and groups, sharing their state (``_Cells``, ``_State``); the counts, the audit's linear
programme and the release step are already their own modules.

Example usage::

    marks = suppress_cells(table, threshold=5)
    table.loc[marks["suppression"].notna(), ["area_id", "period"]]
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from clusterqi import vocabulary
from clusterqi.disclosure.audit import AuditProblem, protect
from clusterqi.disclosure.counts import _replace_rows, row_counts, small_count_rows
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
    "audit_suppression",
    "MARK_COLUMNS",
    "PRACTICES_IN_CLUSTER",
    "MONTHS_IN_TOTAL",
    "SHARED_COUNT",
    "AUDIT_GROUP",
]

#: Columns of :func:`suppress_cells`'s marks.
MARK_COLUMNS = ("suppression", "group", "denominator_hidden")
#: Reasons a secondary suppression gives (the ``group`` column).
PRACTICES_IN_CLUSTER = "practices in their cluster"
MONTHS_IN_TOTAL = "months in the total period"
SHARED_COUNT = "the same count shown in another indicator or as a denominator"
AUDIT_GROUP = ("clusters, HSCPs, boards and Scotland (the linear-programming audit of every "
               "report of the run)")

_SEP = "\x1f"
_TOLERANCE = 1e-6


def _key(frame: pd.DataFrame, columns: Iterable[str]) -> pd.Series:
    parts = [frame[c].astype("str").fillna("\x00") for c in columns]
    out = parts[0]
    for part in parts[1:]:
        out = out + _SEP + part
    return out


# --- count cells ----------------------------------------------------------------------------


@dataclasses.dataclass
class _Cells:
    """The table's count cells and how rows show them."""

    spec: np.ndarray        # spec (merged) of each cell
    level: np.ndarray
    area: np.ndarray
    period_type: np.ndarray
    period: np.ndarray
    cluster: np.ndarray     # practice and cluster cells: the cluster id
    hscp: np.ndarray        # the row's hscp_code (a practice's own; a cluster's home)
    hb: np.ndarray
    value: np.ndarray
    n_of_row: np.ndarray    # the row's numerator cell
    d_of_row: np.ndarray    # the row's denominator cell (-1: a rate)
    complement_small: np.ndarray   # per row
    complement_pair: np.ndarray    # per row: "numerator spec | denominator spec" (None: a rate)
    spec_names: dict = dataclasses.field(default_factory=dict)  # spec code -> the spec it stands for


def _same_counts(table: pd.DataFrame, counts: pd.DataFrame) -> dict:
    """spec -> the spec standing for it: specs with identical values on every non-practice row
    are one count (the safety net beside the catalogue's code lists)."""
    above = (table["level"] != PRACTICE).to_numpy()
    unit = _key(table.loc[above], ["level", "area_id", "period_type", "period"]).to_numpy()
    long = pd.concat([
        pd.DataFrame({"spec": counts["numerator_spec"].to_numpy()[above], "unit": unit,
                      "value": counts["numerator"].to_numpy()[above]}),
        pd.DataFrame({"spec": counts["denominator_spec"].to_numpy()[above], "unit": unit,
                      "value": counts["denominator"].to_numpy()[above]}),
    ], ignore_index=True)
    long = long[long["spec"].notna()].drop_duplicates(["spec", "unit"]).sort_values(["spec", "unit"])
    rep: dict = {}
    seen: dict[tuple, str] = {}
    for spec, part in long.groupby("spec", sort=True):
        values = part["value"].to_numpy(dtype=float)
        if not np.nansum(np.abs(values)) > 0:
            rep[spec] = spec
            continue
        signature = (tuple(part["unit"]), tuple(np.round(np.nan_to_num(values, nan=-1.0), 6)))
        rep[spec] = seen.setdefault(signature, spec)
    return rep


def _count_cells(table: pd.DataFrame, threshold: int) -> _Cells:
    counts = row_counts(table)
    rep = _same_counts(table, counts)
    num_spec = counts["numerator_spec"].map(lambda s: rep.get(s, s)).to_numpy(dtype=object)
    den_spec = counts["denominator_spec"].map(lambda s: rep.get(s, s) if isinstance(s, str) else None)
    has_d = den_spec.notna().to_numpy()
    den_spec = den_spec.to_numpy(dtype=object)
    # each spec (a code list's text, ~100 characters) stands in keys as a short code: the keys
    # of a whole run (a million cells) would otherwise take a gigabyte of strings
    names = sorted({s for s in num_spec if isinstance(s, str)} | {s for s in den_spec if isinstance(s, str)})
    short = {name: f"s{i}" for i, name in enumerate(names)}
    num_spec = np.array([short.get(s, s) for s in num_spec], dtype=object)
    den_spec = np.array([short.get(s) if isinstance(s, str) else None for s in den_spec], dtype=object)
    unit = _key(table, ["level", "area_id", "period_type", "period"]).to_numpy(dtype=object)
    n = len(table)
    keys = np.concatenate([num_spec + "\x1e" + unit, den_spec[has_d] + "\x1e" + unit[has_d]])
    codes, uniques = pd.factorize(keys)
    n_of_row = codes[:n]
    d_of_row = np.full(n, -1, dtype=np.intp)
    d_of_row[has_d] = codes[n:]
    source_row = np.concatenate([np.arange(n), np.flatnonzero(has_d)])
    first = np.full(len(uniques), -1, dtype=np.intp)
    first[codes[::-1]] = source_row[::-1]     # the first row showing each cell
    value = np.full(len(uniques), np.nan)
    value[codes] = np.concatenate([counts["numerator"].to_numpy(float),
                                   counts["denominator"].to_numpy(float)[has_d]])
    spec = np.concatenate([num_spec, den_spec[has_d]])
    cell_spec = np.empty(len(uniques), dtype=object)
    cell_spec[codes] = spec

    def column(name):
        return table[name].astype("object").to_numpy()[first]

    complement = counts["complement"].to_numpy(float)
    pair = np.where(has_d, num_spec + " | " + np.where(has_d, den_spec, "").astype(object), None)
    return _Cells(
        spec=cell_spec, level=column("level"), area=column("area_id"),
        period_type=column("period_type"), period=column("period"), cluster=column("cluster_id"),
        hscp=column("hscp_code"), hb=column("hb_code"), value=value, n_of_row=n_of_row,
        d_of_row=d_of_row, complement_small=(complement > 0) & (complement < threshold),
        complement_pair=pair, spec_names={code: name for name, code in short.items()},
    )


class _State:
    """Hidden cells and suppressed rows, kept consistent (:meth:`settle`)."""

    def __init__(self, cells: _Cells, primary_rows: np.ndarray, threshold: int):
        self.cells = cells
        value = cells.value
        self.hidden = (value > 0) & (value < threshold)
        self.why = np.full(len(value), None, dtype=object)
        self.rows = primary_rows.copy()
        self.settle(SHARED_COUNT)

    def hide(self, which, why: str) -> None:
        which = np.asarray(which, dtype=np.intp)
        new = which[~self.hidden[which]]
        self.hidden[new] = True
        self.why[new] = why

    def settle(self, why: str = SHARED_COUNT) -> None:
        """A suppressed row hides its numerator count; a hidden count suppresses every row
        showing it (as numerator or denominator); repeated until nothing changes."""
        n_cell, d_cell = self.cells.n_of_row, self.cells.d_of_row
        has_d = d_cell >= 0
        while True:
            rows = self.rows | self.hidden[n_cell]
            rows[has_d] |= self.hidden[d_cell[has_d]]
            new_cells = n_cell[rows & ~self.hidden[n_cell]]
            if not len(new_cells) and (rows == self.rows).all():
                break
            self.rows = rows
            self.hide(np.unique(new_cells), why)


def _codes(values: np.ndarray) -> np.ndarray:
    return pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=False)[0]


def _group_members(c: _Cells, area_groups: bool):
    """(cell, group id, is parent, group name index, names) of the one-subtraction groups."""
    practice = c.level == PRACTICE
    clustered = practice & pd.notna(c.cluster)
    idx = np.arange(len(c.value))
    spec, level, area = _codes(c.spec), _codes(c.level), _codes(c.area)
    cluster, hscp, hb = _codes(c.cluster), _codes(c.hscp), _codes(c.hb)
    cell = _codes(c.period_type.astype(str) + _SEP + c.period.astype(str))
    total = c.period_type == "total"
    specs = [  # name, child cells, child key columns, parent cells, parent key columns
        (PRACTICES_IN_CLUSTER, idx[clustered], [spec, cell, cluster],
         idx[c.level == CLUSTER], [spec, cell, area]),
        (MONTHS_IN_TOTAL, idx[c.period_type == "month"], [spec, level, area],
         idx[total], [spec, level, area]),
    ]
    if area_groups:  # clusters (by their home area) and unclustered practices in their areas
        above = idx[(c.level == CLUSTER) | (practice & pd.isna(c.cluster))]
        specs += [
            ("clusters and unclustered practices in their HSCP", above, [spec, cell, hscp],
             idx[c.level == HSCP], [spec, cell, area]),
            ("clusters and unclustered practices in their board", above, [spec, cell, hb],
             idx[c.level == HB], [spec, cell, area]),
            ("boards in Scotland", idx[c.level == HB], [spec, cell], idx[c.level == SCOTLAND],
             [spec, cell]),
        ]
    cells, keys, parent, name = [], [], [], []
    for k, (label, child, child_cols, par, par_cols) in enumerate(specs):
        key = np.column_stack([np.full(len(child) + len(par), k)]
                              + [np.r_[a[child], b[par]] for a, b in zip(child_cols, par_cols)]
                              + [np.zeros(len(child) + len(par), np.intp)] * (3 - len(child_cols)))
        cells.append(np.r_[child, par]), keys.append(key)
        parent.append(np.r_[np.zeros(len(child), bool), np.ones(len(par), bool)])
        name.append(np.full(len(child) + len(par), k))
    keys = np.concatenate(keys)
    group = pd.DataFrame(keys).groupby(list(range(keys.shape[1])), sort=False).ngroup().to_numpy()
    return (np.concatenate(cells), group, np.concatenate(parent), np.concatenate(name),
            [sp[0] for sp in specs])


def _group_rule(state: _State, audit: bool, area_groups: bool = True) -> None:
    """One subtraction: a group (a total and its parts) with a single hidden cell gets its next
    smallest cell hidden (a part before the total, non-zero first), repeated. With the audit, a
    hidden total over visible parts is left to the audit (the parts are practices, released
    only coarsened, or cells the audit sees)."""
    c = state.cells
    row, group, is_parent, name, names = _group_members(c, area_groups)
    names = np.array(names, dtype=object)
    n_groups = group.max() + 1 if len(group) else 0
    size = np.bincount(group, minlength=n_groups)
    missing = np.isnan(c.value)
    value = np.nan_to_num(c.value, nan=0.0)
    while True:
        hidden = state.hidden[row] | missing[row]
        n_hidden = np.bincount(group, weights=hidden, minlength=n_groups)
        n_suppressed = np.bincount(group, weights=state.hidden[row], minlength=n_groups)
        needy = (n_hidden == 1) & (n_suppressed == 1) & (size > 1)
        if audit:
            lone_parent = np.bincount(group, weights=hidden & is_parent, minlength=n_groups) > 0
            needy &= ~lone_parent
        candidates = np.flatnonzero(needy[group] & ~hidden)
        if not len(candidates):
            break
        c_row, c_group, c_parent = row[candidates], group[candidates], is_parent[candidates]
        c_num = value[c_row]
        # children before the total, non-zero before zero, then smallest, then table order
        order = np.lexsort((c_row, c_num, c_num <= 0, c_parent, c_group))
        _, first = np.unique(c_group[order], return_index=True)
        chosen = candidates[order[first]]
        cells, labels = row[chosen], names[name[chosen]]
        fresh = ~state.hidden[cells]
        state.hidden[cells[fresh]] = True
        state.why[cells[fresh]] = labels[fresh]
        state.settle()


# --- the linear-programming audit -------------------------------------------------------------


def _audit_problem(state: _State) -> tuple[AuditProblem, np.ndarray]:
    """The intruder's view of the cluster audience's releases as an :class:`AuditProblem`.

    Returns the problem and, per problem cell, the count cell it is (-1: a piece of a cluster
    spanning areas, or a complement, never released).
    """
    c = state.cells
    n_cells = len(c.value)
    practice = c.level == PRACTICE
    clustered = practice & pd.notna(c.cluster)
    spec = c.spec.astype(str)
    cell_key = c.period_type.astype(str) + _SEP + c.period.astype(str)
    # where each cluster's practices are: a cluster in one (HSCP, board) is its own piece
    places = pd.DataFrame({"cluster": c.cluster[clustered], "hscp": c.hscp[clustered],
                           "hb": c.hb[clustered]}).drop_duplicates()
    n_places = places.groupby("cluster").size()
    crossing = set(n_places[n_places > 1].index)
    home = places[~places["cluster"].isin(crossing)].set_index("cluster")
    # problem cells: every non-practice cell, unclustered practices, crossing pieces, complements
    real = np.flatnonzero(~clustered)
    lp_count = list(real)
    values = list(c.value[real])
    suppressed = list(state.hidden[real] | practice[real])
    unit = np.empty(len(real), dtype=object)   # unit id of each problem cell (for months)
    hscp_of = c.hscp[real].astype(object).copy()
    hb_of = c.hb[real].astype(object).copy()
    cluster_cells = c.level[real] == CLUSTER
    cl = c.area[real][cluster_cells]
    in_home = pd.Series(cl).isin(home.index).to_numpy()
    hscp_of[np.flatnonzero(cluster_cells)[in_home]] = home.loc[cl[in_home], "hscp"].to_numpy()
    hb_of[np.flatnonzero(cluster_cells)[in_home]] = home.loc[cl[in_home], "hb"].to_numpy()
    unit[:] = c.level[real].astype(str) + _SEP + c.area[real].astype(str)
    frame = pd.DataFrame({
        "spec": spec[real], "level": c.level[real], "area": c.area[real], "unit": unit,
        "cell": cell_key[real], "hscp": hscp_of, "hb": hb_of,
        "piece": (c.level[real] == PRACTICE) | (cluster_cells & ~pd.Series(c.area[real]).isin(crossing).to_numpy()),
    })
    # pieces of crossing clusters: their practices' sums per (HSCP, board)
    cross = clustered & pd.Series(c.cluster).isin(crossing).to_numpy()
    pieces = pd.DataFrame({"spec": spec[cross], "cluster": c.cluster[cross], "hscp": c.hscp[cross],
                           "hb": c.hb[cross], "cell": cell_key[cross],
                           "value": np.nan_to_num(c.value[cross])})
    pieces = pieces.groupby(["spec", "cluster", "hscp", "hb", "cell"], sort=True)["value"].sum().reset_index()
    pieces["unit"] = "piece" + _SEP + pieces["cluster"] + _SEP + pieces["hscp"] + _SEP + pieces["hb"]
    pieces["level"], pieces["area"], pieces["piece"] = "piece", pieces["cluster"], True
    frame = pd.concat([frame, pieces.drop(columns=["value", "cluster"])], ignore_index=True)
    values += list(pieces["value"])
    suppressed += [True] * len(pieces)
    lp_count += [-1] * len(pieces)
    frame["index"] = np.arange(len(frame))

    # complements: denominator = numerator + complement, per proportion, unit and period
    rows = np.flatnonzero(pd.notna(c.complement_pair))
    pairs = pd.DataFrame({"pair": c.complement_pair[rows], "n": c.n_of_row[rows],
                          "d": c.d_of_row[rows]}).drop_duplicates(["n", "d"])
    position = np.full(n_cells, -1, dtype=np.intp)
    position[real] = np.arange(len(real))
    values_arr = np.asarray(values, dtype=float)
    # pieces' numerator and denominator cells: matched by spec, unit and cell
    lookup = pd.Series(frame["index"].to_numpy(),
                       index=frame["spec"] + "\x1e" + frame["unit"] + "\x1e" + frame["cell"])
    lookup = lookup[~lookup.index.duplicated()]
    num = position[pairs["n"].to_numpy()]
    den = position[pairs["d"].to_numpy()]
    ok = (num >= 0) & (den >= 0)
    triples = [(num[ok], den[ok])]
    # crossing pieces: numerator and denominator specs of each pair
    if len(pieces):
        piece_frame = frame[frame["level"] == "piece"]
        specs = pd.DataFrame({"pair": pairs["pair"]}).drop_duplicates()["pair"]
        for pair in specs:
            n_spec, d_spec = pair.split(" | ", 1)
            a = piece_frame[piece_frame["spec"] == n_spec]
            keyed = d_spec + "\x1e" + a["unit"] + "\x1e" + a["cell"]
            b = lookup.reindex(keyed.to_numpy()).to_numpy()
            have = ~np.isnan(b)
            triples.append((a["index"].to_numpy()[have], b[have].astype(np.intp)))
    num = np.concatenate([t[0] for t in triples]).astype(np.intp)
    den = np.concatenate([t[1] for t in triples]).astype(np.intp)
    both = pd.DataFrame({"n": num, "d": den}).drop_duplicates()
    num, den = both["n"].to_numpy(), both["d"].to_numpy()
    start = len(values_arr)
    comp = start + np.arange(len(num))
    values_arr = np.r_[values_arr, values_arr[den] - values_arr[num]]
    suppressed_arr = np.r_[np.asarray(suppressed, bool), np.ones(len(num), bool)]
    lp_count = np.r_[np.asarray(lp_count, dtype=np.intp), np.full(len(num), -1, dtype=np.intp)]
    groups: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (group id, column, coef)

    def add(parent_cols: np.ndarray, parent_keys, child_cols: np.ndarray, child_keys) -> None:
        keys = pd.Series(np.r_[np.asarray(parent_keys, dtype=object), np.asarray(child_keys, dtype=object)])
        gid = pd.factorize(keys)[0]
        cols = np.r_[parent_cols, child_cols]
        coef = np.r_[np.ones(len(parent_cols)), -np.ones(len(child_cols))]
        groups.append((gid, cols, coef))

    # denominator - numerator - complement = 0
    ids = np.arange(len(num))
    groups.append((np.r_[ids, ids, ids], np.r_[den, num, comp],
                   np.r_[np.ones(len(num)), -np.ones(len(num)), -np.ones(len(num))]))
    f = frame
    cellkey = f["spec"] + _SEP + f["cell"]
    is_piece = f["piece"].to_numpy()
    # a crossing cluster is the sum of its pieces
    cross_cluster = (f["level"] == CLUSTER) & f["area"].isin(crossing)
    pc = f["level"] == "piece"
    add(f.index[cross_cluster].to_numpy(), (cellkey + _SEP + f["area"])[cross_cluster],
        f.index[pc].to_numpy(), (cellkey + _SEP + f["area"])[pc])
    # an HSCP and a board are the sums of their own pieces; Scotland the sum of its boards
    for level, column in ((HSCP, "hscp"), (HB, "hb")):
        parent = f["level"] == level
        add(f.index[parent].to_numpy(), (cellkey + _SEP + f["area"])[parent],
            f.index[is_piece].to_numpy(), (cellkey + _SEP + f[column].astype(str))[is_piece])
    parent, child = f["level"] == SCOTLAND, f["level"] == HB
    add(f.index[parent].to_numpy(), cellkey[parent], f.index[child].to_numpy(), cellkey[child])
    # every unit's total is the sum of its months
    total = f["cell"].str.startswith("total" + _SEP)
    month = f["cell"].str.startswith("month" + _SEP)
    add(f.index[total].to_numpy(), (f["spec"] + _SEP + f["unit"])[total],
        f.index[month].to_numpy(), (f["spec"] + _SEP + f["unit"])[month])
    # stack the groups into one matrix, keeping only equations the true values satisfy
    offset = 0
    r_all, c_all, v_all = [], [], []
    for gid, cols, coef in groups:
        if not len(gid):
            continue
        r_all.append(gid + offset), c_all.append(cols), v_all.append(coef)
        offset += gid.max() + 1
    n_lp = len(values_arr)
    if r_all:
        r_all, c_all, v_all = np.concatenate(r_all), np.concatenate(c_all), np.concatenate(v_all)
    else:
        r_all = c_all = np.array([], dtype=np.intp)
        v_all = np.array([], dtype=float)
    matrix = sparse.csr_matrix((v_all, (r_all, c_all)), shape=(offset, n_lp))
    matrix.sum_duplicates()
    with np.errstate(invalid="ignore"):
        residual = matrix @ np.nan_to_num(values_arr, nan=np.inf)
        scale = abs(matrix) @ np.nan_to_num(np.abs(values_arr), nan=np.inf)
    nnz = matrix.getnnz(axis=1)
    has_parent = (matrix > 0).getnnz(axis=1) > 0
    holds = np.isfinite(residual) & (np.abs(residual) <= _TOLERANCE * np.maximum(1.0, scale)) \
        & (nnz >= 2) & has_parent
    matrix = matrix[np.flatnonzero(holds)]
    totals = np.zeros(n_lp, bool)
    totals[: len(f)] = (f["level"].isin([HSCP, HB, SCOTLAND]) | total).to_numpy()
    problem = AuditProblem(list(range(n_lp)), np.nan_to_num(values_arr, nan=0.0), suppressed_arr,
                           eq_matrix=matrix, totals=totals)
    return problem, lp_count


#: Rounds of the audit: a cell the greedy could not protect gets every cell of its equations
#: hidden, and the audit runs again.
AUDIT_PASSES = 3


def _audited(state: _State, threshold: int) -> pd.DataFrame:
    """Protect every primary cell of the cluster audience's releases (adds hidden cells);
    returns the audit of the cells it could not protect (none expected; warned)."""
    for _ in range(AUDIT_PASSES):
        problem, count_of = _audit_problem(state)
        mask, result = protect(problem, threshold, final_audit=False, strict=False)
        new = mask & ~problem.suppressed & (count_of >= 0)
        state.hide(count_of[new], AUDIT_GROUP)
        state.settle()
        failing = result[result["primary"] & ~result["protected"]]
        if failing.empty:
            return failing
        # the greedy gave up on these: hide every released cell of their equations
        cols = failing["cell"].to_numpy(dtype=np.intp)
        eq = problem.eq_matrix.tocsc()
        touched = np.unique(eq[:, cols].indices)
        linked = np.unique(problem.eq_matrix.tocsr()[touched].indices)
        linked = count_of[linked]
        state.hide(linked[linked >= 0], AUDIT_GROUP)
        state.settle()
    warnings.warn(f"disclosure audit: {len(failing)} primary cell(s) could not be protected by "
                  "suppressing more cells", stacklevel=3)
    return failing


def audit_suppression(indicator_table: pd.DataFrame, marks: pd.DataFrame,
                      threshold: int = DEFAULT_THRESHOLD) -> pd.DataFrame:
    """The linear-programming audit of a table's suppression marks, as the cluster audience of
    a whole run sees it: one row per primary cell of the audit (clusters, HSCPs, boards,
    Scotland, pieces of clusters spanning areas, unclustered practices and complements) with
    ``lower``, ``upper`` (an inner feasible range, exact where not protected), ``protected``,
    and the cell's ``spec``, ``level``, ``area`` and ``period`` (missing for a complement).

    Example usage::

        found = audit_suppression(table, suppress_cells(table, 5), 5)
        found[~found["protected"]]      # recoverable small counts
    """
    from clusterqi.disclosure.audit import audit

    table = indicator_table.reset_index(drop=True)
    cells = _count_cells(table, threshold)
    state = _State(cells, small_count_rows(table, threshold), threshold)
    rows = marks.loc[indicator_table.index, "suppression"].notna().to_numpy()
    state.rows |= rows
    state.hidden[cells.n_of_row[rows]] = True
    if "denominator_hidden" in marks.columns:
        den = marks.loc[indicator_table.index, "denominator_hidden"].to_numpy(dtype=bool)
        state.hidden[cells.d_of_row[den & (cells.d_of_row >= 0)]] = True
    problem, count_of = _audit_problem(state)
    result = audit(problem, threshold, exact=False)
    result = result[result["primary"]].reset_index(drop=True)
    which = count_of[result["cell"].to_numpy(dtype=np.intp)]
    known = which >= 0
    specs = np.array([cells.spec_names.get(s, s) for s in cells.spec], dtype=object)
    for name, values in (("spec", specs), ("level", cells.level), ("area", cells.area),
                         ("period", cells.period)):
        column = np.full(len(result), None, dtype=object)
        column[known] = values[which[known]]
        result[name] = column
    return result


def suppress_cells(
    indicator_table: pd.DataFrame, threshold: int = DEFAULT_THRESHOLD, secondary: bool = True,
    audit: bool = False,
) -> pd.DataFrame:
    """Which rows' numerators disclosure control suppresses, and why (analyst-side, no audience).

    Returns a frame aligned with the table: ``suppression`` ("primary", "secondary" or missing),
    ``group`` (for a secondary suppression, why: the group whose hidden cell it protects, the
    shared count, or the audit) and ``denominator_hidden`` (True where the row's denominator is
    a hidden count: withheld with the numerator). Primary (:func:`small_count_rows`): a count
    the row releases (numerator, a proportion's denominator or complement) from 1 to
    threshold - 1. Secondary: see the module docstring. ``audit=False`` (the default for now:
    the audit of a whole run still takes over a minute) uses one-subtraction groups only,
    clusters in their home HSCP and board; ``audit=True`` adds the linear-programming audit.

    Example usage::

        marks = suppress_cells(table, threshold=5)
        table.loc[marks["suppression"].notna(), ["area_id", "period"]]
    """
    _check_table(indicator_table)
    table = indicator_table.reset_index(drop=True)
    primary = small_count_rows(table, threshold)
    cells = _count_cells(table, threshold)
    state = _State(cells, primary, threshold)
    if secondary:
        _group_rule(state, audit)
        if audit:
            _audited(state, threshold)
            _group_rule(state, audit, area_groups=False)
    rows = state.rows
    kind = np.where(primary, "primary", np.where(rows, "secondary", None))
    n_cell, d_cell = cells.n_of_row, cells.d_of_row
    has_d = d_cell >= 0
    den_hidden = np.zeros(len(table), bool)
    den_hidden[has_d] = state.hidden[d_cell[has_d]]
    why = state.why[n_cell].copy()
    why[has_d & den_hidden] = np.where(pd.isna(why[has_d & den_hidden]),
                                       state.why[d_cell[has_d & den_hidden]], why[has_d & den_hidden])
    why = np.where(kind == "secondary", why, None)
    why = np.where((kind == "secondary") & pd.isna(why), SHARED_COUNT, why)
    marks = pd.DataFrame({"suppression": kind, "group": why}, index=indicator_table.index).astype("str")
    marks["denominator_hidden"] = den_hidden
    return marks


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
    hidden = (suppression.loc[table.index, "denominator_hidden"].to_numpy(dtype=bool)
              if "denominator_hidden" in suppression.columns else np.zeros(len(table), bool))
    marks["denominator_hidden"] = hidden
    kind = marks["suppression"]
    primary = small_count_rows(table.reset_index(drop=True), policy.threshold)
    wrong = np.flatnonzero(primary != kind.eq("primary").fillna(False).to_numpy())
    if len(wrong):
        row = table.iloc[wrong[0]]
        raise refuse(
            f"row {table.index[wrong[0]]!r} ({row['level']} {row['area_id']}, {row['period']}) "
            f"has numerator {row['numerator']!r} and denominator {row['denominator']!r} but is "
            f"marked {kind.iloc[wrong[0]]!r}"
        )
    if not policy.secondary and kind.eq("secondary").any():
        raise refuse("secondary suppressions given, but the policy has secondary=False")
    return marks


def _withhold_hidden_denominators(table: pd.DataFrame, marks: pd.DataFrame) -> None:
    """Withhold the denominator (and the size shown with it) where the marks say it is a hidden
    count (``denominator_hidden``: a proportion whose denominator is small, or is a count
    hidden in another indicator). ``table`` and ``marks`` are aligned by position."""
    if "denominator_hidden" not in marks.columns:
        return
    hidden = marks["denominator_hidden"].to_numpy(dtype=bool)
    if not hidden.any():
        return
    _replace_rows(table, hidden, "denominator", np.nan)
    for column in ("denominator_band", "plot_size"):
        if column in table.columns:
            _replace_rows(table, hidden, column, None)


def _rows_in_hidden_cells(keys: np.ndarray, cell: np.ndarray, cells_of) -> np.ndarray:
    """Positions of the rows whose cell is one of ``cells_of(key)`` for the row's ``key`` (a
    comparator's area, or its list of member clusters; missing keys match nothing), worked
    out once per distinct key."""
    present = np.flatnonzero(pd.notna(keys))
    if not len(present):
        return np.array([], dtype=np.intp)
    parts = []
    values = pd.Series(keys[present], dtype=object)
    groups = values.groupby(values, sort=False)
    for rows in groups.indices.values():
        rows = present[rows]
        bad = cells_of(keys[rows[0]])
        if bad:
            parts.append(rows[np.isin(cell[rows], list(bad))])
    return np.concatenate(parts) if parts else np.array([], dtype=np.intp)


def _withhold_suppressed_comparators(table: pd.DataFrame, suppressed: np.ndarray) -> None:
    """Every comparator's columns on any row are withheld where the comparator's area row
    (its ``area_level`` row named by the row's ``area_column``; Scotland: every row) is
    suppressed in the same cell. A comparator pooled from a set of clusters (``members_column``,
    e.g. peers) is withheld on a row where any member cluster's row is suppressed in the same
    cell: the pooled value less the visible members would give the hidden one back."""
    if not suppressed.any():
        return
    # one integer per cell (indicator, period type, period), so rows are matched in bulk
    cells = table[["indicator_id", "period_type", "period"]].astype(object)
    cell = cells.groupby(list(cells.columns), sort=False, dropna=False).ngroup().to_numpy()
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
        hidden_cells: dict[Any, set] = {}  # area -> the cells where its row is hidden
        for unit, code in zip(area[hidden], cell[hidden]):
            hidden_cells.setdefault(unit, set()).add(code)
        members = getattr(comparator, "members_column", None)
        if members:  # rows listing a hidden member, in a cell where it is hidden
            if members not in table.columns:
                continue
            listed = table[members].to_numpy(dtype=object)
            separator = getattr(vocabulary, "MEMBER_SEPARATOR", ";")
            hit = _rows_in_hidden_cells(listed, cell, lambda text: set().union(*(
                hidden_cells.get(m.strip(), ()) for m in str(text).split(separator) if m.strip())))
        elif column:  # rows naming a hidden unit, in a cell where it is hidden
            named = table[column].to_numpy(dtype=object)
            hit = _rows_in_hidden_cells(named, cell, lambda unit: hidden_cells.get(unit, set()))
        else:  # Scotland: every row of a cell where Scotland is hidden
            hit = np.flatnonzero(np.isin(cell, cell[hidden]))
        mask = np.zeros(len(table), bool)
        mask[np.asarray(hit, dtype=np.intp)] = True
        _replace_rows(table, mask, value_col, np.nan)
        for verdict in (vs_col, f"{vs_col}_unadjusted"):
            if verdict in table.columns:
                _replace_rows(table, mask, verdict, None)
