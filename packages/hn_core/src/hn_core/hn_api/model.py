"""The Hacker News item model: field names, item types and the dtypes of every items frame.

One place defines the columns so that the transforms, the asset checks and the warehouse tables agree, and so
that an empty result still has the full, typed column set (the Snowflake I/O manager keeps the first schema it
sees and cannot create a table from a frame with no columns).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Annotated, Any

from pydantic import AfterValidator, ConfigDict, Field, Strict, TypeAdapter
from pydantic.dataclasses import dataclass

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


def _storable_text(value: str) -> str:
    """Refuse text no warehouse can store: a lone UTF-16 surrogate (``"\\ud800"``) has no UTF-8 encoding."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(f"text holds a lone surrogate at position {error.start}, which is not valid Unicode") from None
    return value


StrictBool = Annotated[bool, Strict()]
Id = Annotated[int, Strict(), Field(gt=0, le=INT64_MAX)]
Ids = Annotated[list[Id], Strict()]
Count = Annotated[int, Strict(), Field(ge=0, le=INT64_MAX)]
Score = Annotated[int, Strict(), Field(ge=-INT64_MAX, le=INT64_MAX)]
Text = Annotated[str, Strict(), AfterValidator(_storable_text)]


@dataclass(frozen=True, slots=True, kw_only=True, config=ConfigDict(extra="ignore"))
class HNItem:
    """One item exactly as the HN API documents it (https://github.com/HackerNews/API#items), checked strictly.

    Strict: nothing is coerced (``"12"`` is not a score, ``1.5`` not a time, ``"false"`` not a boolean,
    ``"123"`` not a list of kids), so a malformed answer is reported as that id's failure instead of being
    stored as something it is not. Fields the API adds later are ignored; ``type`` stays free text, so that an
    undocumented type reaches the ``items_have_known_types`` check instead of vanishing here.

    A slotted pydantic dataclass rather than a ``BaseModel``: a fetch holds tens of thousands of items, and an item
    without a ``__dict__`` and a set of the fields given is one object for the garbage collector instead of three,
    which halves the collections a fetch triggers (BENCHMARKS.md). Every field is strict on its own, so that
    ``validate`` takes the API's JSON object as a ``dict``.
    """

    id: Id
    deleted: StrictBool = False
    type: Text | None = None
    by: Text | None = None
    time: Count | None = None
    text: Text | None = None
    dead: StrictBool = False
    parent: Id | None = None
    poll: Id | None = None
    kids: Ids | None = None
    url: Text | None = None
    score: Score | None = None
    title: Text | None = None
    parts: Ids | None = None
    descendants: Count | None = None

    @classmethod
    def validate(cls, answer: dict[str, Any]) -> HNItem:
        """The item of a JSON object already parsed; ``pydantic.ValidationError`` lists every invalid field."""
        return _ITEM_ADAPTER.validate_python(answer)

    @classmethod
    def validate_json(cls, body: bytes | str) -> HNItem:
        """The item of a JSON answer, parsed and validated in one pass; ``pydantic.ValidationError`` otherwise."""
        return _ITEM_ADAPTER.validate_json(body)


_ITEM_ADAPTER = TypeAdapter(HNItem)
