"""The machine a benchmark ran on, and how fast and how busy it was: written beside every result."""

from __future__ import annotations

import os
import platform
import sys
import timeit
from importlib import metadata
from typing import Any

import psutil

PACKAGES = ("aiohttp", "uvloop", "yarl", "msgspec", "psutil", "dagster", "pandas", "duckdb")


def cpu_model() -> str:
    """The processor's name, which neither ``platform`` nor psutil reports on Linux."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            return next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown"


def describe() -> dict[str, Any]:
    """What a reader needs to compare a result with their own."""
    return {
        "cpu": cpu_model(),
        "logical_cpus": psutil.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "platform": platform.platform(),
        "python": f"{platform.python_implementation()} {sys.version.split()[0]}",
        "packages": {name: metadata.version(name) for name in PACKAGES},
        # Microseconds for sum(range(1000)), best of five: a shared machine's speed changes from day to day.
        "speed_probe_us": round(min(timeit.repeat("sum(range(1000))", number=10_000, repeat=5)) / 10_000 * 1e6, 2),
        "load_average": [round(value, 2) for value in os.getloadavg()],
    }


def summary(machine: dict[str, Any]) -> str:
    """One line for the top of a report."""
    return (
        f"{machine['logical_cpus']} CPUs ({machine['cpu']}), {machine['memory_gib']} GiB, {machine['python']}, "
        f"sum(range(1000)) in {machine['speed_probe_us']} us, load {machine['load_average'][0]}"
    )
