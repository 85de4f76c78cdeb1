"""The HN client interface that assets depend on, and the in-memory implementation used by unit tests."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from hn_core.hn_api.model import HNItem

Item = dict[str, Any]
"""An item as the API serves it, before validation: a JSON object."""


class HNFetchError(RuntimeError):
    """An item or the max item id could not be fetched; the message names the id and the cause."""


class InvalidAnswerError(HNFetchError):
    """The API answered for an id, but not with that id's item as the API documents it."""

    def __init__(self, item_id: int, reason: str, served_id: int | None = None) -> None:
        super().__init__(f"Item {item_id}: {reason}")
        self.served_id = served_id


def validate_answer(item_id: int, answer: Any) -> HNItem | None:
    """The item the API answered for ``item_id``: ``None`` for ``null``, else a strictly valid ``HNItem``.

    Raises ``InvalidAnswerError`` naming the id and what is wrong: not an object, a field of the wrong type, or
    another item's id (an answer for the wrong id is never stored under either id).
    """
    if answer is None:
        return None
    if not isinstance(answer, dict):
        raise InvalidAnswerError(item_id, f"expected a JSON object or null, got {type(answer).__name__}")
    try:
        item = HNItem.validate(answer)
    except msgspec.ValidationError as error:
        raise InvalidAnswerError(item_id, f"invalid item ({_problem(error, answer)})") from None
    if item.id != item_id:
        raise InvalidAnswerError(item_id, f"the API served item {item.id} in its place", served_id=item.id)
    return item


def _problem(error: msgspec.ValidationError, answer: dict[str, Any]) -> str:
    """``field: what is wrong (got value)`` from msgspec's ``Expected `int`, got `str` - at `$.kids[1]```."""
    message, _, path = str(error).rpartition(" - at `$.")
    if not message:
        return f"item: {error}"
    field = path.rstrip("`")
    name, _, index = field.partition("[")
    value = answer.get(name)
    if index and isinstance(value, list) and index[:-1].isdigit() and int(index[:-1]) < len(value):
        value = value[int(index[:-1])]
    return f"{field}: {message} (got {value!r:.60})"


def item_from_json(item_id: int, body: bytes, parse: Callable[[], Any]) -> HNItem | None:
    """The item of a JSON answer for ``item_id``, as ``validate_answer(item_id, parse())`` returns it, but faster.

    msgspec parses and checks a valid item straight from its bytes, in less time than ``json.loads`` alone. Anything
    it refuses (``null``, an invalid or malformed answer, another item's id, encodings ``json.loads`` accepts and it
    does not) takes the slow path, whose result or error is the one reported. msgspec skips the fields it ignores
    unread, so a body that is not UTF-8 takes the slow path too; the one answer the paths still judge differently
    is an unknown field holding an integer of more than 4,300 digits, which ``json.loads`` refuses to parse.
    """
    if body != b"null":
        try:
            if not body.isascii():
                body.decode()
            item = HNItem.validate_json(body)
        except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError):
            pass
        else:
            if item.id == item_id:
                return item
    return validate_answer(item_id, parse())


@dataclass(frozen=True)
class FetchResult:
    """What a batch fetch returns: nothing fetched is lost without a trace.

    ``rows`` holds every valid item the API served (deleted ones included), in the order of the requested ids;
    ``missing_ids`` the ids the API answered with ``null``; ``failed`` the ids that failed, with the reason: after
    retries, for an invalid answer, or never fetched because the API was down; ``served_instead`` maps an id
    whose answer carried another item's id to that id (those ids are in ``failed`` too); ``invalid_ids`` the ids of
    ``failed`` whose answer arrived but was not a valid item (the API will most likely serve it again), as opposed
    to ids that could not be fetched at all.
    """

    rows: list[HNItem]
    missing_ids: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    served_instead: dict[int, int] = field(default_factory=dict)
    invalid_ids: frozenset[int] = frozenset()

    @property
    def deleted_ids(self) -> list[int]:
        return [item.id for item in self.rows if item.deleted]

    @property
    def duplicate_answer_ids(self) -> list[int]:
        """Ids whose answer was a copy of another requested item: the API served that item twice."""
        requested = {item.id for item in self.rows} | set(self.missing_ids) | set(self.failed)
        return [item_id for item_id, served in self.served_instead.items() if served in requested]

    @property
    def requested(self) -> int:
        return len(self.rows) + len(self.missing_ids) + len(self.failed)


ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(done, total)`` while a batch is fetched."""


def most_recent_ids(max_item_id: int, count: int) -> range:
    """The ``count`` most recent item ids, ``max_item_id - count + 1 .. max_item_id``.

    HN ids start at 1, so asking for more items than exist is an error rather than a silently shorter range.
    """
    if count <= 0:
        raise ValueError(f"The number of items to fetch must be positive, got {count}: ask for at least 1 item.")
    if count > max_item_id:
        raise ValueError(
            f"Asked for the {count} most recent items, but the newest item id is {max_item_id}: "
            f"ask for at most {max_item_id} items."
        )
    return range(max_item_id - count + 1, max_item_id + 1)


class HNClient(ABC):
    """Reads items from Hacker News. Assets depend on this interface, never on an implementation."""

    @abstractmethod
    def fetch_max_item_id(self) -> int:
        """The id of the newest item."""

    @abstractmethod
    def fetch_item_by_id(self, item_id: int) -> HNItem | None:
        """One item, or ``None`` where the API has none; raises ``HNFetchError`` if it cannot be fetched."""

    @abstractmethod
    def fetch_items(self, ids: Sequence[int], progress: ProgressCallback | None = None) -> FetchResult:
        """Many items at once, the way an asset asks for them."""


class StubHNClient(HNClient):
    """In-memory HN client: ``items`` maps ids to answers (``None`` for an id the API answers with ``null``).

    Answers are validated like the HTTP client's, and ids absent from ``items`` are reported as failed, so that
    tests can exercise those paths too.
    """

    def __init__(self, items: Mapping[int, Item | None], max_item_id: int | None = None) -> None:
        self._items = dict(items)
        self._max_item_id = max_item_id if max_item_id is not None else max(self._items, default=0)

    def fetch_max_item_id(self) -> int:
        return self._max_item_id

    def fetch_item_by_id(self, item_id: int) -> HNItem | None:
        if item_id not in self._items:
            raise HNFetchError(f"Item {item_id} is not in the stub's data.")
        return validate_answer(item_id, self._items[item_id])

    def fetch_items(self, ids: Sequence[int], progress: ProgressCallback | None = None) -> FetchResult:
        batch = BatchCollector()
        for done, item_id in enumerate(ids, start=1):
            try:
                batch.add(item_id, self.fetch_item_by_id(item_id))
            except HNFetchError as error:
                batch.fail(item_id, error)
            if progress is not None:
                progress(done, len(ids))
        return batch.result(ids)


class BatchCollector:
    """Collects a batch's outcomes per id, in any order, into a ``FetchResult`` in the requested order."""

    def __init__(self) -> None:
        self.items: dict[int, HNItem | None] = {}
        self.failed: dict[int, str] = {}
        self.served_instead: dict[int, int] = {}
        self.invalid: set[int] = set()

    @property
    def done(self) -> int:
        return len(self.items) + len(self.failed)

    def add(self, item_id: int, item: HNItem | None) -> None:
        self.items[item_id] = item

    def fail(self, item_id: int, error: HNFetchError) -> None:
        self.failed[item_id] = str(error)
        if isinstance(error, InvalidAnswerError):
            self.invalid.add(item_id)
            if error.served_id is not None:
                self.served_instead[item_id] = error.served_id

    def result(self, ids: Sequence[int]) -> FetchResult:
        return FetchResult(
            rows=[item for item_id in ids if (item := self.items.get(item_id)) is not None],
            missing_ids=[item_id for item_id in ids if item_id in self.items and self.items[item_id] is None],
            failed={item_id: self.failed[item_id] for item_id in ids if item_id in self.failed},
            served_instead=self.served_instead,
            invalid_ids=frozenset(self.invalid & set(self.failed)),
        )
