"""Pytest fixture that puts the process in one of the platform's environments, with inert credentials.

Tests switch environments the way a deployment does, through environment variables, so the real resolver and
factory decide everything; every variable the resolver reads is cleared first, so nothing leaks from the shell.

The users, roles and warehouses are those ``deploy/snowflake/`` provisions, so the same variables work against an
emulator provisioned by those scripts (``provisioned_snowflake``) and against one without access control.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

#: Every variable the resolver and the factories read.
RESOLVER_VARIABLES = (
    "DAGSTER_DEPLOYMENT",
    "DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT",
    "DAGSTER_CLOUD_PULL_REQUEST_ID",
    "DAGSTER_CLOUD_DEPLOYMENT_NAME",
    "HN_LOCAL_WAREHOUSE",
    "HN_DUCKDB_PATH",
    "HN_API_BASE_URL",
    "SNOWFLAKE_ACCOUNT",
    "SNOWFLAKE_DATABASE",
    *(
        f"{prefix}_SNOWFLAKE_{suffix}"
        for prefix in ("SYSTEM", "BRANCH", "DEV")
        for suffix in ("USER", "PASSWORD", "PRIVATE_KEY", "PRIVATE_KEY_PASSWORD", "ROLE", "WAREHOUSE", "SCHEMA")
    ),
    "SYSTEM_SNOWFLAKE_BRANCH_ROLE",
    "HN_CODE_HOST",
    "HN_CODE_HOST_PROJECT",
    "HN_CODE_HOST_TOKEN",
    "HN_CODE_HOST_API_URL",
)

#: Production's code host: the stand-in's repository and token (``hn_testing.code_host``), at an address where nothing
#: listens, so that a test which asks the code host without serving one (the ``code_host`` fixture) fails loudly.
CODE_HOST_VARIABLES = {
    "HN_CODE_HOST": "github",
    "HN_CODE_HOST_PROJECT": "acme/platform",
    "HN_CODE_HOST_TOKEN": "code-host-token",
    "HN_CODE_HOST_API_URL": "http://127.0.0.1:9",
}

#: Per environment: the service user, its role and its warehouse, as deploy/snowflake/ names them.
SERVICE_ACCOUNTS = {
    "production": ("HN_PRODUCTION_SVC", "HN_PRODUCTION", "HN_PRODUCTION_WH"),
    "staging": ("HN_STAGING_SVC", "HN_STAGING", "HN_STAGING_WH"),
    "branch": ("HN_BRANCH_SVC", "HN_BRANCH", "HN_BRANCH_WH"),
}
DEVELOPER_ROLE, DEVELOPER_WAREHOUSE = "HN_DEVELOPER", "HN_DEVELOPER_WH"


def _credentials(prefix: str, environment: str) -> dict[str, str]:
    user, role, warehouse = SERVICE_ACCOUNTS[environment]
    return {
        f"{prefix}_SNOWFLAKE_USER": user,
        f"{prefix}_SNOWFLAKE_PASSWORD": "inert",
        f"{prefix}_SNOWFLAKE_ROLE": role,
        f"{prefix}_SNOWFLAKE_WAREHOUSE": warehouse,
    }


def environment_variables(environment: str, pull_request_id: int | None = None) -> dict[str, str]:
    """The variables a deployment of ``environment`` has (``branch`` needs ``pull_request_id``)."""
    account = {"SNOWFLAKE_ACCOUNT": "emulator"}
    if environment == "local":
        return {"DAGSTER_DEPLOYMENT": "local"}
    if environment == "staging":
        return {"DAGSTER_DEPLOYMENT": environment, **account, **_credentials("SYSTEM", environment)}
    if environment == "production":
        branch_role = SERVICE_ACCOUNTS["branch"][1]
        return {
            "DAGSTER_DEPLOYMENT": environment,
            **account,
            **_credentials("SYSTEM", environment),
            "SYSTEM_SNOWFLAKE_BRANCH_ROLE": branch_role,
            **CODE_HOST_VARIABLES,
        }
    if environment == "branch":
        return {
            "DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT": "1",
            "DAGSTER_CLOUD_PULL_REQUEST_ID": str(pull_request_id),
            **account,
            **_credentials("BRANCH", environment),
        }
    raise ValueError(f"unknown environment {environment!r}: use local, staging, production or branch")


def local_snowflake_variables(user: str, schema: str) -> dict[str, str]:
    """The local environment opted in to Snowflake, as developer ``user`` with personal schema ``schema``."""
    return {
        "HN_LOCAL_WAREHOUSE": "snowflake",
        "SNOWFLAKE_ACCOUNT": "emulator",
        "DEV_SNOWFLAKE_USER": user,
        "DEV_SNOWFLAKE_PASSWORD": "inert",
        "DEV_SNOWFLAKE_ROLE": DEVELOPER_ROLE,
        "DEV_SNOWFLAKE_WAREHOUSE": DEVELOPER_WAREHOUSE,
        "DEV_SNOWFLAKE_SCHEMA": schema,
    }


@pytest.fixture
def use_environment(monkeypatch: pytest.MonkeyPatch) -> Callable[..., dict[str, str]]:
    """``use_environment("branch", 42)`` switches this test's process environment; returns what it set."""

    def switch(environment: str, pull_request_id: int | None = None, **extra: str) -> dict[str, str]:
        for name in RESOLVER_VARIABLES:
            monkeypatch.delenv(name, raising=False)
        variables = {**environment_variables(environment, pull_request_id), **extra}
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        return variables

    return switch
