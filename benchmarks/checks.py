"""What each safety check of the fetch hot path costs per item, timed alone in process.

The client spends 100-200 us of CPU per request, most of it in aiohttp and the kernel, and that figure varies by
more than the checks cost, so ``benchmarks fetch`` cannot tell them apart. Here each check runs on its own, on the
offline API's generated items or on a real response of it, many times (``timeit``, best of the repeats), with the
parse the client needs anyway as the reference.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import timeit
from collections.abc import Callable
from typing import Any

LOOPS = 20


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--items", type=int, default=5_000, help="generated items to check (default 5,000)")
    parser.add_argument("--repeats", type=int, default=7, help="timings per check, the best counts (default 7)")


def run(args: argparse.Namespace) -> dict[str, Any]:
    from hn_core.hn_api.client import BatchCollector, item_from_json, validate_answer
    from hn_offline_api.fixtures import generate_items

    answers = {item_id: json.dumps(item).encode() for item_id, item in generate_items(args.items).items()}

    def per_item(check: Callable[[], object], calls: int = len(answers)) -> float:
        seconds = min(timeit.repeat(check, number=LOOPS, repeat=args.repeats))
        return seconds / LOOPS / calls * 1e6

    def bookkeeping() -> None:
        batch = BatchCollector()
        for item_id in answers:
            batch.add(item_id, None)
        batch.result(list(answers))

    results = {
        "json.loads: the parse every answer needs (reference)": per_item(
            lambda: [json.loads(body) for body in answers.values()]
        ),
        "item_from_json: parse and validate in one pass, id checked": per_item(
            lambda: [item_from_json(i, body, lambda body=body: json.loads(body)) for i, body in answers.items()]
        ),
        "json.loads, then validate_answer (the slow path)": per_item(
            lambda: [validate_answer(i, json.loads(body)) for i, body in answers.items()]
        ),
        "BatchCollector: record the outcome, then the result in id order": per_item(bookkeeping),
    }
    results.update(asyncio.run(_per_request_checks(per_item)))
    return {"items": len(answers), "us_per_item": results}


async def _per_request_checks(per_item: Callable[..., float]) -> dict[str, float]:
    """The checks made around each HTTP request, timed on a real answer of the offline API."""
    import aiohttp

    from hn_core.hn_api.http_fetch import RETRYABLE_STATUSES, DownDetector, RequestTimer
    from hn_offline_api.app import OfflineHNAPI
    from hn_offline_api.fixtures import generate_items
    from hn_offline_api.server import start_server

    server = await start_server(OfflineHNAPI(generate_items(10)), "127.0.0.1", 0)
    timer, down, calls = RequestTimer(5.0), DownDetector(10.0), 10_000
    try:
        async with aiohttp.ClientSession() as http, http.get(f"{server.base_url}/v0/item/1.json") as response:

            def status_and_size() -> None:
                for _ in range(calls):
                    if response.status in RETRYABLE_STATUSES or response.status != 200:
                        raise AssertionError("the answer is a 200")
                    down.answered()
                    if (response.content_length or 0) > 1_048_576 or "Content-Encoding" in response.headers:
                        raise AssertionError("the answer is small and plain")

            def timed_requests() -> None:
                for _ in range(calls):
                    timer.stop(timer.start())

            return {
                "status, down detector and size cap on the answer's headers": per_item(status_and_size, calls),
                "RequestTimer: a deadline per request, one watchdog per session": per_item(timed_requests, calls),
            }
    finally:
        await timer.close()
        await server.close()


def report(results: dict[str, Any]) -> str:
    lines = ["| check | us per item |", "|---|---|"]
    lines += [f"| {check} | {us:.2f} |" for check, us in results["us_per_item"].items()]
    return "\n".join(lines)
