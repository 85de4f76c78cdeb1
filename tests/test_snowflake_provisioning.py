"""deploy/snowflake/ parses as Snowflake SQL, runs on the emulator as an admin would run it, twice, and grants exactly
the privilege matrix of the README: least privilege, and nothing at all for the branch role on PRODUCTION.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from hn_testing._access_control import AccessControl
from hn_testing._access_statements import GrantOwnership, Securable, parse_access_statement
from hn_testing.environments import SERVICE_ACCOUNTS
from hn_testing.provisioning import provision, provisioning_scripts

ROOT = Path(__file__).resolve().parents[1]
ROLES = ("HN_PRODUCTION", "HN_STAGING", "HN_BRANCH", "HN_DEVELOPER")
STANDING = ("PRODUCTION", "STAGING", "LOCAL")
WAREHOUSES = tuple(f"{role}_WH" for role in ROLES)

# What each role may do, derived from the scripts (OWNERSHIP implies every privilege).
EXPECTED_MATRIX = {
    "HN_PRODUCTION": {
        "ACCOUNT": {"CREATE DATABASE"},
        "PRODUCTION": {"OWNERSHIP"},
        "HN_PRODUCTION_WH": {"USAGE"},
        "HN_BRANCH_WH": {"USAGE"},
    },
    "HN_STAGING": {"STAGING": {"OWNERSHIP"}, "HN_STAGING_WH": {"USAGE"}},
    "HN_BRANCH": {"HN_BRANCH_WH": {"USAGE"}},
    "HN_DEVELOPER": {"LOCAL": {"USAGE", "CREATE SCHEMA"}, "HN_DEVELOPER_WH": {"USAGE"}},
}


def privilege_matrix(control: AccessControl) -> dict[str, dict[str, set[str]]]:
    """Role -> object -> what the role and everything it inherits hold there (owners are shown as OWNERSHIP)."""
    objects = [Securable("ACCOUNT", "ACCOUNT")]
    objects += [Securable("DATABASE", name) for name in STANDING]
    objects += [Securable("WAREHOUSE", name) for name in WAREHOUSES]
    matrix: dict[str, dict[str, set[str]]] = {}
    for role in ROLES:
        roles = control.hierarchy(role)
        held = {securable.name: control.privileges(roles, securable) for securable in objects}
        matrix[role] = {
            name: {"OWNERSHIP"} if "OWNERSHIP" in privileges else privileges
            for name, privileges in held.items()
            if privileges
        }
    return matrix


@pytest.fixture
def snowflake_emulator_databases() -> tuple[str, ...]:
    """A new account: the scripts create the databases themselves."""
    return ()


def test_every_statement_is_snowflake_sql_the_emulator_understands() -> None:
    scripts = provisioning_scripts(ROOT)
    assert [script.name for script in scripts] == [
        "01_roles.sql",
        "02_warehouses.sql",
        "03_databases.sql",
        "04_users.sql",
    ]
    for script in scripts:
        for statement in sqlglot.parse(script.read_text(), read="snowflake"):
            if statement is None:
                continue
            understood = parse_access_statement(statement) is not None or (
                isinstance(statement, exp.Create) and statement.args.get("kind") == "DATABASE"
            )
            assert understood, f"{script.name}: {statement.sql(dialect='snowflake')}"


def test_ownership_is_handed_over_without_losing_grants() -> None:
    """Every GRANT OWNERSHIP says what happens to current grants, and keeps them."""
    for script in provisioning_scripts(ROOT):
        for statement in sqlglot.parse(script.read_text(), read="snowflake"):
            access = parse_access_statement(statement) if statement is not None else None
            if isinstance(access, GrantOwnership):
                assert access.current_grants == "COPY", statement.sql(dialect="snowflake")


def test_provisioning_grants_least_privilege_and_is_re_runnable(snowflake_emulator) -> None:
    first = provision(snowflake_emulator, ROOT)
    matrix = privilege_matrix(snowflake_emulator.access)
    second = provision(snowflake_emulator, ROOT)

    assert matrix == EXPECTED_MATRIX
    assert privilege_matrix(snowflake_emulator.access) == matrix
    assert len(second) == len(first)
    assert snowflake_emulator.databases() == set(STANDING)


def test_the_branch_role_holds_nothing_on_production_and_production_inherits_it(snowflake_emulator) -> None:
    provision(snowflake_emulator, ROOT)
    control = snowflake_emulator.access

    assert control.privileges(control.hierarchy("HN_BRANCH"), Securable("DATABASE", "PRODUCTION")) == set()
    assert "HN_BRANCH" in control.hierarchy("HN_PRODUCTION")
    assert control.hierarchy("HN_BRANCH") == {"HN_BRANCH", "PUBLIC"}
    # So whatever the branch role owns, production may drop (the close-event drop and the sweeper).
    clone = Securable("DATABASE", "PRODUCTION_CLONE_1")
    control.created(clone, "HN_BRANCH")
    assert "OWNERSHIP" in control.privileges(control.hierarchy("HN_PRODUCTION"), clone)
    assert control.privileges(control.hierarchy("HN_STAGING"), clone) == set()


@pytest.mark.parametrize("environment", sorted(SERVICE_ACCOUNTS))
def test_each_service_user_has_its_environments_role_alone(snowflake_emulator, environment: str) -> None:
    """Production's user also holds the branch role directly: USE SECONDARY ROLES names it in the hand-over, and
    Snowflake documents only roles granted to the user; HN_PRODUCTION inherits it already, so nothing is gained."""
    provision(snowflake_emulator, ROOT)
    user_name, role, warehouse = SERVICE_ACCOUNTS[environment]

    user = snowflake_emulator.access.users[user_name]

    direct = {role, "HN_BRANCH"} if environment == "production" else {role}
    assert (user.roles, user.default_role, user.default_warehouse) == (direct, role, warehouse)
    control = snowflake_emulator.access
    assert control.hierarchy("HN_BRANCH") <= control.hierarchy("HN_PRODUCTION"), "no privilege beyond production's"
    assert user.default_secondary_roles == ()
