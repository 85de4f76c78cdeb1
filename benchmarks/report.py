"""Markdown tables of a results file, for BENCHMARKS.md: ``python -m benchmarks.report [results.json]``."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DEFAULT_RESULTS = Path(__file__).with_name("results.json")
MIB = 2**20


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def fetch_table(results: dict[str, Any]) -> str:
    rows = [
        [
            f"{row['n']:,}",
            f"**{row['client_items_per_s']:,.0f}** ({_range(row['client_items_per_s_range'])})",
            _guide_rate(row),
            f"{row['ratio']:,.0f}x" if row["ratio"] else "n/a",
            f"{row['bound_items_per_s']:,.0f}",
            f"{row['percent_of_bound']:.0f}%",
            f"{row['client_cpu_us_per_request']:.0f}",
            f"{row['server_cpu_us_per_request']:.0f}",
            _range(row["load_average_1min_range"], ".1f"),
        ]
        for row in results["fetch_summary"]
    ]
    header = ["N", "HNAPIClient items/s, median (range)", "guide items/s", "ratio", "bound items/s", "% of bound"]
    return table([*header, "client CPU us/req", "server CPU us/req", "load (1 min)"], rows)


def _range(bounds: Sequence[float], spec: str = ",.0f") -> str:
    return f"{bounds[0]:{spec}}-{bounds[1]:{spec}}"


def _guide_rate(row: dict[str, Any]) -> str:
    if row["guide_items_per_s"] is None:
        return "not run"
    return f"{row['guide_items_per_s']:,.1f}" + ("" if row["guide_measured"] else " (extrapolated)")


def memory_table(results: dict[str, Any]) -> str:
    rows = [
        [
            result["fetcher"],
            f"{result['n']:,}",
            f"{result['frame_bytes'] / MIB:.1f}",
            f"{result['rss_before'] / MIB:.0f}",
            f"{result['peak_rss'] / MIB:.0f}",
            f"{result['peak_growth_bytes'] / MIB:.1f}",
            f"{result['peak_growth_per_frame_byte']:.1f}",
            " / ".join(f"{rss / MIB:.0f}" for rss in result["rss_after_release"]),
            result["open_sockets_after_fetch"],
        ]
        for result in results["fetch"]
        if result["concurrency"] is None
    ]
    header = ["fetcher", "N", "frame MiB", "RSS before MiB", "peak RSS MiB", "growth MiB", "growth / frame"]
    return table([*header, "RSS after each run MiB", "sockets open after"], rows)


def capacity_table(results: dict[str, Any]) -> str:
    capacity = results["server_capacity"]
    rows = [
        [
            f"{capacity['latency_ms']:g} ms",
            capacity["connections"],
            f"{capacity['median_requests_per_s']:,.0f} (min {capacity['min_requests_per_s']:,.0f})",
            f"{capacity['latency_bound_requests_per_s']:,.0f}",
            f"{capacity['percent_of_bound']:.0f}%",
            f"{capacity['server_cpu_us_per_request']:.0f}",
            f"{capacity['server_one_core_requests_per_s']:,.0f}",
            f"{capacity['loadgen_cpu_us_per_request']:.0f}",
        ]
    ]
    header = ["latency", "connections", "req/s", "bound req/s", "% of bound", "server CPU us/req"]
    return table([*header, "one-core capacity req/s", "load client CPU us/req"], rows)


def concurrency_table(results: dict[str, Any]) -> str:
    sweep = results.get("concurrency_sweep", [])
    concurrency = results["settings"]["client_concurrency"]
    default = [
        {**result, "bound_items_per_s": row["bound_items_per_s"], "concurrency": f"{concurrency} (default)"}
        for result in results["fetch"]
        for row in results["fetch_summary"]
        if result["fetcher"] == "client" and sweep and result["n"] == sweep[0]["n"] == row["n"]
    ]
    rows = [
        [
            result["concurrency"],
            f"{result['n']:,}",
            f"{result['median_items_per_s']:,.0f} ({_range([result['min_items_per_s'], result['max_items_per_s']])})",
            f"{result['bound_items_per_s']:,.0f}",
            f"{100 * result['median_items_per_s'] / result['bound_items_per_s']:.0f}%",
            f"{result['client_cpu_us_per_request']:.0f}",
            f"{result['server_cpu_us_per_request']:.0f}",
        ]
        for result in sorted([*sweep, *default], key=lambda result: int(str(result["concurrency"]).split()[0]))
    ]
    header = ["concurrency", "N", "items/s, median (range)", "bound items/s", "% of bound", "client CPU us/req"]
    return table([*header, "server CPU us/req"], rows)


def load_time_table(results: dict[str, Any]) -> str:
    rows = [
        [
            result["location"],
            result["environment"],
            f"{result['median_load_seconds']:.2f}",
            f"{result['median_import_dagster_seconds']:.2f}",
            f"{result['median_process_seconds']:.2f}",
            ", ".join(name for name, imported in result["snowflake_modules"].items() if imported) or "none",
        ]
        for result in results["load_time"]
    ]
    header = ["location", "environment", "load s (median)", "of which import dagster s", "process wall s"]
    return table([*header, "Snowflake modules imported"], rows)


def materialize_table(results: dict[str, Any]) -> str:
    rows = [
        [
            f"{result['n']:,}",
            f"{result['latency_ms']:g} ms",
            f"{result['median_run_seconds']:.1f}",
            f"{result['median_items_step_seconds']:.1f}",
            f"{result['median_process_seconds']:.1f}",
            ", ".join(f"{table} {count:,}" for table, count in result["runs"][0]["rows"].items()),
            "yes" if result["all_succeeded"] else "NO",
        ]
        for result in results["materialize"]
    ]
    header = ["N", "server latency", "job wall s", "items step s", "process wall s", "rows", "succeeded"]
    return table(header, rows)


def render(results: dict[str, Any]) -> str:
    """Every table of ``results`` that was measured, with a heading each."""
    sections = [
        ("Fetch throughput", "fetch_summary", fetch_table),
        ("Memory", "fetch", memory_table),
        ("Server capacity", "server_capacity", capacity_table),
        ("Concurrency", "concurrency_sweep", concurrency_table),
        ("Definitions load time", "load_time", load_time_table),
        ("End-to-end materialization", "materialize", materialize_table),
    ]
    return "\n\n".join(
        f"### {title}\n\n{render_table(results)}" for title, key, render_table in sections if results.get(key)
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, nargs="?", default=DEFAULT_RESULTS)
    args = parser.parse_args(argv)
    print(render(json.loads(args.results.read_text())))


if __name__ == "__main__":
    main()
