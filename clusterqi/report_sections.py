"""The cluster report's sections: what each notebook cell displays, text generated from the numbers.

The report is a meeting brief a GP quality lead reads in five minutes, short by default and
complete on demand:

1. :func:`show_header`: one H1 (the cluster's name), the period in words, and "What to
   discuss" (:func:`clusterqi.brief.what_to_discuss`: verdicts, then SPC signals, then the
   largest moves, one sentence each, linked to the indicator);
2. :func:`show_at_a_glance`: the spine chart of every indicator, then :func:`show_contents`
   (the contents list and the "download the numbers" link);
3. :func:`show_indicator_sections`: a grid of small multiples, one card per indicator (its
   sentence and a small trend chart); the funnel, the trend with the comparator drop-down,
   the SPC chart, the practices and every table of numbers open on demand in ``<details>``
   (a printed "full" copy opens them all);
4. local measures, data-quality notes, how to read the charts and a glossary, and "About this
   report" (provenance, with the parameters and hashes folded away).

Every chart is a ``<figure>`` whose caption is its one-sentence summary (also the SVG's
accessible name, through the spec's ``description``), with a sentence on how to read it
beside it and the numbers behind it in a table (meaning never rests on the chart or on colour
alone). Every string that comes from data is HTML-escaped here, so a practice named
``<script>alert(1)</script>`` is shown as text.

:func:`show_header` must be called first: its output carries the report's audience,
releasability and the "download the numbers" CSV in its metadata, which
:func:`clusterqi.report.render_html` checks and turns into the download link.

Why one module of this size: it is the report's words and markup, every section the notebook
shows with the sentences and tables around each chart, written against one report object and
one set of HTML helpers (escaping, hidden-cell marks, tables, chart figures); the charts, the
brief, the rows, "since" and the HTML export are already their own modules.

Example usage (the notebook's cells)::

    report = build_report(**parameters)
    show_header(report)
    show_at_a_glance(report)
    show_contents(report)
    show_indicator_sections(report)
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import pandas as pd
from altair.utils.schemapi import debug_mode
from IPython.display import HTML, display

from clusterqi import __version__
from clusterqi.brief import DEFAULT_LIMIT as DISCUSS_LIMIT
from clusterqi.brief import format_number, period_words, trend_months
from clusterqi.charts.inputs import shared_chart_data
from clusterqi.charts.offline import chart_markup, chart_spec
from clusterqi.charts.small import describe_small_trend, small_trend_chart
from clusterqi.disclosure import coarsening_note
from clusterqi.peers import NO_PEERS, PEER_METHOD
from clusterqi.report_html import (
    DOWNLOAD_PLACEHOLDER,
    REPORT_METADATA_KEY,
    TOC_PLACEHOLDER,
)
from clusterqi.text_storage import python_strings
from clusterqi.vocabulary import audience as audience_record
from clusterqi.vocabulary import headline

__all__ = [
    "MAX_TABLE_ROWS",
    "HOW_TO_READ",
    "GLOSSARY",
    "section_id",
    "html_table",
    "show_header",
    "show_context",
    "context_strip",
    "show_since_last_report",
    "show_at_a_glance",
    "show_contents",
    "show_indicator_sections",
    "show_local_measures",
    "show_quality_notes",
    "show_how_to_read",
    "show_about",
]

MAX_TABLE_ROWS = 30
"""Rows shown in one collapsible numbers table (a funnel of every Scottish cluster has ~150)."""

_LEVEL_WORDS = {"practice": "practices", "cluster": "clusters", "hscp": "HSCPs", "hb": "boards"}

HOW_TO_READ = {
    "summary": "Each row is an indicator: the grey bar spans Scotland's clusters (dark grey: the "
               "middle half), the vertical line is Scotland, and the marker is this cluster; "
               "better is always to the right.",
    "small": "Black line: this cluster month by month; dashed line: the rest of Scotland; grey "
             "band: the control limits (ordinary month-to-month variation); a coloured marker "
             "is a month the SPC rules flag; a \"c\" marks a hidden month.",
    "funnel": "Each point is a cluster, placed by its size (across) and value (up); points "
              "outside the funnel's outer lines differ from Scotland by more than chance and "
              "the usual differences between clusters.",
    "comparison": "The cluster's monthly value (black) against the comparator you choose in the "
                  "drop-down; click a practice in the legend (or use the practice list) to "
                  "highlight it.",
    "spc": "The centre line is the cluster's usual level and the limits its ordinary "
           "month-to-month variation; a marked point breaks a rule named above the chart "
           "and is worth asking about.",
    "practice": "Each row is a member practice with its 95% interval; the line is the "
                "cluster's value.",
}
"""One sentence on how to read each kind of chart, shown beside it."""

GLOSSARY = {
    "cluster": ("GP cluster", "a group of 4 to 15 neighbouring general practices that meet to "
                "improve care together (Scotland's GP contract, 2018)."),
    "HSCP": ("Health and social care partnership", "the NHS board and council body that plans "
             "community health services for an area; a cluster belongs to one."),
    "funnel plot": ("Funnel plot", "clusters plotted by size and value, with limits that narrow "
                    "as size grows: small clusters vary more by chance."),
    "control limits": ("Control limits", "on an SPC chart, the range a month's value stays "
                       "within when nothing has changed; a point outside is a signal."),
    "SPC": ("Statistical process control", "charts that separate ordinary month-to-month "
            "variation from changes worth a conversation."),
    "c": ("c (hidden)", "a figure hidden to protect confidentiality: fewer than 5 items, or a "
          "figure that would let one be worked out."),
    "Clusters like ours": ("Clusters like ours", "the Scottish clusters nearest to this one in "
                           "the deprivation of their practices' areas and their patients' age "
                           "mix: a fairer comparison where those drive prescribing."),
}
"""Term -> (full name, plain explanation): the glossary section and the ``<abbr>`` titles."""

#: The headline comparator (the rest of Scotland): the verdict a card leads with.
HEADLINE = headline()


def _e(value: Any) -> str:
    """HTML-escaped text of a value (empty for missing)."""
    if value is None or (not isinstance(value, (list, tuple, dict)) and pd.isna(value)):
        return ""
    return html.escape(str(value))


def _abbr(term: str, text: str | None = None) -> str:
    """``<abbr title="...">term</abbr>`` with the glossary's explanation."""
    name, words = GLOSSARY[term]
    return f"<abbr title='{_e(name + ': ' + words)}'>{_e(text or term)}</abbr>"


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


_HIDDEN = "<abbr class=cqi-c title='hidden: fewer than {threshold} items (see Words used)'>c</abbr>"


def _cell(value: Any, threshold: int = 5) -> tuple[str, bool]:
    """(cell markup, numeric) for one table value; a suppressed value reads "c"."""
    if isinstance(value, str) and value in ("suppressed", "c"):
        return _HIDDEN.format(threshold=threshold), True
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    return _e(_format(value)), numeric


def html_table(frame: pd.DataFrame, caption: str, max_rows: int = MAX_TABLE_ROWS,
               note: str = "", threshold: int = 5) -> str:
    """A collapsible, escaped HTML table of ``frame`` (numbers right-aligned), with a caption.

    Suppressed values (``"suppressed"`` or ``"c"``) read "c" with an explanation on hover. A
    table whose columns after the first are all numbers is right-aligned by one class (a trend
    table of 15 practices has ~7,000 cells; a class on each would be ~80 KB of a report).

    Example usage::

        html_table(rows[["area_name", "value"]], "Numbers behind the funnel chart")
    """
    shown = frame.head(max_rows)
    head = "".join(f"<th scope='col'>{_e(c)}</th>" for c in shown.columns)
    rendered = [[_cell(value, threshold) for value in row] for row in shown.itertuples(index=False)]
    all_numeric = all(numeric or not text for row in rendered for text, numeric in row[1:])
    body = []
    for row in rendered:
        cells = "".join(f"<td>{text}</td>" if all_numeric or not numeric else f"<td class=n>{text}</td>"
                        for text, numeric in row)
        body.append(f"<tr>{cells}</tr>")
    more = ""
    if len(frame) > max_rows:
        more = (f"<p class='cqi-note'>First {max_rows} of {len(frame)} rows shown{note}; "
                "the CSV download has every row.</p>")
    table_class = "cqi-table cqi-n" if all_numeric and len(shown.columns) > 1 else "cqi-table"
    return (
        f"<details class='cqi-numbers'><summary>{_e(caption)}</summary>"
        f"<div class='cqi-scroll' role='region' tabindex='0' aria-label='{_e(caption)}'>"
        f"<table class='{table_class}'><caption>{_e(caption)}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
        f"{more}</details>"
    )


def _chart_markup(chart, sentence: str, how: str | None = None, embed_options: dict | None = None) -> str:
    """A chart as a ``<figure>``: how to read it, the chart (named by its sentence), the sentence."""
    spec = chart_spec(chart)
    spec["description"] = sentence
    how_text = f"<p class='cqi-how'>{_e(how)}</p>" if how else ""
    return (f"<figure class='cqi-figure'>{how_text}{chart_markup(spec, embed_options)}"
            f"<figcaption class='cqi-summary'>{_e(sentence)}</figcaption></figure>")


def _chart(kind: str, caption: str, *args: Any, order: list[str] | None = None,
           note: str = "", threshold: int = 5, **kwargs: Any) -> str:
    """A chart of ``kind`` with how to read it, its one-sentence summary and its numbers.

    :func:`clusterqi.charts.chart_with_text` gives all three from the builder's arguments;
    ``order`` puts those names of the table's first column first (the report's own cluster and
    its neighbours in a funnel's table).
    """
    from clusterqi.charts import chart_with_text

    chart, sentence, numbers = chart_with_text(kind, *args, **kwargs)
    markup = _chart_markup(chart, sentence, HOW_TO_READ.get(kind))
    if numbers is not None and len(numbers):
        if order:
            first = numbers.columns[0]
            rank = {name: i for i, name in enumerate(order)}
            numbers = numbers.assign(_order=numbers[first].map(rank).fillna(len(rank)))
            numbers = numbers.sort_values("_order", kind="stable").drop(columns="_order")
        markup += html_table(numbers, caption, note=note, threshold=threshold)
    return markup


# --- sections -----------------------------------------------------------------------------------


@python_strings
def show_header(report) -> None:
    """The cluster's name, the period in words and "What to discuss"; its output metadata
    carries what render_html checks and links."""
    months = trend_months(report.table, report.cluster_id)
    period = period_words(report.total_period)
    trend = f"; trends show the last {months} months" if months else ""
    items = report.discussion.head(DISCUSS_LIMIT)
    markup = (
        f"<h1 id='report-title'>{_e(report.cluster_name)}</h1>"
        f"<p class='cqi-period'>Cluster quality report: {_e(period)}{_e(trend)}. "
        f"{len(report.catalogue)} prescribing indicator{'s' if len(report.catalogue) != 1 else ''}"
        f" against Scotland. {_e(audience_record(report.audience).summary)}</p>"
        + _discuss_markup(report, items)
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
            "discuss": int(len(items)),
            "changes": _since_count(report),
        }
    }
    _show(markup, metadata)


_REASON_WORDS = {"verdict": "differs from its comparators", "spc": "a change over time",
                 "move": "a large move"}


def _discuss_markup(report, items: pd.DataFrame) -> str:
    if items.empty:
        body = ("<p>Nothing stands out this period: every indicator is within the usual "
                "variation between clusters, no monthly series has a clear signal and no "
                "indicator moved by more than chance. The at-a-glance chart shows where the "
                "cluster sits.</p>")
    else:
        rows = []
        for item in items.itertuples(index=False):
            anchor = section_id("indicator", item.indicator_id)
            badge = _badge(item.direction) if item.reason == "verdict" else ""
            rows.append(
                f"<li>{badge}<a href='#{anchor}'>{_e(item.title)}</a>: "
                f"{_e(item.sentence.split(': ', 1)[1] if ': ' in item.sentence else item.sentence)}"
                f" <span class='cqi-reason'>({_e(_REASON_WORDS.get(item.reason, item.reason))})</span></li>")
        body = (f"<p>{len(items)} indicator{'s' if len(items) != 1 else ''} merit the meeting's "
                "time, most important first:</p>"
                f"<ol class='cqi-discuss'>{''.join(rows)}</ol>")
    return f"<section class='cqi-brief' aria-labelledby='what-to-discuss'><h2 id='what-to-discuss'>What to discuss</h2>{body}</section>"


SINCE_SHOWN = 5
"""Most changes "Since the last report" lists (the rest are counted)."""

_KIND_WORDS = {"new signal": "new", "verdict moved": "verdict moved", "resolved": "resolved",
               "value moved": "moved"}


def _since_count(report) -> int | None:
    """How many changes "Since the last report" found (None: no earlier period compared)."""
    since = getattr(report, "since", None)
    return None if since is None else since.count


@python_strings
def show_since_last_report(report) -> None:
    """"Since the last report": which earlier period, from where, and at most
    :data:`SINCE_SHOWN` changes (new and resolved signals, verdicts that moved, the largest
    moves: :func:`clusterqi.since.changes_since`), or why there is no comparison. Its section
    carries the count (``data-clusterqi-changes``) for the index."""
    since = getattr(report, "since", None)
    if since is None:
        return
    heading = "<h2 id='since-last-report'>Since the last report</h2>"
    if not since.compared:
        _show("<section class='cqi-since' aria-labelledby='since-last-report'>" + heading
              + f"<p>No comparison with an earlier period: {_e(since.reason)}.</p></section>")
        return
    period = since.period_text
    period = f"the {period}" if period[:1].isdigit() else period
    if since.previous_run:
        source = f"the previous run ({Path(since.previous_run).parent.name or 'its manifest'})"
    elif since.source.startswith("previous period"):
        source = "the earlier period the run names"
    else:
        source = "the same length of time one quarter earlier"
    intro = (f"Compared with {period}, {source}, recalculated from the data with today's "
             "indicator definitions and the same disclosure control.")
    if since.definitions_changed:
        intro += (" The indicator definitions have changed since the previous run, so its "
                  "published figures may differ from the earlier figures used here.")
    changes = since.changes
    if changes.empty:
        body = f"<p>No change worth a mention since {_e(period)}.</p>"
    else:
        rows = []
        for item in changes.head(SINCE_SHOWN).itertuples(index=False):
            anchor = section_id("indicator", item.indicator_id)
            text = item.sentence.split(": ", 1)[1] if ": " in item.sentence else item.sentence
            rows.append(f"<li><a href='#{anchor}'>{_e(item.title)}</a>: {_e(text)} "
                        f"<span class='cqi-reason'>({_e(_KIND_WORDS.get(item.kind, item.kind))})</span></li>")
        more = len(changes) - SINCE_SHOWN
        tail = (f"<p class='cqi-note'>{more} more change{'s' if more != 1 else ''} not listed.</p>"
                if more > 0 else "")
        body = f"<ul class='cqi-since-list'>{''.join(rows)}</ul>{tail}"
    _show(f"<section class='cqi-since' aria-labelledby='since-last-report' "
          f"data-clusterqi-changes='{len(changes)}'>{heading}"
          f"<p class='cqi-note'>{_e(intro)}</p>{body}</section>")


def _badge(word: str) -> str:
    word = str(word or "")
    if word not in ("better", "worse", "higher", "lower", "similar"):
        return ""
    return f"<span class='cqi-badge cqi-{word}'>{_e(word)}</span> "


@python_strings
def show_at_a_glance(report) -> None:
    """The spine chart across all indicators, with how to read it, its summary and numbers."""
    markup = _chart("summary", "The numbers behind the at-a-glance chart",
                    report.table, report.catalogue, report.cluster_id, audience=report.audience)
    _show("<section class='cqi-glance' aria-labelledby='at-a-glance'>"
          "<h2 id='at-a-glance'>At a glance</h2>"
          "<p class='cqi-note'>\"Better\" or \"worse\" means further from the rest of Scotland "
          "than the usual differences between Scottish clusters can explain (outside the "
          f"99.8% limits of the {_abbr('funnel plot')}); \"similar\" means within them.</p>"
          f"{markup}</section>")


def _position(context: dict, measure: str, largest: str) -> str:
    """"7th of 152 clusters by <largest>" from a context row's rank columns ("" without them)."""
    rank = context.get(f"{measure}_rank_among_clusters")
    of = context.get(f"{measure}_clusters_ranked")
    if rank is None or of is None or pd.isna(rank) or pd.isna(of):
        return ""
    rank = int(rank)
    suffix = "th" if 10 <= rank % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(rank % 10, "th")
    return f"{rank}{suffix} of {int(of)} clusters {largest}"


def _share(value: Any) -> str:
    return "" if value is None or pd.isna(value) else f"{100 * float(value):.0f}%"


def context_strip(report) -> str:
    """The cluster's context in one small table: list size, age mix and the deprivation of its
    practices' premises, each with its place among Scotland's clusters (HTML, "" without data)."""
    c = report.context or {}
    if not c:
        return ""
    rows = [
        ("Patients registered", f"{int(c['list_size']):,}" if pd.notna(c.get("list_size")) else "",
         _position(c, "list_size", "by size, largest first")),
        ("Aged 65 and over", _share(c.get("share_65_plus")),
         _position(c, "share_65_plus", "by this share, highest first")),
        ("Aged under 15", _share(c.get("share_under_15")),
         _position(c, "share_under_15", "by this share, highest first")),
    ]
    quintiles = [c.get(f"simd_q{q}_share") for q in range(1, 6)]
    if any(q is not None and pd.notna(q) for q in quintiles):
        mix = ", ".join(f"{_share(q)} in quintile {i}" for i, q in enumerate(quintiles, 1)
                        if q is not None and pd.notna(q) and float(q) > 0)
        rows.append(("Deprivation of the practices' premises (SIMD 2020v2; quintile 1 = most "
                     "deprived), by patients", mix,
                     _position(c, "mean_simd_rank", "by deprivation, most deprived first")))
    body = "".join(f"<tr><th scope='row'>{_e(a)}</th><td>{_e(b)}</td><td>{_e(p)}</td></tr>"
                   for a, b, p in rows)
    return ("<table class='cqi-context'><caption>The cluster's population, and its place among "
            "Scotland's clusters</caption><thead><tr><th scope='col'>Measure</th>"
            "<th scope='col'>This cluster</th><th scope='col'>Among Scotland's clusters</th>"
            f"</tr></thead><tbody>{body}</tbody></table>")


@python_strings
def show_context(report) -> None:
    """Who the cluster serves (context strip) and its "clusters like ours" peer group."""
    strip = context_strip(report)
    peers = report.peers
    if len(peers):
        names = ", ".join(_e(n) for n in peers["cluster_name"])
        peer_markup = (f"<p>{_abbr('Clusters like ours')}: the {len(peers)} Scottish clusters "
                       f"nearest to {_e(report.cluster_name)} in deprivation and age mix. "
                       f"{_e(PEER_METHOD)}</p><details><summary>Which clusters</summary>"
                       f"<p>{names}</p></details>")
    else:
        peer_markup = (f"<p class='cqi-note'>{_e(NO_PEERS)}</p>")
    _show("<section class='cqi-context-section' aria-labelledby='context'>"
          "<h2 id='context'>Who the cluster serves</h2>"
          "<p class='cqi-note'>Deprivation is that of the practices' premises (their Data Zone), a "
          "proxy for their patients'; the figures are not adjusted for it, so compare with "
          "clusters like ours where it matters.</p>"
          f"{strip}{peer_markup}{_practice_context_markup(report)}</section>")


def _practice_context_markup(report) -> str:
    """Per-practice context (deprivation decile, age mix, size): a quasi-identifier, so the
    report only has it for the analyst view or a practice report's named practice."""
    frame = report.practice_context
    if frame is None or not len(frame):
        return ""
    shown = pd.DataFrame({
        "Practice": frame["practice_name"].astype(str),
        "Patients": frame["list_size"].map(lambda v: "" if pd.isna(v) else f"{int(v):,}"),
        "SIMD decile of premises": frame["simd_decile"].map(lambda v: "" if pd.isna(v) else str(int(v))),
        "Aged 65+": frame["share_65_plus"].map(_share),
        "Aged under 15": frame["share_under_15"].map(_share),
    })
    return html_table(shown, "Each named practice's population (SIMD decile 1 = the most "
                             "deprived 10% of Scotland)")


@python_strings
def show_contents(report) -> None:
    """The contents list (filled in by render_html) and the "download the numbers" link."""
    _show("<nav class='cqi-toc' aria-labelledby='contents'>"
          "<h2 id='contents' class='cqi-toc-title'>Contents</h2>"
          f"{TOC_PLACEHOLDER}</nav><p class='cqi-download'>{DOWNLOAD_PLACEHOLDER}</p>")


def _rows(report, indicator_id: str, level: str, period_type: str, own: bool = True) -> pd.DataFrame:
    return report.rows(indicator_id, level, period_type, own)  # clusterqi.report_rows decides


def _threshold(report) -> int:
    return int(getattr(report.policy, "threshold", 5) or 5)


def _interpretation(report, indicator, total: pd.Series | None) -> str:
    """Plain-English sentences about the cluster's total, from the comparison columns."""
    if total is None:
        return "There is no total for this cluster in the period."
    if str(total.get("qualifier") or "") == "c":
        return (
            f"{report.cluster_name}'s figure for this indicator is hidden (shown as c) to protect "
            f"confidentiality: fewer than {_threshold(report)} items, or a figure that would let "
            "such a count be worked out, so no comparison is shown."
        )
    text = f"{report.cluster_name}: {_format(total.get('value'))} {indicator.unit}."
    if isinstance(total.get("interpretation"), str) and total["interpretation"]:
        # the table's sentence: the one verdict (the funnel's) first, then the other comparators
        text += f" {total['interpretation'].rstrip('.')}."
    if isinstance(total.get("quality_flag"), str) and total["quality_flag"]:
        text += " A data-quality note applies to this indicator: see Data quality notes."
    return text


def _card_sentence(report, ind, total: pd.Series | None, brief: dict[str, str]) -> tuple[str, str]:
    """(badge word, one sentence) for an indicator's card."""
    if ind.id in brief:
        sentence = brief[ind.id]
        return "", sentence.split(": ", 1)[1] if ": " in sentence else sentence
    if total is None:
        return "", "No total for this cluster in the period."
    if str(total.get("qualifier") or "") == "c":
        return "", (f"Hidden (c): fewer than {_threshold(report)} items, or a figure that would "
                    "reveal such a count.")
    verdict = str(total.get(HEADLINE.verdict_column) or "")
    scotland = total.get(HEADLINE.value_column)
    text = f"{format_number(total.get('value'))} {ind.unit}"
    if verdict:
        text += f": {verdict} to the rest of Scotland" if verdict == "similar" else f": {verdict} than the rest of Scotland"
    if scotland is not None and not pd.isna(scotland):
        text += f" ({format_number(scotland)})"
    if isinstance(total.get("quality_flag"), str) and total["quality_flag"]:
        text += "; a data-quality note applies"
    return verdict, text + "."


def _neighbour_names(report, indicator_id: str) -> list[str]:
    """The report's own cluster, then the other clusters of its HSCP, by name (table order)."""
    rows = report.rows(indicator_id, "cluster", "total", own=False,
                       columns=["area_id", "area_name", "hscp_code"])
    own = rows[rows["area_id"] == report.cluster_id]
    names = [str(n) for n in own["area_name"]]
    if len(own) and "hscp_code" in rows:
        hscp = own["hscp_code"].iloc[0]
        near = rows[(rows["hscp_code"] == hscp) & (rows["area_id"] != report.cluster_id)]
        names += sorted(str(n) for n in near["area_name"])
    return names


@python_strings
def show_indicator_sections(report) -> None:
    """One card per indicator in a grid of small multiples: the sentence and a small trend chart;
    the funnel, trend with comparator drop-down, SPC, practices, why it matters, interpretation
    and change ideas open on demand."""
    aud = report.audience
    threshold = _threshold(report)
    items = report.discussion
    brief = dict(zip(items["indicator_id"], items["sentence"]))
    by_indicator = dict(tuple(report.table.groupby("indicator_id", sort=False, observed=True)))
    cards = []
    for indicator_id, ind in report.catalogue.items():
        table = by_indicator.get(indicator_id, report.table.iloc[:0])
        sid = section_id("indicator", indicator_id)
        own_total = _rows(report, indicator_id, "cluster", "total")
        own_total = own_total[own_total["area_id"] == report.cluster_id]
        total = own_total.iloc[0] if len(own_total) else None
        badge, sentence = _card_sentence(report, ind, total, brief)
        small = ""
        if report.count(indicator_id, "cluster", "month"):
            # rows prepared once for the chart and its sentence; Altair's build-time validation
            # off, as for every other chart (chart_with_text)
            with shared_chart_data(), debug_mode(False):
                chart = small_trend_chart(table, ind, report.cluster_id, audience=aud, threshold=threshold)
                trend_sentence = describe_small_trend(table, ind, report.cluster_id, aud, threshold)
            small = _chart_markup(chart, trend_sentence, embed_options={"actions": False})
        more = _more_markup(report, ind, table, total, threshold)
        cards.append(
            f"<section class='cqi-card' aria-labelledby='{sid}'>"
            f"<h3 id='{sid}'>{_e(ind.title)}</h3>"
            f"<p class='cqi-card-text'>{_badge(badge)}{_e(sentence)}</p>"
            f"{small}"
            f"<details class='cqi-more'><summary>More on this indicator<span class='cqi-visually-hidden'>: "
            f"{_e(ind.title)}</span> (funnel, trend, SPC, practices, numbers)</summary>{more}</details>"
            "</section>"
        )
    _show(
        "<section class='cqi-indicators' aria-labelledby='indicators'>"
        "<h2 id='indicators'>Indicators</h2>"
        f"<p class='cqi-how'>{_e(HOW_TO_READ['small'])} \"More on this indicator\" opens the "
        f"{_abbr('funnel plot')}, the trend against a comparator, the {_abbr('SPC')} chart and the "
        "practices.</p>"
        f"<div class='cqi-grid'>{''.join(cards)}</div></section>"
    )


def _more_markup(report, ind, table: pd.DataFrame, total, threshold: int) -> str:
    aud = report.audience
    parts = [
        f"<p><strong>Why it matters.</strong> {_e(' '.join(str(ind.why_it_matters).split()))}</p>",
        f"<p class='cqi-note'>Unit: {_e(ind.unit)}; {_e(_direction(ind))}.</p>",
        f"<p><strong>Interpretation.</strong> {_e(_interpretation(report, ind, total))}</p>",
        "<h4>Among Scotland's clusters (funnel plot)</h4>",
        _chart("funnel", "The numbers behind the funnel plot", table, ind, "cluster",
               highlight=report.cluster_id, audience=aud, threshold=threshold,
               order=_neighbour_names(report, ind.id),
               note=": this cluster and the rest of its HSCP first"),
        "<h4>Month by month against a comparator</h4>",
        _chart("comparison", "The numbers behind the trend chart", table, ind,
               report.cluster_id, audience=aud, threshold=threshold),
        f"<h4>{_abbr('SPC', 'SPC')} chart: changes over time</h4>",
        _chart("spc", "The numbers behind the SPC chart", table, ind, report.cluster_id,
               "cluster", audience=aud, threshold=threshold),
        "<h4>Member practices</h4>",
    ]
    if report.count(ind.id, "practice", "total"):
        parts.append(_chart("practice", "The numbers behind the practice chart", table, ind,
                            report.cluster_id, audience=aud, threshold=threshold))
    else:
        parts.append(
            "<p class='cqi-note'>Practice-level figures are not shown for this cluster "
            "(withheld by disclosure control: with fewer than 3 member practices, each could "
            "identify the others).</p>")
    ideas = "".join(f"<li>{_e(' '.join(str(i).split()))}</li>" for i in (ind.change_ideas or []))
    if ideas:
        parts.append(f"<p><strong>Change ideas.</strong></p><ul>{ideas}</ul>")
    refs = []
    for ref in getattr(ind, "references", None) or []:
        title, url = getattr(ref, "title", ref), getattr(ref, "url", None)
        if isinstance(url, str) and url.startswith(("https://", "http://")):
            refs.append(f"<li><a href='{_e(url)}'>{_e(title)}</a></li>")
        else:
            refs.append(f"<li>{_e(title)}</li>")
    if refs:
        parts.append(f"<p class='cqi-note'>References:</p><ul class='cqi-note'>{''.join(refs)}</ul>")
    return "".join(parts)


def _direction(ind) -> str:
    if ind.low_is_good is None:
        return "no judgement: higher and lower are described, not rated"
    return "lower is better" if ind.low_is_good else "higher is better"


@python_strings
def show_local_measures(report) -> None:
    """The cluster's local QI measure as an annotated run chart, when the report has one."""
    if report.local is None:
        return
    measure = report.local_measure
    annotations = report.local_annotations
    ids = report.local["indicator_id"].dropna().unique()
    sid = section_id("local", str(ids[0]) if len(ids) else "measure")
    _show(
        "<h2 id='local-qi-measures'>Local QI measures</h2>"
        f"<h3 id='{sid}'>{_e(measure.title)}</h3>"
        + _chart("spc", "The numbers behind the local measure's chart", report.local, measure,
                 report.cluster_id, "cluster", annotations=annotations, audience=report.audience)
    )


@python_strings
def show_quality_notes(report) -> None:
    """The data-quality notes that apply to this cluster, in plain English (already releasable)."""
    notes = report.quality_notes
    heading = "<h2 id='data-quality-notes'>Data quality notes</h2>"
    if notes is None or len(notes) == 0:
        _show(heading + "<p>No data-quality problems were found for this cluster's practices "
              "in the period.</p>")
        return
    items = "".join(f"<li>{_e(text)}</li>" for text in _note_texts(notes))
    count = f"{len(notes)} data-quality note{'s' if len(notes) != 1 else ''}"
    _show(
        heading + f"<p>{count} for this cluster. Where a note applies, the chart does not colour "
        "the figure better or worse.</p>"
        f"<details class='cqi-numbers'><summary>The {count}</summary><ul>{items}</ul></details>"
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


@python_strings
def show_how_to_read(report) -> None:
    """A short glossary, then funnel plots, SPC and hidden figures explained in plain words."""
    terms = "".join(f"<dt>{_e(name)}</dt><dd>{_e(words)}</dd>"
                    for key, (name, words) in GLOSSARY.items())
    threshold = _threshold(report)
    hidden = (
        f"Counts from 1 to {threshold - 1} are hidden and shown as 'c', together with any "
        "figure that would let them be worked out from a total (secondary suppression: a "
        "second figure hidden so the first cannot be recovered by subtraction). A chart leaves "
        "a hidden month out and marks it with a 'c'. "
        + ("Member practices are shown as 'Member practice A', 'B'... in an order that follows "
           "neither size nor value, with their sizes in bands. " + coarsening_note(report.policy)
           if audience_record(report.audience).pseudonymises
           else "This analyst view shows every figure.")
    )
    _show(
        "<h2 id='glossary'>Words used, and how to read the charts</h2>"
        f"<dl class='cqi-glossary'>{terms}</dl>"
        f"<p><strong>Hidden and banded figures.</strong> {_e(hidden)}</p>"
        "<details class='cqi-numbers'><summary>More on funnel plots, trends and SPC charts</summary>"
        "<p><strong>Funnel plots.</strong> Each point is one cluster: across, how many patients "
        "(or items) its figure is based on; up, its value. The funnel lines show how far from "
        "the Scotland value a cluster of that size could be by chance alone: 95% limits (about "
        "1 in 20 clusters outside by chance) and 99.8% limits (about 1 in 500). Small clusters "
        "have wide limits because chance moves small numbers more. The limits also allow for "
        "the real differences between clusters that no one can act on (statisticians call "
        "this over-dispersion); tick the box to see them without that allowance. A point "
        "outside the 99.8% limits is worth a conversation, not a verdict.</p>"
        "<p><strong>Trend charts.</strong> The cluster's value month by month against a "
        "comparator you choose in the drop-down: the rest of its HSCP, the rest of its health "
        "board or the rest of Scotland (each excluding the cluster itself).</p>"
        "<p><strong>SPC charts.</strong> The centre line is the cluster's usual level; the "
        "control limits are where ordinary month-to-month variation ends (about three "
        "standard deviations either side). A marked point is a change worth asking about: a "
        "month outside the limits, or a run of months on one side of the centre line. Such a "
        "run appears by chance in about one chart in ten, so it matters most when it lasts or "
        "comes with a point outside the limits.</p></details>"
    )


@python_strings
def show_about(report) -> None:
    """Who made the report, from which data, how figures are protected; parameters and hashes
    folded away; a link back to the index."""
    run = report.run or {}
    sources = pd.DataFrame(run.get("sources", []))
    policy = report.policy
    parameters = {k: v for k, v in report.parameters.items() if k not in ("indicator_table", "data")}
    synthetic = report.parameters.get("data") == "synthetic"
    parameters["data"] = "synthetic Scotland (demonstration data)" if synthetic else "PHS open data"
    threshold = _threshold(report)
    releases = ""
    if len(sources) and "kind" in sources:
        kinds = sources.groupby("kind", sort=True)
        bits = []
        for kind, rows in kinds:
            periods = sorted(p for p in rows.get("period", pd.Series(dtype=str)).astype(str) if p)
            span = f" ({periods[0]} to {periods[-1]})" if len(periods) > 1 else (f" ({periods[0]})" if periods else "")
            bits.append(f"{kind.replace('_', ' ')}: {len(rows)} file{'s' if len(rows) != 1 else ''}{span}")
        releases = "; ".join(bits)
    data_words = ("Synthetic Scotland: made-up practices and prescribing for demonstration; "
                  "no real patient or practice is shown." if synthetic else
                  "Public Health Scotland open data: GP practice list sizes and populations, and "
                  "Prescriptions in the Community.")
    contact = report.parameters.get("contact")
    made_by = (f"<p><strong>Questions about this report:</strong> {_e(contact)}</p>" if contact else
               "<p><strong>Questions about this report:</strong> ask the analyst who sent it "
               "(your local intelligence support team).</p>")
    rounding = getattr(policy, "rounding", "none")
    policy_words = (
        f"Counts from 1 to {threshold - 1} items are hidden (shown as c), with any figure that "
        "would let one be worked out. "
        + audience_record(report.audience).policy
        + (coarsening_note(report.policy) + " " if audience_record(report.audience).pseudonymises else "")
        + (f"Counts are rounded ({rounding}). " if rounding and rounding != "none" else "")
    )
    settings = {
        name: getattr(policy, name)
        for name in ("audience", "threshold", "secondary", "rounding", "withhold_small_cluster")
        if hasattr(policy, name)
    }
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
    files = ""
    if len(sources):
        keep = [c for c in ("kind", "file", "period", "sha256") if c in sources.columns]
        files = html_table(sources[keep], f"Data files read ({len(sources)})", max_rows=200)
    refs = {}
    for ind in report.catalogue.values():
        for ref in getattr(ind, "references", None) or []:
            url = getattr(ref, "url", None)
            if isinstance(url, str) and url.startswith(("https://", "http://")):
                refs.setdefault(url, str(getattr(ref, "title", url)))
    ref_list = "".join(f"<li><a href='{_e(u)}'>{_e(t)}</a></li>" for u, t in refs.items())
    _show(
        "<h2 id='about-this-report'>About this report</h2>"
        f"<p><strong>Data.</strong> {_e(data_words)} "
        f"Period: {_e(period_words(report.total_period))} ({_e(report.total_period.replace('..', ' to '))})"
        f"{'; releases used: ' + _e(releases) if releases else ''}.</p>"
        f"<p><strong>Made with</strong> clusterqi {_e(__version__)} on {_e(str(report.generated)[:10])}.</p>"
        f"{made_by}"
        f"<p><strong>Protecting confidentiality.</strong> {_e(policy_words)}</p>"
        "<p><a href='index.html'>All cluster reports of this run (index)</a></p>"
        + (f"<details class='cqi-numbers'><summary>References ({len(refs)})</summary><ul>{ref_list}</ul></details>"
           if refs else "")
        + "<details class='cqi-numbers'><summary>Parameters, settings and hashes</summary>"
        "<div class='cqi-scroll' role='region' tabindex='0' aria-label='How this report was made'>"
        "<table class='cqi-table'><caption>How this report was made</caption>"
        f"<tbody>{body}</tbody></table></div>{warn}</details>"
        + files
    )
