"""Since the last report: what changed for a cluster between an earlier period and this one.

A run may name the previous run (its ``manifest.json``, ``previous_manifest``) or an earlier
period (``previous_period_end``); without either, a report compares with the same length of
time one quarter earlier (:data:`QUARTER` months before ``period_end``). Like is compared with
like: the earlier period is always recalculated from the data with today's indicator
definitions, and :func:`definitions_changed` says whether the previous run's definitions hash
(``indicator_definitions_sha256`` in its manifest) differed from today's.

What a report shows about the earlier period comes out of disclosure control: the earlier
period's released rows are made by :func:`clusterqi.report.released_table` with the same audience
and disclosure settings (the cluster's own rows of the report :func:`earlier_report` makes with
:func:`clusterqi.report.build_report`; ``tests/report`` checks the two agree), and only released
rows are compared, never the analyst table. A value suppressed in either period (qualifier ``c``) is never compared.

:func:`changes_since` lists one row per indicator that changed, by its most important change,
ranked: new signals (indicators that now appear under "What to discuss",
:func:`clusterqi.brief.what_to_discuss`), verdicts that moved (e.g. similar -> worse against
the rest of Scotland), resolved signals (indicators no longer listed), then the largest moves of
the 12-month value (at least :data:`clusterqi.brief.MOVE_SHARE` and more than chance moves
counts of that size).

Why one module of this size: "since the last report" is one feature (which earlier period,
from a manifest or a month; its released table; the comparison) and the sentences for each kind
of change are written from the same comparison columns.

Example usage::

    from clusterqi.since import since_last_report
    since = since_last_report(params, report)     # report.since: made with this on first use
    since.changes[["kind", "sentence"]]
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from clusterqi import vocabulary
from clusterqi.brief import (
    MOVE_SHARE,
    format_number,
    period_words,
    what_to_discuss,
    where_equal,
)
from clusterqi.errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    from clusterqi.parameters import ReportParameters
    from clusterqi.report import ClusterReport

__all__ = [
    "QUARTER",
    "KINDS",
    "CHANGE_COLUMNS",
    "Since",
    "earlier_period_end",
    "read_previous_manifest",
    "definitions_changed",
    "earlier_report",
    "changes_since",
    "compare_tables",
    "since_last_report",
    "since_maker",
]

QUARTER = 3
"""Months between a period and the one it is compared with when no previous run is named."""

NEW, MOVED, RESOLVED, VALUE = "new signal", "verdict moved", "resolved", "value moved"
KINDS = (NEW, MOVED, RESOLVED, VALUE)
"""The kinds of change, in the order they are ranked."""

CHANGE_COLUMNS = ["rank", "indicator_id", "title", "kind", "sentence", "earlier_value", "value",
                  "change"]
"""Columns of :func:`changes_since`'s frame (``change``: the relative change of the value)."""

SAME_PERIOD_A_QUARTER_EARLIER = "same period one quarter earlier"

# Set while the earlier period's report is being made, so that report does not look back again.
_MAKING_EARLIER: ContextVar[bool] = ContextVar("clusterqi_since_making_earlier", default=False)


@dataclass(frozen=True)
class Since:
    """What a report says about the earlier period it is compared with.

    ``period`` is the earlier period's label (``"2025-07..2026-06"``, empty when there is no
    comparison), ``period_end`` its last month; ``source`` is ``"previous run <path>"``,
    ``"previous period <YYYY-MM>"`` or ``"same period one quarter earlier"``;
    ``previous_run`` the previous run's manifest (or None); ``definitions_changed`` whether the
    previous run's indicator definitions differ from today's (the earlier period is recalculated
    with today's either way); ``changes`` the frame of :func:`changes_since`; ``reason`` why
    there is no comparison (None when there is one).
    """

    period: str
    period_end: str
    source: str
    previous_run: str | None = None
    definitions_changed: bool = False
    changes: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CHANGE_COLUMNS))
    reason: str | None = None

    @property
    def compared(self) -> bool:
        """True when an earlier period was compared (False: see :attr:`reason`)."""
        return self.reason is None

    @property
    def count(self) -> int | None:
        """How many changes (None when nothing was compared)."""
        return int(len(self.changes)) if self.compared else None

    @property
    def period_text(self) -> str:
        """The earlier period in words ("12 months to Jun 2026")."""
        return period_words(self.period) if self.period else self.period_end

    def record(self) -> dict[str, Any]:
        """What a manifest records about it (JSON-ready)."""
        return {"period": self.period, "period_end": self.period_end, "source": self.source,
                "previous_run": self.previous_run, "definitions_changed": self.definitions_changed,
                "changes": self.count, "reason": self.reason}


# --- which earlier period ----------------------------------------------------------------------


def read_previous_manifest(path: str | Path) -> dict[str, Any]:
    """The previous run's manifest as a dict; :class:`DataError` naming ``previous_manifest``
    when it cannot be read or names no period."""
    path = Path(path)
    if path.is_dir():
        path = path / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataError(f"previous_manifest {str(path)!r}: cannot be read ({exc.strerror}); expected "
                        "the manifest.json of an earlier batch run") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"previous_manifest {str(path)!r}: not valid JSON ({exc})") from None
    period = (manifest.get("parameters") or {}).get("period_end") if isinstance(manifest, dict) else None
    if not isinstance(period, str) or len(period) != 7:
        raise DataError(f"previous_manifest {str(path)!r}: names no period (parameters.period_end); "
                        "expected the manifest.json of an earlier batch run")
    return manifest


def earlier_period_end(period_end: str, previous_manifest: str | Path | None = None,
                       previous_period_end: str | None = None) -> str:
    """The last month (``"YYYY-MM"``) of the period a report is compared with.

    ``previous_period_end`` if given, else the previous run's ``period_end`` (from its
    manifest), else ``period_end`` minus :data:`QUARTER` months.

    Example usage::

        earlier_period_end("2026-09")                     # "2026-06"
        earlier_period_end("2026-09", previous_period_end="2026-03")
    """
    if previous_period_end:
        return str(pd.Period(previous_period_end, freq="M"))
    if previous_manifest:
        return str(read_previous_manifest(previous_manifest)["parameters"]["period_end"])
    return str(pd.Period(period_end, freq="M") - QUARTER)


def definitions_changed(previous_manifest: str | Path | None) -> bool:
    """Whether the previous run's indicator definitions hash differs from today's (False
    without a previous run: both periods are then calculated with today's definitions)."""
    if not previous_manifest:
        return False
    from clusterqi.indicators import catalogue_hash

    before = read_previous_manifest(previous_manifest).get("indicator_definitions_sha256")
    return before != catalogue_hash()


def _source(params) -> tuple[str, str | None]:
    if params.previous_period_end:
        return f"previous period {params.previous_period_end}", None
    if params.previous_manifest:
        return f"previous run {params.previous_manifest}", str(params.previous_manifest)
    return SAME_PERIOD_A_QUARTER_EARLIER, None


def _label(first: pd.Period, last: pd.Period) -> str:
    return f"{first.strftime('%Y-%m')}..{last.strftime('%Y-%m')}"


# --- the earlier period's report ---------------------------------------------------------------


def _data_months(params) -> set[str]:
    """The months the data hold up to ``period_end`` (the current run's month rows)."""
    from clusterqi.run_tables import run_for

    return set(run_for(params.data, params.period_end, params.months, params.indicator_table).months)


def _earlier_values(params) -> tuple[dict[str, Any] | None, str | None, str, str]:
    """(the earlier period's report parameters or None, reason or None, earlier period_end,
    earlier period label)."""
    end_text = earlier_period_end(params.period_end, params.previous_manifest, params.previous_period_end)
    end = pd.Period(end_text, freq="M")
    first = end - (params.months - 1)
    label = _label(first, end)
    if end >= pd.Period(params.period_end, freq="M"):
        return None, (f"the previous run covers {period_words(label)}, which is not before this "
                      "report's period"), end_text, label
    available = _data_months(params)
    wanted = {str(p) for p in pd.period_range(first, end, freq="M")}
    if not wanted <= available:
        start = min(available) if available else "none"
        return None, (f"the data do not reach back far enough: {period_words(label)} needs "
                      f"{first.strftime('%b %Y')} onwards, and the data start in "
                      f"{pd.Period(start, freq='M').strftime('%b %Y') if available else 'no month'}"
                      ), end_text, label
    values = params.model_dump()
    values.update(period_end=end_text, indicator_table=None, previous_manifest=None,
                  previous_period_end=None, local_measures=None)
    return values, None, end_text, label


def _not_made(exc: DataError, label: str) -> str:
    if "is not a cluster" in str(exc):
        return f"the cluster is not in the data for {period_words(label)}"
    return f"the report for {period_words(label)} could not be made ({exc})"


def earlier_report(params: ReportParameters) -> ClusterReport | None:
    """The cluster's report for the earlier period (same length, audience and disclosure
    settings, today's definitions), or None when the data do not reach back far enough (or the
    cluster is not in them then); :func:`since_last_report` says why.

    Example usage::

        earlier = earlier_report(report_parameters(cluster_id="ardcraig-east-1", period_end="2026-09"))
        earlier.total_period        # "2025-07..2026-06"
    """
    from clusterqi.report import build_report

    values = _earlier_values(params)[0]
    if values is None:
        return None
    token = _MAKING_EARLIER.set(True)
    try:
        return build_report(**values)
    except DataError:
        return None
    finally:
        _MAKING_EARLIER.reset(token)


def since_last_report(params: ReportParameters, current: ClusterReport) -> Since | None:
    """What :func:`clusterqi.report.build_report` puts in ``report.since``: the earlier period,
    where it comes from, whether definitions changed, and the changes (or why there are none).

    The earlier period's released rows come from :func:`clusterqi.report.released_table` (the
    cluster's own rows of the report :func:`earlier_report` would make, without the rest of
    it). None for the earlier period's own report (it does not look back again).
    """
    from clusterqi.report import released_table

    if _MAKING_EARLIER.get():
        return None
    source, previous = _source(params)
    changed = definitions_changed(params.previous_manifest)
    values, reason, end, label = _earlier_values(params)
    earlier = None
    if values is not None:
        try:
            earlier = released_table(**values)
        except DataError as exc:
            reason = _not_made(exc, label)
    if earlier is None:
        return Since(period="", period_end=end, source=source, previous_run=previous,
                     definitions_changed=changed, reason=reason)
    totals = earlier.loc[earlier["period_type"].astype(str) == "total", "period"]
    changes = compare_tables(current.table, earlier, current.cluster_id, current.catalogue,
                             cluster_name=current.cluster_name, current_items=current.discussion)
    return Since(period=str(totals.iloc[0]) if len(totals) else label, period_end=end, source=source,
                 previous_run=previous, definitions_changed=changed, changes=changes)


def since_maker(params: ReportParameters, current: ClusterReport):
    """What :func:`clusterqi.report.build_report` keeps in ``report.since_of``: a function making
    :func:`since_last_report` when ``report.since`` is first read (a report or explorer view
    that never shows it makes no earlier report), or None for the earlier period's own report."""
    if _MAKING_EARLIER.get():
        return None
    return partial(since_last_report, params, current)


# --- what changed ------------------------------------------------------------------------------


_VERDICT_WORDS = {"better": "better than", "worse": "worse than", "similar": "similar to",
                  "higher": "higher than", "lower": "lower than"}
_MOVE_ORDER = {"worse": 0, "higher": 1, "lower": 1, "similar": 2, "better": 3}


def _totals(table: pd.DataFrame, cluster_id: str) -> dict[str, dict[str, Any]]:
    keep = (where_equal(table["level"], vocabulary.CLUSTER) & where_equal(table["period_type"], "total")
            & where_equal(table["area_id"], str(cluster_id)))
    rows = table[keep]
    return {str(r["indicator_id"]): r for r in rows.to_dict("records")}


def _released(row: Mapping[str, Any] | None) -> bool:
    if row is None:
        return False
    value = row.get("value")
    return str(row.get("qualifier") or "") != "c" and value is not None and not pd.isna(value)


def _title(indicator_id: str, catalogue: Mapping[str, Any] | None) -> tuple[str, str, Any]:
    ind = (catalogue or {}).get(indicator_id)
    if ind is None:
        return indicator_id.replace("_", " ").capitalize(), "", None
    return str(ind.title), str(getattr(ind, "unit", "") or ""), getattr(ind, "low_is_good", None)


def _verdict_moves(now: Mapping[str, Any], before: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(comparator phrase, verdict now, verdict before) for each comparator whose verdict moved;
    the headline comparator (the rest of Scotland) first."""
    found = []
    order = sorted(vocabulary.comparators(vocabulary.CLUSTER),
                   key=lambda c: 0 if c.stem == vocabulary.HEADLINE else 1)
    for comp in order:
        a, b = now.get(comp.verdict_column), before.get(comp.verdict_column)
        if isinstance(a, str) and isinstance(b, str) and a in _VERDICT_WORDS and b in _VERDICT_WORDS and a != b:
            found.append((comp.phrase, a, b))
    return found


def _moves_text(moves: list[tuple[str, str, str]]) -> str:
    return "; ".join(f"now {_VERDICT_WORDS[a]} {phrase} (was {b})" for phrase, a, b in moves)


def _rest(sentence: str) -> str:
    text = str(sentence)
    return text.split(": ", 1)[1] if ": " in text else text


def _value_move(now: Mapping[str, Any], before: Mapping[str, Any]) -> float | None:
    """Relative change of the 12-month value, when it is at least MOVE_SHARE and more than
    chance moves counts of that size (two standard errors of the log ratio of the item counts)."""
    after, earlier = float(now["value"]), float(before["value"])
    if earlier <= 0 or after <= 0:
        return None
    change = after / earlier - 1.0
    if abs(change) < MOVE_SHARE:
        return None
    n_after, n_before = now.get("numerator_items"), before.get("numerator_items")
    if n_after is not None and n_before is not None and not pd.isna(n_after) and not pd.isna(n_before):
        n_after, n_before = float(n_after), float(n_before)
        if n_after <= 0 or n_before <= 0:
            return None
        if abs(np.log(after / earlier)) < 2 * np.sqrt(1 / n_after + 1 / n_before):
            return None
    return change


def _judged(up: bool, low_is_good: Any) -> str:
    if low_is_good is None:
        return ""
    return " (better)" if up != bool(low_is_good) else " (worse)"


def compare_tables(current: pd.DataFrame, earlier: pd.DataFrame, cluster_id: str,
                   catalogue: Mapping[str, Any] | None = None, *, cluster_name: str | None = None,
                   current_items: pd.DataFrame | None = None) -> pd.DataFrame:
    """The changes of one cluster between two **released** tables (the earlier period's and
    this one's): one row per indicator that changed, by its most important change, ranked
    (columns :data:`CHANGE_COLUMNS`). See :func:`changes_since`. ``current_items``: the current
    table's :func:`clusterqi.brief.what_to_discuss` (no limit) when already worked out
    (``report.discussion``).

    Example usage::

        compare_tables(report.table, earlier.table, "ardcraig-east-1", report.catalogue)
    """
    now_rows, before_rows = _totals(current, cluster_id), _totals(earlier, cluster_id)
    now_items = (current_items if current_items is not None else
                 what_to_discuss(current, cluster_id, catalogue, limit=None, cluster_name=cluster_name))
    before_items = what_to_discuss(earlier, cluster_id, catalogue, limit=None, cluster_name=cluster_name)
    now_listed = dict(zip(now_items["indicator_id"].astype(str), now_items.to_dict("records")))
    before_listed = dict(zip(before_items["indicator_id"].astype(str), before_items.to_dict("records")))
    now_period = next((str(r.get("period")) for r in now_rows.values()), "")
    before_period = next((str(r.get("period")) for r in before_rows.values()), "")
    between = (f" ({period_words(now_period)} against {period_words(before_period)})"
               if now_period and before_period else "")
    ids = list(catalogue) if catalogue else list(dict.fromkeys([*now_rows, *before_rows]))
    found = []
    for indicator_id in ids:
        now, before = now_rows.get(indicator_id), before_rows.get(indicator_id)
        if not (_released(now) and _released(before)):
            continue  # a suppressed value is never compared
        title, unit, low_is_good = _title(indicator_id, catalogue)
        value, earlier_value = float(now["value"]), float(before["value"])
        moves = _verdict_moves(now, before)
        worst = min((_MOVE_ORDER[a] for _, a, _ in moves), default=9)
        row = dict(indicator_id=indicator_id, title=title, earlier_value=earlier_value,
                   value=value, change=value / earlier_value - 1.0 if earlier_value else np.nan)
        if indicator_id in now_listed and indicator_id not in before_listed:
            what = _moves_text(moves) if moves else f"new to discuss: {_rest(now_listed[indicator_id]['sentence'])}"
            found.append({**row, "kind": NEW, "sentence": f"{title}: {what.rstrip('.')}.",
                          "_key": (0, int(now_listed[indicator_id]["rank"]), 0.0)})
        elif moves:
            resolved = indicator_id in before_listed and indicator_id not in now_listed
            kind = RESOLVED if resolved else MOVED
            tail = "; no longer one to discuss" if resolved else ""
            found.append({**row, "kind": kind, "sentence": f"{title}: {_moves_text(moves)}{tail}.",
                          "_key": (1 if kind == MOVED else 2, worst, 0.0)})
        elif indicator_id in before_listed and indicator_id not in now_listed:
            last = _rest(before_listed[indicator_id]["sentence"]).rstrip(".")
            found.append({**row, "kind": RESOLVED,
                          "sentence": f"{title}: no longer stands out (last time: {last}).",
                          "_key": (2, int(before_listed[indicator_id]["rank"]), 0.0)})
        else:
            change = _value_move(now, before)
            if change is None:
                continue
            up = change > 0
            sentence = (f"{title}: {'up' if up else 'down'} {abs(change):.0%}{_judged(up, low_is_good)}, "
                        f"from {format_number(earlier_value)} to {format_number(value)} {unit}"
                        f"{between}.")
            sentence = sentence.replace("  ", " ").replace(" .", ".")
            found.append({**row, "kind": VALUE, "sentence": sentence,
                          "_key": (3, 0, -abs(change))})
    if not found:
        return pd.DataFrame({c: pd.Series(dtype="float64" if c in ("earlier_value", "value", "change")
                                          else ("int64" if c == "rank" else "str"))
                             for c in CHANGE_COLUMNS})
    found.sort(key=lambda r: r["_key"])
    out = pd.DataFrame(found).drop(columns="_key")
    out.insert(0, "rank", range(1, len(out) + 1))
    return out[CHANGE_COLUMNS].reset_index(drop=True)


def changes_since(current: ClusterReport, earlier: ClusterReport) -> pd.DataFrame:
    """What changed for the cluster since the earlier period's report, one row per indicator
    that changed, ranked: new signals, verdicts moved, resolved, then the largest moves.

    Both reports are disclosure-controlled (their ``table`` is what each releases); a value
    suppressed in either is never compared. Columns :data:`CHANGE_COLUMNS`: ``kind`` one of
    :data:`KINDS`; ``sentence`` in plain words with the direction, e.g. "Opioids ...: now worse
    than the rest of Scotland (was similar)."

    Example usage::

        changes_since(report, earlier_report(params))[["kind", "sentence"]]
    """
    return compare_tables(current.table, earlier.table, current.cluster_id, current.catalogue,
                          cluster_name=current.cluster_name)
