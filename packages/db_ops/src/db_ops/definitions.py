"""Code location ``db_ops``: clone and drop jobs per pull request, the sensor that runs them, and the sweeper.

In production, the sensor ``pull_request_clones`` asks the code host which pull requests are open and launches
``clone_prod`` for each one's head commit and ``drop_prod_clone`` for the clones of closed ones (``db_ops.reconcile``):
only production's role may clone ``PRODUCTION``, and it inherits the branch role, so it may drop every clone. The jobs
load in every environment, as each deployment runs them (``db_ops.ops.build_jobs``): where one may not run, its
description and tags say so before launch, and a run launched there stops at once with a message naming the right
place and run config (a branch deployment may still drop its own clone; a laptop on DuckDB clones DuckDB files). The
sensor, the sweeper and its daily schedule exist only in production.
"""

import os

import dagster as dg

from db_ops.ops import build_jobs
from db_ops.reconcile import pull_request_clones
from db_ops.resources import build_db_ops_resources
from db_ops.sweeper import sweep_stale_clones, sweep_stale_clones_daily
from hn_core.deployment.environment import Environment, resolve_target


@dg.definitions
def defs() -> dg.Definitions:
    target = resolve_target(os.environ)
    in_production = target.environment is Environment.PRODUCTION
    return dg.Definitions(
        jobs=[*build_jobs(target), *([sweep_stale_clones] if in_production else [])],
        schedules=[sweep_stale_clones_daily] if in_production else [],
        sensors=[pull_request_clones] if in_production else [],
        resources=build_db_ops_resources(target, os.environ),
        executor=dg.in_process_executor,  # one op per job: a step process would only add seconds of imports
    )
