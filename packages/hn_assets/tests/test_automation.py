"""What starts by itself, per environment, and how many history runs fetch at once, shown by Dagster's own daemons.

The location is loaded in each environment the way a deployment loads it (in process, from the environment's
variables), then Dagster's scheduler is ticked at frozen times and its run queue is drained by the queued run
coordinator, with the repository's own ``dagster.yaml`` concurrency settings. Launched runs go to a launcher that
records them instead of executing them: what is under test is what starts, not what it does.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.execution.backfill import PartitionBackfill
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.test_utils import (
    InProcessTestWorkspaceLoadTarget,
    create_test_daemon_workspace_context,
    freeze_time,
    instance_for_test,
)
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._daemon.backfill import execute_backfill_iteration
from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import QueuedRunCoordinatorDaemon
from dagster._scheduler.scheduler import launch_scheduled_runs

from hn_assets.automation import HISTORY_FRESHNESS
from hn_assets.definitions import defs
from hn_assets.history import HN_API_POOL, item_history

ENVIRONMENTS = [("local", None), ("staging", None), ("production", None), ("branch", 42)]
SCHEDULES = ("item_history_hourly", "refresh_hacker_news_hourly")
REPOSITORY_ROOT = Path(__file__).resolve().parents[3]
LOG = logging.getLogger("daemon-under-test")


@pytest.mark.parametrize(("environment", "pull_request_id"), ENVIRONMENTS)
def test_only_production_definitions_start_anything_by_themselves(
    environment, pull_request_id, use_environment
) -> None:
    use_environment(environment, pull_request_id)

    repository = defs().get_repository_def()

    expected = dg.DefaultScheduleStatus.RUNNING if environment == "production" else dg.DefaultScheduleStatus.STOPPED
    assert {schedule.name: schedule.default_status for schedule in repository.schedule_defs} == dict.fromkeys(
        SCHEDULES, expected
    )
    assert repository.sensor_defs == [], "no sensor, not even Dagster's default automation condition sensor"
    said = "Running from the first deploy" if environment == "production" else f"Stopped here ({environment})"
    assert all(said in schedule.description for schedule in repository.schedule_defs), "the UI says so up front"
    graph = repository.asset_graph
    assert all(graph.get(key).automation_condition is None for key in graph.get_all_asset_keys())
    assert all(graph.get_check_spec(key).automation_condition is None for key in graph.asset_check_keys)
    freshness = {key.to_user_string(): graph.get(key).freshness_policy for key in graph.get_all_asset_keys()}
    expected_freshness = HISTORY_FRESHNESS if environment == "production" else None
    assert freshness == {"items": None, "comments": None, "stories": None, "item_history": expected_freshness}


def test_the_history_schedule_asks_for_the_hour_that_has_just_ended(use_environment) -> None:
    use_environment("production")
    schedule = defs().resolve_schedule_def("item_history_hourly")

    tick = schedule.evaluate_tick(
        dg.build_schedule_context(scheduled_execution_time=datetime(2026, 11, 21, 10, 5, tzinfo=UTC))
    )

    assert schedule.cron_schedule == "5 * * * *"
    assert [request.partition_key for request in tick.run_requests or []] == ["2026-11-21-09:00"]


@contextmanager
def deployment(concurrency: dict | None = None) -> Iterator[tuple[dg.DagsterInstance, WorkspaceProcessContext]]:
    """An instance with a queued run coordinator and a recording launcher, and the location loaded in process."""
    overrides = {
        "run_launcher": {"module": "dagster._core.test_utils", "class": "MockedRunLauncher"},
        "run_coordinator": {"module": "dagster._core.run_coordinator", "class": "QueuedRunCoordinator"},
    }
    if concurrency is not None:
        overrides["concurrency"] = concurrency
    origin = LoadableTargetOrigin(module_name="hn_assets.definitions", attribute="defs")
    target = InProcessTestWorkspaceLoadTarget(InProcessCodeLocationOrigin(origin, location_name="hn_assets"))
    with (
        instance_for_test(overrides=overrides) as instance,
        create_test_daemon_workspace_context(target, instance) as context,
    ):
        yield instance, context


def tick_scheduler(context: WorkspaceProcessContext, moment: datetime) -> None:
    with freeze_time(moment):
        list(launch_scheduled_runs(context, LOG, moment, iteration_times={}))


@pytest.mark.parametrize(("environment", "pull_request_id"), ENVIRONMENTS)
def test_the_scheduler_starts_runs_in_production_only(environment, pull_request_id, use_environment) -> None:
    use_environment(environment, pull_request_id)

    with deployment() as (instance, context):
        for moment in (  # the first tick sees the schedules; the next ones are due at :05 and :15
            datetime(2026, 11, 21, 10, 4, tzinfo=UTC),
            datetime(2026, 11, 21, 10, 5, 30, tzinfo=UTC),
            datetime(2026, 11, 21, 10, 15, 30, tzinfo=UTC),
        ):
            tick_scheduler(context, moment)
        started = sorted((run.job_name, run.tags.get("dagster/partition")) for run in instance.get_runs())

    if environment == "production":
        assert started == [("refresh_hacker_news", None), ("refresh_item_history", "2026-11-21-09:00")]
    else:
        assert started == []


def repository_concurrency() -> dict:
    """The ``concurrency`` section of the repository's ``dagster.yaml``, what `dg dev` and the quick start use."""
    return yaml.safe_load((REPOSITORY_ROOT / "dagster.yaml").read_text())["concurrency"]


def backfill_hours(
    instance: dg.DagsterInstance, context: WorkspaceProcessContext, count: int, day: int = 20
) -> list[str]:
    hours = [f"2026-11-{day:02d}-{hour:02d}:00" for hour in range(count)]
    instance.add_backfill(
        PartitionBackfill.from_asset_partitions(
            backfill_id=f"history{day}-{count}",
            asset_graph=context.create_request_context().asset_graph,
            partition_names=hours,
            asset_selection=[item_history.key],
            backfill_timestamp=time.time(),
            tags={},
            dynamic_partitions_store=instance,
            all_partitions=False,
            title=None,
            description=None,
            run_config=None,
        )
    )
    list(execute_backfill_iteration(context, LOG))
    return hours


def drain_queue(context: WorkspaceProcessContext) -> None:
    list(QueuedRunCoordinatorDaemon(interval_seconds=1).run_iteration(context))


def statuses(instance: dg.DagsterInstance) -> dict[str, int]:
    counts: dict[str, int] = {}
    for run in instance.get_runs():
        counts[run.status.value] = counts.get(run.status.value, 0) + 1
    return counts


@pytest.mark.parametrize(
    ("environment", "pull_request_id", "limit"), [("local", None, 1), ("production", None, 3), ("branch", 42, 2)]
)
def test_backfills_run_their_hours_in_one_run_each_and_at_most_the_pool_limit_at_once(
    environment, pull_request_id, limit, use_environment
) -> None:
    """A backfill of 12 hours is one run (``BackfillPolicy.single_run``) of the whole range, holding a slot of the
    ``hn_api`` pool for its whole length (pool granularity ``run``); several backfills start at most the limit.

    The limit is set explicitly, as the README says to (``dagster instance concurrency set hn_api 1`` on a laptop, the
    deployment's concurrency settings in Dagster+): Dagster 1.13 applies ``default_limit`` to a pool only from the
    second pass of its run queue after the pool first appears, so a first backfill on a fresh instance would start
    up to ``max_concurrent_runs`` hours at once.
    """
    use_environment(environment, pull_request_id)
    concurrency = repository_concurrency()
    assert concurrency["pools"] == {"granularity": "run", "default_limit": 1}

    with deployment(concurrency) as (instance, context):
        instance.event_log_storage.set_concurrency_slots(HN_API_POOL, limit)
        backfills = [backfill_hours(instance, context, 12, day) for day in range(10, 10 + limit + 2)]
        ranges = sorted(
            (run.tags["dagster/asset_partition_range_start"], run.tags["dagster/asset_partition_range_end"])
            for run in instance.get_runs()
        )
        queued = statuses(instance)

        drain_queue(context)
        first_wave = statuses(instance)
        launched = [run for run in instance.get_runs() if run.status == dg.DagsterRunStatus.STARTING]
        instance.report_run_canceled(launched[0])  # one hour ends: its slot is free again
        drain_queue(context)
        second_wave = statuses(instance)
        pools = {frozenset(run.run_op_concurrency.all_pools) for run in instance.get_runs()}

    assert ranges == [(hours[0], hours[-1]) for hours in backfills]
    assert queued == {"QUEUED": len(backfills)}
    assert first_wave == {"STARTING": limit, "QUEUED": len(backfills) - limit}
    assert second_wave == {"STARTING": limit, "CANCELED": 1, "QUEUED": len(backfills) - limit - 1}
    assert pools == {frozenset({HN_API_POOL})}
