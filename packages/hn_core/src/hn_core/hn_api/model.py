"""The Hacker News item model: field names, item types and the dtypes of every items frame.

One place defines the columns so that the transforms, the asset checks and the warehouse tables agree, and so
that an empty result still has the full, typed column set (the Snowflake I/O manager keeps the first schema it
sees and cannot create a table from a frame with no columns).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Annotated, Any

import msgspec
from msgspec import Meta, Struct

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

#: Columns of the items, comments and stories frames, in table order: the HN fields, then ``dead``, which the API
#: serves only on items the site flagged (absent means false), so that no reader takes a dead item for a live one.
ITEMS_COLUMNS: tuple[str, ...] = (*(COLUMN_RENAMES.get(name, name) for name in ITEM_FIELD_NAMES), "dead")

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
        "dead": "bool",
    }
)

#: What each column holds, from the HN API's documentation of items (https://github.com/HackerNews/API#items);
#: shown with the column schema in the Dagster UI.
ITEMS_COLUMN_DESCRIPTIONS = MappingProxyType(
    {
        "id": "The item's unique id.",
        "parent": "The comment's parent: another comment or the story it replies to (poll options: their poll).",
        "time": "Creation date of the item, in Unix seconds (UTC).",
        "type": 'One of "job", "story", "comment", "poll" or "pollopt".',
        "user_id": "The username of the item's author (the API's `by`).",
        "text": "The comment, story or poll text, in HTML.",
        "kids": "The ids of the item's comments, in ranked display order, as a JSON array.",
        "score": "The story's score, or the votes for a poll option.",
        "title": "The title of the story, poll or job, in HTML.",
        "descendants": "For stories and polls, the total comment count.",
        "url": "The URL of the story.",
        "dead": "True if the site flagged the item dead (hidden from most readers): the API's `dead`, absent is false.",
    }
)

#: Every item type the HN API documents.
ITEM_TYPES: frozenset[str] = frozenset({"job", "story", "comment", "poll", "pollopt"})


#: The integers the tables store are 64-bit.
INT64_MAX = 2**63 - 1


#: The text fields, which the API serves as JSON strings.
TEXT_FIELDS = ("type", "by", "text", "url", "title")

Id = Annotated[int, Meta(gt=0, le=INT64_MAX)]
Count = Annotated[int, Meta(ge=0, le=INT64_MAX)]
Score = Annotated[int, Meta(ge=-INT64_MAX, le=INT64_MAX)]


class HNItem(Struct, frozen=True, kw_only=True, gc=False):
    """One item exactly as the HN API documents it (https://github.com/HackerNews/API#items), checked strictly.

    Strict: nothing is coerced (``"12"`` is not a score, ``1.5`` not a time, ``"false"`` not a boolean,
    ``"123"`` not a list of kids), so a malformed answer is reported as that id's failure instead of being
    stored as something it is not. Fields the API adds later are ignored; ``type`` stays free text, so that an
    undocumented type reaches the ``items_have_known_types`` check instead of vanishing here.

    A msgspec ``Struct``: a fetch decodes tens of thousands of answers, and msgspec parses and checks one straight
    from its bytes in less than half the time ``json.loads`` takes to build a dict (BENCHMARKS.md), into an
    object that the garbage collector never tracks (``gc=False``: its fields hold no cycles; only its lists of ids
    are tracked). The constructor checks nothing: answers go through ``validate_json`` or ``validate``.
    """

    id: Id
    deleted: bool = False
    type: str | None = None
    by: str | None = None
    time: Count | None = None
    text: str | None = None
    dead: bool = False
    parent: Id | None = None
    poll: Id | None = None
    kids: list[Id] | None = None
    url: str | None = None
    score: Score | None = None
    title: str | None = None
    parts: list[Id] | None = None
    descendants: Count | None = None

    @classmethod
    def validate(cls, answer: Any) -> HNItem:
        """The item of a JSON object already parsed, or ``msgspec.ValidationError`` naming the first bad field.

        ``json.loads`` lets a lone UTF-16 surrogate through (``"\\ud800"``), which no warehouse can store as
        UTF-8, so text is checked for one; msgspec's own JSON parser refuses them.
        """
        item = msgspec.convert(answer, cls, strict=True)
        for name in TEXT_FIELDS:
            value = getattr(item, name)
            if value is not None and not value.isascii():
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError as error:
                    raise msgspec.ValidationError(
                        f"text holds a lone surrogate at position {error.start}, which is not valid Unicode "
                        f"- at `$.{name}`"
                    ) from None
        return item

    @classmethod
    def validate_json(cls, body: bytes) -> HNItem:
        """The item of a JSON answer, parsed and checked in one pass, or ``msgspec.ValidationError`` /
        ``msgspec.DecodeError``."""
        return _DECODER.decode(body)


_DECODER = msgspec.json.Decoder(HNItem)
