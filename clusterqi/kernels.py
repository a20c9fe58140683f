"""Run many notebooks, one after another, on one reused Jupyter kernel with papermill.

Starting a kernel and importing pandas and Altair takes ~2.5 s (kernel start ~0.6 s, imports
~1.7 s, measured on this stack), close to a cluster report's own work, so a batch worker keeps
one kernel and runs report after report on it. Isolation between reports is what makes that safe:

- before each notebook the kernel runs :func:`clusterqi.kernel_state.restore_state`: the user
  namespace, execution counter and library settings are put back as they were right after the
  warm-up imports (the list is in :mod:`clusterqi.kernel_state`);
- a notebook that fails, times out or kills its kernel never hands its kernel on: the kernel is
  shut down and the next notebook gets a fresh one.

``tests/batch/test_kernels.py`` proves both.

Example usage::

    kernel = ReusableKernel()
    try:
        for cluster in ["dundee-4", "angus-south"]:
            nb = kernel.run("notebooks/cluster_report.ipynb", {"cluster_id": cluster}, timeout=600)
    finally:
        kernel.shutdown()
"""

from __future__ import annotations

import ctypes
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import papermill
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.blocking import BlockingKernelClient
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode

from clusterqi.kernel_state import WARM_IMPORTS

__all__ = ["ReusableKernel", "NotebookFailed", "KERNEL_START_TIMEOUT_SECONDS", "ERROR_TEXT_LIMIT"]

#: Seconds to wait for a kernel to start and answer.
KERNEL_START_TIMEOUT_SECONDS = 60
#: Characters kept of a failing cell's error message (the batch summary shows one line).
ERROR_TEXT_LIMIT = 200


# Reaches the in-kernel module without binding a name in the notebook's namespace.
_STATE = "__import__('clusterqi.kernel_state').kernel_state"


def _top_names(modules: tuple[str, ...]) -> list[str]:
    return sorted({name.split(".")[0] for name in modules})


class NotebookFailed(RuntimeError):
    """A notebook did not run to the end; ``str(exc)`` is one line naming the cell and the error."""


def _one_line(text: str) -> str:
    first = next((line.strip() for line in str(text).splitlines() if line.strip()), "")
    return first if len(first) <= ERROR_TEXT_LIMIT else first[: ERROR_TEXT_LIMIT - 1] + "…"


_PR_SET_PDEATHSIG = 1  # Linux prctl option: the signal a process gets when its parent dies


def end_with_parent() -> None:
    """Ask Linux to end this process (SIGTERM) when the process that started it ends; a new
    kernel runs it before it starts, and a batch worker as it starts
    (:func:`clusterqi.executors._exit_with_parent`).

    ipykernel also watches its parent, but only once it has started (a second or more of
    imports), and a kernel whose parent was already gone by then ignores the parent's death
    when the orphan's new parent is not init (a container's sub-reaper): a batch killed while
    its kernels were starting left them running.
    """
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # the caller's other guards still apply (ipykernel's, a worker's watch thread)


class _ReadyClient(AsyncKernelClient):
    """A kernel client whose start-up handshake ends when the kernel has answered, not 0.2 s later.

    jupyter_client's ``wait_for_ready`` asks for the kernel's info until the reply and an IOPub
    message arrive (IOPub subscriptions miss what is sent before they connect), then reads IOPub
    until it has been quiet for 0.2 s: a fixed 0.2 s per notebook, while the kernel is idle.
    Here the handshake ends on the IOPub "idle" status of the info request that was answered:
    after it the kernel has nothing left to send, and nbclient ignores any message that is not
    a reply to its own requests, so nothing left over from earlier attempts can be mistaken
    for a cell's output.
    """

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            request = self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except queue.Empty:
                reply = None
            if (reply is not None and reply["msg_type"] == "kernel_info_reply"
                    and reply["parent_header"].get("msg_id") == request
                    and await self._idle_after(request)):
                self._handle_kernel_info_reply(reply)
                return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")

    async def _idle_after(self, request: str) -> bool:
        """Whether IOPub brings the kernel's "idle" status for ``request`` (each message within
        0.2 s; none means the subscription was not connected yet, so ask again)."""
        while True:
            try:
                msg = await self.iopub_channel.get_msg(timeout=0.2)
            except queue.Empty:
                return False
            if (msg["msg_type"] == "status" and msg["parent_header"].get("msg_id") == request
                    and msg["content"].get("execution_state") == "idle"):
                return True


class _ClientClosingKernelManager(AsyncKernelManager):
    """A kernel manager that remembers the clients it hands out, so they can be closed.

    nbclient closes its kernel client only when it started the kernel itself: given a manager
    (as a reused kernel must be), it leaves the client's channels open after the notebook. Each
    left-open IOPub socket then goes on receiving every later notebook's outputs, which nobody
    reads, so a worker grew by more each report (to 2.4 GB per worker after ~50 reports, in a
    batch of every synthetic cluster). :meth:`close_clients` stops them after each notebook.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.client_factory = _ReadyClient
        self._clients: list = []

    def client(self, **kwargs):
        kc = super().client(**kwargs)
        self._clients.append(kc)
        return kc

    def close_clients(self) -> int:
        """Stop the channels of every client handed out since the last call; return how many."""
        count = 0
        while self._clients:
            kc = self._clients.pop()
            try:
                kc.stop_channels()
            except Exception:  # a client of a kernel that died: its sockets are gone with it
                pass
            count += 1
        return count


class ReusableKernel:
    """A Python kernel that runs notebooks in turn, reset between them, replaced after a failure.

    ``kernel_name`` is the Jupyter kernel spec (default ``python3``: the environment clusterqi
    runs in). ``warm_imports`` are imported once per kernel before the state snapshot.
    Attributes ``started`` and ``notebooks_run`` count kernels started and notebooks run.
    Not thread-safe: use one per thread (the executors do).
    """

    def __init__(self, kernel_name: str = "python3", warm_imports: tuple[str, ...] = WARM_IMPORTS):
        self.kernel_name = kernel_name
        self.warm_imports = warm_imports
        self.started = 0
        self.notebooks_run = 0
        self._km: _ClientClosingKernelManager | None = None
        self._timed_out = False

    # --- kernel life cycle ----------------------------------------------------------------

    def _execute(self, code: str, *, first: bool = False) -> None:
        """Run set-up code in the kernel (not part of any notebook); raise if it fails.

        Only the shell channel is used: the reply says whether the code ran. ``first`` (right
        after start) also waits until the kernel answers; later calls skip that handshake,
        whose IOPub flush alone costs 0.2 s for every report.
        """
        assert self._km is not None
        client = BlockingKernelClient()
        client.load_connection_info(self._km.get_connection_info())
        client.start_channels(shell=True, iopub=first, stdin=False, hb=False, control=False)
        try:
            if first:
                client.wait_for_ready(timeout=KERNEL_START_TIMEOUT_SECONDS)
            msg_id = client.execute(code, silent=False, store_history=False, allow_stdin=False)
            deadline = time.monotonic() + KERNEL_START_TIMEOUT_SECONDS
            while True:
                try:
                    reply = client.get_shell_msg(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    raise NotebookFailed(
                        f"kernel set-up did not answer within {KERNEL_START_TIMEOUT_SECONDS} s"
                    ) from None
                if reply.get("parent_header", {}).get("msg_id") == msg_id:
                    break
        finally:
            client.stop_channels()
        content = reply["content"]
        if content["status"] != "ok":
            raise NotebookFailed(
                f"kernel set-up failed: {content.get('ename')}: {_one_line(content.get('evalue', ''))}"
            )

    def _start(self, cwd: Path) -> None:
        # nbclient needs the async manager: a blocking client would stall its event loop, and a
        # dead kernel would then never be noticed.
        km = _ClientClosingKernelManager(kernel_name=self.kernel_name)
        linux = {"preexec_fn": end_with_parent} if sys.platform.startswith("linux") else {}
        run_sync(km.start_kernel)(
            cwd=str(cwd),
            extra_arguments=["--HistoryManager.hist_file=:memory:"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            **linux,
        )
        self._km = km
        self.started += 1
        imports = "\n".join(f"import {name}" for name in self.warm_imports)
        self._execute(f"{imports}\n{_STATE}.settle_collector()\n{_STATE}.snapshot_state()\ndel {', '.join(_top_names(self.warm_imports))}\n",
                      first=True)

    def start(self, cwd: str | Path) -> None:
        """Start the kernel now, with its warm-up imports, if none is running (in folder ``cwd``),
        so that the first notebook need not wait for it; :meth:`run` starts one itself otherwise.
        A kernel that fails to start is stopped and the error raised: the next :meth:`run`
        tries afresh and reports it as that notebook's failure."""
        if self._km is not None:
            return
        try:
            self._start(Path(cwd))
        except BaseException:
            self.shutdown()
            raise

    def shutdown(self) -> None:
        """Stop the kernel (the next :meth:`run` starts a fresh one)."""
        km, self._km = self._km, None
        if km is not None and km.has_kernel:
            try:
                run_sync(km.shutdown_kernel)(now=True)
            except Exception:  # a kernel that is already gone
                run_sync(km.cleanup_resources)()

    def _kill_for_timeout(self) -> None:
        self._timed_out = True
        km = self._km
        if km is not None and km.has_kernel:
            run_sync(km.signal_kernel)(signal.SIGKILL)

    # --- running notebooks ----------------------------------------------------------------

    def run(
        self, notebook: str | Path, parameters: dict[str, Any], timeout: float, cwd: str | Path | None = None
    ) -> NotebookNode:
        """Execute ``notebook`` with ``parameters`` injected; return the executed notebook (not saved).

        ``timeout`` bounds the whole notebook in seconds. ``cwd`` is the folder the notebook runs
        in (default: the notebook's folder). Raises :class:`NotebookFailed` with a one-line reason
        (``"cell 7: KeyError: 'x'"``, ``"timed out after 600 s"``) and replaces the kernel.
        """
        notebook = Path(notebook)
        cwd = Path(cwd) if cwd is not None else notebook.resolve().parent
        if self._km is not None and not run_sync(self._km.is_alive)():
            self.shutdown()  # died since the last notebook: never wait on a dead kernel
        if self._km is None:
            self._start(cwd)
        self._execute(f"{_STATE}.restore_state({str(cwd)!r})")
        self._timed_out = False
        watchdog = threading.Timer(timeout, self._kill_for_timeout)
        watchdog.daemon = True
        watchdog.start()
        try:
            executed = papermill.execute_notebook(
                str(notebook),
                None,
                parameters=parameters,
                km=self._km,
                progress_bar=False,
                log_output=False,
                execution_timeout=int(max(1, timeout)),
            )
        except Exception as exc:
            self.shutdown()
            raise NotebookFailed(self._reason(exc, timeout)) from None
        finally:
            watchdog.cancel()
            if self._km is not None:
                self._km.close_clients()
        self.notebooks_run += 1
        return executed

    def _reason(self, exc: Exception, timeout: float) -> str:
        if self._timed_out or isinstance(exc, CellTimeoutError):
            return f"timed out after {timeout:g} s"
        if isinstance(exc, papermill.PapermillExecutionError):
            return f"cell {exc.exec_count}: {exc.ename}: {_one_line(exc.evalue)}"
        if isinstance(exc, DeadKernelError):
            return "the kernel died (out of memory?)"
        return f"{type(exc).__name__}: {_one_line(str(exc))}"

    def __enter__(self) -> ReusableKernel:
        return self

    def __exit__(self, *exc_info) -> None:
        self.shutdown()
