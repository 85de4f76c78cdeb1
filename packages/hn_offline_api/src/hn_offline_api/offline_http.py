"""The HTTP/1.1 server under the offline HN API: a small asyncio protocol, fast, and safe from one bad client.

Why our own: the stand-in must never limit a measurement, and this protocol needs a third to a quarter of the CPU
time per request of aiohttp's web server (BENCHMARKS.md): complete responses rendered once, latency by
``loop.call_later`` (no task per request), keep-alive and pipelining, a large listen backlog.

Requests are read the way h11 (uvicorn's pure-Python parser) and RFC 9112 say:

- the head ends at the first empty line; a bare LF ends a line as well as CRLF does (RFC 9112 section 2.2 allows it),
  empty lines before a request are skipped, a bare CR, an obsolete line folding or a space before a colon is a 400;
- an HTTP/1.1 request needs exactly one ``Host`` (400 otherwise, section 3.2); only HTTP/1.x is served (505);
- ``Content-Length`` as h11 reads it: a list of equal values is one value, different values are a 400 (section 6.3),
  more than 20 digits is a 400; a ``Transfer-Encoding`` gets 411 (GET and HEAD need no body);
- only GET and HEAD (405 with ``Allow``); the target is a path, or an absolute URL whose path is used.

What one client may take is bounded by ``ServerLimits``, modelled on what real servers do:

- a request head, with any body, must arrive within ``head_timeout`` of its first byte, and a new connection must
  send one within ``head_timeout`` (408; nginx's ``client_header_timeout``); an idle keep-alive connection closes
  after ``keep_alive_timeout`` (nginx and aiohttp's ``run_app`` use 75 s);
- a head is at most 16 KiB (431); a body is discarded as it streams, never buffered, and one announced larger than
  ``max_body_bytes`` gets 413 at once (nginx's ``client_max_body_size``);
- at most ``max_connections``: a connection beyond it closes the one without an answer due that has been quiet or
  stalled the longest (nginx closes idle keep-alive connections when ``worker_connections`` run out); when every
  connection awaits an answer, it gets 503 with ``Retry-After`` (uvicorn's ``--limit-concurrency``);
- at most ``max_pipelined`` answers due per connection, and no reading while the socket's send buffer is full (aiohttp's
  web protocol stops at 32 queued requests; uvicorn's flow control);
- a connection closes gracefully: after the last answer the server shuts down its side, then discards what still
  arrives for up to ``linger_seconds``, so the client reads the answer rather than a reset (nginx's
  ``lingering_close``, Go's ``closeWriteAndWait``); a client that leaves answers unread for ``keep_alive_timeout``
  is cut off (nginx's ``send_timeout``); a client that closes its side is gone, and the answers it was still due
  are dropped (as aiohttp's and uvicorn's servers do).
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import NamedTuple, Protocol, cast

try:
    import resource
except ImportError:  # Windows has no file descriptor limit to read
    resource = None  # type: ignore[assignment]

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"

#: Largest request head (request line and header fields) the server reads.
MAX_REQUEST_HEAD = 16 * 1024
#: h11's bound: no real body needs a longer ``Content-Length``, and a longer one cannot be a number worth parsing.
CONTENT_LENGTH_MAX_DIGITS = 20
#: Connections served at once when the file descriptor limit allows as many.
DEFAULT_MAX_CONNECTIONS = 1024
#: File descriptors left to the rest of the process (fixture, logs, the client in the same process...).
RESERVED_FILE_DESCRIPTORS = 64

_TOKEN = rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_HEAD_END = re.compile(rb"\n\r?\n")
_REQUEST_LINE = re.compile(rb"(" + _TOKEN + rb") ([^\x00-\x20\x7f]+) HTTP/(\d)\.(\d)\r?")
#: Every field line of a head, each after its line feed: a name, a colon, a value of visible characters and blanks.
_FIELD_LINES = re.compile(rb"(?:\n" + _TOKEN + rb":[\t\x20-\x7e\x80-\xff]*\r?)*")


def _field_values(name: bytes) -> re.Pattern[bytes]:
    """The values of field ``name`` in a lower-cased head, without the blanks around them."""
    return re.compile(rb"\n" + name + rb":[ \t]*([^\r\n]*?)[ \t]*\r?$", re.M)


_CONNECTION_VALUES = _field_values(b"connection")
_CONTENT_LENGTH_VALUES = _field_values(b"content-length")


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


class HTTPApp(Protocol):
    """What the server serves: a reply per path, and the 200 answers it can send pre-rendered."""

    def reply(self, path: str) -> Reply: ...

    def rendered_ok(self) -> Mapping[bytes, bytes]: ...


@dataclass(frozen=True)
class ServerLimits:
    """What one client may take from the server; each default is far beyond what a well-behaved client needs.

    ``max_connections`` ``None`` means 1,024, or fewer when the process may open fewer files
    (``default_max_connections``).
    """

    head_timeout: float = 10.0
    keep_alive_timeout: float = 75.0
    max_body_bytes: int = 64 * 1024
    max_connections: int | None = None
    max_pipelined: int = 32
    linger_seconds: float = 2.0

    def __post_init__(self) -> None:
        for name in ("head_timeout", "keep_alive_timeout", "linger_seconds"):
            if not getattr(self, name) > 0:
                raise ValueError(f"ServerLimits.{name} is {getattr(self, name)!r}; give a number of seconds above 0.")
        for name in ("max_body_bytes", "max_connections", "max_pipelined"):
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


class _ServerState:
    """What every connection of one server shares: the app, the limits and the open connections."""

    __slots__ = ("app", "check_every", "connections", "limits", "max_connections", "rendered")

    def __init__(self, app: HTTPApp, limits: ServerLimits) -> None:
        self.app, self.limits = app, limits
        self.check_every = min(limits.head_timeout, limits.keep_alive_timeout)
        self.max_connections = limits.max_connections or default_max_connections()
        self.rendered = app.rendered_ok()
        self.connections: set[_HTTPConnection] = set()

    def make_room(self) -> bool:
        """Close the connection quiet or stalled the longest among those with no answer due; ``False`` if none."""
        candidates = [connection for connection in self.connections if not connection.answers_due]
        if not candidates:
            return False
        min(candidates, key=_HTTPConnection.stalled_since).evict()
        return True


class _HTTPConnection(asyncio.Protocol):
    """One client connection: parses requests, answers after the reply's delay, keeps the connection alive."""

    def __init__(self, state: _ServerState) -> None:
        self._state, self._limits, self._app = state, state.limits, state.app
        self._rendered = state.rendered
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._buffer = b""
        self._searched = 0  # how much of the buffered partial head is known to hold no empty line
        self._body_left = 0  # bytes of a request body still to discard
        self._queue: deque[_Pending] = deque()
        self._closing = False  # no more requests are read: the connection closes after the answers due
        self._lingering = False  # the last answer is out and our side shut down: waiting for the client to close
        self._write_paused = self._reading_paused = False
        self._write_paused_since = 0.0
        self._head_started: float | None = None  # when the request being received began (None: none is)
        self._quiet_since = 0.0  # when the client last sent something or the last answer went out
        self._timer: asyncio.TimerHandle | None = None

    @property
    def answers_due(self) -> bool:
        return bool(self._queue)

    def stalled_since(self) -> float:
        """Since when this connection has made no progress: the start of its unfinished request, or its last news."""
        return self._head_started if self._head_started is not None else self._quiet_since

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        now = self._loop.time()
        self._head_started = self._quiet_since = now
        state = self._state
        room = len(state.connections) < state.max_connections or state.make_room()
        state.connections.add(self)
        if not room:
            self._fail(503, b"the server is at its connection limit; retry shortly", (("Retry-After", "1"),))
            return
        self._timer = self._loop.call_at(now + state.check_every, self._check_timeouts)

    def connection_lost(self, exc: Exception | None) -> None:
        for pending in self._queue:
            if pending.timer is not None:
                pending.timer.cancel()
        self._queue.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._transport = None
        self._state.connections.discard(self)

    def close(self) -> None:
        """Close the connection now, dropping answers not yet due or not yet sent (the server is stopping)."""
        if self._transport is not None:
            self._transport.abort()

    def evict(self) -> None:
        """Close to make room for a new connection; a request half received is told why (408)."""
        self._state.connections.discard(self)
        transport = self._transport
        if transport is None:
            return
        if self._head_started is not None and not self._body_left and not self._closing:
            message = b"request not received in time; the connection was closed to make room for another"
            transport.write(render_response(408, message, TEXT_CONTENT_TYPE, close=True))
        transport.close()

    def pause_writing(self) -> None:
        self._write_paused, self._write_paused_since = True, self._loop.time()
        self._pause_reading()

    def resume_writing(self) -> None:
        self._write_paused = False
        self._resume_reading()

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return  # an answer that ends the connection is due: the rest is discarded unread
        now = self._loop.time()
        self._quiet_since = now
        if self._head_started is None:
            self._head_started = now
        if self._body_left:
            if len(data) <= self._body_left:
                self._body_left -= len(data)
                if not self._body_left:
                    self._head_started = None
                return
            data = data[self._body_left :]
            self._body_left = 0
        self._buffer = self._buffer + data if self._buffer else data
        self._process()

    def _process(self) -> None:
        """Answer every complete request in the buffer, in order, until the buffer ends or reading must pause."""
        buffer, size, pos = self._buffer, len(self._buffer), 0
        queue, max_pipelined = self._queue, self._limits.max_pipelined
        searched, answered = self._searched, False
        self._searched = 0
        while pos < size and not self._closing:
            if len(queue) >= max_pipelined or self._write_paused:
                self._pause_reading()
                break
            first = buffer[pos]
            if first == 10 or (first == 13 and buffer[pos + 1 : pos + 2] == b"\n"):
                pos += 1 if first == 10 else 2  # empty lines before a request are ignored
                continue
            match = _HEAD_END.search(buffer, max(pos, searched))
            if match is None or match.start() - pos > MAX_REQUEST_HEAD:
                if size - pos > MAX_REQUEST_HEAD:
                    self._fail(431, b"request head too large: at most 16 KiB")
                else:
                    self._searched = max(0, size - pos - 2)
                break
            request = self._parse(buffer[pos : match.start()])
            pos, answered = match.end(), True
            if request is None:
                break
            method, target, keep_alive, body_length = request
            self._answer(method, target, keep_alive)
            if body_length > size - pos:
                self._body_left = body_length - (size - pos)
                pos = size
            else:
                pos += body_length
        if self._closing:
            self._buffer = b""
            return
        self._buffer = buffer[pos:] if pos < size else b""
        if not self._buffer and not self._body_left:
            self._head_started = None
        elif answered:
            self._head_started = self._loop.time()

    def _parse(self, head: bytes) -> tuple[bytes, bytes, bool, int] | None:
        """Method, target, keep-alive and body length of a request head; ``None`` after answering a bad one."""
        line_end = head.find(b"\n")
        request_line = _REQUEST_LINE.fullmatch(head if line_end < 0 else head[:line_end])
        if request_line is None:
            self._fail(400, b"malformed request line: send METHOD /path HTTP/1.1")
            return None
        method, target, major, minor = request_line.groups()
        if major != b"1":
            self._fail(505, b"only HTTP/1.1 and HTTP/1.0 are served")
            return None
        http11 = minor != b"0"
        keep_alive, hosts, body_length = http11, 0, 0
        if line_end >= 0:
            if _FIELD_LINES.fullmatch(head, line_end) is None:
                self._fail(400, b"malformed header field line: send Name: value, one per line")
                return None
            fields = head.lower()  # names are case-insensitive; the values read here are too
            hosts = fields.count(b"\nhost:")
            if b"\nconnection:" in fields:
                tokens = b",".join(_CONNECTION_VALUES.findall(fields, line_end))
                keep_alive = b"close" not in tokens if http11 else b"keep-alive" in tokens
            if b"\ntransfer-encoding:" in fields:
                self._fail(411, b"chunked requests are not supported: send a Content-Length")
                return None
            if b"\ncontent-length:" in fields:
                body_length = self._content_length(_CONTENT_LENGTH_VALUES.findall(fields, line_end))
                if body_length is None:
                    return None
        if http11 and hosts != 1:
            self._fail(400, b"an HTTP/1.1 request needs exactly one Host header")
            return None
        return method, target, keep_alive, body_length

    def _content_length(self, values: list[bytes]) -> int | None:
        """The body length the ``Content-Length`` values give, as h11 reads them; ``None`` after refusing them."""
        lengths = {length.strip() for value in values for length in value.split(b",")}
        if len(lengths) > 1:
            self._fail(400, b"conflicting Content-Length values")
            return None
        (length,) = lengths
        if not length.isdigit() or len(length) > CONTENT_LENGTH_MAX_DIGITS:
            self._fail(400, b"bad Content-Length: send a whole number of bytes")
            return None
        if int(length) > self._limits.max_body_bytes:
            self._fail(413, b"request body too large: GET and HEAD need none")
            return None
        return int(length)

    def _answer(self, method: bytes, target: bytes, keep_alive: bool) -> None:
        if method != b"GET" and method != b"HEAD":
            self._fail(405, b"only GET and HEAD are served", (("Allow", "GET, HEAD"),))
            return
        if target[:1] != b"/":
            if not target.startswith((b"http://", b"https://")):
                self._fail(400, b"the request target must be a path such as /v0/maxitem.json")
                return
            path_start = target.find(b"/", target.index(b"//") + 2)
            target = target[path_start:] if path_start >= 0 else b"/"
        reply = self._app.reply(target.split(b"?", 1)[0].decode("latin-1"))
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
        if not queue:
            self._quiet_since = self._loop.time()
        self._resume_reading()

    def _send(self, data: bytes, close: bool) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        if data:
            transport.write(data)
        if close:
            self._close_gracefully(transport)

    def _fail(self, status: int, message: bytes, headers: tuple[tuple[str, str], ...] = ()) -> None:
        """Answer a request that cannot be served, after the answers still due, then close."""
        self._closing = True
        self._buffer, self._body_left, self._head_started = b"", 0, None
        data = render_response(status, message, TEXT_CONTENT_TYPE, close=True, headers=headers)
        if self._queue:
            self._queue.append(_Pending(data, close=True))
        else:
            self._send(data, close=True)

    def _close_gracefully(self, transport: asyncio.Transport) -> None:
        """Shut down our side once the answers are out, and close when the client does or ``linger_seconds`` pass."""
        self._closing = self._lingering = True
        self._head_started, self._quiet_since = None, float("-inf")
        if not transport.can_write_eof():
            transport.close()
            return
        transport.write_eof()
        if self._reading_paused:
            self._reading_paused = False
            transport.resume_reading()
        if self._timer is not None:
            self._timer.cancel()
        give_up_at = self._loop.time() + self._limits.keep_alive_timeout
        self._timer = self._loop.call_later(self._limits.linger_seconds, self._end_linger, give_up_at)

    def _end_linger(self, give_up_at: float) -> None:
        """Close after lingering; wait longer while the client still reads our last answer, up to ``give_up_at``."""
        self._timer = None
        transport = self._transport
        if transport is None:
            return
        if not transport.get_write_buffer_size():
            transport.close()
        elif self._loop.time() < give_up_at:
            self._timer = self._loop.call_later(self._limits.linger_seconds, self._end_linger, give_up_at)
        else:
            transport.abort()

    def _pause_reading(self) -> None:
        if not self._reading_paused and self._transport is not None and not self._lingering:
            self._reading_paused = True
            self._transport.pause_reading()

    def _resume_reading(self) -> None:
        """Read again once the send buffer drained and at most half of ``max_pipelined`` answers are due."""
        if not self._reading_paused or self._write_paused or self._transport is None:
            return
        if len(self._queue) > self._limits.max_pipelined // 2:
            return
        self._reading_paused = False
        self._transport.resume_reading()
        if self._buffer:
            self._process()

    def _check_timeouts(self) -> None:
        """Enforce the timeouts; runs at least every ``check_every`` seconds, so no deadline is missed.

        One timer per connection, moved lazily (as aiohttp's keep-alive handle is): a request costs no timer.
        """
        self._timer = None
        transport, limits = self._transport, self._limits
        if transport is None or self._closing:
            return
        now = self._loop.time()
        if self._write_paused and now - self._write_paused_since >= limits.keep_alive_timeout:
            transport.abort()  # the client leaves our answers unread: like nginx's send_timeout
            return
        if self._reading_paused or (self._queue and self._head_started is None):
            deadline = now + limits.keep_alive_timeout  # the wait is ours, not the client's
        elif self._head_started is not None:
            deadline = self._head_started + limits.head_timeout
            if now >= deadline:
                if self._body_left:
                    transport.close()  # its request was answered; the body never came
                else:
                    self._fail(408, b"request head not received in time")
                return
        else:
            deadline = self._quiet_since + limits.keep_alive_timeout
            if now >= deadline:
                transport.close()
                return
        self._timer = self._loop.call_at(min(deadline, now + self._state.check_every), self._check_timeouts)


@dataclass
class OfflineServer:
    """The server of ``start_server``, listening on ``host``:``port``, and its open connections."""

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


async def start_server(
    app: HTTPApp, host: str, port: int, backlog: int = 4096, limits: ServerLimits | None = None
) -> OfflineServer:
    """Serve ``app`` on the running loop; port 0 picks a free port (see ``.port``)."""
    state = _ServerState(app, limits or ServerLimits())
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _HTTPConnection(state), host, port, backlog=backlog, reuse_address=True)
    bound_host, bound_port = server.sockets[0].getsockname()[:2]
    return OfflineServer(server, state.connections, bound_host, bound_port)
