"""How fast and how lean the platform fails: ``uv run python -m benchmarks.faults``.

Measures, each in this process against the offline server on 127.0.0.1, with ``HNAPIClient``'s default settings:

- a dead API: 1,000 ids that hang, and 1,000 ids on a port that refuses connections, until the batch fails;
- oversized answers: 20 items of 50 MB each, with the peak resident memory the fetch adds;
- the markdown preview of items holding 1.28 MB and 5 MB of text.

Prints one line per measurement (wall seconds, and MB where memory is measured); BENCHMARKS.md has the figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import socket
import time
from collections.abc import Callable

import pandas as pd

from benchmarks.process_stats import current_rss, peak_rss, reset_peak_rss
from benchmarks.server import free_port
from hn_assets.assets import ITEMS_PREVIEW
from hn_assets.metadata import frame_metadata
from hn_core.hn_api import ITEMS_COLUMNS, ITEMS_DTYPES, HNAPIClient
from hn_offline_api.fixtures import generate_items
from hn_offline_api.server import Faults, OfflineHNAPI, refusing_port, serve_in_thread, serve_until_stopped

IDS = range(1, 1_001)


def timed(what: str, action: Callable[[], object]) -> object:
    started = time.perf_counter()
    outcome = action()
    print(f"{what:<58} {time.perf_counter() - started:8.2f} s", flush=True)
    return outcome


def dead_api() -> None:
    api = OfflineHNAPI(generate_items(1_000), faults=Faults(hang_all=True, hang_seconds=600))
    with serve_in_thread(api) as base_url:
        result = timed(
            "1,000 hanging ids until the batch fails", lambda: HNAPIClient(base_url=base_url).fetch_items(IDS)
        )
    assert len(result.failed) == 1_000
    with refusing_port() as port:
        client = HNAPIClient(base_url=f"http://127.0.0.1:{port}")
        result = timed("1,000 ids, connection refused, until the batch fails", lambda: client.fetch_items(IDS))
    assert len(result.failed) == 1_000


def serve_oversized(port: int) -> None:
    """The offline server answering 50 MB for ids 1-20, in a process of its own so its memory is not counted."""
    body = json.dumps({"id": 1, "type": "comment", "text": "x" * 50_000_000}).encode()
    api = OfflineHNAPI(generate_items(20), faults=Faults(bodies=dict.fromkeys(range(1, 21), body)))
    with asyncio.Runner() as runner:
        runner.run(serve_until_stopped(api, "127.0.0.1", port, backlog=128))


def oversized_answers() -> None:
    port = free_port()
    server = multiprocessing.get_context("fork").Process(target=serve_oversized, args=(port,), daemon=True)
    server.start()
    try:
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            time.sleep(0.1)
        client = HNAPIClient(base_url=f"http://127.0.0.1:{port}")
        before = current_rss() or 0
        reset_peak_rss()
        result = timed("20 answers of 50 MB (refused over the 1 MiB cap)", lambda: client.fetch_items(range(1, 21)))
        print(f"{'  peak memory the fetch added':<58} {(peak_rss() - before) / 1e6:8.1f} MB", flush=True)
    finally:
        server.terminate()
        server.join()
    assert len(result.failed) == 20


def previews() -> None:
    for size in (1_280_000, 5_000_000):
        frame = pd.DataFrame.from_records(
            [{"id": 1, "type": "comment", "text": "lorem ipsum " * (size // 12)}], columns=list(ITEMS_COLUMNS)
        ).astype(dict(ITEMS_DTYPES))
        timed(
            f"preview of an item with {size / 1e6:g} MB of text",
            lambda frame=frame: frame_metadata(frame, ITEMS_PREVIEW),
        )


def main() -> None:
    dead_api()
    oversized_answers()
    previews()


if __name__ == "__main__":
    main()
