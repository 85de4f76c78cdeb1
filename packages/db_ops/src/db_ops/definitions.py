"""Code location ``db_ops``: clone and drop jobs per pull request, and the stale-clone sweeper.

The clone and drop jobs load in every environment, because CI launches ``clone_prod`` inside each branch
deployment and ``drop_prod_clone`` either there or in production with the PR id as run config. The sweeper and its
daily schedule exist only in production: elsewhere the credentials may own other pull requests' clones.
"""

import os

import dagster as dg

from db_ops.ops import clone_prod, drop_prod_clone
from db_ops.sweeper import sweep_stale_clones, sweep_stale_clones_daily
from hn_core.environment import Environment, resolve_target
from hn_core.resources import build_snowflake_resource


@dg.definitions
def defs() -> dg.Definitions:
    target = resolve_target(os.environ)
    in_production = target.environment is Environment.PRODUCTION
    return dg.Definitions(
        jobs=[clone_prod, drop_prod_clone, *([sweep_stale_clones] if in_production else [])],
        schedules=[sweep_stale_clones_daily] if in_production else [],
        resources={"snowflake": build_snowflake_resource(target, os.environ)},
    )
