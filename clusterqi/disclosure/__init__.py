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
2. **Count cells**: a proportion's denominator and complement are counts too, and a count shared
   by several indicators is hidden wherever it appears (see :mod:`.suppression`).
3. **Secondary suppression** so that no suppressed cell can be recovered by one subtraction, in
   each of these groups (a total and the cells adding up to it): practices -> their cluster;
   clusters and unclustered practices -> their HSCP, and -> their board (a board total minus its
   clusters would reveal an ``Undefined`` placeholder practice); boards -> Scotland; months ->
   the total period. A group with exactly one hidden cell gets its next smallest cell suppressed
   too (a non-zero one first), repeated until no group has a single hidden cell. For a run's
   reports the linear-programming audit (:mod:`.audit`, the protection-interval audit of
   tau-ARGUS and sdcTable) then proves, over the real additive relations (cross-boundary
   practices in their own board), that no hidden count can be narrowed to exclude 0 or the
   threshold, adding cells until it holds. A comparator's columns are withheld wherever the
   area it is pooled from (any of its members, for peers) is suppressed in the same cell.
4. **Rounding** of visible numerators (``none``, ``nearest-5``, ``midpoint-6``), after
   suppression; the value is recomputed from the rounded numerator, and the figures that would
   give the unrounded numerator back (intervals, comparator values, SPC limits, reliability)
   are withheld.
5. **Audience**:

   - ``cluster`` (default): the cluster's own practices become "Member practice A", "B"...
     (``area_id`` "member-a"...), lettered in the order of a keyed hash of the policy's salt and
     the practice code, so the order follows neither list size nor value, is stable across
     indicators and months for one policy, and cannot be guessed without the salt. Their exact
     numerator and denominator are removed; the size is shown only as a band shared by a group of
     at least 3 member practices of similar size (``denominator_band``; ``plot_size`` a standard
     band midpoint), the value is rounded to 2 significant figures (1, or withheld, where that
     would fit too few counts or single out a practice of the group), and the intervals,
     reliability, SPC limits and rest-of-cluster value are withheld, so neither the counts nor
     the practice can be solved back (docs/disclosure.md; :func:`coarsening_note` is the
     page's sentence). Verdicts, funnel flags and SPC signals were worked out from the exact
     figures before release and stay.
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

The package has one concept per module: :mod:`.policy` (the policy, its numbers and the columns
at stake), :mod:`.counts` (small counts, rounding, size bands), :mod:`.pseudonyms`,
:mod:`.suppression` (primary and secondary), :mod:`.audiences` (what each audience keeps, and
:func:`require_releasable`), :mod:`.scrub` (practice names out of text), :mod:`.release` (the
:func:`apply_disclosure` choke point) and :mod:`.audit` (the linear-programming audit of what a
run's suppression protects). Audiences and comparators are defined in :mod:`clusterqi.vocabulary`;
disclosure control reads the comparator registry when it runs.

Example usage::

    from clusterqi.disclosure import DisclosurePolicy, apply_disclosure, require_releasable

    policy = DisclosurePolicy(audience="cluster", cluster_id="dundee-4")
    releasable, log = apply_disclosure(indicator_table, policy)
    require_releasable(releasable, "cluster")   # raises for an analyst-only table
"""

from clusterqi.disclosure.audiences import coarsening_note, require_releasable
from clusterqi.disclosure.counts import (
    BAND_MANTISSAS,
    BAND_MAX_EXPONENT,
    round_counts,
    size_band,
    suppress_small_counts,
    suppression_counts,
)
from clusterqi.disclosure.policy import (
    AUDIENCES,
    DEFAULT_THRESHOLD,
    ITEMS_COLUMN,
    MIDPOINT_ROUNDING_WIDTH,
    MIN_PRACTICES_FOR_PSEUDONYMS,
    OTHER_PRACTICE_TEXT,
    PSEUDONYM_ID_PREFIX,
    PSEUDONYM_PREFIX,
    RELEASED_RELIABILITY_DECIMALS,
    RELEASED_SIGNIFICANT_FIGURES,
    REQUIRED_COLUMNS,
    ROUNDING_MULTIPLE,
    ROUNDING_RULES,
    SUPPRESSED_QUALIFIER,
    SUPPRESSED_TEXT,
    DisclosurePolicy,
    DisclosurePolicyError,
    NotReleasableError,
    banded_rounded,
    numerator_derived,
    unrounded_giveaways,
)
from clusterqi.disclosure.pseudonyms import pseudonyms
from clusterqi.disclosure.log import LOG_COLUMNS
from clusterqi.disclosure.release import NOTE_COLUMNS, apply_disclosure, release_findings
from clusterqi.disclosure.suppression import suppress_cells

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
    "OTHER_PRACTICE_TEXT",
    "SUPPRESSED_TEXT",
    "REQUIRED_COLUMNS",
    "BAND_MANTISSAS",
    "BAND_MAX_EXPONENT",
    "LOG_COLUMNS",
    "DisclosurePolicy",
    "DisclosurePolicyError",
    "NotReleasableError",
    "apply_disclosure",
    "release_findings",
    "NOTE_COLUMNS",
    "require_releasable",
    "coarsening_note",
    "pseudonyms",
    "suppress_small_counts",
    "suppress_cells",
    "suppression_counts",
    "ITEMS_COLUMN",
    "round_counts",
    "size_band",
    "numerator_derived",
    "unrounded_giveaways",
    "banded_rounded",
]
