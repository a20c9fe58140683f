"""Counts: which are small enough to suppress, rounding rules and size bands.

The primitives disclosure control is built from, each a pure function of counts:
:func:`suppress_small_counts` (1 to threshold-1), :func:`suppression_counts` (the count a row's
numerator is judged on), :func:`row_counts` (every count a row releases: numerator, the
denominator where it is a count, and the complement), :func:`small_count_rows` (primary
suppression), :func:`round_counts` (OpenSAFELY's nearest-5 and midpoint-6) and :func:`size_band`
(a size shown as a band, "5,000-7,499"). Also two helpers the release steps share for editing
rows of a table in place.

**Counts a row releases.** A row shows its numerator count (``numerator_items`` where present,
else ``numerator``). A *proportion* (an indicator whose denominator is prescribing, e.g. the 4C
share of antibacterial items) also shows its denominator, an item count, and with the two the
complement (denominator - numerator: the non-4C items). A *rate*'s denominator is patient-days,
not a small count. Each count has a *spec*: the measure and code list it counts
(:func:`count_specs`, from the catalogue); two definitions counting the same codes and measure
count the same thing, so the antibacterial-items indicator's numerator and the 4C share's
denominator are one count, shown twice.

Example usage::

    suppress_small_counts([0, 1, 4, 5], threshold=5)   # [False, True, True, False]
    size_band([6487])["band"].tolist()                  # ["5,000-7,499"]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from clusterqi.disclosure.policy import (
    DEFAULT_THRESHOLD,
    ITEMS_COLUMN,
    MIDPOINT_ROUNDING_WIDTH,
    ROUNDING_MULTIPLE,
    ROUNDING_RULES,
    DisclosurePolicyError,
)

__all__ = [
    "PROPORTION",
    "RATE",
    "count_specs",
    "row_counts",
    "small_count_rows",
    "BAND_MANTISSAS",
    "BAND_MAX_EXPONENT",
    "suppress_small_counts",
    "suppression_counts",
    "round_counts",
    "size_band",
]

#: Mantissas of the size band edges above 10: 10-24, 25-49, 50-74, 75-99, 100-249, ...
BAND_MANTISSAS = (1.0, 2.5, 5.0, 7.5)


#: Largest power of ten the bands reach (patient-days of Scotland over years fit well below).
BAND_MAX_EXPONENT = 15


def suppress_small_counts(counts, threshold: int = DEFAULT_THRESHOLD) -> np.ndarray:
    """Boolean mask of counts that primary suppression hides: above 0 and below ``threshold``.

    A zero stays visible (0 is not a small number of anything); missing counts are not masked.

    Example usage::

        suppress_small_counts([0, 1, 4, 5], threshold=5)   # [False, True, True, False]
    """
    values = np.asarray(pd.to_numeric(pd.Series(counts), errors="coerce"), dtype=float)
    return (values > 0) & (values < threshold)


def suppression_counts(table: pd.DataFrame) -> pd.Series:
    """The count whose smallness suppresses a row: ``numerator_items`` where the table has it and
    the row holds a value, else ``numerator`` (an items indicator's two are equal).

    Example usage::

        suppress_small_counts(suppression_counts(table), threshold=5)
    """
    numerator = pd.to_numeric(table["numerator"], errors="coerce").astype(float)
    if ITEMS_COLUMN not in table.columns:
        return numerator
    items = pd.to_numeric(table[ITEMS_COLUMN], errors="coerce").astype(float)
    return items.where(items.notna(), numerator)


PROPORTION, RATE = "proportion", "rate"


def count_specs(indicator_ids, attrs: dict | None = None) -> dict[str, tuple[str, str | None]]:
    """Per indicator id: (numerator count spec, denominator count spec or None).

    A spec names what a count counts: ``repr(("items", code list))`` for catalogue indicators
    (the item count behind any numerator, and a proportion's denominator when it counts items),
    so two indicators counting the same codes share it. An id outside the catalogue (a local
    measure, a test table) gets specs of its own: a proportion when the table's
    ``attrs["measure"]["kind"]`` says so (local measures), else a rate (no denominator count).

    Example usage::

        specs = count_specs(["antibiotics_4c_share", "antibacterial_items_per_1000_per_day"])
        specs["antibiotics_4c_share"][1] == specs["antibacterial_items_per_1000_per_day"][0]  # True
    """
    from clusterqi.indicators import load_catalogue  # the catalogue imports much: on demand

    catalogue = load_catalogue()
    measure = (attrs or {}).get("measure") or {}
    local_kind = measure.get("kind") if isinstance(measure, dict) else None
    out: dict[str, tuple[str, str | None]] = {}
    for ind_id in indicator_ids:
        ind = catalogue.get(ind_id)
        if ind is not None:
            numerator = repr(("items", ind.numerator.bnf_codes))
            codes = getattr(ind.denominator, "bnf_codes", None)
            counts_items = ind.kind == PROPORTION and getattr(ind.denominator, "measure", None) == "items"
            out[ind_id] = (numerator, repr(("items", codes)) if counts_items else None)
        else:
            proportion = local_kind == PROPORTION and measure.get("id") in (None, ind_id)
            out[ind_id] = (f"{ind_id}: numerator", f"{ind_id}: denominator" if proportion else None)
    return out


def row_counts(table: pd.DataFrame) -> pd.DataFrame:
    """Every count a row releases, aligned with the table: ``numerator`` (the count
    :func:`suppression_counts` judges), ``denominator`` (NaN unless the row's denominator is a
    count: proportions), ``complement`` (denominator - numerator, proportions), and the specs
    ``numerator_spec`` / ``denominator_spec`` (:func:`count_specs`)."""
    # each indicator's specs looked up once, then spread to its rows by code (a missing id,
    # code -1, takes the NaN at the end)
    codes, ids = pd.factorize(table["indicator_id"].astype("str"))
    specs = count_specs(ids, getattr(table, "attrs", None))
    num_spec = np.array([specs[i][0] for i in ids] + [np.nan], dtype=object)[codes]
    den_spec = np.array([specs[i][1] for i in ids] + [np.nan], dtype=object)[codes]
    numerator = suppression_counts(table).to_numpy(dtype=float)
    proportion = pd.notna(den_spec)
    denominator = np.where(proportion, pd.to_numeric(table["denominator"], errors="coerce")
                           .to_numpy(dtype=float), np.nan)
    return pd.DataFrame({
        "numerator": numerator, "denominator": denominator, "complement": denominator - numerator,
        "numerator_spec": num_spec, "denominator_spec": den_spec,
    }, index=table.index)


def small_count_rows(table: pd.DataFrame, threshold: int = DEFAULT_THRESHOLD) -> np.ndarray:
    """Primary suppression: rows releasing a count from 1 to ``threshold - 1``: the numerator
    count, or for a proportion its denominator or its complement (denominator - numerator).

    Example usage::

        small_count_rows(table, threshold=5)   # boolean mask, one per row
    """
    counts = row_counts(table)
    return (suppress_small_counts(counts["numerator"], threshold)
            | suppress_small_counts(counts["denominator"], threshold)
            | suppress_small_counts(counts["complement"], threshold))


def round_counts(counts, rule: str) -> np.ndarray:
    """Round counts by one of :data:`ROUNDING_RULES`; missing stays missing, 0 stays 0.

    ``nearest-5`` rounds half up to a multiple of 5 (OpenSAFELY ehrQL); ``midpoint-6`` maps
    1-6 to 3, 7-12 to 9, 13-18 to 15... (OpenSAFELY ``roundmid_any(x, to=6)``), which may show 3
    for a count at the threshold.

    Example usage::

        round_counts([6, 7, 8], "nearest-5")        # [5., 5., 10.]
        round_counts([0, 1, 6, 7], "midpoint-6")    # [0., 3., 3., 9.]
    """
    values = np.asarray(pd.to_numeric(pd.Series(counts), errors="coerce"), dtype=float)
    if rule == "none":
        return values
    if rule == "nearest-5":
        return np.floor(values / ROUNDING_MULTIPLE + 0.5) * ROUNDING_MULTIPLE
    if rule == "midpoint-6":
        width = MIDPOINT_ROUNDING_WIDTH
        rounded = np.ceil(values / width) * width - width // 2
        return np.where(values == 0, 0.0, rounded)
    raise DisclosurePolicyError(f"rounding: {rule!r} is not one of {', '.join(ROUNDING_RULES)}")


def _band_edges() -> np.ndarray:
    edges = [0.0, 1.0, 10.0]
    for exponent in range(1, BAND_MAX_EXPONENT):
        for mantissa in BAND_MANTISSAS:
            edge = mantissa * 10.0**exponent
            if edge > edges[-1]:
                edges.append(edge)
    return np.array(edges + [10.0**BAND_MAX_EXPONENT])


_EDGES = _band_edges()


#: Each band's label, by its index in _EDGES (formatted once, not once a row).
_LABELS = np.array([f"{lo:,.0f}-{hi - 1:,.0f}" for lo, hi in zip(_EDGES[:-1], _EDGES[1:])], dtype=object)


def size_band(sizes) -> pd.DataFrame:
    """Band sizes (list sizes or denominators): label, lower edge, upper edge (exclusive), midpoint.

    Bands are 1-9, 10-24, 25-49, 50-74, 75-99, 100-249, ... 5,000-7,499, 7,500-9,999, 10,000-24,999,
    ...; 0 is its own band and a size between 0 and 1 is "under 1". Missing stays missing.

    Example usage::

        size_band([6487, 17])["band"].tolist()      # ["5,000-7,499", "10-24"]
    """
    values = np.asarray(pd.to_numeric(pd.Series(sizes), errors="coerce"), dtype=float)
    idx = np.clip(np.searchsorted(_EDGES, values, side="right") - 1, 0, len(_EDGES) - 2)
    lower, upper = _EDGES[idx], _EDGES[idx + 1]
    labels = _LABELS[idx]  # a new array: the edits below do not touch _LABELS
    labels[(values > 0) & (values < 1)] = "under 1"
    labels[values == 0] = "0"
    missing = np.isnan(values)
    labels[missing] = None
    midpoint = np.where(values == 0, 0.0, (lower + upper) / 2)
    midpoint[missing] = np.nan
    lower = np.where(missing, np.nan, lower)
    upper = np.where(missing, np.nan, upper)
    return pd.DataFrame({"band": labels, "lower": lower, "upper": upper, "midpoint": midpoint})


def _round_significant_array(x: np.ndarray, figures: int) -> np.ndarray:
    """Floats (any shape) rounded to ``figures`` significant figures; 0, NaN and inf kept."""
    with np.errstate(divide="ignore", invalid="ignore"):
        decimals = figures - 1 - np.floor(np.log10(np.abs(x)))
        up = 10.0 ** np.abs(decimals)  # divide by an exact power of ten: 0.0938, not 0.09380000001
        rounded = np.where(decimals >= 0, np.round(x * up) / up, np.round(x / up) * up)
    return np.where((x == 0) | ~np.isfinite(x), x, rounded)


def _floats(values: pd.Series) -> np.ndarray:
    if values.dtype == np.float64:
        return values.to_numpy()
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)


def _replace_rows(table: pd.DataFrame, rows: np.ndarray, column: str, values) -> None:
    """``table.loc[rows, column] = values`` (``rows`` a boolean array), quicker for float columns.

    ``values`` None means missing, as it does for ``.loc``.
    """
    if not rows.any():
        return
    if table[column].dtype != np.float64:
        table.loc[rows, column] = values
        return
    out = table[column].to_numpy(dtype=float, copy=True)
    out[rows] = np.nan if values is None else values
    table[column] = out
