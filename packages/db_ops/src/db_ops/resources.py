"""The resources of the db_ops location in each environment.

- production: ``snowflake`` with production's credentials and role (which owns ``PRODUCTION``), and ``branch_role``,
  the role each clone is handed to, from ``SYSTEM_SNOWFLAKE_BRANCH_ROLE`` (set it to the branch deployments'
  ``BRANCH_SNOWFLAKE_ROLE``);
- branch: ``snowflake`` with the branch deployment's own credentials and role (it may drop its own clone);
- staging and local: stand-ins that stop any db_ops run at once, naming where to run it, and need no credentials;
- local on DuckDB: besides those, ``local_clones``, which clones and drops DuckDB files beside the warehouse;
- production only: ``code_host``, which says which pull requests are open (``HN_CODE_HOST``, ``HN_CODE_HOST_PROJECT``,
  ``HN_CODE_HOST_TOKEN``, optionally ``HN_CODE_HOST_API_URL``), for the reconciling sensor and the sweep.

``local_clones`` and ``code_host`` are stand-ins everywhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from pydantic import Field

from db_ops.code_host import build_code_host, code_host_problems
from db_ops.local_clones import DuckDBClones
from db_ops.placement import DatabaseOperationsElsewhere
from db_ops.pull_request import is_local_duckdb
from hn_core.environment import ConfigurationError, Environment, Target
from hn_core.resources import build_snowflake_resource, credential_variables, require_identifier

#: Production's name for the role that receives each clone: the branch deployments' ``BRANCH_SNOWFLAKE_ROLE``.
BRANCH_ROLE_VARIABLE = "SYSTEM_SNOWFLAKE_BRANCH_ROLE"


class BranchRole(dg.ConfigurableResource):
    """The role that owns each pull request's clone once ``clone_prod`` has handed it over."""

    name: str = Field(description="A Snowflake role name, e.g. HN_BRANCH.")


def build_db_ops_resources(target: Target, env: Mapping[str, str]) -> dict[str, Any]:
    """``snowflake`` and ``branch_role`` for ``target``; every missing variable is listed in one error."""
    if target.environment is Environment.PRODUCTION:
        host_problems = code_host_problems(env)
        try:
            snowflake = build_snowflake_resource(target, env, also_required=(BRANCH_ROLE_VARIABLE,))
        except ConfigurationError as error:
            also = f" Also missing for the code host: {', '.join(host_problems)}." if host_problems else ""
            raise ConfigurationError(f"{error}{also}") from None
        if host_problems:
            raise ConfigurationError(
                f"Missing environment variables for the production environment's code host: "
                f"{', '.join(host_problems)}. db_ops clones each open pull request and drops the clones of closed "
                "ones by asking the code host with a read-only token (see deploy/env/production.env.example)."
            )
        own_role = credential_variables(target)["role"]
        branch_role = require_identifier(env, BRANCH_ROLE_VARIABLE)
        if branch_role.upper() == env[own_role].upper():
            raise ConfigurationError(
                f"{BRANCH_ROLE_VARIABLE} and {own_role} are both {branch_role}: branch deployments would write with "
                "production's own role. Give branch deployments a role of their own (deploy/snowflake/ provisions "
                "HN_BRANCH) and set it in both BRANCH_SNOWFLAKE_ROLE and SYSTEM_SNOWFLAKE_BRANCH_ROLE."
            )
        branch = BranchRole(name=dg.EnvVar(BRANCH_ROLE_VARIABLE))
        return {
            "snowflake": snowflake,
            "branch_role": branch,
            "local_clones": elsewhere(target),
            "code_host": build_code_host(env),
        }
    if target.environment is Environment.BRANCH:
        snowflake = build_snowflake_resource(target, env)
        branch = BranchRole(name=dg.EnvVar(credential_variables(target)["role"]))
        return {
            "snowflake": snowflake,
            "branch_role": branch,
            "local_clones": elsewhere(target),
            "code_host": elsewhere(target),
        }
    local = DuckDBClones(warehouse=target.duckdb_path) if is_local_duckdb(target) else elsewhere(target)
    return {
        "snowflake": elsewhere(target),
        "branch_role": elsewhere(target),
        "local_clones": local,
        "code_host": elsewhere(target),
    }


def elsewhere(target: Target) -> DatabaseOperationsElsewhere:
    return DatabaseOperationsElsewhere(environment=target.environment.value)
