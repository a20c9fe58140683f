"""Confidence intervals for proportions, counts, rates and means.

Methods follow PHEindicatormethods (UKHSA), the package Fingertips and most UK public-health
teams use, and match its published test values (``../shared/reference/cases.csv``):

- proportions: Wilson score interval (Wilson 1927; Newcombe & Altman 2000);
- counts: Byar's approximation (Breslow & Day 1987) or the exact Poisson interval via gamma
  (equivalently chi-square) quantiles (Ulm 1990);
- crude rates: exact Poisson below :data:`MIN_EVENTS_FOR_BYARS` events, Byar's from there on;
- means: Student's t.

All functions are vectorised: give scalars, lists, numpy arrays or pandas Series; the result is a
DataFrame with one row per input (index kept from a Series). NaN in gives NaN out. ``confidence``
is a fraction in [0.9, 1).

Example usage::

    from clusterqi.stats import wilson_ci, rate_ci
    wilson_ci([65, 1045], [100, 5000])            # value, lower, upper
    rate_ci(222, 3215, multiplier=100)            # value 6.905, method "Byars"
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from clusterqi.stats.inputs import (
    as_array,
    broadcast,
    check_confidence,
    check_non_negative,
    check_not_above,
    check_positive,
    result_index,
    z_for,
)

__all__ = [
    "MIN_EVENTS_FOR_BYARS",
    "METHOD_BYARS",
    "METHOD_EXACT",
    "wilson_ci",
    "byars_ci",
    "poisson_exact_ci",
    "rate_ci",
    "mean_ci",
]

#: Below this many events counts and rates use the exact Poisson interval (PHEindicatormethods).
MIN_EVENTS_FOR_BYARS = 10
#: ``method`` labels, spelt as PHEindicatormethods prints them.
METHOD_BYARS = "Byars"
METHOD_EXACT = "Exact"


def _frame(columns: dict[str, Any], index: pd.Index | None) -> pd.DataFrame:
    return pd.DataFrame(columns, index=index)


def _wilson_bounds(x: np.ndarray, n: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = 2 * x + z**2
        spread = z * np.sqrt(z**2 + 4 * x * (1 - x / n))
        denom = 2 * (n + z**2)
        lower = (centre - spread) / denom
        upper = (centre + spread) / denom
    # At x = 0 and x = n the formula gives exactly 0 and 1 in exact arithmetic; pin them so
    # rounding never puts a limit on the wrong side of the value.
    lower = np.where((x == 0) & (n > 0), 0.0, np.clip(lower, 0, 1))
    upper = np.where(x == n, 1.0, np.clip(upper, 0, 1))
    return lower, upper


def wilson_ci(numerator: Any, denominator: Any, confidence: float = 0.95) -> pd.DataFrame:
    """Wilson score confidence interval for a proportion.

    ``value = numerator / denominator`` (0..1) and
    ``lower, upper = (2x + z^2 -/+ z sqrt(z^2 + 4x(1 - x/n))) / (2(n + z^2))`` with
    ``z`` the two-sided normal quantile for ``confidence``.

    Constraints: ``0 <= numerator <= denominator``, ``denominator > 0``; NaN in gives NaN out.

    Returns a DataFrame with columns ``value, lower, upper`` (proportions 0..1), one row per input.

    Reference: Wilson EB (1927) J Am Stat Assoc 22:209-212; Newcombe RG, Altman DG (2000)
    Proportions and their differences, in Statistics with confidence; as PHEindicatormethods
    ``phe_proportion`` / ``wilson_lower`` / ``wilson_upper``.

    Example usage::

        wilson_ci(65, 100)   # value 0.65, lower 0.5525, upper 0.7364
    """
    level = check_confidence(confidence)
    x = as_array(numerator, "numerator")
    n = as_array(denominator, "denominator")
    x, n = broadcast(numerator=x, denominator=n)
    check_non_negative(x, "numerator")
    check_positive(n, "denominator")
    check_not_above(x, n, ("numerator", "denominator"))
    lower, upper = _wilson_bounds(x, n, z_for(level))
    with np.errstate(invalid="ignore", divide="ignore"):
        value = x / n
    return _frame({"value": value, "lower": lower, "upper": upper},
                  result_index(numerator, denominator))


def _byars(x: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(invalid="ignore", divide="ignore"):
        lower = x * (1 - 1 / (9 * x) - z / (3 * np.sqrt(x))) ** 3
        upper = (x + 1) * (1 - 1 / (9 * (x + 1)) + z / (3 * np.sqrt(x + 1))) ** 3
    # Byar's lower limit is undefined at 0 and can dip below 0 for tiny counts at high
    # confidence: a count's lower limit is never below 0.
    lower = np.where(x == 0, 0.0, np.maximum(lower, 0.0))
    return np.where(np.isnan(x), np.nan, lower), upper


def byars_ci(count: Any, confidence: float = 0.95) -> pd.DataFrame:
    """Byar's approximate confidence interval for a Poisson count.

    ``lower = x (1 - 1/(9x) - z/(3 sqrt x))^3``, ``upper = (x+1) (1 - 1/(9(x+1)) + z/(3 sqrt(x+1)))^3``.
    Accurate from about 10 events; below that prefer :func:`poisson_exact_ci` (as
    :func:`rate_ci` does). The lower limit is 0 for a count of 0 and never negative.

    Constraints: ``count >= 0``; NaN in gives NaN out.

    Returns a DataFrame with columns ``lower, upper`` (counts), one row per input.

    Reference: Breslow NE, Day NE (1987) Statistical methods in cancer research vol II, IARC;
    as PHEindicatormethods ``byars_lower`` / ``byars_upper``.

    Example usage::

        byars_ci(65)   # lower 50.16, upper 82.85
    """
    level = check_confidence(confidence)
    x = as_array(count, "count")
    check_non_negative(x, "count")
    lower, upper = _byars(x, z_for(level))
    return _frame({"lower": lower, "upper": upper}, result_index(count))


def _exact(x: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    alpha = 1 - level
    with np.errstate(invalid="ignore"):
        lower = np.where(x > 0, sps.gamma.ppf(alpha / 2, np.where(x > 0, x, 1)), 0.0)
        upper = sps.gamma.ppf(1 - alpha / 2, x + 1)
    return np.where(np.isnan(x), np.nan, lower), upper


def poisson_exact_ci(count: Any, confidence: float = 0.95) -> pd.DataFrame:
    """Exact (Garwood) confidence interval for a Poisson count.

    ``lower = Gamma^-1(alpha/2; x)`` (0 when x = 0) and ``upper = Gamma^-1(1 - alpha/2; x + 1)``,
    the same as ``qchisq(alpha/2, 2x)/2`` and ``qchisq(1 - alpha/2, 2x + 2)/2``.

    Constraints: ``count >= 0``; NaN in gives NaN out.

    Returns a DataFrame with columns ``lower, upper`` (counts), one row per input.

    Reference: Garwood F (1936) Biometrika 28:437-442; Ulm K (1990) Am J Epidemiol 131:373-375;
    as PHEindicatormethods ``phe_rate`` for counts below 10.

    Example usage::

        poisson_exact_ci(1)   # lower 0.0253, upper 5.572
    """
    level = check_confidence(confidence)
    x = as_array(count, "count")
    check_non_negative(x, "count")
    lower, upper = _exact(x, level)
    return _frame({"lower": lower, "upper": upper}, result_index(count))


def _count_limits(x: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact limits below MIN_EVENTS_FOR_BYARS, Byar's from there; plus the method label."""
    exact_lower, exact_upper = _exact(x, level)
    byars_lower, byars_upper = _byars(x, z_for(level))
    use_exact = x < MIN_EVENTS_FOR_BYARS
    lower = np.where(use_exact, exact_lower, byars_lower)
    upper = np.where(use_exact, exact_upper, byars_upper)
    method = np.where(np.isnan(x), None, np.where(use_exact, METHOD_EXACT, METHOD_BYARS))
    return lower, upper, method


def rate_ci(numerator: Any, denominator: Any, multiplier: float = 1,
            confidence: float = 0.95) -> pd.DataFrame:
    """Crude rate with a confidence interval: exact Poisson below 10 events, Byar's from 10.

    ``value = numerator / denominator x multiplier``; the count's limits (see
    :func:`poisson_exact_ci`, :func:`byars_ci`) are divided by the denominator and multiplied
    by ``multiplier`` (e.g. 1000 for "per 1,000 patients").

    Constraints: ``numerator >= 0``, ``denominator > 0``; NaN in gives NaN out.

    Returns a DataFrame with columns ``value, lower, upper, method`` (method "Exact" or
    "Byars"), one row per input.

    Reference: PHEindicatormethods ``phe_rate`` (Byar's: Breslow & Day 1987; exact: Ulm 1990).

    Example usage::

        rate_ci(222, 3215, multiplier=100)   # 6.905 (6.027 to 7.876), "Byars"
    """
    level = check_confidence(confidence)
    x = as_array(numerator, "numerator")
    n = as_array(denominator, "denominator")
    x, n = broadcast(numerator=x, denominator=n)
    check_non_negative(x, "numerator")
    check_positive(n, "denominator")
    lower, upper, method = _count_limits(x, level)
    scale = multiplier / n
    return _frame(
        {"value": x * scale, "lower": lower * scale, "upper": upper * scale, "method": method},
        result_index(numerator, denominator),
    )


def mean_ci(values: Any, confidence: float = 0.95) -> pd.DataFrame:
    """Mean of ``values`` with a Student's t confidence interval.

    ``value = mean(x)``, ``lower, upper = mean -/+ t(1 - alpha/2; n - 1) sd / sqrt(n)``.
    Needs at least 2 values; a NaN among the values gives a NaN row (NaN in gives NaN out).

    Returns a one-row DataFrame with columns ``value, lower, upper``.

    Reference: Student (1908) Biometrika 6:1-25; as PHEindicatormethods ``phe_mean``.

    Example usage::

        mean_ci([2.0, 4.0, 6.0])   # value 4, lower -0.97, upper 8.97
    """
    level = check_confidence(confidence)
    x = as_array(values, "values")
    if x.size < 2 or np.isnan(x).any():
        return pd.DataFrame({"value": [np.nan if x.size == 0 or np.isnan(x).any() else x.mean()],
                             "lower": [np.nan], "upper": [np.nan]})
    mean = float(x.mean())
    half = float(sps.t.ppf(0.5 + level / 2, x.size - 1)) * float(x.std(ddof=1)) / np.sqrt(x.size)
    return pd.DataFrame({"value": [mean], "lower": [mean - half], "upper": [mean + half]})
