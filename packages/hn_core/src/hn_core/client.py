"""The HN client interface that assets depend on, and the in-memory implementation used by unit tests."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Item = dict[str, Any]


class HNFetchError(RuntimeError):
    """An item or the max item id could not be fetched; the message names the id and the cause."""


@dataclass(frozen=True)
class FetchResult:
    """What a batch fetch returns: nothing fetched is lost without a trace.

    ``rows`` holds every item the API served, in the order of the requested ids; ``missing_ids`` the ids the API
    answered with ``null``; ``failed`` the ids that still failed after retries, with the reason.
    """

    rows: list[Item]
    missing_ids: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)

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
    def fetch_item_by_id(self, item_id: int) -> Item | None:
        """One item, or ``None`` where the API has none; raises ``HNFetchError`` if it cannot be fetched."""

    @abstractmethod
    def fetch_items(self, ids: Sequence[int], progress: ProgressCallback | None = None) -> FetchResult:
        """Many items at once, the way an asset asks for them."""


class StubHNClient(HNClient):
    """In-memory HN client: ``items`` maps ids to rows (``None`` for an id the API answers with ``null``).

    Ids absent from ``items`` are reported as failed, so that tests can exercise that path too.
    """

    def __init__(self, items: Mapping[int, Item | None], max_item_id: int | None = None) -> None:
        self._items = dict(items)
        self._max_item_id = max_item_id if max_item_id is not None else max(self._items, default=0)

    def fetch_max_item_id(self) -> int:
        return self._max_item_id

    def fetch_item_by_id(self, item_id: int) -> Item | None:
        if item_id not in self._items:
            raise HNFetchError(f"Item {item_id} is not in the stub's data.")
        return self._items[item_id]

    def fetch_items(self, ids: Sequence[int], progress: ProgressCallback | None = None) -> FetchResult:
        rows: list[Item] = []
        missing: list[int] = []
        failed: dict[int, str] = {}
        for done, item_id in enumerate(ids, start=1):
            if item_id not in self._items:
                failed[item_id] = "not in the stub's data"
            elif (row := self._items[item_id]) is None:
                missing.append(item_id)
            else:
                rows.append(row)
            if progress is not None:
                progress(done, len(ids))
        return FetchResult(rows=rows, missing_ids=missing, failed=failed)
