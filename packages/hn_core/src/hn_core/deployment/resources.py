"""The one resource factory: every code location gets its resources here, decided by the resolved ``Target``.

Resource keys are a contract shared by both locations:

- ``hn_client``: ``HNAPIClient`` (base URL from ``HN_API_BASE_URL``, default the public API), built with the base URL
  resolved, so the UI shows the URL the location's runs fetch from;
- ``warehouse_io_manager``: Dagster's DuckDB pandas I/O manager locally, its Snowflake one everywhere else (both
  replacing a table or a partition atomically, with declared column types: see ``hn_core.warehouse.duckdb_io_manager``);
- ``snowflake``: ``SnowflakeResource`` wherever Snowflake is configured; in local DuckDB mode a resource that fails
  every run at once with the opt-in to use, so that ``db_ops`` still loads.

Secrets are passed as ``dagster.EnvVar`` and read by Dagster when a run starts; here only their presence is checked,
all at once, so a deployment with three missing variables says so in one error instead of three runs. Snowflake
libraries are imported only when Snowflake is used: they cost seconds of definitions load time.

Each environment names its own role and warehouse (``<PREFIX>_SNOWFLAKE_ROLE``, ``<PREFIX>_SNOWFLAKE_WAREHOUSE``);
nothing falls back to a shared variable or to the user's defaults, so that a variable scoped to every Dagster+
deployment can never hand one environment's role to another.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dagster import ConfigurableResource, EnvVar, InitResourceContext

from hn_core.deployment.environment import ConfigurationError, Store, Target
from hn_core.deployment.names import InvalidNameError, validate_identifier

ACCOUNT_VARIABLE = "SNOWFLAKE_ACCOUNT"
LOCAL_SNOWFLAKE_OPT_IN = "HN_LOCAL_WAREHOUSE=snowflake"


class SnowflakeNotConfigured(ConfigurableResource):
    """Stands in for `snowflake` where there is none (local DuckDB mode): any run that needs it stops at once."""

    def setup_for_execution(self, context: InitResourceContext) -> None:
        raise ConfigurationError(
            "This job needs Snowflake, and the local environment uses DuckDB. To run it against your own "
            f"Snowflake account, set {LOCAL_SNOWFLAKE_OPT_IN} with SNOWFLAKE_ACCOUNT, DEV_SNOWFLAKE_USER, "
            "DEV_SNOWFLAKE_PASSWORD (or DEV_SNOWFLAKE_PRIVATE_KEY), DEV_SNOWFLAKE_ROLE, DEV_SNOWFLAKE_WAREHOUSE and "
            "DEV_SNOWFLAKE_SCHEMA."
        )


def credential_variables(target: Target) -> dict[str, str]:
    """The names of ``target``'s Snowflake variables, e.g. ``{"role": "BRANCH_SNOWFLAKE_ROLE", ...}``."""
    prefix = target.credentials_prefix
    fields = ("user", "password", "private_key", "private_key_password", "role", "warehouse")
    return {field: f"{prefix}_SNOWFLAKE_{field.upper()}" for field in fields}


def snowflake_credentials(target: Target, env: Mapping[str, str], also_required: Sequence[str] = ()) -> dict[str, Any]:
    """Connection settings of ``target`` as ``EnvVar``s: account, user, password or private key, role, warehouse.

    Raises ``ConfigurationError`` naming every missing variable, ``also_required`` ones (a location's own needs)
    included, and any role or warehouse that is not a plain Snowflake identifier.
    """
    names = credential_variables(target)
    secret = f"{names['password']} or {names['private_key']}"
    present = {secret: env.get(names["password"]) or env.get(names["private_key"])}
    required = (ACCOUNT_VARIABLE, names["user"], secret, names["role"], names["warehouse"], *also_required)
    missing = [name for name in required if not present.get(name, env.get(name))]
    if missing:
        raise ConfigurationError(
            f"Missing environment variables for the {target.environment} environment "
            f"({target.description}): {', '.join(missing)}. Set them in the deployment "
            f"(see deploy/env/{target.environment}.env.example)."
        )
    for name in (names["role"], names["warehouse"], *also_required):
        require_identifier(env, name)
    settings: dict[str, Any] = {
        "account": EnvVar(ACCOUNT_VARIABLE),
        "user": EnvVar(names["user"]),
        "role": EnvVar(names["role"]),
        "warehouse": EnvVar(names["warehouse"]),
    }
    if env.get(names["private_key"]):
        settings["private_key"] = EnvVar(names["private_key"])
        if env.get(names["private_key_password"]):
            settings["private_key_password"] = EnvVar(names["private_key_password"])
    else:
        settings["password"] = EnvVar(names["password"])
    return settings


def require_identifier(env: Mapping[str, str], variable: str) -> str:
    """The value of ``variable`` if it is a plain Snowflake identifier (a role or warehouse name), else an error."""
    try:
        return validate_identifier(env.get(variable, ""), variable)
    except InvalidNameError as error:
        raise ConfigurationError(str(error)) from error


def build_resources(target: Target, env: Mapping[str, str]) -> dict[str, Any]:
    """Every resource of ``target``, under the shared keys."""
    from hn_core.hn_api.http_client import HNAPIClient, default_base_url  # aiohttp: only for the locations that fetch

    return {
        "hn_client": HNAPIClient(base_url=default_base_url(env)),
        "warehouse_io_manager": build_warehouse_io_manager(target, env),
        "snowflake": build_snowflake_resource(target, env),
    }


def build_warehouse_io_manager(target: Target, env: Mapping[str, str]) -> ConfigurableResource:
    """Where assets are stored: the DuckDB file locally, Snowflake elsewhere (both keep empty tables typed)."""
    if target.store is Store.DUCKDB:
        from hn_core.warehouse.duckdb_io_manager import WarehouseDuckDBIOManager

        return WarehouseDuckDBIOManager(database=target.duckdb_path, schema=target.schema)
    from hn_core.warehouse.snowflake_io_manager import WarehouseSnowflakeIOManager

    return WarehouseSnowflakeIOManager(
        **snowflake_credentials(target, env), database=target.database, schema=target.schema
    )


def build_snowflake_resource(
    target: Target, env: Mapping[str, str], also_required: Sequence[str] = ()
) -> ConfigurableResource:
    """``SnowflakeResource`` for SQL of our own, or the stand-in that names the opt-in where there is none."""
    if target.store is Store.DUCKDB:
        return SnowflakeNotConfigured()
    from dagster_snowflake import SnowflakeResource

    credentials = snowflake_credentials(target, env, also_required)
    return SnowflakeResource(**credentials, database=target.database, schema=target.schema)
