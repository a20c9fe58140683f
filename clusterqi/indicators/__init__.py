"""Indicators: the catalogue of definitions (data) and their calculation.

Example usage::

    from clusterqi.indicators import load_catalogue, calculate_indicators

    catalogue = load_catalogue()
    table = calculate_indicators(dataset, catalogue, "2026-09", months=12)
"""

from clusterqi.indicators.calculate import calculate_indicators
from clusterqi.indicators.catalogue import (
    CodeList,
    Indicator,
    catalogue_hash,
    catalogue_markdown,
    load_catalogue,
)
from clusterqi.indicators.comparisons import funnel_lines
from clusterqi.indicators.local import calculate_local_measure, load_local_measure

__all__ = [
    "CodeList",
    "Indicator",
    "load_catalogue",
    "catalogue_markdown",
    "catalogue_hash",
    "calculate_indicators",
    "funnel_lines",
    "load_local_measure",
    "calculate_local_measure",
]
