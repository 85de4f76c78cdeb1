"""How fast and how bounded ``HNAPIClient`` (default settings) fails against a dead or hostile API: 1,000 ids that
hang, and 1,000 on a port that refuses connections, until the batch fails; 20 answers of 50 MB, refused from
``Content-Length`` over the 1 MiB cap; the Markdown preview (``frame_metadata``) of an item with 1.28 MB, then 5 MB,
of text. Each fetch runs in a fresh process and its server in another (the oversized one in a thread of this one),
so that the memory a fetch adds is the client's alone: its resident memory sampled every millisecond during the
fetch, less that before. (Not ``ru_maxrss``: a spawned process starts at its parent's resident memory as its peak.)
"""

import argparse
import threading
import time
from typing import Any

import psutil

from benchmarks.dagster_runs import markdown
from benchmarks.processes import ServerProcess, in_fresh_process


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ids", type=int, default=1_000, help="ids of the hanging and the refused batch (1000)")
    parser.add_argument("--oversized", type=int, default=20, help="answers of 50 MB (20)")


def fetch_once(base_url: str, ids: int) -> dict[str, Any]:
    """In a fresh process: fetch ids ``1..ids``; the seconds until the batch fails, and the memory it added."""
    from hn_core.hn_api import HNAPIClient

    client, process, done, samples = HNAPIClient(base_url=base_url), psutil.Process(), threading.Event(), []
    before, started = process.memory_info().rss, time.perf_counter()

    def sample() -> None:
        while not done.wait(0.001):
            samples.append(process.memory_info().rss)

    sampler = threading.Thread(target=sample)
    sampler.start()
    result = client.fetch_items(range(1, ids + 1))
    seconds, outcome = time.perf_counter() - started, f"{len(result.failed):,} of {ids:,} failed"
    done.set()
    sampler.join()
    peak = max(samples, default=before)
    return {"seconds": seconds, "peak_added_mb": max(0, peak - before) / 1e6, "outcome": outcome}


def preview_seconds(text_bytes: int) -> float:
    """Seconds for the preview metadata of a one-item frame whose ``text`` holds ``text_bytes`` characters."""
    import pandas as pd

    from hn_assets.assets import ITEMS_PREVIEW
    from hn_assets.metadata import frame_metadata
    from hn_core.hn_api import ITEMS_COLUMNS, ITEMS_DTYPES

    item = {"id": 1, "type": "comment", "text": "lorem ipsum " * (text_bytes // 12)}
    frame = pd.DataFrame.from_records([item], columns=list(ITEMS_COLUMNS)).astype(dict(ITEMS_DTYPES))
    started = time.perf_counter()
    frame_metadata(frame, ITEMS_PREVIEW)
    return time.perf_counter() - started


def run(args: argparse.Namespace) -> dict[str, Any]:
    from hn_offline_api.fixtures import generate_items
    from hn_offline_api.server import Faults, OfflineHNAPI, refusing_port, serve_in_thread

    seen: dict[str, dict[str, Any]] = {}
    with ServerProcess("--items", args.ids, "--timeout-share", 1) as server:  # every request hangs for 30 s
        seen["ids that hang, until the batch fails"] = in_fresh_process(fetch_once, server.base_url, args.ids)
    with refusing_port() as port:
        seen["ids, connection refused"] = in_fresh_process(fetch_once, f"http://127.0.0.1:{port}", args.ids)
    body = b'{"id": 1, "type": "comment", "text": "' + b"x" * 50_000_000 + b'"}'
    oversized = Faults(bodies=dict.fromkeys(range(1, args.oversized + 1), body))
    with serve_in_thread(OfflineHNAPI(generate_items(args.oversized), faults=oversized)) as base_url:
        seen["answers of 50 MB"] = in_fresh_process(fetch_once, base_url, args.oversized)
    for size in (1_280_000, 5_000_000):
        seen[f"preview of an item with {size / 1e6:g} MB of text"] = {"seconds": preview_seconds(size)}
    return seen


def report(results: dict[str, Any]) -> str:
    rows = []
    for what, fault in results.items():
        peak = f"{fault['peak_added_mb']:.1f}" if "peak_added_mb" in fault else ""
        rows.append([what, f"{fault['seconds']:.2f}", peak, fault.get("outcome", "")])
    return markdown(["fault", "wall s", "peak memory added MB", "outcome"], rows)
