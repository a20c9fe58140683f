"""Compare a unit's value with a benchmark: the one verdict a reader sees, and the plain test.

Two comparisons, both returning "better" / "similar" / "worse" (or "higher" / "similar" /
"lower" when the indicator has no direction, ``low_is_good`` None):

- :func:`compare_adjusted`, **the verdict**: the unit's z-score against the benchmark on the
  funnel's variance-stabilising scale, with the between-unit variance ``tau2`` estimated from
  all Scottish units at the unit's level added to the unit's own sampling variance, judged at
  the 99.8% limits. A unit is better or worse when, and only when, it is outside the 99.8% limits
  that allow for the usual variation between units, as on the funnel plot (Spiegelhalter 2005;
  FunnelPlotR). Used for the ``vs_rest_of_*`` columns of the indicator table.
- :func:`compare`, the Fingertips interval test: "similar" when the benchmark value lies inside
  the unit's confidence interval. It ignores real between-unit variation, so with large
  denominators nearly every unit is "better" or "worse"; kept for analysts as the
  ``vs_rest_of_*_unadjusted`` columns.

Example usage::

    from clusterqi.stats import compare, compare_adjusted, overdispersion
    compare(0.31, 0.28, 0.34, benchmark=0.25, low_is_good=True)        # "worse"
    od = overdispersion(all_num, all_den, kind="proportion")
    compare_adjusted(num, den, benchmark=0.25, dispersion=od, low_is_good=True)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from clusterqi.stats.funnels import Overdispersion, _transform, _transform_baseline, _within_se
from clusterqi.stats.inputs import as_array, broadcast, check_confidence, result_index, z_for

__all__ = ["SIMILAR", "VERDICT_CONFIDENCE", "compare", "compare_adjusted", "adjusted_z"]

#: Confidence of the verdict's limits: the funnel's outer (99.8%, "3 sigma") limits.
VERDICT_CONFIDENCE = 0.998

#: Label when the benchmark lies inside the unit's interval.
SIMILAR = "similar"
_LABELS = {True: ("worse", "better"), False: ("better", "worse"), None: ("higher", "lower")}


def compare(value: Any, lower: Any, upper: Any, benchmark: Any, low_is_good: bool | None) -> Any:
    """Label a unit against a benchmark: "better" / "similar" / "worse" (or "higher" / "lower").

    "similar" when ``lower <= benchmark <= upper``; "higher" when ``lower > benchmark``, "lower"
    when ``upper < benchmark``. With ``low_is_good=True`` higher is "worse" and lower "better";
    with False the reverse; with None the labels stay "higher" / "lower" (no judgement).
    ``value`` is not used for the decision (the interval decides) but a missing value, limit or
    benchmark gives a missing label.

    Returns a plain ``str`` (or None) for scalar inputs, a ``str`` Series for array inputs (index
    kept from a Series).

    Reference: PHE/OHID Fingertips technical guidance, "comparison with a benchmark using
    confidence intervals"; PHEindicatormethods.

    Example usage::

        compare(0.31, 0.28, 0.34, benchmark=0.25, low_is_good=True)   # "worse"
    """
    if low_is_good not in (True, False, None):
        raise ValueError(f"low_is_good: {low_is_good!r}; expected True, False or None")
    scalar = all(np.ndim(item) == 0 for item in (value, lower, upper, benchmark))
    v, lo, hi, b = broadcast(value=as_array(value, "value"), lower=as_array(lower, "lower"),
                             upper=as_array(upper, "upper"), benchmark=as_array(benchmark, "benchmark"))
    bad = lo > hi
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        raise ValueError(f"lower: position {position} has {lo[position]!r} above upper "
                         f"{hi[position]!r}; expected lower <= upper")
    above_label, below_label = _LABELS[low_is_good]
    labels = np.where(lo > b, above_label, np.where(hi < b, below_label, SIMILAR)).astype(object)
    missing = np.isnan(v) | np.isnan(lo) | np.isnan(hi) | np.isnan(b)
    labels[missing] = None
    if scalar:
        return labels[0]
    return pd.Series(labels, index=result_index(value, lower, upper, benchmark), dtype="str")


def adjusted_z(numerators: Any, denominators: Any, benchmark: Any, dispersion: Overdispersion,
               benchmark_size: Any = None) -> np.ndarray:
    """Each unit's z-score against ``benchmark``, allowing for between-unit variation.

    On the funnel's scale (``asin(sqrt(p))`` for proportions, ``sqrt(O/E)`` for ratios):
    ``z = (T(unit) - T(benchmark)) / sqrt(s^2 + tau2 + s_b^2)`` with ``s^2 = 1 / (4 n)`` the
    unit's sampling variance (``n`` its denominator, or expected count for a ratio), ``tau2``
    from ``dispersion`` (all Scottish units at the level) and ``s_b^2 = 1 / (4 n_b)`` the
    benchmark's own sampling variance when ``benchmark_size`` is given (0 otherwise).
    ``benchmark`` is a proportion (0..1) or a ratio (the comparator's rate / Scotland's rate).
    NaN where an input is missing or a size is not positive.

    Reference: Spiegelhalter DJ (2005) Qual Saf Health Care 14:347-351 (additive random
    effects); FunnelPlotR (scales and tau2).

    Example usage::

        z = adjusted_z(observed, expected, benchmark=rest_rate / scotland_rate, dispersion=od)
    """
    x, n, b = broadcast(numerators=as_array(numerators, "numerators"),
                        denominators=as_array(denominators, "denominators"),
                        benchmark=as_array(benchmark, "benchmark"))
    nb = (np.full(x.shape, np.inf) if benchmark_size is None
          else broadcast(x=x, size=as_array(benchmark_size, "benchmark_size"))[1])
    usable = np.isfinite(x) & np.isfinite(n) & (n > 0) & (x >= 0) & np.isfinite(b) & (b >= 0)
    if dispersion.kind == "proportion":
        usable &= (x <= n) & (b <= 1)
    safe_n = np.where(usable, n, 1.0)
    safe_x = np.where(usable, x, 0.0)
    safe_b = np.where(usable, b, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = _transform(dispersion.kind, safe_x, safe_n)
        centre = np.array([_transform_baseline(dispersion.kind, v) for v in safe_b])
        s_b2 = np.where(np.isfinite(nb) & (nb > 0), _within_se(np.where(nb > 0, nb, 1.0)) ** 2,
                        0.0)
        z = (unit - centre) / np.sqrt(_within_se(safe_n) ** 2 + dispersion.tau2 + s_b2)
    return np.where(usable, z, np.nan)


def compare_adjusted(numerators: Any, denominators: Any, benchmark: Any,
                     dispersion: Overdispersion, low_is_good: bool | None,
                     confidence: float = VERDICT_CONFIDENCE, benchmark_size: Any = None) -> Any:
    """The verdict: "better" / "similar" / "worse" against a benchmark, allowing for tau2.

    Higher when :func:`adjusted_z` exceeds the two-sided normal quantile of ``confidence``
    (3.09 at 99.8%), lower when it is below minus that, "similar" otherwise; labels as
    :func:`compare`. Missing (None) where the z-score cannot be computed: a unit with no
    expected count or no denominator gets no verdict.

    Constraints: ``numerators``/``denominators`` as the funnel takes them (counts for a
    proportion; observed and expected counts for a ratio); ``benchmark`` on the same scale (a
    proportion 0..1, or a ratio to the funnel's centre); ``dispersion`` estimated from all
    Scottish units at this level (:func:`clusterqi.stats.overdispersion`).

    Returns a ``str`` (or None) for scalar inputs, else a ``str`` Series.

    Reference: Spiegelhalter DJ (2005) Handling over-dispersion of performance indicators, Qual
    Saf Health Care 14:347-351; FunnelPlotR; NHS England "Making Data Count" (3-sigma limits).

    Example usage::

        od = overdispersion(all_items_4c, all_items, kind="proportion")
        compare_adjusted(120, 1000, benchmark=0.09, dispersion=od, low_is_good=True)
    """
    if low_is_good not in (True, False, None):
        raise ValueError(f"low_is_good: {low_is_good!r}; expected True, False or None")
    limit = z_for(check_confidence(confidence))
    scalar = all(np.ndim(item) == 0 for item in (numerators, denominators, benchmark))
    z = adjusted_z(numerators, denominators, benchmark, dispersion, benchmark_size)
    above_label, below_label = _LABELS[low_is_good]
    labels = np.where(z > limit, above_label, np.where(z < -limit, below_label, SIMILAR))
    labels = labels.astype(object)
    labels[np.isnan(z)] = None
    if scalar:
        return labels[0]
    return pd.Series(labels, index=result_index(numerators, denominators, benchmark), dtype="str")
