"""What starts by itself, per environment: in production everything refreshes on its own, elsewhere nothing does.

- **production**: ``item_history_hourly`` materializes, at five past every hour, the hour that has just ended, and
  ``refresh_hacker_news_hourly`` refreshes ``items``, ``comments`` and ``stories`` at a quarter past. Both are
  ``RUNNING`` from the first deploy (their default status: nobody has to remember to switch them on), and
  ``item_history`` has a freshness policy: an hour is late if nothing was materialized by half past.
- **staging, local and branch deployments**: the same schedules exist, so their runs can be previewed ("Test
  tick result" in the UI) and a release rehearsed, but they are ``STOPPED``: no run starts unless someone starts it.
  Staging is where a release is tried against its own copy of the warehouse; refreshing that copy every hour would
  double the load on the HN API and the warehouse for data nobody reads. A branch deployment lives as long as its
  pull request and writes its clone only when someone asks it to. No freshness policy there either: nothing refreshes
  those copies by design, so it could only ever report them late.

No asset carries an ``AutomationCondition``, so Dagster creates no ``default_automation_condition_sensor`` (whose
default status is not ours to choose) in any environment, and this module is the one place that decides what runs on
its own. Dagster keeps a schedule's status once someone changes it in the UI: a schedule switched on in staging stays
on until switched off there.
"""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from hn_assets.history_checks import item_history_job
from hn_core.deployment.environment import Environment, Target

#: The job that refreshes the guide's assets (defined with them, in ``hn_assets.definitions``).
REFRESH_JOB = "refresh_hacker_news"
#: Expect an hour of history by half past the next hour: its run starts at five past and takes seconds.
HISTORY_FRESHNESS = dg.FreshnessPolicy.cron(deadline_cron="30 * * * *", lower_bound_delta=timedelta(minutes=30))


def runs_on_its_own(target: Target) -> bool:
    """Whether this environment's schedules start by themselves: production only."""
    return target.environment is Environment.PRODUCTION


def where_it_runs(target: Target) -> str:
    """The sentence each schedule's description ends with: whether it starts runs here, and why."""
    if runs_on_its_own(target):
        return "Running from the first deploy in production."
    return (
        f"Stopped here ({target.environment.value}): schedules start runs on their own in production only. "
        "Preview a tick, or start the schedule here by hand."
    )


def schedules(target: Target) -> list[dg.ScheduleDefinition]:
    """The hourly schedules, ``RUNNING`` in production and ``STOPPED`` everywhere else, each saying which."""
    status = dg.DefaultScheduleStatus.RUNNING if runs_on_its_own(target) else dg.DefaultScheduleStatus.STOPPED
    return [
        dg.build_schedule_from_partitioned_job(
            item_history_job,
            name="item_history_hourly",
            minute_of_hour=5,
            default_status=status,
            description=f"At five past every hour, the hour that has just ended. {where_it_runs(target)}",
        ),
        dg.ScheduleDefinition(
            name="refresh_hacker_news_hourly",
            job_name=REFRESH_JOB,
            cron_schedule="15 * * * *",
            execution_timezone="UTC",
            default_status=status,
            description=(
                f"At a quarter past every hour, the N most recent items, comments and stories. {where_it_runs(target)}"
            ),
        ),
    ]


def history_freshness(target: Target) -> dg.FreshnessPolicy | None:
    """The history's freshness policy: production's only (nothing refreshes the other copies by design)."""
    return HISTORY_FRESHNESS if runs_on_its_own(target) else None


def with_automation(target: Target, definitions: dg.Definitions) -> dg.Definitions:
    """``definitions`` with this environment's schedules (the freshness policy is the history's own, above)."""
    return dg.Definitions.merge(definitions, dg.Definitions(schedules=schedules(target)))
