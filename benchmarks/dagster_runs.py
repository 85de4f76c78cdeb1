"""What the benchmarks share: Dagster runs' environments and step times, and Markdown tables. It imports no Dagster,
as fresh workers import it before their clock."""

import os
import resource
import statistics
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks.processes import REPO_ROOT


def local_environment(**variables: str) -> dict[str, str]:
    """This process's environment in the local environment, without any deployment's settings, plus ``variables``."""
    deployed = ("DAGSTER_CLOUD", "SNOWFLAKE", "SYSTEM_SNOWFLAKE", "DEV_SNOWFLAKE", "HN_")
    kept = {name: value for name, value in os.environ.items() if not name.startswith(deployed)}
    return kept | {"DAGSTER_DEPLOYMENT": "local"} | variables


def enter(environment: Mapping[str, str]) -> None:
    """What a fresh worker does before importing anything: make ``environment`` its whole environment, and silence
    its standard error, where Dagster logs every event (an error reaches the parent as the worker's exception)."""
    os.environ.clear()
    os.environ.update(environment)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 2)


def dagster_home(folder: Path, tree: Path = REPO_ROOT) -> dict[str, str]:
    """``DAGSTER_HOME`` in ``folder``, configured like ``tree``'s ``dagster.yaml`` (run queue, pools) but with its
    storage in ``folder``: a fresh instance, which the repository's earlier runs do not weigh on."""
    config = tree / "dagster.yaml"
    text = config.read_text().replace(".dagster_home", str(folder)) if config.exists() else ""
    (folder / "dagster.yaml").write_text(text)
    return {"DAGSTER_HOME": str(folder)}


def step_seconds(instance: Any, run_id: str) -> dict[str, float]:
    """Wall seconds of each step of a finished run, from the instance's step statistics."""
    stats = instance.get_run_step_stats(run_id)
    return {step.step_key: step.end_time - step.start_time for step in stats if step.start_time and step.end_time}


def peak_rss_mb() -> float:
    """This process's peak resident memory since it started, in MB: at least its parent's when it was spawned."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6


def spread(values: Sequence[float], digits: int = 2) -> str:
    """The median, with the range when there is more than one value: ``3.3 (3.2-3.7)``."""
    median = f"{statistics.median(values):.{digits}f}"
    return median if len(values) < 2 else f"{median} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def markdown(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A Markdown table."""
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(str(cell) for cell in line) + " |" for line in lines)
