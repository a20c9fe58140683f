"""Compare a unit's value with a benchmark, as Fingertips does.

A unit is "similar" to the benchmark when the benchmark *value* lies inside the unit's
confidence interval (inclusive); otherwise it is higher or lower, which becomes "better" or
"worse" when the indicator has a direction (``low_is_good`` True / False). Used for the
``vs_rest_of_*`` columns of the indicator table, where the benchmark is the rest of the
comparator area **excluding** the unit itself.

Example usage::

    from clusterqi.stats import compare
    compare(0.31, 0.28, 0.34, benchmark=0.25, low_is_good=True)        # "worse"
    compare(values, lowers, uppers, benchmark=0.25, low_is_good=None)  # Series of higher/similar/lower
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from clusterqi.stats.inputs import as_array, broadcast, result_index

__all__ = ["SIMILAR", "compare"]

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
