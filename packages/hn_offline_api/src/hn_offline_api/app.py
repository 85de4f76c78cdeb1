"""The offline HN API itself: what it answers to each request, with latency and injected faults (no HTTP here).

It answers ``/v0/maxitem.json`` and ``/v0/item/<id>.json`` like the public API, with a configurable latency per
request and injected faults, so that the real client, the quick start and the benchmarks run without a network.
Every routing and fault decision is made in ``OfflineHNAPI.reply``, which returns a ``Reply``; the HTTP server that
sends it (``hn_offline_api.limits`` and ``hn_offline_api.server``) decides nothing.

Faults are decided per (item id, attempt number): shares by a seeded hash, everything else by the attempt count, so a
run is reproducible and a retry of the same id can succeed where the first attempt failed. Besides the usual faults
(5xx, hangs, ``null``, broken JSON), ``Faults`` can serve hostile answers: any body, any raw bytes in place of a
response, a redirect loop, rate limiting with any ``Retry-After``, and a dead API.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from hn_core.hn_api.client import Item

ITEM_PREFIX = "/v0/item/"
MAX_ITEM_PATH = "/v0/maxitem.json"
#: The largest id an HN item can have: the API stores numbers as JavaScript does, exact up to 2**53 - 1.
MAX_ITEM_ID = 2**53 - 1
NOT_AN_ITEM_ID = b"not an HN item id: give a whole number from 0 to 2**53 - 1, as in /v0/item/8863.json"
JSON_CONTENT_TYPE = "application/json"
TEXT_CONTENT_TYPE = "text/plain"


class Reply(NamedTuple):
    """What to answer to one request, and after how long.

    With ``raw``, ``body`` is the whole response, written to the socket verbatim (possibly nothing), and the
    connection closes.
    """

    delay: float
    status: int
    body: bytes
    content_type: str = JSON_CONTENT_TYPE
    headers: tuple[tuple[str, str], ...] = ()
    raw: bool = False


@dataclass
class Faults:
    """What goes wrong, and how often. Shares are between 0 and 1 and apply to item requests only.

    Transient faults, tried first, in this order (each counts as one attempt at the id):

    - ``hang_all``: every item request hangs for ``hang_seconds``, then the connection closes without an answer
      (a dead API; ``hang_max_item`` does the same to ``/v0/maxitem.json``);
    - ``rate_limited``: ``{id: (n, retry_after)}``: the first ``n`` attempts at ``id`` answer
      ``429 Too Many Requests`` with ``Retry-After: retry_after``, sent verbatim (seconds, an HTTP date, or garbage);
    - ``failures_before_success``: the first attempts at every item answer 500 (or hang ``hang_seconds`` first, with
      ``hang_before_success``), which is how tests prove that retries recover;
    - ``fail_ids`` always, and a share ``error_share`` of attempts, answer 503;
    - a share ``timeout_share`` of attempts hangs ``hang_seconds`` before the answer below.

    Then the answer itself, the first that applies:

    - ``raw_responses``: ``{id: bytes}``: these bytes are written to the socket verbatim as the whole response, then
      the connection closes (a malformed status line or header, a truncated answer...);
    - ``redirect_ids``: ``302 Found`` with ``Location`` pointing at the same path (a redirect loop);
    - ``bodies``: ``{id: bytes}``: ``200`` with exactly these bytes as the JSON body (another id, a mistyped field,
      an escaped lone surrogate, a huge body...);
    - ``malformed_ids`` (and a share ``malformed_share``) answer truncated JSON, ``null_ids`` (and ``null_share``)
      answer ``null``; every other id answers its fixture item, or ``null`` beyond the fixture.
    """

    error_share: float = 0.0
    timeout_share: float = 0.0
    null_share: float = 0.0
    malformed_share: float = 0.0
    fail_ids: frozenset[int] = frozenset()
    malformed_ids: frozenset[int] = frozenset()
    null_ids: frozenset[int] = frozenset()
    failures_before_success: int = 0
    hang_before_success: bool = False
    hang_seconds: float = 30.0
    seed: int = 0
    bodies: Mapping[int, bytes] = field(default_factory=dict)
    raw_responses: Mapping[int, bytes] = field(default_factory=dict)
    redirect_ids: frozenset[int] = frozenset()
    rate_limited: Mapping[int, tuple[int, str]] = field(default_factory=dict)
    hang_all: bool = False
    hang_max_item: bool = False

    def __post_init__(self) -> None:
        for name in ("error_share", "timeout_share", "null_share", "malformed_share"):
            share = getattr(self, name)
            if not 0.0 <= share <= 1.0:
                raise ValueError(f"Faults.{name} is {share!r}; give a share between 0 and 1.")
        for item_id, (count, retry_after) in self.rate_limited.items():
            if count < 0:
                raise ValueError(f"Faults.rate_limited[{item_id}] limits {count} attempts; give 0 or more.")
            if "\r" in retry_after or "\n" in retry_after:
                raise ValueError(
                    f"Faults.rate_limited[{item_id}] has a line break in Retry-After {retry_after!r}, which would "
                    "split the header; use raw_responses to send a malformed header."
                )


class AttemptLog(Mapping[int, int]):
    """Attempts per item id, remembered for the ``capacity`` ids requested most recently.

    Bounded because a client can ask for any number of distinct ids (2 million kept 140 MB for good in an unbounded
    counter). An id being retried is asked for again within seconds, so it stays among the most recent; an id
    forgotten starts again from attempt 0, and its first-attempt faults apply again. Like a ``Counter``, an id never
    requested (or forgotten) counts 0 attempts.
    """

    DEFAULT_CAPACITY = 100_000

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError(f"AttemptLog capacity is {capacity}; give 1 or more ids.")
        self.capacity = capacity
        self._counts: OrderedDict[int, int] = OrderedDict()

    def record(self, item_id: int) -> int:
        """Count one more attempt at ``item_id``; returns the number of attempts before this one."""
        counts = self._counts
        attempt = counts.get(item_id, 0)
        counts[item_id] = attempt + 1
        if attempt:
            counts.move_to_end(item_id)
        elif len(counts) > self.capacity:
            counts.popitem(last=False)
        return attempt

    def clear(self) -> None:
        self._counts.clear()

    def __getitem__(self, item_id: int) -> int:
        return self._counts.get(item_id, 0)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._counts

    def __iter__(self) -> Iterator[int]:
        return iter(list(self._counts))  # a snapshot: the server thread may record attempts meanwhile

    def __len__(self) -> int:
        return len(self._counts)

    def __repr__(self) -> str:
        return f"AttemptLog({dict(self._counts)!r}, capacity={self.capacity})"


def parse_item_id(text: str) -> int | None:
    """The item id ``text`` spells (ASCII digits, at most ``MAX_ITEM_ID``), or ``None``.

    Length is checked first: Python refuses to convert strings of more than 4,300 digits, and none is needed.
    """
    if len(text) > len(str(MAX_ITEM_ID)) or not (text.isascii() and text.isdigit()):
        return None
    item_id = int(text)
    return item_id if item_id <= MAX_ITEM_ID else None


@dataclass
class OfflineHNAPI:
    """The application state: the fixture, pre-serialised, the latency and the faults."""

    items: Mapping[int, Item | None]
    latency_seconds: float = 0.0
    faults: Faults = field(default_factory=Faults)
    attempts: AttemptLog = field(default_factory=AttemptLog)

    def __post_init__(self) -> None:
        self._bodies = {item_id: json.dumps(item).encode() for item_id, item in self.items.items()}
        self._max_body = json.dumps(max(self.items, default=0)).encode()

    @property
    def max_item_id(self) -> int:
        return max(self.items, default=0)

    def reply(self, path: str) -> Reply:
        """Route a GET of ``path`` (without the query string); an item request counts as an attempt at that id."""
        if path.startswith(ITEM_PREFIX) and path.endswith(".json"):
            item_id = parse_item_id(path[len(ITEM_PREFIX) : -len(".json")])
            if item_id is None:
                return Reply(0.0, 400, NOT_AN_ITEM_ID, TEXT_CONTENT_TYPE)
            return self.item_reply(item_id)
        if path == MAX_ITEM_PATH:
            if self.faults.hang_max_item:
                return Reply(self.latency_seconds + self.faults.hang_seconds, 0, b"", raw=True)
            return Reply(self.latency_seconds, 200, self._max_body)
        return Reply(0.0, 404, b"404: Not Found", TEXT_CONTENT_TYPE)

    def item_reply(self, item_id: int) -> Reply:
        """The answer to one request for ``item_id``, faults included, in the order ``Faults`` documents."""
        attempt = self.attempts.record(item_id)
        delay = self.latency_seconds
        faults = self.faults
        if faults.hang_all:
            return Reply(delay + faults.hang_seconds, 0, b"", raw=True)
        limit = faults.rate_limited.get(item_id)
        if limit is not None and attempt < limit[0]:
            return Reply(delay, 429, b"injected rate limit", TEXT_CONTENT_TYPE, (("Retry-After", limit[1]),))
        if attempt < faults.failures_before_success:
            if faults.hang_before_success:
                delay += faults.hang_seconds
            return Reply(delay, 500, b"injected failure before success", TEXT_CONTENT_TYPE)
        if item_id in faults.fail_ids or self._happens(faults.error_share, item_id, attempt, "error"):
            return Reply(delay, 503, b"injected server error", TEXT_CONTENT_TYPE)
        if self._happens(faults.timeout_share, item_id, attempt, "timeout"):
            delay += faults.hang_seconds
        raw = faults.raw_responses.get(item_id)
        if raw is not None:
            return Reply(delay, 0, raw, raw=True)
        if item_id in faults.redirect_ids:
            location = f"{ITEM_PREFIX}{item_id}.json"
            return Reply(delay, 302, b"injected redirect loop", TEXT_CONTENT_TYPE, (("Location", location),))
        body = faults.bodies.get(item_id)
        if body is not None:
            return Reply(delay, 200, body)
        if item_id in faults.malformed_ids or self._happens(faults.malformed_share, item_id, attempt, "malformed"):
            return Reply(delay, 200, b'{"id": ' + str(item_id).encode() + b', "type": "sto')
        if item_id in faults.null_ids or self._happens(faults.null_share, item_id, attempt, "null"):
            return Reply(delay, 200, b"null")
        return Reply(delay, 200, self._bodies.get(item_id, b"null"))

    def _happens(self, share: float, item_id: int, attempt: int, kind: str) -> bool:
        return share > 0 and self._roll(item_id, attempt, kind) < share

    def _roll(self, item_id: int, attempt: int, kind: str) -> float:
        digest = hashlib.blake2b(f"{self.faults.seed}:{kind}:{item_id}:{attempt}".encode(), digest_size=8)
        return int.from_bytes(digest.digest(), "big") / 2**64
