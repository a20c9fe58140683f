"""Reading Altair specs in tests: embedded data, params, scales (from chart.to_dict())."""

from __future__ import annotations

import json
from collections.abc import Iterator


def spec(chart) -> dict:
    """The chart's Vega-Lite spec as a dict (validated by Altair)."""
    return chart.to_dict()


def datasets(chart) -> dict[str, list[dict]]:
    """Every embedded dataset: name -> records."""
    return spec(chart).get("datasets", {})


def embedded_columns(chart) -> set[str]:
    """The union of column names across all embedded datasets."""
    return {key for records in datasets(chart).values() for row in records for key in row}


def embedded_strings(chart) -> set[str]:
    """Every string value in the embedded data (whole values, not substrings)."""
    return {v for records in datasets(chart).values() for row in records for v in row.values()
            if isinstance(v, str)}


def params(chart) -> dict[str, dict]:
    """Top-level params by name."""
    return {p["name"]: p for p in spec(chart).get("params", [])}


def walk(node) -> Iterator[dict]:
    """Every dict in the spec, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def scales_for(chart, channel: str) -> list[dict]:
    """The scales of every encoding of ``channel`` that has an explicit domain and range."""
    found = []
    for node in walk(spec(chart)):
        enc = node.get("encoding")
        if isinstance(enc, dict) and isinstance(enc.get(channel), dict):
            scale = enc[channel].get("scale")
            if isinstance(scale, dict) and "domain" in scale and "range" in scale:
                found.append(scale)
    return found


def size_bytes(chart) -> int:
    return len(json.dumps(spec(chart)))


def titles(chart) -> tuple[str, list[str]]:
    title = spec(chart)["title"]
    subtitle = title.get("subtitle", [])
    return title["text"], [subtitle] if isinstance(subtitle, str) else subtitle
