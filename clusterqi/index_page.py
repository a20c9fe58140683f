"""The index page of a batch run: every cluster with its board, HSCP, size, status and report link.

Each rendered report says how many indicators it lists under "What to discuss" (its
``<meta name="clusterqi-discuss">``, from :func:`clusterqi.brief.what_to_discuss`); the index
shows that count and lists the clusters with most to discuss first (a manifest entry's own
``discuss`` value wins when present). "Since last" is how many changes its "Since the last
report" section lists (:mod:`clusterqi.since`; the manifest entry's ``changes``, or the
section's ``data-clusterqi-changes``); with equal discussion counts, more changes come first.

``reports/<run>/index.html`` is one self-contained file (inline CSS and a few lines of inline
script, no network) that an analyst can open from disk or share with the reports: it is
releasable because it names only boards, HSCPs and clusters and counts practices, never naming one.
A search box filters the rows as you type (board, HSCP, cluster or status); without JavaScript
every row still shows.

Example usage::

    write_index(Path("reports/demo"), entries, title="Cluster reports: demo", period="2025-10 to 2026-09")
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import Any

from clusterqi.paths import replacing

__all__ = ["write_index", "render_index", "discuss_count", "changes_count", "report_counts"]

INDEX_NAME = "index.html"

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Arial,sans-serif;margin:2rem;color:#1d1d1d}
h1{font-size:1.5rem;margin-bottom:.25rem} p.meta{color:#555;margin-top:0}
input[type=search]{font-size:1rem;padding:.4rem .6rem;width:min(32rem,100%);margin:.5rem 0 1rem}
table{border-collapse:collapse;width:100%} th,td{text-align:left;padding:.35rem .6rem;border-bottom:1px solid #ddd}
th{background:#f2f2f2;position:sticky;top:0} td.num{text-align:right}
.status-done{color:#1b5e20} .status-failed{color:#b71c1c;font-weight:bold} .status-not-run{color:#666}
@media print{input[type=search]{display:none}}
"""

_SCRIPT = """
(function(){
  var box=document.getElementById('search'), rows=document.querySelectorAll('#clusters tbody tr'),
      count=document.getElementById('shown');
  function filter(){
    var words=box.value.toLowerCase().split(/\\s+/).filter(Boolean), shown=0;
    rows.forEach(function(row){
      var text=row.textContent.toLowerCase();
      var keep=words.every(function(w){return text.indexOf(w)>=0;});
      row.hidden=!keep; if(keep){shown++;}
    });
    count.textContent=shown;
  }
  box.addEventListener('input',filter); filter();
})();
"""


_DISCUSS_META = re.compile(r'<meta name="clusterqi-discuss" content="(\d+)">')
_CHANGES_META = re.compile(r'<meta name="clusterqi-changes" content="(\d+)">')
_CHANGES_SECTION = re.compile(r"""data-clusterqi-changes=['"](\d+)['"]""")
CHUNK_BYTES = 1 << 20
"""How much of a report is read at a time while looking for its "Since the last report" count."""
HEAD_BYTES = 16_384
"""How much of a report's start is read for its discussion count (the meta tag is in the head)."""


def discuss_count(entry: Mapping[str, Any], folder: Path | None = None) -> int | None:
    """How many indicators a cluster's report lists under "What to discuss" (None: unknown).

    Example usage::

        discuss_count({"status": "done", "output": "dundee-4.html"}, Path("reports/demo"))
    """
    return _entry_count(entry, folder, "discuss")


def report_counts(path: str | Path) -> dict[str, int | None]:
    """``{"discuss": n, "changes": m}`` read from a rendered report (None: not found).

    The discussion count is the ``clusterqi-discuss`` meta tag in the page head; the changes
    count a ``clusterqi-changes`` meta tag there, else the ``data-clusterqi-changes`` attribute
    of the "Since the last report" section (the file is read until it is found).

    Example usage::

        report_counts("reports/demo/ardcraig-east-1.html")   # {"discuss": 2, "changes": 3}
    """
    found: dict[str, int | None] = {"discuss": None, "changes": None}
    try:
        with Path(path).open("r", encoding="utf-8", errors="replace") as handle:
            text = handle.read(HEAD_BYTES)
            for key, pattern in (("discuss", _DISCUSS_META), ("changes", _CHANGES_META)):
                match = pattern.search(text)
                found[key] = int(match.group(1)) if match else None
            tail = ""
            while found["changes"] is None and text:
                match = _CHANGES_SECTION.search(tail + text)
                if match:
                    found["changes"] = int(match.group(1))
                    break
                tail = text[-64:]
                text = handle.read(CHUNK_BYTES)
    except OSError:
        pass
    return found


def changes_count(entry: Mapping[str, Any], folder: Path | None = None) -> int | None:
    """How many changes a cluster's report lists "Since the last report" (None: unknown, or
    no earlier period compared).

    Example usage::

        changes_count({"status": "done", "output": "dundee-4.html"}, Path("reports/demo"))
    """
    return _entry_count(entry, folder, "changes")


def _entry_count(entry: Mapping[str, Any], folder: Path | None, key: str) -> int | None:
    """A manifest entry's count, else the one its finished report carries (:func:`report_counts`)."""
    if isinstance(entry.get(key), int):
        return int(entry[key])
    if folder is None or entry.get("status") != "done" or not entry.get("output"):
        return None
    return report_counts(Path(folder) / str(entry["output"]))[key]


def _row(cluster_id: str, entry: Mapping[str, Any], discuss: int | None = None,
         changes: int | None = None) -> str:
    status = str(entry.get("status") or "not run")
    output = entry.get("output") or f"{cluster_id}.html"
    if status == "done":
        link = f'<a href="{escape(output)}">{escape(str(entry.get("cluster_name", cluster_id)))}</a>'
    else:
        link = escape(str(entry.get("cluster_name", cluster_id)))
    error = entry.get("error")
    status_cell = escape(status) + (f' <span title="{escape(str(error))}">(why?)</span>' if error else "")
    return (
        f'<tr data-cluster="{escape(cluster_id)}"><td>{escape(str(entry.get("hb_name", "")))}</td>'
        f'<td>{escape(str(entry.get("hscp_name", "")))}</td><td>{link}</td>'
        f'<td class="num">{"" if discuss is None else discuss}</td>'
        f'<td class="num">{"" if changes is None else changes}</td>'
        f'<td class="num">{escape(str(entry.get("practices", "")))}</td>'
        f'<td class="status-{escape(status.replace(" ", "-"))}">{status_cell}</td></tr>'
    )


def render_index(entries: Mapping[str, Mapping[str, Any]], *, title: str, period: str = "",
                 folder: Path | None = None, since: Mapping[str, Any] | None = None) -> str:
    """The index page's HTML for ``entries`` (cluster_id -> manifest entry): clusters with most
    to discuss first, then most changes since the last report (their reports in ``folder``),
    then by area. ``since`` is the manifest's record of the earlier period compared with
    (:meth:`clusterqi.since.Since.record`), said in a line above the table."""
    counts_by_cluster = {cid: discuss_count(entry, folder) for cid, entry in entries.items()}
    changes_by_cluster = {cid: changes_count(entry, folder) for cid, entry in entries.items()}

    def _count(value: int | None) -> int:
        return -(value if value is not None else -1)

    order = sorted(
        entries.items(),
        key=lambda item: (_count(counts_by_cluster[item[0]]), _count(changes_by_cluster[item[0]]),
                          str(item[1].get("hb_name", "")), str(item[1].get("hscp_name", "")),
                          str(item[1].get("cluster_name", ""))),
    )
    counts: dict[str, int] = {}
    for _, entry in order:
        counts[str(entry.get("status"))] = counts.get(str(entry.get("status")), 0) + 1
    summary = ", ".join(f"{n} {escape(status)}" for status, n in sorted(counts.items()))
    generated = datetime.now(timezone.utc).strftime("%d %b %Y %H:%M UTC")
    rows = "\n".join(_row(cid, entry, counts_by_cluster[cid], changes_by_cluster[cid])
                     for cid, entry in order)
    since_line = _since_line(since)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{_STYLE}</style>
</head>
<body>
<main>
<h1>{escape(title)}</h1>
<p class="meta">{escape(period)}{' · ' if period else ''}{len(order)} clusters: {summary}. Generated {generated}.
Clusters with most to discuss come first: "To discuss" counts the indicators a report lists under
"What to discuss" (outside the limits against a comparator, a clear change over time, or a large move);
"Since last" counts what changed since the earlier period (new and resolved signals, verdicts that moved, large moves).</p>
{since_line}<label for="search">Search board, HSCP, cluster or status</label><br>
<input type="search" id="search" placeholder="e.g. Tayside or failed" autocomplete="off">
<p class="meta" aria-live="polite">Showing <span id="shown">{len(order)}</span> of {len(order)}.</p>
<table id="clusters">
<thead><tr><th scope="col">Health board</th><th scope="col">HSCP</th><th scope="col">Cluster</th><th scope="col">To discuss</th><th scope="col">Since last</th><th scope="col">Practices</th><th scope="col">Status</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
</main>
<script>{_SCRIPT}</script>
</body>
</html>
"""


def _since_line(since: Mapping[str, Any] | None) -> str:
    """One line saying which earlier period "Since last" compares with (empty without one)."""
    if not since or not since.get("period_end"):
        return ""
    from clusterqi.brief import period_words

    period = period_words(since["period"]) if since.get("period") else str(since["period_end"])
    previous = since.get("previous_run")
    source = (f"the previous run ({escape(Path(str(previous)).parent.name)})" if previous
              else "the same length of time one quarter earlier"
              if str(since.get("source", "")).startswith("same period") else "the period the run names")
    text = f"Since last: compared with the {escape(period)}, {source}, recalculated with today's definitions."
    if since.get("definitions_changed"):
        text += " The indicator definitions have changed since the previous run."
    if since.get("reason"):
        text = f"Since last: no comparison ({escape(str(since['reason']))})."
    return f'<p class="meta" id="since-last">{text}</p>\n'


def write_index(output: Path, entries: Mapping[str, Mapping[str, Any]], *, title: str, period: str = "",
                since: Mapping[str, Any] | None = None) -> Path:
    """Write ``output/index.html`` atomically (temp file, then rename) and return its path."""
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    path = output / INDEX_NAME
    with replacing(path) as tmp:
        tmp.write_text(render_index(entries, title=title, period=period, folder=output, since=since),
                       encoding="utf-8")
    return path
