"""Fetch throughput: ``HNAPIClient`` against the Dagster guide's loop, and against the client of earlier commits.

Every fetch runs in a fresh worker process (``benchmarks.processes``) that imports everything, warms up on a few
hundred items, then fetches the N most recent items (max item id first, as the guide does) from the offline server
in its own process, with 20 ms of latency per request; the frame is built afterwards with ``items_frame``, outside
the timed fetch. Rounds interleave the fetchers, with a fresh server per round, so that a machine whose speed
drifts during the run moves every fetcher alike.

- ``client``: ``HNAPIClient`` with its defaults (128 in flight), every answer validated against ``HNItem``.
- ``guide``: the guide's loop verbatim (``benchmarks.guide_fetch``); its rows are validated inside the timed fetch,
  so that both frames are built from the same items.
- a commit such as ``37b5ae6``: the HTTP client as it was at that commit, loaded from git (its answers, plain
  dicts, are validated outside the timed fetch).

The bound is concurrency / latency, e.g. 128 / 20 ms = 6,400 items/s. CPU per request is the process's user +
system time over the fetch divided by N + 1 requests; the server's is read from its process the same way.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import re
import resource
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from benchmarks.guide_fetch import guide_fetch
from benchmarks.processes import REPO_ROOT, ServerProcess, cpu_seconds, in_fresh_process

WARMUP_ITEMS = {"guide": 20}  # and 300 for the clients
#: Where the HTTP client lived over the repository's history, newest first.
CLIENT_PATHS = ("packages/hn_core/src/hn_core/hn_api/http_client.py", "packages/hn_core/src/hn_core/api_client.py")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000], help="items per fetch")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each with a fresh server (default 3)")
    parser.add_argument("--repeats", type=int, default=2, help="fetches per fetcher, size and round (default 2)")
    parser.add_argument("--against", nargs="*", default=[], metavar="COMMIT", help="clients of these commits too")
    parser.add_argument("--guide-sizes", type=int, nargs="*", default=[1000], help="sizes the guide runs at, once")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[128], help="the client's, for a sweep")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--items", type=int, default=25_000, help="items the server generates")


def run(args: argparse.Namespace) -> dict[str, Any]:
    runs = []
    for round_number in range(args.rounds):
        with ServerProcess("--items", args.items, "--latency-ms", args.latency_ms) as server:
            assert server.process is not None
            for size in args.sizes:
                clients = [(fetcher, args.concurrency[0]) for fetcher in ("client", *args.against)]
                clients += [("client", concurrency) for concurrency in args.concurrency[1:]]
                for repeat in range(args.repeats):  # each client first in turn; the guide once per size
                    plan = clients[repeat % len(clients) :] + clients[: repeat % len(clients)]
                    guide = size in args.guide_sizes and round_number == repeat == 0
                    for fetcher, concurrency in [*plan, ("guide", 1)] if guide else plan:
                        measured = in_fresh_process(
                            measure_fetch, fetcher, server.base_url, server.process.pid, size, concurrency
                        )
                        runs.append({"round": round_number, "fetcher": fetcher, "concurrency": concurrency, **measured})
                        print(f"{fetcher} c={concurrency} N={size}: {measured['items_per_s']:,.0f} items/s", flush=True)
    return {"latency_ms": args.latency_ms, "runs": runs}


def measure_fetch(fetcher: str, base_url: str, server_pid: int, count: int, concurrency: int) -> dict[str, Any]:
    """In a fresh worker: warm up, then fetch ``count`` items once; time, CPU, memory and sockets of that fetch."""
    from hn_core.transforms import items_frame

    fetch, validate = make_fetcher(fetcher, base_url, concurrency)
    fetch(WARMUP_ITEMS.get(fetcher, 300))
    gc.collect()
    me, server = psutil.Process(), psutil.Process(server_pid)
    rss_before, collections_before = me.memory_info().rss, sum(stats["collections"] for stats in gc.get_stats())
    cpu_before, server_before, started = cpu_seconds(me), cpu_seconds(server), time.perf_counter()
    rows = fetch(count)
    seconds = time.perf_counter() - started
    cpu, server_cpu = cpu_seconds(me) - cpu_before, cpu_seconds(server) - server_before
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # the fetch's, before the frame
    collections = sum(stats["collections"] for stats in gc.get_stats()) - collections_before
    sockets_left = len(me.net_connections("tcp"))
    frame = items_frame(validate(rows))
    return {
        "n": count,
        "seconds": seconds,
        "items_per_s": count / seconds,
        "client_cpu_us_per_request": cpu / (count + 1) * 1e6,
        "server_cpu_us_per_request": server_cpu / (count + 1) * 1e6,
        "gc_collections": collections,
        "rss_before_mib": rss_before / 2**20,
        "peak_rss_mib": peak_rss / 2**20,
        "frame_mib": frame.memory_usage(deep=True).sum() / 2**20,
        "sockets_left": sockets_left,
    }


def make_fetcher(
    fetcher: str, base_url: str, concurrency: int
) -> tuple[Callable[[int], list[Any]], Callable[[list[Any]], list[Any]]]:
    """``fetch(count)`` for the named fetcher, and how its rows become ``HNItem`` values afterwards."""
    from hn_core.hn_api import HNAPIClient, HNItem, most_recent_ids

    if fetcher == "guide":
        return (
            lambda count: [HNItem.validate(row) for row in guide_fetch(base_url, count) if row is not None],
            list,
        )
    client_class = HNAPIClient if fetcher == "client" else client_at(fetcher)
    client = client_class(base_url=base_url, concurrency=concurrency)

    def fetch(count: int) -> list[Any]:
        result = client.fetch_items(most_recent_ids(client.fetch_max_item_id(), count))
        if result.failed:
            raise RuntimeError(f"{len(result.failed)} items failed, e.g. {next(iter(result.failed.values()))}")
        return result.rows

    return fetch, lambda rows: [row if isinstance(row, HNItem) else HNItem.validate(row) for row in rows]


def client_at(commit: str) -> type:
    """``HNAPIClient`` as it was at ``commit``, read from git: a client in one module, which imports from ``hn_core``
    only the interface (``FetchResult``, ``HNClient``, ...), so that what is measured is that commit's code alone."""
    for path in CLIENT_PATHS:
        shown = subprocess.run(["git", "show", f"{commit}:{path}"], cwd=REPO_ROOT, capture_output=True, text=True)
        if shown.returncode == 0:
            break
    else:
        raise SystemExit(f"No HTTP client at {commit}: looked for {', '.join(CLIENT_PATHS)}.")
    source = shown.stdout.replace("hn_core.client import", "hn_core.hn_api.client import")  # where it moved
    if others := set(re.findall(r"(hn_core[\w.]*) import", source)) - {"hn_core.hn_api.client"}:
        raise SystemExit(f"The client at {commit} imports {sorted(others)}: put a worktree's sources on PYTHONPATH.")
    with tempfile.TemporaryDirectory() as folder:
        module_path = Path(folder) / f"hn_client_{commit}.py"
        module_path.write_text(source)
        spec = importlib.util.spec_from_file_location(module_path.stem, module_path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module.HNAPIClient


def report(results: dict[str, Any]) -> str:
    groups: dict[tuple[str, int, int], list[dict[str, Any]]] = {}
    for measured in results["runs"]:
        groups.setdefault((measured["fetcher"], measured["concurrency"], measured["n"]), []).append(measured)
    guide_rates = [m["items_per_s"] for (fetcher, _, _), runs in groups.items() if fetcher == "guide" for m in runs]
    guide_rate = statistics.median(guide_rates) if guide_rates else None
    lines = [
        "| fetcher | in flight | N | runs | items/s, median (min-max) | % of bound | x guide | client CPU us/req "
        "| server CPU us/req | GC runs | peak RSS MiB (before) | frame MiB | sockets left |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (fetcher, concurrency, size), runs in sorted(groups.items(), key=lambda group: (group[0][2], group[0][0])):
        rates = [m["items_per_s"] for m in runs]
        rate = statistics.median(rates)
        bound = concurrency / (results["latency_ms"] / 1000)
        ratio = f"{rate / guide_rate:.0f}x" if guide_rate and fetcher != "guide" else ""
        lines.append(
            f"| {fetcher} | {concurrency} | {size:,} | {len(runs)} | **{rate:,.0f}** ({min(rates):,.0f}-"
            f"{max(rates):,.0f}) | {rate / bound:.0%} | {ratio} | {_median(runs, 'client_cpu_us_per_request'):.0f} "
            f"| {_median(runs, 'server_cpu_us_per_request'):.0f} | {_median(runs, 'gc_collections'):.0f} "
            f"| {_median(runs, 'peak_rss_mib'):.0f} "
            f"({_median(runs, 'rss_before_mib'):.0f}) | {_median(runs, 'frame_mib'):.1f} "
            f"| {max(m['sockets_left'] for m in runs)} |"
        )
    return "\n".join(lines)


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(m[key] for m in runs)
