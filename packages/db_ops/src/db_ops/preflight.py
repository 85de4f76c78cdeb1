"""``hn-preflight <environment>``: read-only checks of a real Snowflake account against ``deploy/snowflake/``.

Run it with a deployment's own variables (``deploy/env/<environment>.env.example``) before its first run; it
connects with that deployment's credentials and changes nothing (``USE`` statements set only its own session).
Each check prints PASS or FAIL, and a FAIL prints the SQL an administrator runs to fix it; any FAIL exits 1.

- every environment: the user connects, with a key pair (``TYPE = SERVICE`` users have no password), and its role
  can use its warehouse;
- production: its role owns ``PRODUCTION`` and may use the branch role as a secondary role, which the clone's
  hand-over does (``USE SECONDARY ROLES <branch role>``; Snowflake's BCR 2395 requires the receiving role of
  ``GRANT OWNERSHIP`` to be active in the session);
- production, too: the code host answers for ``HN_CODE_HOST_PROJECT`` with ``HN_CODE_HOST_TOKEN`` (the sensor that
  clones each open pull request asks it);
- staging: its role owns ``STAGING``;
- branch: its role cannot see ``PRODUCTION`` at all (``SHOW DATABASES`` lists only what a role holds a privilege
  on, and ``USE DATABASE`` fails).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import dagster as dg

from db_ops.code_host import PROJECT_VARIABLE, CodeHostError, build_code_host, code_host_problems
from db_ops.resources import BRANCH_ROLE_VARIABLE
from hn_core.deployment.environment import ConfigurationError, Environment, resolve_target
from hn_core.deployment.names import PRODUCTION_DATABASE
from hn_core.deployment.resources import build_snowflake_resource, credential_variables

ENVIRONMENTS = {
    "production": {"DAGSTER_DEPLOYMENT": "production"},
    "staging": {"DAGSTER_DEPLOYMENT": "staging"},
    # A branch deployment's own pull request does not matter here: only its role and what it may see.
    "branch": {"DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT": "1", "DAGSTER_CLOUD_PULL_REQUEST_ID": "1"},
}
OWNED_DATABASE = {Environment.PRODUCTION: PRODUCTION_DATABASE, Environment.STAGING: "STAGING"}


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class Session:
    """What the checks know of the deployment: its names, and a cursor on its own connection."""

    cursor: Any
    environment: Environment
    user: str
    role: str
    warehouse: str
    branch_role: str
    key_pair: bool

    def rows(self, sql: str) -> list[dict[str, Any]]:
        self.cursor.execute(sql)
        names = [column[0].lower() for column in self.cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in self.cursor.fetchall()]

    def succeeds(self, sql: str) -> tuple[bool, str]:
        try:
            self.cursor.execute(sql)
        except Exception as error:  # the connector's ProgrammingError: what Snowflake said
            return False, str(error).strip().splitlines()[-1]
        return True, ""


def key_pair(session: Session) -> Check:
    if session.key_pair:
        return Check("authenticates with a key pair", True, f"{session.user} connected with its private key")
    return Check(
        "authenticates with a key pair",
        False,
        f"{session.user} connected with a password; service users have none (TYPE = SERVICE)",
        f"ALTER USER {session.user} SET TYPE = SERVICE RSA_PUBLIC_KEY = '<public key>';\n"
        f"ALTER USER {session.user} UNSET PASSWORD;\n"
        "-- then set the deployment's *_SNOWFLAKE_PRIVATE_KEY and remove its *_SNOWFLAKE_PASSWORD",
    )


def warehouse(session: Session) -> Check:
    ok, said = session.succeeds(f"USE WAREHOUSE {session.warehouse}")
    name = f"{session.role} uses the warehouse {session.warehouse}"
    if ok:
        return Check(name, True, "USE WAREHOUSE succeeded")
    return Check(
        name,
        False,
        said,
        f"GRANT USAGE ON WAREHOUSE {session.warehouse} TO ROLE {session.role};  -- as SYSADMIN "
        "(deploy/snowflake/02_warehouses.sql creates the warehouse)",
    )


def owns_database(session: Session) -> Check:
    database = OWNED_DATABASE[session.environment]
    found = session.rows(f"SHOW DATABASES LIKE '{database}'")
    owner = found[0].get("owner") if found else None
    name = f"{session.role} owns {database}"
    if owner and owner.upper() == session.role.upper():
        return Check(name, True, f"{database} is owned by {owner}")
    detail = f"{database} is owned by {owner}" if found else f"{session.role} cannot see {database}"
    return Check(
        name,
        False,
        detail,
        f"GRANT OWNERSHIP ON DATABASE {database} TO ROLE {session.role} COPY CURRENT GRANTS;  -- as SECURITYADMIN "
        "(deploy/snowflake/03_databases.sql)",
    )


def branch_role_as_secondary(session: Session) -> Check:
    ok, said = session.succeeds(f"USE SECONDARY ROLES {session.branch_role}")
    session.succeeds("USE SECONDARY ROLES NONE")
    name = f"{session.user} can activate {session.branch_role} as a secondary role (the clone's hand-over)"
    if ok:
        return Check(name, True, f"USE SECONDARY ROLES {session.branch_role} succeeded")
    return Check(
        name,
        False,
        said,
        f"GRANT ROLE {session.branch_role} TO ROLE {session.role};\n"
        f"GRANT ROLE {session.branch_role} TO USER {session.user};  -- as USERADMIN (deploy/snowflake/01_roles.sql, "
        "04_users.sql)",
    )


def cannot_see_production(session: Session) -> Check:
    visible = session.rows(f"SHOW DATABASES LIKE '{PRODUCTION_DATABASE}'")
    usable, _ = session.succeeds(f"USE DATABASE {PRODUCTION_DATABASE}")
    name = f"{session.role} holds nothing on {PRODUCTION_DATABASE}"
    if not visible and not usable:
        return Check(name, True, f"{PRODUCTION_DATABASE} is invisible to {session.role}")
    return Check(
        name,
        False,
        f"{session.role} can {'use' if usable else 'see'} {PRODUCTION_DATABASE}",
        f"SHOW GRANTS TO ROLE {session.role};  -- then REVOKE each privilege on {PRODUCTION_DATABASE} or its "
        f"objects, e.g. REVOKE USAGE ON DATABASE {PRODUCTION_DATABASE} FROM ROLE {session.role};",
    )


CHECKS: dict[Environment, Sequence[Callable[[Session], Check]]] = {
    Environment.PRODUCTION: (key_pair, warehouse, owns_database, branch_role_as_secondary),
    Environment.STAGING: (key_pair, warehouse, owns_database),
    Environment.BRANCH: (key_pair, warehouse, cannot_see_production),
}


def code_host_answers(settings: Mapping[str, str]) -> Check:
    name = f"the code host answers for {settings.get(PROJECT_VARIABLE, '?')}"
    problems = code_host_problems(settings)
    if problems:
        return Check(name, False, f"missing: {', '.join(problems)}", "Set them in production (production.env.example).")
    try:
        with dg.build_resources({"code_host": build_code_host(settings)}) as resources:
            pulls = resources.code_host.open_pull_requests()
    except CodeHostError as error:
        fix = f"Check {PROJECT_VARIABLE} (owner/name on GitHub, the project id on GitLab) and the token's read access."
        return Check(name, False, str(error), fix)
    return Check(name, True, f"{len(pulls)} open pull requests")


def run_checks(environment: str, env: Mapping[str, str]) -> list[Check]:
    """Connect as ``environment``'s deployment does and run its checks; a failed connection is the one check."""
    settings = {**env, **ENVIRONMENTS[environment]}
    target = resolve_target(settings)
    names = credential_variables(target)
    snowflake = build_snowflake_resource(target, settings)
    with dg.build_resources({"snowflake": snowflake}) as resources, ExitStack() as stack:
        try:
            connection = stack.enter_context(resources.snowflake.get_connection())
        except Exception as error:  # the connector's errors: what Snowflake said
            said = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
            fix = f"Check {names['user']}, the key in {names['private_key']}, and SNOWFLAKE_ACCOUNT."
            return [Check(f"{settings[names['user']]} connects", False, said, fix)]
        session = Session(
            cursor=connection.cursor(),
            environment=target.environment,
            user=settings[names["user"]],
            role=settings[names["role"]],
            warehouse=settings[names["warehouse"]],
            branch_role=settings.get(BRANCH_ROLE_VARIABLE, "HN_BRANCH"),
            key_pair=bool(settings.get(names["private_key"])),
        )
        connected = Check(f"{session.user} connects", True, f"as {session.user} with role {session.role}")
        checks = [connected, *(check(session) for check in CHECKS[target.environment])]
    if target.environment is Environment.PRODUCTION:
        checks.append(code_host_answers(settings))
    return checks


def report(checks: Sequence[Check]) -> str:
    lines = []
    for check in checks:
        lines.append(f"{'PASS' if check.passed else 'FAIL'}  {check.name}: {check.detail}")
        if not check.passed and check.fix:
            lines += [f"      fix: {line}" for line in check.fix.splitlines()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hn-preflight", description=__doc__.splitlines()[0])
    parser.add_argument("environment", choices=sorted(ENVIRONMENTS), help="whose credentials to check with")
    args = parser.parse_args(argv)
    try:
        checks = run_checks(args.environment, os.environ)
    except ConfigurationError as error:
        print(f"FAIL  settings: {error}", file=sys.stderr)
        return 1
    print(report(checks))
    failed = sum(not check.passed for check in checks)
    print(f"\n{len(checks) - failed} passed, {failed} failed" + ("" if failed else ": ready"))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
