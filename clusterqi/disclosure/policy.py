"""The disclosure policy: who a table is for, the threshold, rounding, and the columns at stake.

:class:`DisclosurePolicy` is what :func:`clusterqi.disclosure.apply_disclosure` applies. The
constants here are the policy's numbers and words (PHS: counts of 1-4 are suppressed and carry
the statistical qualifier ``c``). Which columns are derived from a row's numerator (withheld with
it, rounded away, banded) is :func:`numerator_derived`, :func:`unrounded_giveaways`,
:func:`banded_rounded`, :func:`banded_withheld` and :func:`pseudonym_withheld`: the fixed
columns below plus every comparator's columns, read from the comparator registry
(:mod:`clusterqi.vocabulary`) when asked, so a new comparator is covered without being listed
here.

Example usage::

    policy = DisclosurePolicy(audience="cluster", cluster_id="dundee-4", threshold=5)
    policy.releasable                  # True
    "rest_of_hscp_value" in numerator_derived()
"""

from __future__ import annotations

import dataclasses
import secrets

import numpy as np

from clusterqi import vocabulary
from clusterqi.vocabulary import AUDIENCES, audience as _audience

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
    "PSEUDONYM_ID_PREFIX",
    "SUPPRESSED_TEXT",
    "OTHER_PRACTICE_TEXT",
    "REQUIRED_COLUMNS",
    "ITEMS_COLUMN",
    "NUMERATOR_DERIVED_FIXED",
    "numerator_derived",
    "unrounded_giveaways",
    "banded_rounded",
    "banded_withheld",
    "pseudonym_withheld",
    "DisclosurePolicyError",
    "NotReleasableError",
    "DisclosurePolicy",
]

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
#: Significant figures kept for the value (and comparator values, SPC lines) of a banded row: a
#: pseudonymised practice, or a cluster of fewer than MIN_PRACTICES_FOR_PSEUDONYMS practices.
#: Two figures is a grid step of 1% to 10% of the value (a half-step of 0.5% to 5%): wide enough
#: that, with the size known only as a band, many numerator / denominator pairs give the printed
#: figure (docs/disclosure.md), and fine enough that the chart still ranks the practices.
RELEASED_SIGNIFICANT_FIGURES = 2
#: Decimal places of a banded unit's reliability in earlier releases. Reliability is now withheld
#: on banded rows (:func:`banded_withheld`: tau2 / (tau2 + s2) gives s2, hence the size); kept so
#: that code importing it still runs.
RELEASED_RELIABILITY_DECIMALS = 1
#: Label of a pseudonymised practice, followed by a letter.
PSEUDONYM_PREFIX = "Member practice"
#: ``area_id`` prefix of a pseudonymised practice ("member-a").
PSEUDONYM_ID_PREFIX = "member-"
#: Interpretation shown on a suppressed row (the same for primary and secondary suppression).
SUPPRESSED_TEXT = "Not shown: suppressed by disclosure control (qualifier c)"
#: Stand-in for a practice name or code found in text about a practice not in the release.
OTHER_PRACTICE_TEXT = "another practice"
REQUIRED_COLUMNS = (
    "indicator_id", "level", "area_id", "area_name", "cluster_id", "hscp_code", "hb_code",
    "period_type", "period", "numerator", "denominator", "value",
)
#: The item count behind a numerator (indicator table column): tested for small counts where present.
ITEMS_COLUMN = "numerator_items"
#: Columns derived from a row's numerator besides the comparators' (:func:`numerator_derived`).
NUMERATOR_DERIVED_FIXED = (
    "numerator_items", "value", "lower_95", "upper_95", "lower_998", "upper_998",
    "funnel_95", "funnel_998", "funnel_95_unadjusted", "funnel_998_unadjusted",
    "reliability", "spc_signal", "spc_flag", "spc_rule",
)
#: Numeric columns besides comparator values that, next to a rounded numerator, would give the
#: unrounded one back.
_UNROUNDED_FIXED = ("numerator_items", "lower_95", "upper_95", "lower_998", "upper_998",
                    "reliability", "cl", "lcl", "ucl")
#: Numeric columns besides comparator values rounded to RELEASED_SIGNIFICANT_FIGURES on a
#: banded row (a pseudonymised practice, or a cluster of fewer than 3 practices).
_BANDED_FIXED = ("value", "cl", "lcl", "ucl")
#: Columns withheld on a banded row: exact Wilson and Poisson / Byar's limits depend on the count,
#: so the limits (even rounded) give the numerator and denominator back; reliability gives the
#: sampling variance, hence the size.
_BANDED_WITHHELD = ("lower_95", "upper_95", "lower_998", "upper_998", "reliability")
#: Columns further withheld on a pseudonymised practice's row: its SPC limits (their width is set
#: by the month's denominator) and, by :func:`pseudonym_withheld`, the value of every comparator
#: pooled from its own cluster (with the cluster's exact totals, the rest of the cluster gives
#: the practice's size).
_PSEUDONYM_WITHHELD_FIXED = ("cl", "lcl", "ucl")


def numerator_derived() -> tuple[str, ...]:
    """Columns withheld when a row's numerator is suppressed: the fixed ones and every
    registered comparator's value and verdicts."""
    return NUMERATOR_DERIVED_FIXED + vocabulary.comparator_columns()


def unrounded_giveaways() -> tuple[str, ...]:
    """Numeric columns withheld next to a rounded numerator (they would give it back)."""
    return _UNROUNDED_FIXED + vocabulary.value_columns()


def banded_rounded() -> tuple[str, ...]:
    """Numeric columns rounded to RELEASED_SIGNIFICANT_FIGURES on a banded row."""
    return _BANDED_FIXED + vocabulary.value_columns()


def banded_withheld() -> tuple[str, ...]:
    """Numeric columns withheld on a banded row (the intervals and reliability)."""
    return _BANDED_WITHHELD


def pseudonym_withheld() -> tuple[str, ...]:
    """Numeric columns withheld on a pseudonymised practice's row besides :func:`banded_withheld`:
    its SPC limits and the value of every comparator pooled from the practice's own cluster."""
    own_cluster = tuple(c.value_column for c in vocabulary.comparators()
                        if c.area_level == vocabulary.CLUSTER and vocabulary.PRACTICE in c.unit_levels)
    return _PSEUDONYM_WITHHELD_FIXED + own_cluster


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

    audience: str = vocabulary.DEFAULT_AUDIENCE
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
        record = _audience(self.audience)
        if not record.releasable:
            if self.cluster_id is not None and not _nonempty(self.cluster_id):
                raise _field_error("cluster_id", self.cluster_id, "a cluster_id slug or None")
        elif not _nonempty(self.cluster_id):
            raise _field_error(
                "cluster_id", self.cluster_id,
                f"a cluster_id slug (e.g. 'dundee-4') for audience {self.audience!r}",
            )
        if record.reveals_practice:
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
        return self.record.releasable

    @property
    def record(self) -> vocabulary.Audience:
        """The audience's :class:`clusterqi.vocabulary.Audience` (what it may see)."""
        return _audience(self.audience)


def _nonempty(value) -> bool:
    return isinstance(value, str) and value.strip() != ""
