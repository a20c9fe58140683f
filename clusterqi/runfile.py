"""Run files: the YAML that says which cluster reports a batch makes, validated before anything runs.

A run file lives under ``parameters/`` and holds every setting of one batch: the notebook, which
clusters, the period, the audience and disclosure settings, the data, the output folder, the
number of workers and a per-report timeout. :func:`load_run_file` checks it strictly and reports
**every** problem at once (unknown keys, wrong types, impossible periods) with the file and the key;
:func:`check_against_data` then adds the problems only the data can reveal (unknown cluster, board or
HSCP; a period ending after the data's last month or starting before its first).

Relative paths (``notebook``, ``data``, ``output``, ``local_measures``, ``previous_run``) are
resolved against the folder holding the run file, so a run gives the same result whatever the
current directory. ``previous_run`` names the previous run's folder or its ``manifest.json``
("Since the last report" compares with its period); it becomes the report setting
``previous_manifest``.

Why one module of this size: a run file's model, its every-problem-at-once validation and the
checks against the data are what ``clusterqi batch --dry-run`` reports; they belong together.

Example usage::

    from clusterqi.runfile import load_run_file, check_against_data, cluster_directory

    run = load_run_file("parameters/demo.yaml")          # raises DataError listing every problem
    dataset = run.load_dataset()
    check_against_data(run, dataset)                       # unknown clusters, impossible periods
    clusters = run.select_clusters(cluster_directory(dataset))
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import papermill
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from clusterqi.errors import DataError
from clusterqi.loaders import load_dataset
from clusterqi.parameters import SYNTHETIC, ReportParameters, ReportSettings
from clusterqi.paths import project_root
from clusterqi.vocabulary import audience
from clusterqi.yaml_input import read_yaml

__all__ = [
    "RunFile",
    "ClusterSelection",
    "load_run_file",
    "check_against_data",
    "cluster_directory",
    "forget_datasets",
    "SYNTHETIC",
    "DEFAULT_TIMEOUT_SECONDS",
]

#: Seconds one cluster's report may take before it is stopped and marked failed.
DEFAULT_TIMEOUT_SECONDS = 600
#: The report notebook shipped with clusterqi, relative to the project root.
DEFAULT_NOTEBOOK = "notebooks/cluster_report.ipynb"



class ClusterSelection(BaseModel):
    """Clusters chosen by area: every cluster whose home board or home HSCP is listed.

    Boards and HSCPs may be given by code (``S08000030``) or by name (``NHS Tayside``), any case.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    boards: list[str] = Field(default_factory=list)
    hscps: list[str] = Field(default_factory=list)


class RunFile(ReportSettings):
    """One batch's settings, as read from a run file (unknown keys are errors).

    The report settings (period, audience, indicators, disclosure, contact) are
    :class:`clusterqi.parameters.ReportSettings`, the same fields every report's
    :class:`clusterqi.parameters.ReportParameters` has. ``clusters`` is ``"all"``, a list of cluster ids (``["dundee-4", ...]``) or
    ``{"boards": [...], "hscps": [...]}``. ``workers`` None means one per CPU core.
    ``source`` is the run file the settings came from (set by :func:`load_run_file`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    notebook: Path = Path(DEFAULT_NOTEBOOK)
    clusters: Literal["all"] | list[str] | ClusterSelection = "all"
    indicators: Literal["all"] | list[str] = "all"
    data: str = SYNTHETIC
    local_measures: Path | None = None
    output: Path
    workers: int | None = None
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    source: Path | None = None

    @field_validator("workers")
    @classmethod
    def _workers(cls, value: int | None) -> int | None:
        if value is not None and value < 1:
            raise ValueError(f"value {value} is below 1; expected at least one worker (or omit it)")
        return value

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, value: float) -> float:
        if value <= 0:
            raise ValueError(f"value {value} is not positive; expected seconds > 0")
        return value

    # --- derived values ------------------------------------------------------------------

    @property
    def worker_count(self) -> int:
        """Workers to use: the run file's value, or one per CPU core."""
        return self.workers or os.cpu_count() or 1

    @property
    def period_start(self) -> str:
        """First month of the period (``"YYYY-MM"``)."""
        end = pd.Period(self.period_end, freq="M")
        return str(end - (self.months - 1))

    def data_source(self) -> str:
        """``"synthetic"`` or the absolute data folder, as the report notebook's ``data`` takes it."""
        return self.data if self.data == SYNTHETIC else str(Path(self.data))

    def load_dataset(self):
        """Load the run's data through clusterqi's loaders (synthetic Scotland is generated once).

        Loaded once per process for the same files (names, sizes and modification times).
        """
        if self.data == SYNTHETIC:
            from clusterqi.synthetic import ensure_synthetic

            return _load_folder(Path(ensure_synthetic()))
        return _load_folder(Path(self.data))

    def notebook_parameters(self, cluster_id: str) -> dict[str, Any]:
        """The parameters papermill injects for one cluster (``indicator_table`` is added by the batch)."""
        settings = {name: getattr(self, name) for name in ReportSettings.model_fields}
        settings["local_measures"] = str(self.local_measures) if self.local_measures else None
        params = ReportParameters(cluster_id=cluster_id, data=self.data_source(),
                                  **settings).model_dump(exclude={"indicator_table"})
        declared = notebook_parameter_names(self.notebook)
        # a notebook without a setting can only be run with that setting at its default
        return {k: v for k, v in params.items() if k in declared or k == "cluster_id"}

    def select_clusters(self, directory: pd.DataFrame) -> list[str]:
        """Cluster ids this run covers, in directory order (see :func:`cluster_directory`)."""
        if self.clusters == "all":
            return directory["cluster_id"].tolist()
        if isinstance(self.clusters, list):
            return list(dict.fromkeys(self.clusters))
        boards = {b.casefold() for b in self.clusters.boards}
        hscps = {h.casefold() for h in self.clusters.hscps}
        keep = (
            directory["hb_code"].str.casefold().isin(boards)
            | directory["hb_name"].str.casefold().isin(boards)
            | directory["hscp_code"].str.casefold().isin(hscps)
            | directory["hscp_name"].str.casefold().isin(hscps)
        )
        return directory.loc[keep, "cluster_id"].tolist()


_CLUSTERS_EXPECTED = "expected 'all', a list of cluster ids, or a mapping {boards: [...], hscps: [...]}"


def _key(loc: tuple) -> str:
    """``("clusters", "list[str]", 2)`` -> ``"clusters[2]"``: drop pydantic's union branch names."""
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts[-1] = f"{parts[-1]}[{item}]" if parts else f"[{item}]"
        elif isinstance(item, str) and ("[" in item or item.startswith("function-") or item[:1].isupper()):
            continue
        else:
            parts.append(str(item))
    return ".".join(parts) or "(file)"


def _problems(exc: ValidationError) -> list[str]:
    """One line per key; a union field (``clusters``) reports its useful branch only."""
    seen: dict[str, str] = {}
    for err in exc.errors():
        key = _key(err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key; remove it or check its spelling"
        elif err["type"] == "missing":
            message = "required key is missing"
        elif err["type"] != "value_error" and "input" in err:
            message = f"{message} (value {err['input']!r})"
        seen.setdefault(key, message)
    if "clusters" in seen:
        items = [k for k in seen if k.startswith("clusters[")]
        if items or isinstance(exc.errors()[0].get("input"), dict):
            seen.pop("clusters")
        else:
            seen["clusters"] = f"value {_clusters_input(exc)!r} is not valid; {_CLUSTERS_EXPECTED}"
    return [f"key '{key}': {message}" for key, message in seen.items()]


def _clusters_input(exc: ValidationError) -> Any:
    for err in exc.errors():
        if err["loc"][:1] == ("clusters",):
            return err.get("input")
    return None


def load_run_file(path: str | Path) -> RunFile:
    """Read and validate a run file; raise one :class:`DataError` listing every problem.

    Relative paths in the file are resolved against the run file's folder. YAML dates written
    without quotes (``period_end: 2026-09``) are accepted as the month they name.

    Example usage::

        run = load_run_file("parameters/demo.yaml")
        print(run.period_start, run.period_end, run.worker_count)
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: run file not found")
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise DataError(f"{path}: expected a mapping of keys (notebook, clusters, period_end, ...)")
    raw = dict(raw)
    problems: list[str] = []
    if "source" in raw:
        problems.append("key 'source': unknown key; remove it or check its spelling")
        raw.pop("source")
    if isinstance(raw.get("period_end"), (int, float)):
        problems.append(
            f"key 'period_end': value {raw['period_end']!r} is not a month; expected 'YYYY-MM' in quotes"
        )
        raw.pop("period_end")
    base = path.resolve().parent
    if "notebook" not in raw and (root := project_root()) is not None:
        raw["notebook"] = str(root / DEFAULT_NOTEBOOK)
    for key in ("notebook", "output", "local_measures"):
        if isinstance(raw.get(key), str):
            raw[key] = base / raw[key]
    if isinstance(raw.get("data"), str) and raw["data"] != SYNTHETIC:
        raw["data"] = str(base / raw["data"])
    _previous_run(raw, base, problems)
    if isinstance(raw.get("clusters"), dict):
        raw["clusters"] = _selection(raw["clusters"], problems)
    if isinstance(raw.get("timeout"), int) and not isinstance(raw.get("timeout"), bool):
        raw["timeout"] = float(raw["timeout"])
    raw["source"] = path
    run: RunFile | None = None
    try:
        run = RunFile(**raw)
    except ValidationError as exc:
        problems.extend(_problems(exc))
    if isinstance(raw.get("notebook"), Path) and not raw["notebook"].is_file():
        problems.append(f"key 'notebook': file {raw['notebook']} not found")
    if isinstance(raw.get("data"), str) and raw["data"] != SYNTHETIC and not Path(raw["data"]).is_dir():
        problems.append(f"key 'data': folder {raw['data']} not found; expected PHS files or 'synthetic'")
    if isinstance(raw.get("local_measures"), Path) and not raw["local_measures"].is_file():
        problems.append(f"key 'local_measures': file {raw['local_measures']} not found")
    if run is not None and run.previous_manifest:
        if Path(run.previous_manifest) == (Path(run.output) / "manifest.json").resolve():
            problems.append("key 'previous_run': names this run's own manifest (rewritten as the run "
                            "goes); point it at the earlier run's folder or a copy of its manifest")
    if run is not None:
        if run.notebook.is_file():
            problems.extend(_undeclared(run))
        reveals = audience(run.audience).reveals_practice
        if reveals and not run.reveal_practice:
            problems.append(f"key 'reveal_practice': audience {run.audience!r} needs the practice "
                            "code to reveal")
        if not reveals and run.reveal_practice:
            problems.append(
                f"key 'reveal_practice': set to {run.reveal_practice!r} but audience is "
                f"{run.audience!r}; only an audience that names a practice reveals one"
            )
    if problems:
        raise DataError(_format(path, problems))
    assert run is not None
    return run


def _previous_run(raw: dict, base: Path, problems: list[str]) -> None:
    """``previous_run:`` (the previous run's folder or its manifest.json, relative to the run
    file) becomes the report setting ``previous_manifest``, resolved like the other paths."""
    key = "previous_run" if "previous_run" in raw else "previous_manifest"
    if key == "previous_run" and "previous_manifest" in raw:
        problems.append("key 'previous_run': previous_manifest is set too; give one of them")
        raw.pop("previous_manifest")
    value = raw.pop(key, None)
    if value is None:
        return
    if not isinstance(value, str) or not value.strip():
        problems.append(f"key '{key}': value {value!r} is not a path; expected the previous run's "
                        "folder or its manifest.json")
        return
    path = base / value
    path = path / "manifest.json" if path.is_dir() else path
    if not path.is_file():
        problems.append(f"key '{key}': file {path} not found; expected the previous run's "
                        "manifest.json (or its folder)")
        return
    raw["previous_manifest"] = str(path.resolve())


_DATASETS: dict[tuple, Any] = {}


def forget_datasets() -> None:
    """Drop the dataset kept for validating run files (a batch needs it only to plan)."""
    _DATASETS.clear()


def _load_folder(folder: Path):
    files = tuple(
        (str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.rglob("*")) if p.is_file()
    )
    key = (str(folder.resolve()), files)
    if key not in _DATASETS:
        _DATASETS.clear()  # keep one dataset in memory at most
        _DATASETS[key] = load_dataset(folder)
    return _DATASETS[key]


@lru_cache(maxsize=8)
def _declared(notebook: Path, mtime: float) -> frozenset[str]:
    return frozenset(papermill.inspect_notebook(str(notebook)))


def notebook_parameter_names(notebook: Path) -> frozenset[str]:
    """Names declared in the notebook's cell tagged ``parameters``."""
    return _declared(Path(notebook), Path(notebook).stat().st_mtime)


def _undeclared(run: RunFile) -> list[str]:
    """Run-file settings away from their default that the notebook has no parameter for."""
    declared = notebook_parameter_names(run.notebook)
    defaults = RunFile.model_fields
    problems = []
    for key in ReportSettings.model_fields:
        if key not in declared and getattr(run, key) != defaults[key].default:
            problems.append(f"key '{key}': the notebook {run.notebook.name} has no parameter '{key}' to take it")
    return problems


def _selection(value: dict, problems: list[str]) -> Any:
    """Turn ``{"boards": [...]}`` into a ClusterSelection, collecting problems instead of raising."""
    try:
        return ClusterSelection(**value)
    except (ValidationError, TypeError) as exc:
        if isinstance(exc, ValidationError):
            problems.extend(p.replace("key '", "key 'clusters.", 1) for p in _problems(exc))
        else:
            problems.append(f"key 'clusters': {exc}")
        return "all"


def _format(path: Path, problems: list[str]) -> str:
    lines = "\n".join(f"  - {path}, {problem}" for problem in problems)
    return f"{path}: {len(problems)} problem(s) in the run file:\n{lines}"


def cluster_directory(dataset) -> pd.DataFrame:
    """Every GP cluster of a dataset with its home HSCP and board and its number of open practices.

    Columns: ``cluster_id, cluster_name, hscp_code, hscp_name, hb_code, hb_name, practices``,
    sorted by board, HSCP and cluster name. Placeholder ``<Board> Undefined`` groups (no
    ``cluster_id``) are left out: they get no cluster report. A practice counts as open when the
    latest practice release holds it.

    Example usage::

        directory = cluster_directory(load_dataset(folder))
        directory.query("hb_name == 'NHS Tayside'")
    """
    practices = dataset.practices
    clustered = practices[practices["cluster_id"].notna()]
    latest = practices["last_release"].max()
    open_now = clustered[clustered["last_release"] == latest]
    counts = open_now.groupby("cluster_id").size().rename("practices")
    first = clustered.sort_values("practice_code").groupby("cluster_id", as_index=False).first()
    hb_names = dataset.lookups["hb"].set_index("hb_code")["hb_name"]
    hscp_names = dataset.lookups["hscp"].set_index("hscp_code")["hscp_name"]
    directory = pd.DataFrame(
        {
            "cluster_id": first["cluster_id"].astype(str),
            "cluster_name": first["cluster_name"].astype(str),
            "hscp_code": first["home_hscp_code"].astype(str),
            "hb_code": first["home_hb_code"].astype(str),
        }
    )
    directory["hscp_name"] = directory["hscp_code"].map(hscp_names).fillna(directory["hscp_code"])
    directory["hb_name"] = directory["hb_code"].map(hb_names).fillna(directory["hb_code"])
    directory["practices"] = directory["cluster_id"].map(counts).fillna(0).astype(int)
    columns = ["cluster_id", "cluster_name", "hscp_code", "hscp_name", "hb_code", "hb_name", "practices"]
    return directory[columns].sort_values(["hb_name", "hscp_name", "cluster_name"]).reset_index(drop=True)


def data_months(dataset) -> tuple[str, str] | None:
    """First and last month (``"YYYY-MM"``) of the dataset's prescribing; None when it has none."""
    months = pd.to_datetime(dataset.prescribing["month"])
    if months.empty:
        return None
    return months.min().strftime("%Y-%m"), months.max().strftime("%Y-%m")


def check_against_data(run: RunFile, dataset, directory: pd.DataFrame | None = None) -> None:
    """Raise one :class:`DataError` listing every run-file value the data contradicts.

    Checks: cluster ids, boards and HSCPs exist; ``period_end`` is not after the data's last month;
    the ``months`` before it are all in the data; ``reveal_practice`` is a known practice code.

    Example usage::

        check_against_data(run, dataset)
    """
    directory = cluster_directory(dataset) if directory is None else directory
    problems: list[str] = []
    known = set(directory["cluster_id"])
    if isinstance(run.clusters, list):
        for index, cluster in enumerate(run.clusters):
            if cluster not in known:
                problems.append(
                    f"key 'clusters[{index}]': unknown cluster id {cluster!r}; expected a cluster_id "
                    f"of the data, e.g. {sorted(known)[0]!r}"
                )
    elif isinstance(run.clusters, ClusterSelection):
        for kind, code, name in (("boards", "hb_code", "hb_name"), ("hscps", "hscp_code", "hscp_name")):
            names = set(directory[code].str.casefold()) | set(directory[name].str.casefold())
            for index, value in enumerate(getattr(run.clusters, kind)):
                if value.casefold() not in names:
                    problems.append(
                        f"key 'clusters.{kind}[{index}]': unknown {kind[:-1]} {value!r}; expected a "
                        f"code or name such as {directory[name].iloc[0]!r}"
                    )
    span = data_months(dataset)
    first, last = span if span else ("", "")
    if span is None:
        problems.append(
            f"key 'data': {run.data} holds no prescribing files (pitcYYYYMM.csv); the reports need them"
        )
    elif run.period_end > last:
        problems.append(
            f"key 'period_end': value {run.period_end!r} is after the data's last month {last!r}"
        )
    elif run.period_start < first:
        problems.append(
            f"key 'months': {run.months} months to {run.period_end} start in {run.period_start}, "
            f"before the data's first month {first!r}"
        )
    if run.reveal_practice and run.reveal_practice not in set(dataset.practices["practice_code"]):
        problems.append(f"key 'reveal_practice': unknown practice code {run.reveal_practice!r}")
    if problems:
        raise DataError(_format(run.source or Path("run file"), problems))
