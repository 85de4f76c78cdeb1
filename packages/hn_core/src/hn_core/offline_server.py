"""An offline stand-in for the HN API: a real HTTP server on 127.0.0.1 serving items from a fixture.

It serves ``/v0/maxitem.json`` and ``/v0/item/<id>.json`` like the public API, with a configurable latency per
request and injected faults, so that the real client, the quick start and the benchmarks run without a network.
It is asyncio (aiohttp's web server) with a large listen backlog and latency by ``asyncio.sleep``, so that it
sustains thousands of requests per second on two cores and never limits a measurement.

Faults are decided per (item id, attempt number) by a seeded hash, so a run is reproducible and a retry of the
same id can succeed where the first attempt failed.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from hn_core.client import Item
from hn_core.fixtures import generate_items

log = logging.getLogger(__name__)

JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}


@dataclass
class Faults:
    """What goes wrong, and how often. Shares are between 0 and 1 and apply to item requests only.

    ``fail_ids`` always answer 500, ``malformed_ids`` always answer broken JSON and ``null_ids`` answer ``null``;
    ``failures_before_success`` makes the first attempts at every item answer 500 (or hang, with
    ``hang_before_success``), which is how tests prove that retries recover.
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

    @property
    def max_item_id(self) -> int:
        return max(self.items, default=0)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v0/maxitem.json", self._max_item)
        app.router.add_get("/v0/item/{item_id:\\d+}.json", self._item)
        return app

    async def _max_item(self, _request: web.Request) -> web.Response:
        await self._wait()
        return web.Response(body=self._max_body, headers=JSON_HEADERS)

    async def _item(self, request: web.Request) -> web.Response:
        item_id = int(request.match_info["item_id"])
        attempt = self.attempts[item_id]
        self.attempts[item_id] += 1
        await self._wait()
        faults = self.faults
        if attempt < faults.failures_before_success:
            if faults.hang_before_success:
                await asyncio.sleep(faults.hang_seconds)
            return web.Response(status=500, text="injected failure before success")
        if item_id in faults.fail_ids or self._roll(item_id, attempt, "error") < faults.error_share:
            return web.Response(status=503, text="injected server error")
        if self._roll(item_id, attempt, "timeout") < faults.timeout_share:
            await asyncio.sleep(faults.hang_seconds)
        if item_id in faults.malformed_ids or self._roll(item_id, attempt, "malformed") < faults.malformed_share:
            return web.Response(body=b'{"id": ' + str(item_id).encode() + b', "type": "sto', headers=JSON_HEADERS)
        if item_id in faults.null_ids or self._roll(item_id, attempt, "null") < faults.null_share:
            return web.Response(body=b"null", headers=JSON_HEADERS)
        return web.Response(body=self._bodies.get(item_id, b"null"), headers=JSON_HEADERS)

    async def _wait(self) -> None:
        if self.latency_seconds > 0:
            await asyncio.sleep(self.latency_seconds)

    def _roll(self, item_id: int, attempt: int, kind: str) -> float:
        digest = hashlib.blake2b(f"{self.faults.seed}:{kind}:{item_id}:{attempt}".encode(), digest_size=8)
        return int.from_bytes(digest.digest(), "big") / 2**64


async def start_site(api: OfflineHNAPI, host: str, port: int, backlog: int = 4096) -> web.AppRunner:
    """Start serving ``api``; port 0 picks a free port (read it from the returned runner's addresses)."""
    runner = web.AppRunner(api.app(), access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, host, port, backlog=backlog).start()
    return runner


@contextmanager
def serve_in_thread(api: OfflineHNAPI, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``api`` from a background thread for the duration of the block; yields the base URL."""
    loop = asyncio.new_event_loop()
    runner = loop.run_until_complete(start_site(api, host, port))
    bound_host, bound_port = runner.addresses[0][:2]
    thread = threading.Thread(target=loop.run_forever, name="offline-hn-api", daemon=True)
    thread.start()
    try:
        yield f"http://{bound_host}:{bound_port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


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
    web.run_app(api.app(), host=args.host, port=args.port, backlog=args.backlog, access_log=None, print=None)


if __name__ == "__main__":
    main()
