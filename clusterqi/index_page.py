"""The index page of a batch run: every cluster with its board, HSCP, size, status and report link.

``reports/<run>/index.html`` is one self-contained file (inline CSS and a few lines of inline
script, no network) that an analyst can open from disk or share with the reports: it is
releasable because it names only boards, HSCPs and clusters and counts practices, never naming one.
A search box filters the rows as you type (board, HSCP, cluster or status); without JavaScript
every row still shows.

Example usage::

    write_index(Path("reports/demo"), entries, title="Cluster reports: demo", period="2025-10 to 2026-09")
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import Any

from clusterqi.paths import replacing

__all__ = ["write_index", "render_index"]

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


def _row(cluster_id: str, entry: Mapping[str, Any]) -> str:
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
        f'<td class="num">{escape(str(entry.get("practices", "")))}</td>'
        f'<td class="status-{escape(status.replace(" ", "-"))}">{status_cell}</td></tr>'
    )


def render_index(entries: Mapping[str, Mapping[str, Any]], *, title: str, period: str = "") -> str:
    """The index page's HTML for ``entries`` (cluster_id -> manifest entry), sorted by area."""
    order = sorted(
        entries.items(),
        key=lambda item: (str(item[1].get("hb_name", "")), str(item[1].get("hscp_name", "")), str(item[1].get("cluster_name", ""))),
    )
    counts: dict[str, int] = {}
    for _, entry in order:
        counts[str(entry.get("status"))] = counts.get(str(entry.get("status")), 0) + 1
    summary = ", ".join(f"{n} {escape(status)}" for status, n in sorted(counts.items()))
    generated = datetime.now(timezone.utc).strftime("%d %b %Y %H:%M UTC")
    rows = "\n".join(_row(cid, entry) for cid, entry in order)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>{escape(title)}</h1>
<p class="meta">{escape(period)}{' · ' if period else ''}{len(order)} clusters: {summary}. Generated {generated}.</p>
<label for="search">Search board, HSCP, cluster or status</label><br>
<input type="search" id="search" placeholder="e.g. Tayside or failed" autocomplete="off">
<p class="meta">Showing <span id="shown">{len(order)}</span> of {len(order)}.</p>
<table id="clusters">
<thead><tr><th>Health board</th><th>HSCP</th><th>Cluster</th><th>Practices</th><th>Status</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
<script>{_SCRIPT}</script>
</body>
</html>
"""


def write_index(output: Path, entries: Mapping[str, Mapping[str, Any]], *, title: str, period: str = "") -> Path:
    """Write ``output/index.html`` atomically (temp file, then rename) and return its path."""
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    path = output / INDEX_NAME
    with replacing(path) as tmp:
        tmp.write_text(render_index(entries, title=title, period=period), encoding="utf-8")
    return path
