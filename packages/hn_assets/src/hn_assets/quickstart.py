"""Offline quick start: materialize items, comments and stories into the local DuckDB file, no network needed.

It serves generated items from the offline HN API on 127.0.0.1, loads this location exactly as `dg dev` would in
the local environment, and runs `refresh_hacker_news` on the project's Dagster instance, the one `dg dev` and
`dagster dev` use from the repository root (configured by its `dagster.yaml`, stored in `.dagster_home/`). The run
is created as the UI would create it, with the origin of the code location `hn_assets` (the tag
`.dagster/repository` that the job's pages filter on), so the UI lists it under `refresh_hacker_news`, on the
Overview and the timeline, and re-executes it as that job. It ends with the row count of each table and what the
fetch left out, or with one line saying why the run failed, then the commands that open the UI on an offline HN
API.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import NoReturn
from unittest import mock

import dagster as dg
import duckdb
from dagster._cli.utils import get_possibly_temporary_instance_for_cli  # what `dg dev` and `dagster dev` use
from dagster._core.definitions.job_base import InMemoryJob
from dagster._core.execution.api import execute_run
from dagster._core.remote_origin import (
    ManagedGrpcPythonEnvCodeLocationOrigin,
    RemoteJobOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

from hn_assets.offline_api import serve_generated_items
from hn_core.deployment.environment import Environment, Store, resolve_target

TABLES = ("ITEMS", "COMMENTS", "STORIES")
#: The code location as workspace.yaml and the dg project name it: module, attribute, location.
LOCATION_MODULE, LOCATION_ATTRIBUTE, LOCATION_NAME = "hn_assets.definitions", "defs", "hn_assets"
#: Definitions(...) has one repository, Dagster's singleton.
REPOSITORY_NAME = "__repository__"
JOB_NAME = "refresh_hacker_news"
#: The offline HN API's port in the README's commands.
OFFLINE_PORT = 8765
MAX_FIXTURE_SIZE = 1_000_000
#: Files that mark the repository root, where `dg dev` runs and whose dagster.yaml configures the instance.
ROOT_MARKERS = ("dg.toml", "dagster.yaml")


class OneLineArgumentParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line naming the flag and what it accepts, without the usage."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = OneLineArgumentParser(prog="hn-quickstart", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--items", type=int, default=1_000, help="N, how many of the most recent items to fetch (1 to --fixture-size)"
    )
    parser.add_argument(
        "--fixture-size",
        type=int,
        default=5_000,
        help=f"how many generated items the offline server holds, ids 1 to SIZE (1 to {MAX_FIXTURE_SIZE:,})",
    )
    parser.add_argument("--verbose", action="store_true", help="print Dagster's debug events too")
    args = parser.parse_args(argv)
    if not 1 <= args.fixture_size <= MAX_FIXTURE_SIZE:
        parser.error(f"argument --fixture-size: must be from 1 to {MAX_FIXTURE_SIZE:,}, got {args.fixture_size:,}")
    if not 1 <= args.items <= args.fixture_size:
        parser.error(
            f"argument --items: must be from 1 to --fixture-size ({args.fixture_size:,}), got {args.items:,}; "
            "raise --fixture-size to fetch more"
        )
    return args


def repository_root(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` holding the workspace's ``dg.toml`` and ``dagster.yaml``."""
    return next(
        (folder for folder in (start, *start.parents) if all((folder / m).is_file() for m in ROOT_MARKERS)), None
    )


@contextmanager
def project_instance(in_checkout: bool) -> Iterator[dg.DagsterInstance]:
    """The instance `dg dev` would use: ``DAGSTER_HOME`` if set, else the repository root's ``dagster.yaml``.

    Run from the repository root (``main`` moves there). Outside a checkout: a throwaway instance.
    """
    if not in_checkout:
        with dg.DagsterInstance.ephemeral() as instance:
            yield instance
        return
    with get_possibly_temporary_instance_for_cli(
        "hn-quickstart", logger=logging.getLogger("hn_quickstart")
    ) as instance:
        yield instance


def prepare_pools(instance: dg.DagsterInstance, definitions: dg.Definitions) -> None:
    """Give each pool of the location its default limit now, not on the run queue's first sight of it.

    Dagster's queue (1.13, ``GlobalOpConcurrencyLimitsCounter``) sets an unseen pool's default limit during a dequeue
    pass but reads the limits it enforces before that, so two runs queued before the pool's first pass would both
    start. The quick start is the first thing a newcomer runs, so it closes that window for them.
    """
    for pool in set().union(*(node.pools or set() for node in definitions.resolve_asset_graph().asset_nodes)):
        instance.event_log_storage.initialize_concurrency_limit_to_default(pool)


def run_in_location(
    instance: dg.DagsterInstance, definitions: dg.Definitions, run_config: Mapping[str, object]
) -> dg.JobExecutionResult:
    """Run the job in this process, recorded as a run of the code location ``hn_assets``.

    ``execute_in_process`` records a run without a code location: the UI shows it in the Runs list only, and offers
    to re-execute it as "a different version" of the job. Here the run carries the origin `dg dev` gives the
    location (its module and attribute, this interpreter, the repository root), as a launch from the UI would, and
    then executes here, as ``execute_in_process`` does (``execute_run`` of the job in memory).
    """
    code_location = ManagedGrpcPythonEnvCodeLocationOrigin(
        LoadableTargetOrigin(
            executable_path=sys.executable,
            module_name=LOCATION_MODULE,
            attribute=LOCATION_ATTRIBUTE,
            working_directory=os.getcwd(),
        ),
        location_name=LOCATION_NAME,
    )
    job = definitions.resolve_job_def(JOB_NAME)
    run = instance.create_run_for_job(
        job_def=job,
        run_config=run_config,
        remote_job_origin=RemoteJobOrigin(RemoteRepositoryOrigin(code_location, REPOSITORY_NAME), JOB_NAME),
    )
    return execute_run(InMemoryJob(job), run, instance)


def row_counts(path: str, schema: str) -> dict[str, int]:
    with duckdb.connect(path, read_only=True) as connection:
        return {table: connection.execute(f"SELECT count(*) FROM {schema}.{table}").fetchone()[0] for table in TABLES}


def failure_line(result: dg.JobExecutionResult) -> str:
    """Why the run failed, in one line: the first failed step's own message."""
    for event in result.get_step_failure_events():
        failure = event.event_specific_data
        if failure.user_failure_data is not None and failure.user_failure_data.description:
            reason = failure.user_failure_data.description
        else:  # the first error below Dagster's own wrappers is the one that says what went wrong
            error = failure.error
            while error.cls_name.startswith("Dagster") and error.cause is not None:
                error = error.cause
            reason = error.message.split(": ", 1)[-1]  # without its "module.ErrorClass: " prefix
        return f"step {event.step_key}: {reason.strip().splitlines()[0]}"
    return "see the run's log in the UI"


def summary(result: dg.JobExecutionResult, target_path: str, schema: str, count: int) -> str:
    fetched = result.asset_materializations_for_node("items")[0].metadata
    left_out = {key: fetched[f"{key}_count"].value for key in ("deleted", "missing", "failed")}
    lines = [f"Materialized the {count:,} most recent items into {target_path} (schema {schema}):"]
    lines += [f"  {table:<9} {rows:>7,} rows" for table, rows in row_counts(target_path, schema).items()]
    lines.append(
        f"ITEMS has no row for {left_out['deleted']:,} deleted items and {left_out['missing']:,} ids the API "
        f"answered with null; {left_out['failed']:,} ids failed."
    )
    return "\n".join(lines)


def serve_offline_api(stack: ExitStack, fixture_size: int) -> str:
    """The offline API's base URL, served for the rest of ``stack``: on the README's port where it is free.

    There the run is the one `dg dev` with ``HN_API_BASE_URL`` at that port would make: the same job (whose
    description and ``hn_client`` name the URL), so the UI re-executes it as that job, against that server. Where the
    port is taken (an ``hn-api-server`` already there, another quick start), a free one.
    """
    try:
        return stack.enter_context(serve_generated_items(fixture_size, port=OFFLINE_PORT))
    except OSError:
        return stack.enter_context(serve_generated_items(fixture_size))


def next_steps(fixture_size: int) -> str:
    """How to open the UI on the offline API: without HN_API_BASE_URL the UI's runs would read the public API."""
    return (
        "Open the UI on an offline HN API (without HN_API_BASE_URL its runs read the public one):\n"
        f"  uv run hn-api-server --port {OFFLINE_PORT} --items {fixture_size} &\n"
        f"  HN_API_BASE_URL=http://127.0.0.1:{OFFLINE_PORT} uv run dg dev --use-active-venv"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    root = repository_root(Path.cwd())
    if root is not None:
        # Where `dg dev` always runs: relative paths (the instance's storage, HN_DUCKDB_PATH) mean the same here.
        os.chdir(root)
    target = resolve_target(os.environ)
    if target.environment is not Environment.LOCAL or target.store is not Store.DUCKDB:
        raise SystemExit(
            f"hn-quickstart: writes only to the local DuckDB file; this environment is {target.description}."
        )
    from hn_assets.definitions import defs

    log_level = "DEBUG" if args.verbose else "INFO"
    with ExitStack() as stack:
        instance = stack.enter_context(project_instance(root is not None))
        base_url = serve_offline_api(stack, args.fixture_size)
        stack.enter_context(mock.patch.dict(os.environ, {"HN_API_BASE_URL": base_url}))
        definitions = defs()
        if instance.is_persistent:
            prepare_pools(instance, definitions)
        run_config = {
            "ops": {"items": {"config": {"base_item_id": args.items}}},
            "loggers": {"console": {"config": {"log_level": log_level}}},
        }
        result = run_in_location(instance, definitions, run_config)
        recorded = instance.is_persistent
    if not result.success:
        print(f"hn-quickstart: the run failed, nothing more was written: {failure_line(result)}")
        return 1
    print(summary(result, str(target.duckdb_path), target.schema, args.items))
    if recorded:
        print(f"Run {result.run_id[:8]} is in the project's Dagster instance, under the job {JOB_NAME}.")
    else:
        print(f"Run {result.run_id[:8]} ran on a throwaway instance: run from the repository root to keep it.")
    print(next_steps(args.fixture_size))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
