"""The whole branch-deployment lifecycle, with both code locations on the real I/O manager and resource.

Production materializes; PR 42's branch clones production, writes a different N into its clone, is re-cloned, and
dropped; PR 43's clone lives beside it. Production's tables never change.
"""

from __future__ import annotations

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from snowflake.connector.errors import ProgrammingError

from db_ops.definitions import defs as db_ops_defs
from hn_assets.definitions import defs as hn_assets_defs
from hn_testing.hn_api import RunningHNAPI

TABLES = ("ITEMS", "COMMENTS", "STORIES")


@pytest.fixture
def deploy(use_environment, hn_api_server: RunningHNAPI):
    """Switch to a deployment: ``deploy("branch", 42)``; every deployment reads the offline HN API."""

    def switch(environment: str, pull_request_id: int | None = None) -> None:
        use_environment(environment, pull_request_id, HN_API_BASE_URL=hn_api_server.base_url)

    return switch


def materialize(count: int) -> None:
    result = (
        hn_assets_defs()
        .resolve_job_def("refresh_hacker_news")
        .execute_in_process(run_config={"ops": {"items": {"config": {"base_item_id": count}}}})
    )
    assert result.success


def launch(job_name: str, **op_config: str) -> None:
    job = db_ops_defs().resolve_job_def(job_name)
    result = job.execute_in_process(run_config={"ops": {job.graph.node_defs[0].name: {"config": op_config}}})
    assert result.success


def snapshot(emulator, database: str) -> dict[str, pd.DataFrame]:
    return {table: emulator.read_table(f"{database}.HACKER_NEWS.{table}") for table in TABLES}


def frames_equal(left: dict[str, pd.DataFrame], right: dict[str, pd.DataFrame]) -> None:
    assert left.keys() == right.keys()
    for table in left:
        assert_frame_equal(left[table], right[table], obj=table)


def as_bytes(tables: dict[str, pd.DataFrame]) -> dict[str, bytes]:
    """Each table serialised in full, so that "unchanged" means byte for byte, not just equal values."""
    return {table: frame.to_csv(index=False).encode() for table, frame in tables.items()}


def test_branch_deployment_lifecycle(deploy, snowflake_emulator) -> None:
    deploy("production")
    materialize(200)
    production = snapshot(snowflake_emulator, "PRODUCTION")
    production_bytes = as_bytes(production)
    assert len(production["ITEMS"]) > 150

    deploy("branch", 42)
    launch("clone_prod")
    frames_equal(snapshot(snowflake_emulator, "PRODUCTION_CLONE_42"), production)

    materialize(60)
    branch = snapshot(snowflake_emulator, "PRODUCTION_CLONE_42")
    assert len(branch["ITEMS"]) < 60
    assert set(branch["ITEMS"]["ID"]) < set(production["ITEMS"]["ID"])
    assert as_bytes(snapshot(snowflake_emulator, "PRODUCTION")) == production_bytes

    launch("clone_prod")
    launch("clone_prod")
    frames_equal(snapshot(snowflake_emulator, "PRODUCTION_CLONE_42"), production)

    deploy("branch", 43)
    launch("clone_prod")
    materialize(20)
    deploy("branch", 42)
    frames_equal(snapshot(snowflake_emulator, "PRODUCTION_CLONE_42"), production)
    assert len(snapshot(snowflake_emulator, "PRODUCTION_CLONE_43")["ITEMS"]) < 20

    launch("drop_prod_clone")
    assert "PRODUCTION_CLONE_42" not in snowflake_emulator.databases()
    assert "PRODUCTION_CLONE_43" in snowflake_emulator.databases()

    deploy("production")
    launch("drop_prod_clone", pr_id="43")
    assert not {name for name in snowflake_emulator.databases() if name.startswith("PRODUCTION_CLONE")}
    assert as_bytes(snapshot(snowflake_emulator, "PRODUCTION")) == production_bytes


def test_a_branch_cannot_reach_production_through_its_io_manager(deploy, snowflake_emulator) -> None:
    """Without its clone, a branch's materialization fails rather than writing anywhere else."""
    deploy("branch", 44)

    with pytest.raises(ProgrammingError, match="does not have a current database"):
        materialize(10)
    assert snowflake_emulator.tables("PRODUCTION") == set()
