"""Disclosure control: the one choke point an indicator table passes before it leaves the analyst.

:func:`apply_disclosure` turns the analyst-level indicator table (docs/architecture.md, "Indicator
table") into a *releasable* table for one audience, and a log of what it hid and why:

1. **Primary suppression**: a numerator from 1 to ``threshold - 1`` is suppressed (0 stays 0),
   with every figure derived from it on that row. The count tested is the row's item count,
   ``numerator_items``, where the table has it (the items behind a DDD, OME or cost numerator:
   a count of 1-4 items is suppressed whatever its DDDs or cost), else the numerator;
   ``numerator_items`` is itself numerator-derived (withheld, rounded away and banded with it) (value, intervals, funnel and SPC results,
   comparisons, interpretation). Suppressed cells are missing and carry PHS's statistical
   qualifier ``c`` (confidential) in the ``qualifier`` column, never a number or a misleading 0.
2. **Secondary suppression** so that no suppressed cell can be recovered by one subtraction, in
   each of these groups (a total and the cells adding up to it): practices -> their cluster;
   clusters and unclustered practices -> their HSCP, and -> their board (a board total minus its
   clusters would reveal an ``Undefined`` placeholder practice); boards -> Scotland; months ->
   the total period. A group with exactly one hidden cell gets its next smallest cell suppressed
   too (a non-zero one first), repeated until no group has a single hidden cell. A comparator
   value (``rest_of_<unit>_value``) is withheld wherever the unit's own row is suppressed.
3. **Rounding** of visible numerators (``none``, ``nearest-5``, ``midpoint-6``), after
   suppression; the value is recomputed from the rounded numerator, and the figures that would
   give the unrounded numerator back (intervals, comparator values, SPC limits, reliability)
   are withheld.
4. **Audience**:

   - ``cluster`` (default): the cluster's own practices become "Member practice A", "B"...
     (``area_id`` "member-a"...), lettered in the order of a keyed hash of the policy's salt and
     the practice code, so the order follows neither list size nor value, is stable across
     indicators and months for one policy, and cannot be guessed without the salt. Their exact
     numerator and denominator are removed (with the value they would give the size back); the
     size is shown only as ``denominator_band`` (e.g. "5,000-7,499"), ``plot_size`` is the band
     midpoint, and their other figures are rounded to :data:`RELEASED_SIGNIFICANT_FIGURES`
     significant figures so the size cannot be solved back from the value and its interval.
     Other clusters' practices and unclustered practices are dropped (other clusters appear
     only at cluster level); HSCP, board and Scotland rows are kept. A cluster row of a cluster
     with fewer than :data:`MIN_PRACTICES_FOR_PSEUDONYMS` practices is a practice or two in all
     but name, so its size is banded the same way. In the audience's own cluster of fewer than
     3 practices, pseudonyms protect nothing (each member can identify the other), so its
     practice rows are withheld unless ``withhold_small_cluster=False``; the log says so.
     Practice codes and names of every practice are scrubbed from every text column.
   - ``practice``: as ``cluster``, but ``reveal_practice`` keeps its code, name and exact figures.
   - ``analyst``: nothing hidden; ``attrs["releasable"]`` is False.

The releasable table keeps the indicator table's columns and adds ``qualifier``,
``denominator_band`` and ``plot_size``; ``table.attrs`` holds ``releasable``, ``audience``,
``cluster_id``, ``threshold`` and ``rounding``. Report and chart code calls
:func:`require_releasable` before drawing anything.

References: PHS Statistical Disclosure Control Protocol and statistical qualifiers (``c``);
OpenSAFELY ehrQL ``measures/disclosure_control.py`` (suppress then round to 5) and the
OpenSAFELY "releasing files" midpoint-6 rounding (``roundmid_any``).

Example usage::

    from clusterqi.disclosure import DisclosurePolicy, apply_disclosure, require_releasable

    policy = DisclosurePolicy(audience="cluster", cluster_id="dundee-4")
    releasable, log = apply_disclosure(indicator_table, policy)
    require_releasable(releasable, "cluster")   # raises for an analyst-only table
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import hmac
import re
import secrets
import string
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from clusterqi.errors import DataError

__all__ = [
    "AUDIENCES",
    "ROUNDING_RULES",
    "DEFAULT_THRESHOLD",
    "SUPPRESSED_QUALIFIER",
    "MIN_PRACTICES_FOR_PSEUDONYMS",
    "ROUNDING_MULTIPLE",
    "MIDPOINT_ROUNDING_WIDTH",
    "RELEASED_SIGNIFICANT_FIGURES",
    "RELEASED_RELIABILITY_DECIMALS",
    "PSEUDONYM_PREFIX",
    "SUPPRESSED_TEXT",
    "DisclosurePolicy",
    "DisclosurePolicyError",
    "NotReleasableError",
    "apply_disclosure",
    "require_releasable",
    "pseudonyms",
    "suppress_small_counts",
    "suppress_cells",
    "suppression_counts",
    "ITEMS_COLUMN",
    "round_counts",
    "size_band",
]

#: Who a table is for.
AUDIENCES = ("analyst", "cluster", "practice")
#: Rounding rules applied to visible numerators after suppression.
ROUNDING_RULES = ("none", "nearest-5", "midpoint-6")
#: Counts from 1 to DEFAULT_THRESHOLD - 1 are suppressed (PHS practice: fewer than 5).
DEFAULT_THRESHOLD = 5
#: PHS statistical qualifier for a suppressed (confidential) value.
SUPPRESSED_QUALIFIER = "c"
#: Fewer practices than this in a cluster and pseudonyms protect nothing.
MIN_PRACTICES_FOR_PSEUDONYMS = 3
#: Multiple for "nearest-5" rounding (OpenSAFELY ROUNDING_MULTIPLE).
ROUNDING_MULTIPLE = 5
#: Width of the "midpoint-6" bins: 1-6 -> 3, 7-12 -> 9, ... (OpenSAFELY roundmid_any, to=6).
MIDPOINT_ROUNDING_WIDTH = 6
#: Significant figures kept for values, intervals and limits of a pseudonymised unit.
RELEASED_SIGNIFICANT_FIGURES = 3
#: Decimal places kept for a pseudonymised unit's reliability (tau2 / (tau2 + s2) gives s2).
RELEASED_RELIABILITY_DECIMALS = 1
#: Label of a pseudonymised practice, followed by a letter.
PSEUDONYM_PREFIX = "Member practice"
#: ``area_id`` prefix of a pseudonymised practice ("member-a").
PSEUDONYM_ID_PREFIX = "member-"
#: Interpretation shown on a suppressed row (the same for primary and secondary suppression).
SUPPRESSED_TEXT = "Not shown: suppressed by disclosure control (qualifier c)"
#: Stand-in for a practice name or code found in text about a practice not in the release.
OTHER_PRACTICE_TEXT = "another practice"
#: Mantissas of the size band edges above 10: 10-24, 25-49, 50-74, 75-99, 100-249, ...
BAND_MANTISSAS = (1.0, 2.5, 5.0, 7.5)
#: Largest power of ten the bands reach (patient-days of Scotland over years fit well below).
BAND_MAX_EXPONENT = 15

REQUIRED_COLUMNS = (
    "indicator_id", "level", "area_id", "area_name", "cluster_id", "hscp_code", "hb_code",
    "period_type", "period", "numerator", "denominator", "value",
)
#: The item count behind a numerator (indicator table column): tested for small counts where present.
ITEMS_COLUMN = "numerator_items"
#: Columns derived from a row's numerator: withheld when the numerator is suppressed.
NUMERATOR_DERIVED = (
    "numerator_items", "value", "lower_95", "upper_95", "lower_998", "upper_998",
    "funnel_95", "funnel_998", "funnel_95_unadjusted", "funnel_998_unadjusted",
    "rest_of_cluster_value", "vs_rest_of_cluster", "rest_of_hscp_value", "vs_rest_of_hscp",
    "rest_of_hb_value", "vs_rest_of_hb", "rest_of_scotland_value", "vs_rest_of_scotland",
    "vs_rest_of_cluster_unadjusted", "vs_rest_of_hscp_unadjusted", "vs_rest_of_hb_unadjusted",
    "vs_rest_of_scotland_unadjusted",
    "reliability", "spc_signal", "spc_flag", "spc_rule",
)
#: Numeric columns that, next to a rounded numerator, would give the unrounded one back.
UNROUNDED_GIVEAWAYS = (
    "numerator_items", "lower_95", "upper_95", "lower_998", "upper_998", "rest_of_cluster_value",
    "rest_of_hscp_value", "rest_of_hb_value", "rest_of_scotland_value", "reliability",
    "cl", "lcl", "ucl",
)
#: Numeric columns rounded to RELEASED_SIGNIFICANT_FIGURES on a pseudonymised (banded) row.
BANDED_ROUNDED = (
    "value", "lower_95", "upper_95", "lower_998", "upper_998", "rest_of_cluster_value",
    "rest_of_hscp_value", "rest_of_hb_value", "rest_of_scotland_value", "cl", "lcl", "ucl",
)
#: rest_of_<unit> comparator -> the level of the unit and the column naming it on the row.
COMPARATORS = {
    "cluster": ("cluster", "cluster_id"),
    "hscp": ("hscp", "hscp_code"),
    "hb": ("hb", "hb_code"),
    "scotland": ("scotland", None),
}


class DisclosurePolicyError(ValueError):
    """A disclosure policy or its use on a table that cannot work; the message names the field."""


class NotReleasableError(RuntimeError):
    """A table that has not passed disclosure control for this audience was about to be released."""


def _field_error(name: str, value, expected: str) -> DisclosurePolicyError:
    return DisclosurePolicyError(f"DisclosurePolicy.{name}: {value!r} is not valid; expected {expected}")


@dataclasses.dataclass(frozen=True)
class DisclosurePolicy:
    """How an indicator table is made releasable: audience, threshold, secondary suppression, rounding.

    Constraints: ``audience`` is one of :data:`AUDIENCES`; ``cluster_id`` is required for
    audiences "cluster" and "practice"; ``reveal_practice`` (a practice code of that cluster) is
    required for "practice" and not allowed otherwise; ``threshold`` is a whole number >= 1 (a
    threshold t suppresses counts 1 to t-1); ``rounding`` is one of :data:`ROUNDING_RULES`;
    ``salt`` keys the pseudonym order (a new random one per policy unless given: pass the run's
    salt to keep pseudonyms stable across reports of one run). The salt is not shown in repr.

    Example usage::

        DisclosurePolicy()                                    # cluster audience needs cluster_id
        DisclosurePolicy(audience="cluster", cluster_id="dundee-4")
        DisclosurePolicy(audience="practice", cluster_id="dundee-4", reveal_practice="10002")
        DisclosurePolicy(audience="analyst")                  # nothing hidden, not releasable
        DisclosurePolicy(cluster_id="dundee-4", threshold=8, rounding="nearest-5")  # OpenSAFELY
    """

    audience: str = "cluster"
    cluster_id: str | None = None
    reveal_practice: str | None = None
    threshold: int = DEFAULT_THRESHOLD
    secondary: bool = True
    rounding: str = "none"
    withhold_small_cluster: bool = True
    salt: str = dataclasses.field(default_factory=lambda: secrets.token_hex(16), repr=False)

    def __post_init__(self) -> None:
        if self.audience not in AUDIENCES:
            raise _field_error("audience", self.audience, f"one of {', '.join(AUDIENCES)}")
        if self.audience == "analyst":
            if self.cluster_id is not None and not _nonempty(self.cluster_id):
                raise _field_error("cluster_id", self.cluster_id, "a cluster_id slug or None")
        elif not _nonempty(self.cluster_id):
            raise _field_error(
                "cluster_id", self.cluster_id,
                f"a cluster_id slug (e.g. 'dundee-4') for audience {self.audience!r}",
            )
        if self.audience == "practice":
            if not _nonempty(self.reveal_practice):
                raise _field_error(
                    "reveal_practice", self.reveal_practice,
                    "the practice code to reveal (e.g. '10002') for audience 'practice'",
                )
        elif self.reveal_practice is not None:
            raise _field_error(
                "reveal_practice", self.reveal_practice,
                f"None for audience {self.audience!r} (only audience 'practice' reveals one)",
            )
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, (int, np.integer)):
            raise _field_error("threshold", self.threshold, "a whole number >= 1")
        if self.threshold < 1:
            raise _field_error("threshold", self.threshold, "a whole number >= 1")
        for name in ("secondary", "withhold_small_cluster"):
            if not isinstance(getattr(self, name), bool):
                raise _field_error(name, getattr(self, name), "True or False")
        if self.rounding not in ROUNDING_RULES:
            raise _field_error("rounding", self.rounding, f"one of {', '.join(ROUNDING_RULES)}")
        if not _nonempty(self.salt):
            raise _field_error("salt", "<hidden>", "a non-empty string")

    @property
    def releasable(self) -> bool:
        """True for the audiences whose tables may leave the analyst's machine."""
        return self.audience != "analyst"


def _nonempty(value) -> bool:
    return isinstance(value, str) and value.strip() != ""


# --- counts: suppression, rounding, bands ---------------------------------------------------


def suppress_small_counts(counts, threshold: int = DEFAULT_THRESHOLD) -> np.ndarray:
    """Boolean mask of counts that primary suppression hides: above 0 and below ``threshold``.

    A zero stays visible (0 is not a small number of anything); missing counts are not masked.

    Example usage::

        suppress_small_counts([0, 1, 4, 5], threshold=5)   # [False, True, True, False]
    """
    values = np.asarray(pd.to_numeric(pd.Series(counts), errors="coerce"), dtype=float)
    return (values > 0) & (values < threshold)


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


# --- pseudonyms -----------------------------------------------------------------------------


def _letters(n: int) -> list[str]:
    """A, B, ... Z, AA, AB, ... (spreadsheet column style)."""
    out = []
    for i in range(n):
        label, k = "", i
        while True:
            label = string.ascii_uppercase[k % 26] + label
            k = k // 26 - 1
            if k < 0:
                break
        out.append(label)
    return out


def _pseudonym_key(policy: DisclosurePolicy) -> bytes:
    # The audience and revealed practice are part of the key: letters in a practice report must
    # not line up with the cluster report of the same run (that would name the revealed one).
    return f"{policy.salt}|{policy.audience}|{policy.reveal_practice or ''}".encode()


def pseudonyms(indicator_table: pd.DataFrame, policy: DisclosurePolicy) -> pd.DataFrame:
    """The pseudonyms a policy gives its cluster's practices: practice_code, area_id, area_name.

    Analyst-side only (it links codes to pseudonyms: never release it). Letters follow the
    order of HMAC-SHA256(policy salt + audience + revealed practice, practice code), so the same
    policy gives the same letters for every indicator and month, and the order follows neither
    list size nor value. The revealed practice (audience "practice") keeps its own code and name.

    Example usage::

        pseudonyms(table, policy)   # 10002 -> member-c, "Member practice C", ...
    """
    if policy.audience == "analyst":
        return pd.DataFrame({"practice_code": [], "area_id": [], "area_name": []}, dtype="str")
    members = _cluster_members(indicator_table, policy.cluster_id)
    hidden = [code for code in members if code != policy.reveal_practice]
    key = _pseudonym_key(policy)
    order = sorted(hidden, key=lambda code: hmac.new(key, code.encode(), hashlib.sha256).digest())
    letters = _letters(len(order))
    rows = [
        (code, f"{PSEUDONYM_ID_PREFIX}{letter.lower()}", f"{PSEUDONYM_PREFIX} {letter}")
        for code, letter in zip(order, letters)
    ]
    if policy.reveal_practice is not None:
        names = _practice_names(indicator_table)
        rows.append((policy.reveal_practice, policy.reveal_practice, names.get(policy.reveal_practice, "")))
    return pd.DataFrame(rows, columns=["practice_code", "area_id", "area_name"], dtype="str")


def _cluster_members(table: pd.DataFrame, cluster_id: str | None) -> list[str]:
    codes = table.loc[(table["level"] == "practice") & (table["cluster_id"] == cluster_id), "area_id"]
    return sorted(codes.astype(str).unique().tolist())


def _practice_names(table: pd.DataFrame) -> dict[str, str]:
    """Practice code -> name (the first row's), in the order the practices first appear."""
    practice = (table["level"] == "practice").to_numpy()
    codes = table["area_id"].to_numpy(dtype=object)[practice].astype(str)
    names = table["area_name"].to_numpy(dtype=object)[practice].astype(str)
    _, first = np.unique(codes, return_index=True)
    first.sort()
    return dict(zip(codes[first].tolist(), names[first].tolist()))


# --- secondary suppression ------------------------------------------------------------------


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
        ("practices in their cluster", (level == "practice") & clustered, cell + ["cluster_id"],
         level == "cluster", cell + ["area_id"]),
        ("clusters and unclustered practices in their HSCP",
         (level == "cluster") | ((level == "practice") & ~clustered), cell + ["hscp_code"],
         level == "hscp", cell + ["area_id"]),
        ("clusters and unclustered practices in their board",
         (level == "cluster") | ((level == "practice") & ~clustered), cell + ["hb_code"],
         level == "hb", cell + ["area_id"]),
        ("boards in Scotland", level == "hb", cell, level == "scotland", cell),
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


# --- the choke point ------------------------------------------------------------------------


def _check_table(table: pd.DataFrame) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise DataError(
            f"indicator table: missing column(s) {', '.join(missing)}; expected the indicator "
            "table of clusterqi.indicators.calculate_indicators (docs/architecture.md)"
        )
    levels = set(table["level"].dropna().unique()) - {"practice", "cluster", "hscp", "hb", "scotland"}
    if levels:
        raise DataError(
            f"indicator table, column level: value(s) {sorted(levels)} not expected; expected "
            "practice, cluster, hscp, hb or scotland"
        )


def _check_policy_against(table: pd.DataFrame, policy: DisclosurePolicy) -> None:
    if policy.audience == "analyst":
        return
    known = set(table.loc[table["level"] == "cluster", "area_id"].dropna().unique()) | set(
        table.loc[table["level"] == "practice", "cluster_id"].dropna().unique())
    if policy.cluster_id not in known:
        raise DisclosurePolicyError(
            f"DisclosurePolicy.cluster_id: {policy.cluster_id!r} is not a cluster in the indicator "
            f"table; expected one of its cluster_id values (e.g. {sorted(known)[:3]})"
        )
    if policy.reveal_practice is not None:
        members = _cluster_members(table, policy.cluster_id)
        if policy.reveal_practice not in members:
            raise DisclosurePolicyError(
                f"DisclosurePolicy.reveal_practice: {policy.reveal_practice!r} is not a practice of "
                f"cluster {policy.cluster_id!r}; expected one of {members}"
            )


def _log_rows(frame: pd.DataFrame, what: str, rule: str, reason) -> pd.DataFrame:
    where = (frame["level"].astype(str) + " " + frame["area_name"].astype(str) + ", "
             + frame["period"].astype(str))
    return pd.DataFrame({
        "indicator_id": frame["indicator_id"].to_numpy(),
        "level": frame["level"].to_numpy(),
        "area_id": frame["area_id"].to_numpy(),
        "period": frame["period"].to_numpy(),
        "what": what,
        "where": where.to_numpy(),
        "rule": rule,
        "reason": reason if isinstance(reason, str) else np.asarray(reason, dtype=object),
    })


def _summary_row(what: str, where: str, rule: str, reason: str) -> pd.DataFrame:
    return pd.DataFrame([{
        "indicator_id": None, "level": None, "area_id": None, "period": None,
        "what": what, "where": where, "rule": rule, "reason": reason,
    }])


LOG_COLUMNS = ("indicator_id", "level", "area_id", "period", "what", "where", "rule", "reason")


def apply_disclosure(
    indicator_table: pd.DataFrame, policy: DisclosurePolicy, *, suppression: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Make an indicator table releasable for the policy's audience; return (table, log).

    The table keeps the indicator table's columns plus ``qualifier``, ``denominator_band`` and
    ``plot_size``, with ``attrs["releasable"]`` (False for audience "analyst"). The log is a
    tidy frame (indicator_id, level, area_id, period, what, where, rule, reason) naming areas as
    the released table does and never holding a suppressed value. See the module docstring for
    the rules, in the order applied.

    ``suppression`` (optional) is what :func:`suppress_cells` returned for a *whole* indicator
    table, with this policy's threshold and secondary setting, when ``indicator_table`` is a
    part of that table with its index labels kept (a report's rows, say). Suppression is then
    taken from the whole table instead of being worked out again, so a run suppresses once and
    releases many parts quickly. The part must still hold every unit row its rows compare with
    (its cluster, HSCP, board and Scotland rows for the same cell), so that comparator values
    are withheld where those rows are suppressed. The marks are checked against the rows'
    numerators; marks from another table or threshold raise :class:`DisclosurePolicyError`.

    Example usage::

        releasable, log = apply_disclosure(table, DisclosurePolicy(cluster_id="dundee-4"))
        log.groupby("rule").size()

        marks = suppress_cells(whole, threshold=5)          # once per run
        part = whole[whole["indicator_id"] == "antibiotics"]
        releasable, log = apply_disclosure(part, policy, suppression=marks)
    """
    _check_table(indicator_table)
    _check_policy_against(indicator_table, policy)
    given = None
    if suppression is not None and policy.audience != "analyst":
        given = _given_marks(indicator_table, suppression, policy)
    table = indicator_table.reset_index(drop=True)
    if policy.audience != "analyst":
        seen = ~_unseen_practices(table, policy.cluster_id)
        table = table[seen].reset_index(drop=True)
        if given is not None:
            given = given[seen].reset_index(drop=True)
    table = table.copy()
    band = size_band(table["denominator"])
    table["qualifier"] = pd.Series([None] * len(table), dtype="str")
    table["denominator_band"] = pd.Series(band["band"].to_numpy(), dtype="str")
    table["plot_size"] = pd.to_numeric(table["denominator"], errors="coerce").astype(float)
    if policy.audience == "analyst":
        log = _summary_row(
            "nothing", "whole table", "audience analyst",
            "analyst audience: nothing hidden; the table is not releasable",
        )
        return _finish(table, policy), log[list(LOG_COLUMNS)]

    logs: list[pd.DataFrame] = []
    # 1-2. primary and secondary suppression, on the whole table before any row is dropped
    marks = given if given is not None else suppress_cells(table, policy.threshold, policy.secondary)
    primary = (marks["suppression"] == "primary").to_numpy()
    suppressed = marks["suppression"].notna().to_numpy()
    derived = [c for c in NUMERATOR_DERIVED if c in table.columns]
    _replace_rows(table, suppressed, "numerator", np.nan)
    for column in derived:
        _replace_rows(table, suppressed, column, None)
    table.loc[suppressed, "qualifier"] = SUPPRESSED_QUALIFIER
    if "interpretation" in table.columns:
        table.loc[suppressed, "interpretation"] = SUPPRESSED_TEXT
    _withhold_suppressed_comparators(table, suppressed)
    reasons = np.where(
        primary[suppressed],
        f"numerator between 1 and {policy.threshold - 1} (threshold {policy.threshold})",
        ("protects the only other hidden cell among " + marks["group"].fillna("")
         + ", which one subtraction would otherwise recover").to_numpy()[suppressed],
    )
    rules = np.where(primary[suppressed], "primary suppression", "secondary suppression")
    sup_log = _log_rows(table.loc[suppressed], "numerator and the figures derived from it",
                        "", reasons)
    sup_log["rule"] = rules
    sup_log["_row"] = np.flatnonzero(suppressed)
    logs.append(sup_log)

    # 3. rounding of visible numerators
    if policy.rounding != "none":
        _apply_rounding(table, ~suppressed, policy.rounding)
        logs.append(_summary_row(
            "numerators; intervals, comparator values, SPC limits and reliability", "whole table",
            f"rounding {policy.rounding}",
            "numerators rounded after suppression and values recomputed from them; figures that "
            "would give the unrounded numerator back are withheld",
        ))

    # 4. audience
    mapping = pseudonyms(indicator_table, policy)
    table, audience_logs = _apply_audience(table, indicator_table, policy, mapping)
    logs.extend(audience_logs)
    kept_rows = set(table["_row"].tolist())
    logs[0] = logs[0][logs[0]["_row"].isin(kept_rows)]
    # name suppressed rows in the log as the released table names them
    labels = table.set_index("_row")[["area_id", "area_name"]]
    logs[0] = logs[0].assign(
        area_id=logs[0]["_row"].map(labels["area_id"]),
        where=(logs[0]["level"].astype(str) + " " + logs[0]["_row"].map(labels["area_name"]).astype(str)
               + ", " + logs[0]["period"].astype(str)),
    ).drop(columns="_row")
    table = table.drop(columns="_row")
    table = _scrub_practice_mentions(table, indicator_table, policy, mapping)
    log = pd.concat([frame[list(LOG_COLUMNS)] for frame in logs], ignore_index=True)
    return _finish(table, policy), log


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


def _unseen_practices(table: pd.DataFrame, cluster_id: str | None) -> np.ndarray:
    """Rows an audience never sees and on which no cell it sees depends: left out up front.

    Practice rows of other clusters with two or more practices. Their suppression cannot reach a
    row that is kept: a practice row belongs only to its cluster's group (where a secondary
    suppression picks a sibling practice before the cluster total whenever the cluster has
    another practice) and to its own months group. Unclustered practices stay (they are in
    their HSCP's and board's groups), and so do single-practice clusters. The result equals
    running the whole table; it just does not spend time on rows that are then dropped.
    """
    practice = (table["level"] == "practice").to_numpy()
    cluster = table["cluster_id"].astype("string")
    sizes = table.loc[practice, "area_id"].groupby(cluster[practice], dropna=True).nunique()
    shared = cluster.map(sizes).fillna(0).to_numpy() >= 2
    other = cluster.ne(cluster_id).fillna(False).to_numpy()
    return practice & other & shared


def _finish(table: pd.DataFrame, policy: DisclosurePolicy) -> pd.DataFrame:
    table = table.reset_index(drop=True)
    table.attrs = {
        "releasable": policy.releasable,
        "audience": policy.audience,
        "cluster_id": policy.cluster_id,
        "threshold": int(policy.threshold),
        "rounding": policy.rounding,
    }
    return table


def _withhold_suppressed_comparators(table: pd.DataFrame, suppressed: np.ndarray) -> None:
    """rest_of_<unit> on any row is withheld where the <unit>'s own row is suppressed."""
    if not suppressed.any():
        return
    cell = [table[c].to_numpy(dtype=object) for c in ("indicator_id", "period_type", "period")]
    levels = table["level"].to_numpy(dtype=object)
    area = table["area_id"].to_numpy(dtype=object)
    for unit, (level, column) in COMPARATORS.items():
        value_col, vs_col = f"rest_of_{unit}_value", f"vs_rest_of_{unit}"
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


def _apply_rounding(table: pd.DataFrame, visible: np.ndarray, rule: str) -> None:
    numerator = pd.to_numeric(table["numerator"], errors="coerce").astype(float)
    denominator = pd.to_numeric(table["denominator"], errors="coerce").astype(float)
    value = pd.to_numeric(table["value"], errors="coerce").astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        multiplier = value * denominator / numerator
        rounded = pd.Series(round_counts(numerator, rule), index=table.index)
        recomputed = rounded / denominator * multiplier
    recomputed = recomputed.where(numerator != 0, value)  # 0 stays 0; no multiplier needed
    table.loc[visible, "numerator"] = rounded[visible]
    table.loc[visible, "value"] = recomputed[visible]
    for column in UNROUNDED_GIVEAWAYS:
        if column in table.columns:
            table.loc[visible, column] = np.nan


def _apply_audience(
    table: pd.DataFrame, original: pd.DataFrame, policy: DisclosurePolicy, pseudonymised: pd.DataFrame
) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    logs: list[pd.DataFrame] = []
    table = table.assign(_row=np.arange(len(table)))
    practice = table["level"] == "practice"
    own = practice & (table["cluster_id"] == policy.cluster_id)
    others = practice & ~own
    in_original = original["level"] == "practice"
    n_other = int(original.loc[in_original & (original["cluster_id"] != policy.cluster_id)
                               .fillna(True), "area_id"].nunique())
    table = table.loc[~others].copy()
    logs.append(_summary_row(
        "practice rows", "every practice outside the cluster", f"audience {policy.audience}",
        f"{n_other} practices of other clusters or of no cluster withheld: other clusters appear "
        "only at cluster level",
    ))

    practices_per_cluster = (original.loc[original["level"] == "practice", ["cluster_id", "area_id"]]
                             .groupby("cluster_id")["area_id"].nunique())
    members = _cluster_members(original, policy.cluster_id)
    own = (table["level"] == "practice") & (table["cluster_id"] == policy.cluster_id)
    if len(members) < MIN_PRACTICES_FOR_PSEUDONYMS and policy.withhold_small_cluster:
        table = table.loc[~own].copy()
        logs.append(_summary_row(
            "practice rows", f"cluster {policy.cluster_id}", "small cluster",
            f"the cluster has {len(members)} practice(s), fewer than "
            f"{MIN_PRACTICES_FOR_PSEUDONYMS}: pseudonyms protect nothing when each member can "
            "identify the others, so practice-level figures are withheld",
        ))
        own = pd.Series(False, index=table.index)

    mapping = pseudonymised.set_index("practice_code")
    home = (original.loc[original["level"] == "cluster", ["area_id", "hscp_code", "hb_code"]]
            .drop_duplicates("area_id").set_index("area_id"))
    revealed = own & (table["area_id"] == policy.reveal_practice)
    hidden = own & ~revealed
    codes = table.loc[hidden, "area_id"].astype(str)
    table.loc[hidden, "area_name"] = codes.map(mapping["area_name"]).to_numpy()
    table.loc[hidden, "area_id"] = codes.map(mapping["area_id"]).to_numpy()
    if policy.cluster_id in home.index:
        # a member's own HSCP could single it out in a cluster spanning two HSCPs
        table.loc[own, "hscp_code"] = home.loc[policy.cluster_id, "hscp_code"]
        table.loc[own, "hb_code"] = home.loc[policy.cluster_id, "hb_code"]
    if hidden.any():
        logs.append(_summary_row(
            "practice names and codes", f"cluster {policy.cluster_id}", "pseudonymised",
            f"{int(codes.nunique())} member practices shown as '{PSEUDONYM_PREFIX} A', 'B'... in "
            "an order keyed by the run's salt (neither list size nor value)",
        ))

    small_clusters = set(practices_per_cluster[practices_per_cluster < MIN_PRACTICES_FOR_PSEUDONYMS].index)
    small = (table["level"] == "cluster") & table["area_id"].isin(small_clusters)
    banded = hidden | small
    if banded.any():
        _band_sizes(table, banded.to_numpy())
        logs.append(_summary_row(
            "numerator, denominator; values rounded to "
            f"{RELEASED_SIGNIFICANT_FIGURES} significant figures",
            "pseudonymised practices and clusters of fewer than "
            f"{MIN_PRACTICES_FOR_PSEUDONYMS} practices", "banded size",
            "an exact size identifies a practice: sizes shown only as bands, placed at the band "
            "midpoint",
        ))
    return table, logs


def _band_sizes(table: pd.DataFrame, banded: np.ndarray) -> None:
    band = size_band(table.loc[banded, "denominator"])
    _replace_rows(table, banded, "plot_size", band["midpoint"].to_numpy())
    _replace_rows(table, banded, "numerator", np.nan)
    if ITEMS_COLUMN in table.columns:
        _replace_rows(table, banded, ITEMS_COLUMN, np.nan)
    _replace_rows(table, banded, "denominator", np.nan)
    for column in BANDED_ROUNDED:
        if column in table.columns:
            values = _floats(table[column])[banded]
            _replace_rows(table, banded, column,
                          _round_significant_array(values, RELEASED_SIGNIFICANT_FIGURES))
    if "reliability" in table.columns:
        values = _floats(table["reliability"])[banded]
        _replace_rows(table, banded, "reliability", np.round(values, RELEASED_RELIABILITY_DECIMALS))


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


def _mention_pattern(terms: Iterable[str]) -> re.Pattern | None:
    terms = sorted({t for t in terms if t and t.strip()}, key=len, reverse=True)
    if not terms:
        return None
    alternatives = "|".join(re.escape(t) for t in terms)
    # not inside a pseudonym: a real practice may be called "Practice B"
    member = re.escape(PSEUDONYM_PREFIX.split()[0] + " ")
    return re.compile(rf"(?<![0-9A-Za-z])(?<!{member})(?:{alternatives})(?![0-9A-Za-z])",
                      re.IGNORECASE)


_WORD = re.compile(r"[0-9A-Za-z]+")


@functools.lru_cache(maxsize=8)
def _first_words(terms: tuple[str, ...]) -> frozenset[str] | None:
    """Each term's first word (lower case), or None unless every term is plain ASCII.

    A mention of a term (:func:`_mention_pattern`: not touching a letter or digit on either
    side) starts with the term's first word, which is then a whole word of the text too. So an
    ASCII text whose words include no term's first word mentions no term, and needs no search
    with the (slow, ~2,000-way) pattern. Non-ASCII terms or texts always get the full search,
    because case-insensitive matching beyond ASCII is not just ``lower()``.
    """
    firsts = set()
    for term in terms:
        if not term.strip():
            continue
        word = _WORD.search(term)
        if not term.isascii() or word is None:
            return None
        firsts.add(word.group(0).lower())
    return frozenset(firsts)


def _scrub_practice_mentions(
    table: pd.DataFrame, original: pd.DataFrame, policy: DisclosurePolicy, pseudonymised: pd.DataFrame
) -> pd.DataFrame:
    """Replace any practice code or name left in a text column (e.g. interpretation)."""
    names = _practice_names(original)
    replacement: dict[str, str] = {}
    mapping = dict(zip(pseudonymised["practice_code"], pseudonymised["area_name"]))
    for code, name in names.items():
        if code == policy.reveal_practice:
            continue
        label = mapping.get(code, OTHER_PRACTICE_TEXT)
        replacement[code.lower()] = label
        replacement[name.lower()] = label
    if not any(term.strip() for term in replacement):
        return table
    pattern = None  # compiled when a text may mention a practice (it has ~2 terms per practice)
    firsts = _first_words(tuple(replacement))
    protected = {"area_id", "area_name"}  # own rows already relabelled; others are area names
    for column, dtype in table.dtypes.items():
        if column in protected or not (pd.api.types.is_string_dtype(dtype) or dtype == object):
            continue
        uniques = table[column].unique()
        fixes = {}
        for text in uniques:
            if not isinstance(text, str):
                continue
            if firsts is not None and text.isascii() and firsts.isdisjoint(
                    word.lower() for word in _WORD.findall(text)):
                continue  # no practice's first word is a word of this text
            pattern = pattern or _mention_pattern(replacement)
            if pattern.search(text):
                fixes[text] = pattern.sub(lambda m: replacement[m.group(0).lower()], text)
        if fixes:
            table[column] = table[column].replace(fixes)
    return table


def require_releasable(table: pd.DataFrame, audience: str) -> None:
    """Refuse a table that has not passed disclosure control for ``audience``.

    Audience "analyst" may use any table. For "cluster" and "practice" the table must come from
    :func:`apply_disclosure` with a policy for that same audience; otherwise
    :class:`NotReleasableError` says what to do.

    Example usage::

        require_releasable(releasable, "cluster")      # passes silently
        require_releasable(indicator_table, "cluster") # NotReleasableError
    """
    if audience not in AUDIENCES:
        raise DisclosurePolicyError(
            f"audience: {audience!r} is not valid; expected one of {', '.join(AUDIENCES)}")
    if audience == "analyst":
        return
    attrs: Mapping = getattr(table, "attrs", {}) or {}
    if attrs.get("releasable") is not True:
        raise NotReleasableError(
            f"this table is not releasable to audience {audience!r}: it has not passed "
            "clusterqi.disclosure.apply_disclosure (or was made for the analyst audience). "
            f"Run apply_disclosure(table, DisclosurePolicy(audience={audience!r}, cluster_id=...)) "
            "first."
        )
    if attrs.get("audience") != audience:
        raise NotReleasableError(
            f"this table was made releasable for audience {attrs.get('audience')!r}, not "
            f"{audience!r}; apply disclosure control with a policy for {audience!r}."
        )
