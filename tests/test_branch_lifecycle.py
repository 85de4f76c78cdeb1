"""The whole branch-deployment lifecycle on an account provisioned by ``deploy/snowflake/``, with three users.

Production (``HN_PRODUCTION_SVC``, role ``HN_PRODUCTION``) materializes and, as CI asks it to, clones ``PRODUCTION``
for PR 42 and hands the clone to the branch role; the branch deployment (``HN_BRANCH_SVC``, role ``HN_BRANCH``,
nothing on ``PRODUCTION``) writes its clone, and is refused when pointed at ``PRODUCTION``; a developer (``ALICE``,
role ``HN_DEVELOPER``) works in a personal schema. Re-clone, a second PR, drop and sweep follow. Production's
tables never change, byte for byte. Both code locations run on the real I/O manager and resource, and the
emulator enforces every grant.
"""

from __future__ import annotations

import dataclasses
import os
import time
from datetime import UTC, datetime, timedelta

import dagster as dg
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from db_ops.definitions import defs as db_ops_defs
from hn_assets.assets import comments, items, stories
from hn_assets.definitions import defs as hn_assets_defs
from hn_core.deployment.environment import resolve_target
from hn_core.deployment.resources import build_warehouse_io_manager
from hn_core.hn_api.http_client import HNAPIClient
from hn_testing._access_statements import Securable
from hn_testing.environments import local_snowflake_variables
from hn_testing.hn_api import RunningHNAPI

TABLES = ("ITEMS", "COMMENTS", "STORIES")
DEVELOPER = "ALICE"


@pytest.fixture
def account(provisioned_snowflake):
    """The provisioned account, plus one developer, as an administrator would add one."""
    provisioned_snowflake.run_script(
        f"USE ROLE USERADMIN;\n"
        f"CREATE USER {DEVELOPER} DEFAULT_ROLE = HN_DEVELOPER DEFAULT_WAREHOUSE = HN_DEVELOPER_WH;\n"
        f"GRANT ROLE HN_DEVELOPER TO USER {DEVELOPER};"
    )
    return provisioned_snowflake


@pytest.fixture
def deploy(use_environment, hn_api_server: RunningHNAPI, code_host):
    """Switch to a deployment: ``deploy("branch", 42)``; every deployment reads the offline HN API, and production
    asks the GitHub stand-in ``code_host`` which pull requests are open."""

    def switch(environment: str, pull_request_id: int | None = None, **extra: str) -> None:
        host = code_host.github if environment == "production" else {}
        use_environment(environment, pull_request_id, HN_API_BASE_URL=hn_api_server.base_url, **host, **extra)

    return switch


def reconcile(instance: dg.DagsterInstance) -> list[dg.RunRequest]:
    """One tick of production's sensor pull_request_clones, whose run requests are launched as the daemon would."""
    definitions = db_ops_defs()
    resources = {key: definitions.resources[key] for key in ("code_host", "snowflake")}
    with dg.build_sensor_context(instance=instance, resources=resources) as context:
        result = definitions.resolve_sensor_def("pull_request_clones")(context)
    requests = result.run_requests if isinstance(result, dg.SensorResult) else []
    for request in requests:
        job = definitions.resolve_job_def(request.job_name)
        assert job.execute_in_process(run_config=request.run_config, tags=request.tags, instance=instance).success
    return requests


def materialize(count: int) -> dg.ExecuteInProcessResult:
    result = (
        hn_assets_defs()
        .resolve_job_def("refresh_hacker_news")
        .execute_in_process(run_config={"ops": {"items": {"config": {"base_item_id": count}}}})
    )
    assert result.success
    return result


def diff_of(result: dg.ExecuteInProcessResult, check_name: str) -> dict:
    [evaluation] = [e for e in result.get_asset_check_evaluations() if e.check_name == check_name]
    return {key: value.value for key, value in evaluation.metadata.items()}


def launch(job_name: str, **op_config: object) -> dg.ExecuteInProcessResult:
    job = db_ops_defs().resolve_job_def(job_name)
    result = job.execute_in_process(run_config={"ops": {job.graph.node_defs[0].name: {"config": op_config}}})
    assert result.success
    return result


def snapshot(emulator, database: str, schema: str = "HACKER_NEWS") -> dict[str, pd.DataFrame]:
    return {table: emulator.read_table(f"{database}.{schema}.{table}") for table in TABLES}


def frames_equal(left: dict[str, pd.DataFrame], right: dict[str, pd.DataFrame]) -> None:
    assert left.keys() == right.keys()
    for table in left:
        assert_frame_equal(left[table], right[table], obj=table)


def as_bytes(tables: dict[str, pd.DataFrame]) -> dict[str, bytes]:
    """Each table serialised in full, so that "unchanged" means byte for byte, not just equal values."""
    return {table: frame.to_csv(index=False).encode() for table, frame in tables.items()}


def owners(emulator, database: str, schema: str = "HACKER_NEWS") -> set[str]:
    """Every role owning the database, the schema or one of the tables."""
    objects = [Securable("DATABASE", database), Securable("SCHEMA", f"{database}.{schema}")]
    objects += [Securable("TABLE", f"{database}.{schema}.{table}") for table in TABLES]
    return {emulator.access.owner(securable) for securable in objects}


def clones(emulator) -> set[str]:
    return {name for name in emulator.databases() if name.startswith("PRODUCTION_CLONE_")}


def materialize_pointed_at(database: str, count: int) -> dg.ExecuteInProcessResult:
    """This deployment's credentials and I/O manager, deliberately pointed at ``database`` past the resolver."""
    target = dataclasses.replace(resolve_target(), database=database)
    resources = {"hn_client": HNAPIClient(), "warehouse_io_manager": build_warehouse_io_manager(target, os.environ)}
    return dg.materialize(
        [items, comments, stories],
        resources=resources,
        run_config={"ops": {"items": {"config": {"base_item_id": count}}}},
        raise_on_error=False,
    )


def test_branch_deployment_lifecycle(deploy, account, code_host) -> None:
    instance = dg.DagsterInstance.ephemeral()  # production's: where the sensor sees the runs it asked for
    deploy("production")
    materialize(200)
    production = snapshot(account, "PRODUCTION")
    production_bytes = as_bytes(production)
    assert len(production["ITEMS"]) > 150
    assert owners(account, "PRODUCTION") == {"HN_PRODUCTION"}

    deploy("local", **local_snowflake_variables(DEVELOPER, DEVELOPER))
    materialize(30)
    assert len(snapshot(account, "LOCAL", DEVELOPER)["ITEMS"]) < 30
    assert owners(account, "LOCAL", DEVELOPER) == {"SYSADMIN", "HN_DEVELOPER"}

    deploy("production")
    code_host.state.add(42, "4" * 40)  # a pull request opens: production's sensor clones it for its head commit
    assert [request.job_name for request in reconcile(instance)] == ["clone_prod"]
    frames_equal(snapshot(account, "PRODUCTION_CLONE_42"), production)
    assert owners(account, "PRODUCTION_CLONE_42") == {"HN_BRANCH"}

    deploy("branch", 42)
    result = materialize(60)
    branch = snapshot(account, "PRODUCTION_CLONE_42")
    assert len(branch["ITEMS"]) < 60
    assert set(branch["ITEMS"]["ID"]) < set(production["ITEMS"]["ID"])
    frames_equal(snapshot(account, "PRODUCTION_CLONE_42", "HACKER_NEWS_BASE"), production)  # read-only for the branch
    items_diff = diff_of(result, "items_differs_from_base")  # the branch's run compares with its base, as the branch
    assert (items_diff["base_rows"], items_diff["head_rows"]) == (len(production["ITEMS"]), len(branch["ITEMS"]))
    assert (items_diff["rows_added"], items_diff["rows_changed"]) == (0, 0)
    assert items_diff["rows_removed"] == len(production["ITEMS"]) - len(branch["ITEMS"])
    assert (items_diff["clone_pull_request"], items_diff["clone_commit"]) == (42, "4" * 40)  # the sensor gave it
    assert items_diff["cloned_at"] <= time.time()
    refused = materialize_pointed_at("PRODUCTION", 10)
    assert not refused.success
    assert "Database 'PRODUCTION' does not exist or not authorized" in str(refused.all_events)
    assert as_bytes(snapshot(account, "PRODUCTION")) == production_bytes

    deploy("production")
    code_host.state.add(42, "5" * 40)  # a new commit on the pull request: a fresh clone, handed over again
    code_host.state.add(43, "6" * 40)
    assert [request.run_key for request in reconcile(instance)] == [f"clone-42-{'5' * 40}-1", f"clone-43-{'6' * 40}-1"]
    frames_equal(snapshot(account, "PRODUCTION_CLONE_42"), production)

    deploy("branch", 43)
    materialize(20)
    deploy("branch", 42)
    materialize(40)
    assert len(snapshot(account, "PRODUCTION_CLONE_43")["ITEMS"]) < 20
    assert 20 <= len(snapshot(account, "PRODUCTION_CLONE_42")["ITEMS"]) < 40

    deploy("production")
    code_host.state.add(42, "5" * 40, state="merged")  # merged, whether or not a close event came
    assert [request.job_name for request in reconcile(instance)] == ["drop_prod_clone"]  # 43's clone is up to date
    launch("drop_prod_clone", pr_id="42")  # a second drop is harmless
    assert clones(account) == {"PRODUCTION_CLONE_43"}

    account.set_database_created_on("PRODUCTION_CLONE_43", datetime.now(UTC) - timedelta(days=30))
    assert launch("sweep_stale_clones", max_age_days=14).output_for_node("drop_stale_clones") == [], "43 is open"
    del code_host.state.pull_requests[43]  # a pull request the host no longer knows: the sweep's
    swept = launch("sweep_stale_clones", max_age_days=14)
    assert swept.output_for_node("drop_stale_clones") == ["PRODUCTION_CLONE_43"]
    assert clones(account) == set()
    assert {"PRODUCTION", "STAGING", "LOCAL"} <= account.databases()
    assert as_bytes(snapshot(account, "PRODUCTION")) == production_bytes
    assert len(snapshot(account, "LOCAL", DEVELOPER)["ITEMS"]) < 30


def test_a_branch_cannot_reach_production_through_its_io_manager(deploy, account) -> None:
    """Without its clone, a branch's materialization fails rather than writing anywhere else."""
    deploy("branch", 44)

    with pytest.raises(Exception, match="does not have a current database"):
        materialize(10)
    assert account.tables("PRODUCTION") == set()
