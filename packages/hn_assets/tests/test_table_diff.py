"""The table diff, by SQL in the warehouse, with exact counts of every kind of difference: in a DuckDB file and in the
Snowflake emulator (a branch deployment's clone, queried with the branch's own resource), on the same tables."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from hn_assets.table_diff import PartitionDiff, diff_tables
from hn_core.deployment.environment import resolve_target
from hn_core.warehouse.query import DuckDBWarehouseQuery, WarehouseQuery, build_warehouse_query


def base_row(i: int) -> str:
    title = "NULL" if i == 6 else f"'t{i}'"
    return f"({i}, {i * 10}, {title}, 'o', {i}, '{'a' if i <= 6 else 'b'}')"


def head_row(i: int) -> str:
    score = i * 10 + (1 if i in (4, 5) else 0)  # ids 4 and 5 change their score, 6 its title (NULL to 'x')
    title = "x" if i == 6 else f"t{i}"
    return f"({i}, {score}, '{title}', '{i}', '{'a' if i <= 6 else 'b'}', 1)"


#: Ids 1-10 in the base, 3-12 in the head: 1 and 2 removed, 11 and 12 added; OLD_COL removed, NEW_COL added, KIND
#: retyped from a number to text.
BASE = [
    "CREATE TABLE BASE_SCHEMA.ITEMS "
    "(ID BIGINT, SCORE BIGINT, TITLE VARCHAR, OLD_COL VARCHAR, KIND BIGINT, PART VARCHAR)",
    "INSERT INTO BASE_SCHEMA.ITEMS VALUES " + ", ".join(base_row(i) for i in range(1, 11)),
]
HEAD = [
    "CREATE TABLE HEAD_SCHEMA.ITEMS "
    "(ID BIGINT, SCORE BIGINT, TITLE VARCHAR, KIND VARCHAR, PART VARCHAR, NEW_COL BIGINT)",
    "INSERT INTO HEAD_SCHEMA.ITEMS VALUES " + ", ".join(head_row(i) for i in range(3, 13)),
]


@pytest.fixture(params=["duckdb", "snowflake"])
def warehouse(request, tmp_path: Path, use_environment) -> Iterator[tuple[WarehouseQuery, Callable[[str], object]]]:
    """A query resource as an environment builds it, and a way to run setup SQL in the same warehouse."""
    if request.param == "duckdb":
        path = str(tmp_path / "diff.duckdb")
        with duckdb.connect(path) as connection:
            connection.execute("CREATE SCHEMA BASE_SCHEMA; CREATE SCHEMA HEAD_SCHEMA")
        query = DuckDBWarehouseQuery(database=path, schema_name="HEAD_SCHEMA")

        def execute(sql: str) -> object:
            with duckdb.connect(path) as connection:
                return connection.execute(sql).fetchall()

        yield query, execute
        return
    emulator = request.getfixturevalue("snowflake_emulator")
    use_environment("branch", 42)
    emulator.create_database("PRODUCTION_CLONE_42")
    for schema in ("BASE_SCHEMA", "HEAD_SCHEMA"):
        emulator.execute(f"CREATE SCHEMA PRODUCTION_CLONE_42.{schema}")

    def execute(sql: str) -> object:
        for schema in ("BASE_SCHEMA", "HEAD_SCHEMA"):
            sql = sql.replace(f"{schema}.", f"PRODUCTION_CLONE_42.{schema}.")
        return emulator.execute(sql)

    # The resource the branch's location builds, configured from the environment as a run would configure it.
    with dg.build_resources({"query": build_warehouse_query(resolve_target(os.environ), os.environ)}) as resources:
        yield resources.query, execute


def diff(query: WarehouseQuery, table: str = "ITEMS", **options):
    return diff_tables(query, table, base_schema="BASE_SCHEMA", head_schema="HEAD_SCHEMA", **options)


def names(query: WarehouseQuery, *columns: str) -> list[str]:
    return [query.stored_name(column) for column in columns]


def test_every_kind_of_difference_is_counted_exactly(warehouse) -> None:
    query, execute = warehouse
    for sql in [*BASE, *HEAD]:
        execute(sql)

    result = diff(query, key="ID", partition_column="PART")

    assert (result.base_rows, result.head_rows) == (10, 10)
    assert (result.added, result.removed, result.changed) == (2, 2, 3)
    assert result.columns_added == ["NEW_COL"]
    assert result.columns_removed == ["OLD_COL"]
    [(name, was, now)] = result.columns_retyped
    assert (name, was, now) in {("KIND", "BIGINT", "VARCHAR"), ("KIND", "NUMBER(38,0)", "TEXT")}, "as each says"
    assert result.changed_share == {"SCORE": 2 / 8, "TITLE": 1 / 8, "KIND": 0.0, "PART": 0.0}, "KIND: same text"
    assert result.notes == ["Retyped columns are compared as text: `KIND`."]
    assert result.samples == {"added": [11, 12], "removed": [1, 2], "changed": [4, 5, 6]}
    assert result.partitions == [PartitionDiff("a", 6, 4, 0, 2, 3), PartitionDiff("b", 4, 6, 2, 0, 0)]
    assert result.has_differences
    assert "| 2 | 2 | 3 |" in result.markdown()
    assert result.metadata()["rows_changed"] == 3


def test_identical_tables_have_no_difference(warehouse) -> None:
    query, execute = warehouse
    execute(BASE[0])
    execute(BASE[1])
    execute("CREATE TABLE HEAD_SCHEMA.ITEMS AS SELECT * FROM BASE_SCHEMA.ITEMS")

    result = diff(query, key="ID")

    assert (result.added, result.removed, result.changed) == (0, 0, 0)
    assert not result.has_differences


def test_a_table_without_the_key_is_compared_by_schema_and_counts_only(warehouse) -> None:
    query, execute = warehouse
    execute("CREATE TABLE BASE_SCHEMA.T (NAME VARCHAR)")
    execute("CREATE TABLE HEAD_SCHEMA.T (NAME VARCHAR)")
    execute("INSERT INTO HEAD_SCHEMA.T VALUES ('a')")

    result = diff(query, "T", key="ID")

    assert (result.base_rows, result.head_rows, result.changed) == (0, 1, None)
    assert result.notes == ["No key column `ID` on both sides: only the schema and the row counts are compared."]


def test_an_empty_head_removes_every_row_and_a_removed_table_is_said(warehouse) -> None:
    query, execute = warehouse
    execute(BASE[0])
    execute(BASE[1])
    execute("CREATE TABLE HEAD_SCHEMA.ITEMS AS SELECT * FROM BASE_SCHEMA.ITEMS WHERE ID < 0")

    emptied = diff(query, key="ID")
    removed = diff(query, "GONE", key="ID")

    assert (emptied.added, emptied.removed, emptied.changed) == (0, 10, 0)
    assert (removed.base_exists, removed.head_exists, removed.added) == (False, False, None)
    execute("DROP TABLE HEAD_SCHEMA.ITEMS")
    dropped = diff(query, key="ID")
    assert (dropped.base_exists, dropped.head_exists, dropped.base_rows) == (True, False, 10)
    assert dropped.has_differences
    assert "Removed by the change" in dropped.markdown()


@pytest.mark.parametrize(
    ("change", "unmatched"),
    [
        ("INSERT INTO HEAD_SCHEMA.ITEMS SELECT * FROM BASE_SCHEMA.ITEMS WHERE ID = 3", 1),  # a repeated key
        ("UPDATE HEAD_SCHEMA.ITEMS SET ID = NULL WHERE ID IN (3, 4)", 1),  # NULL keys count once
    ],
)
def test_repeated_or_null_keys_are_said_and_rows_not_matched(warehouse, change: str, unmatched: int) -> None:
    query, execute = warehouse
    execute(BASE[0])
    execute(BASE[1])
    execute("CREATE TABLE HEAD_SCHEMA.ITEMS AS SELECT * FROM BASE_SCHEMA.ITEMS")
    execute(change)

    result = diff(query, key="ID")

    assert result.notes == [
        f"{unmatched} key value(s) of `ID` are NULL or appear more than once: rows cannot be matched one to one, so "
        "only the schema and the row counts are compared."
    ]
    assert (result.added, result.removed, result.changed) == (None, None, None)


def test_a_retyped_column_s_changed_values_are_counted_as_text(warehouse) -> None:
    query, execute = warehouse
    execute("CREATE TABLE BASE_SCHEMA.T (ID BIGINT, V BIGINT)")
    execute("INSERT INTO BASE_SCHEMA.T VALUES (1, 10), (2, 20)")
    execute("CREATE TABLE HEAD_SCHEMA.T (ID BIGINT, V VARCHAR)")
    execute("INSERT INTO HEAD_SCHEMA.T VALUES (1, '10'), (2, '20.5')")

    result = diff(query, "T", key="ID")

    assert (result.added, result.removed, result.changed) == (0, 0, 1)
    assert result.changed_share == {"V": 0.5}
    assert result.samples["changed"] == [2]
