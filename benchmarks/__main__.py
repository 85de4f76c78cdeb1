"""``uv run python -m benchmarks NAME [options]``: run one benchmark, save its figures, print them as Markdown.

Each benchmark module defines ``configure(parser)``, ``run(args) -> dict`` and ``report(results) -> str``. The
figures land in ``benchmarks/results/NAME.json`` with the machine they ran on (``benchmarks.machine``), measured
before and after, so that every table of BENCHMARKS.md can be traced to a run and compared with a reader's own.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import machine

BENCHMARKS = {
    "fetch": "fetch throughput, CPU and memory of HNAPIClient against the guide's loop and an earlier commit",
    "checks": "what each safety check of the fetch hot path costs per item, in process",
    "load-time": "definitions load time of both code locations against the guide's single file",
    "materialize": "refresh_hacker_news end to end for N items into a new DuckDB file",
    "history": "a 24-hour history backfill in one run against one fetch of its ids and 24 hourly runs",
    "local-loop": "the quick start, `dagster job execute` and a UI launch, each from a cold process",
    "faults": "how fast and how bounded the client fails against a dead or hostile API",
    "table-diff": "the pull request's diff of two 1,000,000-row tables on DuckDB",
}
RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--output", type=Path, help="where to write the JSON (default benchmarks/results/NAME.json)")
    names = parser.add_subparsers(dest="name", required=True, metavar="NAME")
    chosen = next((arg for arg in (sys.argv[1:] if argv is None else argv) if arg in BENCHMARKS), None)
    for name, description in BENCHMARKS.items():
        options = names.add_parser(name, parents=[common], help=description, description=description)
        if name == chosen:  # only the benchmark asked for is imported
            module = importlib.import_module(f"benchmarks.{name.replace('-', '_')}")
            module.configure(options)
    args = parser.parse_args(argv)
    before, started = machine.describe(), time.perf_counter()
    results = module.run(args)
    record = {
        "benchmark": args.name,
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "wall_seconds": round(time.perf_counter() - started, 1),
        "arguments": {key: value for key, value in vars(args).items() if key not in ("name", "output")},
        "machine": before,
        "load_average_after": [round(value, 2) for value in os.getloadavg()],
        "results": results,
    }
    output = args.output or RESULTS / f"{args.name}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(record, indent=1, default=str) + "\n")
    print(f"{args.name}, {record['finished']}: {machine.summary(before)} -> {record['load_average_after'][0]}\n")
    print(module.report(results))


if __name__ == "__main__":
    main()
