"""One fetcher in its own process, so that its peak memory is its own: ``python -m benchmarks.fetch_worker``.

The worker imports everything first, warms up, then for each run prints ``{"event": "ready"}`` and waits for a
line on standard input (the parent reads the server's CPU time meanwhile), fetches the N most recent items, builds
the frame, and prints the run's measurements as one JSON line.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Callable
from typing import Any

from benchmarks.child import emit
from benchmarks.guide_fetch import guide_fetch
from benchmarks.process_stats import cpu_times, current_rss, open_sockets, peak_rss, reset_peak_rss
from hn_core.hn_api import HNAPIClient, HNItem, most_recent_ids
from hn_core.transforms import items_frame

FETCHERS = ("guide", "client")
WARMUP_ITEMS = {"guide": 20, "client": 300}

Fetch = Callable[[int], list[Any]]


def client_fetcher(base_url: str, concurrency: int | None) -> Fetch:
    """``HNAPIClient`` with its default settings (or another ``concurrency``): max item id, then the batch."""
    client = HNAPIClient(base_url=base_url, **({} if concurrency is None else {"concurrency": concurrency}))

    def fetch(count: int) -> list[Any]:
        result = client.fetch_items(most_recent_ids(client.fetch_max_item_id(), count))
        if result.failed:
            raise RuntimeError(f"{len(result.failed)} items failed, e.g. {next(iter(result.failed.values()))}")
        return result.rows

    return fetch


def measure_run(fetch: Fetch, count: int) -> dict[str, Any]:
    """Fetch ``count`` items and build the frame; time, CPU and memory of each step."""
    gc.collect()
    peak_is_this_runs = reset_peak_rss()
    rss_before = current_rss()
    user_before, system_before = cpu_times()
    started = time.perf_counter()
    rows = fetch(count)
    fetch_seconds = time.perf_counter() - started
    user_after, system_after = cpu_times()
    rss_after_fetch = current_rss()
    sockets_after_fetch = open_sockets()
    frame_started = time.perf_counter()
    frame = items_frame(rows)
    frame_seconds = time.perf_counter() - frame_started
    frame_bytes = int(frame.memory_usage(deep=True).sum())
    peak = peak_rss()
    result = {
        "n": count,
        "rows": len(frame),
        "fetch_seconds": fetch_seconds,
        "items_per_s": count / fetch_seconds,
        "cpu_user_seconds": user_after - user_before,
        "cpu_system_seconds": system_after - system_before,
        "frame_seconds": frame_seconds,
        "frame_bytes": frame_bytes,
        "rss_before": rss_before,
        "rss_after_fetch": rss_after_fetch,
        "peak_rss": peak,
        "peak_is_this_runs": peak_is_this_runs,
        "open_sockets_after_fetch": sockets_after_fetch,
    }
    del rows, frame
    gc.collect()
    result["rss_after_release"] = current_rss()
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fetcher", choices=FETCHERS, required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--n", type=int, required=True, help="items per run")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--concurrency", type=int, help="client concurrency (default: the client's default)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.fetcher == "guide":

        def fetch(count: int) -> list[Any]:
            # Validated like the client's answers, so that both build the frame from the same items.
            return [HNItem.model_validate(row) for row in guide_fetch(args.base_url, count) if row is not None]

    else:
        fetch = client_fetcher(args.base_url, args.concurrency)
    fetch(WARMUP_ITEMS[args.fetcher])
    for run in range(args.runs):
        emit({"event": "ready", "run": run})
        if not sys.stdin.readline():
            return
        emit({"event": "result", **measure_run(fetch, args.n)})


if __name__ == "__main__":
    main()
