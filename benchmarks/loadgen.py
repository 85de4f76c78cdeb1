"""A minimal HTTP/1.1 load client for the offline server: ``python -m benchmarks.loadgen``.

It keeps ``--connections`` keep-alive connections busy with pre-rendered GETs of item ids and parses just enough
of each answer (status and ``Content-Length``) to send the next request, so it costs far less CPU per request
than the server it measures. Prints requests, non-200 answers, seconds and its own CPU time as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from typing import cast

from benchmarks.child import emit

try:
    import uvloop
except ImportError:
    uvloop = None


class _Budget:
    """The requests still to send, shared by every connection, and what came back."""

    def __init__(self, total: int, max_item_id: int) -> None:
        self.total, self.max_item_id = total, max_item_id
        self.sent = self.answered = self.not_ok = 0

    def next_request(self) -> bytes | None:
        if self.sent >= self.total:
            return None
        self.sent += 1
        item_id = self.sent % self.max_item_id + 1
        return b"GET /v0/item/%d.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % item_id


class _Connection(asyncio.Protocol):
    """Sends a request, waits for the whole answer, sends the next; closes when the budget is spent."""

    def __init__(self, budget: _Budget, done: asyncio.Future[None]) -> None:
        self._budget, self._done, self._buffer = budget, done, b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        self._send_next()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._done.done():
            self._done.set_result(None)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while (head_end := self._buffer.find(b"\r\n\r\n")) >= 0:
            head = self._buffer[:head_end].lower()
            start = head.find(b"content-length:") + len(b"content-length:")
            line_end = head.find(b"\r\n", start)
            length = int(head[start : line_end if line_end >= 0 else None])
            if len(self._buffer) < head_end + 4 + length:
                return
            self._budget.answered += 1
            self._budget.not_ok += not head.startswith(b"http/1.1 200")
            self._buffer = self._buffer[head_end + 4 + length :]
            self._send_next()

    def _send_next(self) -> None:
        assert self._transport is not None
        request = self._budget.next_request()
        if request is None:
            self._transport.close()
        else:
            self._transport.write(request)


async def load(host: str, port: int, connections: int, total: int, max_item_id: int) -> dict[str, float]:
    """Send ``total`` requests over ``connections`` connections; throughput and this process's CPU time."""
    loop = asyncio.get_running_loop()
    budget = _Budget(total, max_item_id)
    finished: list[asyncio.Future[None]] = []
    started, cpu_started = time.perf_counter(), time.process_time()
    for _ in range(connections):
        done: asyncio.Future[None] = loop.create_future()
        finished.append(done)
        await loop.create_connection(_factory(budget, done), host, port)
    await asyncio.gather(*finished)
    seconds = time.perf_counter() - started
    return {
        "requests": budget.answered,
        "not_ok": budget.not_ok,
        "seconds": seconds,
        "requests_per_s": budget.answered / seconds,
        "loadgen_cpu_seconds": time.process_time() - cpu_started,
    }


def _factory(budget: _Budget, done: asyncio.Future[None]) -> Callable[[], _Connection]:
    return lambda: _Connection(budget, done)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--connections", type=int, default=128)
    parser.add_argument("--requests", type=int, default=30_000)
    parser.add_argument("--max-item-id", type=int, default=20_000)
    args = parser.parse_args(argv)
    factory = uvloop.new_event_loop if uvloop is not None else asyncio.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        emit(runner.run(load(args.host, args.port, args.connections, args.requests, args.max_item_id)))


if __name__ == "__main__":
    main()
