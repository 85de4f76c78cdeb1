"""Both code locations load in every environment, and the local one never imports Snowflake libraries.

This is what ``dagster definitions validate`` checks, done in-process so that every environment costs milliseconds;
``.ci/validate-definitions`` runs the CLI itself.
"""

from __future__ import annotations

import subprocess
import sys
import warnings

import dagster as dg
import pytest

from db_ops.definitions import defs as db_ops_defs
from hn_assets.definitions import defs as hn_assets_defs

ENVIRONMENTS = [("local", None), ("staging", None), ("production", None), ("branch", 42)]


@pytest.mark.parametrize(("environment", "pull_request_id"), ENVIRONMENTS)
def test_both_locations_load(environment: str, pull_request_id: int | None, use_environment) -> None:
    use_environment(environment, pull_request_id)

    with warnings.catch_warnings():  # a deployment's logs open with its location loading: no Beta or Preview notice
        warnings.simplefilter("error", dg.BetaWarning)
        warnings.simplefilter("error", dg.PreviewWarning)
        assets = hn_assets_defs()
        db_ops = db_ops_defs()
    dg.Definitions.validate_loadable(assets)
    dg.Definitions.validate_loadable(db_ops)

    store = "duckdb" if environment == "local" else "snowflake"
    assert {str(spec.key.path[0]): store in spec.kinds for spec in assets.resolve_all_asset_specs()} == {
        "items": True,
        "comments": True,
        "stories": True,
        "item_history": True,
    }
    sweeper = {"sweep_stale_clones"} if environment == "production" else set()
    assert {job.name for job in db_ops.jobs} == {"clone_prod", "drop_prod_clone", *sweeper}


def test_a_location_with_missing_credentials_fails_to_load_naming_them(use_environment, monkeypatch) -> None:
    use_environment("production")
    monkeypatch.delenv("SYSTEM_SNOWFLAKE_PASSWORD")
    monkeypatch.delenv("SNOWFLAKE_ACCOUNT")

    with pytest.raises(
        ValueError, match="SNOWFLAKE_ACCOUNT, SYSTEM_SNOWFLAKE_PASSWORD or SYSTEM_SNOWFLAKE_PRIVATE_KEY"
    ):
        hn_assets_defs()


@pytest.mark.parametrize("module", ["hn_assets.definitions", "db_ops.definitions"])
def test_local_definitions_load_quietly_and_import_no_snowflake_library(module: str) -> None:
    """Loading a location warns of nothing Dagster marks Beta or Preview (every command a newcomer runs loads it),
    and the local one never imports Snowflake's libraries."""
    probe = (
        "import os, sys, warnings\n"
        "from dagster import BetaWarning, PreviewWarning\n"
        "warnings.simplefilter('error', BetaWarning)\n"
        "warnings.simplefilter('error', PreviewWarning)\n"
        "os.environ['DAGSTER_DEPLOYMENT'] = 'local'\n"
        f"from {module} import defs\n"
        "defs()\n"
        "print(sorted(m for m in sys.modules if m.startswith(('snowflake.', 'dagster_snowflake', 'fakesnow'))))\n"
    )
    imported = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout

    assert imported.strip() == "[]"


@pytest.mark.parametrize(
    ("module_defs", "missing"),
    [
        (hn_assets_defs, "SYSTEM_SNOWFLAKE_ROLE, SYSTEM_SNOWFLAKE_WAREHOUSE"),
        (db_ops_defs, "SYSTEM_SNOWFLAKE_ROLE, SYSTEM_SNOWFLAKE_WAREHOUSE, SYSTEM_SNOWFLAKE_BRANCH_ROLE"),
    ],
)
def test_a_location_without_its_roles_fails_to_load_naming_them(
    module_defs, missing: str, use_environment, monkeypatch
) -> None:
    """Production names its own role and warehouse, and db_ops the role that receives the clones: none is guessed."""
    use_environment("production", SNOWFLAKE_ROLE="SYSADMIN", SNOWFLAKE_WAREHOUSE="COMPUTE_WH")
    for name in ("SYSTEM_SNOWFLAKE_ROLE", "SYSTEM_SNOWFLAKE_WAREHOUSE", "SYSTEM_SNOWFLAKE_BRANCH_ROLE"):
        monkeypatch.delenv(name)

    with pytest.raises(ValueError, match=f"Missing environment variables .*: {missing}\\."):
        module_defs()


def test_db_ops_imports_neither_pandas_nor_the_http_client() -> None:
    """db_ops runs SQL only: importing hn_core for its names must not cost pandas' and aiohttp's import time."""
    probe = (
        "import os, sys\n"
        "os.environ['DAGSTER_DEPLOYMENT'] = 'local'\n"
        "from db_ops.definitions import defs\n"
        "defs()\n"
        "print(sorted(m for m in ('pandas', 'aiohttp') if m in sys.modules))\n"
    )
    imported = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout

    assert imported.strip() == "[]"
