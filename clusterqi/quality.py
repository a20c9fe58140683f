"""Data-quality flags: what an analyst should know before comparing a practice's figures.

Clusters distrust data quality and clinical coding. :func:`assess_quality` looks at the dataset
and the indicator table and returns one tidy row per practice x indicator (x month where it
applies) for each of these checks, with a plain-English reason:

- ``missing_month``: no prescribing at all for a month in which the practice was open and
  usually prescribes (a file or submission problem, not a quiet month);
- ``zero_month``: no items for an indicator in a month where the practice usually prescribes
  at least :data:`ZERO_MONTH_MIN_TYPICAL`;
- ``list_size_jump``: list size changing by more than :data:`LIST_SIZE_JUMP` between
  consecutive quarterly releases (per-patient rates around it may reflect registration
  changes, e.g. a merger);
- ``small_denominator``: a list size below :data:`MIN_LIST_SIZE` (rates), or fewer than
  :data:`MIN_PROPORTION_DENOMINATOR` denominator items over the period (proportions);
- ``implausible_value``: a negative or infinite value, a proportion above 100%, or a value
  more than :data:`IMPLAUSIBLE_RATIO` times the median practice's;
- ``coding_change``: a sudden shift in which of the indicator's codes the practice's items
  fall under (total variation distance of at least :data:`CODING_SHIFT_MIN` between the code
  shares of the :data:`CODING_WINDOW` months before and after, beyond the shift of all
  practices together (seasons move the national mix), and a chi-square p-value
  below :data:`CODING_P_VALUE` after allowing for the practice's usual month-to-month
  variation, so noise is not mistaken for it), the mark of a coding or
  product switch rather than a clinical change;
- ``practice_opens`` / ``practice_closes``: the practice first appears in, or disappears from,
  the quarterly list-size releases within the data;
- ``denominator_gap``: the loaders found no population for the practice in a release, or a
  population total far from its list size (``Dataset.warnings`` kinds ``missing_population``,
  ``population_mismatch``); its per-patient rows get no verdict, and its cluster's note says a
  member practice is left out of (or untrusted in) the cluster's figures.

A flag does not hide a value: :func:`flag_indicator_table` withholds the better/worse colouring
of the flagged cells of the analyst table (``quality_flag`` = "data quality: see note", the
``vs_*`` columns cleared) before disclosure control, and returns the findings behind them, each
with an analyst wording and a release-safe one that quotes no list size;
:func:`clusterqi.disclosure.release_findings` names them as a releasable table names its units
(pseudonyms in the cluster audience; never a practice code).

Why one module of this size: each check is short, but they share the dataset's monthly counts, the
catalogue's code matching and the flag vocabulary (:data:`FLAGS`); one module keeps every check
and its wording side by side for review.

Example usage::

    from clusterqi.quality import assess_quality, flag_indicator_table

    flags = assess_quality(dataset, indicator_table)
    table, findings = flag_indicator_table(indicator_table, flags)
    releasable, log = apply_disclosure(table, policy)
    notes = release_findings(findings, releasable, table, policy)
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from clusterqi import vocabulary
from clusterqi.errors import DataError
from clusterqi.indicators import load_catalogue
from clusterqi.vocabulary import CLUSTER, PRACTICE, UNIT_LEVELS

__all__ = [
    "FLAGS",
    "QUALITY_NOTE",
    "LIST_SIZE_JUMP",
    "MIN_LIST_SIZE",
    "MIN_PROPORTION_DENOMINATOR",
    "IMPLAUSIBLE_RATIO",
    "ZERO_MONTH_MIN_TYPICAL",
    "MISSING_MONTH_MIN_ITEMS",
    "CODING_SHIFT_MIN",
    "CODING_P_VALUE",
    "CODING_WINDOW",
    "CODING_MIN_ITEMS",
    "assess_quality",
    "flag_indicator_table",
    "FINDING_COLUMNS",
]

#: Relative list-size change between consecutive quarterly releases that is flagged.
LIST_SIZE_JUMP = 0.10
#: Practices with fewer registered patients give rates that swing widely by chance.
MIN_LIST_SIZE = 500
#: Fewest denominator items over the period for a proportion to be compared.
MIN_PROPORTION_DENOMINATOR = 50
#: A value this many times the median practice's is implausible rather than unusual.
IMPLAUSIBLE_RATIO = 10.0
#: A practice whose median monthly numerator is at least this "usually prescribes".
ZERO_MONTH_MIN_TYPICAL = 10
#: A practice whose median monthly items (everything) is at least this should never be absent.
MISSING_MONTH_MIN_ITEMS = 20
#: Total variation distance between code shares before and after that marks a coding change: a
#: fifth of the volume moving code. A product or formulary switch moves most of it (the planted one
#: in synthetic Scotland moves 55%); at a tenth, ordinary lumpy months of seasonal antibacterials
#: and inhalers in a few of ~900 practices passed the chi-square test too (11-14% moves).
CODING_SHIFT_MIN = 0.2
#: ... and the shift must be far beyond chance (Pearson chi-square test of the 2 x codes table).
CODING_P_VALUE = 1e-6
#: Months compared either side of a possible coding change.
CODING_WINDOW = 3
#: Fewest items either side (over the window) for code shares to mean anything.
CODING_MIN_ITEMS = 30
#: Shown instead of the better/worse colouring of a flagged cell.
QUALITY_NOTE = "data quality: see note"

#: Flag -> release-safe note (no numbers, no practice names).
FLAGS = {
    "missing_month": "Prescribing data are missing for this month; the figures understate it.",
    "zero_month": "No items for this indicator in a month where the practice usually prescribes "
                  "them; possibly a data or coding problem.",
    "list_size_jump": "The list size changed by more than 10% between quarterly releases; "
                      "per-patient figures around then may reflect registration changes.",
    "small_denominator": "The denominator is small, so the figure can swing widely by chance.",
    "implausible_value": "The value is outside plausible bounds; check the data before acting.",
    "coding_change": "The codes this indicator's items are recorded under changed suddenly: a "
                     "coding or product switch rather than a clinical change.",
    "practice_opens": "The practice opened during the period; earlier months have no data.",
    "practice_closes": "The practice closed during the period; later months have no data.",
    "denominator_gap": "The practice's registered population is missing or disagrees with its "
                       "list size, so its per-patient figures are left out of the totals or not "
                       "trusted.",
}
#: Flags that also affect the figures of the practice's cluster.
CLUSTER_FLAGS = ("missing_month", "list_size_jump", "coding_change", "practice_opens",
                 "practice_closes", "denominator_gap")
#: Dataset warnings that make a practice's population denominators unusable or untrusted.
DENOMINATOR_WARNINGS = ("missing_population", "population_mismatch")
FLAG_COLUMNS = ["practice_code", "indicator_id", "month", "flag", "reason"]
#: How a cluster's note about one of its practices starts.
MEMBER_NOTE = "A member practice: "


def _month(period: pd.Series) -> pd.Series:
    return pd.to_datetime(period.astype(str) + "-01", format="%Y-%m-%d", errors="coerce")


def _flagged_rows(table: pd.DataFrame, marks: pd.DataFrame) -> np.ndarray:
    """Positions of the rows a flag applies to: every row of the unit and indicator for a flag
    without a month; else the month's row, and each total whose period holds the month."""
    wanted: dict[tuple, list] = {}
    for key in zip(marks["level"], marks["area_id"], marks["indicator_id"], marks["month"]):
        wanted.setdefault(key[:3], []).append(key[3])
    level, area, indicator, kind, period = (
        table[c].to_numpy(dtype=object)
        for c in ("level", "area_id", "indicator_id", "period_type", "period"))
    # each period's months parsed once: "YYYY-MM", or "YYYY-MM..YYYY-MM" for a total
    texts = pd.Series(sorted({p for part in map(str, set(period)) for p in part.split("..")}))
    first_day = dict(zip(texts, _month(texts)))

    units = {key[1] for key in wanted}
    hits = []
    for i in np.flatnonzero([a in units for a in area]):
        months = wanted.get((level[i], area[i], indicator[i]))
        if not months:
            continue
        text = str(period[i])
        parts = text.split("..")
        for month in months:
            if (pd.isna(month)
                    or (kind[i] == "month" and first_day[text] == month)
                    or (kind[i] == "total" and first_day[parts[0]] <= month <= first_day[parts[-1]])):
                hits.append(i)
                break
    return np.asarray(hits, dtype=np.intp)


def _fmt_month(ts) -> str:
    return pd.Timestamp(ts).strftime("%B %Y")


def _frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=FLAG_COLUMNS)
    frame["month"] = pd.to_datetime(frame["month"])
    return frame


def _expand(practice_flags: pd.DataFrame, indicators: list[str]) -> pd.DataFrame:
    """A flag about the practice as a whole applies to each indicator."""
    if practice_flags.empty:
        return _frame([])
    out = practice_flags.drop(columns="indicator_id").merge(
        pd.DataFrame({"indicator_id": indicators}), how="cross")
    return out[FLAG_COLUMNS]


def assess_quality(dataset, indicator_table: pd.DataFrame,
                   catalogue: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Data-quality flags: practice_code, indicator_id, month (NaT if not month-specific), flag, reason.

    Looks at every practice and indicator of the indicator table, over all months the dataset
    holds (a coding change or list-size jump just before the period still matters for trends).
    ``catalogue`` (default :func:`clusterqi.indicators.load_catalogue`) gives each indicator's
    codes and kind; indicators missing from it skip the checks that need them.

    Example usage::

        flags = assess_quality(dataset, indicator_table)
        flags.groupby("flag").size()
    """
    for column in ("indicator_id", "level", "area_id", "period_type", "period", "numerator",
                   "denominator", "value"):
        if column not in indicator_table.columns:
            raise DataError(f"indicator table: missing column {column}; expected the table of "
                            "clusterqi.indicators.calculate_indicators")
    if catalogue is None:
        catalogue = load_catalogue()
    rows = indicator_table[indicator_table["level"] == "practice"]
    indicators = sorted(rows["indicator_id"].astype(str).unique())
    codes = sorted(rows["area_id"].astype(str).unique())
    kinds = {i: getattr(catalogue.get(i), "kind", None) for i in indicators}
    practices = dataset.practices[dataset.practices["practice_code"].isin(codes)]
    spans, status = _open_close(dataset, practices)
    missing = _missing_months(dataset, spans)
    rate_indicators = [i for i in indicators if kinds[i] in ("rate", None)]
    parts = [
        _expand(status, indicators),
        _expand(missing, indicators),
        _expand(_list_size_jumps(dataset, codes), rate_indicators),
        _zero_months(rows, missing),
        _small_denominators(rows, practices, kinds),
        _implausible(rows, kinds),
        _coding_changes(dataset, codes, catalogue, indicators),
        _expand(_denominator_gaps(dataset, codes), [i for i in indicators if kinds[i] == "rate"]),
    ]
    flags = pd.concat([p for p in parts if not p.empty] or [_frame([])], ignore_index=True)
    flags["practice_code"] = flags["practice_code"].astype("str")
    flags["indicator_id"] = flags["indicator_id"].astype("str")
    flags["flag"] = flags["flag"].astype("str")
    flags["reason"] = flags["reason"].astype("str")
    flags["month"] = pd.to_datetime(flags["month"])
    return flags.sort_values(["practice_code", "indicator_id", "month", "flag"],
                             na_position="first", ignore_index=True)


def _denominator_gaps(dataset, codes: list[str]) -> pd.DataFrame:
    """``denominator_gap`` for practices the loaders found without a usable population
    (``Dataset.warnings`` of kinds :data:`DENOMINATOR_WARNINGS`), naming what was found."""
    warned = getattr(dataset, "warnings", None)
    if warned is None or warned.empty:
        return _frame([])
    rows = warned[warned["kind"].isin(DENOMINATOR_WARNINGS) & warned["practice_code"].isin(codes)]
    out = [{"practice_code": r.practice_code, "indicator_id": "", "month": pd.NaT,
            "flag": "denominator_gap",
            "reason": f"Practice {r.practice_code}: {r.message}."}
           for r in rows.drop_duplicates(["practice_code", "kind"]).itertuples(index=False)]
    return _frame(out)


def _open_close(dataset, practices: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each practice's open span (first, last month) and opens/closes flags."""
    releases = sorted(pd.to_datetime(dataset.list_sizes["date"]).unique())
    months = sorted(pd.to_datetime(dataset.prescribing["month"]).unique())
    first_month, last_month = (months[0], months[-1]) if months else (releases[0], releases[-1])
    rows, spans = [], []
    for p in practices.itertuples(index=False):
        first, last = pd.Timestamp(p.first_release), pd.Timestamp(p.last_release)
        start, end = first_month, last_month
        if first > releases[0]:
            start = first.to_period("M").to_timestamp()
            rows.append({"practice_code": p.practice_code, "indicator_id": "", "month": pd.NaT,
                         "flag": "practice_opens",
                         "reason": f"The practice first appears in the list-size release of "
                                   f"{first:%d %B %Y}; it opened then, so earlier months have "
                                   "no data rather than low figures."})
        if last < releases[-1]:
            following = next(r for r in releases if r > last)
            end = (pd.Timestamp(following) - pd.DateOffset(months=1)).to_period("M").to_timestamp()
            rows.append({"practice_code": p.practice_code, "indicator_id": "", "month": pd.NaT,
                         "flag": "practice_closes",
                         "reason": f"The practice is missing from the list-size releases from "
                                   f"{pd.Timestamp(following):%d %B %Y}: it closed or merged, "
                                   "so later months have no data rather than low figures."})
        spans.append({"practice_code": p.practice_code, "start": start, "end": end})
    return pd.DataFrame(spans, columns=["practice_code", "start", "end"]), _frame(rows)


def _missing_months(dataset, spans: pd.DataFrame) -> pd.DataFrame:
    rx = dataset.prescribing
    totals = rx.groupby(["practice_code", "month"], observed=True)["items"].sum()
    months = sorted(pd.to_datetime(rx["month"]).unique())
    typical = totals.groupby(level=0, observed=True).median()
    present = set(totals[totals > 0].index)
    rows = []
    for s in spans.itertuples(index=False):
        if typical.get(s.practice_code, 0) < MISSING_MONTH_MIN_ITEMS:
            continue
        for m in months:
            if s.start <= m <= s.end and (s.practice_code, m) not in present:
                rows.append({"practice_code": s.practice_code, "indicator_id": "", "month": m,
                             "flag": "missing_month",
                             "reason": f"No prescribing at all for {_fmt_month(m)} although the "
                                       "practice was open and usually prescribes: the month is "
                                       "missing from the data, so its figures understate it."})
    return _frame(rows)


def _list_size_jumps(dataset, codes: list[str]) -> pd.DataFrame:
    sizes = dataset.list_sizes[dataset.list_sizes["practice_code"].isin(codes)]
    sizes = sizes.sort_values(["practice_code", "date"])
    previous = sizes.groupby("practice_code")["list_size"].shift()
    previous_date = sizes.groupby("practice_code")["date"].shift()
    change = sizes["list_size"] / previous - 1
    jumps = sizes[(change.abs() > LIST_SIZE_JUMP) & (previous > 0)]
    rows = [{
        "practice_code": r.practice_code, "indicator_id": "",
        "month": pd.Timestamp(r.date).to_period("M").to_timestamp(), "flag": "list_size_jump",
        "reason": f"The list size changed by {change[i]:+.0%} (from {previous[i]:,.0f} to "
                  f"{r.list_size:,.0f}) between the releases of {pd.Timestamp(previous_date[i]):%d %B %Y} "
                  f"and {pd.Timestamp(r.date):%d %B %Y}, more than {LIST_SIZE_JUMP:.0%}: per-patient "
                  "figures around then may reflect registration changes (e.g. a merger or list "
                  "cleaning) rather than prescribing.",
    } for i, r in zip(jumps.index, jumps.itertuples(index=False))]
    return _frame(rows)


def _zero_months(rows: pd.DataFrame, missing: pd.DataFrame) -> pd.DataFrame:
    months = rows[rows["period_type"] == "month"].assign(month=lambda f: _month(f["period"]))
    # items, not pounds or doses: a practice "usually prescribes" an indicator's medicines when
    # it usually has ZERO_MONTH_MIN_TYPICAL items of them (one £300 item of a rare medicine is
    # not a habit whose absence means a data problem)
    count = _items(months)
    typical = count.groupby([months["area_id"], months["indicator_id"]]).transform("median")
    zero = months[(count == 0) & (typical >= ZERO_MONTH_MIN_TYPICAL)]
    gone = set(zip(missing["practice_code"], missing["month"]))
    out = [{
        "practice_code": r.area_id, "indicator_id": r.indicator_id, "month": r.month,
        "flag": "zero_month",
        "reason": f"No items for this indicator in {_fmt_month(r.month)} although the practice "
                  f"usually has {t:.0f} a month: possibly a data or coding problem.",
    } for r, t in zip(zero.itertuples(index=False), typical[zero.index])
        if (r.area_id, r.month) not in gone]
    return _frame(out)


def _small_denominators(rows: pd.DataFrame, practices: pd.DataFrame,
                        kinds: Mapping[str, str | None]) -> pd.DataFrame:
    totals = rows[rows["period_type"] == "total"]
    size = dict(zip(practices["practice_code"], practices["list_size"]))
    out = []
    for r in totals.itertuples(index=False):
        kind = kinds.get(r.indicator_id)
        patients = size.get(r.area_id)
        if kind in ("rate", None) and patients is not None and patients < MIN_LIST_SIZE:
            out.append({"practice_code": r.area_id, "indicator_id": r.indicator_id,
                        "month": pd.NaT, "flag": "small_denominator",
                        "reason": f"The list size ({patients:,.0f}) is below {MIN_LIST_SIZE}: "
                                  "rates this small swing widely by chance."})
        elif kind == "proportion" and pd.notna(r.denominator) and r.denominator < MIN_PROPORTION_DENOMINATOR:
            out.append({"practice_code": r.area_id, "indicator_id": r.indicator_id,
                        "month": pd.NaT, "flag": "small_denominator",
                        "reason": f"Only {r.denominator:,.0f} denominator items over the period, "
                                  f"fewer than {MIN_PROPORTION_DENOMINATOR}: the proportion can "
                                  "swing widely by chance."})
    return _frame(out)


def _items(rows: pd.DataFrame) -> pd.Series:
    """The items behind each row's numerator (the numerator itself for item counts)."""
    if "numerator_items" in rows.columns:
        return pd.to_numeric(rows["numerator_items"], errors="coerce").fillna(
            pd.to_numeric(rows["numerator"], errors="coerce"))
    return pd.to_numeric(rows["numerator"], errors="coerce")


def _implausible(rows: pd.DataFrame, kinds: Mapping[str, str | None]) -> pd.DataFrame:
    value = pd.to_numeric(rows["value"], errors="coerce")
    has_data = pd.to_numeric(rows["denominator"], errors="coerce") > 0
    proportion = rows["indicator_id"].map(lambda i: kinds.get(i) == "proportion")
    bad_number = has_data & (~np.isfinite(value.fillna(0)) | (value < 0))
    over_whole = proportion & (rows["numerator"] > rows["denominator"])
    # "far above the median practice" judges the value for item counts; for pounds and doses it
    # judges what one item is worth (a rare medicine makes a practice's cost per patient
    # skewed, not implausible; £5,000 for one item of a cheap tablet is a data error)
    items = _items(rows)
    numerator = pd.to_numeric(rows["numerator"], errors="coerce")
    per_item = numerator / items.where(items > 0)
    judged = value.where(numerator == items, per_item)   # item counts: the value itself
    median = judged.groupby([rows["indicator_id"], rows["period"]]).transform("median")
    too_high = (median > 0) & (judged > IMPLAUSIBLE_RATIO * median)
    value = judged.fillna(value)
    hit = rows[bad_number | over_whole | too_high]
    out = []
    for r, v, med in zip(hit.itertuples(index=False), value[hit.index], median[hit.index]):
        month = _month(pd.Series([r.period])).iloc[0] if r.period_type == "month" else pd.NaT
        if r.numerator is not None and pd.notna(r.numerator) and r.numerator > r.denominator and kinds.get(r.indicator_id) == "proportion":
            why = "the numerator exceeds the denominator (a proportion above 100%)"
        elif not np.isfinite(v) or v < 0:
            why = f"the value {v} is negative or not a number"
        else:
            why = f"the value (per item, for pounds and doses) is {v / med:.0f} times the median practice's"
        out.append({"practice_code": r.area_id, "indicator_id": r.indicator_id, "month": month,
                    "flag": "implausible_value",
                    "reason": f"Outside plausible bounds: {why}; check the data before acting."})
    return _frame(out)


def _coding_changes(dataset, codes: list[str], catalogue: Mapping[str, Any],
                    indicators: list[str]) -> pd.DataFrame:
    rx = dataset.prescribing
    rx = rx[rx["practice_code"].isin(codes)]
    unique_codes = pd.Series(rx["bnf_code"].astype("str").unique())
    out = []
    for indicator_id in indicators:
        ind = catalogue.get(indicator_id)
        if ind is None:
            continue
        # which codes the items fall under: dose measures (DDD, OME, ADQ) are not columns of
        # the prescribing table, and a coding switch shows in the items anyway
        measure = ind.numerator.measure if ind.numerator.measure in rx.columns else "items"
        sub = rx.loc[rx["bnf_code"].isin(_matching_codes(ind, unique_codes)),
                     ["practice_code", "month", "bnf_code", measure]]
        if sub.empty:
            continue
        cube = sub.pivot_table(index=["practice_code", "month"], columns="bnf_code",
                               values=measure, aggfunc="sum", fill_value=0, observed=True)
        months = sorted(sub["month"].unique())
        full = pd.MultiIndex.from_product([sorted(sub["practice_code"].unique()), months],
                                          names=["practice_code", "month"])
        cube = cube.reindex(full, fill_value=0)
        n_p, n_m = len(full.levels[0]), len(months)
        if n_m < 2 * CODING_WINDOW:
            continue
        array = cube.to_numpy(dtype=float).reshape(n_p, n_m, -1)
        csum = np.concatenate([np.zeros((n_p, 1, array.shape[2])), array.cumsum(axis=1)], axis=1)
        boundaries = list(range(CODING_WINDOW, n_m - CODING_WINDOW + 1))
        tv, stat, df = (np.zeros((n_p, len(boundaries))) for _ in range(3))
        national = np.zeros(len(boundaries))
        for j, k in enumerate(boundaries):
            before = csum[:, k] - csum[:, k - CODING_WINDOW]
            after = csum[:, k + CODING_WINDOW] - csum[:, k]
            tv[:, j], stat[:, j], df[:, j] = _share_shift(before, after)
            # the shift every practice shares (seasons move the mix of antibiotics): a coding
            # change is the practice's own shift beyond it
            national[j] = _share_shift(before.sum(axis=0)[None, :], after.sum(axis=0)[None, :])[0][0]
        # month-to-month variation beyond multinomial chance (over-dispersion), per practice:
        # the median boundary is ordinary, so a real switch stands out against it
        ratio = np.where(stat > 0, stat / df, np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a practice with no usable window
            phi = np.maximum(1.0, np.nan_to_num(np.nanmedian(ratio, axis=1), nan=1.0))
        from scipy.stats import chi2
        scaled = stat / phi[:, None]
        pick = scaled.argmax(axis=1)
        rows_ = np.arange(n_p)
        best_tv, best_stat = tv[rows_, pick] - national[pick], scaled[rows_, pick]
        best_p = chi2.sf(best_stat, df[rows_, pick])
        best_k = np.array(boundaries)[pick]
        practice_codes = full.levels[0]
        for p in np.flatnonzero((best_tv >= CODING_SHIFT_MIN) & (best_p < CODING_P_VALUE)
                                & (best_stat > 0)):
            m = pd.Timestamp(months[best_k[p]])
            out.append({"practice_code": practice_codes[p], "indicator_id": indicator_id,
                        "month": m, "flag": "coding_change",
                        "reason": f"From {_fmt_month(m)} this indicator's {measure} moved between "
                                  f"its codes ({best_tv[p]:.0%} of the volume changed code "
                                  f"against the {CODING_WINDOW} months before): a coding or "
                                  "product switch rather than a clinical change."})
    return _frame(out)


def _matching_codes(indicator, codes: pd.Series) -> list[str]:
    """The distinct BNF codes in the data that count towards the indicator's numerator."""
    return codes[indicator.numerator.bnf_codes.matches(codes).to_numpy()].tolist()


def _share_shift(before: np.ndarray, after: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per practice: total variation distance of code shares, Pearson chi-square statistic of
    the 2 x codes table and its degrees of freedom; windows with too few items give 0."""
    nb, na = before.sum(axis=1), after.sum(axis=1)
    both = before + after
    with np.errstate(divide="ignore", invalid="ignore"):
        tv = 0.5 * np.abs(before / nb[:, None] - after / na[:, None]).sum(axis=1)
        share = both / (nb + na)[:, None]
        stat = np.zeros(len(nb))
        for observed, n in ((before, nb), (after, na)):
            expected = share * n[:, None]
            stat = stat + np.where(expected > 0, (observed - expected) ** 2 / expected, 0.0).sum(axis=1)
    df = np.maximum((both > 0).sum(axis=1) - 1, 1)
    enough = (nb >= CODING_MIN_ITEMS) & (na >= CODING_MIN_ITEMS)
    tv = np.where(enough, np.nan_to_num(tv), 0.0)
    stat = np.where(enough, np.nan_to_num(stat), 0.0)
    return tv, stat, df


# --- flags on the analyst table, before release -------------------------------------------

#: Columns of :func:`flag_indicator_table`'s findings.
FINDING_COLUMNS = ["level", "area_id", "area_name", "indicator_id", "month", "flag", "reason",
                   "note"]


def flag_indicator_table(indicator_table: pd.DataFrame, flags: pd.DataFrame
                         ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Withhold better/worse where data quality is in doubt; return (table, findings).

    Runs on the analyst-level indicator table, before disclosure control (which is then the last
    step before anything is drawn or written). A flagged practice row (a month row for a flag of
    that month, every row for a flag about the whole practice, the total row for any flag within
    its period) gets ``quality_flag`` = :data:`QUALITY_NOTE` and its verdict columns (every
    comparator's ``vs_*``) cleared; the value stays. Flags that affect a cluster's own figures
    (:data:`CLUSTER_FLAGS`) mark its cluster row too.

    ``findings`` has one row per unit, indicator, month and flag (:data:`FINDING_COLUMNS`), with
    the units' real codes: ``reason`` is the analyst's detailed wording, ``note`` the generic
    wording of :data:`FLAGS` (no practice code, name or list size) that a releasable report may
    show. :func:`clusterqi.disclosure.release_findings` turns them into a report's notes.

    Example usage::

        flags = assess_quality(dataset, indicator_table)
        table, findings = flag_indicator_table(indicator_table, flags)
        releasable, log = apply_disclosure(table, policy)
        notes = release_findings(findings, releasable, table, policy)
    """
    table = indicator_table.copy()
    level = table["level"]
    unit_rows = (table.loc[level.isin(list(UNIT_LEVELS)),
                           ["level", "area_id", "area_name", "cluster_id"]]
                 .drop_duplicates(["level", "area_id"]))
    practice_rows = unit_rows[unit_rows["level"] == PRACTICE]
    cluster_rows = unit_rows[unit_rows["level"] == CLUSTER]
    names = dict(zip(practice_rows["area_id"].to_numpy(dtype=object),
                     practice_rows["area_name"].to_numpy(dtype=object)))
    cluster_of = dict(zip(practice_rows["area_id"].to_numpy(dtype=object),
                          practice_rows["cluster_id"].to_numpy(dtype=object)))
    cluster_names = dict(zip(cluster_rows["area_id"].to_numpy(dtype=object),
                             cluster_rows["area_name"].to_numpy(dtype=object)))

    units = []
    for f in flags.itertuples(index=False):
        if f.practice_code in names:
            units.append((PRACTICE, f.practice_code, names[f.practice_code], f.indicator_id,
                          f.month, f.flag, f.reason, FLAGS.get(f.flag)))
        cluster = cluster_of.get(f.practice_code)
        if f.flag in CLUSTER_FLAGS and isinstance(cluster, str) and cluster in cluster_names:
            units.append((CLUSTER, cluster, cluster_names[cluster], f.indicator_id, f.month,
                          f.flag, f"{MEMBER_NOTE}{f.reason}", f"{MEMBER_NOTE}{FLAGS.get(f.flag)}"))
    findings = pd.DataFrame(units, columns=FINDING_COLUMNS)
    findings["month"] = pd.to_datetime(findings["month"])

    table["quality_flag"] = pd.Series([None] * len(table), index=table.index, dtype="str")
    if not findings.empty:
        flagged = table.index[_flagged_rows(table, findings)]
        table.loc[flagged, "quality_flag"] = QUALITY_NOTE
        for column in vocabulary.verdict_columns() + vocabulary.unadjusted_columns():
            if column in table.columns:
                table.loc[flagged, column] = None
    findings = findings.drop_duplicates(
        ["level", "area_id", "indicator_id", "month", "flag"]).reset_index(drop=True)
    for column in ("level", "area_id", "area_name", "indicator_id", "flag", "reason", "note"):
        findings[column] = findings[column].astype("str")
    table.attrs = dict(indicator_table.attrs)
    return table, findings
