"""The project's own promises: environment.yml agrees with pyproject, notebooks carry no outputs,
CI runs the README's test command."""

from __future__ import annotations

import ast
import json
import re
import tomllib

import yaml

from tests.conftest import REPO


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_environment_yml_delegates_to_the_pip_route_with_the_same_python():
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    deps = env["dependencies"]
    python = next(d for d in deps if isinstance(d, str) and d.startswith("python"))
    assert "pip" in deps
    pip_section = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    # environment.yml installs this package (so pyproject stays the one list of dependencies)
    assert any(re.fullmatch(r"-e \.(\[[a-z,]+\])?", line) for line in pip_section), pip_section
    extras = {e for line in pip_section for e in re.findall(r"\[([a-z,]+)\]", line)[0].split(",")}
    assert extras <= set(_pyproject()["project"]["optional-dependencies"]), extras
    # the conda python satisfies requires-python
    wanted = _pyproject()["project"]["requires-python"]
    major, minor = (int(p) for p in python.split("=")[-1].split(".")[:2])
    floor = tuple(int(p) for p in wanted.removeprefix(">=").split(".")[:2])
    assert (major, minor) >= floor


def test_notebooks_are_committed_without_outputs_or_execution_counts():
    notebooks = sorted((REPO / "notebooks").glob("*.ipynb"))
    assert notebooks, "notebooks/ holds no notebook"
    for path in notebooks:
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert not cell.get("outputs"), f"{path.name} has outputs"
                assert cell.get("execution_count") is None, f"{path.name} has execution counts"


def test_ci_runs_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text()
    readme = (REPO / "README.md").read_text()
    assert "make test" in ci
    assert "make test" in readme and "make demo" in readme


def test_gitignore_keeps_the_venv_caches_and_reports_out():
    ignored = (REPO / ".gitignore").read_text().split()
    for entry in (".venv/", "reports/", ".cache/"):
        assert entry in ignored


#: Modules are one concept each; one longer than this ("~400 lines") says why in its docstring.
LONG_MODULE_LINES = 420


def test_every_long_module_says_why_it_is_one_module():
    unexplained = []
    for path in sorted((REPO / "clusterqi").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = text.count("\n")
        doc = ast.get_docstring(ast.parse(text)) or ""
        if lines > LONG_MODULE_LINES and "Why one module of this size:" not in doc:
            unexplained.append(f"{path.relative_to(REPO)} ({lines} lines)")
    assert not unexplained, unexplained
