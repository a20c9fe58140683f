"""The live explorer: choose board -> cluster -> indicator -> comparison in JupyterLab and see the charts.

:class:`Explorer` is what ``notebooks/explore.ipynb`` shows. It is built on the same library calls
as the cluster report, so what the analyst sees live is what a report would show:
:func:`clusterqi.report.prepare_run_tables` (the indicator table, calculated once),
:func:`clusterqi.report.build_report` (disclosure control for the chosen audience) and the
:mod:`clusterqi.charts` builders. Nothing is calculated here; the explorer only chooses.

Widgets (ipywidgets, live kernel only): ``board`` and ``cluster`` (the cluster list follows the
board), ``indicator`` (grouped by theme: "Pain: ..."), ``comparison`` (:data:`COMPARISONS`), ``audience`` (preview what a cluster
lead would see, or the analyst view) and ``months`` (the period's length; a new length is
calculated once, then cached). Every change redraws ``chart_output`` and the one-sentence
``summary``; ``last_update_seconds`` says how long the last redraw took.

Example usage (in a notebook)::

    from clusterqi.explore import Explorer
    explorer = Explorer(data="synthetic", period_end="2026-09")
    explorer.widget          # displays the controls and the chart
    explorer.cluster.value = "dundee-4"   # also works from code
"""

from __future__ import annotations

import time
from html import escape
from pathlib import Path
from typing import Any

import altair as alt
import ipywidgets as widgets
import pandas as pd
from IPython.display import display

from clusterqi import charts, vocabulary
from clusterqi.charts.offline import chart_spec, enable_offline_charts
from clusterqi.charts.summary import OTHER_THEME, theme_order
from clusterqi.indicators import load_catalogue
from clusterqi.peers import NO_PEERS
from clusterqi.report import build_report
from clusterqi.report_sections import context_strip
from clusterqi.run_tables import cached_run_tables
from clusterqi.vocabulary import ANALYST, AUDIENCES
from clusterqi.vocabulary import audience as audience_record

__all__ = ["Explorer", "COMPARISONS", "AUDIENCE_CHOICES", "MONTH_CHOICES"]

#: Comparison choices -> the chart that answers them.
COMPARISONS = {
    "Practices in the cluster": "practice",
    "Clusters in the HSCP": "funnel-hscp",
    "Clusters in the board": "funnel-hb",
    vocabulary.headline().label: "trend",
    vocabulary.comparator(vocabulary.PEERS).label: "trend-peers",
}
#: The trend chart's first comparator for each trend choice (its dropdown offers the others).
COMPARISON_START = {"trend": vocabulary.headline().label,
                    "trend-peers": vocabulary.comparator(vocabulary.PEERS).label}
#: Audiences the explorer previews ("practice" needs a practice to name: use the report for it).
AUDIENCE_CHOICES = {a.label: a.name for a in AUDIENCES.values() if not a.reveals_practice}
#: Period lengths offered, in months.
MONTH_CHOICES = (6, 12, 24)
#: What the explorer says instead of an error's text.
WITHHELD_PRACTICES = ("Practice figures are withheld for this cluster: with fewer than 3 member "
                      "practices, each could identify the others. Choose another comparison.")
CANNOT_DRAW = ("This chart cannot be drawn for these choices (too few figures after disclosure "
               "control, or none for the period). Try another comparison or period.")
CALCULATING = "<p role='status'><i>Calculating ...</i></p>"
ANALYST_BANNER = ("<p role='alert' style='background:#fdecea;border:2px solid #b00020;padding:.4rem .6rem;"
                  f"font-weight:bold'>{ANALYST.banner}</p>")
#: Reports kept in memory (cluster x audience x months), so going back to one is instant.
REPORT_CACHE_SIZE = 32


class Explorer:
    """Board -> cluster -> indicator -> comparison controls with live Altair charts.

    ``data`` is ``"synthetic"`` or a folder of PHS files; ``period_end`` ``"YYYY-MM"``;
    ``indicator_table`` an optional Parquet from :func:`clusterqi.report.prepare_run_tables`
    for ``months`` (otherwise it is calculated once and cached).
    """

    def __init__(
        self,
        data: str = "synthetic",
        period_end: str = "2026-09",
        months: int = 12,
        indicator_table: str | Path | None = None,
        audience: str = "cluster",
    ):


        enable_offline_charts()
        self.data = data
        self.period_end = period_end
        self._tables: dict[int, str] = {}
        if indicator_table is not None:
            self._tables[months] = str(indicator_table)
        self._reports: dict[tuple, Any] = {}
        self.catalogue = load_catalogue()
        self.clusters = self._cluster_list(self._table_path(months))
        self._cluster_rows = self.clusters.set_index("cluster_id").to_dict("index")
        self.last_update_seconds: float | None = None
        self.current_chart = None
        self.last_error: Exception | None = None
        self._quiet = False

        boards = self.clusters.drop_duplicates("hb_code").sort_values("hb_name")
        self.board = widgets.Dropdown(description="Board", options=list(zip(boards["hb_name"], boards["hb_code"])))
        self.cluster = widgets.Dropdown(description="Cluster")
        self.indicator = widgets.Dropdown(
            description="Indicator", options=self._indicator_options(self.catalogue),
            layout=widgets.Layout(width="40em"),
        )
        self.comparison = widgets.Dropdown(description="Compare", options=list(COMPARISONS))
        self.audience = widgets.Dropdown(
            description="Audience", options=list(AUDIENCE_CHOICES.items()), value=audience
        )
        self.months = widgets.Dropdown(description="Months", options=list(MONTH_CHOICES), value=months)
        self.summary = widgets.HTML()
        self.status = widgets.HTML()  # "Calculating ..." while a redraw runs
        self.banner = widgets.HTML()  # "Analyst view: not for release" when the audience is analyst
        self.context = widgets.HTML()  # who the cluster serves, and its peer clusters
        self.chart_output = widgets.Output()
        self._follow_board()  # also draws the first chart
        self.board.observe(lambda change: self._follow_board(), names="value")
        for control in (self.cluster, self.indicator, self.comparison, self.audience, self.months):
            control.observe(lambda change: self.update(), names="value")
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.board, self.cluster]),
                widgets.HBox([self.indicator, self.comparison]),
                widgets.HBox([self.audience, self.months]),
                self.banner,
                self.status,
                self.summary,
                self.chart_output,
                self.context,
            ]
        )

    @staticmethod
    def _indicator_options(catalogue) -> list[tuple[str, str]]:
        """(label, id) grouped by theme in the catalogue's theme order: "Pain: Opioids ..."."""

        themes = theme_order(catalogue)
        items = sorted(catalogue.items(),
                       key=lambda kv: themes.index(getattr(kv[1], "theme", None) or OTHER_THEME))
        return [(f"{(getattr(ind, 'theme', None) or OTHER_THEME).capitalize()}: {ind.title}", key)
                for key, ind in items]

    # --- data --------------------------------------------------------------------------------

    def _table_path(self, months: int) -> str:
        """The run's indicator table for a period length: calculated once, then from the cache.

        The same cache a report without ``indicator_table`` uses, keyed by the data files, so
        a second explorer (or a kernel restart) on unchanged data starts without recalculating.
        """
        if months not in self._tables:
            self._tables[months] = str(cached_run_tables(self.data, self.period_end, months))
        return self._tables[months]

    @staticmethod
    def _cluster_list(path: str) -> pd.DataFrame:
        table = pd.read_parquet(path, columns=["level", "area_id", "area_name", "hscp_code", "hb_code"])
        clusters = table[table["level"] == "cluster"].drop_duplicates("area_id")
        boards = table[table["level"] == "hb"].drop_duplicates("area_id").set_index("area_id")["area_name"]
        clusters = clusters.rename(columns={"area_id": "cluster_id", "area_name": "cluster_name"})
        clusters["hb_name"] = clusters["hb_code"].map(boards).fillna(clusters["hb_code"])
        return clusters[["cluster_id", "cluster_name", "hscp_code", "hb_code", "hb_name"]].sort_values("cluster_name")

    def report(self):
        """The chosen cluster's disclosure-controlled report (built once per cluster, audience, months)."""
        key = (self.cluster.value, self.audience.value, self.months.value)
        if key not in self._reports:
            if len(self._reports) >= REPORT_CACHE_SIZE:
                self._reports.pop(next(iter(self._reports)))
            self._reports[key] = build_report(
                cluster_id=self.cluster.value,
                period_end=self.period_end,
                months=self.months.value,
                audience=self.audience.value,
                data=self.data,
                indicator_table=self._table_path(self.months.value),
            )
        return self._reports[key]

    # --- drawing -------------------------------------------------------------------------------

    def _follow_board(self) -> None:
        """Make the cluster list follow the board (this triggers one redraw)."""
        rows = self.clusters[self.clusters["hb_code"] == self.board.value]
        options = list(zip(rows["cluster_name"], rows["cluster_id"]))
        self._quiet = True  # one redraw for the new board, not one per intermediate value
        try:
            self.cluster.options = options
            self.cluster.value = options[0][1] if options else None
        finally:
            self._quiet = False
        self.update()

    def chart(self):
        """The Altair chart for the current choices (and its one-sentence summary)."""
        report = self.report()
        table = report.table
        indicator = self.catalogue[self.indicator.value]
        cluster_id = self.cluster.value
        audience = self.audience.value
        kind = COMPARISONS[self.comparison.value]
        if kind == "practice":
            try:
                args = (table, indicator, cluster_id)
                return charts.chart_with_text("practice", *args, audience=audience)[:2]
            except ValueError:  # practice rows withheld (fewer than 3 practices)
                return None, WITHHELD_PRACTICES
        if kind.startswith("funnel"):
            # only the area's clusters are drawn; each row carries Scotland's centre, phi and
            # tau2, so the limits stay Scotland's (drawn over the area's range of sizes)
            area = "hscp_code" if kind == "funnel-hscp" else "hb_code"
            home = self._cluster_rows[cluster_id][area]
            local = table[(table["level"] != "cluster") | (table[area] == home)]
            local.attrs = table.attrs
            args = (local, indicator, "cluster")
            return charts.chart_with_text("funnel", *args, highlight=cluster_id, audience=audience)[:2]
        args = (table, indicator, cluster_id)
        return charts.chart_with_text("comparison", *args, audience=audience,
                                      comparator=COMPARISON_START[kind])[:2]

    def update(self) -> None:
        """Redraw the chart and summary for the current choices (called on every change).

        While it runs, ``status`` says "Calculating ..."; a choice that cannot be drawn shows a
        plain sentence, not the error's text (which goes to ``last_error`` for the analyst).
        """
        if self._quiet or self.cluster.value is None:
            return
        started = time.perf_counter()
        self.banner.value = "" if audience_record(self.audience.value).releasable else ANALYST_BANNER
        self.status.value = CALCULATING
        self.last_error = None
        try:
            chart, text = self.chart()
        except Exception as exc:  # shown to the analyst in plain words; the detail is kept
            self.last_error = exc
            chart, text = None, CANNOT_DRAW
        finally:
            self.status.value = ""
        self.current_chart = chart
        name = str(self._cluster_rows[self.cluster.value]["cluster_name"])
        text = str(text)
        if text.startswith(name):  # the sentence names the cluster already: say it once
            text = text[len(name):].lstrip(" ,:")
        self.summary.value = f"<p><b>{escape(name)}</b>: {escape(text)}</p>"
        self.context.value = self._context_markup()
        if chart is None:
            self.chart_output.outputs = ()
        else:
            bundle = alt.renderers.get()(chart_spec(chart))  # the session's renderer
            data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
            self.chart_output.outputs = ({"output_type": "display_data", "data": data, "metadata": metadata},)
        self.last_update_seconds = time.perf_counter() - started

    def _context_markup(self) -> str:
        """The context strip and the peer clusters of the chosen cluster (as the report shows)."""
        try:
            report = self.report()
        except Exception:  # noqa: BLE001 - the chart's message already says what went wrong
            return ""
        peers = ", ".join(escape(n) for n in report.peers["cluster_name"]) if len(report.peers) else ""
        line = (f"<p><b>Clusters like ours</b>: {peers}</p>" if peers
                else f"<p><i>{escape(NO_PEERS)}</i></p>")
        return context_strip(report) + line

    def _ipython_display_(self) -> None:  # pragma: no cover - only in a live notebook
        display(self.widget)
