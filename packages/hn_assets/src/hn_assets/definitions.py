"""Code location ``hn_assets``: the Hacker News assets on the resources of the resolved environment.

``defs`` is built when Dagster loads the location, not when this module is imported, so the environment is read
at load time and a misconfiguration is reported by the location itself, naming every missing variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import dagster as dg

from hn_assets.assets import GROUP, comments, items, stories
from hn_assets.automation import REFRESH_JOB, history_freshness, with_automation
from hn_assets.checks import ALL_CHECKS
from hn_assets.clone_wait import wait_for_clone
from hn_assets.diff_checks import DIFF_CHECKS, has_base
from hn_assets.history_checks import history_definitions
from hn_core.deployment.environment import Target, resolve_target
from hn_core.deployment.resources import build_resources


@dg.definitions
def defs() -> dg.Definitions:
    return location_definitions(resolve_target(os.environ), os.environ)


def source(target: Target, resources: Mapping[str, object]) -> str:
    """Where this location reads and writes, as its jobs' descriptions say it: the UI shows a resource's default
    base URL as blank, and a newcomer who ran the offline quick start should see that the UI reads the public API
    unless told otherwise."""
    client = resources["hn_client"]
    base_url = getattr(client, "base_url", "")
    return f"Here ({target.description}) it reads the HN API at {base_url} (`HN_API_BASE_URL`)."


def location_definitions(
    target: Target, env: Mapping[str, str], latest: Sequence[dg.AssetsDefinition] = (items, comments, stories)
) -> dg.Definitions:
    """The location on ``target``; ``latest`` replaces the guide's three assets (a rehearsed change does)."""
    assets = dg.map_asset_specs(lambda spec: spec.merge_attributes(kinds={target.store.value}), list(latest))
    resources = build_resources(target, env)
    latest_defs = dg.Definitions(
        assets=assets,
        asset_checks=ALL_CHECKS,
        resources=resources,
        jobs=[
            dg.define_asset_job(
                REFRESH_JOB,
                selection=dg.AssetSelection.groups(GROUP),
                description=(
                    "Fetch the N most recent Hacker News items (`base_item_id` in the `items` config) and replace "
                    f"`items`, `comments` and `stories` with them, checks included. {source(target, resources)}"
                ),
            )
        ],
        executor=dg.in_process_executor,
    )
    # Where the warehouse is a clone with a base: the diffs, and the wait for a clone of the deployed commit.
    diffs = dg.Definitions(asset_checks=DIFF_CHECKS, jobs=[wait_for_clone]) if has_base(target) else dg.Definitions()
    history = history_definitions(target, env, freshness_policy=history_freshness(target))
    return with_automation(target, dg.Definitions.merge(latest_defs, history, diffs))
