"""An intruder's kit: what an outsider with a released report and PHS's public practice list can
recover from it.

The intruder has only the report HTML (as emailed), clusterqi's public source (the indicator
catalogue and interval formulas) and the public PHS practice list. Each attack returns a
DataFrame of what it recovered, one row per finding, with a ``recovered`` column saying whether the
finding pins a hidden figure down (the tests count those):

- :func:`released_cells`: every figure the page carries (chart data, HTML tables, the numbers CSV);
- :func:`invert_intervals` / :func:`invert_released`: integer numerators and denominators that
  reproduce a printed value and its 95% / 99.8% limits (Wilson for shares; exact Poisson / Byar's
  for rates per 1,000 patients per day, whose denominator is patient-days, so list size =
  denominator / days); :func:`invert_banded`: those that reproduce a printed value with the
  denominator in its published band (a row printed without limits);
- :func:`match_pseudonyms`: "Member practice X" -> the real practice of that cluster with a
  consistent list size (recovered, or the published band);
- :func:`complement_and_shared_counts`: a share whose denominator equals another indicator's
  suppressed count, or whose denominator minus numerator is 1..4;
- :func:`difference_months_total` and :func:`difference_areas`: a hidden cell as a total minus its
  visible parts (months of a 12-month total; a board or HSCP minus its clusters, including the
  clusters with practices in two boards: :func:`cross_boundary_clusters`).

Example usage::

    cells = released_cells(Path("reports/coll-colonsay-tiree.html"))
    found = invert_released(cells)
    found["recovered"].sum()      # rows whose hidden numerator is pinned to one integer
"""

from __future__ import annotations

import calendar
import functools
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd

from clusterqi.charts.offline import embedded_specs
from clusterqi.report_html import embedded_numbers

__all__ = [
    "released_cells",
    "html_tables",
    "indicator_facts",
    "printed_tolerance",
    "invert_intervals",
    "invert_banded",
    "printed_figures",
    "invert_released",
    "period_days",
    "public_practices",
    "cross_boundary_clusters",
    "match_pseudonyms",
    "complement_and_shared_counts",
    "difference_months_total",
    "difference_areas",
]

#: Columns of :func:`released_cells` (missing figures are NaN).
CELL_COLUMNS = ["source", "indicator_id", "area", "level", "period_type", "period", "value",
                "lower_95", "upper_95", "lower_998", "upper_998", "numerator", "denominator",
                "band", "size", "qualifier"]
#: Significant figures the intruder assumes a printed figure was rounded to (the fewest used).
PRINTED_FIGURES = 3
PSEUDONYM = re.compile(r"^Member practice [A-Z]+$")
_NUMBER = re.compile(r"-?[0-9][0-9,]*(?:\.[0-9]+)?")


# --- what the page releases -------------------------------------------------------------------


class _Tables(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tables, self._row, self._cell, self._caption, self._in_caption = [], None, None, None, False

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append({"caption": "", "rows": []})
        elif tag == "caption" and self.tables:
            self._in_caption = True
        elif tag == "tr" and self.tables:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "caption":
            self._in_caption = False
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None and self.tables:
            self.tables[-1]["rows"].append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._in_caption and self.tables:
            self.tables[-1]["caption"] += data
        elif self._cell is not None:
            self._cell.append(data)


def html_tables(page: str) -> list[pd.DataFrame]:
    """Every ``<table>`` of the page as a DataFrame of strings (first row as header); the caption
    is in ``attrs["caption"]``. Standard library only, as an intruder's script would be."""
    parser = _Tables()
    parser.feed(page)
    frames = []
    for table in parser.tables:
        rows = [r for r in table["rows"] if r]
        if len(rows) < 2:
            continue
        width = max(len(r) for r in rows)
        rows = [r + [""] * (width - len(r)) for r in rows]
        frame = pd.DataFrame(rows[1:], columns=[c or f"column_{i}" for i, c in enumerate(rows[0])])
        frame.attrs["caption"] = " ".join(table["caption"].split())
        frames.append(frame)
    return frames


def _number(text) -> float:
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return np.nan
    if isinstance(text, (int, float)):
        return float(text)
    match = _NUMBER.search(str(text))
    return float(match.group(0).replace(",", "")) if match else np.nan


def _titles() -> dict[str, str]:
    from clusterqi.indicators import load_catalogue

    return {ind.title: ind_id for ind_id, ind in load_catalogue().items()}


def _title_of(spec: dict) -> str:
    title = spec.get("title", "")
    return title.get("text", "") if isinstance(title, dict) else str(title)


def _spec_cells(spec: dict, titles: dict[str, str]) -> list[dict]:
    """Normalised rows of one chart spec's datasets."""
    text = _title_of(spec)
    indicator = next((i for t, i in sorted(titles.items(), key=lambda kv: -len(kv[0]))
                      if text.startswith(t)), None)
    rows = []
    for name, data in (spec.get("datasets") or {}).items():
        for d in data:
            if not d:
                continue
            if "unit" in d and "interval" in d:                      # funnel point
                low, _, high = str(d.get("interval") or "").partition(" to ")
                rows.append({"source": "funnel", "indicator_id": indicator, "area": d["unit"],
                             "period_type": "total", "value": d.get("value"),
                             "lower_95": _number(low), "upper_95": _number(high),
                             "band": d.get("size_text"), "size": d.get("size")})
            elif {"month", "series", "value"} <= set(d):             # trend line
                rows.append({"source": "trend", "indicator_id": indicator, "area": d["series"],
                             "level": d.get("role"), "period_type": "month", "period": d["month"],
                             "value": d.get("value")})
            elif {"month", "cl", "value"} <= set(d):                 # SPC chart
                rows.append({"source": "spc", "indicator_id": indicator, "period_type": "month",
                             "period": d["month"], "value": d.get("value")})
            elif {"indicator", "value", "scotland"} <= set(d):       # at a glance
                rows.append({"source": "glance", "indicator_id": titles.get(d["indicator"]),
                             "period_type": "total", "value": d.get("value")})
    return rows


def released_cells(html_path: str | Path) -> pd.DataFrame:
    """Everything a report releases, as an intruder would extract it, one row per figure.

    Columns :data:`CELL_COLUMNS`: ``source`` ("csv", "funnel", "trend", "spc", "glance",
    "table"), ``indicator_id``, ``area`` (the label shown), ``level``, ``period_type``,
    ``period``, ``value``, the 95% and 99.8% limits, ``numerator``, ``denominator``, ``band``
    (the published size band), ``size`` (a chart's size axis) and ``qualifier``. Table rows
    carry the first number of each row (:func:`html_tables` gives the whole tables).
    """
    page = Path(html_path).read_text(encoding="utf-8")
    titles = _titles()
    rows: list[dict] = []
    csv_text = embedded_numbers(page)
    if csv_text:
        frame = pd.read_csv(io.StringIO(csv_text), dtype={"period": str})
        for r in frame.to_dict("records"):
            rows.append({"source": "csv", "indicator_id": r.get("indicator_id"),
                         "area": r.get("area_name"), "level": r.get("level"),
                         "period_type": r.get("period_type"), "period": r.get("period"),
                         **{c: r.get(c) for c in ("value", "lower_95", "upper_95", "lower_998",
                                                  "upper_998", "numerator", "denominator", "qualifier")},
                         "band": r.get("denominator_band")})
    for spec in embedded_specs(page):
        rows.extend(_spec_cells(spec, titles))
    tables = html_tables(page)
    for table in tables:
        caption = table.attrs.get("caption", "")
        indicator = next((i for t, i in titles.items() if caption.startswith(t)), None)
        first = table.columns[0]
        for r in table.to_dict("records"):
            figures = {c: _number(v) for c, v in r.items() if c != first}
            value = next((v for v in figures.values() if not np.isnan(v)), np.nan)
            rows.append({"source": "table", "indicator_id": indicator, "area": r[first], "value": value})
    cells = pd.DataFrame(rows).reindex(columns=CELL_COLUMNS)
    for c in ("value", "lower_95", "upper_95", "lower_998", "upper_998", "numerator", "denominator", "size"):
        cells[c] = pd.to_numeric(cells[c], errors="coerce").astype(float)
    return cells


# --- (a) inverting intervals -----------------------------------------------------------------


def indicator_facts() -> pd.DataFrame:
    """Per indicator: ``kind`` ("share" Wilson, "rate" Poisson/Byar's), ``multiplier``, ``per_day``
    and the numerator / denominator code lists (to find shared counts), from the public catalogue."""
    from clusterqi.indicators import load_catalogue

    rows = []
    for ind_id, ind in load_catalogue().items():
        population = getattr(ind.denominator, "population", None) is not None
        rows.append({"indicator_id": ind_id, "kind": "rate" if population else "share",
                     "multiplier": float(ind.multiplier),
                     "per_day": bool(getattr(ind.denominator, "per_day", False)),
                     # intervals are on a count only where the numerator is items
                     "items": ind.numerator.measure == "items",
                     # a rate over all patients: denominator / days is the list size
                     "all_ages": population and ind.denominator.population.age_min is None
                     and ind.denominator.population.age_max is None,
                     "numerator_spec": repr((ind.numerator.measure, ind.numerator.bnf_codes)),
                     "denominator_spec": None if population else repr(
                         (ind.denominator.measure, ind.denominator.bnf_codes))})
    return pd.DataFrame(rows).set_index("indicator_id")


def printed_tolerance(printed: float, figures: int = PRINTED_FIGURES) -> float:
    """Half a unit in the last place of ``printed`` rounded to ``figures`` significant figures."""
    if not np.isfinite(printed) or printed == 0:
        return 0.5 * 10.0 ** (-figures)
    return 0.5 * 10.0 ** (np.floor(np.log10(abs(printed))) - figures + 1) * (1 + 1e-9)


def printed_figures(*printed: float) -> int:
    """The significant figures a row's figures were printed to, as the intruder reads them: the
    most digits any of them shows (trailing zeros of a whole number not counted), at least 1.

    A CSV drops trailing zeros ("5.0" is read as 5), so a row whose every figure ends in zeros
    reads as coarser than it was printed: the intruder then allows more candidates, never fewer
    than the truth.
    """
    most = 1
    for value in printed:
        if value is None or not np.isfinite(value) or value == 0:
            continue
        text = np.format_float_positional(abs(float(value)), trim="-")
        digits = text.replace(".", "").lstrip("0")
        if "." not in text:
            digits = digits.rstrip("0")
        most = max(most, len(digits))
    return most


def _limits_match(computed: np.ndarray, printed: float, figures: int = PRINTED_FIGURES) -> np.ndarray:
    if not np.isfinite(printed):
        return np.ones(computed.shape, dtype=bool)
    return np.abs(computed - printed) <= printed_tolerance(printed, figures)


def invert_intervals(value: float, lower_95: float = np.nan, upper_95: float = np.nan,
                     lower_998: float = np.nan, upper_998: float = np.nan, kind: str = "rate",
                     multiplier: float = 1000.0, max_count: int = 20000,
                     max_denominator: int = 20000, figures: int = PRINTED_FIGURES) -> pd.DataFrame:
    """Integer numerators (and denominators) reproducing a printed value and limits.

    ``kind="rate"``: the count's limits (exact Poisson below 10, Byar's from 10: the
    project's :func:`clusterqi.stats.rate_ci`) do not depend on the denominator, so the printed
    limit / value ratios pin the count x; the denominator is then the interval of d consistent
    with every printed figure (``denominator_low``..``denominator_high``, patient-days for a
    rate per 1,000 patients per day). ``kind="share"``: every n <= ``max_denominator`` and x with
    Wilson's interval (:func:`clusterqi.stats.wilson_ci`) matching. Printed figures are taken
    as rounded to ``figures`` significant figures (:data:`PRINTED_FIGURES` unless given). Returns one row per candidate:
    ``numerator, denominator_low, denominator_high``.
    """
    from clusterqi.stats import wilson_ci

    if not np.isfinite(value) or value <= 0:
        return pd.DataFrame(columns=["numerator", "denominator_low", "denominator_high"])
    printed = [(lower_95, 0.95, "lower"), (upper_95, 0.95, "upper"),
               (lower_998, 0.998, "lower"), (upper_998, 0.998, "upper")]
    if not any(np.isfinite(p) for p, _, _ in printed):
        return pd.DataFrame(columns=["numerator", "denominator_low", "denominator_high"])
    if kind == "rate":
        x = np.arange(1, max_count + 1, dtype=float)
        tol = printed_tolerance(value, figures)
        # d from the value: x * m / (value +- tol)
        low = x * multiplier / (value + tol)
        high = x * multiplier / max(value - tol, 1e-300)
        for figure, confidence, side in printed:
            if not np.isfinite(figure):
                continue
            count = _count_limits(max_count, confidence, side)
            t = printed_tolerance(figure, figures)
            low = np.maximum(low, count * multiplier / (figure + t))
            if figure - t > 0:
                high = np.minimum(high, count * multiplier / (figure - t))
        # the denominator is a whole number of patient-days / items
        ok = np.ceil(low - 1e-9) <= np.floor(high + 1e-9)
        return pd.DataFrame({"numerator": x[ok].astype(int), "denominator_low": np.ceil(low[ok] - 1e-9),
                             "denominator_high": np.floor(high[ok] + 1e-9)})
    # share: value = x / n * multiplier
    n = np.arange(1, max_denominator + 1, dtype=float)
    tol = printed_tolerance(value, figures)
    x_low = np.maximum(np.ceil((value - tol) / multiplier * n - 1e-9), 0)
    x_high = np.minimum(np.floor((value + tol) / multiplier * n + 1e-9), n)
    counts = np.clip(x_high - x_low + 1, 0, None).astype(int)
    nn = np.repeat(n, counts)
    xx = np.repeat(x_low, counts) + (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
    for figure, confidence, side in printed:       # keep only candidates matching each printed limit
        if np.isfinite(figure) and len(nn):
            bound = wilson_ci(xx, nn, confidence=confidence)[side].to_numpy() * multiplier
            ok = _limits_match(bound, figure, figures)
            nn, xx = nn[ok], xx[ok]
    return pd.DataFrame({"numerator": xx.astype(int), "denominator_low": nn, "denominator_high": nn})


def invert_banded(value: float, band_low: float, band_high: float, kind: str = "rate",
                  multiplier: float = 1000.0, figures: int = PRINTED_FIGURES,
                  max_candidates: int = 100000, min_count: int = 1) -> pd.DataFrame:
    """Integer numerators x for which some whole denominator n in the published band
    [``band_low``, ``band_high``] gives the printed value: ``x / n * multiplier`` within half a
    unit of its last printed figure (``figures`` significant figures), x <= n for a share, and
    x >= ``min_count`` (an intruder who knows the threshold knows a shown count is at least it).

    What an intruder can say about a row printed with its value and its size band only. Returns
    one row per candidate numerator with the range of denominators that fit
    (``numerator, denominator_low, denominator_high``), at most ``max_candidates`` rows (more
    candidates than that are as good as none).
    """
    empty = pd.DataFrame(columns=["numerator", "denominator_low", "denominator_high"])
    if not (np.isfinite(value) and value > 0 and np.isfinite(band_low) and np.isfinite(band_high)):
        return empty
    tol = printed_tolerance(value, figures)
    low_rate, high_rate = (value - tol) / multiplier, (value + tol) / multiplier
    first = max(1, min_count, int(np.ceil(band_low * low_rate - 1e-9)))
    last = int(np.floor(band_high * high_rate + 1e-9))
    if last < first:
        return empty
    x = np.arange(first, min(last, first + max_candidates - 1) + 1, dtype=float)
    n_low = np.maximum(np.ceil(x / high_rate - 1e-9), band_low)
    n_high = np.minimum(np.floor(x / low_rate + 1e-9) if low_rate > 0 else np.inf, band_high)
    if kind == "share":
        n_low = np.maximum(n_low, x)
    ok = n_low <= n_high
    return pd.DataFrame({"numerator": x[ok].astype(int), "denominator_low": n_low[ok],
                         "denominator_high": n_high[ok]})


@functools.lru_cache(maxsize=16)
def _count_limits(max_count: int, confidence: float, side: str) -> np.ndarray:
    """The count's limit (exact Poisson / Byar's, as clusterqi.stats.rate_ci) for 1..max_count."""
    from clusterqi.stats import rate_ci

    x = np.arange(1, max_count + 1, dtype=float)
    return rate_ci(x, 1.0, multiplier=1, confidence=confidence)[side].to_numpy()


def period_days(period: str) -> int:
    """Days in a month ("2026-02") or a period "2025-10..2026-09"."""
    first, _, last = str(period).partition("..")
    last = last or first
    start, end = pd.Period(first, "M"), pd.Period(last, "M")
    return int(sum(calendar.monthrange(p.year, p.month)[1] for p in pd.period_range(start, end, freq="M")))


def invert_released(cells: pd.DataFrame, facts: pd.DataFrame | None = None,
                    min_count: int = 1) -> pd.DataFrame:
    """Every released row whose numerator is hidden but whose value is printed with its limits or
    its size band (the numbers CSV rows), attacked: :func:`invert_intervals` where limits are
    printed (candidates then kept only where their denominator fits the band, if one is printed),
    else :func:`invert_banded`. Each row's figures are read at the precision they were printed to
    (:func:`printed_figures`); ``min_count`` is the smallest count the intruder believes a shown
    value can hide (the policy's threshold, for one who has read it). One row per attacked row:
    its keys, ``candidates`` (distinct numerators), ``numerator`` (when unique), the denominator
    range and, for rates per day, ``list_size_low``/``list_size_high``; ``recovered`` is True
    when one numerator is left."""
    facts = indicator_facts() if facts is None else facts
    limits = ["lower_95", "upper_95", "lower_998", "upper_998"]
    bands = cells["band"].map(_band_range)
    band_low = bands.map(lambda b: b[0]).astype(float)
    band_high = bands.map(lambda b: b[1]).astype(float)
    has_limits = cells[limits].notna().any(axis=1)
    rows = cells[(cells["source"] == "csv") & cells["numerator"].isna() & cells["value"].gt(0)
                 & (has_limits | band_low.notna())]
    out = []
    for i, r in zip(rows.index, rows.to_dict("records")):
        fact = facts.loc[r["indicator_id"]]
        if not fact["items"]:      # a dose or cost numerator: its value is not count / size
            continue
        figures = printed_figures(r["value"], *(r[c] for c in limits))
        low, high = band_low[i], band_high[i]
        if has_limits[i]:
            found = invert_intervals(r["value"], r["lower_95"], r["upper_95"], r["lower_998"],
                                     r["upper_998"], kind=fact["kind"], multiplier=fact["multiplier"],
                                     figures=figures)
            if np.isfinite(low) and len(found):
                found = found[(found["denominator_high"] >= low) & (found["denominator_low"] <= high)]
        else:
            found = invert_banded(r["value"], low, high, kind=fact["kind"],
                                  multiplier=fact["multiplier"], figures=figures,
                                  min_count=min_count)
        distinct = found["numerator"].unique()
        record = {k: r[k] for k in ("indicator_id", "area", "level", "period_type", "period", "band")}
        record.update(candidates=len(distinct), recovered=len(distinct) == 1,
                      numerator=float(distinct[0]) if len(distinct) == 1 else np.nan,
                      denominator_low=found["denominator_low"].min() if len(found) else np.nan,
                      denominator_high=found["denominator_high"].max() if len(found) else np.nan)
        if fact["per_day"] and fact["all_ages"] and len(found):
            days = period_days(r["period"])
            record["list_size_low"] = np.floor(record["denominator_low"] / days)
            record["list_size_high"] = np.ceil(record["denominator_high"] / days)
        out.append(record)
    return pd.DataFrame(out, columns=[
        "indicator_id", "area", "level", "period_type", "period", "band", "candidates", "recovered",
        "numerator", "denominator_low", "denominator_high", "list_size_low", "list_size_high",
    ]).astype({"recovered": bool})


# --- (b) pseudonyms ---------------------------------------------------------------------------


def public_practices(contact_details: str | Path) -> pd.DataFrame:
    """The public PHS practice list: code, name, cluster, cluster slug, HSCP, board, list size."""
    from clusterqi.loaders import cluster_slug

    details = pd.read_csv(contact_details, dtype=str, encoding="utf-8-sig")
    return pd.DataFrame({
        "practice_code": details["PracticeCode"].str.strip(),
        "practice_name": details["GPPracticeName"],
        "cluster_name": details["GPCluster"],
        "cluster_id": details["GPCluster"].map(lambda c: cluster_slug(c) if isinstance(c, str) else None),
        "hscp_code": details["HSCP"], "hb_code": details["HB"],
        "list_size": pd.to_numeric(details["PracticeListSize"], errors="coerce"),
    })


def cross_boundary_clusters(practices: pd.DataFrame) -> pd.DataFrame:
    """Practices whose board (or HSCP) differs from their cluster's home one (the most common
    among its practices): ``practice_code, cluster_id, hb_code, home_hb, hscp_code, home_hscp``."""
    clustered = practices[practices["cluster_id"].notna()]
    home_hb = clustered.groupby("cluster_id")["hb_code"].agg(lambda s: s.value_counts().index[0])
    home_hscp = clustered.groupby("cluster_id")["hscp_code"].agg(lambda s: s.value_counts().index[0])
    frame = clustered.assign(home_hb=clustered["cluster_id"].map(home_hb),
                             home_hscp=clustered["cluster_id"].map(home_hscp))
    return frame[(frame["hb_code"] != frame["home_hb"]) | (frame["hscp_code"] != frame["home_hscp"])]


def _band_range(band) -> tuple[float, float]:
    if not isinstance(band, str) or "-" not in band:
        return (np.nan, np.nan)
    low, _, high = band.replace(",", "").partition("-")
    try:
        return float(low), float(high)
    except ValueError:
        return (np.nan, np.nan)


def match_pseudonyms(cells: pd.DataFrame, practices: pd.DataFrame, cluster_id: str,
                     inverted: pd.DataFrame | None = None) -> pd.DataFrame:
    """Map each "Member practice X" to the real practices of ``cluster_id`` it can be.

    Evidence per pseudonym: the list-size range from inverted rate rows (``inverted``, from
    :func:`invert_released`) and the published denominator bands of rate rows (patient-days /
    days = list size). A practice is a candidate when its public list size lies in every range;
    then candidates taken by a pseudonym with a single candidate are removed from the others
    (elimination). One row per pseudonym: ``pseudonym``, ``candidates`` (codes), ``practice``
    (when one is left) and ``recovered``.
    """
    facts = indicator_facts()
    members = practices[practices["cluster_id"] == cluster_id]
    names = sorted({a for a in cells["area"].dropna().astype(str) if PSEUDONYM.match(a)})
    ranges: dict[str, list[tuple[float, float]]] = {n: [] for n in names}
    rate_rows = cells[cells["area"].isin(names) & cells["indicator_id"].map(
        lambda i: bool(facts["per_day"].get(i, False) and facts["all_ages"].get(i, False))
        if isinstance(i, str) else False)]
    for r in rate_rows.drop_duplicates(["area", "indicator_id", "period", "band"]).to_dict("records"):
        low, high = _band_range(r["band"])
        if np.isfinite(low) and isinstance(r["period"], str):
            days = period_days(r["period"])
            ranges[r["area"]].append((low / days, (high + 1) / days))
    if inverted is not None and len(inverted) and "list_size_low" in inverted:
        for r in inverted[inverted["area"].isin(names)].to_dict("records"):
            if np.isfinite(r.get("list_size_low", np.nan)):
                ranges[r["area"]].append((r["list_size_low"], r["list_size_high"]))
    candidates = {}
    for name in names:
        sizes = members["list_size"].to_numpy(dtype=float)
        ok = np.ones(len(members), dtype=bool)
        for low, high in ranges[name]:
            ok &= (sizes >= low - 0.5) & (sizes <= high + 0.5)
        candidates[name] = set(members.loc[ok, "practice_code"])
    changed = True
    while changed:
        changed = False
        for name, found in candidates.items():
            if len(found) == 1:
                (code,) = found
                for other in names:
                    if other != name and code in candidates[other]:
                        candidates[other] = candidates[other] - {code}
                        changed = True
    return pd.DataFrame([{"pseudonym": n, "candidates": sorted(candidates[n]),
                          "practice": next(iter(candidates[n])) if len(candidates[n]) == 1 else None,
                          "recovered": len(candidates[n]) == 1 and len(members) > 1}
                         for n in names], columns=["pseudonym", "candidates", "practice", "recovered"])


# --- (c), (d) counts from differences ----------------------------------------------------------


def _counts(cells: pd.DataFrame, inverted: pd.DataFrame | None) -> pd.DataFrame:
    """Known numerators per (indicator, area, level, period): printed, else recovered by inversion."""
    keys = ["indicator_id", "area", "level", "period_type", "period"]
    csv = cells[cells["source"] == "csv"][keys + ["numerator", "denominator", "qualifier"]].copy()
    if inverted is not None and len(inverted):
        got = inverted[inverted["recovered"]].set_index(keys)["numerator"]
        fill = csv.set_index(keys).index.map(lambda k: got.get(k, np.nan))
        csv["numerator"] = csv["numerator"].fillna(pd.Series(fill, index=csv.index, dtype=float))
    return csv


def complement_and_shared_counts(cells: pd.DataFrame, inverted: pd.DataFrame | None = None,
                                 threshold: int = 5) -> pd.DataFrame:
    """Small counts from shares: (1) a suppressed numerator (qualifier c) of one indicator that
    is the printed denominator of a share with the same code list (e.g. antibacterial items =
    the 4C share's denominator); (2) a share whose printed denominator minus numerator is 1 to
    threshold - 1 (the complement, e.g. non-4C items, is a small count). One row per finding;
    ``recovered`` True when a count of 1..threshold-1 is pinned."""
    facts = indicator_facts()
    counts = _counts(cells, inverted)
    keys = ["area", "level", "period_type", "period"]
    out = []
    share_of = {}
    for ind_id, fact in facts.iterrows():
        if fact["denominator_spec"] is not None:
            share_of.setdefault(fact["denominator_spec"], []).append(ind_id)
    for ind_id, fact in facts.iterrows():
        for share in share_of.get(fact["numerator_spec"], []):
            hidden = counts[(counts["indicator_id"] == ind_id) & counts["numerator"].isna()]
            shown = counts[(counts["indicator_id"] == share) & counts["denominator"].notna()]
            joined = hidden.merge(shown[keys + ["denominator"]], on=keys, suffixes=("", "_share"))
            for r in joined.to_dict("records"):
                value = r["denominator_share"]
                out.append({"attack": "shared", "indicator_id": ind_id, "via": share,
                            **{k: r[k] for k in keys}, "count": value,
                            "recovered": bool(1 <= value <= threshold - 1)})
    shares = counts[counts["indicator_id"].map(lambda i: facts["kind"].get(i) == "share")
                    & counts["numerator"].notna() & counts["denominator"].notna()]
    for r in shares.to_dict("records"):
        rest = r["denominator"] - r["numerator"]
        if 1 <= rest <= threshold - 1:
            out.append({"attack": "complement", "indicator_id": r["indicator_id"], "via": None,
                        **{k: r[k] for k in keys}, "count": rest, "recovered": True})
    return pd.DataFrame(out, columns=["attack", "indicator_id", "via", *keys, "count", "recovered"]).astype(
        {"recovered": bool})


def difference_months_total(cells: pd.DataFrame, inverted: pd.DataFrame | None = None,
                            threshold: int = 5) -> pd.DataFrame:
    """A series (indicator, area) with its 12-month total and all but one month known: the
    missing month is total - sum. ``recovered`` when that count is 1..threshold-1 and was hidden."""
    counts = _counts(cells, inverted)
    out = []
    for (ind, area, level), series in counts.groupby(["indicator_id", "area", "level"], dropna=False):
        total = series[series["period_type"] == "total"]["numerator"]
        months = series[series["period_type"] == "month"]
        if total.empty or not np.isfinite(total.iloc[0]):
            continue
        missing = months[months["numerator"].isna()]
        if len(missing) != 1:
            continue
        value = total.iloc[0] - months["numerator"].sum()
        out.append({"indicator_id": ind, "area": area, "level": level,
                    "period": missing["period"].iloc[0], "count": value,
                    "recovered": bool(1 <= value <= threshold - 1)})
    return pd.DataFrame(out, columns=["indicator_id", "area", "level", "period", "count", "recovered"]).astype(
        {"recovered": bool})


def difference_areas(reports: list[pd.DataFrame], parent_level: str, parent_area: str,
                     child_areas: list[str], inverted: list[pd.DataFrame] | None = None,
                     threshold: int = 5) -> pd.DataFrame:
    """A parent area (board or HSCP, as printed) minus the child areas (clusters, as printed)
    the intruder holds reports for: what is left is the parent's other practices. When the
    public list says the children cover the parent except a few practices (or include practices
    of another board, a cross-boundary cluster), the residual is those practices' count.
    One row per (indicator, period) with every figure known: ``residual``; ``recovered`` when
    it is 1..threshold-1 (a small count of identifiable practices)."""
    known = pd.concat([_counts(c, None if inverted is None else inverted[i])
                       for i, c in enumerate(reports)], ignore_index=True)
    known = known.drop_duplicates(["indicator_id", "area", "level", "period"])
    parent = known[(known["level"] == parent_level) & (known["area"] == parent_area)]
    children = known[(known["level"] == "cluster") & known["area"].isin(child_areas)]
    out = []
    for r in parent.to_dict("records"):
        kids = children[(children["indicator_id"] == r["indicator_id"]) & (children["period"] == r["period"])]
        if len(kids) != len(child_areas) or kids["numerator"].isna().any() or not np.isfinite(r["numerator"]):
            continue
        residual = r["numerator"] - kids["numerator"].sum()
        out.append({"indicator_id": r["indicator_id"], "period": r["period"], "residual": residual,
                    "recovered": bool(1 <= abs(residual) <= threshold - 1)})
    return pd.DataFrame(out, columns=["indicator_id", "period", "residual", "recovered"]).astype({"recovered": bool})
