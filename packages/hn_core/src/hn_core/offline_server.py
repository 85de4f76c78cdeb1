"""An offline stand-in for the HN API: a real HTTP server on 127.0.0.1 serving items from a fixture.

It serves ``/v0/maxitem.json`` and ``/v0/item/<id>.json`` like the public API, with a configurable latency per
request and injected faults, so that the real client, the quick start and the benchmarks run without a network.

It must never limit a measurement, so the server that ``serve_in_thread`` and ``hn-api-server`` run is a small
asyncio protocol: HTTP/1.1 with keep-alive (and pipelining), complete responses rendered once, latency by
``loop.call_later`` (no task per request), a large listen backlog and uvloop where installed. It needs a third to
a quarter of the CPU time per request of aiohttp's web server (BENCHMARKS.md). Every routing and fault decision is
made in ``OfflineHNAPI.reply``, apart from the HTTP plumbing.

Faults are decided per (item id, attempt number): shares by a seeded hash, everything else by the attempt count, so a
run is reproducible and a retry of the same id can succeed where the first attempt failed. Besides the usual faults
(5xx, hangs, ``null``, broken JSON), ``Faults`` can serve hostile answers: any body, any raw bytes in place of a
response, a redirect loop, rate limiting with any ``Retry-After``, and a dead API; ``refusing_port`` gives a port
where connections are refused.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import logging
import signal
import socket
import threading
from collections import Counter, deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import NamedTuple, cast

from hn_core.api_client import new_event_loop
from hn_core.client import Item
from hn_core.fixtures import generate_items

log = logging.getLogger(__name__)

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"
JSON_HEADERS = {"Content-Type": JSON_CONTENT_TYPE}

ITEM_PREFIX = "/v0/item/"
MAX_ITEM_PATH = "/v0/maxitem.json"
#: Largest request head (request line and headers) the protocol server accepts.
MAX_REQUEST_HEAD = 16 * 1024


@dataclass
class Faults:
    """What goes wrong, and how often. Shares are between 0 and 1 and apply to item requests only.

    Transient faults, tried first, in this order (each counts as one attempt at the id):

    - ``hang_all``: every item request hangs for ``hang_seconds``, then the connection closes without an answer
      (a dead API; ``hang_max_item`` does the same to ``/v0/maxitem.json``);
    - ``rate_limited``: ``{id: (n, retry_after)}``: the first ``n`` attempts at ``id`` answer
      ``429 Too Many Requests`` with ``Retry-After: retry_after``, sent verbatim (seconds, an HTTP date, or garbage);
    - ``failures_before_success``: the first attempts at every item answer 500 (or hang ``hang_seconds`` first, with
      ``hang_before_success``), which is how tests prove that retries recover;
    - ``fail_ids`` always, and a share ``error_share`` of attempts, answer 503;
    - a share ``timeout_share`` of attempts hangs ``hang_seconds`` before the answer below.

    Then the answer itself, the first that applies:

    - ``raw_responses``: ``{id: bytes}``: these bytes are written to the socket verbatim as the whole response, then
      the connection closes (a malformed status line or header, a truncated answer...);
    - ``redirect_ids``: ``302 Found`` with ``Location`` pointing at the same path (a redirect loop);
    - ``bodies``: ``{id: bytes}``: ``200`` with exactly these bytes as the JSON body (another id, a mistyped field,
      an escaped lone surrogate, a huge body...);
    - ``malformed_ids`` (and a share ``malformed_share``) answer truncated JSON, ``null_ids`` (and ``null_share``)
      answer ``null``; every other id answers its fixture item, or ``null`` beyond the fixture.
    """

    error_share: float = 0.0
    timeout_share: float = 0.0
    null_share: float = 0.0
    malformed_share: float = 0.0
    fail_ids: frozenset[int] = frozenset()
    malformed_ids: frozenset[int] = frozenset()
    null_ids: frozenset[int] = frozenset()
    failures_before_success: int = 0
    hang_before_success: bool = False
    hang_seconds: float = 30.0
    seed: int = 0
    bodies: Mapping[int, bytes] = field(default_factory=dict)
    raw_responses: Mapping[int, bytes] = field(default_factory=dict)
    redirect_ids: frozenset[int] = frozenset()
    rate_limited: Mapping[int, tuple[int, str]] = field(default_factory=dict)
    hang_all: bool = False
    hang_max_item: bool = False

    def __post_init__(self) -> None:
        for name in ("error_share", "timeout_share", "null_share", "malformed_share"):
            share = getattr(self, name)
            if not 0.0 <= share <= 1.0:
                raise ValueError(f"Faults.{name} is {share!r}; give a share between 0 and 1.")
        for item_id, (count, retry_after) in self.rate_limited.items():
            if count < 0:
                raise ValueError(f"Faults.rate_limited[{item_id}] limits {count} attempts; give 0 or more.")
            if "\r" in retry_after or "\n" in retry_after:
                raise ValueError(
                    f"Faults.rate_limited[{item_id}] has a line break in Retry-After {retry_after!r}, which would "
                    "split the header; use raw_responses to send a malformed header."
                )


class Reply(NamedTuple):
    """What to answer to one request, and after how long.

    With ``raw``, ``body`` is the whole response, written verbatim (possibly nothing), and the connection closes.
    """

    delay: float
    status: int
    body: bytes
    content_type: str = JSON_CONTENT_TYPE
    headers: tuple[tuple[str, str], ...] = ()
    raw: bool = False


@dataclass
class OfflineHNAPI:
    """The application state: the fixture, pre-serialised, the latency and the faults."""

    items: Mapping[int, Item | None]
    latency_seconds: float = 0.0
    faults: Faults = field(default_factory=Faults)
    attempts: Counter[int] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._bodies = {item_id: json.dumps(item).encode() for item_id, item in self.items.items()}
        self._max_body = json.dumps(max(self.items, default=0)).encode()
        self._rendered: dict[bytes, bytes] | None = None

    @property
    def max_item_id(self) -> int:
        return max(self.items, default=0)

    def rendered_ok(self) -> dict[bytes, bytes]:
        """Complete keep-alive 200 responses, keyed by the JSON body they carry, rendered once on first use."""
        if self._rendered is None:
            bodies = [*self._bodies.values(), self._max_body, b"null"]
            self._rendered = {body: render_response(200, body, JSON_CONTENT_TYPE) for body in bodies}
        return self._rendered

    def reply(self, path: str) -> Reply:
        """Route a GET of ``path`` (without the query string); an item request counts as an attempt at that id."""
        if path.startswith(ITEM_PREFIX) and path.endswith(".json"):
            digits = path[len(ITEM_PREFIX) : -len(".json")]
            if digits.isascii() and digits.isdigit():
                return self.item_reply(int(digits))
        elif path == MAX_ITEM_PATH:
            if self.faults.hang_max_item:
                return Reply(self.latency_seconds + self.faults.hang_seconds, 0, b"", raw=True)
            return Reply(self.latency_seconds, 200, self._max_body)
        return Reply(0.0, 404, b"404: Not Found", TEXT_CONTENT_TYPE)

    def item_reply(self, item_id: int) -> Reply:
        """The answer to one request for ``item_id``, faults included, in the order ``Faults`` documents."""
        attempt = self.attempts[item_id]
        self.attempts[item_id] = attempt + 1
        delay = self.latency_seconds
        faults = self.faults
        if faults.hang_all:
            return Reply(delay + faults.hang_seconds, 0, b"", raw=True)
        limit = faults.rate_limited.get(item_id)
        if limit is not None and attempt < limit[0]:
            return Reply(delay, 429, b"injected rate limit", TEXT_CONTENT_TYPE, (("Retry-After", limit[1]),))
        if attempt < faults.failures_before_success:
            if faults.hang_before_success:
                delay += faults.hang_seconds
            return Reply(delay, 500, b"injected failure before success", TEXT_CONTENT_TYPE)
        if item_id in faults.fail_ids or self._happens(faults.error_share, item_id, attempt, "error"):
            return Reply(delay, 503, b"injected server error", TEXT_CONTENT_TYPE)
        if self._happens(faults.timeout_share, item_id, attempt, "timeout"):
            delay += faults.hang_seconds
        raw = faults.raw_responses.get(item_id)
        if raw is not None:
            return Reply(delay, 0, raw, raw=True)
        if item_id in faults.redirect_ids:
            location = f"{ITEM_PREFIX}{item_id}.json"
            return Reply(delay, 302, b"injected redirect loop", TEXT_CONTENT_TYPE, (("Location", location),))
        body = faults.bodies.get(item_id)
        if body is not None:
            return Reply(delay, 200, body)
        if item_id in faults.malformed_ids or self._happens(faults.malformed_share, item_id, attempt, "malformed"):
            return Reply(delay, 200, b'{"id": ' + str(item_id).encode() + b', "type": "sto')
        if item_id in faults.null_ids or self._happens(faults.null_share, item_id, attempt, "null"):
            return Reply(delay, 200, b"null")
        return Reply(delay, 200, self._bodies.get(item_id, b"null"))

    def _happens(self, share: float, item_id: int, attempt: int, kind: str) -> bool:
        return share > 0 and self._roll(item_id, attempt, kind) < share

    def _roll(self, item_id: int, attempt: int, kind: str) -> float:
        digest = hashlib.blake2b(f"{self.faults.seed}:{kind}:{item_id}:{attempt}".encode(), digest_size=8)
        return int.from_bytes(digest.digest(), "big") / 2**64


def render_response(
    status: int,
    body: bytes,
    content_type: str,
    *,
    close: bool = False,
    head: bool = False,
    headers: tuple[tuple[str, str], ...] = (),
) -> bytes:
    """A complete HTTP/1.1 response: status line, headers and (unless ``head``) the body."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    connection = "Connection: close\r\n" if close else ""
    extra = "".join(f"{name}: {value}\r\n" for name, value in headers)
    head_bytes = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        f"{extra}{connection}\r\n"
    ).encode("latin-1")
    return head_bytes if head else head_bytes + body


class _Pending:
    """An answer waiting for its turn: HTTP/1.1 answers the requests of a connection in the order they came."""

    __slots__ = ("close", "data", "timer")

    def __init__(self, data: bytes | None, close: bool) -> None:
        self.data, self.close = data, close
        self.timer: asyncio.TimerHandle | None = None


class _HTTPConnection(asyncio.Protocol):
    """One client connection: parses HTTP/1.1 requests, answers after the reply's delay, keeps the connection alive.

    Only what the HN API needs: GET and HEAD, no request bodies beyond a ``Content-Length`` to skip, no chunked
    requests. Anything else gets a 4xx answer, and the connection is closed.
    """

    def __init__(self, api: OfflineHNAPI, connections: set[_HTTPConnection]) -> None:
        self._api, self._connections = api, connections
        self._rendered = api.rendered_ok()
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._buffer = b""
        self._queue: deque[_Pending] = deque()
        self._closing = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        self._connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        for pending in self._queue:
            if pending.timer is not None:
                pending.timer.cancel()
        self._queue.clear()
        self._transport = None
        self._connections.discard(self)

    def close(self) -> None:
        """Close the connection now, dropping answers not yet due."""
        if self._transport is not None:
            self._transport.close()

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data if self._buffer else data
        while buffer and not self._closing:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > MAX_REQUEST_HEAD:
                    self._fail(431, b"request head too large")
                break
            request = self._parse(buffer[:end])
            if request is None:
                break
            method, target, keep_alive, body_length = request
            if len(buffer) < end + 4 + body_length:
                break
            buffer = buffer[end + 4 + body_length :]
            self._answer(method, target, keep_alive)
        self._buffer = b"" if self._closing else buffer

    def _parse(self, head: bytes) -> tuple[bytes, bytes, bool, int] | None:
        """Method, target, keep-alive and body length of a request head; ``None`` after answering a bad one."""
        line_end = head.find(b"\r\n")
        parts = (head if line_end < 0 else head[:line_end]).split(b" ")
        if len(parts) != 3 or parts[2] not in (b"HTTP/1.1", b"HTTP/1.0"):
            self._fail(400, b"malformed request line")
            return None
        method, target, version = parts
        keep_alive, body_length = version == b"HTTP/1.1", 0
        if line_end >= 0:
            for line in head[line_end + 2 :].lower().split(b"\r\n"):
                name, _, value = line.partition(b":")
                value = value.strip()
                if name == b"connection":
                    keep_alive = b"keep-alive" in value if version == b"HTTP/1.0" else b"close" not in value
                elif name == b"content-length":
                    if not value.isdigit():
                        self._fail(400, b"bad content-length")
                        return None
                    body_length = int(value)
                elif name == b"transfer-encoding":
                    self._fail(411, b"chunked requests are not supported")
                    return None
        return method, target, keep_alive, body_length

    def _answer(self, method: bytes, target: bytes, keep_alive: bool) -> None:
        if method not in (b"GET", b"HEAD"):
            self._fail(405, b"only GET and HEAD")
            return
        reply = self._api.reply(target.split(b"?", 1)[0].decode("latin-1"))
        close, head = not keep_alive or reply.raw, method == b"HEAD"
        data = None
        if reply.raw:
            data = reply.body
        elif reply.status == 200 and keep_alive and not head and reply.content_type is JSON_CONTENT_TYPE:
            data = self._rendered.get(reply.body)
        if data is None:
            data = render_response(
                reply.status, reply.body, reply.content_type, close=close, head=head, headers=reply.headers
            )
        self._closing = close
        if reply.delay <= 0 and not self._queue:
            self._send(data, close)
            return
        pending = _Pending(None, close)
        if reply.delay > 0:
            pending.timer = self._loop.call_later(reply.delay, self._ready, pending, data)
        else:
            pending.data = data
        self._queue.append(pending)

    def _ready(self, pending: _Pending, data: bytes) -> None:
        pending.data, pending.timer = data, None
        queue = self._queue
        while queue and (first := queue[0]).data is not None:
            queue.popleft()
            self._send(first.data, first.close)

    def _send(self, data: bytes, close: bool) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        if data:
            transport.write(data)
        if close:
            transport.close()

    def _fail(self, status: int, message: bytes) -> None:
        """Answer a request that cannot be served, after the answers still due, then close."""
        self._closing = True
        data = render_response(status, message, TEXT_CONTENT_TYPE, close=True)
        if self._queue:
            self._queue.append(_Pending(data, close=True))
        else:
            self._send(data, close=True)


@dataclass
class OfflineServer:
    """The protocol server of ``start_server``, listening on ``host``:``port``, and its open connections."""

    server: asyncio.AbstractServer
    connections: set[_HTTPConnection]
    host: str
    port: int

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def close(self) -> None:
        """Stop listening and close every connection, even those a client keeps alive."""
        self.server.close()
        for connection in list(self.connections):
            connection.close()
        await self.server.wait_closed()


async def start_server(api: OfflineHNAPI, host: str, port: int, backlog: int = 4096) -> OfflineServer:
    """Serve ``api`` with the protocol server on the running loop; port 0 picks a free port (see ``.port``)."""
    connections: set[_HTTPConnection] = set()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: _HTTPConnection(api, connections), host, port, backlog=backlog, reuse_address=True
    )
    bound_host, bound_port = server.sockets[0].getsockname()[:2]
    return OfflineServer(server, connections, bound_host, bound_port)


@contextmanager
def serve_in_thread(api: OfflineHNAPI, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``api`` from a background thread for the duration of the block; yields the base URL."""
    loop = new_event_loop()
    server = loop.run_until_complete(start_server(api, host, port))
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


def load_fixture(path: Path) -> dict[int, Item | None]:
    """Read a fixture file: a JSON object mapping ids to items (or ``null``)."""
    return {int(item_id): item for item_id, item in json.loads(path.read_text()).items()}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="hn-api-server", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--items", type=int, default=25_000, help="generate items 1..ITEMS (default 25000)")
    source.add_argument("--fixture", type=Path, help="serve a JSON fixture {id: item|null} instead")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated items and of the faults")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay added to every request")
    parser.add_argument("--error-share", type=float, default=0.0, help="share of item requests answering 503")
    parser.add_argument("--timeout-share", type=float, default=0.0, help="share of item requests that hang")
    parser.add_argument("--null-share", type=float, default=0.0, help="share of item requests answering null")
    parser.add_argument("--malformed-share", type=float, default=0.0, help="share answering broken JSON")
    parser.add_argument("--backlog", type=int, default=4096, help="listen backlog")
    return parser.parse_args(argv)


async def serve_until_stopped(api: OfflineHNAPI, host: str, port: int, backlog: int) -> None:
    """Serve ``api`` until SIGINT or SIGTERM, then close the listening socket and return."""
    server = await start_server(api, host, port, backlog)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await server.close()


def main(argv: list[str] | None = None) -> None:
    """Console script ``hn-api-server``: serve until interrupted."""
    args = parse_args(argv)
    items = load_fixture(args.fixture) if args.fixture else generate_items(args.items, seed=args.seed)
    faults = Faults(
        error_share=args.error_share,
        timeout_share=args.timeout_share,
        null_share=args.null_share,
        malformed_share=args.malformed_share,
        seed=args.seed,
    )
    api = OfflineHNAPI(items, latency_seconds=args.latency_ms / 1000, faults=faults)
    print(
        f"Offline HN API on http://{args.host}:{args.port} ({len(items)} items, max id {api.max_item_id}, "
        f"latency {args.latency_ms:g} ms). Point the pipeline at it with HN_API_BASE_URL.",
        flush=True,
    )
    with asyncio.Runner(loop_factory=new_event_loop) as runner, contextlib.suppress(KeyboardInterrupt):
        runner.run(serve_until_stopped(api, args.host, args.port, args.backlog))


if __name__ == "__main__":
    main()
