"""An offline stand-in for the HN API: a real HTTP server on 127.0.0.1 serving items from a fixture.

The HTTP protocol is aiohttp's web server (its low-level ``web.Server``, without an application or a router), which
parses requests, keeps connections alive and answers malformed requests with a 4xx and a close; what it answers is
decided by ``OfflineHNAPI`` (``hn_offline_api.app``), and ``ServerLimits`` (``hn_offline_api.limits``) says what one
client may take from it. This module starts and stops it: on a running loop (``start_server``), from a background
thread (``serve_in_thread``) or until a signal (``serve_until_stopped``, what ``hn-api-server`` runs); and
``refusing_port`` gives a port where connections are refused.

The quick start, the tests and the benchmarks import the API and its faults from here, beside what serves them.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from aiohttp import web

from hn_core.hn_api.http_client import new_event_loop
from hn_offline_api.app import AttemptLog, Faults, OfflineHNAPI
from hn_offline_api.limits import LimitedServer, ServerLimits

__all__ = [
    "AttemptLog",
    "Faults",
    "OfflineHNAPI",
    "OfflineServer",
    "ServerLimits",
    "refusing_port",
    "serve_in_thread",
    "serve_until_stopped",
    "start_server",
]


@dataclass
class OfflineServer:
    """The server of ``start_server``, listening on ``host``:``port``."""

    runner: web.ServerRunner
    host: str
    port: int

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def close(self) -> None:
        """Stop listening and close every connection, even those a client keeps alive or waits on."""
        await self.runner.cleanup()


async def start_server(
    api: OfflineHNAPI, host: str, port: int, backlog: int = 4096, limits: ServerLimits | None = None
) -> OfflineServer:
    """Serve ``api`` on the running loop; port 0 picks a free port (see ``.port``)."""
    runner = web.ServerRunner(LimitedServer(api, limits or ServerLimits()), shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=backlog, reuse_address=True)
    await site.start()
    bound_host, bound_port = runner.addresses[0][:2]
    return OfflineServer(runner, bound_host, bound_port)


@contextmanager
def serve_in_thread(
    api: OfflineHNAPI, host: str = "127.0.0.1", port: int = 0, limits: ServerLimits | None = None
) -> Iterator[str]:
    """Serve ``api`` from a background thread for the duration of the block; yields the base URL."""
    loop = new_event_loop()
    server = loop.run_until_complete(start_server(api, host, port, limits=limits))
    thread = threading.Thread(target=loop.run_forever, name="offline-hn-api", daemon=True)
    thread.start()
    try:
        yield server.base_url
    finally:
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


@contextmanager
def refusing_port(host: str = "127.0.0.1") -> Iterator[int]:
    """A port on ``host`` where every connection is refused, for as long as the block runs.

    The port is bound but never listened on, so no other process can take it meanwhile and a connection attempt
    gets a reset at once (``ECONNREFUSED``), as from a host whose API server is down.
    """
    with socket.socket() as bound:
        bound.bind((host, 0))
        yield bound.getsockname()[1]


async def serve_until_stopped(api: OfflineHNAPI, host: str, port: int, backlog: int) -> None:
    """Serve ``api`` until SIGINT or SIGTERM, then close the listening socket and return."""
    server = await start_server(api, host, port, backlog)
    print(
        f"Offline HN API on {server.base_url} ({len(api.items)} items, max id {api.max_item_id}, "
        f"latency {api.latency_seconds * 1000:g} ms). Point the pipeline at it with HN_API_BASE_URL.",
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await server.close()
