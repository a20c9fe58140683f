"""Reading YAML written by people: duplicate keys refused, size capped, errors with line numbers.

PyYAML keeps the last of two equal keys without a word (``months: 12`` then ``months: 24``), so
a run file or an indicator definition could silently say something its author did not mean.
:class:`UniqueKeyLoader` refuses a duplicate key in any mapping, naming both lines;
:func:`read_yaml` also refuses a file larger than :data:`MAX_YAML_BYTES` (a run file or a
definition is a few kilobytes; a huge one is a mistake, or an attack on the parser).

Example usage::

    raw = read_yaml(Path("parameters/demo.yaml"))
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from clusterqi.errors import DataError

__all__ = ["MAX_YAML_BYTES", "UniqueKeyLoader", "read_yaml"]

#: Largest YAML file read (1 MiB).
MAX_YAML_BYTES = 1024 * 1024


class UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that raises on a key given twice in one mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            try:
                first = seen.get(key)
            except TypeError:   # an unhashable key: SafeLoader reports it
                break
            if first is not None:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is given twice (lines {first} and {line}); "
                    "expected each key once", key_node.start_mark)
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                                UniqueKeyLoader.construct_mapping)


def read_yaml(path: Path, loader: type[yaml.SafeLoader] = UniqueKeyLoader,
              max_bytes: int = MAX_YAML_BYTES) -> Any:
    """Parse a YAML file with ``loader`` (default :class:`UniqueKeyLoader`).

    Raises :class:`clusterqi.DataError` naming the file for a missing or oversized file, text
    that is not UTF-8, invalid YAML or a duplicate key (with its lines).
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror})") from None
    if size > max_bytes:
        raise DataError(f"{path}: {size:,} bytes is too large for a YAML file here; expected at "
                        f"most {max_bytes:,}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: byte {exc.start} is not UTF-8 text; expected a UTF-8 YAML "
                        "file") from None
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        raise DataError(f"{path}: not valid YAML: {exc}".replace("\n", " ")) from None
