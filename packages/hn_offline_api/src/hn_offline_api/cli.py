"""An offline stand-in for the HN API: a real HTTP server on 127.0.0.1 serving items from a fixture.

The console script ``hn-api-server`` (and ``python -m hn_offline_api.cli``): the items to serve (a fixture file, or
items generated with the timing given), the latency and the shares of faults, read from the command line, then served
by ``hn_offline_api.server.serve_until_stopped`` until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from pathlib import Path

from hn_core.hn_api.client import Item
from hn_core.hn_api.http_client import new_event_loop
from hn_offline_api.app import Faults, OfflineHNAPI
from hn_offline_api.fixtures import IRREGULAR_MIX, ItemTiming, generate_items
from hn_offline_api.server import serve_until_stopped


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
