"""Server capacity: the load client against the server process, and the server's CPU time per request."""

from __future__ import annotations

import statistics
from typing import Any

from benchmarks.child import module_command, run_json
from benchmarks.machine import load_average
from benchmarks.server import ServerProcess


def capacity_run(server: ServerProcess, connections: int, requests: int) -> dict[str, Any]:
    """One load run of ``requests`` over ``connections`` keep-alive connections, with the server's CPU time."""
    cpu_before, load_before = server.cpu_seconds() or 0.0, load_average()
    run = run_json(
        module_command(
            "benchmarks.loadgen", "--port", server.port, "--connections", connections, "--requests", requests
        )
    )
    run["server_cpu_seconds"] = (server.cpu_seconds() or 0.0) - cpu_before
    run["server_cpu_us_per_request"] = run["server_cpu_seconds"] / run["requests"] * 1e6
    run["load_average_before"], run["load_average_after"] = load_before, load_average()
    return run


def summarize_capacity(runs: list[dict[str, Any]], connections: int, latency_ms: float) -> dict[str, Any]:
    """Medians over the runs, against the bound ``connections / latency``."""
    bound = connections / (latency_ms / 1000) if latency_ms > 0 else None
    rate = statistics.median(run["requests_per_s"] for run in runs)
    server_us = statistics.median(run["server_cpu_us_per_request"] for run in runs)
    return {
        "latency_ms": latency_ms,
        "connections": connections,
        "runs": runs,
        "median_requests_per_s": rate,
        "min_requests_per_s": min(run["requests_per_s"] for run in runs),
        "latency_bound_requests_per_s": bound,
        "percent_of_bound": 100 * rate / bound if bound else None,
        "server_cpu_us_per_request": server_us,
        "server_one_core_requests_per_s": 1e6 / server_us if server_us else None,
        "loadgen_cpu_us_per_request": statistics.median(
            run["loadgen_cpu_seconds"] / run["requests"] * 1e6 for run in runs
        ),
        "not_ok": sum(run["not_ok"] for run in runs),
    }
