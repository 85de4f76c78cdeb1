"""Every measurement in a process of its own: the offline HN API server, and fresh workers for the code measured.

A server in another process keeps its CPU time and memory out of the figures of the code it serves; a fresh worker
per run keeps one run's imports and caches out of the next, and its peak memory too, as long as the parent stays
small (a spawned process's ``ru_maxrss`` starts at its parent's RSS). Workers are one-process ``concurrent.futures``
pools, and process statistics come from psutil.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import psutil

REPO_ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


def in_fresh_process(function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` in a newly spawned interpreter; its exceptions are raised here."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def cpu_seconds(process: psutil.Process) -> float:
    """User plus system CPU time of ``process`` so far."""
    times = process.cpu_times()
    return times.user + times.system


class ServerProcess:
    """``hn-api-server`` (``python -m hn_offline_api.cli``) on a free port; use as a context manager."""

    def __init__(self, *args: object) -> None:
        self.args = [str(arg) for arg in args]
        self.base_url = ""
        self._popen: subprocess.Popen[str] | None = None
        self.process: psutil.Process | None = None

    def __enter__(self) -> ServerProcess:
        command = [sys.executable, "-m", "hn_offline_api.cli", "--port", "0", *self.args]
        self._popen = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
        assert self._popen.stdout is not None
        banner = self._popen.stdout.readline()
        found = re.search(r"on (http://\S+) ", banner)
        if found is None:
            self._popen.kill()
            raise RuntimeError(f"The offline server did not start: {banner!r} (exit code {self._popen.wait()})")
        self.base_url = found.group(1)
        self.process = psutil.Process(self._popen.pid)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        assert self._popen is not None
        self._popen.terminate()
        try:
            self._popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._popen.kill()
            self._popen.wait()
