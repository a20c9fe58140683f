"""Input handling shared by the statistics: array coercion, argument checks, z from confidence.

Every public function in :mod:`clusterqi.stats` accepts scalars or array-likes (lists, numpy
arrays, pandas Series). These helpers turn them into float arrays, keep a pandas index when one
was given (so results line up with the caller's table), and raise ``ValueError`` messages that
name the argument, the offending value and what was expected.

Example usage::

    x = as_array(numerators, "numerator")
    check_confidence(0.95)
    z = z_for(0.95)   # 1.959964...
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

__all__ = [
    "CONFIDENCE_MIN",
    "CONFIDENCE_MAX",
    "as_array",
    "broadcast",
    "check_confidence",
    "check_non_negative",
    "check_positive",
    "check_not_above",
    "result_index",
    "z_for",
]

#: Smallest confidence level accepted (as PHEindicatormethods: 0.9).
CONFIDENCE_MIN = 0.9
#: Confidence must be strictly below this (a 100% interval is unbounded).
CONFIDENCE_MAX = 1.0


def as_array(value: Any, name: str) -> np.ndarray:
    """Return ``value`` as a 1-d float array (a scalar becomes length 1); ``None`` becomes NaN."""
    if isinstance(value, (pd.Series, pd.Index)):
        value = value.to_numpy(dtype=float, na_value=np.nan)
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected numbers, got {value!r}") from exc
    if arr.ndim > 1:
        raise ValueError(f"{name}: expected a scalar or a 1-d array, got shape {arr.shape}")
    return arr.reshape(-1)


def result_index(*values: Any) -> pd.Index | None:
    """The index of the first pandas Series among ``values`` (so outputs align), else None."""
    for value in values:
        if isinstance(value, pd.Series):
            return value.index
    return None


def broadcast(**arrays: np.ndarray) -> list[np.ndarray]:
    """Broadcast named 1-d arrays to one length; length-1 arrays stretch, others must agree."""
    lengths = {name: arr.size for name, arr in arrays.items() if arr.size != 1}
    if len(set(lengths.values())) > 1:
        described = ", ".join(f"{name} has {size}" for name, size in lengths.items())
        raise ValueError(f"arguments must have the same length (or be scalars): {described}")
    size = next(iter(lengths.values()), 1)
    return [np.broadcast_to(arr, (size,)).astype(float) for arr in arrays.values()]


def _first_bad(arr: np.ndarray, bad: np.ndarray) -> str:
    position = int(np.flatnonzero(bad)[0])
    return f"position {position} has {arr[position]!r}"


def check_confidence(confidence: Any) -> float:
    """Return ``confidence`` as a float fraction in [0.9, 1), else raise ValueError."""
    try:
        level = float(confidence)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"confidence: expected a fraction such as 0.95 or 0.998, got {confidence!r}"
        ) from exc
    if not (CONFIDENCE_MIN <= level < CONFIDENCE_MAX):
        raise ValueError(
            f"confidence: {confidence!r} is outside [{CONFIDENCE_MIN}, {CONFIDENCE_MAX}); "
            "give a fraction such as 0.95 or 0.998 (not a percentage)"
        )
    return level


def check_non_negative(arr: np.ndarray, name: str) -> None:
    """Raise ValueError if any (non-NaN) value is negative."""
    bad = arr < 0
    if bad.any():
        raise ValueError(f"{name}: {_first_bad(arr, bad)}; expected a count >= 0")


def check_positive(arr: np.ndarray, name: str) -> None:
    """Raise ValueError if any (non-NaN) value is zero or negative."""
    bad = arr <= 0
    if bad.any():
        raise ValueError(f"{name}: {_first_bad(arr, bad)}; expected a value > 0")


def check_not_above(numerator: np.ndarray, denominator: np.ndarray, names: tuple[str, str]) -> None:
    """Raise ValueError where a proportion's numerator exceeds its denominator."""
    bad = numerator > denominator
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{names[0]}: position {position} has {numerator[position]!r}, more than "
            f"{names[1]} {denominator[position]!r}; a proportion needs numerator <= denominator"
        )


def z_for(confidence: float) -> float:
    """The two-sided standard normal quantile for ``confidence`` (0.95 -> 1.959964)."""
    return float(sps.norm.ppf(0.5 + check_confidence(confidence) / 2))
