"""The Hacker News item model: field names, item types and the dtypes of every items frame.

One place defines the columns so that the transforms, the asset checks and the warehouse tables agree, and so
that an empty result still has the full, typed column set (the Snowflake I/O manager keeps the first schema it
sees and cannot create a table from a frame with no columns).
"""

from __future__ import annotations

from types import MappingProxyType

#: Field names of an HN item, in the order of the public HN API example.
ITEM_FIELD_NAMES: tuple[str, ...] = (
    "id",
    "parent",
    "time",
    "type",
    "by",
    "text",
    "kids",
    "score",
    "title",
    "descendants",
    "url",
)

#: ``by`` is a reserved word in SQL, so the tables call it ``user_id``.
COLUMN_RENAMES = MappingProxyType({"by": "user_id"})

#: Columns of the items, comments and stories frames, in table order.
ITEMS_COLUMNS: tuple[str, ...] = tuple(COLUMN_RENAMES.get(name, name) for name in ITEM_FIELD_NAMES)

#: pandas dtypes of those columns. Nullable integer and string dtypes keep ``NULL`` distinct from ``0`` and
#: ``""`` and stay the same whether a frame has rows or not. ``time`` is Unix seconds, as the API serves it;
#: ``kids`` is the JSON text of the child id list, portable across DuckDB and Snowflake.
ITEMS_DTYPES = MappingProxyType(
    {
        "id": "int64",
        "parent": "Int64",
        "time": "Int64",
        "type": "string",
        "user_id": "string",
        "text": "string",
        "kids": "string",
        "score": "Int64",
        "title": "string",
        "descendants": "Int64",
        "url": "string",
    }
)

#: Every item type the HN API documents.
ITEM_TYPES: frozenset[str] = frozenset({"job", "story", "comment", "poll", "pollopt"})
