"""What every chart builder does before drawing: check the audience, pick rows, word the titles.

The builders in :mod:`clusterqi.charts` take the releasable indicator table (columns in
``docs/architecture.md``) and an indicator definition. This module holds the steps they share:

- :func:`check_audience`: refuse a table that has not passed disclosure control unless the
  audience is ``"analyst"`` (delegates to :func:`clusterqi.disclosure.require_releasable`).
- :func:`resolve_indicator`: accept an ``Indicator`` from ``load_catalogue()`` or its id.
- :func:`select_rows`: the rows of one indicator, level and period (and area or cluster).
- :func:`period_label`: ``"2025-10..2026-09"`` -> ``"12 months to Sep 2026"``.
- :func:`comparison_category`, :func:`funnel_category`: the words (better / similar / worse, or
  higher / lower, or "data quality: see note") that pick a marker's colour and shape.
- :func:`compact`: round the numbers a chart embeds, so each chart's data stays small.
- :func:`shared_chart_data` and :func:`prepared_once`: inside the block, a chart's rows are
  prepared once and shared by its builder, sentence and numbers table (same arguments).

Nothing here computes a statistic: values, intervals, limits and comparisons come from the
indicator table.

Example usage::

    check_audience(table, "cluster")
    ind = resolve_indicator("antibacterial_items_per_1000_per_day")
    rows = select_rows(table, ind.id, "cluster", "total")
"""

from __future__ import annotations

import contextlib
import functools
import math
import weakref
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from clusterqi.charts.theme import DATA_QUALITY_LABEL

__all__ = [
    "AUDIENCES",
    "LEVEL_NAMES",
    "check_audience",
    "resolve_indicator",
    "select_rows",
    "latest_total_period",
    "period_label",
    "months_label",
    "format_value",
    "format_interval",
    "compact",
    "size_column",
    "quality_flagged",
    "comparison_category",
    "funnel_category",
    "shared_chart_data",
    "prepared_once",
]

AUDIENCES = ("analyst", "cluster", "practice")
LEVEL_NAMES = {
    "practice": ("practice", "practices"),
    "cluster": ("cluster", "clusters"),
    "hscp": ("HSCP", "HSCPs"),
    "hb": ("health board", "health boards"),
    "scotland": ("Scotland", "Scotland"),
}
SIGNIFICANT_FIGURES = 4  # numbers embedded in chart data: enough for any axis or tooltip
PERIOD_SEPARATOR = ".."
QUALITY_FLAG_COLUMN = "quality_flag"
_INDICATOR_FIELDS = ("id", "title", "unit", "multiplier", "low_is_good", "kind")


def check_audience(table: pd.DataFrame, audience: str) -> None:
    """Refuse a table that has not passed disclosure control, unless the audience is "analyst".

    Raises ``ValueError`` for an unknown audience; the disclosure module's own error for a
    table that is not releasable.
    """
    if audience not in AUDIENCES:
        raise ValueError(
            f"audience {audience!r} is not known; expected one of {', '.join(AUDIENCES)}"
        )
    from clusterqi.disclosure import require_releasable

    require_releasable(table, audience)


def resolve_indicator(indicator: Any) -> Any:
    """The indicator definition: an ``Indicator`` as given, or looked up by its id string.

    Any object with the attributes id, title, unit, multiplier, low_is_good and kind will do.
    """
    if isinstance(indicator, str):
        from clusterqi.indicators import load_catalogue

        catalogue = load_catalogue()
        if indicator not in catalogue:
            raise KeyError(
                f"indicator {indicator!r} is not in the catalogue; known: "
                f"{', '.join(sorted(catalogue))}"
            )
        return catalogue[indicator]
    missing = [f for f in _INDICATOR_FIELDS if not hasattr(indicator, f)]
    if missing:
        raise TypeError(
            f"indicator {indicator!r} lacks {', '.join(missing)}; pass an Indicator from "
            "clusterqi.indicators.load_catalogue() or its id"
        )
    return indicator


def _require_columns(table: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise KeyError(
            f"{what} needs the indicator-table columns {', '.join(missing)}, which the table "
            f"lacks (it has: {', '.join(map(str, table.columns))})"
        )


def latest_total_period(table: pd.DataFrame, indicator_id: str, level: str) -> str:
    """The latest total period (``"2025-10..2026-09"``) of an indicator at a level."""
    rows = table[(table["indicator_id"] == indicator_id) & (table["level"] == level)
                 & (table["period_type"] == "total")]
    if rows.empty:
        raise ValueError(
            f"the table has no total-period rows for indicator {indicator_id!r} at level "
            f"{level!r}"
        )
    return _latest(rows["period"])


def _latest(periods: pd.Series | np.ndarray) -> str:
    """The latest of total periods, by their last month (then by their text)."""
    return max(pd.unique(periods), key=lambda p: (p.split(PERIOD_SEPARATOR)[-1], p))


def _texts(table: pd.DataFrame, column: str) -> np.ndarray:
    """A column's values as an object array, missing values as None (equal to no text)."""
    return table[column].to_numpy(dtype=object, na_value=None)


_PREPARED: ContextVar[dict | None] = ContextVar("clusterqi_prepared_chart_data", default=None)
_F = TypeVar("_F", bound=Callable[..., Any])


@contextlib.contextmanager
def shared_chart_data() -> Iterator[None]:
    """Within the block, each ``*_data`` function runs once per set of arguments.

    A chart, its sentence (:func:`clusterqi.charts.describe`) and its numbers table
    (:func:`clusterqi.charts.chart_data_table`) take the same arguments and so prepare the same
    rows; a report draws ~30 charts, and preparing each one's rows three times was a fifth of the
    report's time. Arguments are matched by identity for tables and definitions (the same
    objects), by value for strings and numbers; each caller gets its own copy of the frame.
    Outside the block nothing is remembered.

    Example usage::

        with shared_chart_data():
            chart = funnel_chart(table, ind, "cluster", highlight="dundee-4")
            text = describe("funnel", table, ind, "cluster", highlight="dundee-4")
    """
    token = _PREPARED.set({})
    try:
        yield
    finally:
        _PREPARED.reset(token)


def _identity(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return (type(value).__name__, id(value))


def prepared_once(func: _F) -> _F:
    """Decorate a chart's ``*_data`` function so :func:`shared_chart_data` can share its result
    (a frame, or a tuple of frames)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        memo = _PREPARED.get()
        if memo is None:
            return func(*args, **kwargs)
        key = (func.__module__, func.__qualname__, tuple(_identity(a) for a in args),
               tuple(sorted((k, _identity(v)) for k, v in kwargs.items())))
        if key not in memo:
            memo[key] = (func(*args, **kwargs), args, kwargs)  # arguments kept alive: ids stay unique
        result = memo[key][0]
        return tuple(part.copy() for part in result) if isinstance(result, tuple) else result.copy()

    return wrapper  # type: ignore[return-value]


_NONE = np.array([], dtype=np.intp)
#: Row positions by (indicator_id, level, period_type), per table: a report draws ~70 charts
#: from one table, and scanning all its rows for each cost a quarter of a report's chart time.
_INDEX: dict[int, tuple[weakref.ref, int, dict]] = {}


def _positions(table: pd.DataFrame) -> dict:
    """The table's row positions grouped by indicator, level and period type (built once)."""
    key = id(table)
    held = _INDEX.get(key)
    if held is not None and held[0]() is table and held[1] == len(table):
        return held[2]
    groups = {k: np.asarray(v, dtype=np.intp) for k, v in table.groupby(
        ["indicator_id", "level", "period_type"], sort=False, observed=True).indices.items()}
    for stale in [k for k, (ref, _, _) in _INDEX.items() if ref() is None]:
        del _INDEX[stale]
    _INDEX[key] = (weakref.ref(table), len(table), groups)
    return groups


def select_rows(
    table: pd.DataFrame,
    indicator_id: str,
    level: str,
    period_type: str,
    period: str | None = None,
    area_id: str | None = None,
    cluster_id: str | None = None,
    *,
    columns: list[str] | None = None,
) -> pd.DataFrame:
    """Rows of one indicator at one level, total or month, optionally one period / area / cluster.

    For ``period_type="total"`` and ``period=None`` the latest total period is used.
    Month rows come back sorted by period. ``columns``: only those of these columns the table
    has, for a caller that reads a few (taking a report table's ~55 columns is most of the
    cost of choosing its rows).
    """
    _require_columns(table, ["indicator_id", "level", "area_id", "area_name", "cluster_id",
                             "period_type", "period", "value"], "a chart")
    if level not in LEVEL_NAMES:
        raise ValueError(f"level {level!r} is not known; expected one of {', '.join(LEVEL_NAMES)}")
    # the rows are chosen by position on the few columns that choose them, and the whole
    # table's ~55 columns are taken once, at the end
    positions = _positions(table).get((indicator_id, level, period_type), _NONE)
    keep = np.ones(len(positions), dtype=bool)
    if period is not None or (period_type == "total" and len(positions)):
        periods = _texts(table, "period")[positions]
        keep &= periods == (period if period is not None else _latest(periods))
    for column, value in (("area_id", area_id), ("cluster_id", cluster_id)):
        if value is not None:  # on the column's values as an array (a Series here cost ~9x)
            keep &= _texts(table, column)[positions] == value
    positions = positions[keep]
    if period_type == "month":  # by period, rows of one period in table order
        periods = table["period"].iloc[positions].reset_index(drop=True)
        positions = positions[periods.sort_values(kind="stable").index.to_numpy()]
    if columns is not None:
        wanted = table.columns.get_indexer([c for c in columns if c in table.columns])
        return table.iloc[positions, wanted].reset_index(drop=True)
    return table.iloc[positions].reset_index(drop=True)


def _month_text(month: str) -> str:
    return pd.Timestamp(f"{month}-01").strftime("%b %Y")


def period_label(period: str) -> str:
    """Plain English for a period: ``"2025-10..2026-09"`` -> ``"12 months to Sep 2026"``.

    A single month (``"2026-09"``) reads ``"Sep 2026"``.
    """
    if PERIOD_SEPARATOR not in period:
        return _month_text(period)
    start, end = period.split(PERIOD_SEPARATOR)
    first, last = pd.Period(start, "M"), pd.Period(end, "M")
    months = (last - first).n + 1
    if months == 1:
        return _month_text(end)
    return f"{months} months to {_month_text(end)}"


def months_label(periods: pd.Series) -> str:
    """The span of a month series: ``"Oct 2024 to Sep 2026"``."""
    if len(periods) == 0:
        return "no months"
    return f"{_month_text(min(periods))} to {_month_text(max(periods))}"


def format_value(value: float) -> str:
    """A number for text and tooltips: 3 significant figures, thousands separated."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value):
        return "suppressed"
    value = float(value)
    if value == 0:
        return "0"
    digits = max(0, 2 - int(math.floor(math.log10(abs(value)))))
    return f"{value:,.{digits}f}"


def format_interval(lower: float, upper: float) -> str:
    """``"12.3 to 15.6"``, or ``"not shown"`` when either end is missing (withheld by disclosure
    control: suppressed with its count, or not shown for a pseudonymised practice)."""
    if pd.isna(lower) or pd.isna(upper):
        return "not shown"
    return f"{format_value(lower)} to {format_value(upper)}"


def compact(values: pd.Series) -> pd.Series:
    """Numbers rounded to a few significant figures, so the chart's embedded JSON stays small."""
    values = pd.to_numeric(values, errors="coerce").astype(float)
    arr = values.to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        magnitude = np.where(np.isfinite(arr) & (arr != 0),
                             np.floor(np.log10(np.abs(arr))), 0)
    decimals = (SIGNIFICANT_FIGURES - 1 - magnitude).clip(0, 12)
    factor = 10.0 ** decimals
    return pd.Series(np.round(arr * factor) / factor, index=values.index, name=values.name)


def size_column(rows: pd.DataFrame) -> pd.Series:
    """The size a chart may place a unit at: ``plot_size`` where present, else ``denominator``.

    The releasable table gives pseudonymised practices a banded ``plot_size`` (the band's
    midpoint) because an exact list size identifies a practice.
    """
    size = None
    if "denominator" in rows:
        size = pd.to_numeric(rows["denominator"], errors="coerce")
    if "plot_size" in rows:
        plot = pd.to_numeric(rows["plot_size"], errors="coerce")
        size = plot if size is None else plot.where(plot.notna(), size)
    if size is None:
        raise KeyError("a funnel chart needs a plot_size or denominator column")
    return size.astype(float)


def quality_flagged(rows: pd.DataFrame) -> pd.Series:
    """True where the row carries a data-quality flag (a ``quality_flag`` column, if any).

    A flag withholds the better / worse colouring: the marker reads "data quality: see note".
    """
    if QUALITY_FLAG_COLUMN not in rows:
        return pd.Series(False, index=rows.index)
    flag = rows[QUALITY_FLAG_COLUMN]
    if flag.dtype == bool:
        return flag
    return flag.notna() & ~flag.astype(str).str.strip().str.lower().isin(["", "false", "0", "none"])


def comparison_category(rows: pd.DataFrame, column: str) -> pd.Series:
    """The marker category from a ``vs_*`` column: its word, or "data quality: see note".

    Missing comparisons (suppressed rows) read "not compared".
    """
    words = rows[column].astype(object).where(rows[column].notna(), "not compared")
    return words.where(~quality_flagged(rows), DATA_QUALITY_LABEL).astype(str)


def funnel_category(rows: pd.DataFrame, column: str, low_is_good: bool | None) -> pd.Series:
    """The marker category from a funnel flag (``"high"``/``"low"``/``"within"``).

    Outside the limits is "worse" or "better" by ``low_is_good`` ("higher"/"lower" when it is
    None); inside is "similar". Data-quality flags win, missing flags read "not compared".
    """
    if low_is_good is None:
        words = {"high": "higher", "low": "lower", "within": "similar"}
    elif low_is_good:
        words = {"high": "worse", "low": "better", "within": "similar"}
    else:
        words = {"high": "better", "low": "worse", "within": "similar"}
    mapped = rows[column].map(words).astype(object)
    mapped = mapped.where(mapped.notna(), "not compared")
    return mapped.where(~quality_flagged(rows), DATA_QUALITY_LABEL).astype(str)
