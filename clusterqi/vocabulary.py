"""The project's domain words, defined once: levels, audiences and comparators.

Every module that names a level of the geography, an audience or a comparator takes it from here
instead of typing the string, so that adding one is one entry here plus the code that computes
its values:

- :data:`LEVELS` and :class:`Level`: practice, cluster, HSCP, health board and Scotland, with the
  words the report uses for each.
- :class:`Audience` and :data:`AUDIENCES`: who a table or report is for, and what that allows
  (may it leave the analyst's machine, are practices pseudonymised, does it see other clusters'
  practices, which banner it carries).
- :class:`Comparator` and the comparator registry (:func:`comparators`,
  :func:`register_comparator`): each "compare with ..." of the indicator table. A comparator
  adds the columns ``<stem>_value``, ``vs_<stem>`` and ``vs_<stem>_unadjusted``. Disclosure
  control reads the registry when it runs, so the columns of a newly registered comparator are
  withheld with the numerators they derive from without anyone listing them again.

Example usage::

    from clusterqi.vocabulary import AUDIENCES, LEVELS, audience, comparators

    audience("cluster").pseudonymises                  # True
    [c.value_column for c in comparators("cluster")]   # rest_of_hscp_value, ...
    LEVELS["hb"].plural                                # "health boards"
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from types import MappingProxyType

__all__ = [
    "Level",
    "LEVELS",
    "PRACTICE",
    "CLUSTER",
    "HSCP",
    "HB",
    "SCOTLAND",
    "UNIT_LEVELS",
    "Audience",
    "AUDIENCES",
    "ANALYST",
    "CLUSTER_AUDIENCE",
    "PRACTICE_AUDIENCE",
    "DEFAULT_AUDIENCE",
    "audience",
    "Comparator",
    "REST_OF_CLUSTER",
    "REST_OF_HSCP",
    "REST_OF_HB",
    "REST_OF_SCOTLAND",
    "PEERS",
    "MEMBER_SEPARATOR",
    "HEADLINE",
    "headline",
    "comparators",
    "comparator",
    "register_comparator",
    "unregister_comparator",
    "registered",
    "value_columns",
    "verdict_columns",
    "unadjusted_columns",
    "comparator_columns",
]


# --- levels -------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Level:
    """One level of the geography: its id in the indicator table's ``level`` column and its words.

    ``short_plural`` is the word the interpretation sentences use ("between Scottish boards").
    """

    id: str
    singular: str
    plural: str
    short_plural: str
    #: the indicator-table column naming a row's unit at this level (None for Scotland)
    column: str | None


PRACTICE, CLUSTER, HSCP, HB, SCOTLAND = "practice", "cluster", "hscp", "hb", "scotland"

#: The levels, smallest first.
LEVELS = MappingProxyType({
    PRACTICE: Level(PRACTICE, "practice", "practices", "practices", "area_id"),
    CLUSTER: Level(CLUSTER, "cluster", "clusters", "clusters", "cluster_id"),
    HSCP: Level(HSCP, "HSCP", "HSCPs", "HSCPs", "hscp_code"),
    HB: Level(HB, "health board", "health boards", "boards", "hb_code"),
    SCOTLAND: Level(SCOTLAND, "Scotland", "Scotland", "Scotland", None),
})

#: Levels whose units are compared with comparators (get verdicts, SPC charts and practice charts).
UNIT_LEVELS = (PRACTICE, CLUSTER)


# --- audiences ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Audience:
    """Who a table or report is for, and what that allows.

    - ``releasable``: may leave the analyst's machine (passed disclosure control);
    - ``pseudonymises``: the cluster's own practices are shown as "Member practice A", "B"...;
    - ``sees_other_practices``: practice rows of other clusters are kept;
    - ``reveals_practice``: one practice (``reveal_practice``) keeps its name and exact figures;
    - ``banner``: the line a report or explorer for this audience carries (None: none);
    - ``label``: how a menu offers it;
    - ``summary``: one sentence under a report's title saying who it is for;
    - ``policy``: what disclosure control does for it, in words ("About this report").
    """

    name: str
    label: str
    releasable: bool
    pseudonymises: bool
    sees_other_practices: bool
    reveals_practice: bool = False
    banner: str | None = None
    summary: str = ""
    policy: str = ""


ANALYST = Audience(
    "analyst", "Analyst (everything)", releasable=False, pseudonymises=False,
    sees_other_practices=True,
    banner="Analyst view: not disclosure-controlled, not for release.",
    summary="Analyst view: not disclosure-controlled, not for release.",
    policy="This is an analyst view: nothing is hidden and it must not be released. ")
CLUSTER_AUDIENCE = Audience(
    "cluster", "Cluster lead (releasable)", releasable=True, pseudonymises=True,
    sees_other_practices=False,
    summary="For the cluster: member practices are not named.",
    policy=("Member practices are not named and their list sizes are shown only in bands; other "
            "clusters appear only as cluster totals. "))
PRACTICE_AUDIENCE = Audience(
    "practice", "One practice (releasable, names that practice)", releasable=True,
    pseudonymises=True, sees_other_practices=False, reveals_practice=True,
    summary="For one practice: that practice is named, the others are not.",
    policy="One practice is named; the other member practices are not. ")

#: Every audience by name, in the order menus and messages list them.
AUDIENCES = MappingProxyType({a.name: a for a in (ANALYST, CLUSTER_AUDIENCE, PRACTICE_AUDIENCE)})
#: The audience a report is for unless told otherwise.
DEFAULT_AUDIENCE = CLUSTER_AUDIENCE.name


def audience(name: str | Audience) -> Audience:
    """The :class:`Audience` called ``name`` (an Audience is returned as given).

    Raises ``ValueError`` naming the known audiences for an unknown name.
    """
    if isinstance(name, Audience):
        return name
    try:
        return AUDIENCES[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"audience {name!r} is not known; expected one of {', '.join(AUDIENCES)}") from None


# --- comparators --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Comparator:
    """One "compare with ..." of the indicator table.

    - ``stem``: the column stem: the table gets ``<stem>_value`` (the comparator's value on each
      row it applies to), ``vs_<stem>`` (the verdict on total rows) and ``vs_<stem>_unadjusted``;
    - ``unit_levels``: the levels whose rows are compared with it;
    - ``area_level``: the level of the rows its value is pooled from: where such a row is
      suppressed, the comparator's columns are withheld on every row that names that area
      (``area_level``'s column, e.g. ``hscp_code``) in the same cell, since the area's total
      minus the comparator would give the hidden count back;
    - ``label``: its name in menus (the trend chart's dropdown); ``phrase``: in sentences
      ("higher than the rest of its HSCP");
    - ``in_trend``: offered in the cluster trend chart's comparator menu;
    - ``funnel_verdict``: its verdict is the funnel's adjusted 99.8% flag (the rest of Scotland,
      the funnel's own comparison) rather than :func:`clusterqi.stats.compare_adjusted`;
    - ``members_column``: for a comparator pooled from a *set* of areas rather than one (peer
      clusters), the table column listing them on each compared row (ids joined by
      :data:`MEMBER_SEPARATOR`); its columns are withheld where any member's row is suppressed in
      the same cell (the pooled value less the other, visible members would give it back);
    - ``value_name``: the value column's name when it is not ``<stem>_value``.
    """

    stem: str
    unit_levels: tuple[str, ...]
    area_level: str
    label: str
    phrase: str
    in_trend: bool = True
    funnel_verdict: bool = False
    members_column: str | None = None
    value_name: str | None = None

    def __post_init__(self) -> None:
        unknown = [lv for lv in (*self.unit_levels, self.area_level) if lv not in LEVELS]
        if unknown:
            raise ValueError(f"Comparator {self.stem!r}: level(s) {unknown} not in {list(LEVELS)}")

    @property
    def value_column(self) -> str:
        return self.value_name or f"{self.stem}_value"

    @property
    def verdict_column(self) -> str:
        return f"vs_{self.stem}"

    @property
    def unadjusted_column(self) -> str:
        return f"vs_{self.stem}_unadjusted"

    @property
    def area_column(self) -> str | None:
        """The indicator-table column naming the area its value is pooled from (None: Scotland,
        or a set of areas listed in ``members_column``)."""
        if self.members_column is not None:
            return None
        return LEVELS[self.area_level].column

    @property
    def columns(self) -> tuple[str, str, str]:
        return (self.value_column, self.verdict_column, self.unadjusted_column)


#: Stems of the built-in comparators: each unit against the rest of an area that excludes it, and
#: a cluster against "clusters like ours" (its peer group, :mod:`clusterqi.peers`).
REST_OF_CLUSTER, REST_OF_HSCP, REST_OF_HB, REST_OF_SCOTLAND, PEERS = (
    "rest_of_cluster", "rest_of_hscp", "rest_of_hb", "rest_of_scotland", "peers")
#: Separator of the ids in a ``members_column`` (cluster ids never contain it).
MEMBER_SEPARATOR = ";"

_BUILT_IN = (
    Comparator(REST_OF_CLUSTER, (PRACTICE,), CLUSTER, "Rest of cluster",
               "the rest of its cluster", in_trend=False),
    Comparator(REST_OF_HSCP, (CLUSTER,), HSCP, "Rest of HSCP", "the rest of its HSCP"),
    Comparator(REST_OF_HB, (CLUSTER,), HB, "Rest of board", "the rest of its board"),
    Comparator(REST_OF_SCOTLAND, (PRACTICE, CLUSTER), SCOTLAND, "Rest of Scotland",
               "the rest of Scotland", funnel_verdict=True),
    Comparator(PEERS, (CLUSTER,), CLUSTER, "Clusters like ours", "clusters like it",
               members_column="peer_ids", value_name="peer_value"),
)
#: The comparator every unit has, whose verdict is the funnel's (the headline verdict).
HEADLINE = REST_OF_SCOTLAND
_REGISTRY: dict[str, Comparator] = {c.stem: c for c in _BUILT_IN}


def comparators(level: str | None = None) -> tuple[Comparator, ...]:
    """The registered comparators in order (those comparing units of ``level`` if given)."""
    found = tuple(_REGISTRY.values())
    return found if level is None else tuple(c for c in found if level in c.unit_levels)


def comparator(stem: str) -> Comparator:
    """The registered comparator with this stem; ``KeyError`` naming the known stems."""
    try:
        return _REGISTRY[stem]
    except KeyError:
        raise KeyError(f"comparator {stem!r} is not registered; known: {', '.join(_REGISTRY)}") from None


def headline() -> Comparator:
    """The headline comparator (the rest of Scotland): its verdict leads every sentence and colours
    the at-a-glance and practice charts."""
    return _REGISTRY[HEADLINE]


def register_comparator(new: Comparator) -> Comparator:
    """Add a comparator to the registry (after the built-in ones); its stem must be new."""
    if new.stem in _REGISTRY:
        raise ValueError(f"comparator {new.stem!r} is already registered")
    _REGISTRY[new.stem] = new
    return new


def unregister_comparator(stem: str) -> None:
    """Remove a comparator (e.g. one a test registered). Built-in comparators stay."""
    if stem in {c.stem for c in _BUILT_IN}:
        raise ValueError(f"comparator {stem!r} is built in and cannot be removed")
    _REGISTRY.pop(stem, None)


@contextlib.contextmanager
def registered(new: Comparator) -> Iterator[Comparator]:
    """``with registered(Comparator(...)):`` the comparator is registered inside the block only."""
    register_comparator(new)
    try:
        yield new
    finally:
        unregister_comparator(new.stem)


def value_columns() -> tuple[str, ...]:
    """``<stem>_value`` of every registered comparator."""
    return tuple(c.value_column for c in comparators())


def verdict_columns() -> tuple[str, ...]:
    """``vs_<stem>`` of every registered comparator."""
    return tuple(c.verdict_column for c in comparators())


def unadjusted_columns() -> tuple[str, ...]:
    """``vs_<stem>_unadjusted`` of every registered comparator."""
    return tuple(c.unadjusted_column for c in comparators())


def comparator_columns() -> tuple[str, ...]:
    """Every column a comparator adds, in the indicator table's order: value and verdict of each,
    then the unadjusted verdicts."""
    pairs = tuple(col for c in comparators() for col in (c.value_column, c.verdict_column))
    return pairs + unadjusted_columns()
