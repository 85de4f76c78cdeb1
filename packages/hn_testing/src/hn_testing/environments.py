"""Pytest fixture that puts the process in one of the platform's environments, with inert credentials.

Tests switch environments the way a deployment does, through environment variables, so the real resolver and
factory decide everything; every variable the resolver reads is cleared first, so nothing leaks from the shell.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

#: Every variable the resolver and the factory read.
RESOLVER_VARIABLES = (
    "DAGSTER_DEPLOYMENT",
    "DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT",
    "DAGSTER_CLOUD_PULL_REQUEST_ID",
    "DAGSTER_CLOUD_DEPLOYMENT_NAME",
    "HN_LOCAL_WAREHOUSE",
    "HN_DUCKDB_PATH",
    "HN_API_BASE_URL",
    "SNOWFLAKE_ACCOUNT",
    "SNOWFLAKE_WAREHOUSE",
    "SNOWFLAKE_ROLE",
    "SNOWFLAKE_DATABASE",
    *(
        f"{prefix}_SNOWFLAKE_{suffix}"
        for prefix in ("SYSTEM", "BRANCH", "DEV")
        for suffix in ("USER", "PASSWORD", "PRIVATE_KEY", "PRIVATE_KEY_PASSWORD", "SCHEMA")
    ),
)


def environment_variables(environment: str, pull_request_id: int | None = None) -> dict[str, str]:
    """The variables a deployment of ``environment`` has (``branch`` needs ``pull_request_id``)."""
    account = {"SNOWFLAKE_ACCOUNT": "emulator"}
    if environment == "local":
        return {"DAGSTER_DEPLOYMENT": "local"}
    if environment in ("staging", "production"):
        credentials = {"SYSTEM_SNOWFLAKE_USER": "system", "SYSTEM_SNOWFLAKE_PASSWORD": "inert"}
        return {"DAGSTER_DEPLOYMENT": environment, **account, **credentials}
    if environment == "branch":
        return {
            "DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT": "1",
            "DAGSTER_CLOUD_PULL_REQUEST_ID": str(pull_request_id),
            **account,
            "BRANCH_SNOWFLAKE_USER": "branch",
            "BRANCH_SNOWFLAKE_PASSWORD": "inert",
        }
    raise ValueError(f"unknown environment {environment!r}: use local, staging, production or branch")


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
