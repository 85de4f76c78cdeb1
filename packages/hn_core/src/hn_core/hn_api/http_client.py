"""``HNAPIClient``: the HN API over HTTP, concurrent and pooled, called synchronously from assets.

The Dagster guide fetches one item per ``requests.get`` call, one after another: about 45 items/s at 20 ms per
request. Here one ``aiohttp`` session (one connection pool) serves a bounded number of workers that pull ids from a
shared iterator, so throughput approaches ``concurrency / latency`` while memory holds only the results.

Every answer is checked at the boundary, per id (``hn_core.hn_api.client.item_from_json``), and every failure
stays that id's own: ``hn_core.hn_api.http_fetch`` turns each transport, protocol and parsing error into a reason, and
stops the batch early when the API is down, so a 1,000-id fetch against a dead API fails in seconds, naming every id not
fetched. The hot path avoids what it does not need (BENCHMARKS.md has the costs): uvloop runs the event loop
where it is installed, the cookie jar is a ``DummyCookieJar`` (the HN API sets no cookies), item URLs are built
already encoded, and one watchdog per session times every request.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

import aiohttp
from dagster import ConfigurableResource
from pydantic import Field, field_validator
from yarl import URL

from hn_core.hn_api.client import BatchCollector, FetchResult, HNClient, HNFetchError, ProgressCallback, item_from_json
from hn_core.hn_api.http_fetch import (
    NO_AIOHTTP_TIMEOUT,
    DownDetector,
    FetchPolicy,
    RequestTimer,
    Session,
    get_body,
    get_json,
    parse_json,
)
from hn_core.hn_api.model import INT64_MAX, HNItem

try:
    import uvloop
except ImportError:  # not installed, or not available on this platform (Windows): asyncio's own loop
    uvloop = None

PUBLIC_HN_API_BASE_URL = "https://hacker-news.firebaseio.com"
HN_API_BASE_URL_ENV = "HN_API_BASE_URL"

T = TypeVar("T")


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A new event loop: uvloop's where it is installed (about half the loop's CPU per request), else asyncio's."""
    return uvloop.new_event_loop() if uvloop is not None else asyncio.new_event_loop()


def default_base_url(env: Mapping[str, str] | None = None) -> str:
    """``HN_API_BASE_URL`` of ``env`` (default: ``os.environ``) when set (e.g. the offline server), else the public
    API."""
    return (os.environ if env is None else env).get(HN_API_BASE_URL_ENV) or PUBLIC_HN_API_BASE_URL


class HNAPIClient(ConfigurableResource, HNClient):
    """Hacker News API client: one pooled session per batch, bounded concurrency, retries, answers validated."""

    base_url: str = Field(
        default_factory=default_base_url,
        validate_default=True,
        description="Root of the HN API (without /v0). Defaults to HN_API_BASE_URL or the public API.",
    )
    concurrency: int = Field(default=128, ge=1, le=1024, description="Requests in flight at once.")
    timeout_seconds: float = Field(default=5.0, gt=0, description="Limit for one request, end to end.")
    max_retries: int = Field(default=4, ge=0, description="Further attempts after a retryable failure.")
    backoff_seconds: float = Field(
        default=0.25, ge=0, description="First retry delay; doubles each attempt, with jitter."
    )
    max_response_bytes: int = Field(
        default=1_048_576, ge=1024, description="Largest answer accepted for one id; a larger one fails that id."
    )
    max_retry_after_seconds: float = Field(
        default=30.0, ge=0, description="Longest Retry-After honoured; a server asking for more fails that id."
    )
    down_after_seconds: float = Field(
        default=10.0,
        gt=0,
        description="With no answer from the API for this long while requests fail, stop: every id left fails.",
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

    @property
    def policy(self) -> FetchPolicy:
        return FetchPolicy(
            timeout_seconds=self.timeout_seconds,
            max_retries=self.max_retries,
            backoff_seconds=self.backoff_seconds,
            max_response_bytes=self.max_response_bytes,
            max_retry_after_seconds=self.max_retry_after_seconds,
        )

    @property
    def max_item_url(self) -> str:
        return f"{self.base_url}/v0/maxitem.json"

    def fetch_max_item_id(self) -> int:
        max_item_id = _run_sync(lambda: self._with_session(1, get_json, self.max_item_url, "max item id"))
        if not isinstance(max_item_id, int) or isinstance(max_item_id, bool) or not 0 <= max_item_id <= INT64_MAX:
            raise HNFetchError(f"{self.max_item_url} returned {max_item_id!r:.80}, not a non-negative 64-bit integer.")
        return max_item_id

    def fetch_item_by_id(self, item_id: int) -> HNItem | None:
        return _run_sync(lambda: self._with_session(1, _get_item, item_id))

    def fetch_items(self, ids: Sequence[int], progress: ProgressCallback | None = None) -> FetchResult:
        return _run_sync(lambda: self._fetch_items(ids, progress))

    async def _fetch_items(self, ids: Sequence[int], progress: ProgressCallback | None) -> FetchResult:
        batch = BatchCollector()
        pending: Iterator[int] = iter(ids)
        total = len(ids)

        async def worker(session: Session) -> None:
            for item_id in pending:
                try:
                    batch.add(item_id, await _get_item(session, item_id))
                except HNFetchError as error:
                    batch.fail(item_id, error)
                if progress is not None:
                    progress(batch.done, total)

        async def run_workers(session: Session) -> None:
            workers = asyncio.gather(*(worker(session) for _ in range(min(self.concurrency, total))))
            down = asyncio.ensure_future(session.down.tripped.wait())
            await asyncio.wait([workers, down], return_when=asyncio.FIRST_COMPLETED)
            down.cancel()
            if session.down.reason is not None:  # stop every request in flight: none of them will be answered
                workers.cancel()
                await asyncio.gather(workers, return_exceptions=True)
                for item_id in ids:
                    if item_id not in batch.items and item_id not in batch.failed:
                        batch.fail(item_id, HNFetchError(f"Did not fetch item {item_id}: {session.down.reason}"))
            else:
                await workers

        await self._with_session(self.concurrency, run_workers)
        return batch.result(ids)

    async def _with_session(self, pool_size: int, use: Callable[..., Awaitable[T]], *args: Any) -> T:
        connector = aiohttp.TCPConnector(limit=pool_size, ttl_dns_cache=300)
        async with aiohttp.ClientSession(
            connector=connector, timeout=NO_AIOHTTP_TIMEOUT, cookie_jar=aiohttp.DummyCookieJar()
        ) as http:
            timer = RequestTimer(self.timeout_seconds)
            session = Session(http, timer, DownDetector(self.down_after_seconds), self.policy, str(URL(self.base_url)))
            try:
                return await use(session, *args)
            finally:
                await timer.close()


async def _get_item(session: Session, item_id: int) -> HNItem | None:
    """One id's item, validated: ``None`` for ``null``; ``HNFetchError`` naming the id for anything else."""
    url = URL(f"{session.encoded_base_url}/v0/item/{item_id}.json", encoded=True)
    what = f"item {item_id}"
    body = await get_body(session, url, what)
    return item_from_json(item_id, body, lambda: parse_json(body, what, url))


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
