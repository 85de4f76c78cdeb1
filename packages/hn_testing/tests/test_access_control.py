"""The emulator's access control refuses what a Snowflake account refuses, with Snowflake's words.

Each test provisions a small account of its own through SQL run as the emulator's first admin user, then connects
as the users it created; the repository's own provisioning is tested in tests/test_snowflake_provisioning.py.
"""

from __future__ import annotations

import pandas as pd
import pytest
from snowflake.connector.errors import DatabaseError, ProgrammingError

from hn_testing._access_statements import Securable
from hn_testing.snowflake_emulator import SnowflakeEmulator

# OWNER owns PRODUCTION and everything in it; READER may read ITEMS; OUTSIDER holds nothing; HEIR inherits READER;
# CLONER may create databases and use PRODUCTION (no more); TARGET is a role OWNER inherits, to hand objects to.
ACCOUNT = """
USE ROLE USERADMIN;
CREATE ROLE OWNER; CREATE ROLE READER; CREATE ROLE OUTSIDER; CREATE ROLE HEIR; CREATE ROLE CLONER; CREATE ROLE TARGET;
GRANT ROLE READER TO ROLE HEIR;
GRANT ROLE TARGET TO ROLE OWNER;
CREATE USER OWNER_USER DEFAULT_ROLE = OWNER DEFAULT_WAREHOUSE = WH;
CREATE USER READER_USER DEFAULT_ROLE = READER DEFAULT_WAREHOUSE = WH;
CREATE USER OUTSIDER_USER DEFAULT_ROLE = OUTSIDER DEFAULT_WAREHOUSE = WH;
CREATE USER HEIR_USER DEFAULT_ROLE = HEIR DEFAULT_WAREHOUSE = WH;
CREATE USER CLONER_USER DEFAULT_ROLE = CLONER DEFAULT_WAREHOUSE = WH;
CREATE USER TWO_ROLES_USER DEFAULT_ROLE = READER DEFAULT_WAREHOUSE = WH;
CREATE USER NO_WAREHOUSE_USER DEFAULT_ROLE = OWNER;
GRANT ROLE OWNER TO USER OWNER_USER; GRANT ROLE READER TO USER READER_USER; GRANT ROLE OUTSIDER TO USER OUTSIDER_USER;
GRANT ROLE HEIR TO USER HEIR_USER; GRANT ROLE CLONER TO USER CLONER_USER; GRANT ROLE OWNER TO USER NO_WAREHOUSE_USER;
GRANT ROLE READER TO USER TWO_ROLES_USER; GRANT ROLE OWNER TO USER TWO_ROLES_USER;
USE ROLE SYSADMIN;
CREATE WAREHOUSE WH;
GRANT USAGE ON WAREHOUSE WH TO ROLE PUBLIC;
USE ROLE SECURITYADMIN;
GRANT OWNERSHIP ON DATABASE PRODUCTION TO ROLE OWNER COPY CURRENT GRANTS;
GRANT CREATE DATABASE ON ACCOUNT TO ROLE CLONER;
GRANT USAGE ON DATABASE PRODUCTION TO ROLE CLONER;
"""
READS = """
USE ROLE OWNER;
GRANT USAGE ON DATABASE PRODUCTION TO ROLE READER;
GRANT USAGE ON SCHEMA PRODUCTION.HACKER_NEWS TO ROLE READER;
GRANT SELECT ON TABLE PRODUCTION.HACKER_NEWS.ITEMS TO ROLE READER;
"""
ITEMS = "PRODUCTION.HACKER_NEWS.ITEMS"
# What a clone of PRODUCTION by CLONER needs to hold its HACKER_NEWS schema: a clone holds only what its role may clone.
CLONER_READS = (
    "GRANT USAGE ON SCHEMA PRODUCTION.HACKER_NEWS TO ROLE CLONER",
    f"GRANT SELECT ON TABLE {ITEMS} TO ROLE CLONER",
)


@pytest.fixture
def snowflake_emulator_databases() -> tuple[str, ...]:
    return ("PRODUCTION",)


@pytest.fixture
def account(snowflake_emulator: SnowflakeEmulator) -> SnowflakeEmulator:
    snowflake_emulator.run_script(ACCOUNT)
    for sql in (
        "CREATE SCHEMA PRODUCTION.HACKER_NEWS",
        f"CREATE TABLE {ITEMS} (ID INTEGER, TYPE VARCHAR)",
        f"INSERT INTO {ITEMS} VALUES (1, 'story'), (2, 'comment')",
    ):
        snowflake_emulator.execute(sql, user="OWNER_USER")
    snowflake_emulator.run_script(READS, user="OWNER_USER")
    return snowflake_emulator


def as_user(emulator: SnowflakeEmulator, user: str, *statements: str, **connect: str) -> list:
    """Run statements in one session of ``user``; returns the last one's rows."""
    with emulator.connect(user=user, **connect) as conn:
        rows: list = []
        for sql in statements:
            rows = conn.cursor().execute(sql).fetchall()
        return rows


def refused(emulator: SnowflakeEmulator, user: str, sql: str, message: str, *setup: str) -> None:
    with pytest.raises(ProgrammingError, match=message):
        as_user(emulator, user, *setup, sql)


# -- sessions: who connects, with which roles -----------------------------------------------------------


def test_a_connection_takes_its_users_default_role_and_warehouse(account) -> None:
    assert as_user(account, "OWNER_USER", "SELECT CURRENT_ROLE(), CURRENT_USER()") == [("OWNER", "OWNER_USER")]
    with account.connect(user="TWO_ROLES_USER", role="OWNER") as conn:
        assert (conn.access.primary_role, conn.access.warehouse) == ("OWNER", "WH")


def test_a_role_not_granted_to_the_user_is_refused_at_login_and_by_use_role(account) -> None:
    with pytest.raises(DatabaseError, match="Role 'OWNER' specified in the connect string is not granted to this"):
        account.connect(user="READER_USER", role="OWNER")
    refused(account, "READER_USER", "USE ROLE OWNER", "Requested role 'OWNER' is not assigned to the executing user")
    assert as_user(account, "HEIR_USER", "USE ROLE READER", "SELECT CURRENT_ROLE()") == [("READER",)]


def test_once_users_exist_every_login_must_name_one(account) -> None:
    with pytest.raises(DatabaseError, match="Incorrect username or password was specified"):
        account.connect(user="NOBODY")


def test_without_any_user_created_every_connection_is_an_unrestricted_accountadmin(
    snowflake_emulator: SnowflakeEmulator,
) -> None:
    assert as_user(snowflake_emulator, "anyone", "SELECT CURRENT_ROLE()") == [("ACCOUNTADMIN",)]
    as_user(snowflake_emulator, "anyone", "CREATE SCHEMA PRODUCTION.S", "CREATE TABLE PRODUCTION.S.T (ID INT)")
    assert snowflake_emulator.access.owner(Securable("TABLE", "PRODUCTION.S.T")) == "ACCOUNTADMIN"


# -- ownership, privileges, hierarchy ---------------------------------------------------------------------


def test_created_objects_belong_to_the_primary_role(account) -> None:
    owners = {
        account.access.owner(Securable(kind, name))
        for kind, name in [("SCHEMA", "PRODUCTION.HACKER_NEWS"), ("TABLE", ITEMS)]
    }
    assert owners == {"OWNER"}


@pytest.mark.parametrize(
    "sql",
    [f"SELECT * FROM {ITEMS}", f"INSERT INTO {ITEMS} VALUES (3, 'job')", f"DELETE FROM {ITEMS}", f"DROP TABLE {ITEMS}"],
)
def test_a_role_without_any_privilege_is_told_nothing_exists(account, sql: str) -> None:
    refused(account, "OUTSIDER_USER", sql, "Database 'PRODUCTION' does not exist or not authorized")


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        (f"INSERT INTO {ITEMS} VALUES (3, 'job')", "table 'ITEMS'"),
        (f"DELETE FROM {ITEMS}", "table 'ITEMS'"),
        (f"UPDATE {ITEMS} SET TYPE = 'job'", "table 'ITEMS'"),
        (f"TRUNCATE TABLE {ITEMS}", "table 'ITEMS'"),
        (f"DROP TABLE {ITEMS}", "table 'ITEMS'"),
        (f"ALTER TABLE {ITEMS} RENAME TO PRODUCTION.HACKER_NEWS.OLD_ITEMS", "table 'ITEMS'"),
        (f"ALTER TABLE {ITEMS} SWAP WITH PRODUCTION.HACKER_NEWS.ITEMS_NEW", "table 'ITEMS'"),
        ("CREATE TABLE PRODUCTION.HACKER_NEWS.ITEMS_NEW (ID INTEGER)", "schema 'HACKER_NEWS'"),
        ("CREATE SCHEMA PRODUCTION.OTHER", "database 'PRODUCTION'"),
        ("DROP DATABASE PRODUCTION", "database 'PRODUCTION'"),
        ("CREATE DATABASE ANALYTICS", "account 'EMULATOR'"),
        ("GRANT SELECT ON TABLE PRODUCTION.HACKER_NEWS.ITEMS TO ROLE OUTSIDER", "table 'ITEMS'"),
    ],
)
def test_a_role_that_may_only_read_cannot_write(account, sql: str, kind: str) -> None:
    refused(account, "READER_USER", sql, f"Insufficient privileges to operate on {kind}")
    assert as_user(account, "OWNER_USER", f"SELECT count(*) FROM {ITEMS}") == [(2,)]


def test_a_reader_reads_and_an_heir_inherits_what_it_may_do(account) -> None:
    assert as_user(account, "READER_USER", f"SELECT ID FROM {ITEMS} ORDER BY ID") == [(1,), (2,)]
    assert as_user(account, "HEIR_USER", f"SELECT ID FROM {ITEMS} ORDER BY ID") == [(1,), (2,)]
    refused(account, "HEIR_USER", f"DELETE FROM {ITEMS}", "Insufficient privileges to operate on table 'ITEMS'")


def test_the_owner_runs_the_whole_write_path(account) -> None:
    as_user(
        account,
        "OWNER_USER",
        "CREATE TABLE PRODUCTION.HACKER_NEWS.ITEMS_NEW (ID INTEGER, TYPE VARCHAR)",
        "INSERT INTO PRODUCTION.HACKER_NEWS.ITEMS_NEW SELECT ID + 10, TYPE FROM PRODUCTION.HACKER_NEWS.ITEMS",
        f"DROP TABLE {ITEMS}",
        "ALTER TABLE PRODUCTION.HACKER_NEWS.ITEMS_NEW RENAME TO PRODUCTION.HACKER_NEWS.ITEMS",
    )
    assert as_user(account, "OWNER_USER", f"SELECT ID FROM {ITEMS} ORDER BY ID") == [(11,), (12,)]
    assert account.access.owner(Securable("TABLE", ITEMS)) == "OWNER"
    # The table that took the name is a new object: the reader's grant on the old ITEMS went with it.
    refused(account, "READER_USER", f"SELECT * FROM {ITEMS}", "Object 'PRODUCTION.HACKER_NEWS.ITEMS' does not exist")


def test_a_rename_keeps_the_tables_grants(account) -> None:
    as_user(account, "OWNER_USER", f"ALTER TABLE {ITEMS} RENAME TO PRODUCTION.HACKER_NEWS.STORIES")

    assert as_user(account, "READER_USER", "SELECT count(*) FROM PRODUCTION.HACKER_NEWS.STORIES") == [(2,)]


def test_a_swap_exchanges_the_tables_with_their_grants(account) -> None:
    """The write path's swap: each table keeps its own grants under its new name, as in Snowflake."""
    new = "PRODUCTION.HACKER_NEWS.ITEMS_NEW"
    as_user(
        account,
        "OWNER_USER",
        f"CREATE TABLE {new} (ID INTEGER, TYPE VARCHAR)",
        f"INSERT INTO {new} VALUES (9, 'job')",
        f"ALTER TABLE {ITEMS} SWAP WITH {new}",
    )

    assert as_user(account, "OWNER_USER", f"SELECT ID FROM {ITEMS}") == [(9,)]
    assert account.access.grants.get(Securable("TABLE", ITEMS)) is None
    assert account.access.grants[Securable("TABLE", new)] == {"READER": {"SELECT"}}
    refused(account, "READER_USER", f"SELECT * FROM {ITEMS}", f"Object '{ITEMS}' does not exist or not authorized")


def test_a_swap_needs_ownership_of_both_tables(account) -> None:
    other = "PRODUCTION.HACKER_NEWS.OTHERS"
    account.execute(f"CREATE TABLE {other} (ID INTEGER)", user="OWNER_USER")
    account.run_script(f"USE ROLE SECURITYADMIN; GRANT OWNERSHIP ON TABLE {other} TO ROLE READER COPY CURRENT GRANTS;")

    refused(account, "OWNER_USER", f"ALTER TABLE {ITEMS} SWAP WITH {other}", "Table '.*OTHERS' does not exist or not")
    refused(account, "READER_USER", f"ALTER TABLE {other} SWAP WITH {ITEMS}", "Insufficient privileges .* 'ITEMS'")
    assert as_user(account, "OWNER_USER", f"SELECT count(*) FROM {ITEMS}") == [(2,)]


def test_access_control_statements_commit_an_open_transaction(account) -> None:
    with account.connect(user="OWNER_USER") as conn:
        cursor = conn.cursor()
        cursor.execute("BEGIN")
        cursor.execute(f"DELETE FROM {ITEMS} WHERE ID = 2")
        cursor.execute("GRANT SELECT ON TABLE PRODUCTION.HACKER_NEWS.ITEMS TO ROLE HEIR")
        cursor.execute("ROLLBACK")

    assert account.execute(f"SELECT ID FROM {ITEMS}") == [(1,)]


def test_secondary_roles_authorize_everything_but_create(account) -> None:
    refused(account, "TWO_ROLES_USER", f"DELETE FROM {ITEMS} WHERE ID = 2", "Insufficient privileges")
    assert as_user(
        account, "TWO_ROLES_USER", "USE SECONDARY ROLES OWNER", f"DELETE FROM {ITEMS} WHERE ID = 2",
        "SELECT CURRENT_SECONDARY_ROLES()",
    ) == [('{"roles":"OWNER","value":""}',)]  # fmt: skip
    refused(
        account,
        "TWO_ROLES_USER",
        "CREATE TABLE PRODUCTION.HACKER_NEWS.MINE (ID INTEGER)",
        "Insufficient privileges to operate on schema 'HACKER_NEWS'",
        "USE SECONDARY ROLES ALL",
    )
    refused(account, "READER_USER", "USE SECONDARY ROLES OWNER", "Requested role 'OWNER' is not assigned")


def test_a_rename_needs_create_table_on_the_schema_from_any_active_role(account) -> None:
    """alter-table: renaming needs OWNERSHIP of the table and CREATE TABLE on the schema, even within one schema.

    ALTER is not CREATE <object>, so a secondary role may hold either privilege (security-access-control-overview).
    """
    account.run_script(f"USE ROLE SECURITYADMIN; GRANT OWNERSHIP ON TABLE {ITEMS} TO ROLE READER COPY CURRENT GRANTS;")
    rename = f"ALTER TABLE {ITEMS} RENAME TO PRODUCTION.HACKER_NEWS.STORIES"

    refused(account, "READER_USER", rename, "Insufficient privileges to operate on schema 'HACKER_NEWS'")
    as_user(account, "TWO_ROLES_USER", "USE SECONDARY ROLES OWNER", rename)
    assert account.access.owner(Securable("TABLE", "PRODUCTION.HACKER_NEWS.STORIES")) == "READER"


def test_a_create_statement_takes_every_privilege_from_the_primary_role(account) -> None:
    """A CTAS whose source only a secondary role may read is refused: CREATE is the primary role's alone."""
    as_user(
        account,
        "OWNER_USER",
        "CREATE SCHEMA PRODUCTION.SCRATCH",
        "GRANT USAGE, CREATE TABLE ON SCHEMA PRODUCTION.SCRATCH TO ROLE READER",
        "CREATE TABLE PRODUCTION.HACKER_NEWS.SECRET (ID INTEGER)",
    )
    secret = "PRODUCTION.HACKER_NEWS.SECRET"

    assert as_user(account, "TWO_ROLES_USER", "USE SECONDARY ROLES OWNER", f"SELECT count(*) FROM {secret}") == [(0,)]
    refused(
        account,
        "TWO_ROLES_USER",
        f"CREATE TABLE PRODUCTION.SCRATCH.COPIED AS SELECT * FROM {secret}",
        f"Object '{secret}' does not exist or not authorized",
        "USE SECONDARY ROLES OWNER",
    )
    as_user(account, "TWO_ROLES_USER", "CREATE TABLE PRODUCTION.SCRATCH.MINE AS SELECT * FROM " + ITEMS)


def test_queries_need_a_warehouse_the_role_may_use(account) -> None:
    refused(account, "NO_WAREHOUSE_USER", f"SELECT * FROM {ITEMS}", "No active warehouse selected in the current")
    as_user(account, "NO_WAREHOUSE_USER", "CREATE TABLE PRODUCTION.HACKER_NEWS.EMPTY (ID INTEGER)")  # DDL runs without
    assert as_user(account, "NO_WAREHOUSE_USER", "USE WAREHOUSE WH", f"SELECT count(*) FROM {ITEMS}") == [(2,)]
    account.run_script("USE ROLE SYSADMIN; CREATE WAREHOUSE PRIVATE_WH;")
    refused(account, "OWNER_USER", "USE WAREHOUSE PRIVATE_WH", "Object does not exist, or operation cannot be")


def test_a_connection_to_a_database_the_role_may_not_use_has_no_current_database(account) -> None:
    with account.connect(user="OUTSIDER_USER", database="PRODUCTION", schema="HACKER_NEWS") as conn:
        assert conn.database is None
        with pytest.raises(ProgrammingError, match="does not have a current database"):
            conn.cursor().execute("SELECT * FROM ITEMS")


def test_show_lists_only_what_the_role_may_see(account) -> None:
    account.execute("CREATE TABLE PRODUCTION.HACKER_NEWS.SECRET (ID INTEGER)", user="OWNER_USER")

    assert [row[1] for row in as_user(account, "OUTSIDER_USER", "SHOW DATABASES")] == []
    assert [row[1] for row in as_user(account, "READER_USER", "SHOW DATABASES")] == ["PRODUCTION"]
    shown = as_user(account, "READER_USER", "SHOW TABLES IN SCHEMA PRODUCTION.HACKER_NEWS")
    assert [row[1] for row in shown] == ["ITEMS"]
    owner_sees = as_user(account, "OWNER_USER", "SHOW TABLES IN SCHEMA PRODUCTION.HACKER_NEWS")
    assert sorted(row[1] for row in owner_sees) == ["ITEMS", "SECRET"]
    refused(account, "OUTSIDER_USER", "SHOW SCHEMAS IN DATABASE PRODUCTION", "Database 'PRODUCTION' does not exist")
    assert [row[5] for row in as_user(account, "READER_USER", "SHOW DATABASES")] == ["OWNER"]


def test_manage_grants_sees_every_database_and_schema(account) -> None:
    """show-databases: "The MANAGE GRANTS access privilege implicitly allows its holder to see every object"."""
    account.run_script("USE ROLE SECURITYADMIN; GRANT MANAGE GRANTS ON ACCOUNT TO ROLE OUTSIDER;")

    assert [row[1] for row in as_user(account, "OUTSIDER_USER", "SHOW DATABASES")] == ["PRODUCTION"]
    shown = as_user(account, "OUTSIDER_USER", "SHOW SCHEMAS IN DATABASE PRODUCTION")
    assert "HACKER_NEWS" in [row[1] for row in shown]


def test_show_databases_and_the_information_schema_report_each_owner(account) -> None:
    as_user(account, "CLONER_USER", "CREATE DATABASE ANALYTICS")

    shown = as_user(account, "CLONER_USER", "SHOW DATABASES")
    listed = as_user(
        account,
        "CLONER_USER",
        "SELECT DATABASE_NAME, DATABASE_OWNER FROM ANALYTICS.INFORMATION_SCHEMA.DATABASES ORDER BY DATABASE_NAME",
    )
    assert {row[1]: row[5] for row in shown} == {"ANALYTICS": "CLONER", "PRODUCTION": "OWNER"}
    assert listed == [("ANALYTICS", "CLONER"), ("PRODUCTION", "OWNER")]


def test_write_pandas_needs_insert_on_the_table(account) -> None:
    from snowflake.connector.pandas_tools import write_pandas

    frame = pd.DataFrame({"ID": [3], "TYPE": ["job"]})
    with account.connect(user="READER_USER") as conn, pytest.raises(ProgrammingError, match="Insufficient privileges"):
        write_pandas(conn, frame, "ITEMS", database="PRODUCTION", schema="HACKER_NEWS")
    with account.connect(user="OWNER_USER") as conn:
        write_pandas(conn, frame, "ITEMS", database="PRODUCTION", schema="HACKER_NEWS")
    assert account.execute(f"SELECT count(*) FROM {ITEMS}") == [(3,)]


# -- clones ----------------------------------------------------------------------------------------------


def test_a_database_clone_belongs_to_the_cloner_and_keeps_its_childrens_grants(account) -> None:
    """As Snowflake documents: children keep every grant of their source, OWNERSHIP included; the clone does not."""
    as_user(account, "OWNER_USER", *CLONER_READS)
    as_user(account, "CLONER_USER", "CREATE DATABASE PRODUCTION_CLONE_1 CLONE PRODUCTION")
    control = account.access

    assert control.owner(Securable("DATABASE", "PRODUCTION_CLONE_1")) == "CLONER"
    assert control.owner(Securable("SCHEMA", "PRODUCTION_CLONE_1.HACKER_NEWS")) == "OWNER"
    assert control.owner(Securable("TABLE", "PRODUCTION_CLONE_1.HACKER_NEWS.ITEMS")) == "OWNER"
    assert control.grants[Securable("TABLE", "PRODUCTION_CLONE_1.HACKER_NEWS.ITEMS")] == {
        "READER": {"SELECT"},
        "CLONER": {"SELECT"},
    }
    assert Securable("DATABASE", "PRODUCTION_CLONE_1") not in control.grants  # PRODUCTION's USAGE grants stay there
    refused(
        account,
        "CLONER_USER",
        "DELETE FROM PRODUCTION_CLONE_1.HACKER_NEWS.ITEMS",
        "Insufficient privileges to operate on table 'ITEMS'",
    )
    refused(account, "READER_USER", "CREATE DATABASE PRODUCTION_CLONE_2 CLONE PRODUCTION", "Insufficient privileges")
    refused(account, "OUTSIDER_USER", "CREATE DATABASE PRODUCTION_CLONE_2 CLONE PRODUCTION", "Database 'PRODUCTION'")


def test_a_clone_holds_only_what_the_cloning_role_may_clone(account) -> None:
    """create-clone: "Cloning includes only the objects on which the role that creates the clone has appropriate
    privileges": USAGE on a schema, SELECT on a table or view."""
    as_user(
        account,
        "OWNER_USER",
        *CLONER_READS,
        "CREATE TABLE PRODUCTION.HACKER_NEWS.SECRET (ID INTEGER)",
        "CREATE SCHEMA PRODUCTION.PRIVATE",
        "GRANT CREATE SCHEMA ON DATABASE PRODUCTION TO ROLE CLONER",
    )

    as_user(account, "CLONER_USER", "CREATE DATABASE PRODUCTION_CLONE_1 CLONE PRODUCTION")
    as_user(account, "CLONER_USER", "CREATE SCHEMA PRODUCTION.COPIED CLONE PRODUCTION.HACKER_NEWS")

    assert account.schemas("PRODUCTION_CLONE_1") == {"HACKER_NEWS"}
    assert account.tables("PRODUCTION_CLONE_1") == {"HACKER_NEWS.ITEMS"}
    assert {t for t in account.tables("PRODUCTION") if t.startswith("COPIED.")} == {"COPIED.ITEMS"}


# -- GRANT OWNERSHIP --------------------------------------------------------------------------------------


HAND_OVER = f"GRANT OWNERSHIP ON TABLE {ITEMS} TO ROLE TARGET"


def test_ownership_goes_only_to_a_role_activated_in_the_session(account) -> None:
    """BCR 2395: the new owner must be the primary or a secondary role, even when the session inherits it."""
    refused(
        account,
        "OWNER_USER",
        f"{HAND_OVER} COPY CURRENT GRANTS",
        "Table ownership can only be transferred to a role that is activated in the current session or by a role "
        "with account-level MANAGE GRANTS",
    )
    as_user(account, "OWNER_USER", "USE SECONDARY ROLES TARGET", f"{HAND_OVER} COPY CURRENT GRANTS")

    assert account.access.owner(Securable("TABLE", ITEMS)) == "TARGET"


def test_manage_grants_transfers_ownership_to_any_role(account) -> None:
    account.run_script(f"USE ROLE SECURITYADMIN; {HAND_OVER} REVOKE CURRENT GRANTS;")

    assert account.access.owner(Securable("TABLE", ITEMS)) == "TARGET"
    assert Securable("TABLE", ITEMS) not in account.access.grants


def test_current_grants_must_be_copied_or_revoked(account) -> None:
    secondary = "USE SECONDARY ROLES TARGET"
    refused(account, "OWNER_USER", HAND_OVER, "Dependent grant of privilege 'SELECT' on securable", secondary)

    as_user(account, "OWNER_USER", secondary, f"{HAND_OVER} COPY CURRENT GRANTS")
    assert as_user(account, "READER_USER", f"SELECT count(*) FROM {ITEMS}") == [(2,)]


def test_only_an_owner_or_manage_grants_may_transfer_ownership(account) -> None:
    refused(account, "READER_USER", f"{HAND_OVER} COPY CURRENT GRANTS", "Insufficient privileges to operate on table")


def test_ownership_of_everything_in_a_database(account) -> None:
    as_user(
        account,
        "OWNER_USER",
        "USE SECONDARY ROLES TARGET",
        "GRANT OWNERSHIP ON ALL TABLES IN DATABASE PRODUCTION TO ROLE TARGET COPY CURRENT GRANTS",
        "GRANT OWNERSHIP ON ALL SCHEMAS IN DATABASE PRODUCTION TO ROLE TARGET COPY CURRENT GRANTS",
    )

    owners = {
        account.access.owner(s) for s in (Securable("TABLE", ITEMS), Securable("SCHEMA", "PRODUCTION.HACKER_NEWS"))
    }
    assert owners == {"TARGET"}
    assert account.access.owner(Securable("DATABASE", "PRODUCTION")) == "OWNER"


# -- statements the model does not know are errors, not silently accepted -----------------------------------


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("GRANT USGAE ON DATABASE PRODUCTION TO ROLE READER", "privilege USGAE cannot be granted on a database"),
        ("GRANT OWNERSHIP ON FUTURE TABLES IN DATABASE PRODUCTION TO ROLE READER", "future grants are not modelled"),
        ("GRANT ROLE READER TO ROLE NOBODY", "Role 'NOBODY' does not exist or not authorized"),
        ("GRANT ROLE HEIR TO ROLE READER", "would create a cycle"),
        ("CREATE ROLE READER", "Object 'READER' already exists"),
        ("GRANT OWNERSHIP ON TABLE PRODUCTION.HACKER_NEWS.NOPE TO ROLE READER", "NOPE' does not exist"),
    ],
)
def test_access_statements_are_checked(account, sql: str, message: str) -> None:
    with pytest.raises(ProgrammingError, match=message):
        account.run_script(sql)
