"""Fetch throughput, definitions load time and end-to-end runs, side by side with the Dagster guide's code.

Run ``uv run python -m benchmarks.fetch`` (``--help`` for the options). In one run, against the offline HN server
in its own process:

1. fetch throughput for each N: the Dagster guide's loop (only at the sizes in ``--baseline-sizes``, extrapolated
   elsewhere) against ``HNAPIClient`` with its default settings, each fetcher in its own process (items/s, CPU per
   request on both sides, peak memory against the frame's size), and the server's capacity under a light load client;
2. definitions load time of each code location in ``local`` and ``production``, and of the guide's single file;
3. the ``refresh_hacker_news`` job end to end into DuckDB.

Writes ``benchmarks/results.json`` and ``benchmarks/fetch_throughput.png`` and prints Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.capacity import capacity_run, summarize_capacity
from benchmarks.load_time import measure_load_times
from benchmarks.machine import load_average, machine_info
from benchmarks.materialize import measure_materialization
from benchmarks.plot import plot_throughput
from benchmarks.report import render
from benchmarks.server import ServerProcess
from benchmarks.throughput import run_fetcher, summarize
from hn_core.hn_api.http_client import HNAPIClient

HERE = Path(__file__).resolve().parent
#: The client's default concurrency, which sets the bound ``concurrency / latency`` of the default client.
DEFAULT_CONCURRENCY: int = HNAPIClient.model_fields["concurrency"].default
SWEEP_N = 5_000


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fetch", description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=20.0, help="server latency per request (20)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 5_000, 20_000], help="N for the client")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of fetch runs, each on a new server (3)")
    parser.add_argument("--repeats", type=int, default=3, help="client runs per N and round (3)")
    parser.add_argument(
        "--baseline-sizes", type=int, nargs="*", default=[1_000], help="N at which the guide's loop runs (1000)"
    )
    parser.add_argument("--baseline-repeats", type=int, default=3, help="guide runs at its smallest N (3)")
    parser.add_argument("--baseline-5000", action="store_true", help="also run the guide's loop at N=5000 once")
    parser.add_argument("--fixture-items", type=int, default=25_000, help="items the server holds (25000)")
    parser.add_argument("--capacity-requests", type=int, default=30_000, help="requests per server capacity run")
    parser.add_argument("--capacity-runs", type=int, default=1, help="server capacity runs per round (1)")
    parser.add_argument(
        "--concurrency-sweep", type=int, nargs="*", default=[64, 256], help="other client concurrencies at N=5000"
    )
    parser.add_argument("--load-runs", type=int, default=5, help="fresh processes per location and environment")
    parser.add_argument("--skip-load-time", action="store_true")
    parser.add_argument("--materialize-n", type=int, default=20_000)
    parser.add_argument(
        "--materialize-latency-ms", type=float, nargs="+", default=[20.0], help="server latency for the job run(s)"
    )
    parser.add_argument("--materialize-runs", type=int, default=1)
    parser.add_argument("--skip-materialize", action="store_true")
    parser.add_argument("--output", type=Path, default=HERE / "results.json")
    parser.add_argument("--plot", type=Path, default=HERE / "fetch_throughput.png")
    return parser.parse_args(argv)


def fetch_benchmarks(args: argparse.Namespace) -> dict[str, Any]:
    """Server capacity, both fetchers and the concurrency sweep, over ``--rounds`` rounds pooled together.

    Each round starts a fresh server process and measures its capacity, the client at every N and the other
    concurrencies, so that changes in the machine's load spread over all of them. The guide's loop runs in the first
    round only: it waits on latency, not on CPU.
    """
    baseline_sizes = sorted({*args.baseline_sizes, *([5_000] if args.baseline_5000 else [])})
    capacity: list[dict[str, Any]] = []
    client: dict[int, list[dict[str, Any]]] = {n: [] for n in args.sizes}
    guide: dict[int, list[dict[str, Any]]] = {}
    sweep: dict[int, list[dict[str, Any]]] = {concurrency: [] for concurrency in args.concurrency_sweep}
    for round_number in range(args.rounds):
        with ServerProcess(latency_ms=args.latency_ms, items=args.fixture_items) as server:
            for _ in range(args.capacity_runs):
                capacity.append(capacity_run(server, DEFAULT_CONCURRENCY, args.capacity_requests))
            _progress(f"round {round_number + 1}: server {capacity[-1]['requests_per_s']:,.0f} req/s")
            for n in args.sizes:
                client[n] += run_fetcher(server, "client", n, args.repeats)
                _progress(f"round {round_number + 1}: client N={n:,} {client[n][-1]['items_per_s']:,.0f} items/s")
            for n in baseline_sizes if round_number == 0 else []:
                guide[n] = run_fetcher(server, "guide", n, args.baseline_repeats if n == baseline_sizes[0] else 1)
                _progress(f"guide N={n:,} {guide[n][-1]['items_per_s']:,.1f} items/s")
            for concurrency in args.concurrency_sweep:
                sweep[concurrency] += run_fetcher(server, "client", SWEEP_N, args.repeats, concurrency)
                rate = sweep[concurrency][-1]["items_per_s"]
                _progress(f"round {round_number + 1}: concurrency {concurrency} {rate:,.0f} items/s")
    fetch = [summarize("client", n, runs, None) for n, runs in client.items()]
    fetch += [summarize("guide", n, runs, None) for n, runs in guide.items()]
    concurrency_sweep = []
    for concurrency, runs in sweep.items():
        summary = summarize("client", SWEEP_N, runs, concurrency)
        summary["bound_items_per_s"] = concurrency / (args.latency_ms / 1000)
        concurrency_sweep.append(summary)
    return {
        "server_capacity": summarize_capacity(capacity, DEFAULT_CONCURRENCY, args.latency_ms),
        "fetch": fetch,
        "fetch_summary": fetch_summary(fetch, args.sizes, args.latency_ms),
        "concurrency_sweep": concurrency_sweep,
    }


def fetch_summary(fetch: list[dict[str, Any]], sizes: list[int], latency_ms: float) -> list[dict[str, Any]]:
    """Per N: both fetchers' items/s (the guide's extrapolated where not run), their ratio and the bound."""
    client = {result["n"]: result for result in fetch if result["fetcher"] == "client"}
    guide = {result["n"]: result for result in fetch if result["fetcher"] == "guide"}
    bound = DEFAULT_CONCURRENCY / (latency_ms / 1000)
    # The guide's loop does one request after another, so its time per item does not depend on N: where it did not
    # run, use its rate at the largest N where it did.
    guide_rate = guide[max(guide)]["median_items_per_s"] if guide else None
    summary = []
    for n in sizes:
        measured = n in guide
        rate = guide[n]["median_items_per_s"] if measured else guide_rate
        client_rate = client[n]["median_items_per_s"]
        summary.append(
            {
                "n": n,
                "client_items_per_s": client_rate,
                "client_items_per_s_range": [client[n]["min_items_per_s"], client[n]["max_items_per_s"]],
                "load_average_1min_range": client[n]["load_average_1min_range"],
                "guide_items_per_s": rate,
                "guide_measured": measured,
                "ratio": client_rate / rate if rate else None,
                "bound_items_per_s": bound,
                "bound_seconds": n * (latency_ms / 1000) / DEFAULT_CONCURRENCY,
                "percent_of_bound": 100 * client_rate / bound,
                "client_cpu_us_per_request": client[n]["client_cpu_us_per_request"],
                "server_cpu_us_per_request": client[n]["server_cpu_us_per_request"],
            }
        )
    return summary


def _progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')} load {' '.join(map(str, load_average()))}] {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    results: dict[str, Any] = {
        "command": "uv run python -m benchmarks.fetch " + shlex.join(argv if argv is not None else sys.argv[1:]),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "machine": machine_info(),
        "settings": {
            **{key: str(value) if isinstance(value, Path) else value for key, value in vars(args).items()},
            "client_concurrency": DEFAULT_CONCURRENCY,
        },
    }
    results.update(fetch_benchmarks(args))
    plot_throughput(
        results["fetch_summary"], results["fetch_summary"][0]["bound_items_per_s"], args.latency_ms, args.plot
    )
    if not args.skip_load_time:
        results["load_time"] = measure_load_times(args.load_runs)
        _progress("definitions load times measured")
    if not args.skip_materialize:
        results["materialize"] = [
            measure_materialization(args.materialize_n, latency, args.materialize_runs, args.fixture_items)
            for latency in args.materialize_latency_ms
        ]
        _progress("materialization measured")
    results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %z")
    results["load_average_at_end"] = load_average()
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(render(results))
    print(f"\nWrote {args.output} and {args.plot}.")


if __name__ == "__main__":
    main()
