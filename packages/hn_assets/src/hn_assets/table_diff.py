"""How a table differs from its base, computed in the warehouse with SQL: nothing is downloaded but counts and samples.

A branch deployment writes the tables of its clone (``HACKER_NEWS``) beside the production tables it started from,
kept read-only in the clone (``HACKER_NEWS_BASE``). ``diff_tables`` compares one table across the two schemas:

- schema: columns added, removed and retyped;
- rows: counts on each side, then, matched by key (``id``) with one ``FULL OUTER JOIN``, rows added, removed and
  changed, and for each column the share of matched rows whose value changed (``IS DISTINCT FROM``, so that a
  ``NULL`` becoming a value counts);
- a few sample keys of each kind, and the same counts per partition for a partitioned table.

The SQL is the same in DuckDB and Snowflake (``FULL OUTER JOIN``, ``IS DISTINCT FROM``, ``SUM(CASE ...)``), run through
``WarehouseQuery`` with the credentials of the environment. What a diff cannot compare is said in ``notes``, never
guessed: a table without the key, a retyped key, or keys that are NULL or repeated (only schema and counts: rows
cannot be matched one to one), a table only on one side (added or removed by the change). Retyped columns are
compared as text, and said so.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from hn_core.warehouse.columns import base_type, quote
from hn_core.warehouse.query import WarehouseQuery, literal

#: Sample keys shown for each kind of difference.
DEFAULT_SAMPLES = 5
KINDS = ("added", "removed", "changed")


@dataclass(frozen=True)
class PartitionDiff:
    """The row differences within one partition (the value of the partition column on either side)."""

    partition: Any
    base_rows: int
    head_rows: int
    added: int
    removed: int
    changed: int


@dataclass
class TableDiff:
    """Everything ``diff_tables`` found; counts are ``None`` where they could not be computed (see ``notes``)."""

    table: str
    base_exists: bool
    head_exists: bool
    columns_added: list[str] = field(default_factory=list)
    columns_removed: list[str] = field(default_factory=list)
    columns_retyped: list[tuple[str, str, str]] = field(default_factory=list)
    base_rows: int = 0
    head_rows: int = 0
    added: int | None = None
    removed: int | None = None
    changed: int | None = None
    changed_share: dict[str, float] = field(default_factory=dict)
    samples: dict[str, list[Any]] = field(default_factory=dict)
    partitions: list[PartitionDiff] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def has_differences(self) -> bool:
        return bool(
            self.columns_added
            or self.columns_removed
            or self.columns_retyped
            or self.base_rows != self.head_rows
            or self.added
            or self.removed
            or self.changed
            or self.base_exists != self.head_exists
        )

    def metadata(self) -> dict[str, Any]:
        """Numbers a chart can plot, and the whole diff as Markdown."""
        numbers: dict[str, Any] = {
            "base_rows": self.base_rows,
            "head_rows": self.head_rows,
            "columns_added": len(self.columns_added),
            "columns_removed": len(self.columns_removed),
            "columns_retyped": len(self.columns_retyped),
        }
        numbers |= {f"rows_{kind}": count for kind in KINDS if (count := getattr(self, kind)) is not None}
        numbers |= {f"changed_share_{column}": share for column, share in self.changed_share.items()}
        return numbers

    def markdown(self) -> str:
        """A report a person reads on a pull request: what changed, how much, and examples."""
        lines = [f"### `{self.table}`", ""]
        if not self.head_exists:
            lines.append("Removed by the change: the table is only in the base.")
        elif not self.base_exists:
            lines.append("New with the change: the table is not in the base.")
        lines += [
            "| | base | head |",
            "|---|---:|---:|",
            f"| rows | {self.base_rows:,} | {self.head_rows:,} |",
        ]
        if self.added is not None:
            lines += ["", "| rows added | rows removed | rows changed |", "|---:|---:|---:|"]
            lines.append(f"| {self.added:,} | {self.removed:,} | {self.changed:,} |")
        schema = [f"added `{name}`" for name in self.columns_added] + [
            f"removed `{name}`" for name in self.columns_removed
        ]
        schema += [f"`{name}` {was} → {now}" for name, was, now in self.columns_retyped]
        if schema:
            lines += ["", "Columns: " + "; ".join(schema) + "."]
        changed = {column: share for column, share in self.changed_share.items() if share}
        if changed:
            lines += ["", "| column | share of matched rows changed |", "|---|---:|"]
            lines += [f"| `{column}` | {share:.1%} |" for column, share in sorted(changed.items())]
        samples = [f"{kind}: {', '.join(map(str, keys))}" for kind, keys in self.samples.items() if keys]
        if samples:
            lines += ["", "Sample keys: " + "; ".join(samples) + "."]
        if self.partitions:
            lines += [
                "",
                "| partition | base rows | head rows | added | removed | changed |",
                "|---|---:|---:|---:|---:|---:|",
            ]
            lines += [
                f"| {p.partition} | {p.base_rows:,} | {p.head_rows:,} | {p.added:,} | {p.removed:,} | {p.changed:,} |"
                for p in self.partitions
            ]
        lines += [f"\n> {note}" for note in self.notes]
        return "\n".join(lines)


def columns_of(query: WarehouseQuery, schema: str, table: str) -> dict[str, str]:
    """``{name: type}`` of a table as the warehouse describes it, in column order; empty if it does not exist.

    Snowflake's ``data_type`` is ``NUMBER`` whatever the scale, so numbers carry their precision and scale: a column
    going from ``NUMBER(38,0)`` to ``NUMBER(38,2)`` is retyped.
    """
    rows = query.rows(
        "SELECT column_name, data_type, numeric_precision, numeric_scale FROM information_schema.columns "
        f"WHERE table_schema = {literal(schema)} AND table_name = {literal(query.stored_name(table))} "
        "ORDER BY ordinal_position"
    )
    return {name: _type(kind, precision, scale) for name, kind, precision, scale in rows}


def _type(kind: str, precision: int | None, scale: int | None) -> str:
    kind = base_type(kind)
    return f"{kind}({precision},{scale})" if kind in ("NUMBER", "DECIMAL") and precision is not None else kind


def diff_tables(
    query: WarehouseQuery,
    table: str,
    *,
    base_schema: str,
    head_schema: str,
    key: str = "id",
    partition_column: str | None = None,
    where: str | None = None,
    samples: int = DEFAULT_SAMPLES,
) -> TableDiff:
    """How ``head_schema.table`` differs from ``base_schema.table``; see the module docstring.

    ``where`` (SQL on the table's columns, quoted as stored) restricts both sides, e.g. to the partitions a run wrote.
    """
    base_columns, head_columns = columns_of(query, base_schema, table), columns_of(query, head_schema, table)
    diff = TableDiff(table, base_exists=bool(base_columns), head_exists=bool(head_columns))
    diff.columns_added = [name for name in head_columns if name not in base_columns]
    diff.columns_removed = [name for name in base_columns if name not in head_columns]
    diff.columns_retyped = [
        (name, base_columns[name], kind)
        for name, kind in head_columns.items()
        if name in base_columns and base_columns[name] != kind
    ]
    base, head = (f"{quote(schema)}.{quote(query.stored_name(table))}" for schema in (base_schema, head_schema))
    if where:
        base, head = (f"(SELECT * FROM {name} WHERE {where})" for name in (base, head))
    if diff.base_exists:
        diff.base_rows = count_rows(query, base)
    if diff.head_exists:
        diff.head_rows = count_rows(query, head)
    if not (diff.base_exists and diff.head_exists):
        return diff
    stored_key = query.stored_name(key)
    if stored_key not in base_columns or stored_key not in head_columns:
        diff.notes.append(f"No key column `{key}` on both sides: only the schema and the row counts are compared.")
        return diff
    if base_columns[stored_key] != head_columns[stored_key]:
        diff.notes.append(f"The key `{key}` was retyped: rows are not matched; only the schema and counts compared.")
        return diff
    unmatched = unmatched_keys(query, base, head, stored_key)
    if unmatched:
        diff.notes.append(
            f"{unmatched} key value(s) of `{key}` are NULL or appear more than once: rows cannot be matched one to "
            "one, so only the schema and the row counts are compared."
        )
        return diff
    retyped = {name for name, _, _ in diff.columns_retyped}
    compared = [name for name in head_columns if name in base_columns and name != stored_key]
    if retyped:
        diff.notes.append(
            "Retyped columns are compared as text: " + ", ".join(f"`{name}`" for name in sorted(retyped)) + "."
        )
    compare_rows(query, diff, base, head, stored_key, compared, retyped)
    diff.samples = {
        kind: sample_keys(query, base, head, stored_key, compared, kind, samples, retyped) for kind in KINDS
    }
    stored_partition = query.stored_name(partition_column) if partition_column else None
    if stored_partition and stored_partition in base_columns and stored_partition in head_columns:
        diff.partitions = partition_diffs(query, base, head, stored_key, compared, stored_partition, retyped)
    return diff


def count_rows(query: WarehouseQuery, table: str) -> int:
    return int(query.rows(f"SELECT COUNT(*) FROM {table} AS t")[0][0])


def unmatched_keys(query: WarehouseQuery, base: str, head: str, key: str) -> int:
    """Key values that are NULL, or appear more than once on either side, counted once each."""
    per_side = " UNION ".join(
        f"SELECT {quote(key)} AS k FROM {table} AS t GROUP BY {quote(key)} HAVING COUNT(*) > 1 OR {quote(key)} IS NULL"
        for table in (base, head)
    )
    return int(query.rows(f"SELECT COUNT(*) FROM ({per_side}) AS u")[0][0])


def _joined(base: str, head: str, key: str) -> str:
    return f"{base} AS b FULL OUTER JOIN {head} AS h ON b.{quote(key)} = h.{quote(key)}"


def _column_differs(column: str, retyped: Collection[str] = ()) -> str:
    """The two sides' values differ (``NULL`` to a value too); a retyped column's values are compared as text."""
    if column in retyped:
        return f"CAST(b.{quote(column)} AS VARCHAR) IS DISTINCT FROM CAST(h.{quote(column)} AS VARCHAR)"
    return f"b.{quote(column)} IS DISTINCT FROM h.{quote(column)}"


def _differs(columns: list[str], retyped: Collection[str] = ()) -> str:
    """A row pair with any compared column different (``FALSE`` when there is none to compare)."""
    return " OR ".join(_column_differs(c, retyped) for c in columns) or "FALSE"


def _kind_condition(key: str, columns: list[str], kind: str, retyped: Collection[str] = ()) -> str:
    both = f"b.{quote(key)} IS NOT NULL AND h.{quote(key)} IS NOT NULL"
    return {
        "added": f"b.{quote(key)} IS NULL",
        "removed": f"h.{quote(key)} IS NULL",
        "changed": f"{both} AND ({_differs(columns, retyped)})",
    }[kind]


def _kind_counts(key: str, columns: list[str], retyped: Collection[str] = ()) -> str:
    return ", ".join(
        f"SUM(CASE WHEN {_kind_condition(key, columns, kind, retyped)} THEN 1 ELSE 0 END)" for kind in KINDS
    )


def compare_rows(
    query: WarehouseQuery,
    diff: TableDiff,
    base: str,
    head: str,
    key: str,
    columns: list[str],
    retyped: Collection[str] = (),
) -> None:
    """Rows added, removed and changed by ``key``, and per column the share of matched rows whose value changed.

    Keys are unique and never NULL here (``unmatched_keys``), so a NULL key after the join means "no row there".
    """
    both = f"b.{quote(key)} IS NOT NULL AND h.{quote(key)} IS NOT NULL"
    per_column = "".join(
        f", SUM(CASE WHEN {both} AND {_column_differs(c, retyped)} THEN 1 ELSE 0 END)" for c in columns
    )
    matched = f"SUM(CASE WHEN {both} THEN 1 ELSE 0 END)"
    counts = _kind_counts(key, columns, retyped)
    [row] = query.rows(f"SELECT {counts}, {matched}{per_column} FROM {_joined(base, head, key)}")
    added, removed, changed, pairs, *changes = (int(value or 0) for value in row)
    diff.added, diff.removed, diff.changed = added, removed, changed
    diff.changed_share = {
        column: count / pairs if pairs else 0.0 for column, count in zip(columns, changes, strict=True)
    }


def sample_keys(
    query: WarehouseQuery,
    base: str,
    head: str,
    key: str,
    columns: list[str],
    kind: str,
    limit: int,
    retyped: Collection[str] = (),
) -> list[Any]:
    """The first ``limit`` keys, in key order, of the rows added, removed or changed."""
    side = "b" if kind == "removed" else "h"
    condition = _kind_condition(key, columns, kind, retyped)
    rows = query.rows(
        f"SELECT {side}.{quote(key)} FROM {_joined(base, head, key)} WHERE {condition} ORDER BY 1 LIMIT {int(limit)}"
    )
    return [row[0] for row in rows]


def partition_diffs(
    query: WarehouseQuery,
    base: str,
    head: str,
    key: str,
    columns: list[str],
    partition: str,
    retyped: Collection[str] = (),
) -> list[PartitionDiff]:
    """``compare_rows``' counts per value of the partition column (a row's partition on either side)."""
    part = f"COALESCE(h.{quote(partition)}, b.{quote(partition)})"
    rows = query.rows(
        f"SELECT {part} AS p, SUM(CASE WHEN b.{quote(key)} IS NOT NULL THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN h.{quote(key)} IS NOT NULL THEN 1 ELSE 0 END), {_kind_counts(key, columns, retyped)} "
        f"FROM {_joined(base, head, key)} GROUP BY p ORDER BY p"
    )
    return [PartitionDiff(p, *(int(value or 0) for value in counts)) for p, *counts in rows]
