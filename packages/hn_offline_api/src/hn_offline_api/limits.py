"""What one client may take from the offline server (``ServerLimits``), and aiohttp's server that enforces it.

aiohttp's web server keeps most limits itself, given the right settings; the connection cap it lacks is added by
``LimitedServer``, so that a flood of connections can neither exhaust the process's file descriptors nor keep
newcomers out for good. ``LimitedServer`` also refuses what the API never needs (methods other than GET and HEAD,
request bodies) before handing the path to ``OfflineHNAPI.reply``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiohttp import web

from hn_offline_api.app import OfflineHNAPI

try:
    import resource
except ImportError:  # Windows has no file descriptor limit to read
    resource = None  # type: ignore[assignment]

#: Connections served at once when the file descriptor limit allows as many.
DEFAULT_MAX_CONNECTIONS = 1024
#: File descriptors left to the rest of the process (fixture, logs, the client in the same process...).
RESERVED_FILE_DESCRIPTORS = 64


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
    - ``max_connections``: aiohttp has no cap, so ``LimitedServer`` adds one: beyond it, a new connection closes the
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


_ALLOWED_METHODS = frozenset({"GET", "HEAD"})
_LIMIT_MESSAGE = b"the server is at its connection limit; retry shortly"
#: The whole answer to a connection beyond the cap when every connection awaits an answer (uvicorn answers 503 too).
AT_CONNECTION_LIMIT = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nRetry-After: 1\r\nConnection: close\r\n"
    b"Content-Length: %d\r\n\r\n%s" % (len(_LIMIT_MESSAGE), _LIMIT_MESSAGE)
)


class LimitedServer(web.Server):
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
