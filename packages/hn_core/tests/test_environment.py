"""The environment resolver and the resource factory: every row of the design's table and every refusal."""

from __future__ import annotations

import re

import pytest
from dagster import EnvVar
from dagster_duckdb_pandas import DuckDBPandasIOManager

from hn_core.deployment.environment import ConfigurationError, Environment, Store, Target, resolve_target
from hn_core.deployment.resources import SnowflakeNotConfigured, build_resources

ACCOUNT = {"SNOWFLAKE_ACCOUNT": "acme-eu1"}


def own(prefix: str, user: str, role: str) -> dict[str, str]:
    """An environment's own login, role and warehouse."""
    return {
        f"{prefix}_SNOWFLAKE_USER": user,
        f"{prefix}_SNOWFLAKE_PASSWORD": "pw",
        f"{prefix}_SNOWFLAKE_ROLE": role,
        f"{prefix}_SNOWFLAKE_WAREHOUSE": f"{role}_WH",
    }


SYSTEM = {**ACCOUNT, **own("SYSTEM", "svc", "HN_PRODUCTION")}
BRANCH = {**ACCOUNT, **own("BRANCH", "branch", "HN_BRANCH")}
DEV = {**ACCOUNT, **own("DEV", "alice", "HN_DEVELOPER"), "DEV_SNOWFLAKE_SCHEMA": "ALICE"}
SHARED = {"SNOWFLAKE_ROLE": "TRANSFORMER", "SNOWFLAKE_WAREHOUSE": "SHARED_WH"}
BRANCH_42 = {"DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT": "1", "DAGSTER_CLOUD_PULL_REQUEST_ID": "42"}


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, Target(Environment.LOCAL, Store.DUCKDB, "HACKER_NEWS", duckdb_path="local_warehouse.duckdb")),
        ({"DAGSTER_DEPLOYMENT": "local", "HN_DUCKDB_PATH": "/tmp/x.duckdb"},
         Target(Environment.LOCAL, Store.DUCKDB, "HACKER_NEWS", duckdb_path="/tmp/x.duckdb")),
        ({"HN_LOCAL_WAREHOUSE": "snowflake", **DEV}, Target(Environment.LOCAL, Store.SNOWFLAKE, "ALICE", "LOCAL")),
        ({"DAGSTER_DEPLOYMENT": "staging"}, Target(Environment.STAGING, Store.SNOWFLAKE, "HACKER_NEWS", "STAGING")),
        ({"DAGSTER_DEPLOYMENT": "staging", "SNOWFLAKE_DATABASE": "ANALYTICS_STAGING"},
         Target(Environment.STAGING, Store.SNOWFLAKE, "HACKER_NEWS", "ANALYTICS_STAGING")),
        ({"DAGSTER_DEPLOYMENT": "production"},
         Target(Environment.PRODUCTION, Store.SNOWFLAKE, "HACKER_NEWS", "PRODUCTION")),
        (BRANCH_42,
         Target(Environment.BRANCH, Store.SNOWFLAKE, "HACKER_NEWS", "PRODUCTION_CLONE_42", pull_request_id=42)),
        ({**BRANCH_42, "DAGSTER_DEPLOYMENT": "production"},
         Target(Environment.BRANCH, Store.SNOWFLAKE, "HACKER_NEWS", "PRODUCTION_CLONE_42", pull_request_id=42)),
        ({"DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT": "0", "DAGSTER_DEPLOYMENT": "production"},
         Target(Environment.PRODUCTION, Store.SNOWFLAKE, "HACKER_NEWS", "PRODUCTION")),
    ],
)  # fmt: skip
def test_every_environment_resolves_as_designed(env: dict[str, str], expected: Target) -> None:
    assert resolve_target(env) == expected


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DAGSTER_DEPLOYMENT": "prod"}, r"Unknown DAGSTER_DEPLOYMENT 'prod': use one of local, staging, production"),
        ({"DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT": "true"}, "Dagster\\+ sets it to 1 in branch deployments"),
        ({"DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT": "1"}, r"DAGSTER_CLOUD_PULL_REQUEST_ID is None: Invalid pull request"),
        ({**BRANCH_42, "DAGSTER_CLOUD_PULL_REQUEST_ID": "abc"}, "is 'abc'"),
        ({**BRANCH_42, "DAGSTER_CLOUD_PULL_REQUEST_ID": "-3"}, "must be a positive whole number"),
        ({**BRANCH_42, "DAGSTER_CLOUD_PULL_REQUEST_ID": "42; DROP DATABASE PRODUCTION"}, "positive whole number"),
        ({**BRANCH_42, "DAGSTER_CLOUD_PULL_REQUEST_ID": ""}, "positive whole number"),
        ({"DAGSTER_DEPLOYMENT": "staging", "SNOWFLAKE_DATABASE": "PRODUCTION"}, "which only production may write"),
        ({"HN_LOCAL_WAREHOUSE": "snowflake", **DEV, "SNOWFLAKE_DATABASE": "PRODUCTION"}, "only production may"),
        ({"HN_LOCAL_WAREHOUSE": "snowflake", **DEV, "SNOWFLAKE_DATABASE": "STAGING"}, "which it belongs to staging"),
        ({"DAGSTER_DEPLOYMENT": "staging", "SNOWFLAKE_DATABASE": "PRODUCTION_CLONE_7"}, "a branch deployment's clone"),
        ({"DAGSTER_DEPLOYMENT": "staging", "SNOWFLAKE_DATABASE": 'X"; DROP'}, "Invalid SNOWFLAKE_DATABASE"),
        ({"DAGSTER_DEPLOYMENT": "production", "SNOWFLAKE_DATABASE": "OTHER"}, "whose database is fixed"),
        ({**BRANCH_42, "SNOWFLAKE_DATABASE": "PRODUCTION"}, "whose database is fixed"),
        ({"HN_DUCKDB_PATH": "hacker_news.duckdb"}, "which DuckDB confuses with the schema HACKER_NEWS"),
        ({"DAGSTER_CLOUD_DEPLOYMENT_NAME": "prod"}, "Dagster\\+ deployment 'prod' but DAGSTER_DEPLOYMENT is not set"),
        ({"HN_LOCAL_WAREHOUSE": "postgres"}, "Unknown HN_LOCAL_WAREHOUSE 'postgres'"),
        ({"HN_LOCAL_WAREHOUSE": "snowflake"}, "needs DEV_SNOWFLAKE_SCHEMA"),
        ({"HN_LOCAL_WAREHOUSE": "snowflake", "DEV_SNOWFLAKE_SCHEMA": "alice smith"}, "Invalid DEV_SNOWFLAKE_SCHEMA"),
        ({"HN_LOCAL_WAREHOUSE": "snowflake", **DEV, "DEV_SNOWFLAKE_SCHEMA": "INFORMATION_SCHEMA"},
         "DEV_SNOWFLAKE_SCHEMA is INFORMATION_SCHEMA, a schema Snowflake reserves"),
        ({"HN_LOCAL_WAREHOUSE": "snowflake", **DEV, "DEV_SNOWFLAKE_SCHEMA": "PUBLIC"},
         "DEV_SNOWFLAKE_SCHEMA is PUBLIC, a schema Snowflake reserves"),
        ({"HN_LOCAL_WAREHOUSE": "snowflake", **DEV, "DEV_SNOWFLAKE_SCHEMA": "information_schema"},
         "Invalid DEV_SNOWFLAKE_SCHEMA"),
    ],
)  # fmt: skip
def test_ambiguous_or_dangerous_environments_are_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        resolve_target(env)


def test_local_resources_use_duckdb_and_no_snowflake() -> None:
    resources = build_resources(resolve_target({}), {})

    assert isinstance(resources["warehouse_io_manager"], DuckDBPandasIOManager)
    assert resources["warehouse_io_manager"].database == "local_warehouse.duckdb"
    assert isinstance(resources["snowflake"], SnowflakeNotConfigured)


@pytest.mark.parametrize(
    ("env", "prefix", "database", "schema"),
    [
        ({"DAGSTER_DEPLOYMENT": "production", **SYSTEM}, "SYSTEM", "PRODUCTION", "HACKER_NEWS"),
        ({"DAGSTER_DEPLOYMENT": "staging", **SYSTEM}, "SYSTEM", "STAGING", "HACKER_NEWS"),
        ({**BRANCH_42, **BRANCH}, "BRANCH", "PRODUCTION_CLONE_42", "HACKER_NEWS"),
        ({"HN_LOCAL_WAREHOUSE": "snowflake", **DEV}, "DEV", "LOCAL", "ALICE"),
    ],
)
def test_snowflake_resources_read_credentials_from_the_environment(
    env: dict[str, str], prefix: str, database: str, schema: str
) -> None:
    resources = build_resources(resolve_target(env), env)

    for key in ("warehouse_io_manager", "snowflake"):
        resource = resources[key]
        assert (resource.database, resource.schema_) == (database, schema)
        assert resource.user == EnvVar(f"{prefix}_SNOWFLAKE_USER")
        assert resource.password == EnvVar(f"{prefix}_SNOWFLAKE_PASSWORD")
        assert resource.account == EnvVar("SNOWFLAKE_ACCOUNT")
        assert resource.private_key is None
        assert (resource.role, resource.warehouse) == (
            EnvVar(f"{prefix}_SNOWFLAKE_ROLE"),
            EnvVar(f"{prefix}_SNOWFLAKE_WAREHOUSE"),
        )


def test_key_pair_authentication() -> None:
    env = {
        "DAGSTER_DEPLOYMENT": "production",
        **ACCOUNT,
        "SYSTEM_SNOWFLAKE_USER": "svc",
        "SYSTEM_SNOWFLAKE_PRIVATE_KEY": "-----BEGIN PRIVATE KEY-----",
        "SYSTEM_SNOWFLAKE_PRIVATE_KEY_PASSWORD": "secret",
        "SYSTEM_SNOWFLAKE_ROLE": "HN_PRODUCTION",
        "SYSTEM_SNOWFLAKE_WAREHOUSE": "HN_PRODUCTION_WH",
    }

    resource = build_resources(resolve_target(env), env)["warehouse_io_manager"]

    assert resource.password is None
    assert resource.private_key == EnvVar("SYSTEM_SNOWFLAKE_PRIVATE_KEY")
    assert resource.private_key_password == EnvVar("SYSTEM_SNOWFLAKE_PRIVATE_KEY_PASSWORD")


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({"DAGSTER_DEPLOYMENT": "production"},
         "SNOWFLAKE_ACCOUNT, SYSTEM_SNOWFLAKE_USER, SYSTEM_SNOWFLAKE_PASSWORD or SYSTEM_SNOWFLAKE_PRIVATE_KEY, "
         "SYSTEM_SNOWFLAKE_ROLE, SYSTEM_SNOWFLAKE_WAREHOUSE"),
        ({**BRANCH_42, **SYSTEM},
         "BRANCH_SNOWFLAKE_USER, BRANCH_SNOWFLAKE_PASSWORD or BRANCH_SNOWFLAKE_PRIVATE_KEY, BRANCH_SNOWFLAKE_ROLE, "
         "BRANCH_SNOWFLAKE_WAREHOUSE"),
        ({"DAGSTER_DEPLOYMENT": "staging", **SYSTEM, "SNOWFLAKE_ACCOUNT": ""}, ": SNOWFLAKE_ACCOUNT\\. Set them"),
    ],
)  # fmt: skip
def test_missing_credentials_are_listed_together(env: dict[str, str], missing: str) -> None:
    with pytest.raises(ConfigurationError, match=f"Missing environment variables .*{missing}"):
        build_resources(resolve_target(env), env)


def test_a_branch_never_borrows_production_credentials() -> None:
    env = {**BRANCH_42, **SYSTEM}

    with pytest.raises(ConfigurationError, match="BRANCH_SNOWFLAKE_USER"):
        build_resources(resolve_target(env), env)


@pytest.mark.parametrize(
    ("env", "prefix"),
    [
        ({**BRANCH_42, **BRANCH}, "BRANCH"),
        ({"DAGSTER_DEPLOYMENT": "production", **SYSTEM}, "SYSTEM"),
        ({"DAGSTER_DEPLOYMENT": "staging", **SYSTEM}, "SYSTEM"),
        ({"HN_LOCAL_WAREHOUSE": "snowflake", **DEV}, "DEV"),
    ],
)
def test_no_environment_inherits_a_shared_or_default_role(env: dict[str, str], prefix: str) -> None:
    """The shared SNOWFLAKE_ROLE/SNOWFLAKE_WAREHOUSE are never read; an environment without its own is refused."""
    own_settings = (f"{prefix}_SNOWFLAKE_ROLE", f"{prefix}_SNOWFLAKE_WAREHOUSE")
    with_shared = {**env, **SHARED, "SYSTEM_SNOWFLAKE_ROLE": env.get("SYSTEM_SNOWFLAKE_ROLE", "HN_PRODUCTION")}
    target = resolve_target(with_shared)

    resource = build_resources(target, with_shared)["snowflake"]
    assert (resource.role, resource.warehouse) == tuple(EnvVar(name) for name in own_settings)

    without_own = {name: value for name, value in with_shared.items() if name not in own_settings}
    with pytest.raises(ConfigurationError, match=f"Missing environment variables .*{', '.join(own_settings)}"):
        build_resources(target, without_own)


@pytest.mark.parametrize("role", ["hn_branch", "HN BRANCH", "HN_BRANCH; DROP DATABASE PRODUCTION", '"HN_BRANCH"'])
def test_role_names_are_identifiers(role: str) -> None:
    env = {**BRANCH_42, **BRANCH, "BRANCH_SNOWFLAKE_ROLE": role}

    with pytest.raises(ConfigurationError, match="Invalid BRANCH_SNOWFLAKE_ROLE"):
        build_resources(resolve_target(env), env)


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        (":memory:", "is not a file"),
        ("md:my_db", "is not a file"),
        ("MotherDuck:my_db", "is not a file"),
        ("{tmp}", "is a folder"),
        ("{tmp}/missing/warehouse.duckdb", "is in a folder that does not exist"),
    ],
)
def test_a_duckdb_path_that_cannot_be_the_warehouse_is_refused_when_resolved(tmp_path, path: str, problem: str) -> None:
    path = path.format(tmp=tmp_path)

    with pytest.raises(ConfigurationError, match=rf"^HN_DUCKDB_PATH '{re.escape(path)}' {problem}.* Set it to a file"):
        resolve_target({"HN_DUCKDB_PATH": path})


def test_a_new_duckdb_file_in_an_existing_folder_is_accepted(tmp_path) -> None:
    path = str(tmp_path / "warehouse.duckdb")

    assert resolve_target({"HN_DUCKDB_PATH": path}).duckdb_path == path
