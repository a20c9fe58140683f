"""A plain HTML renderer for the probe notebook (the cluster report's renderer needs its header)."""

from __future__ import annotations

from pathlib import Path

from nbconvert import HTMLExporter

from clusterqi.paths import replacing

__all__ = ["plain_html", "pid_html", "probe_lines"]


def plain_html(executed, out) -> Path:
    """Write the executed notebook as basic HTML to ``out``, atomically as a renderer must."""
    body, _ = HTMLExporter(template_name="basic").from_notebook_node(executed)
    with replacing(out) as tmp:
        tmp.write_text(body, encoding="utf-8")
    return Path(out)


def probe_lines(executed) -> dict:
    """The JSON the probe notebook printed about its kernel's state."""
    import json

    for cell in executed.cells:
        for output in cell.get("outputs", []):
            text = output.get("text", "")
            if text.startswith("PROBE "):
                return json.loads(text[len("PROBE "):])
    raise AssertionError("the probe notebook printed no PROBE line")


def pid_html(executed, out) -> Path:
    """:func:`plain_html` plus a line naming the process that rendered it."""
    import os

    body, _ = HTMLExporter(template_name="basic").from_notebook_node(executed)
    with replacing(out) as tmp:
        tmp.write_text(f"<p id='rendered-by'>{os.getpid()}</p>\n" + body, encoding="utf-8")
    return Path(out)
