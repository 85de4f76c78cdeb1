"""An offline stand-in for the HN API: a real HTTP server on 127.0.0.1 serving items from a fixture.

It serves ``/v0/maxitem.json`` and ``/v0/item/<id>.json`` like the public API, with a configurable latency per
request and injected faults, so that the real client, the quick start and the benchmarks run without a network.
Every routing and fault decision is made in ``OfflineHNAPI.reply``; the HTTP protocol is aiohttp's web server (its
low-level ``web.Server``, without an application or a router), which parses requests, keeps connections alive and
answers malformed requests with a 4xx and a close. ``ServerLimits`` says what one client may take from it.

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
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from aiohttp import web

from hn_core.api_client import new_event_loop
from hn_core.client import Item
from hn_offline_api.fixtures import IRREGULAR_MIX, ItemTiming, generate_items

try:
    import resource
except ImportError:  # Windows has no file descriptor limit to read
    resource = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

ITEM_PREFIX = "/v0/item/"
MAX_ITEM_PATH = "/v0/maxitem.json"
#: The largest id an HN item can have: the API stores numbers as JavaScript does, exact up to 2**53 - 1.
MAX_ITEM_ID = 2**53 - 1
NOT_AN_ITEM_ID = b"not an HN item id: give a whole number from 0 to 2**53 - 1, as in /v0/item/8863.json"
JSON_CONTENT_TYPE = "application/json"
TEXT_CONTENT_TYPE = "text/plain"
#: Connections served at once when the file descriptor limit allows as many.
DEFAULT_MAX_CONNECTIONS = 1024
#: File descriptors left to the rest of the process (fixture, logs, the client in the same process...).
RESERVED_FILE_DESCRIPTORS = 64


class Reply(NamedTuple):
    """What to answer to one request, and after how long.

    With ``raw``, ``body`` is the whole response, written to the socket verbatim (possibly nothing), and the
    connection closes.
    """

    delay: float
    status: int
    body: bytes
    content_type: str = JSON_CONTENT_TYPE
    headers: tuple[tuple[str, str], ...] = ()
    raw: bool = False


@dataclass(frozen=True)
class ServerLimits:
    """What one client may take from the server, as settings of aiohttp's web server where it has them.

    Kept, and how:

    - ``keep_alive_timeout`` (aiohttp's ``keepalive_timeout``): a connection that sends no complete request head for
      this long, since it opened or since its last answer, is closed. aiohttp arms this timer when a connection opens,
      so it is the header timeout too: a client that connects and sends nothing, or half a head, is cut off.
    - ``max_head_line_bytes`` (aiohttp's ``max_line_size`` and ``max_field_size``) and ``max_headers``: a longer
      request line or field, or more fields, is refused (aiohttp answers 400, naming the limit, and closes).
    - ``max_body_bytes``: a request announcing a longer body gets 413 at once and the connection closes (GET and HEAD
      need no body; aiohttp's own ``client_max_size`` applies only to bodies a handler reads).
    - ``linger_seconds`` (aiohttp's ``lingering_time``): after an answer, what remains of an unread body is
      discarded for at most this long, then the connection closes, so a stalled body cannot hold it.
    - ``max_connections``: aiohttp has no cap, so ``start_server`` adds one: beyond it, a new connection closes the
      connection idle the longest (no request being answered), or gets 503 with ``Retry-After`` if every
      connection awaits an answer. ``None`` means 1,024, or fewer when the process may open fewer files, so a flood
      of connections can never make the server unable to accept.
    - ``backlog`` of ``start_server``: the listen queue, passed to the socket.

    Dropped, and why: a separate header timeout shorter than the idle timeout (aiohttp has one timer for both; the
    offline server serves local tests and benchmarks, where 75 s against a stalled client costs nothing), a 408
    answer to a client cut off (aiohttp closes without one), the cap on answers due per connection (aiohttp handles
    a connection's requests one at a time and stops reading at 32 queued requests), the send timeout on clients that
    leave answers unread (aiohttp waits on the socket's flow control instead), and our own request parsing: aiohttp's
    parser (llhttp) is maintained and fuzzed, and refuses malformed requests with its own wording.
    """

    keep_alive_timeout: float = 75.0
    max_head_line_bytes: int = 8190
    max_headers: int = 128
    max_body_bytes: int = 64 * 1024
    max_connections: int | None = None
    linger_seconds: float = 2.0

    def __post_init__(self) -> None:
        for name in ("keep_alive_timeout", "linger_seconds"):
            if not getattr(self, name) > 0:
                raise ValueError(f"ServerLimits.{name} is {getattr(self, name)!r}; give a number of seconds above 0.")
        for name in ("max_head_line_bytes", "max_headers", "max_body_bytes", "max_connections"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"ServerLimits.{name} is {value!r}; give 1 or more.")


def default_max_connections() -> int:
    """1,024 connections, or as many as the file descriptor limit allows after ``RESERVED_FILE_DESCRIPTORS``.

    Staying under the limit is what keeps a flood of connections from locking everyone out: past it the server
    can no longer accept, so it could neither serve a newcomer nor close an idle connection to make room.
    """
    if resource is None:
        return DEFAULT_MAX_CONNECTIONS
    soft_limit, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft_limit == resource.RLIM_INFINITY:
        return DEFAULT_MAX_CONNECTIONS
    return max(8, min(DEFAULT_MAX_CONNECTIONS, soft_limit - RESERVED_FILE_DESCRIPTORS))


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


class AttemptLog(Mapping[int, int]):
    """Attempts per item id, remembered for the ``capacity`` ids requested most recently.

    Bounded because a client can ask for any number of distinct ids (2 million kept 140 MB for good in an unbounded
    counter). An id being retried is asked for again within seconds, so it stays among the most recent; an id
    forgotten starts again from attempt 0, and its first-attempt faults apply again. Like a ``Counter``, an id never
    requested (or forgotten) counts 0 attempts.
    """

    DEFAULT_CAPACITY = 100_000

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError(f"AttemptLog capacity is {capacity}; give 1 or more ids.")
        self.capacity = capacity
        self._counts: OrderedDict[int, int] = OrderedDict()

    def record(self, item_id: int) -> int:
        """Count one more attempt at ``item_id``; returns the number of attempts before this one."""
        counts = self._counts
        attempt = counts.get(item_id, 0)
        counts[item_id] = attempt + 1
        if attempt:
            counts.move_to_end(item_id)
        elif len(counts) > self.capacity:
            counts.popitem(last=False)
        return attempt

    def clear(self) -> None:
        self._counts.clear()

    def __getitem__(self, item_id: int) -> int:
        return self._counts.get(item_id, 0)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._counts

    def __iter__(self) -> Iterator[int]:
        return iter(list(self._counts))  # a snapshot: the server thread may record attempts meanwhile

    def __len__(self) -> int:
        return len(self._counts)

    def __repr__(self) -> str:
        return f"AttemptLog({dict(self._counts)!r}, capacity={self.capacity})"


def parse_item_id(text: str) -> int | None:
    """The item id ``text`` spells (ASCII digits, at most ``MAX_ITEM_ID``), or ``None``.

    Length is checked first: Python refuses to convert strings of more than 4,300 digits, and none is needed.
    """
    if len(text) > len(str(MAX_ITEM_ID)) or not (text.isascii() and text.isdigit()):
        return None
    item_id = int(text)
    return item_id if item_id <= MAX_ITEM_ID else None


@dataclass
class OfflineHNAPI:
    """The application state: the fixture, pre-serialised, the latency and the faults."""

    items: Mapping[int, Item | None]
    latency_seconds: float = 0.0
    faults: Faults = field(default_factory=Faults)
    attempts: AttemptLog = field(default_factory=AttemptLog)

    def __post_init__(self) -> None:
        self._bodies = {item_id: json.dumps(item).encode() for item_id, item in self.items.items()}
        self._max_body = json.dumps(max(self.items, default=0)).encode()

    @property
    def max_item_id(self) -> int:
        return max(self.items, default=0)

    def reply(self, path: str) -> Reply:
        """Route a GET of ``path`` (without the query string); an item request counts as an attempt at that id."""
        if path.startswith(ITEM_PREFIX) and path.endswith(".json"):
            item_id = parse_item_id(path[len(ITEM_PREFIX) : -len(".json")])
            if item_id is None:
                return Reply(0.0, 400, NOT_AN_ITEM_ID, TEXT_CONTENT_TYPE)
            return self.item_reply(item_id)
        if path == MAX_ITEM_PATH:
            if self.faults.hang_max_item:
                return Reply(self.latency_seconds + self.faults.hang_seconds, 0, b"", raw=True)
            return Reply(self.latency_seconds, 200, self._max_body)
        return Reply(0.0, 404, b"404: Not Found", TEXT_CONTENT_TYPE)

    def item_reply(self, item_id: int) -> Reply:
        """The answer to one request for ``item_id``, faults included, in the order ``Faults`` documents."""
        attempt = self.attempts.record(item_id)
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


_ALLOWED_METHODS = frozenset({"GET", "HEAD"})
_LIMIT_MESSAGE = b"the server is at its connection limit; retry shortly"
#: The whole answer to a connection beyond the cap when every connection awaits an answer (uvicorn answers 503 too).
AT_CONNECTION_LIMIT = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nRetry-After: 1\r\nConnection: close\r\n"
    b"Content-Length: %d\r\n\r\n%s" % (len(_LIMIT_MESSAGE), _LIMIT_MESSAGE)
)


class _LimitedServer(web.Server):
    """aiohttp's low-level server with a connection cap, which aiohttp itself does not have (``ServerLimits``)."""

    def __init__(self, api: OfflineHNAPI, limits: ServerLimits) -> None:
        super().__init__(
            self._handle,
            keepalive_timeout=limits.keep_alive_timeout,
            max_line_size=limits.max_head_line_bytes,
            max_field_size=limits.max_head_line_bytes,
            max_headers=limits.max_headers,
            lingering_time=limits.linger_seconds,
            access_log=None,
        )
        self.api, self.limits = api, limits
        self.max_connections = limits.max_connections or default_max_connections()
        self._busy: dict[web.RequestHandler, int] = {}  # requests being answered, per connection
        self._quiet_since: dict[web.RequestHandler, float] = {}  # when each connection last opened or got an answer

    def connection_made(self, handler: web.RequestHandler, transport: asyncio.Transport) -> None:
        super().connection_made(handler, transport)
        room = len(self._quiet_since) < self.max_connections or self._make_room()
        self._quiet_since[handler] = asyncio.get_running_loop().time()
        if not room:
            transport.write(AT_CONNECTION_LIMIT)
            self._close(handler)

    def connection_lost(self, handler: web.RequestHandler, exc: BaseException | None = None) -> None:
        super().connection_lost(handler, exc)
        self._busy.pop(handler, None)
        self._quiet_since.pop(handler, None)

    def _make_room(self) -> bool:
        """Close the connection quiet the longest among those with no request being answered; ``False`` if none.

        Counted here, not by aiohttp's ``connections``, which keeps a closed connection until its task ends.
        """
        idle = [handler for handler in self._quiet_since if not self._busy.get(handler)]
        if not idle:
            return False
        self._close(min(idle, key=self._quiet_since.__getitem__))
        return True

    def _close(self, handler: web.RequestHandler) -> None:
        """Close ``handler``'s connection once what was written to it is sent; it no longer counts."""
        self._quiet_since.pop(handler, None)
        self._busy.pop(handler, None)
        handler.force_close()

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        handler = request.protocol
        if handler in self._quiet_since:
            self._busy[handler] = self._busy.get(handler, 0) + 1
        try:
            return await self._answer(request)
        finally:
            if handler in self._quiet_since:  # not closed meanwhile
                self._busy[handler] -= 1
                self._quiet_since[handler] = asyncio.get_running_loop().time()

    async def _answer(self, request: web.BaseRequest) -> web.StreamResponse:
        if request.method not in _ALLOWED_METHODS:
            return _closing(
                web.Response(status=405, text="only GET and HEAD are served", headers={"Allow": "GET, HEAD"})
            )
        if (request.content_length or 0) > self.limits.max_body_bytes:
            return _closing(web.Response(status=413, text="request body too large: GET and HEAD need none"))
        reply = self.api.reply(request.path)
        if reply.delay > 0:
            await asyncio.sleep(reply.delay)
        if reply.raw:
            transport = request.transport
            if transport is not None and reply.body:
                transport.write(reply.body)
            request.protocol.force_close()  # sends what was written, then closes; aiohttp writes nothing more
        return web.Response(
            status=reply.status, body=reply.body, content_type=reply.content_type, headers=dict(reply.headers)
        )


def _closing(response: web.Response) -> web.Response:
    """``response``, after which the connection closes (what is left of the request is never read)."""
    response.force_close()
    return response


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
    runner = web.ServerRunner(_LimitedServer(api, limits or ServerLimits()), shutdown_timeout=0.1)
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


def load_fixture(path: Path) -> dict[int, Item | None]:
    """Read a fixture file: a JSON object mapping ids to items (or ``null``)."""
    return {int(item_id): item for item_id, item in json.loads(path.read_text()).items()}


def _moment(text: str) -> int:
    """``now`` or Unix seconds, for ``--newest-at``."""
    if text == "now":
        return int(time.time())
    if not (text.isascii() and text.isdigit()):
        raise argparse.ArgumentTypeError(f"expected 'now' or Unix seconds, got {text!r}")
    return int(text)


def fixture_items(args: argparse.Namespace) -> dict[int, Item | None]:
    """The items the command line asks for: a fixture file, or generated items with the timing given."""
    if args.fixture:
        return load_fixture(args.fixture)
    timing = ItemTiming(seconds_per_item=args.seconds_per_item, newest_at=args.newest_at)
    return generate_items(args.items, seed=args.seed, mix=IRREGULAR_MIX, timing=timing)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="hn-api-server", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port, printed once listening")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--items", type=int, default=25_000, help="generate items 1..ITEMS (default 25000)")
    source.add_argument("--fixture", type=Path, help="serve a JSON fixture {id: item|null} instead")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated items and of the faults")
    parser.add_argument(
        "--seconds-per-item",
        type=float,
        default=ItemTiming.seconds_per_item,
        help=f"mean seconds between generated ids (default {ItemTiming.seconds_per_item:g}, the live site's rate)",
    )
    parser.add_argument(
        "--newest-at",
        type=_moment,
        help="Unix time of the newest generated item, or 'now' so that the latest hours have items "
        f"(default: item 1 at {ItemTiming.first_time})",
    )
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


def main(argv: list[str] | None = None) -> None:
    """Console script ``hn-api-server``: serve until interrupted."""
    args = parse_args(argv)
    items = fixture_items(args)
    faults = Faults(
        error_share=args.error_share,
        timeout_share=args.timeout_share,
        null_share=args.null_share,
        malformed_share=args.malformed_share,
        seed=args.seed,
    )
    api = OfflineHNAPI(items, latency_seconds=args.latency_ms / 1000, faults=faults)
    with asyncio.Runner(loop_factory=new_event_loop) as runner, contextlib.suppress(KeyboardInterrupt):
        runner.run(serve_until_stopped(api, args.host, args.port, args.backlog))


if __name__ == "__main__":
    main()
