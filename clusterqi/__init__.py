"""clusterqi: the analyst workbench for Scotland's GP clusters.

Loaders for Public Health Scotland open data, validated statistics (confidence intervals,
funnel plots, SPC), indicator calculation, disclosure control and interactive offline
cluster reports. See README.md for the two set-up commands.
"""

from clusterqi.errors import DataError

__version__ = "0.1.0"

__all__ = ["DataError", "__version__"]
