"""The cluster report's sections: what each notebook cell displays, text generated from the numbers.

Each ``show_*`` function displays one section of :class:`clusterqi.report.ClusterReport` in the
notebook (and so in the exported HTML): headings with stable ids (the contents list links to
them), the charts from :mod:`clusterqi.charts`, each followed by its one-sentence summary and a
collapsible table of the numbers behind it (accessibility: meaning never rests on the chart or
on colour alone). Every string that comes from data is HTML-escaped here, so a practice named
``<script>alert(1)</script>`` is shown as text.

:func:`show_header` must be called first: its output carries the report's audience,
releasability and the "download the numbers" CSV in its metadata, which
:func:`clusterqi.report.render_html` checks and turns into the download link.

Example usage (the notebook's cells)::

    report = build_report(**parameters)
    show_header(report)
    show_at_a_glance(report)
    show_indicator_sections(report)
"""

from __future__ import annotations

import html
import re
from typing import Any

import pandas as pd
from IPython.display import HTML, display

from clusterqi import __version__
from clusterqi.report_html import REPORT_METADATA_KEY

__all__ = [
    "MAX_TABLE_ROWS",
    "section_id",
    "html_table",
    "show_header",
    "show_at_a_glance",
    "show_indicator_sections",
    "show_local_measures",
    "show_quality_notes",
    "show_how_to_read",
    "show_about",
]

MAX_TABLE_ROWS = 30
"""Rows shown in one collapsible numbers table (a funnel of every Scottish cluster has ~150)."""

_LEVEL_WORDS = {"practice": "practices", "cluster": "clusters", "hscp": "HSCPs", "hb": "boards"}


def _e(value: Any) -> str:
    """HTML-escaped text of a value (empty for missing)."""
    if value is None or (not isinstance(value, (list, tuple, dict)) and pd.isna(value)):
        return ""
    return html.escape(str(value))


def section_id(*parts: str) -> str:
    """A stable, safe element id: ``section_id("indicator", "antibacterial_items")``."""
    text = "-".join(str(p) for p in parts).lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def _show(markup: str, metadata: dict | None = None) -> None:
    if metadata:
        display(HTML(markup), metadata=metadata)
    else:
        display(HTML(markup))


def _format(value: Any) -> str:
    if value is None or pd.isna(value):
        return ""
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def html_table(frame: pd.DataFrame, caption: str, max_rows: int = MAX_TABLE_ROWS) -> str:
    """A collapsible, escaped HTML table of ``frame`` (numbers right-aligned), with a caption.

    Example usage::

        html_table(rows[["area_name", "value"]], "Numbers behind the funnel chart")
    """
    shown = frame.head(max_rows)
    head = "".join(f"<th scope='col'>{_e(c)}</th>" for c in shown.columns)
    body = []
    for row in shown.itertuples(index=False):
        cells = []
        for value in row:
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            cls = " class='num'" if numeric else ""
            cells.append(f"<td{cls}>{_e(_format(value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = ""
    if len(frame) > max_rows:
        more = f"<p class='cqi-note'>First {max_rows} of {len(frame)} rows shown.</p>"
    return (
        f"<details class='cqi-numbers'><summary>{_e(caption)}</summary>"
        f"<table class='cqi-table'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        f"{more}</details>"
    )


def _chart(kind: str, caption: str, *args: Any, **kwargs: Any) -> None:
    """Display a chart of ``kind``, its one-sentence summary and the collapsible numbers behind it.

    :func:`clusterqi.charts.chart_with_text` gives all three from the builder's arguments.
    """
    from clusterqi.charts import chart_with_text
    from clusterqi.charts.offline import chart_spec, offline_renderer

    chart, sentence, numbers = chart_with_text(kind, *args, **kwargs)
    # always the offline renderer, whatever renderer the session has enabled
    display(offline_renderer(chart_spec(chart)), raw=True)
    markup = f"<p class='cqi-summary'>{_e(sentence)}</p>"
    if numbers is not None and len(numbers):
        markup += html_table(numbers, caption)
    _show(markup)


# --- sections -----------------------------------------------------------------------------------


def show_header(report) -> None:
    """The report title and period; its output metadata carries what render_html checks and links."""
    audience_text = {
        "cluster": "for the cluster: member practices are not named",
        "practice": "for one practice: that practice is named, the others are not",
        "analyst": "analyst view: not disclosure-controlled, not for release",
    }[report.audience]
    period = report.total_period
    markup = (
        f"<h1 id='report-title'>{_e(report.cluster_name)}: cluster quality report</h1>"
        f"<p class='cqi-summary'>{_e(_period_words(period))}, {len(report.catalogue)} "
        f"indicator{'s' if len(report.catalogue) != 1 else ''}; {_e(audience_text)}.</p>"
    )
    metadata = {
        REPORT_METADATA_KEY: {
            "role": "report",
            "audience": report.audience,
            "releasable": report.releasable,
            "cluster_id": report.cluster_id,
            "title": report.title,
            "numbers_csv": report.numbers_csv(),
            "numbers_filename": f"{section_id(report.cluster_id)}-numbers.csv",
        }
    }
    _show(markup, metadata)


def _period_words(period: str) -> str:
    """"2025-10..2026-09" -> "12 months from Oct 2025 to Sep 2026"."""
    if ".." not in str(period):
        return str(period)
    first, last = (pd.Period(p, freq="M") for p in str(period).split(".."))
    months = (last - first).n + 1
    return f"{months} months from {first.strftime('%b %Y')} to {last.strftime('%b %Y')}"


def show_at_a_glance(report) -> None:
    """The spine chart across all indicators, with its summary and numbers."""
    _chart("summary", "The numbers behind the at-a-glance chart",
           report.table, report.catalogue, report.cluster_id, audience=report.audience)


def _rows(report, indicator_id: str, level: str, period_type: str, own: bool = True) -> pd.DataFrame:
    t = report.table
    keep = (t["indicator_id"] == indicator_id) & (t["level"] == level) & (t["period_type"] == period_type)
    if own:
        keep &= t["cluster_id"].astype("string").eq(report.cluster_id).fillna(False)
    return t[keep]


def _interpretation(report, indicator, total: pd.Series | None) -> str:
    """Plain-English sentences about the cluster's total, from the comparison columns."""
    if total is None:
        return "There is no total for this cluster in the period."
    if str(total.get("qualifier") or "") == "c":
        return (
            f"{report.cluster_name}'s figure for this indicator is suppressed to protect "
            "confidentiality (fewer items than the disclosure threshold), so no comparison is shown."
        )
    text = f"{report.cluster_name}: {_format(total.get('value'))} {indicator.unit}."
    if isinstance(total.get("interpretation"), str) and total["interpretation"]:
        # the table's sentence: the one verdict (the funnel's) first, then the other comparators
        text += f" {total['interpretation'].rstrip('.')}."
    if isinstance(total.get("quality_flag"), str) and total["quality_flag"]:
        text += " A data-quality note applies to this indicator: see Data quality notes."
    return text


def show_indicator_sections(report) -> None:
    """One section per indicator: why it matters, funnel, trend with comparator dropdown, SPC,
    the cluster's practices (when the audience may see them), interpretation and change ideas."""
    aud = report.audience
    by_indicator = dict(tuple(report.table.groupby("indicator_id", sort=False, observed=True)))
    for indicator_id, ind in report.catalogue.items():
        table = by_indicator.get(indicator_id, report.table.iloc[:0])
        sid = section_id("indicator", indicator_id)
        _show(
            f"<h3 id='{sid}'>{_e(ind.title)}</h3>"
            f"<p><strong>Why it matters.</strong> {_e(' '.join(str(ind.why_it_matters).split()))}</p>"
            f"<p class='cqi-note'>Unit: {_e(ind.unit)}; "
            f"{_e(_direction(ind))}.</p>"
        )
        own_total = _rows(report, indicator_id, "cluster", "total")
        own_total = own_total[own_total["area_id"] == report.cluster_id]
        total = own_total.iloc[0] if len(own_total) else None
        _chart("funnel", "The numbers behind the funnel plot", table, ind, "cluster",
               highlight=report.cluster_id, audience=aud)
        _chart("comparison", "The numbers behind the trend chart", table, ind,
               report.cluster_id, audience=aud)
        _chart("spc", "The numbers behind the SPC chart", table, ind, report.cluster_id,
               "cluster", audience=aud)
        if len(_rows(report, indicator_id, "practice", "total")):
            _chart("practice", "The numbers behind the practice chart", table, ind,
                   report.cluster_id, audience=aud)
        else:
            _show(
                "<p class='cqi-note'>Practice-level figures are not shown for this cluster "
                "(withheld by disclosure control: with fewer than 3 member practices, each could "
                "identify the others).</p>"
            )
        ideas = "".join(f"<li>{_e(' '.join(str(i).split()))}</li>" for i in (ind.change_ideas or []))
        refs = "".join(
            f"<li>{_e(getattr(r, 'title', r))}</li>" for r in (getattr(ind, "references", None) or [])
        )
        _show(
            f"<p><strong>Interpretation.</strong> {_e(_interpretation(report, ind, total))}</p>"
            + (f"<p><strong>Change ideas.</strong></p><ul>{ideas}</ul>" if ideas else "")
            + (f"<p class='cqi-note'>References:</p><ul class='cqi-note'>{refs}</ul>" if refs else "")
        )


def _direction(ind) -> str:
    if ind.low_is_good is None:
        return "no judgement: higher and lower are described, not rated"
    return "lower is better" if ind.low_is_good else "higher is better"


def show_local_measures(report) -> None:
    """The cluster's local QI measure as an annotated run chart, when the report has one."""
    if report.local is None:
        _show("<p class='cqi-note'>No local QI measure was given for this report.</p>")
        return
    measure = report.local_measure
    annotations = report.local_annotations
    ids = report.local["indicator_id"].dropna().unique()
    _show(f"<h3 id='{section_id('local', str(ids[0]) if len(ids) else 'measure')}'>{_e(measure.title)}</h3>")
    _chart("spc", "The numbers behind the local measure's chart", report.local, measure,
           report.cluster_id, "cluster", annotations=annotations, audience=report.audience)


def show_quality_notes(report) -> None:
    """The data-quality notes that apply to this cluster, in plain English (already releasable)."""
    notes = report.quality_notes
    if notes is None or len(notes) == 0:
        _show("<p>No data-quality problems were found for this cluster's practices in the period.</p>")
        return
    items = "".join(f"<li>{_e(text)}</li>" for text in _note_texts(notes))
    _show(
        f"<p>{len(notes)} data-quality note{'s' if len(notes) != 1 else ''} for this cluster. "
        "Where a note applies, the chart does not colour the figure better or worse.</p>"
        f"<ul>{items}</ul>"
    )


def _note_texts(notes: pd.DataFrame) -> list[str]:
    """"Member practice B, Hypnotics ..., Oct 2025: <note>" for each release-safe note."""
    texts = []
    for row in notes.to_dict("records"):
        where = [str(row.get("area_name") or "")]
        if isinstance(row.get("indicator_id"), str) and row["indicator_id"]:
            where.append(row["indicator_id"].replace("_", " "))
        month = row.get("month")
        if month is not None and not pd.isna(month):
            where.append(pd.Timestamp(month).strftime("%b %Y"))
        texts.append(f"{', '.join(w for w in where if w)}: {row.get('note', '')}")
    return texts


def show_how_to_read(report) -> None:
    """Funnel plots and SPC charts explained in plain words."""
    _show(
        "<h3 id='reading-funnel'>Funnel plots</h3>"
        "<p>Each point is one cluster: across, how many patients (or items) its figure is based "
        "on; up, its value. The funnel lines show how far from the Scotland value a cluster of "
        "that size could be by chance alone: 95% limits (about 1 in 20 clusters outside by "
        "chance) and 99.8% limits (about 1 in 500). Small clusters have wide limits because "
        "chance moves small numbers more. The limits allow for real differences between "
        "clusters that no one can act on (over-dispersion); tick the box to see them without "
        "that allowance. A point outside the 99.8% limits is worth a conversation, not a "
        "verdict.</p>"
        "<h3 id='reading-trend'>Trend charts</h3>"
        "<p>The cluster's value month by month against a comparator you choose in the "
        "drop-down: the rest of its HSCP, the rest of its health board or the rest of Scotland "
        "(each excluding the cluster itself). Click a practice in the legend to highlight it.</p>"
        "<h3 id='reading-spc'>SPC charts</h3>"
        "<p>Statistical process control separates ordinary month-to-month variation from "
        "special causes. The centre line is the average; the control limits are where "
        "ordinary variation ends. Points marked as special cause break a rule named in the "
        "chart's subtitle (for example a point outside the limits, or a long run on one side of "
        "the centre line). Improvement and concern are judged by the indicator's direction.</p>"
        "<h3 id='reading-disclosure'>Hidden and banded figures</h3>"
        f"<p>Counts from 1 to {report.policy.threshold - 1} are suppressed (shown as 'c') with "
        "any figure that would let them be worked out. "
        + ("Member practices are shown as 'Member practice A', 'B'... in an order that follows "
           "neither size nor value, with their sizes in bands." if report.audience != "analyst"
           else "This analyst view shows every figure.")
        + "</p>"
    )


def show_about(report) -> None:
    """Data extract dates, indicator definitions hash, parameters, disclosure settings, version, time."""
    run = report.run or {}
    sources = pd.DataFrame(run.get("sources", []))
    if len(sources):
        sources = sources[[c for c in ("kind", "file", "period") if c in sources.columns]]
    policy = report.policy
    settings = {
        name: getattr(policy, name)
        for name in ("audience", "threshold", "secondary", "rounding", "withhold_small_cluster")
        if hasattr(policy, name)
    }
    parameters = {k: v for k, v in report.parameters.items() if k not in ("indicator_table", "data")}
    parameters["data"] = "synthetic Scotland (demonstration data)" if report.parameters["data"] == "synthetic" else "PHS open data"
    rows = [
        ("clusterqi version", __version__),
        ("Generated", report.generated),
        ("Indicator definitions (SHA-256)", run.get("catalogue_hash", "")),
        ("Tables calculated", run.get("calculated", "")),
        ("Parameters", "; ".join(f"{k} = {v}" for k, v in parameters.items() if v is not None)),
        ("Disclosure settings", "; ".join(f"{k} = {v}" for k, v in settings.items())),
        ("Disclosure actions", f"{len(report.disclosure_log)} logged (suppressions, pseudonyms, withheld rows)"),
    ]
    body = "".join(f"<tr><th scope='row'>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    warnings = run.get("warnings", [])
    warn = ("<p class='cqi-note'>Calculation notes: " + _e("; ".join(warnings)) + "</p>") if warnings else ""
    _show(
        f"<table class='cqi-table'><tbody>{body}</tbody></table>{warn}"
        + (html_table(sources, f"Data files read ({len(sources)})", max_rows=200) if len(sources) else "")
    )
