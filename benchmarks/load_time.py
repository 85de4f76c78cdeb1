"""Definitions load time of both code locations in ``local`` and ``production``, against the guide's single file.

Each load runs in a freshly spawned interpreter (a warm one has everything imported): it imports ``dagster``, then
the location's module, builds its ``Definitions`` (calling a lazy ``@dg.definitions`` function as Dagster does),
validates them as ``dagster definitions validate`` does and lists the Snowflake modules imported. ``load`` runs from
before ``import dagster`` to validated definitions; ``process`` is the parent's wall time for the whole process.
Cells are interleaved round by round, so that changes in the machine's load hit all alike. The baseline,
``benchmarks.guide_definitions``, is the guide's ``definitions.py``, which builds every environment's resources.
"""

import argparse
import importlib
import itertools
import statistics
import sys
import time
from typing import Any

from benchmarks.dagster_runs import enter, local_environment, markdown
from benchmarks.processes import in_fresh_process

LOCATIONS = {
    "hn_assets": "hn_assets.definitions",
    "db_ops": "db_ops.definitions",
    "guide (single file, baseline)": "benchmarks.guide_definitions",
}
#: Production's variables: loading checks their form and connects to nothing, so they are placeholders.
PRODUCTION = {"DAGSTER_DEPLOYMENT": "production", "SNOWFLAKE_ACCOUNT": "placeholder", "HN_CODE_HOST": "github"}
PRODUCTION |= {"HN_CODE_HOST_PROJECT": "acme/platform", "HN_CODE_HOST_TOKEN": "placeholder"}
PRODUCTION |= {"SYSTEM_SNOWFLAKE_USER": "PLACEHOLDER", "SYSTEM_SNOWFLAKE_PASSWORD": "placeholder"}
PRODUCTION |= {"SYSTEM_SNOWFLAKE_ROLE": "HN_PRODUCTION", "SYSTEM_SNOWFLAKE_WAREHOUSE": "HN_PRODUCTION_WH"}
PRODUCTION |= {"SYSTEM_SNOWFLAKE_BRANCH_ROLE": "HN_BRANCH"}
ENVIRONMENTS: dict[str, dict[str, str]] = {"local": {}, "production": PRODUCTION}
SNOWFLAKE_MODULES = ("snowflake.connector", "dagster_snowflake", "dagster_snowflake_pandas")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rounds", type=int, default=5, help="loads per location and environment (5)")


def load_once(module: str, variables: dict[str, str]) -> dict[str, Any]:
    """In a fresh process: seconds from before ``import dagster`` to validated definitions, and of the import alone."""
    enter(local_environment(**variables))
    assert "dagster" not in sys.modules, "the worker is not fresh"
    started = time.perf_counter()
    import dagster as dg

    imported = time.perf_counter()
    defs = importlib.import_module(module).defs
    dg.Definitions.validate_loadable(defs if isinstance(defs, dg.Definitions) else defs())
    snowflake_modules = [name for name in SNOWFLAKE_MODULES if name in sys.modules]
    seconds = {"load_seconds": time.perf_counter() - started, "import_dagster_seconds": imported - started}
    return seconds | {"snowflake_modules": snowflake_modules}


def run(args: argparse.Namespace) -> dict[str, Any]:
    runs = []
    for _ in range(args.rounds):
        for location, environment in itertools.product(LOCATIONS, ENVIRONMENTS):
            started = time.perf_counter()
            result = in_fresh_process(load_once, LOCATIONS[location], ENVIRONMENTS[environment])
            seconds = time.perf_counter() - started
            runs.append({"location": location, "environment": environment, **result, "process_seconds": seconds})
    return {"runs": runs}


def report(results: dict[str, Any]) -> str:
    rows = []
    for location, environment in itertools.product(LOCATIONS, ENVIRONMENTS):
        runs = [run for run in results["runs"] if (run["location"], run["environment"]) == (location, environment)]
        keys = ("load_seconds", "import_dagster_seconds", "process_seconds")
        medians = [f"{statistics.median(run[key] for run in runs):.2f}" for key in keys]
        modules = [name for name in SNOWFLAKE_MODULES if any(name in run["snowflake_modules"] for run in runs)]
        rows.append([location, environment, *medians, ", ".join(modules) or "none"])
    header = ["location", "environment", "load s (median)", "of which import dagster s", "process wall s"]
    return markdown([*header, "Snowflake modules imported"], rows)
