"""Protection-interval audit of suppressed counts, by linear programming.

An intruder who sees a released table knows its additive structure (a cluster is the sum of its
practices, a 12-month total the sum of its months, a board the sum of its clusters) and some
inequalities (a share's numerator is at most its denominator). The suppressed cells are unknowns
``x >= 0``; every visible cell is a constant (or, when it was rounded, a variable inside its
published interval, e.g. a value rounded to 5 lies within +-2). For each suppressed cell the
intruder's best knowledge is its *feasible range*

    lower = min x_i  and  upper = max x_i  subject to  A_eq x = b_eq,  A_ub x <= b_ub,  bounds,

two linear programmes per cell (Hundepool et al., *Statistical Disclosure Control*, Wiley 2012,
section 4.3 "Disclosure risk: the intruder's feasibility intervals" for magnitude tables and
chapter 5 for frequency tables; the same audit tau-ARGUS runs and R's sdcTable offers as
``attack()`` / ``protectTable(method="SIMPLEHEURISTIC")`` with its feasibility check). The LP
relaxation is the standard audit: the integer range of a count lies within the LP range, so a cell
the LP calls protected can be wider for the intruder only by rounding ``lower`` up and ``upper``
down to whole numbers, which :func:`audit` does.

**The protection rule** (:func:`audit`, ``threshold`` t, default 5): a *primary* cell (suppressed,
true count 1..t-1) is protected when the intruder can rule out neither that it is 0 nor that it is
t or more, i.e. ``lower <= 0`` and ``upper >= t``. In sdcTable's terms these are protection
levels: a lower protection level equal to the value (``value - lower >= value``) and an upper
protection level of ``t - value`` (``upper - value >= t - value``): the feasible interval must
cover the whole range [0, t] that the threshold rule is about, so the release cannot tell a small
count from no count or from a publishable one. This is stricter than "not recovered exactly"
(``lower < upper``), which would let an intruder learn "between 1 and 3". Secondary (and other
suppressed) cells carry no requirement of their own; their ``protected`` column says only whether
they are not pinned to a single value (``lower < upper``).

Speed: constraints are ``scipy.sparse`` matrices; the cells that are unknown to the intruder are
split into connected components (two unknowns are connected when a constraint holds both; a
visible cell is a constant and connects nothing) and each component is solved on its own with
``scipy.optimize.linprog(method="highs")``. A component whose unknowns are pinned by constraints
with a single unknown is settled without an LP. The fast audit (``exact=False``) certifies all
components at once (one block-diagonal LP per bound instead of one per component), and
:func:`protect` re-audits only the components a round changed (a component whose cells are
unchanged has the same range as before), so a national table of tens of thousands of cells is
protected in seconds.

Why one module of this size: the audit is one algorithm (the problem, its split into
independent components, fast bounds, then the linear programmes and ``protect``), and its parts
share the same matrices.

Example usage::

    from clusterqi.disclosure.audit import AuditProblem, audit, protect

    # a 2 x 2 table with row, column and grand totals; cell "a" (3) suppressed
    problem = AuditProblem.from_groups(
        cells=["a", "b", "c", "d", "r1", "r2", "c1", "c2", "t"],
        values=[3, 7, 6, 9, 10, 15, 9, 16, 25],
        suppressed=["a"],
        groups=[("r1", ["a", "b"]), ("r2", ["c", "d"]), ("c1", ["a", "c"]),
                ("c2", ["b", "d"]), ("t", ["r1", "r2"]), ("t", ["c1", "c2"])],
    )
    audit(problem)                 # a: lower 3, upper 3, protected False
    mask, result = protect(problem)   # suppresses b, c and d: the rectangle
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Hashable, Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components

__all__ = [
    "AuditProblem",
    "ProtectionError",
    "audit",
    "protect",
    "zero_and_threshold",
    "DEFAULT_THRESHOLD",
]

#: Counts 1 to DEFAULT_THRESHOLD - 1 are primary (PHS practice: fewer than 5).
DEFAULT_THRESHOLD = 5
#: Tolerance when rounding LP bounds to whole numbers and comparing them.
TOLERANCE = 1e-6
#: protect(strict=False) gives up on the failing cells when this many rounds did not reduce them.
STALL_ROUNDS = 3


class ProtectionError(RuntimeError):
    """:func:`protect` could not protect every primary cell; the message names the cells."""


def _as_matrix(rows, n: int) -> sparse.csr_matrix:
    if rows is None:
        return sparse.csr_matrix((0, n))
    matrix = sparse.csr_matrix(rows, dtype=float)
    if matrix.shape[1] != n:
        raise ValueError(f"constraint matrix has {matrix.shape[1]} columns; expected one per cell ({n})")
    return matrix


@dataclasses.dataclass
class AuditProblem:
    """Cells, what the intruder sees of them, and the constraints linking them.

    - ``cells``: one id per cell (any hashable: a tuple of indicator, area, period works);
    - ``values``: the true values (counts);
    - ``suppressed``: boolean mask, True where the cell is not released;
    - ``released_lower`` / ``released_upper``: optional, per cell; where both are finite on a
      *visible* cell the intruder knows only that the cell lies in that interval (a value
      rounded to the nearest 5 and published as 15 has 13..17); NaN means the visible value
      is exact;
    - ``eq_matrix`` x = ``eq_rhs``: equality constraints, one sparse row each (a total minus
      its parts = 0); ``eq_rhs`` defaults to zeros;
    - ``ub_matrix`` x <= ``ub_rhs``: inequality constraints (a numerator minus its denominator
      <= 0); ``ub_rhs`` defaults to zeros;
    - ``totals``: optional mask of cells that are totals of some group (:func:`protect`
      prefers to suppress cells that are not); :meth:`from_groups` fills it in.

    Every suppressed cell is an unknown ``>= 0``. Use :meth:`from_groups` to build a problem
    from (total, parts) groups and (part, whole) inequalities by cell id.
    """

    cells: Sequence[Hashable]
    values: np.ndarray
    suppressed: np.ndarray
    eq_matrix: sparse.spmatrix | None = None
    eq_rhs: np.ndarray | None = None
    ub_matrix: sparse.spmatrix | None = None
    ub_rhs: np.ndarray | None = None
    released_lower: np.ndarray | None = None
    released_upper: np.ndarray | None = None
    totals: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.cells = list(self.cells)
        n = len(self.cells)
        self.values = np.asarray(self.values, dtype=float)
        self.suppressed = np.asarray(self.suppressed, dtype=bool)
        if self.values.shape != (n,) or self.suppressed.shape != (n,):
            raise ValueError(f"values and suppressed need one entry per cell ({n})")
        if np.isnan(self.values).any():
            raise ValueError("values hold NaN: every cell needs its true value")
        self.eq_matrix = _as_matrix(self.eq_matrix, n)
        self.ub_matrix = _as_matrix(self.ub_matrix, n)
        self.eq_rhs = (np.zeros(self.eq_matrix.shape[0]) if self.eq_rhs is None
                       else np.asarray(self.eq_rhs, dtype=float))
        self.ub_rhs = (np.zeros(self.ub_matrix.shape[0]) if self.ub_rhs is None
                       else np.asarray(self.ub_rhs, dtype=float))
        if self.eq_rhs.shape != (self.eq_matrix.shape[0],) or self.ub_rhs.shape != (self.ub_matrix.shape[0],):
            raise ValueError("eq_rhs / ub_rhs need one entry per constraint row")
        for name in ("released_lower", "released_upper"):
            bound = getattr(self, name)
            setattr(self, name, np.full(n, np.nan) if bound is None else np.asarray(bound, dtype=float))
            if getattr(self, name).shape != (n,):
                raise ValueError(f"{name} needs one entry per cell ({n})")
        self.totals = np.zeros(n, dtype=bool) if self.totals is None else np.asarray(self.totals, dtype=bool)
        if len(set(self.cells)) != n:
            raise ValueError("cell ids are not unique")

    @classmethod
    def from_groups(
        cls,
        cells: Sequence[Hashable],
        values: Sequence[float],
        suppressed: Iterable[Hashable] | np.ndarray,
        groups: Iterable[tuple[Hashable, Sequence[Hashable]]] = (),
        leq: Iterable[tuple[Hashable, Hashable]] = (),
        released_intervals: dict[Hashable, tuple[float, float]] | None = None,
    ) -> "AuditProblem":
        """A problem from ids: ``groups`` (total, parts) mean total = sum(parts); ``leq``
        (part, whole) mean part <= whole; ``suppressed`` is a mask or the ids suppressed;
        ``released_intervals`` maps a visible rounded cell to the interval it is known within."""
        cells = list(cells)
        position = {c: i for i, c in enumerate(cells)}
        n = len(cells)
        if isinstance(suppressed, np.ndarray) and suppressed.dtype == bool:
            mask = suppressed
        else:
            mask = np.zeros(n, dtype=bool)
            mask[[position[c] for c in suppressed]] = True
        rows, cols, data, totals = [], [], [], np.zeros(n, dtype=bool)
        for r, (total, parts) in enumerate(groups):
            rows.append(r), cols.append(position[total]), data.append(1.0)
            totals[position[total]] = True
            for part in parts:
                rows.append(r), cols.append(position[part]), data.append(-1.0)
        n_eq = (max(rows) + 1) if rows else 0
        eq = sparse.csr_matrix((data, (rows, cols)), shape=(n_eq, n))
        eq.sum_duplicates()
        urows, ucols, udata = [], [], []
        for r, (part, whole) in enumerate(leq):
            urows += [r, r]
            ucols += [position[part], position[whole]]
            udata += [1.0, -1.0]
        n_ub = (max(urows) + 1) if urows else 0
        ub = sparse.csr_matrix((udata, (urows, ucols)), shape=(n_ub, n))
        low, high = np.full(n, np.nan), np.full(n, np.nan)
        for cell, (a, b) in (released_intervals or {}).items():
            low[position[cell]], high[position[cell]] = a, b
        return cls(cells, np.asarray(values, dtype=float), mask, eq, None, ub, None, low, high, totals)

    @property
    def unknown(self) -> np.ndarray:
        """Cells that are variables to the intruder: suppressed, or visible within an interval."""
        interval = ~self.suppressed & np.isfinite(self.released_lower) & np.isfinite(self.released_upper)
        return self.suppressed | interval


def zero_and_threshold(values: np.ndarray, threshold: int) -> tuple[np.ndarray, np.ndarray]:
    """The default requirement: the feasible range must reach 0 and reach ``threshold``.

    Returns (required lower, required upper): a primary cell is protected when
    ``lower <= required lower`` and ``upper >= required upper``.
    """
    n = len(values)
    return np.zeros(n), np.full(n, float(threshold))


def _components(problem: AuditProblem, unknown: np.ndarray, keep: np.ndarray | None = None):
    """Connected components of the unknown cells (linked through constraint rows); with
    ``keep`` (a mask over cells), only the components holding a kept cell."""
    idx = np.flatnonzero(unknown)
    stacked = getattr(problem, "_stacked_csc", None)
    if stacked is None:
        stacked = sparse.vstack([problem.eq_matrix, problem.ub_matrix]).tocsc()
    part = stacked[:, idx].tocsr()
    part.eliminate_zeros()
    m, k = part.shape
    incidence = (part != 0).astype(np.int8)
    graph = sparse.bmat([[None, incidence], [incidence.T, None]], format="csr") if m else sparse.csr_matrix((k, k))
    if m == 0:
        labels = np.arange(k)
    else:
        _, labels = connected_components(graph, directed=False)
        labels = labels[m:]
    if keep is not None:
        wanted = np.bincount(labels, weights=keep[idx], minlength=labels.max() + 1 if k else 0) > 0
        chosen = wanted[labels]
        idx, labels = idx[chosen], labels[chosen]
    order = np.argsort(labels, kind="stable")
    splits = np.flatnonzero(np.diff(labels[order])) + 1
    groups = np.split(order, splits) if len(order) else []
    return [idx[group] for group in groups], stacked


class _Matrices:
    """The problem's constraint matrices in row and column form, converted once per audit."""

    def __init__(self, problem: AuditProblem):
        self.eq = problem.eq_matrix.tocsr()
        self.ub = problem.ub_matrix.tocsr()
        self.eq_csc = self.eq.tocsc()
        self.ub_csc = self.ub.tocsc()


class _Component:
    """The LP of one connected component: its unknown cells, their bounds and constraints."""

    def __init__(self, problem: AuditProblem, cols: np.ndarray, known_values: np.ndarray,
                 matrices: _Matrices | None = None):
        self.problem, self.cols = problem, cols
        matrices = matrices or _Matrices(problem)
        low = np.where(problem.suppressed[cols], 0.0, problem.released_lower[cols])
        self.low = np.maximum(low, 0.0)
        self.high = np.where(problem.suppressed[cols], np.inf, problem.released_upper[cols])

        def rows_of(matrix: sparse.csr_matrix, by_column: sparse.csc_matrix, rhs: np.ndarray):
            touched = np.unique(by_column[:, cols].indices)
            rows = matrix[touched]
            sub = by_column[:, cols].tocsr()[touched]
            return sub, rhs[touched] - rows @ known_values

        self.a_eq, self.b_eq = rows_of(matrices.eq, matrices.eq_csc, problem.eq_rhs)
        self.a_ub, self.b_ub = rows_of(matrices.ub, matrices.ub_csc, problem.ub_rhs)
        k = len(cols)
        self.lower, self.upper = np.full(k, np.nan), np.full(k, np.nan)          # exact bounds
        self.seen_low, self.seen_high = np.full(k, np.inf), np.full(k, -np.inf)  # feasible points
        # a row with a single unknown pins it: no LP needed
        for r in np.flatnonzero(self.a_eq.getnnz(axis=1) == 1):
            start = self.a_eq.indptr[r]
            j, coef = self.a_eq.indices[start], self.a_eq.data[start]
            value = self.b_eq[r] / coef
            self.lower[j] = self.upper[j] = value
            self.seen_low[j] = min(self.seen_low[j], value)
            self.seen_high[j] = max(self.seen_high[j], value)

    def _see(self, x: np.ndarray) -> None:
        self.seen_low = np.minimum(self.seen_low, x)
        self.seen_high = np.maximum(self.seen_high, x)
        # a point at a cell's lowest possible bound (0 for a suppressed cell) is its exact minimum
        at_low = (np.abs(x - self.low) <= TOLERANCE) & np.isnan(self.lower)
        self.lower[at_low] = self.low[at_low]

    def _solve(self, objective: np.ndarray, caps: np.ndarray | None = None,
               who: np.ndarray | None = None):
        """linprog over the component's variables, plus helper variables y_i <= x_{who_i},
        0 <= y_i <= caps_i when ``caps`` is given (the objective covers them too)."""
        a_eq, a_ub, b_ub = self.a_eq, self.a_ub, self.b_ub
        bounds_low, bounds_high = self.low, self.high
        k = len(self.cols)
        if caps is not None:
            extra = len(caps)
            a_eq = sparse.hstack([a_eq, sparse.csr_matrix((a_eq.shape[0], extra))]).tocsr()
            link = sparse.csr_matrix((np.r_[np.ones(extra), -np.ones(extra)],
                                      (np.r_[np.arange(extra), np.arange(extra)],
                                       np.r_[k + np.arange(extra), who])), shape=(extra, k + extra))
            a_ub = sparse.vstack([sparse.hstack([a_ub, sparse.csr_matrix((a_ub.shape[0], extra))]),
                                  link]).tocsr()
            b_ub = np.r_[b_ub, np.zeros(extra)]
            bounds_low = np.r_[bounds_low, np.zeros(extra)]
            bounds_high = np.r_[bounds_high, caps]
        bounds = np.column_stack([bounds_low, np.where(np.isinf(bounds_high), None, bounds_high)])
        result = linprog(objective, A_eq=a_eq if a_eq.shape[0] else None,
                         b_eq=self.b_eq if a_eq.shape[0] else None,
                         A_ub=a_ub if a_ub.shape[0] else None, b_ub=b_ub if a_ub.shape[0] else None,
                         bounds=bounds, method="highs")
        if result.status == 2:
            raise ValueError(
                f"the constraints around cell {self.problem.cells[self.cols[0]]!r} are infeasible "
                "with the given values: check that totals equal the sums of their parts")
        if result.status not in (0, 3):
            raise RuntimeError(f"linprog failed near cell {self.problem.cells[self.cols[0]]!r}: "
                               f"{result.message}")
        if result.status == 0:
            self._see(result.x[:k])
        return result

    def exact(self, which: np.ndarray) -> None:
        """Exact minimum and maximum of the cells in ``which`` (two LPs each at most)."""
        objective = np.zeros(len(self.cols))
        for j in which:
            for sign, out in ((1.0, self.lower), (-1.0, self.upper)):
                if not np.isnan(out[j]):
                    continue
                objective[j] = sign
                result = self._solve(objective)
                objective[j] = 0.0
                out[j] = np.inf if result.status == 3 else sign * result.fun

    def certify(self, primary: np.ndarray, need_low: np.ndarray, need_high: np.ndarray,
                max_rounds: int = 20) -> None:
        """Find feasible points showing primary cells reaching ``need_low`` and ``need_high``.

        A few LPs over many cells at once: minimise the sum of the cells not yet seen low
        enough; maximise the sum of min(x_j, need_high_j) (helper variables) over the cells not
        yet seen high enough. Each optimum is a feasible point, so what it shows is certain;
        cells it leaves unshown get exact LPs afterwards (:meth:`exact`).
        """
        k = len(self.cols)

        def short_low():
            return np.flatnonzero(primary & (self.seen_low > need_low + TOLERANCE) & np.isnan(self.lower))

        def short_high():
            return np.flatnonzero(primary & (self.seen_high < need_high - TOLERANCE) & np.isnan(self.upper))

        for _ in range(max_rounds):
            todo = short_low()
            if not len(todo):
                break
            objective = np.zeros(k)
            objective[todo] = 1.0
            self._solve(objective)
            if len(short_low()) == len(todo):
                break
        for _ in range(max_rounds):
            todo = short_high()
            if not len(todo):
                break
            objective = np.r_[np.zeros(k), -np.ones(len(todo))]
            result = self._solve(objective, caps=need_high[todo], who=todo)
            if result.status != 0 or len(short_high()) == len(todo):
                break


def _fast_bounds_batched(problem: AuditProblem, todo: list[np.ndarray], known_values: np.ndarray,
                         matrices: _Matrices, primary_all: np.ndarray, need_low_all: np.ndarray,
                         need_high_all: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
    """:func:`_fast_bounds` for many components at once: their union is certified as one LP
    (independent blocks: the optimum of the union is the optima of its parts); only the
    components with a primary cell left unshown get their own exact LPs. Fills lower/upper."""
    union = np.concatenate(todo)
    whole = _Component(problem, union, known_values, matrices)
    primary = primary_all[union]
    need_low, need_high = need_low_all[union], need_high_all[union]
    whole.certify(primary, need_low, need_high)
    shown = (whole.seen_low <= need_low + TOLERANCE) & (whole.seen_high >= need_high - TOLERANCE)
    lower[union] = np.where(np.isnan(whole.lower), whole.seen_low, whole.lower)
    upper[union] = np.where(np.isnan(whole.upper), whole.seen_high, whole.upper)
    left = primary & ~shown
    if not left.any():
        return
    # the cells left unshown: an exact LP in each direction not yet shown, on their component
    short_low = np.zeros(len(problem.cells), bool)
    short_high = np.zeros(len(problem.cells), bool)
    short_low[union[left & (whole.seen_low > need_low + TOLERANCE)]] = True
    short_high[union[left & (whole.seen_high < need_high - TOLERANCE)]] = True
    for cols in todo:
        lows, highs = np.flatnonzero(short_low[cols]), np.flatnonzero(short_high[cols])
        if not len(lows) and not len(highs):
            continue
        component = _Component(problem, cols, known_values, matrices)
        objective = np.zeros(len(cols))
        for js, sign, out in ((lows, 1.0, lower), (highs, -1.0, upper)):
            for j in js:
                objective[j] = sign
                result = component._solve(objective)
                objective[j] = 0.0
                out[cols[j]] = np.inf if result.status == 3 else sign * result.fun


def _fast_bounds(component: _Component, primary: np.ndarray, need_low: np.ndarray,
                 need_high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Certified inner range of every cell; the exact range of the primary cells not certified."""
    component.certify(primary, need_low, need_high)
    shown = ((component.seen_low <= need_low + TOLERANCE)
             & (component.seen_high >= need_high - TOLERANCE))
    component.exact(np.flatnonzero(primary & ~shown))
    lower = np.where(np.isnan(component.lower), component.seen_low, component.lower)
    upper = np.where(np.isnan(component.upper), component.seen_high, component.upper)
    return lower, upper


def audit(problem: AuditProblem, threshold: int = DEFAULT_THRESHOLD,
          requirement: Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray]] = zero_and_threshold,
          exact: bool = True) -> pd.DataFrame:
    """The intruder's feasible range of every suppressed cell, and whether it is protected.

    One row per suppressed cell, in cell order: ``cell`` (id), ``value`` (true), ``lower`` and
    ``upper`` (the LP range rounded inwards to whole numbers; ``upper`` may be inf), ``primary``
    (true count 1..threshold-1) and ``protected``: for a primary cell, ``lower <= req_lower``
    and ``upper >= req_upper`` where ``requirement(values, threshold)`` gives the required
    bounds (default :func:`zero_and_threshold`: reaches 0 and reaches ``threshold``, see the
    module docstring); for any other suppressed cell, ``lower < upper``.

    ``exact=False`` is the fast audit for whole runs, with the same ``protected`` decision for
    primary cells: instead of two LPs per cell, a few LPs per component find feasible points
    showing most primary cells reaching both required bounds. ``lower`` and ``upper`` are then
    an *inner* range (every value in it is feasible; the true range may be wider) except for
    the primary cells not shown protected that way, which get their exact range; ``lower`` is
    exact wherever it is 0. A non-primary cell's ``protected`` is then "seen at two values".
    """
    if not isinstance(threshold, (int, np.integer)) or threshold < 1:
        raise ValueError(f"threshold {threshold!r}: expected a whole number >= 1")
    return _audit(problem, threshold, requirement, exact)[0]


def _audit(problem: AuditProblem, threshold: int, requirement, exact: bool,
           cache: dict | None = None, primary_only: bool = False):
    """:func:`audit`, and the components; ``cache`` (component cells -> ranges) is reused and
    filled; ``primary_only`` skips components without a primary cell (their cells keep NaN)."""
    n = len(problem.cells)
    unknown = problem.unknown
    lower, upper = np.full(n, np.nan), np.full(n, np.nan)
    known_values = np.where(unknown, 0.0, problem.values)
    primary_all = problem.suppressed & (problem.values >= 1) & (problem.values <= threshold - 1)
    need_low_all, need_high_all = (np.broadcast_to(np.asarray(v, dtype=float), (n,))
                                   for v in requirement(problem.values, threshold))
    components: list[np.ndarray] = []
    if unknown.any():
        components, _ = _components(problem, unknown,
                                    primary_all if primary_only else problem.suppressed)
        matrices = getattr(problem, "_matrices", None) or _Matrices(problem)
        todo = []
        for cols in components:
            key = cols.tobytes()
            if cache is not None and key in cache:
                lower[cols], upper[cols] = cache[key]
            else:
                todo.append(cols)
        if exact:
            for cols in todo:
                component = _Component(problem, cols, known_values, matrices)
                component.exact(np.flatnonzero(problem.suppressed[cols]))
                lower[cols], upper[cols] = component.lower, component.upper
        elif todo:
            _fast_bounds_batched(problem, todo, known_values, matrices, primary_all,
                                 need_low_all, need_high_all, lower, upper)
        if cache is not None:
            for cols in todo:
                cache[cols.tobytes()] = (lower[cols].copy(), upper[cols].copy())
    idx = np.flatnonzero(problem.suppressed)
    if primary_only:
        idx = idx[np.isfinite(lower[idx]) | np.isinf(upper[idx])]
    lo = np.ceil(lower[idx] - TOLERANCE) + 0.0     # + 0.0: no -0.0
    hi = np.where(np.isinf(upper[idx]), np.inf, np.floor(upper[idx] + TOLERANCE))
    values = problem.values[idx]
    primary = primary_all[idx]
    protected = np.where(primary, (lo <= need_low_all[idx] + TOLERANCE)
                         & (hi >= need_high_all[idx] - TOLERANCE), lo < hi)
    return pd.DataFrame({
        "cell": pd.Series([problem.cells[i] for i in idx], dtype=object),
        "value": values,
        "lower": lo,
        "upper": hi,
        "protected": protected.astype(bool),
        "primary": primary.astype(bool),
    }), components


def _linked(stacked: sparse.csr_matrix, columns, by_column: sparse.csc_matrix | None = None) -> np.ndarray:
    """Every cell sharing a constraint row with one of ``columns``."""
    by_column = stacked.tocsc() if by_column is None else by_column
    rows = np.unique(by_column[:, columns].indices)
    return np.unique(stacked[rows].indices) if len(rows) else np.array([], dtype=int)


def _candidates(problem: AuditProblem, position: int, component: np.ndarray,
                stacked: sparse.csr_matrix, suppressed: np.ndarray,
                by_column: sparse.csc_matrix | None = None) -> np.ndarray:
    """Visible cells sharing a constraint with the failing cell or with an unknown cell of its
    component (the chain that pins it), best first: not a total, non-zero, in a constraint of
    the failing cell itself, smallest value, first in cell order."""
    direct = _linked(stacked, [position], by_column)
    cells = np.union1d(direct, _linked(stacked, list(component), by_column))
    cells = cells[~suppressed[cells]]
    if not len(cells):
        return cells
    values = problem.values[cells]
    indirect = ~np.isin(cells, direct)
    order = np.lexsort((cells, values, indirect, values == 0, problem.totals[cells]))
    return cells[order]


def protect(problem: AuditProblem, threshold: int = DEFAULT_THRESHOLD, max_rounds: int = 100,
            requirement: Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray]] = zero_and_threshold,
            exact: bool = False, final_audit: bool = True,
            strict: bool = True) -> tuple[np.ndarray, pd.DataFrame]:
    """Add secondary suppressions until every primary cell is protected (greedy, then re-audit).

    Each round audits the table; for each unprotected primary cell it suppresses one visible
    cell sharing a constraint with it: a cell that is not a total before a total, a non-zero
    cell before a zero, the smallest first (the cheapest loss of information). Stops when every
    primary cell is protected and returns (the new suppressed mask, the final audit). Raises
    :class:`ProtectionError` when an unprotected cell has no visible neighbour left or after
    ``max_rounds`` rounds. Cells that are not yet suppressed but are primary (1..threshold-1)
    are suppressed first. The rounds use the fast audit (``exact=False``: the same decisions);
    pass ``exact=True`` for exact ranges in the returned audit. Each round re-audits only the
    components the previous round changed. ``final_audit=False`` returns the last round's audit
    of the components holding a primary cell instead of auditing every suppressed cell again.
    ``strict=False`` never raises: a cell that cannot be protected is left as it is (its
    ``protected`` is False in the returned audit) and the other cells are still protected.

    Example usage::

        mask, result = protect(problem, threshold=5)
        assert result.loc[result["primary"], "protected"].all()
    """
    suppressed = problem.suppressed.copy()
    suppressed |= (problem.values >= 1) & (problem.values <= threshold - 1)
    problem = dataclasses.replace(problem, suppressed=suppressed)
    stacked = sparse.vstack([problem.eq_matrix, problem.ub_matrix]).tocsr()
    stacked.eliminate_zeros()
    by_column = stacked.tocsc()
    position = {c: i for i, c in enumerate(problem.cells)}
    matrices = _Matrices(problem)
    stacked_csc = sparse.vstack([problem.eq_matrix, problem.ub_matrix]).tocsc()

    def with_suppressed(mask: np.ndarray) -> AuditProblem:
        # the same problem with more cells suppressed (no new validation; matrices reused)
        out = copy.copy(problem)
        out.suppressed = mask
        out._matrices, out._stacked_csc = matrices, stacked_csc
        return out

    problem = with_suppressed(problem.suppressed)
    history: list[int] = []
    cache: dict = {}   # ranges of components no round has changed are not worked out again
    given_up: set = set()
    for _ in range(max_rounds):
        result, components = _audit(problem, threshold, requirement, exact, cache, primary_only=True)
        failing = result[result["primary"] & ~result["protected"] & ~result["cell"].isin(given_up)]
        history.append(len(failing))
        if not strict and len(history) > STALL_ROUNDS and history[-1] >= history[-1 - STALL_ROUNDS]:
            given_up.update(failing["cell"])   # the greedy is not getting anywhere with these
            failing = failing.iloc[:0]
        if failing.empty:
            if not final_audit:
                return problem.suppressed.copy(), result
            return problem.suppressed.copy(), audit(problem, threshold, requirement, exact=exact)
        component_of = {int(c): k for k, cols in enumerate(components) for c in cols}
        suppressed = problem.suppressed.copy()
        added: list[int] = []
        for cell in failing["cell"]:
            at = position[cell]
            # one new suppression per failing cell, unless this round already hid a cell in
            # one of its own constraints (then re-audit first: it may be enough)
            if added and np.isin(_linked(stacked, [at], by_column), added).any():
                continue
            choices = _candidates(problem, at, components[component_of[at]], stacked, suppressed,
                                  by_column)
            if not len(choices) and not strict:
                given_up.add(cell)
                continue
            if not len(choices):
                raise ProtectionError(
                    f"cell {cell!r} cannot be protected: every cell linked to it is already "
                    "suppressed")
            suppressed[choices[0]] = True
            added.append(int(choices[0]))
        problem = with_suppressed(suppressed)
    failing = audit(problem, threshold, requirement, exact=exact)
    bad = failing.loc[failing["primary"] & ~failing["protected"], "cell"].tolist()
    if bad and strict:
        raise ProtectionError(f"{len(bad)} primary cell(s) still unprotected after {max_rounds} "
                              f"rounds, e.g. {bad[:5]!r}")
    return problem.suppressed.copy(), failing
