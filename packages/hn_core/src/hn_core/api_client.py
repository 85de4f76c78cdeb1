"""``HNAPIClient``: the HN API over HTTP, concurrent and pooled, called synchronously from assets.

The Dagster guide fetches one item per ``requests.get`` call, one after another: about 45 items/s at 20 ms per
request. Here one ``aiohttp`` session (one connection pool) serves a bounded number of workers that pull ids from a
shared iterator, so throughput approaches ``concurrency / latency`` while memory holds only the results.

At thousands of requests per second the client's own CPU time per request is the limit, so the hot path avoids
what it does not need (BENCHMARKS.md has the profile): uvloop runs the event loop where it is installed; the cookie
jar is a ``DummyCookieJar`` (the HN API sets no cookies); item URLs are built already encoded; and one watchdog per
session enforces ``timeout_seconds`` on every request instead of a loop timer scheduled and cancelled per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, NamedTuple, TypeVar

import aiohttp
from dagster import ConfigurableResource
from pydantic import Field, field_validator
from yarl import URL

from hn_core.client import FetchResult, HNClient, HNFetchError, Item, ProgressCallback

try:
    import uvloop
except ImportError:  # not installed, or not available on this platform (Windows): asyncio's own loop
    uvloop = None

PUBLIC_HN_API_BASE_URL = "https://hacker-news.firebaseio.com"
HN_API_BASE_URL_ENV = "HN_API_BASE_URL"

#: Statuses worth another try: rate limiting and server-side failures.
RETRYABLE_STATUSES = frozenset({408, 425, 429}) | frozenset(range(500, 600))

#: aiohttp's own timeouts are off: ``_RequestTimer`` enforces ``timeout_seconds`` for every request.
NO_AIOHTTP_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=None, sock_read=None, sock_connect=None)

T = TypeVar("T")


class _RetryableError(Exception):
    """A failure that another attempt may fix (connection error, timeout, 429, 5xx)."""


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A new event loop: uvloop's where it is installed (about half the loop's CPU per request), else asyncio's."""
    return uvloop.new_event_loop() if uvloop is not None else asyncio.new_event_loop()


def default_base_url() -> str:
    """``HN_API_BASE_URL`` when set (e.g. the offline server), else the public API."""
    return os.environ.get(HN_API_BASE_URL_ENV) or PUBLIC_HN_API_BASE_URL


class HNAPIClient(ConfigurableResource, HNClient):
    """Hacker News API client: one pooled session per batch, bounded concurrency, retries with backoff."""

    base_url: str = Field(
        default_factory=default_base_url,
        validate_default=True,
        description="Root of the HN API (without /v0). Defaults to HN_API_BASE_URL or the public API.",
    )
    concurrency: int = Field(default=128, ge=1, le=1024, description="Requests in flight at once.")
    timeout_seconds: float = Field(default=10.0, gt=0, description="Limit for one request, end to end.")
    max_retries: int = Field(default=4, ge=0, description="Further attempts after a retryable failure.")
    backoff_seconds: float = Field(
        default=0.25, ge=0, description="First retry delay; doubles each attempt, with jitter."
    )

    @field_validator("base_url")
    @classmethod
    def _must_be_http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(
                f"HN API base URL {value!r} is not an http(s) URL: use e.g. {PUBLIC_HN_API_BASE_URL} "
                "or http://127.0.0.1:8765 for the offline server."
            )
        return value.rstrip("/")

    def item_url(self, item_id: int) -> str:
        return f"{self.base_url}/v0/item/{item_id}.json"

    @property
    def max_item_url(self) -> str:
        return f"{self.base_url}/v0/maxitem.json"

    def fetch_max_item_id(self) -> int:
        max_item_id = _run_sync(lambda: self._with_session(1, self._get_json, self.max_item_url, "max item id"))
        if not isinstance(max_item_id, int) or isinstance(max_item_id, bool) or max_item_id < 0:
            raise HNFetchError(f"{self.max_item_url} returned {max_item_id!r}, not a non-negative integer.")
        return max_item_id

    def fetch_item_by_id(self, item_id: int) -> Item | None:
        return _run_sync(lambda: self._with_session(1, self._get_item, item_id))

    def fetch_items(self, ids: Sequence[int], progress: ProgressCallback | None = None) -> FetchResult:
        return _run_sync(lambda: self._fetch_items(ids, progress))

    async def _fetch_items(self, ids: Sequence[int], progress: ProgressCallback | None) -> FetchResult:
        results: dict[int, Item | None] = {}
        failed: dict[int, str] = {}
        pending: Iterator[int] = iter(ids)
        total = len(ids)

        async def worker(session: _Session) -> None:
            for item_id in pending:
                try:
                    results[item_id] = await self._get_item(session, item_id)
                except HNFetchError as error:
                    failed[item_id] = str(error)
                if progress is not None:
                    progress(len(results) + len(failed), total)

        async def run_workers(session: _Session) -> None:
            await asyncio.gather(*(worker(session) for _ in range(min(self.concurrency, total))))

        await self._with_session(self.concurrency, run_workers)
        rows = [row for item_id in ids if (row := results.get(item_id)) is not None]
        missing = [item_id for item_id in ids if item_id in results and results[item_id] is None]
        return FetchResult(rows=rows, missing_ids=missing, failed={i: failed[i] for i in ids if i in failed})

    async def _with_session(self, pool_size: int, use: Callable[..., Awaitable[T]], *args: Any) -> T:
        connector = aiohttp.TCPConnector(limit=pool_size, ttl_dns_cache=300)
        async with aiohttp.ClientSession(
            connector=connector, timeout=NO_AIOHTTP_TIMEOUT, cookie_jar=aiohttp.DummyCookieJar()
        ) as http:
            timer = _RequestTimer(self.timeout_seconds)
            try:
                return await use(_Session(http, timer, str(URL(self.base_url))), *args)
            finally:
                await timer.close()

    async def _get_item(self, session: _Session, item_id: int) -> Item | None:
        url = URL(f"{session.encoded_base_url}/v0/item/{item_id}.json", encoded=True)
        item = await self._get_json(session, url, f"item {item_id}")
        if item is not None and not isinstance(item, dict):
            raise HNFetchError(f"Item {item_id}: expected a JSON object or null, got {type(item).__name__}.")
        return item

    async def _get_json(self, session: _Session, url: str | URL, what: str) -> Any:
        """GET ``url`` and parse JSON, retrying what may pass; raise ``HNFetchError`` naming ``what``."""
        for attempt in range(self.max_retries + 1):
            try:
                return await self._get_json_once(session, url, what)
            except _RetryableError as error:
                if attempt == self.max_retries:
                    raise HNFetchError(
                        f"Could not fetch {what} from {url} after {attempt + 1} attempts: {error}"
                    ) from error
                delay = self.backoff_seconds * 2**attempt
                await asyncio.sleep(delay * random.uniform(0.5, 1.5))
        raise AssertionError("unreachable")

    async def _get_json_once(self, session: _Session, url: str | URL, what: str) -> Any:
        timer = session.timer
        task = timer.start()
        try:
            async with session.http.get(url) as response:
                body = await response.read()
                status = response.status
        except asyncio.CancelledError:
            if timer.expired(task):
                raise _RetryableError(f"TimeoutError: no complete answer within {self.timeout_seconds:g} s") from None
            raise
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, TimeoutError) as error:
            raise _RetryableError(f"{type(error).__name__}: {error}".rstrip(": ")) from error
        finally:
            timer.stop(task)
        if status in RETRYABLE_STATUSES:
            raise _RetryableError(f"HTTP {status}")
        if status != 200:
            raise HNFetchError(f"Could not fetch {what} from {url}: HTTP {status}, which a retry will not fix.")
        try:
            return json.loads(body)
        except ValueError as error:
            raise HNFetchError(f"Malformed JSON for {what} from {url}: {error}. First bytes: {body[:80]!r}") from error


class _RequestTimer:
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


class _Session(NamedTuple):
    """What one batch shares: the pooled HTTP session, the request timer and the base URL, percent-encoded."""

    http: aiohttp.ClientSession
    timer: _RequestTimer
    encoded_base_url: str


def _run_sync(make_coroutine: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion from synchronous code, even where an event loop is already running.

    Assets are synchronous functions, but they may be called from a thread that runs a loop (a notebook, an async
    test): then the coroutine runs on a fresh loop in a helper thread instead of failing.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _run_on_new_loop(make_coroutine)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"hn-fetch-{threading.get_ident()}") as pool:
        return pool.submit(_run_on_new_loop, make_coroutine).result()


def _run_on_new_loop(make_coroutine: Callable[[], Awaitable[T]]) -> T:
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(_as_coroutine(make_coroutine)).value


class _Outcome(Generic[T]):
    """A coroutine's result behind a constant ``repr``.

    In the main thread ``asyncio.Runner`` installs and removes a SIGINT handler that holds the main task, and
    ``signal.getsignal`` formats that handler, task and result included, with ``repr``: for a ``FetchResult`` of
    20,000 rows that alone took about 0.2 s per call.
    """

    __slots__ = ("value",)

    def __init__(self, value: T) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"<{type(self.value).__name__}>"


async def _as_coroutine(make_coroutine: Callable[[], Awaitable[T]]) -> _Outcome[T]:
    return _Outcome(await make_coroutine())
