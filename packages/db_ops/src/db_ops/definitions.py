"""Code location ``db_ops``: clone and drop jobs per pull request, and the stale-clone sweeper.

The jobs load in every environment, because CI launches ``clone_prod`` inside each branch deployment and
``drop_prod_clone`` either there or in production with the PR id as run config. The sweeper's schedule runs by
default only in production.
"""

import os

import dagster as dg

from db_ops.ops import clone_prod, drop_prod_clone
from db_ops.sweeper import sweep_schedule, sweep_stale_clones
from hn_core.environment import Environment, resolve_target
from hn_core.resources import build_resources


@dg.definitions
def defs() -> dg.Definitions:
    target = resolve_target(os.environ)
    resources = build_resources(target, os.environ)
    return dg.Definitions(
        jobs=[clone_prod, drop_prod_clone, sweep_stale_clones],
        schedules=[sweep_schedule(running=target.environment is Environment.PRODUCTION)],
        resources={"snowflake": resources["snowflake"]},
    )
