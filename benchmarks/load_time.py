"""Definitions load time of each code location in each environment, one fresh process per load."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.child import child_env, module_command, run_json
from benchmarks.machine import load_average

LOCATIONS = {
    "hn_assets": "hn_assets.definitions",
    "db_ops": "db_ops.definitions",
    "guide": "benchmarks.guide_definitions",
}

#: Environment variables of each environment; ``None`` unsets. Credentials are dummies: loading reads no secret.
ENVIRONMENTS: dict[str, dict[str, str | None]] = {
    "local": {"DAGSTER_DEPLOYMENT": "local", "HN_LOCAL_WAREHOUSE": None},
    "production": {
        "DAGSTER_DEPLOYMENT": "production",
        "SNOWFLAKE_ACCOUNT": "dummy-account",
        "SYSTEM_SNOWFLAKE_USER": "dummy-user",
        "SYSTEM_SNOWFLAKE_PASSWORD": "dummy-password",
        "SYSTEM_SNOWFLAKE_ROLE": "HN_PRODUCTION",
        "SYSTEM_SNOWFLAKE_WAREHOUSE": "HN_PRODUCTION_WH",
        "SYSTEM_SNOWFLAKE_BRANCH_ROLE": "HN_BRANCH",
    },
}
CLEARED = ("DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT", "DAGSTER_CLOUD_PULL_REQUEST_ID")


def load_once(location: str, environment: str, scratch: Path) -> dict[str, Any]:
    """Load ``location`` in ``environment`` in a fresh process; its timings, as the process saw them and ours."""
    overrides = dict.fromkeys(CLEARED) | ENVIRONMENTS[environment]
    overrides["HN_DUCKDB_PATH"] = str(scratch / "hn.duckdb")
    started = time.perf_counter()
    result = run_json(module_command("benchmarks.load_probe", LOCATIONS[location]), env=child_env(overrides))
    result["process_seconds"] = time.perf_counter() - started
    result["load_average_after"] = load_average()
    return result


def measure_load_times(runs: int) -> list[dict[str, Any]]:
    """Every location in every environment, ``runs`` times, interleaved so that changes in load hit all alike."""
    cells = [(location, environment) for location in LOCATIONS for environment in ENVIRONMENTS]
    measured: dict[tuple[str, str], list[dict[str, Any]]] = {cell: [] for cell in cells}
    with tempfile.TemporaryDirectory() as scratch:
        for _ in range(runs):
            for cell in cells:
                measured[cell].append(load_once(*cell, Path(scratch)))
    return [summarize(location, environment, measured[location, environment]) for location, environment in cells]


def summarize(location: str, environment: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the runs, and whether any run imported a Snowflake module."""
    snowflake = {name: any(run["snowflake_modules"][name] for run in runs) for name in runs[0]["snowflake_modules"]}
    return {
        "location": location,
        "environment": environment,
        "module": LOCATIONS[location],
        "runs": runs,
        "median_load_seconds": statistics.median(run["load_seconds"] for run in runs),
        "median_import_dagster_seconds": statistics.median(run["import_dagster_seconds"] for run in runs),
        "median_process_seconds": statistics.median(run["process_seconds"] for run in runs),
        "snowflake_modules": snowflake,
        "imports_snowflake": any(snowflake.values()),
    }
