"""What a cluster's meeting should discuss: the few indicators that merit its time, ranked.

Pure functions over the released indicator table (docs/architecture.md), so the report's first
screen, the index page and the tests all rank the same way:

1. **verdicts**: the cluster's 12-month total is "better" or "worse" (or "higher" / "lower"
   where the indicator makes no judgement) than a comparator in the ``vs_*`` columns, i.e.
   outside the limits that allow for the usual variation between Scottish clusters. Worse
   comes first, then higher / lower, then better; within each, the furthest from Scotland.
2. **SPC**: a month of the report period outside the control limits, or a sustained shift
   (a shift still flagged on the latest month, at least :data:`SUSTAINED_SHIFT` months long).
   A lone run-rule signal (a trend, 2 of 3 points near a limit, a shift that has ended) is
   expected by chance in about one series in ten, so it does not put an indicator here.
3. **moves**: the largest changes of the last 12 months against the 12 before (same months, so
   seasons cancel), at least :data:`MOVE_SHARE` of the earlier value and larger than chance
   moves counts of that size (two standard errors of the log ratio of the item counts).

Suppressed totals (qualifier ``c``) are never ranked: their value is not released.

Example usage::

    from clusterqi.brief import what_to_discuss
    items = what_to_discuss(report.table, "dundee-4", report.catalogue)
    items[["rank", "reason", "sentence"]]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from clusterqi import vocabulary

__all__ = [
    "COMPARATORS",
    "MOVE_SHARE",
    "SUSTAINED_SHIFT",
    "DEFAULT_LIMIT",
    "what_to_discuss",
    "period_words",
    "trend_months",
    "format_number",
    "numbers_for_download",
]

COMPARATORS = {
    c.verdict_column: (c.value_column, c.phrase)
    for c in sorted(vocabulary.comparators(vocabulary.CLUSTER), key=lambda c: not c.funnel_verdict)
}
"""Verdict column -> (comparator value column, words), in the order a sentence names them: the
headline (the rest of Scotland) first, then the registry's order (:mod:`clusterqi.vocabulary`)."""

MOVE_SHARE = 0.10
"""Smallest change (a share of the earlier 12 months' value) counted as a move."""

SUSTAINED_SHIFT = 9
"""Months a shift must have lasted, up to the latest month, to lead (Anhøj's rule fires at 7)."""

DEFAULT_LIMIT = 5
"""Most indicators "What to discuss" lists: a meeting has time for a few."""

_VERDICT_ORDER = {"worse": 0, "higher": 1, "lower": 1, "better": 2}
_REASON_ORDER = {"verdict": 0, "spc": 1, "move": 2}


def format_number(value: Any) -> str:
    """A value as a reader sees it: 3 significant figures, thousands separated ("1,234", "0.512")."""
    if value is None or pd.isna(value):
        return ""
    value = float(value)
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    text = f"{value:.3g}"
    return text if "e" not in text else f"{value:,.0f}"


def period_words(period: str) -> str:
    """"2025-10..2026-09" -> "12 months to Sep 2026" (a single month: "Sep 2026")."""
    text = str(period)
    if ".." not in text:
        try:
            return pd.Period(text, freq="M").strftime("%b %Y")
        except ValueError:
            return text
    first, last = (pd.Period(p, freq="M") for p in text.split(".."))
    months = (last - first).n + 1
    return f"{months} month{'s' if months != 1 else ''} to {last.strftime('%b %Y')}"


def trend_months(table: pd.DataFrame, cluster_id: str) -> int:
    """How many months the cluster's trend charts show (its distinct month rows)."""
    rows = _own(table, cluster_id, "month")
    return int(rows["period"].nunique())


def _own(table: pd.DataFrame, cluster_id: str, period_type: str,
         columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The cluster's own rows of one period type; only ``columns`` (those the table has) if given."""
    keep = (where_equal(table["level"], "cluster") & where_equal(table["period_type"], period_type)
            & where_equal(table["area_id"], str(cluster_id)))
    if columns is not None:
        return table.loc[keep, [c for c in columns if c in table.columns]]
    return table[keep]


#: What the monthly series of an indicator is read for (its SPC signals and its move).
_SERIES_COLUMNS = ("indicator_id", "period", "value", "cl", "spc_rule", "spc_signal",
                   "denominator", "numerator_items")


def where_equal(column: pd.Series, value: str) -> np.ndarray:
    """Where ``column`` equals ``value`` (missing: False), without turning a whole column of
    categories into text first (a report's table has tens of thousands of rows)."""
    return column.eq(value).to_numpy(dtype=bool, na_value=False)


def _suppressed(row: Mapping[str, Any]) -> bool:
    return str(row.get("qualifier") or "") == "c" or pd.isna(row.get("value"))


def _indicator_words(indicator_id: str, catalogue: Mapping[str, Any] | None) -> tuple[str, str, Any]:
    ind = (catalogue or {}).get(indicator_id)
    if ind is None:
        return indicator_id.replace("_", " ").capitalize(), "", None
    return str(ind.title), str(getattr(ind, "unit", "") or ""), getattr(ind, "low_is_good", None)


def _verdicts(row: Mapping[str, Any]) -> list[tuple[str, str, Any]]:
    """(verdict word, comparator words, comparator value) for each comparator outside the limits."""
    found = []
    for column, (value_column, words) in COMPARATORS.items():
        verdict = row.get(column)
        if isinstance(verdict, str) and verdict in _VERDICT_ORDER:
            found.append((verdict, words, row.get(value_column)))
    return found


def _spc(months: pd.DataFrame, last_months: int) -> tuple[str | None, float]:
    """("outside" | "shift" | None, strength) for the cluster's monthly series of one indicator."""
    if months.empty or "spc_rule" not in months:
        return None, 0.0
    # a dozen or two months: read as plain arrays (pandas' per-call cost was most of the time)
    months = months.sort_values("period", kind="stable")
    rules = _texts(months["spc_rule"])
    signal = (months["spc_signal"].astype("boolean").fillna(False).to_numpy(dtype=bool)
              if "spc_signal" in months else np.array([rule != "" for rule in rules], dtype=bool))
    periods = months["period"].to_numpy(dtype=object)
    latest = set(sorted(pd.unique(periods))[-last_months:])
    recent = np.array([period in latest for period in periods], dtype=bool)
    outside = signal & np.array(["outside the limits" in rule for rule in rules], dtype=bool) & recent
    if outside.any():
        return "outside", float(outside.sum())
    shift = signal & np.array(["shift" in rule for rule in rules], dtype=bool)
    if len(shift) and shift[-1]:
        run = 0
        for flagged in shift[::-1]:
            if not flagged:
                break
            run += 1
        if run >= SUSTAINED_SHIFT:
            return "shift", float(run)
    return None, 0.0


def _texts(column: pd.Series) -> list[str]:
    """A column's values as text, missing as "" (as ``astype("string").fillna("")`` gives)."""
    return [value if isinstance(value, str) else "" if pd.isna(value) else str(value)
            for value in column.to_numpy(dtype=object)]


def _spc_direction(months: pd.DataFrame, kind: str) -> str | None:
    """Which way the signal points: the flag of the signalling months (improvement / concern)
    or, without one, whether the values sit above or below the centre line."""
    rules = months["spc_rule"].astype("string").fillna("")
    word = "outside the limits" if kind == "outside" else "shift"
    hit = months[rules.str.contains(word, regex=False)]
    if hit.empty:
        return None
    above = (pd.to_numeric(hit["value"], errors="coerce") > pd.to_numeric(hit["cl"], errors="coerce")).mean()
    return "above" if above >= 0.5 else "below"


def _move(months: pd.DataFrame) -> tuple[float, float, float] | None:
    """(earlier value, later value, relative change) of the last 12 months against the 12 before."""
    if len(months) < 24:
        return None
    months = months.sort_values("period", kind="stable")
    values = pd.to_numeric(months["value"], errors="coerce")
    if values.isna().any():
        return None
    weights = pd.to_numeric(months["denominator"], errors="coerce") if "denominator" in months else None
    earlier, later = values.iloc[-24:-12], values.iloc[-12:]
    if weights is not None and weights.notna().all() and (weights > 0).all():
        before = float(np.average(earlier, weights=weights.iloc[-24:-12]))
        after = float(np.average(later, weights=weights.iloc[-12:]))
    else:
        before, after = float(earlier.mean()), float(later.mean())
    if not before or not after:
        return None
    counts = (pd.to_numeric(months["numerator_items"], errors="coerce")
              if "numerator_items" in months else None)
    if counts is not None and counts.notna().all():
        n_before, n_after = float(counts.iloc[-24:-12].sum()), float(counts.iloc[-12:].sum())
        # a change smaller than chance moves counts this size (2 standard errors of the log
        # ratio of two Poisson counts) is not a move
        if n_before <= 0 or n_after <= 0 or abs(np.log(after / before)) < 2 * np.sqrt(1 / n_before + 1 / n_after):
            return None
    return before, after, after / before - 1.0


def _judge(direction_up: bool, low_is_good: Any) -> str:
    if low_is_good is None:
        return ""
    good = direction_up != bool(low_is_good)
    return " (better)" if good else " (worse)"


def what_to_discuss(
    table: pd.DataFrame,
    cluster_id: str,
    catalogue: Mapping[str, Any] | None = None,
    *,
    limit: int | None = DEFAULT_LIMIT,
    recent_months: int = 12,
    cluster_name: str | None = None,
) -> pd.DataFrame:
    """The indicators that merit the meeting's time, ranked, one sentence each.

    ``table`` is the released indicator table (the report's rows are enough); ``catalogue``
    maps indicator ids to definitions (title, unit, low_is_good; ids are used without it).
    Returns one row per indicator that qualifies, best first: ``rank`` (1, 2, ...),
    ``indicator_id``, ``title``, ``reason`` ("verdict" | "spc" | "move"), ``direction``
    (the verdict word, "above" / "below" the centre line, or "up" / "down"), ``value``,
    ``unit`` and ``sentence``. At most ``limit`` rows (None: all).

    Example usage::

        what_to_discuss(report.table, "dundee-4", report.catalogue)
    """
    totals = _own(table, cluster_id, "total")
    # each indicator's months with only the columns read from them: ~40 fewer columns to take
    # for each of ~17 groups, twice a report (now and "since the last report")
    months = _own(table, cluster_id, "month", _SERIES_COLUMNS)
    by_indicator = dict(tuple(months.groupby("indicator_id", sort=False, observed=True)))
    totals_of = dict(tuple(totals.groupby("indicator_id", sort=False, observed=True)))
    name = cluster_name
    if name is None and len(totals):
        name = str(totals["area_name"].iloc[0])
    name = name or str(cluster_id)
    ids = list(catalogue) if catalogue else list(dict.fromkeys(totals["indicator_id"].astype(str)))
    found = []
    for indicator_id in ids:
        title, unit, low_is_good = _indicator_words(indicator_id, catalogue)
        rows = totals_of.get(indicator_id)
        if rows is None:
            continue
        row = rows.iloc[0].to_dict()
        if _suppressed(row):
            continue
        value = float(row["value"])
        value_text = f"{format_number(value)} {unit}".strip()
        series = by_indicator.get(indicator_id, months.iloc[:0])
        verdicts = _verdicts(row)
        if verdicts:
            verdicts.sort(key=lambda v: _VERDICT_ORDER[v[0]])
            word = verdicts[0][0]
            scotland = row.get("scotland_value")
            distance = abs(value / float(scotland) - 1.0) if scotland and not pd.isna(scotland) else 0.0
            groups: dict[tuple[str, str], list[str]] = {}
            for verdict, words, other in verdicts:
                side = "higher" if (not pd.isna(other) and value > float(other)) else "lower"
                groups.setdefault((side, verdict), []).append(f"{words} ({format_number(other)})")
            compared = []
            for (side, verdict), places in groups.items():
                places_text = " and ".join(places)
                judged = f": {verdict}" if verdict in ("better", "worse") else ""
                compared.append(f"{side} than {places_text}{judged}")
            sentence = (f"{title}: {value_text}, " + "; ".join(compared)
                        + ", beyond the usual differences between clusters.")
            found.append(dict(indicator_id=indicator_id, title=title, reason="verdict",
                              direction=word, value=value, unit=unit, sentence=sentence,
                              _key=(0, _VERDICT_ORDER[word], -distance)))
            continue
        kind, strength = _spc(series, recent_months)
        if kind:
            side = _spc_direction(series, kind)
            judged = _judge(side == "above", low_is_good) if side else ""
            if kind == "outside":
                count = int(strength)
                what = (f"{count} month{'s' if count != 1 else ''} of the last {recent_months} "
                        f"{'were' if count != 1 else 'was'} {side or 'outside'} the control limits")
            else:
                what = (f"the last {int(strength)} months have all been {side or 'on one side of'} "
                        "the cluster's usual level (a sustained shift)")
            sentence = (f"{title}: {what}{judged}, more than ordinary month-to-month variation; "
                        f"12-month value {value_text}.")
            found.append(dict(indicator_id=indicator_id, title=title, reason="spc",
                              direction=side or "", value=value, unit=unit, sentence=sentence,
                              _key=(1, 0 if kind == "outside" else 1, -strength)))
            continue
        move = _move(series)
        if move and abs(move[2]) >= MOVE_SHARE:
            before, after, change = move
            up = change > 0
            sentence = (f"{title}: {'up' if up else 'down'} {abs(change):.0%}{_judge(up, low_is_good)}, "
                        f"from {format_number(before)} to {format_number(after)} {unit} "
                        "(the last 12 months against the 12 before).").replace("  ", " ")
            found.append(dict(indicator_id=indicator_id, title=title, reason="move",
                              direction="up" if up else "down", value=value, unit=unit,
                              sentence=sentence, _key=(2, 0, -abs(change))))
    columns = ["rank", "indicator_id", "title", "reason", "direction", "value", "unit", "sentence"]
    if not found:
        return pd.DataFrame(columns=columns)
    found.sort(key=lambda r: r["_key"])
    out = pd.DataFrame(found).drop(columns="_key")
    if limit is not None:
        out = out.head(limit)
    out.insert(0, "rank", range(1, len(out) + 1))
    return out[columns].reset_index(drop=True)


def numbers_for_download(rows: pd.DataFrame, catalogue: Mapping[str, Any]) -> pd.DataFrame:
    """The "download the numbers" rows with the indicator's title and unit beside its id.

    ``rows`` keeps every column it has (and their names); ``indicator_title`` and
    ``indicator_unit`` are inserted right after ``indicator_id``, so a reader of the CSV needs
    no catalogue.

    Example usage::

        numbers_for_download(report.numbers, report.catalogue).to_csv(index=False)
    """
    out = rows.copy()
    ids = out["indicator_id"].astype(str)
    titles = {k: str(getattr(v, "title", k)) for k, v in catalogue.items()}
    units = {k: str(getattr(v, "unit", "") or "") for k, v in catalogue.items()}
    at = list(out.columns).index("indicator_id") + 1
    out.insert(at, "indicator_title", pd.Series([titles.get(i, i) for i in ids], index=out.index,
                                                 dtype="str"))
    out.insert(at + 1, "indicator_unit", pd.Series([units.get(i, "") for i in ids], index=out.index,
                                                   dtype="str"))
    return out
