"""Snapshot and restore the state of a Jupyter kernel that runs many reports in turn.

Runs *inside* the kernel. A batch reuses one kernel per worker (starting a kernel and importing
pandas and Altair costs ~2.5 s, more than the report itself), so between two clusters' notebooks it
must put the kernel back as a fresh one would be: :func:`snapshot_state` records the state once,
right after the warm-up imports; :func:`restore_state` (run before every notebook) clears the user
namespace and execution counter and puts back every setting below. A notebook that fails gets a
fresh kernel instead (see :mod:`clusterqi.kernels`), so a half-finished state is never reused.

Restored: the IPython user namespace, output history and execution count; the current folder;
``os.environ``; ``sys.path``; ``warnings`` filters; the garbage collector's thresholds (see
:func:`settle_collector`); Python's and NumPy's global random state;
NumPy error handling and print options; every pandas option; Altair's active renderer (and its
options), theme and data transformer; matplotlib's ``rcParams`` when matplotlib is loaded.
Not restored: attributes a notebook sets on imported library modules other than those settings
(the cluster report notebook only calls clusterqi, which keeps no per-cluster module state: only
per-run caches keyed by the run's files, such as :mod:`clusterqi.report`'s tables and suppression,
which every cluster of the run shares and no report changes).

Example usage (what :class:`clusterqi.kernels.ReusableKernel` sends to the kernel)::

    from clusterqi.kernel_state import settle_collector, snapshot_state, restore_state
    settle_collector()    # once, after the warm-up imports
    snapshot_state()      # then record the settings
    restore_state()       # before each notebook
"""

from __future__ import annotations

import copy
import gc
import os
import random
import sys
import warnings
from typing import Any

__all__ = ["snapshot_state", "restore_state", "settle_collector", "WARM_IMPORTS", "GC_THRESHOLD"]

#: Modules imported once per kernel before the first notebook (the slow part of a report's start).
WARM_IMPORTS = ("numpy", "pandas", "altair", "pyarrow.parquet", "clusterqi")

_SNAPSHOT: dict[str, Any] = {}

#: The kernel's garbage-collector thresholds (Python's default is ``(700, 10, 10)``).
GC_THRESHOLD = (10_000, 50, 100)


def settle_collector() -> None:
    """Make Python's garbage collector cheap for a kernel that runs report after report.

    Call once, after the warm-up imports and before :func:`snapshot_state`. The objects the
    imports made (pandas', Altair's and clusterqi's modules, classes and schemas) are moved out
    of the collector's sight with :func:`gc.freeze`: they live as long as the kernel, yet every
    full collection walked them all, and IPython runs one on each reset (0.15 s of every
    report). Collections then run less often (:data:`GC_THRESHOLD`): a report makes a few
    hundred thousand short-lived chart objects, and most are freed by reference counting
    before a collection would look at them. Measured in one IPython shell over four reports:
    time in the collector from ~0.19 s to ~0.05 s a report (the reset's collection included),
    the reset itself from ~0.15 s to ~0.05 s.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


def _pandas_options(pd) -> dict[str, Any]:
    from pandas._config.config import _registered_options

    return {key: pd.get_option(key) for key in _registered_options}


def snapshot_state() -> None:
    """Record the kernel's settings (call once, after the warm-up imports)."""
    _SNAPSHOT.clear()
    _SNAPSHOT["cwd"] = os.getcwd()
    _SNAPSHOT["environ"] = dict(os.environ)
    _SNAPSHOT["sys_path"] = list(sys.path)
    _SNAPSHOT["warnings"] = list(warnings.filters)
    _SNAPSHOT["random"] = random.getstate()
    _SNAPSHOT["gc_threshold"] = gc.get_threshold()
    if "numpy" in sys.modules:
        np = sys.modules["numpy"]
        _SNAPSHOT["np_err"] = np.geterr()
        _SNAPSHOT["np_print"] = np.get_printoptions()
        _SNAPSHOT["np_random"] = np.random.get_state()
    if "pandas" in sys.modules:
        _SNAPSHOT["pandas"] = _pandas_options(sys.modules["pandas"])
    if "altair" in sys.modules:
        alt = sys.modules["altair"]
        _SNAPSHOT["alt_renderer"] = (alt.renderers.active, copy.deepcopy(alt.renderers.options))
        _SNAPSHOT["alt_theme"] = alt.theme.active
        _SNAPSHOT["alt_transformer"] = (
            alt.data_transformers.active,
            copy.deepcopy(alt.data_transformers.options),
        )
    if "matplotlib" in sys.modules:
        _SNAPSHOT["mpl"] = dict(sys.modules["matplotlib"].rcParams)


def restore_state(cwd: str | None = None) -> None:
    """Put the kernel back as :func:`snapshot_state` found it, with an empty namespace.

    ``cwd``: the folder the next notebook runs in (default: the folder at snapshot time).
    """
    if not _SNAPSHOT:
        raise RuntimeError("restore_state() called before snapshot_state()")
    from IPython import get_ipython

    shell = get_ipython()
    if shell is not None:
        shell.reset(new_session=True)
    os.chdir(cwd or _SNAPSHOT["cwd"])
    os.environ.clear()
    os.environ.update(_SNAPSHOT["environ"])
    sys.path[:] = _SNAPSHOT["sys_path"]
    warnings.filters[:] = _SNAPSHOT["warnings"]
    warnings._filters_mutated()  # type: ignore[attr-defined]
    random.setstate(_SNAPSHOT["random"])
    gc.set_threshold(*_SNAPSHOT["gc_threshold"])
    if "np_err" in _SNAPSHOT:
        np = sys.modules["numpy"]
        np.seterr(**_SNAPSHOT["np_err"])
        np.set_printoptions(**_SNAPSHOT["np_print"])
        np.random.set_state(_SNAPSHOT["np_random"])
    if "pandas" in _SNAPSHOT:
        pd = sys.modules["pandas"]
        for key, value in _SNAPSHOT["pandas"].items():
            if pd.get_option(key) != value:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    pd.set_option(key, value)
    if "alt_renderer" in _SNAPSHOT:
        alt = sys.modules["altair"]
        name, options = _SNAPSHOT["alt_renderer"]
        alt.renderers.enable(name, **options)
        alt.theme.enable(_SNAPSHOT["alt_theme"])
        name, options = _SNAPSHOT["alt_transformer"]
        alt.data_transformers.enable(name, **options)
    if "mpl" in _SNAPSHOT and "matplotlib" in sys.modules:
        sys.modules["matplotlib"].rcParams.update(_SNAPSHOT["mpl"])
