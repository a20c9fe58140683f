"""Age-sex standardisation: directly standardised rates (DSR) and indirectly standardised ratios (ISR).

These serve local measures that come with age-sex breakdowns (PHS prescribing files have no age
or sex, so prescribing indicators use crude rates). Methods follow PHEindicatormethods.

Example usage::

    from clusterqi.stats import dsr, isr
    dsr(counts_by_band, population_by_band, ESP2013)      # one row: value, lower, upper, method
    isr(observed=[895], expected=[835.88])                 # ratio 1.071 (1.002 to 1.143), Byars
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from clusterqi.stats.inputs import (
    as_array,
    broadcast,
    check_confidence,
    check_non_negative,
    check_positive,
    result_index,
    z_for,
)
from clusterqi.stats.intervals import _byars, _count_limits

__all__ = ["DSR_MIN_COUNT", "METHOD_DOBSON", "METHOD_DSR_SUPPRESSED", "dsr", "isr"]

#: PHEindicatormethods does not calculate a DSR when the total count is below this.
DSR_MIN_COUNT = 10
#: ``method`` label of a calculated DSR.
METHOD_DOBSON = "Dobson"
#: ``method`` note when the total count is too small (wording as PHEindicatormethods).
METHOD_DSR_SUPPRESSED = "dsr NA for total count < 10"


def dsr(counts: Any, populations: Any, standard_populations: Any, multiplier: float = 100_000,
        confidence: float = 0.95) -> pd.DataFrame:
    """Directly standardised rate with Dobson confidence limits (one area, one row).

    Give one value per standardisation category (e.g. 19 age bands), all three in the same order.
    ``value = sum(w_i c_i / p_i) / sum(w_i) x multiplier`` with ``w`` the standard population.
    Limits (Dobson et al. 1991): with ``O = sum(c_i)`` and
    ``var = sum(w_i^2 c_i / p_i^2) / sum(w_i)^2``,
    ``limit = value + sqrt(var / O) (O_limit - O) x multiplier``, where ``O_limit`` are Byar's
    limits for the total count ``O``.

    Constraints: counts >= 0, populations > 0, standard populations >= 0 with a positive total;
    equal lengths. When the total count is below :data:`DSR_MIN_COUNT` the value and limits are
    NaN and ``method`` says why. NaN anywhere in the inputs gives a NaN row.

    Returns a one-row DataFrame with columns ``value, lower, upper, method``.

    Reference: Dobson AJ et al. (1991) Confidence intervals for weighted sums of Poisson
    parameters, Stat Med 10:457-462; Byar's limits: Breslow & Day (1987); as PHEindicatormethods
    ``phe_dsr``.

    Example usage::

        dsr([127, 25, ...], [636, 558, ...], esp2013, confidence=0.998)
    """
    level = check_confidence(confidence)
    c = as_array(counts, "counts")
    p = as_array(populations, "populations")
    w = as_array(standard_populations, "standard_populations")
    if not (c.size == p.size == w.size):
        raise ValueError(
            f"counts ({c.size}), populations ({p.size}) and standard_populations ({w.size}) "
            "must have one value per standardisation category each"
        )
    check_non_negative(c, "counts")
    check_positive(p, "populations")
    check_non_negative(w, "standard_populations")
    if np.isnan(c).any() or np.isnan(p).any() or np.isnan(w).any():
        return pd.DataFrame({"value": [np.nan], "lower": [np.nan], "upper": [np.nan],
                             "method": [None]})
    if w.sum() <= 0:
        raise ValueError("standard_populations: the total is 0; expected a positive total")
    total = float(c.sum())
    if total < DSR_MIN_COUNT:
        return pd.DataFrame({"value": [np.nan], "lower": [np.nan], "upper": [np.nan],
                             "method": [METHOD_DSR_SUPPRESSED]})
    value = float(np.sum(w * c / p) / w.sum())
    variance = float(np.sum(c * (w / p) ** 2) / w.sum() ** 2)
    o_lower, o_upper = _byars(np.array([total]), z_for(level))
    scale = np.sqrt(variance / total)
    return pd.DataFrame({
        "value": [value * multiplier],
        "lower": [(value + scale * (o_lower[0] - total)) * multiplier],
        "upper": [(value + scale * (o_upper[0] - total)) * multiplier],
        "method": [METHOD_DOBSON],
    })


def isr(observed: Any, expected: Any, confidence: float = 0.95) -> pd.DataFrame:
    """Indirectly standardised ratio (observed / expected) with confidence limits.

    ``expected`` is the sum over categories of the unit's population times the reference
    (e.g. Scotland) rate for that category. ``value = O / E``; the limits are the count's limits
    divided by ``E``: exact Poisson below 10 observed events, Byar's from 10 (see
    :func:`clusterqi.stats.rate_ci`). Multiply by 100 for an SMR-style figure.

    Constraints: ``observed >= 0``, ``expected > 0``; NaN in gives NaN out.

    Returns a DataFrame with columns ``value, lower, upper, method`` ("Exact" or "Byars"), one
    row per input.

    Reference: Breslow & Day (1987); Ulm (1990); as PHEindicatormethods ``phe_isr`` /
    ``calculate_ISRatio``.

    Example usage::

        isr(895, 835.88356123117433)   # 1.0707 (1.0017 to 1.1432), "Byars"
    """
    level = check_confidence(confidence)
    o = as_array(observed, "observed")
    e = as_array(expected, "expected")
    o, e = broadcast(observed=o, expected=e)
    check_non_negative(o, "observed")
    check_positive(e, "expected")
    lower, upper, method = _count_limits(o, level)
    return pd.DataFrame(
        {"value": o / e, "lower": lower / e, "upper": upper / e, "method": method},
        index=result_index(observed, expected),
    )
