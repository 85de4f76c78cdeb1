"""The one resource factory: every code location gets its resources here, decided by the resolved ``Target``.

Resource keys are a contract shared by both locations:

- ``hn_client``: ``HNAPIClient`` (base URL from ``HN_API_BASE_URL``, default the public API);
- ``warehouse_io_manager``: Dagster's DuckDB pandas I/O manager locally, its Snowflake one everywhere else (both
  replacing a table or a partition atomically, with declared column types: see ``hn_core.warehouse_duckdb``);
- ``snowflake``: ``SnowflakeResource`` wherever Snowflake is configured; in local DuckDB mode a resource that fails
  every run at once with the opt-in to use, so that ``db_ops`` still loads.

Secrets are passed as ``dagster.EnvVar`` and read by Dagster when a run starts; here only their presence is checked,
all at once, so a deployment with three missing variables says so in one error instead of three runs. Snowflake
libraries are imported only when Snowflake is used: they cost seconds of definitions load time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster import ConfigurableResource, EnvVar, InitResourceContext

from hn_core.api_client import HNAPIClient
from hn_core.environment import ConfigurationError, Store, Target

ACCOUNT_VARIABLE = "SNOWFLAKE_ACCOUNT"
OPTIONAL_SETTINGS = {"warehouse": "SNOWFLAKE_WAREHOUSE", "role": "SNOWFLAKE_ROLE"}
LOCAL_SNOWFLAKE_OPT_IN = "HN_LOCAL_WAREHOUSE=snowflake"


class SnowflakeNotConfigured(ConfigurableResource):
    """Stands in for ``snowflake`` where there is none (local DuckDB mode): any run that needs it stops at once."""

    def setup_for_execution(self, context: InitResourceContext) -> None:
        raise ConfigurationError(
            "This job needs Snowflake, and the local environment uses DuckDB. To run it against your own "
            f"Snowflake account, set {LOCAL_SNOWFLAKE_OPT_IN} with SNOWFLAKE_ACCOUNT, DEV_SNOWFLAKE_USER, "
            "DEV_SNOWFLAKE_PASSWORD (or DEV_SNOWFLAKE_PRIVATE_KEY) and DEV_SNOWFLAKE_SCHEMA."
        )


def snowflake_credentials(target: Target, env: Mapping[str, str]) -> dict[str, Any]:
    """Connection settings of ``target`` as ``EnvVar``s: account, user, password or private key, and options.

    Raises ``ConfigurationError`` naming every missing variable.
    """
    prefix = target.credentials_prefix
    user, password = f"{prefix}_SNOWFLAKE_USER", f"{prefix}_SNOWFLAKE_PASSWORD"
    private_key, key_password = f"{prefix}_SNOWFLAKE_PRIVATE_KEY", f"{prefix}_SNOWFLAKE_PRIVATE_KEY_PASSWORD"
    missing = [name for name in (ACCOUNT_VARIABLE, user) if not env.get(name)]
    if not env.get(password) and not env.get(private_key):
        missing.append(f"{password} or {private_key}")
    if missing:
        raise ConfigurationError(
            f"Missing environment variables for the {target.environment} environment "
            f"({target.description}): {', '.join(missing)}. Set them in the deployment "
            f"(see deploy/env/{target.environment}.env.example)."
        )
    settings: dict[str, Any] = {"account": EnvVar(ACCOUNT_VARIABLE), "user": EnvVar(user)}
    if env.get(private_key):
        settings["private_key"] = EnvVar(private_key)
        if env.get(key_password):
            settings["private_key_password"] = EnvVar(key_password)
    else:
        settings["password"] = EnvVar(password)
    for field, shared in OPTIONAL_SETTINGS.items():
        own = f"{prefix}_{shared}"  # e.g. BRANCH_SNOWFLAKE_ROLE, so a branch never inherits production's role
        if name := next((variable for variable in (own, shared) if env.get(variable)), None):
            settings[field] = EnvVar(name)
    return settings


def build_resources(target: Target, env: Mapping[str, str]) -> dict[str, Any]:
    """Every resource of ``target``, under the shared keys."""
    return {
        "hn_client": HNAPIClient(),
        "warehouse_io_manager": build_warehouse_io_manager(target, env),
        "snowflake": build_snowflake_resource(target, env),
    }


def build_warehouse_io_manager(target: Target, env: Mapping[str, str]) -> ConfigurableResource:
    """Where assets are stored: the DuckDB file locally, Snowflake elsewhere (both keep empty tables typed)."""
    if target.store is Store.DUCKDB:
        from hn_core.warehouse_duckdb import WarehouseDuckDBIOManager

        return WarehouseDuckDBIOManager(database=target.duckdb_path, schema=target.schema)
    from hn_core.warehouse_snowflake import WarehouseSnowflakeIOManager

    return WarehouseSnowflakeIOManager(
        **snowflake_credentials(target, env), database=target.database, schema=target.schema
    )


def build_snowflake_resource(target: Target, env: Mapping[str, str]) -> ConfigurableResource:
    """``SnowflakeResource`` for SQL of our own, or the stand-in that names the opt-in where there is none."""
    if target.store is Store.DUCKDB:
        return SnowflakeNotConfigured()
    from dagster_snowflake import SnowflakeResource

    return SnowflakeResource(**snowflake_credentials(target, env), database=target.database, schema=target.schema)
