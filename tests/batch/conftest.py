"""Run files for the batch tests: a few clusters of synthetic Scotland, written into tmp folders."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import SYNTHETIC_PERIOD_END

HERE = Path(__file__).parent
PROBE = HERE / "notebooks" / "probe.ipynb"
REPO = HERE.parent.parent
REPORT_NOTEBOOK = REPO / "notebooks" / "cluster_report.ipynb"


def write_run_file(folder: Path, **settings) -> Path:
    """A run file in ``folder`` (output ``folder/out`` unless given); returns its path."""
    values = {
        "notebook": str(PROBE),
        "clusters": "all",
        "period_end": SYNTHETIC_PERIOD_END,
        "months": 12,
        "audience": "cluster",
        "data": "synthetic",
        "output": "out",
        "workers": 2,
        "timeout": 120,
    }
    values.update(settings)
    path = folder / "run.yaml"
    path.write_text(yaml.safe_dump(values, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def some_clusters(synthetic_dataset) -> list[str]:
    """Four cluster ids of synthetic Scotland, from different boards, each with 3+ practices."""
    from clusterqi.runfile import cluster_directory

    directory = cluster_directory(synthetic_dataset)
    sizable = directory[directory["practices"] >= 3]
    return sizable.groupby("hb_code").head(1)["cluster_id"].head(4).tolist()
