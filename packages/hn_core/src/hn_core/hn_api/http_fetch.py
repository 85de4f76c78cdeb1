"""One JSON GET against the HN API, with every way it can go wrong turned into that request's own outcome.

A batch fetches thousands of ids over one pooled session, so nothing one answer does may reach the others: every
transport, protocol and parsing error becomes either a ``RetryableError`` (another attempt may pass: a dropped
connection, a timeout, 429, 5xx) or an ``HNFetchError`` naming the request (a redirect loop, a malformed status
line, an answer over the size cap, broken JSON). Retries back off exponentially, or wait what ``Retry-After``
asks when that is within ``max_retry_after_seconds``.

A dead API must fail fast rather than burn every id's retries: ``DownDetector`` declares the API down once no
request has had an answer for ``down_after_seconds`` while attempts keep failing, and from then on nothing is
retried. At thousands of requests per second the client's own CPU time is the limit, so the hot path stays lean
(BENCHMARKS.md): one watchdog per session times every request (``RequestTimer``) instead of a loop timer each.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

import aiohttp
from aiohttp.http_exceptions import HttpProcessingError
from yarl import URL

from hn_core.hn_api.client import HNFetchError

#: Statuses worth another try: timeouts, rate limiting and passing server-side failures (not 501 Not Implemented,
#: 505 HTTP Version Not Supported and the like, which a retry cannot change).
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
#: Retryable statuses that still prove the server is up and answering (it asks us to slow down).
ALIVE_STATUSES = frozenset({408, 425, 429})

#: aiohttp's own timeouts are off: ``RequestTimer`` enforces ``timeout_seconds`` for every request.
NO_AIOHTTP_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=None, sock_read=None, sock_connect=None)
#: Redirects followed before an answer counts as a redirect loop (the HN API itself never redirects).
MAX_REDIRECTS = 3


@dataclass(frozen=True)
class FetchPolicy:
    """How long to wait, how often to retry, how much to accept, and when to declare the API down."""

    timeout_seconds: float
    max_retries: int
    backoff_seconds: float
    max_response_bytes: int
    max_retry_after_seconds: float


class RetryableError(Exception):
    """A failure that another attempt may fix; ``retry_after`` is the server's requested delay, if any."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class APIDownError(HNFetchError):
    """The API has not answered for long enough that no further attempt is worth making."""


class DownDetector:
    """Declares the API down when no request has had an answer for ``down_after`` seconds while attempts fail.

    An answer is any complete HTTP response other than a server error: a 404 or a 429 proves the server is up. A
    batch whose requests all hang or are refused thus stops after about ``down_after`` seconds, whatever its size.
    """

    def __init__(self, down_after: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._down_after = down_after
        self._last_answer = self._loop.time()
        self.reason: str | None = None
        self.tripped = asyncio.Event()

    def answered(self) -> None:
        self._last_answer = self._loop.time()

    def failed(self, error: str) -> None:
        silent = self._loop.time() - self._last_answer
        if self.reason is None and silent >= self._down_after:
            self.reason = f"the HN API looks down: no answer for {silent:.0f} s (last error: {error})"
            self.tripped.set()


class RequestTimer:
    """The end-to-end limit of every request of one session, with one watchdog instead of a timer per request.

    aiohttp's own timeout schedules and cancels a loop timer for every request. Here a request records its
    deadline in a dict, and a watchdog that wakes every ``tick`` cancels the requests past theirs, the way aiohttp
    does it, so a request times out between ``timeout`` and ``timeout + tick`` seconds after it started.
    """

    def __init__(self, timeout: float) -> None:
        self._timeout = timeout
        self._tick = min(max(timeout / 10, 0.01), 0.25)
        self._loop = asyncio.get_running_loop()
        self._deadlines: dict[asyncio.Task[Any], float] = {}
        self._expired: set[asyncio.Task[Any]] = set()
        self._watchdog = self._loop.create_task(self._watch())

    def start(self) -> asyncio.Task[Any]:
        """Start timing the current task's request; pass the task returned to ``stop`` and ``expired``."""
        task = asyncio.current_task(self._loop)
        assert task is not None, "requests run in a task"
        self._deadlines[task] = self._loop.time() + self._timeout
        return task

    def stop(self, task: asyncio.Task[Any]) -> None:
        """Stop timing ``task``'s request; withdraw a cancellation of ours that the request ended without."""
        self._deadlines.pop(task, None)
        if task in self._expired:
            self._expired.discard(task)
            task.uncancel()

    def expired(self, task: asyncio.Task[Any]) -> bool:
        """Whether the cancellation ``task`` is handling is this timer's; if so, it is withdrawn."""
        if task not in self._expired:
            return False
        self._expired.discard(task)
        return task.uncancel() == 0

    async def close(self) -> None:
        self._watchdog.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._watchdog

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self._tick)
            now = self._loop.time()
            for task, deadline in list(self._deadlines.items()):
                if deadline <= now and task not in self._expired:
                    self._expired.add(task)
                    task.cancel()


class Session(NamedTuple):
    """What one batch shares: the pooled HTTP session, the timer, the down detector, the policy, the base URL."""

    http: aiohttp.ClientSession
    timer: RequestTimer
    down: DownDetector
    policy: FetchPolicy
    encoded_base_url: str


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait (RFC 9110 10.2.3: seconds or an HTTP date); None if unusable."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max((moment - (now or datetime.now(UTC))).total_seconds(), 0.0)


async def get_json(session: Session, url: str | URL, what: str) -> Any:
    """GET ``url`` and parse JSON, retrying what may pass; raise ``HNFetchError`` naming ``what``."""
    return parse_json(await get_body(session, url, what), what, url)


def parse_json(body: bytes, what: str, url: str | URL) -> Any:
    """``body`` as JSON, or ``HNFetchError`` naming ``what`` and the first bytes."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as error:  # RecursionError: nesting deeper than the parser's stack
        raise HNFetchError(f"Malformed JSON for {what} from {url}: {error}. First bytes: {body[:80]!r}") from error


async def get_body(session: Session, url: str | URL, what: str) -> bytes:
    """GET ``url``'s 200 answer, retrying what may pass; raise ``HNFetchError`` naming ``what``."""
    policy, down = session.policy, session.down
    for attempt in range(policy.max_retries + 1):
        if down.reason is not None:
            raise APIDownError(f"Did not fetch {what}: {down.reason}")
        try:
            return await _get_body_once(session, url, what)
        except RetryableError as error:
            down.failed(str(error))
            if down.reason is not None:
                raise APIDownError(f"Could not fetch {what} from {url}: {down.reason}") from error
            if attempt == policy.max_retries:
                raise HNFetchError(
                    f"Could not fetch {what} from {url} after {attempt + 1} attempts: {error}"
                ) from error
            await asyncio.sleep(_delay(policy, attempt, error, what))
    raise AssertionError("unreachable")


def _delay(policy: FetchPolicy, attempt: int, error: RetryableError, what: str) -> float:
    """The server's ``Retry-After`` when it gave one within the limit, else exponential backoff with jitter."""
    if error.retry_after is None:
        return policy.backoff_seconds * 2**attempt * random.uniform(0.5, 1.5)
    if error.retry_after > policy.max_retry_after_seconds:
        raise HNFetchError(
            f"Could not fetch {what}: {error} asks to retry after {error.retry_after:g} s, beyond the "
            f"{policy.max_retry_after_seconds:g} s this client waits (max_retry_after_seconds)."
        )
    return error.retry_after


async def _get_body_once(session: Session, url: str | URL, what: str) -> bytes:
    timer = session.timer
    task = timer.start()
    try:
        async with session.http.get(url, max_redirects=MAX_REDIRECTS) as response:
            status = response.status
            if status in RETRYABLE_STATUSES:
                if status in ALIVE_STATUSES:
                    session.down.answered()
                raise RetryableError(f"HTTP {status}", parse_retry_after(response.headers.get("Retry-After")))
            session.down.answered()
            if status != 200:
                raise HNFetchError(f"Could not fetch {what} from {url}: HTTP {status}, which a retry will not fix.")
            cap, length = session.policy.max_response_bytes, response.content_length
            if length is not None and length <= cap and "Content-Encoding" not in response.headers:
                body = await response.read()  # the common answer: sized, plain and small enough
            else:
                body = await _read_capped(response, cap, what, url)
    except asyncio.CancelledError:
        if timer.expired(task):
            raise RetryableError(
                f"TimeoutError: no complete answer within {session.policy.timeout_seconds:g} s"
            ) from None
        raise
    except aiohttp.TooManyRedirects as error:
        raise HNFetchError(f"Could not fetch {what} from {url}: more than {MAX_REDIRECTS} redirects.") from error
    except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, TimeoutError) as error:
        raise RetryableError(f"{type(error).__name__}: {error}".rstrip(": ")) from error
    except (aiohttp.ClientError, HttpProcessingError) as error:
        raise HNFetchError(
            f"Could not fetch {what} from {url}: invalid HTTP answer ({type(error).__name__}: {error})"
        ) from error
    finally:
        timer.stop(task)
    return body


async def _read_capped(response: aiohttp.ClientResponse, cap: int, what: str, url: str | URL) -> bytes:
    """The body, refused as soon as it is known to exceed ``cap`` bytes: never more than ``cap`` held in memory.

    ``Content-Length`` refuses an answer before reading it; it bounds what is read only when the body is not
    compressed (aiohttp decompresses as it reads, so a small compressed answer can unpack to gigabytes): a compressed
    or unsized body is counted as it streams, decompressed.
    """
    if response.content_length is not None and response.content_length > cap:
        raise HNFetchError(f"{_too_large(what, url, cap)} (Content-Length {response.content_length:,}).")
    body = bytearray()
    async for chunk in response.content.iter_any():
        body += chunk
        if len(body) > cap:
            raise HNFetchError(f"{_too_large(what, url, cap)}.")
    return bytes(body)


def _too_large(what: str, url: str | URL, cap: int) -> str:
    return f"Could not fetch {what} from {url}: the answer is larger than the {cap:,} bytes allowed"
