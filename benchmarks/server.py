"""The offline HN API in its own process, as ``hn-api-server`` runs it, with its CPU time readable."""

from __future__ import annotations

import resource
import socket
import subprocess
import time
from types import TracebackType

from benchmarks.child import REPO_ROOT, module_command
from benchmarks.process_stats import cpu_seconds

STARTUP_TIMEOUT_SECONDS = 120.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServerProcess:
    """``python -m hn_offline_api.server`` on a free port; use as a context manager.

    The server is a separate process so that its CPU time and memory are its own and never the benchmark's.
    """

    def __init__(
        self, latency_ms: float, items: int = 25_000, host: str = "127.0.0.1", file_limit: int | None = None
    ) -> None:
        self.latency_ms, self.items, self.host, self.file_limit = latency_ms, items, host, file_limit
        self.port = free_port()
        self._process: subprocess.Popen[str] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        assert self._process is not None, "the server is not running"
        return self._process.pid

    def cpu_seconds(self) -> float | None:
        """CPU time the server process has used so far."""
        return cpu_seconds(self.pid)

    def __enter__(self) -> ServerProcess:
        command = module_command(
            "hn_offline_api.server",
            "--host",
            self.host,
            "--port",
            self.port,
            "--items",
            self.items,
            "--latency-ms",
            self.latency_ms,
        )
        self._process = subprocess.Popen(
            command, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, text=True, preexec_fn=self._limit_files
        )
        self._wait_until_listening()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def _limit_files(self) -> None:
        """In the child, before it runs: at most ``file_limit`` open files (soft and hard), like ``ulimit -n``."""
        if self.file_limit is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (self.file_limit, self.file_limit))

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while True:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"The offline server exited with {self._process.returncode} before listening.")
            try:
                with socket.create_connection((self.host, self.port), timeout=1):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"The offline server did not listen on {self.base_url} in time.") from None
                time.sleep(0.1)
