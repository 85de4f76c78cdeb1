"""Which environment this process runs in, and what that environment may touch.

One resolver reads the signals Dagster+ and the team set (``DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT``,
``DAGSTER_CLOUD_PULL_REQUEST_ID``, ``DAGSTER_DEPLOYMENT``, ``HN_LOCAL_WAREHOUSE``) and returns a ``Target``: the store,
database, schema and credentials to use. It is called when definitions load, never at import, takes the environment
as an argument so tests can pass their own, and refuses anything ambiguous instead of falling back: a non-production
environment that would reach ``PRODUCTION`` is an error, whatever the variables say.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path, PurePath

from hn_core.deployment.names import (
    CLONE_PREFIX,
    HACKER_NEWS_SCHEMA,
    PRODUCTION_DATABASE,
    InvalidNameError,
    clone_database_name,
    parse_pull_request_id,
    validate_identifier,
)

DEFAULT_DUCKDB_PATH = "local_warehouse.duckdb"


class Environment(StrEnum):
    LOCAL = "local"
    STAGING = "staging"
    PRODUCTION = "production"
    BRANCH = "branch"


class Store(StrEnum):
    DUCKDB = "duckdb"
    SNOWFLAKE = "snowflake"


#: Values of ``DAGSTER_DEPLOYMENT``; branch deployments are recognised by Dagster+'s own variable instead.
DEPLOYMENT_NAMES = (Environment.LOCAL, Environment.STAGING, Environment.PRODUCTION)
#: Where each Snowflake environment writes, and whose credentials it uses (``<PREFIX>_SNOWFLAKE_USER`` ...).
SNOWFLAKE_DATABASES = {Environment.STAGING: "STAGING", Environment.PRODUCTION: PRODUCTION_DATABASE}
CREDENTIAL_PREFIXES = {
    Environment.LOCAL: "DEV",
    Environment.STAGING: "SYSTEM",
    Environment.PRODUCTION: "SYSTEM",
    Environment.BRANCH: "BRANCH",
}
LOCAL_DATABASE = "LOCAL"
#: Schemas every Snowflake database has or reserves: never a developer's personal schema.
RESERVED_SCHEMAS = ("INFORMATION_SCHEMA", "PUBLIC")


class ConfigurationError(ValueError):
    """The environment is misconfigured; the message says what is wrong and how to fix it."""


@dataclass(frozen=True)
class Target:
    """Everything a location needs to know about where it runs."""

    environment: Environment
    store: Store
    schema: str
    database: str | None = None
    duckdb_path: str | None = None
    pull_request_id: int | None = None

    @property
    def credentials_prefix(self) -> str:
        return CREDENTIAL_PREFIXES[self.environment]

    @property
    def description(self) -> str:
        where = self.duckdb_path if self.store is Store.DUCKDB else self.database
        return f"{self.environment} ({self.store}: {where}.{self.schema})"


def resolve_target(env: Mapping[str, str] | None = None) -> Target:
    """Resolve the environment from ``env`` (default: ``os.environ``)."""
    env = os.environ if env is None else env
    environment = _environment(env)
    if environment in (Environment.BRANCH, Environment.PRODUCTION) and env.get("SNOWFLAKE_DATABASE"):
        raise ConfigurationError(
            f"SNOWFLAKE_DATABASE is set in the {environment} environment, whose database is fixed: "
            "it may rename only the local and staging databases. Unset it in this deployment."
        )
    if environment is Environment.BRANCH:
        given = env.get("DAGSTER_CLOUD_PULL_REQUEST_ID")
        try:
            pull_request_id = parse_pull_request_id(given)
        except InvalidNameError as error:
            raise ConfigurationError(
                f"This is a branch deployment (DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT=1) but "
                f"DAGSTER_CLOUD_PULL_REQUEST_ID is {given!r}: {error}"
            ) from error
        database = clone_database_name(pull_request_id)
        target = Target(environment, Store.SNOWFLAKE, HACKER_NEWS_SCHEMA, database, pull_request_id=pull_request_id)
    elif environment is Environment.LOCAL:
        target = _local_target(env)
    else:
        database = SNOWFLAKE_DATABASES[environment]
        if environment is Environment.STAGING:
            database = _database_override(env) or database
        target = Target(environment, Store.SNOWFLAKE, HACKER_NEWS_SCHEMA, database)
    guard_database(target)
    return target


def guard_database(target: Target) -> None:
    """Each standing database belongs to one environment, and a ``PRODUCTION_CLONE_*`` one only to a branch.

    So only production may touch ``PRODUCTION``, and a local opt-in cannot write ``STAGING`` with a developer's login.
    """
    if target.database is None:
        return
    owners = {database: environment for environment, database in SNOWFLAKE_DATABASES.items()}
    owner = {**owners, LOCAL_DATABASE: Environment.LOCAL}.get(target.database)
    if owner is not None and owner is not target.environment:
        only = "only production may write" if owner is Environment.PRODUCTION else f"it belongs to {owner}"
        raise ConfigurationError(
            f"The {target.environment} environment resolved to database {target.database}, which {only}. "
            "Unset SNOWFLAKE_DATABASE or point it at a database of your own."
        )
    if target.database.startswith(CLONE_PREFIX) and target.environment is not Environment.BRANCH:
        raise ConfigurationError(
            f"The {target.environment} environment resolved to {target.database}, a branch deployment's clone. "
            "Unset SNOWFLAKE_DATABASE or point it at a database of your own."
        )


def _environment(env: Mapping[str, str]) -> Environment:
    branch_flag = env.get("DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT", "")
    if branch_flag not in ("", "0", "1"):
        raise ConfigurationError(
            f"DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT is {branch_flag!r}: Dagster+ sets it to 1 in branch deployments "
            "and 0 elsewhere; leave it unset outside Dagster+."
        )
    if branch_flag == "1":
        return Environment.BRANCH
    cloud_deployment = env.get("DAGSTER_CLOUD_DEPLOYMENT_NAME")
    if not env.get("DAGSTER_DEPLOYMENT") and cloud_deployment:
        raise ConfigurationError(
            f"This process runs in the Dagster+ deployment {cloud_deployment!r} but DAGSTER_DEPLOYMENT is not set, "
            "so it cannot tell staging from production. Set DAGSTER_DEPLOYMENT for that deployment "
            "(see deploy/env/)."
        )
    deployment = env.get("DAGSTER_DEPLOYMENT") or Environment.LOCAL.value
    if deployment not in DEPLOYMENT_NAMES:
        valid = ", ".join(DEPLOYMENT_NAMES)
        raise ConfigurationError(f"Unknown DAGSTER_DEPLOYMENT {deployment!r}: use one of {valid} (unset means local).")
    return Environment(deployment)


def _local_target(env: Mapping[str, str]) -> Target:
    warehouse = env.get("HN_LOCAL_WAREHOUSE") or Store.DUCKDB.value
    if warehouse not in tuple(Store):
        raise ConfigurationError(
            f"Unknown HN_LOCAL_WAREHOUSE {warehouse!r}: use duckdb (the default, a local file) or snowflake "
            "(your personal schema in the LOCAL database, with DEV_SNOWFLAKE_* credentials)."
        )
    if warehouse == Store.DUCKDB:
        path = env.get("HN_DUCKDB_PATH") or DEFAULT_DUCKDB_PATH
        return Target(Environment.LOCAL, Store.DUCKDB, HACKER_NEWS_SCHEMA, duckdb_path=_duckdb_file(path))
    schema = env.get("DEV_SNOWFLAKE_SCHEMA")
    if not schema:
        raise ConfigurationError(
            "HN_LOCAL_WAREHOUSE=snowflake needs DEV_SNOWFLAKE_SCHEMA, your personal schema (e.g. ALICE)."
        )
    schema = _identifier(schema, "DEV_SNOWFLAKE_SCHEMA")
    if schema in RESERVED_SCHEMAS:
        raise ConfigurationError(
            f"DEV_SNOWFLAKE_SCHEMA is {schema}, a schema Snowflake reserves in every database (for its metadata, or "
            "shared by every role): name your personal schema after yourself instead, e.g. ALICE."
        )
    database = _database_override(env) or LOCAL_DATABASE
    return Target(Environment.LOCAL, Store.SNOWFLAKE, schema, database)


def _duckdb_file(path: str) -> str:
    """``HN_DUCKDB_PATH`` if it can be the local warehouse: a file, new or existing, in an existing folder.

    Checked when the location loads, so a bad path is reported at once rather than after a whole fetch.
    """
    problem = None
    if path == ":memory:" or path.lower().startswith(("md:", "motherduck:")):
        problem = "is not a file: the local warehouse must outlive the run, in a file of its own"
    elif Path(path).is_dir():
        problem = "is a folder"
    elif not Path(path).parent.is_dir():
        problem = f"is in a folder that does not exist ({Path(path).parent})"
    elif PurePath(path).stem.upper() == HACKER_NEWS_SCHEMA:
        problem = (
            f"names the database {PurePath(path).stem}, which DuckDB confuses with the schema {HACKER_NEWS_SCHEMA}"
        )
    if problem:
        raise ConfigurationError(
            f"HN_DUCKDB_PATH {path!r} {problem}. Set it to a file in an existing folder, "
            f"e.g. {DEFAULT_DUCKDB_PATH} (the default)."
        )
    return path


def _database_override(env: Mapping[str, str]) -> str | None:
    """``SNOWFLAKE_DATABASE`` renames the local or staging database (production and branches are fixed)."""
    name = env.get("SNOWFLAKE_DATABASE")
    return _identifier(name, "SNOWFLAKE_DATABASE") if name else None


def _identifier(value: str, variable: str) -> str:
    try:
        return validate_identifier(value, variable)
    except InvalidNameError as error:
        raise ConfigurationError(str(error)) from error
