"""Fetch throughput: each fetcher in a worker process against the server process, with both processes' CPU time."""

from __future__ import annotations

import json
import statistics
import subprocess
from typing import Any

from benchmarks.child import REPO_ROOT, module_command
from benchmarks.machine import load_average
from benchmarks.server import ServerProcess


def run_fetcher(
    server: ServerProcess, fetcher: str, n: int, runs: int, concurrency: int | None = None
) -> list[dict[str, Any]]:
    """``runs`` fetches of ``n`` items by ``fetcher`` ("guide" or "client") in one worker process."""
    args: list[object] = ["--fetcher", fetcher, "--base-url", server.base_url, "--n", n, "--runs", runs]
    if concurrency is not None:
        args += ["--concurrency", concurrency]
    worker = subprocess.Popen(
        module_command("benchmarks.fetch_worker", *args),
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert worker.stdin is not None
    assert worker.stdout is not None
    results: list[dict[str, Any]] = []
    server_cpu_before, load_before = 0.0, load_average()
    for line in worker.stdout:
        message = json.loads(line)
        if message["event"] == "ready":
            server_cpu_before, load_before = server.cpu_seconds() or 0.0, load_average()
            worker.stdin.write("go\n")
            worker.stdin.flush()
        elif message["event"] == "result":
            server_cpu = (server.cpu_seconds() or 0.0) - server_cpu_before
            message.pop("event")
            results.append(
                {
                    **message,
                    "run": len(results),
                    "process": worker.pid,
                    "server_cpu_seconds": server_cpu,
                    "load_average_before": load_before,
                    "load_average_after": load_average(),
                }
            )
            if len(results) == runs:
                worker.stdin.close()
    if worker.wait() != 0 or len(results) != runs:
        raise RuntimeError(f"The {fetcher} worker for N={n} failed (exit {worker.returncode}).")
    return results


def summarize(fetcher: str, n: int, runs: list[dict[str, Any]], concurrency: int | None) -> dict[str, Any]:
    """Medians (and range) over the runs, CPU per request on both sides, memory growth against the frame's size.

    Memory is taken from each worker's first run, the one that has to grow the process: growth is its peak RSS
    (the peak is reset just before the fetch where Linux allows) minus its RSS before the fetch. Later runs reuse
    what the allocator kept; their RSS after release shows whether anything leaks from run to run.
    """
    requests = n + 1  # the max item id, then one request per item
    rates = [run["items_per_s"] for run in runs]
    own_peaks = [run for run in runs if run["run"] == 0]
    growth = statistics.median(run["peak_rss"] - run["rss_before"] for run in own_peaks)
    frame_bytes = runs[0]["frame_bytes"]
    loads = [run["load_average_before"][0] for run in runs] + [run["load_average_after"][0] for run in runs]
    return {
        "fetcher": fetcher,
        "n": n,
        "concurrency": concurrency,
        "runs": runs,
        "median_items_per_s": statistics.median(rates),
        "min_items_per_s": min(rates),
        "max_items_per_s": max(rates),
        "median_fetch_seconds": statistics.median(run["fetch_seconds"] for run in runs),
        "client_cpu_us_per_request": statistics.median(
            (run["cpu_user_seconds"] + run["cpu_system_seconds"]) / requests * 1e6 for run in runs
        ),
        "server_cpu_us_per_request": statistics.median(run["server_cpu_seconds"] / requests * 1e6 for run in runs),
        "frame_bytes": frame_bytes,
        "rss_before": statistics.median(run["rss_before"] for run in own_peaks),
        "peak_rss": statistics.median(run["peak_rss"] for run in own_peaks),
        "peak_growth_bytes": growth,
        "peak_growth_per_frame_byte": growth / frame_bytes if frame_bytes else None,
        "rss_after_release": [run["rss_after_release"] for run in runs if run["process"] == runs[0]["process"]],
        "open_sockets_after_fetch": max(run["open_sockets_after_fetch"] or 0 for run in runs),
        "load_average_1min_range": [min(loads), max(loads)],
    }
