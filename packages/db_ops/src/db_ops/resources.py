"""The resources of the db_ops location in each environment, bound from the environment when definitions load.

- production: ``snowflake`` with production's credentials and role (which owns ``PRODUCTION``), ``branch_role``, the
  role each clone is handed to, from ``SYSTEM_SNOWFLAKE_BRANCH_ROLE`` (set it to the branch deployments'
  ``BRANCH_SNOWFLAKE_ROLE``), and ``code_host``, which says which pull requests are open (``HN_CODE_HOST``,
  ``HN_CODE_HOST_PROJECT``, ``HN_CODE_HOST_TOKEN``, optionally ``HN_CODE_HOST_API_URL``), for the reconciling sensor
  and the sweep;
- branch: ``snowflake`` with the branch deployment's own credentials and role (it may drop its own clone);
- local on DuckDB: ``local_clones``, which clones and drops DuckDB files beside the warehouse;
- staging and local on Snowflake: nothing. Their jobs only refuse (``db_ops.ops.refusing_op``), so they need no
  credentials and no stand-in.

Only what a job uses is bound. ``branch_role``, ``code_host`` and ``local_clones`` take no run config: what they hold
is the deployment's (``without_run_config``), so the Launchpad offers none of it to edit.
"""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from pydantic import Field

from db_ops.code_host import build_code_host, code_host_problems
from db_ops.local_clones import DuckDBClones
from db_ops.placement import is_local_duckdb
from hn_core.deployment.environment import ConfigurationError, Environment, Target
from hn_core.deployment.resources import build_snowflake_resource, credential_variables, require_identifier

#: Production's name for the role that receives each clone: the branch deployments' ``BRANCH_SNOWFLAKE_ROLE``.
BRANCH_ROLE_VARIABLE = "SYSTEM_SNOWFLAKE_BRANCH_ROLE"


class BranchRole(dg.ConfigurableResource):
    """The role that owns each pull request's clone once `clone_prod` has handed it over."""

    name: str = Field(description="A Snowflake role name, e.g. HN_BRANCH.")


def build_db_ops_resources(target: Target, env: Mapping[str, str]) -> dict[str, Any]:
    """The resources ``target``'s jobs and sensor use, by key; every missing variable is listed in one error."""
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
            "branch_role": without_run_config(branch, f"The role each clone is handed to (`{BRANCH_ROLE_VARIABLE}`)."),
            "code_host": without_run_config(
                build_code_host(env), "The code host that says which pull requests are open (`HN_CODE_HOST_*`)."
            ),
        }
    if target.environment is Environment.BRANCH:
        return {"snowflake": build_snowflake_resource(target, env)}
    if is_local_duckdb(target):
        clones = DuckDBClones(warehouse=target.duckdb_path)
        return {"local_clones": without_run_config(clones, f"Clones as DuckDB files beside `{target.duckdb_path}`.")}
    return {}


def without_run_config(resource: dg.ConfigurableResource, description: str) -> dg.ResourceDefinition:
    """``resource`` bound with no run config: its settings are the deployment's (environment variables are still read
    when a run starts, as Dagster reads an ``EnvVar``), so a launch cannot change them and the Launchpad offers none
    of them to edit, such as another role to hand a clone to or another address to send the code host's token to."""
    return dg.ResourceDefinition(
        resource_fn=lambda _: resource.process_config_and_initialize(), config_schema={}, description=description
    )
