"""Funnel plot limits, over-dispersion and reliability.

A funnel plot puts each unit (practice or cluster) at its size on the x axis and its value on
the y axis, with 95% and 99.8% control limits around the Scotland value that narrow as size
grows. Two kinds of indicator are handled:

- **proportions** (numerator / denominator, both counts): limits by inverting the Wilson score
  interval around ``sum(numerators) / sum(denominators)``, as PHEindicatormethods
  ``phe_funnels``;
- **ratios** (observed / expected, used for rates: expected = denominator x Scotland rate):
  exact Poisson limits around the target (1), as FunnelPlotR's unadjusted limits for
  standardised ratios ("SR").

With ~900 practices, real between-practice variation makes far more than 5% of units fall
outside the 95% limits. :func:`overdispersion` estimates it from **all Scottish units** (a
cluster's 4-8 points cannot) with FunnelPlotR's method: z-scores on a variance-stabilising scale
(arcsine square root for proportions, square root for ratios: Spiegelhalter 2005 / CQC),
winsorised at ``trim`` in each tail, ``phi = sum(z^2) / n`` and the DerSimonian-Laird additive
random-effects variance ``tau2 = (n phi - (n - 1)) / (sum(w) - sum(w^2) / sum(w))``, ``w = 1/s^2``
(0 when ``phi <= 1``). Adjusted limits are ``target +/- z sqrt(s^2 + tau2)`` on that scale,
transformed back.

Why one module of this size: proportion and ratio funnels, the over-dispersion fit (winsorised
DerSimonian-Laird) and the flags share one model object (:class:`Overdispersion`), validated
together against FunnelPlotR.

Example usage::

    from clusterqi.stats import funnel_limits_proportion, overdispersion
    limits = funnel_limits_proportion(num, den, sizes=[100, 1000, 10000], multiplier=100)
    od = overdispersion(num, den, kind="proportion")
    od.phi, od.tau2
    od.limits([100, 1000, 10000], multiplier=100)        # adjusted 95% / 99.8% limits
    od.flag(num, den)                                    # funnel_95, funnel_998, *_unadjusted
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from clusterqi.stats.inputs import (
    as_array,
    broadcast,
    check_non_negative,
    check_not_above,
    check_positive,
    result_index,
    z_for,
)

__all__ = [
    "FUNNEL_LEVELS",
    "Z_95",
    "Z_998",
    "DEFAULT_TRIM",
    "KINDS",
    "Overdispersion",
    "funnel_limits_proportion",
    "funnel_limits_ratio",
    "overdispersion",
    "reliability",
]

#: The two funnel limits, by the suffix used in column names.
FUNNEL_LEVELS = {"95": 0.95, "998": 0.998}
#: Two-sided normal quantiles for the funnel limits (1.959964, 3.090232).
Z_95 = z_for(FUNNEL_LEVELS["95"])
Z_998 = z_for(FUNNEL_LEVELS["998"])
#: Share of z-scores winsorised in each tail before estimating phi (FunnelPlotR default).
DEFAULT_TRIM = 0.1
#: The two kinds of indicator a funnel handles.
KINDS = ("proportion", "ratio")
_LIMIT_COLUMNS = [f"{side}_{suffix}" for suffix in FUNNEL_LEVELS for side in ("lower", "upper")]
_ZS = {"95": Z_95, "998": Z_998}


def _sizes(sizes: Any, name: str = "sizes") -> np.ndarray:
    arr = as_array(sizes, name)
    check_positive(arr, name)
    return arr


def _proportion_limits(sizes: np.ndarray, baseline: float, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson inversion: the proportions whose Wilson interval at ``size`` just reaches ``baseline``.

    Solving ``wilson_upper(x, n) = p0`` (and ``wilson_lower(x, n) = p0``) for ``x / n`` gives
    ``p0 -/+ z sqrt(p0 (1 - p0) / n)`` exactly (the score test's acceptance region), which is
    what PHEindicatormethods' closed form (``sigma_adjustment``) evaluates. Clipped to [0, 1].
    """
    half = z * np.sqrt(baseline * (1 - baseline) / sizes)
    return np.clip(baseline - half, 0, 1), np.clip(baseline + half, 0, 1)


def _ratio_limits(expected: np.ndarray, target: float, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact Poisson limits for O/E at expected count E: chi-square quantiles over 2E."""
    alpha = 1 - level
    lower = target * sps.chi2.ppf(alpha / 2, 2 * expected) / (2 * expected)
    upper = target * sps.chi2.ppf(1 - alpha / 2, 2 * (expected + 1)) / (2 * expected)
    return lower, upper


def _pooled_proportion(numerators: Any, denominators: Any) -> tuple[np.ndarray, np.ndarray, float]:
    x = as_array(numerators, "numerators")
    n = as_array(denominators, "denominators")
    x, n = broadcast(numerators=x, denominators=n)
    check_non_negative(x, "numerators")
    check_positive(n, "denominators")
    check_not_above(x, n, ("numerators", "denominators"))
    keep = ~(np.isnan(x) | np.isnan(n))
    if not keep.any():
        raise ValueError("numerators/denominators: no unit has both values; cannot set a baseline")
    return x, n, float(x[keep].sum() / n[keep].sum())


def funnel_limits_proportion(numerators: Any, denominators: Any, sizes: Any,
                             multiplier: float = 1) -> pd.DataFrame:
    """95% and 99.8% funnel limits for a proportion, at the given sizes.

    The baseline is ``sum(numerators) / sum(denominators)`` over the units given (for a
    Scotland funnel: all Scottish practices or clusters). At each size ``n`` the limits are the
    proportions whose Wilson score interval just reaches the baseline, which works out as
    ``p0 -/+ z sqrt(p0 (1 - p0) / n)``, clipped to [0, 1]; all values are then multiplied by
    ``multiplier`` (100 for percentages). Units with a missing numerator or denominator are left
    out of the baseline.

    Returns a DataFrame with columns ``size, baseline, lower_95, upper_95, lower_998, upper_998``,
    one row per size.

    Reference: PHEindicatormethods ``phe_funnels`` / ``calculate_funnel_limits`` (statistic
    "proportion") and the Fingertips technical guidance; Spiegelhalter (2005) Funnel plots for
    comparing institutional performance, Stat Med 24:1185-1202.

    Example usage::

        funnel_limits_proportion(num, den, sizes=[125], multiplier=100)
        # lower_95 73.716, upper_95 87.569, lower_998 69.722, upper_998 91.563
    """
    _, _, baseline = _pooled_proportion(numerators, denominators)
    n = _sizes(sizes)
    columns: dict[str, Any] = {"size": n, "baseline": np.full(n.size, baseline * multiplier)}
    for suffix, z in _ZS.items():
        lower, upper = _proportion_limits(n, baseline, z)
        columns[f"lower_{suffix}"] = lower * multiplier
        columns[f"upper_{suffix}"] = upper * multiplier
    return pd.DataFrame(columns, index=result_index(sizes))


def funnel_limits_ratio(expected: Any, target: float = 1.0) -> pd.DataFrame:
    """95% and 99.8% exact Poisson funnel limits for a ratio observed / expected.

    At expected count ``E``: ``lower = target x chi2(alpha/2; 2E) / 2E`` and
    ``upper = target x chi2(1 - alpha/2; 2E + 2) / 2E`` (alpha = 0.05 and 0.002). Use for
    standardised ratios and for rates (expected = denominator x Scotland rate, so a unit's rate
    limit is the ratio limit times the Scotland rate).

    Constraints: ``expected > 0``.

    Returns a DataFrame with columns ``expected, lower_95, upper_95, lower_998, upper_998`` (ratio
    scale), one row per expected value.

    Reference: FunnelPlotR unadjusted limits for standardised ratios (``data_type = "SR"``);
    Spiegelhalter (2005) Stat Med 24:1185-1202.

    Example usage::

        funnel_limits_ratio([15, 20, 30])   # lower_95 0.5597, 0.6108, 0.6747
    """
    e = _sizes(expected, "expected")
    columns: dict[str, Any] = {"expected": e}
    for suffix, level in FUNNEL_LEVELS.items():
        lower, upper = _ratio_limits(e, float(target), level)
        columns[f"lower_{suffix}"] = lower
        columns[f"upper_{suffix}"] = upper
    return pd.DataFrame(columns, index=result_index(expected))


def _transform(kind: str, numerators: np.ndarray, denominators: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        if kind == "proportion":
            return np.arcsin(np.sqrt(numerators / denominators))
        return np.sqrt(numerators / denominators)


def _transform_baseline(kind: str, baseline: float) -> float:
    return float(np.arcsin(np.sqrt(baseline)) if kind == "proportion" else np.sqrt(baseline))


def _within_se(denominators: np.ndarray) -> np.ndarray:
    """Standard error on the transformed scale: 1 / (2 sqrt(n)) for both kinds."""
    return 1 / (2 * np.sqrt(denominators))


@dataclass(frozen=True)
class Overdispersion:
    """Over-dispersion of a funnel, estimated from all units at one level (see :func:`overdispersion`).

    Fields: ``kind`` ("proportion" | "ratio"), ``phi`` (dispersion ratio of the winsorised
    z-scores; > 1 means more spread than chance), ``tau2`` (between-unit variance on the
    transformed scale; 0 means no adjustment), ``n`` (units used), ``baseline`` (proportion
    0..1 or the ratio target), ``trim``.

    Scales: proportions are compared on ``arcsin(sqrt(p))`` and ratios on ``sqrt(O/E)``, both with
    within-unit standard error ``1 / (2 sqrt(size))``; every limit this object returns is
    transformed back to the **original scale** (a proportion 0..1, or a ratio O/E), times
    ``multiplier``. When ``tau2 == 0`` the "adjusted" limits are the unadjusted ones (Wilson
    inversion for proportions, exact Poisson for ratios), as FunnelPlotR draws them.

    Example usage::

        od = overdispersion(num, den, kind="proportion")
        od.limits([500, 5000])             # size, baseline, lower_95 ... upper_998, adjusted
        od.flag(num, den)                  # funnel_95, funnel_998, funnel_95_unadjusted, ...
        od.z_scores(num, den)              # adjusted z-scores
    """

    kind: str
    phi: float
    tau2: float
    n: int
    baseline: float
    trim: float = DEFAULT_TRIM

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind: {self.kind!r}; expected one of {', '.join(KINDS)}")
        if not (self.tau2 >= 0) or not (self.phi >= 0):
            raise ValueError(f"phi {self.phi!r} and tau2 {self.tau2!r} must be >= 0")
        if not (0 <= self.trim < 0.5):
            raise ValueError(f"trim: {self.trim!r}; expected a share in [0, 0.5)")

    @property
    def adjusted(self) -> bool:
        """True when the limits are widened for over-dispersion (``tau2 > 0``)."""
        return self.tau2 > 0

    def _unadjusted(self, sizes: np.ndarray, baseline: float, suffix: str):
        if self.kind == "proportion":
            return _proportion_limits(sizes, baseline, _ZS[suffix])
        return _ratio_limits(sizes, baseline, FUNNEL_LEVELS[suffix])

    def _adjusted(self, sizes: np.ndarray, baseline: float, suffix: str):
        if not self.adjusted:
            return self._unadjusted(sizes, baseline, suffix)
        centre = _transform_baseline(self.kind, baseline)
        half = _ZS[suffix] * np.sqrt(_within_se(sizes) ** 2 + self.tau2)
        low, high = centre - half, centre + half
        if self.kind == "proportion":
            return (np.sin(np.clip(low, 0, np.pi / 2)) ** 2, np.sin(np.clip(high, 0, np.pi / 2)) ** 2)
        return np.maximum(low, 0) ** 2, high**2

    def limits(self, sizes: Any, baseline: float | None = None, multiplier: float = 1,
               adjusted: bool = True) -> pd.DataFrame:
        """Funnel limits at ``sizes`` (denominators, or expected counts for ratios).

        ``baseline`` defaults to the estimate's own (proportion 0..1, or ratio target). Returns
        a DataFrame with columns ``size, baseline, lower_95, upper_95, lower_998, upper_998,
        adjusted`` on the original scale times ``multiplier``; ``adjusted`` is True where the
        limits include ``tau2``.
        """
        n = _sizes(sizes)
        base = self.baseline if baseline is None else float(baseline)
        columns: dict[str, Any] = {"size": n, "baseline": np.full(n.size, base * multiplier)}
        for suffix in FUNNEL_LEVELS:
            pick = self._adjusted if adjusted else self._unadjusted
            lower, upper = pick(n, base, suffix)
            columns[f"lower_{suffix}"] = lower * multiplier
            columns[f"upper_{suffix}"] = upper * multiplier
        columns["adjusted"] = np.full(n.size, bool(adjusted and self.adjusted))
        return pd.DataFrame(columns, index=result_index(sizes))

    def z_scores(self, numerators: Any, denominators: Any, baseline: float | None = None,
                 adjusted: bool = True) -> pd.Series:
        """Each unit's z-score on the transformed scale, ``(y - target) / sqrt(s^2 + tau2)``.

        With ``adjusted=False`` tau2 is left out. Returns a float Series named ``z``.
        """
        x, n = _unit_arrays(self.kind, numerators, denominators)
        base = self.baseline if baseline is None else float(baseline)
        variance = _within_se(n) ** 2 + (self.tau2 if adjusted else 0.0)
        z = (_transform(self.kind, x, n) - _transform_baseline(self.kind, base)) / np.sqrt(variance)
        return pd.Series(z, index=result_index(numerators, denominators), name="z")

    def flag(self, numerators: Any, denominators: Any, baseline: float | None = None) -> pd.DataFrame:
        """Place each unit against the funnel: "high", "low" or "within" (None when missing).

        A unit is "high" when its value is above the upper limit at its own size, "low" below
        the lower limit. Returns a DataFrame with columns ``funnel_95, funnel_998`` (adjusted for
        over-dispersion) and ``funnel_95_unadjusted, funnel_998_unadjusted``, one row per unit;
        column names as in the indicator table (docs/architecture.md).
        """
        x, n = _unit_arrays(self.kind, numerators, denominators)
        base = self.baseline if baseline is None else float(baseline)
        with np.errstate(invalid="ignore", divide="ignore"):
            value = x / n
        missing = np.isnan(value)
        safe_n = np.where(np.isnan(n), 1.0, n)
        columns = {}
        for label, pick in (("", self._adjusted), ("_unadjusted", self._unadjusted)):
            for suffix in FUNNEL_LEVELS:
                lower, upper = pick(safe_n, base, suffix)
                placed = np.where(value > upper, "high", np.where(value < lower, "low", "within"))
                columns[f"funnel_{suffix}{label}"] = pd.Series(
                    np.where(missing, None, placed), dtype="str")
        frame = pd.DataFrame(columns)
        index = result_index(numerators, denominators)
        if index is not None:
            frame.index = index
        return frame


def _unit_arrays(kind: str, numerators: Any, denominators: Any) -> tuple[np.ndarray, np.ndarray]:
    if kind == "proportion":
        x, n, _ = _pooled_proportion(numerators, denominators)
        return x, n
    o = as_array(numerators, "numerators")
    e = as_array(denominators, "denominators")
    o, e = broadcast(numerators=o, denominators=e)
    check_non_negative(o, "numerators")
    check_positive(e, "denominators")
    return o, e


def overdispersion(numerators: Any, denominators: Any, kind: str = "proportion",
                   trim: float = DEFAULT_TRIM, target: float = 1.0) -> Overdispersion:
    """Estimate over-dispersion (phi, tau2) of a funnel from all units at one level.

    ``kind="proportion"``: numerators and denominators are counts; the baseline is
    ``sum(numerators) / sum(denominators)``; z-scores are ``(asin(sqrt(p)) - asin(sqrt(p0))) /
    s`` with ``s = 1 / (2 sqrt(n))``.
    ``kind="ratio"``: numerators are observed counts, denominators expected counts (for a rate:
    denominator x Scotland rate); the baseline is ``target`` (1); z-scores are
    ``(sqrt(O/E) - sqrt(target)) / s`` with ``s = 1 / (2 sqrt(E))`` (FunnelPlotR's square-root
    "CQC" method, the one that winsorises).

    Then: winsorise the z-scores at the ``trim`` and ``1 - trim`` quantiles (R's default type-7
    quantiles), ``phi = sum(z_w^2) / n``; if ``phi <= 1`` (or fewer than 2 units) ``tau2 = 0``,
    else ``tau2 = max(0, (n phi - (n - 1)) / (sum(w) - sum(w^2) / sum(w)))`` with ``w = 1/s^2``
    (DerSimonian-Laird). Units with a missing value are left out. Identical units give
    ``phi = 0``.

    Returns an :class:`Overdispersion` (frozen dataclass) with ``phi, tau2, n, kind, baseline,
    trim`` and methods ``limits``, ``z_scores`` and ``flag``.

    Reference: FunnelPlotR (``transformed_zscore``, ``winsorisation``, ``phi_func``,
    ``tau_func``); Spiegelhalter DJ (2005) Handling over-dispersion of performance indicators,
    Qual Saf Health Care 14:347-351; Spiegelhalter et al. (2012) J R Stat Soc A 175:1-47;
    DerSimonian R, Laird N (1986) Control Clin Trials 7:177-188.

    Example usage::

        od = overdispersion(practice_items, practice_total_items, kind="proportion")
        od.phi, od.tau2
    """
    if kind not in KINDS:
        raise ValueError(f"kind: {kind!r}; expected one of {', '.join(KINDS)}")
    if not (0 <= trim < 0.5):
        raise ValueError(f"trim: {trim!r}; expected a share in [0, 0.5), e.g. 0.1")
    x, n = _unit_arrays(kind, numerators, denominators)
    if kind == "proportion":
        keep = ~(np.isnan(x) | np.isnan(n))
        baseline = float(x[keep].sum() / n[keep].sum())
    else:
        if not float(target) > 0:
            raise ValueError(f"target: {target!r}; expected a ratio > 0 (usually 1)")
        baseline = float(target)
    z = (_transform(kind, x, n) - _transform_baseline(kind, baseline)) / _within_se(n)
    keep = ~np.isnan(z)
    z, n_kept = z[keep], n[keep]
    count = int(z.size)
    if count == 0:
        return Overdispersion(kind=kind, phi=0.0, tau2=0.0, n=0, baseline=baseline, trim=trim)
    low, high = np.quantile(z, [trim, 1 - trim])
    winsorised = np.clip(z, low, high)
    phi = float(np.sum(winsorised**2) / count)
    tau2 = 0.0
    if phi > 1 and count >= 2:
        w = 1 / _within_se(n_kept) ** 2
        spread = w.sum() - np.sum(w**2) / w.sum()
        if spread > 0:
            tau2 = max(0.0, float((count * phi - (count - 1)) / spread))
    return Overdispersion(kind=kind, phi=phi, tau2=tau2, n=count, baseline=baseline, trim=trim)


def reliability(numerators: Any, denominators: Any, kind: str = "proportion",
                dispersion: Overdispersion | None = None, trim: float = DEFAULT_TRIM) -> pd.DataFrame:
    """Per-unit reliability: the share of a unit's variation that is signal, ``tau2 / (tau2 + s_i^2)``.

    ``s_i^2 = 1 / (4 n_i)`` is the unit's within-unit variance on the transformed scale (``n_i``
    its denominator, or expected count for ratios). Pass ``dispersion`` estimated from all
    Scottish units to score a cluster's practices; otherwise it is estimated from the units
    given. 0 when there is no over-dispersion (tau2 = 0): differences are then all noise.

    Returns a DataFrame with one column ``reliability`` (0..1), one row per unit.

    Reference: Spiegelhalter et al. (2012) J R Stat Soc A 175:1-47 (reliability of a unit's
    estimate under an additive random-effects model); tau2 as :func:`overdispersion`.

    Example usage::

        od = overdispersion(all_num, all_den)
        reliability(cluster_num, cluster_den, dispersion=od)
    """
    if dispersion is None:
        dispersion = overdispersion(numerators, denominators, kind=kind, trim=trim)
    _, n = _unit_arrays(dispersion.kind, numerators, denominators)
    s2 = _within_se(n) ** 2
    with np.errstate(invalid="ignore"):
        share = dispersion.tau2 / (dispersion.tau2 + s2)
    return pd.DataFrame({"reliability": share}, index=result_index(numerators, denominators))
