"""``hn-preflight``: each check passes on the account deploy/snowflake/ provisions, and fails, with the SQL that fixes
it, on that account with one misconfiguration planted (on the emulator, held to the deployment's privileges)."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from db_ops.preflight import main, run_checks


@pytest.fixture(scope="module")
def private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture
def deployment(provisioned_snowflake, use_environment, private_key, code_host):
    """``deployment("production")``: that environment's variables, authenticating with a key pair."""

    def switch(environment: str, *, password: bool = False) -> None:
        prefix = "BRANCH" if environment == "branch" else "SYSTEM"
        key = {} if password else {f"{prefix}_SNOWFLAKE_PRIVATE_KEY": private_key, f"{prefix}_SNOWFLAKE_PASSWORD": ""}
        host = code_host.github if environment == "production" else {}
        use_environment(environment, 1 if environment == "branch" else None, **key, **host)

    return switch


def results(environment: str) -> dict[str, tuple[bool, str, str]]:
    return {check.name: (check.passed, check.detail, check.fix) for check in run_checks(environment, os.environ)}


@pytest.mark.parametrize("environment", ["production", "staging", "branch"])
def test_the_provisioned_account_passes_every_check(deployment, environment, capsys) -> None:
    deployment(environment)

    assert main([environment]) == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out
    assert out.rstrip().endswith("failed: ready")


def test_a_production_that_cannot_activate_the_branch_role_fails_with_the_grants(deployment, provisioned_snowflake):
    provisioned_snowflake.run_script(
        "USE ROLE USERADMIN;\nREVOKE ROLE HN_BRANCH FROM ROLE HN_PRODUCTION;\n"
        "REVOKE ROLE HN_BRANCH FROM USER HN_PRODUCTION_SVC;"
    )
    deployment("production")

    passed, _, fix = results("production")[
        "HN_PRODUCTION_SVC can activate HN_BRANCH as a secondary role (the clone's hand-over)"
    ]

    assert not passed
    assert "GRANT ROLE HN_BRANCH TO ROLE HN_PRODUCTION;" in fix
    assert "GRANT ROLE HN_BRANCH TO USER HN_PRODUCTION_SVC;" in fix


def test_a_production_database_owned_by_another_role_fails(deployment, provisioned_snowflake):
    provisioned_snowflake.run_script(
        "USE ROLE SECURITYADMIN;\nGRANT OWNERSHIP ON DATABASE PRODUCTION TO ROLE SYSADMIN COPY CURRENT GRANTS;"
    )
    deployment("production")

    passed, detail, fix = results("production")["HN_PRODUCTION owns PRODUCTION"]

    assert not passed
    assert detail in ("PRODUCTION is owned by SYSADMIN", "HN_PRODUCTION cannot see PRODUCTION")
    assert fix.startswith("GRANT OWNERSHIP ON DATABASE PRODUCTION TO ROLE HN_PRODUCTION COPY CURRENT GRANTS;")


def test_a_branch_role_that_can_see_production_fails(deployment, provisioned_snowflake):
    provisioned_snowflake.run_script("USE ROLE SECURITYADMIN;\nGRANT USAGE ON DATABASE PRODUCTION TO ROLE HN_BRANCH;")
    deployment("branch")

    passed, detail, fix = results("branch")["HN_BRANCH holds nothing on PRODUCTION"]

    assert not passed
    assert detail == "HN_BRANCH can use PRODUCTION"
    assert "REVOKE USAGE ON DATABASE PRODUCTION FROM ROLE HN_BRANCH;" in fix


def test_a_warehouse_the_role_cannot_use_fails(deployment, provisioned_snowflake):
    provisioned_snowflake.run_script(
        "USE ROLE SECURITYADMIN;\nREVOKE USAGE ON WAREHOUSE HN_STAGING_WH FROM ROLE HN_STAGING;"
    )
    deployment("staging")

    passed, _, fix = results("staging")["HN_STAGING uses the warehouse HN_STAGING_WH"]

    assert not passed
    assert fix.startswith("GRANT USAGE ON WAREHOUSE HN_STAGING_WH TO ROLE HN_STAGING;")


def test_a_password_instead_of_a_key_pair_fails(deployment, capsys):
    deployment("production", password=True)

    assert main(["production"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  authenticates with a key pair: HN_PRODUCTION_SVC connected with a password" in out
    assert "ALTER USER HN_PRODUCTION_SVC UNSET PASSWORD;" in out
    assert out.rstrip().endswith("1 failed")


def test_a_code_host_that_does_not_know_the_project_fails(deployment, monkeypatch):
    deployment("production")
    monkeypatch.setenv("HN_CODE_HOST_PROJECT", "acme/elsewhere")

    passed, detail, fix = results("production")["the code host answers for acme/elsewhere"]

    assert not passed
    assert "HTTP 404" in detail
    assert fix.startswith("Check HN_CODE_HOST_PROJECT (owner/name on GitHub, the project id on GitLab)")
