"""Loaders for Public Health Scotland open data files, returning canonical tidy tables.

- :func:`load_lookups` (health boards, HSCPs), :func:`load_practices` (practices and clusters),
  :func:`load_populations` (patients by sex and age band), :func:`load_prescribing` (items,
  quantity and cost per practice x month x BNF code, cached as Parquet), :func:`load_simd` (the
  Scottish Index of Multiple Deprivation 2020v2 by 2011 Data Zone);
- :func:`load_dataset` reads a whole folder laid out as PHS publishes it into a :class:`Dataset`.

Every loader reads UTF-8 (with or without BOM) and Windows-1252, CRLF line ends, reordered and
extra columns, and PHS's suppressed blanks; unusable input raises :class:`clusterqi.DataError`
with the file, row, PHS column, value and what was expected.

Example usage::

    from clusterqi.loaders import load_dataset
    data = load_dataset("../shared/data/phs")
    data.practices.head()
"""

from clusterqi.loaders.dataset import Dataset, discover_files, load_dataset
from clusterqi.loaders.lookups import load_lookups
from clusterqi.loaders.populations import load_populations
from clusterqi.loaders.practices import cluster_slug, load_practices
from clusterqi.loaders.prescribing import load_prescribing
from clusterqi.loaders.simd import load_simd
from clusterqi.loaders.summary import dataset_summary

__all__ = [
    "Dataset",
    "cluster_slug",
    "dataset_summary",
    "discover_files",
    "load_dataset",
    "load_lookups",
    "load_populations",
    "load_practices",
    "load_prescribing",
    "load_simd",
]
