"""The id windows of hours: where the ids of the items created from an instant on begin, by one fixed rule.

An hourly history needs the ids of every hour. HN ids grow with time almost everywhere, but not everywhere: items
submitted in the same second can get their ids in either order, and stories re-upped through the second-chance pool
are served with a time hours newer than their neighbours'. So "the items created in ``[start, end)``" is not one id
range, and a search that assumes it is places an edge wherever the ids it happened to look at suggest: two runs that
look at different ids disagree, and the ids between their answers fall into no hour, or into two.

Here the edge of an instant is defined by a rule whose answer depends only on the instant and on what the API serves:

    ``edge(T)`` is where a bisection of the whole id space ``[1, 2**53)`` on "the probe time at ``m`` is at or
    after ``T``" ends,

where the probe time at ``m`` is the median time of three items: the first item with a time from ``m`` on, and its
nearest neighbours with a time below and above it. Ids without a time (``null``, served without a time, or with an
answer that is not a valid item) are passed over; ids past the newest are the future, later than any instant. Where
times grow with ids, the median is the time of the item at ``m``, and the edge is exactly the first item created at
or after ``T`` (ids without a time just below it go with it). Every step of the bisection depends only on ``T`` and on
those answers: not on the newest id, not on other searches, not on any earlier probe. The median keeps one
re-dated or out-of-order item from steering a step.

An hour's window is ``[edge(start), edge(end))``, so adjacent hours share their edge by construction and every id
belongs to exactly one hour. An item of the window whose time is outside the hour is not refused: it belongs to the
hour its id is in, and the history flags it. Where a history has stored the neighbour of an hour, the neighbour's
recorded edge is used instead of searching again, and every edge placed is kept inside the ids stored hours leave
free (``hour_windows``), which keeps stored hours intact even when the API later serves other times.

An id whose time the rule needs but that cannot be fetched (after the client's retries) stops the search: stepping
past it would make the edge depend on a transient failure. Ids fetched ahead, in case, and never needed may fail.

All the edges a run needs are searched together: each round fetches every id that any of the searches needs next in
one concurrent batch, and searches share what was fetched, so 25 edges take about as many rounds as one (some 26 for
the live API's 45 million ids, the bisection's first steps past the newest id cost nothing).
"""

from __future__ import annotations

import bisect
import statistics
from collections.abc import Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from hn_core.hn_api.client import HNClient

#: Every id an HN item can have is below this (the API's numbers are exact up to ``2**53 - 1``).
ID_SPACE = 2**53
#: Ids asked for at once when a probe looks for items with a time; doubled while it finds too few.
PROBE_SPAN = 3
#: Ids without a time passed over in a row, from one probe, before the search gives up there.
DEFAULT_MAX_UNTIMED_SCAN = 10_000
#: Ids asked for at once when looking back from the newest id for the newest item with a time.
NEWEST_SCAN = 16
_FUTURE = float("inf")

EdgeSearch = Generator[list[int], None, int]
"""A search in progress: yields the ids it needs next (never one already fetched), returns the edge."""


class IdWindowError(RuntimeError):
    """An hour's ids cannot be found or trusted; the message names the ids and what to do."""


class ProbeFailedError(IdWindowError):
    """An id the rule must look at could not be fetched."""


class NoTimedItemsError(IdWindowError):
    """Too many ids in a row have no time to take a probe's time from them."""


class ProbeOutcome(StrEnum):
    TIMED = "timed"
    NULL = "null"
    UNTIMED = "untimed"
    INVALID = "invalid"
    FAILED = "failed"


@dataclass(frozen=True)
class Probe:
    """What one id showed: its time, or why it has none (``null``, no time, an answer that is not a valid item)."""

    item_id: int
    outcome: ProbeOutcome
    time: int | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Edges:
    """The edge of each instant searched, what the API's newest item was, and every id looked at."""

    ids: Mapping[int, int]
    max_item_id: int
    newest_time: int | None
    probes: tuple[Probe, ...]

    def is_past(self, instant: int) -> bool:
        """Whether the API already has an item at or after ``instant``: until then, more may come before it."""
        return self.newest_time is not None and self.newest_time >= instant

    def probes_with(self, outcome: ProbeOutcome) -> list[Probe]:
        return [probe for probe in self.probes if probe.outcome is outcome]


@dataclass(frozen=True)
class HourWindow:
    """The ids ``[first_id, end_id)`` of the hour ``[start, end)`` (Unix seconds)."""

    start: int
    end: int
    first_id: int
    end_id: int


class ProbeLog:
    """Every id looked at, fetched in concurrent batches, each id once. An id that could not be fetched stops the
    search only if the rule needs its time: ids fetched ahead, in case, may fail without consequence."""

    def __init__(self, client: HNClient) -> None:
        self._client = client
        self._seen: dict[int, Probe] = {}

    @property
    def probes(self) -> tuple[Probe, ...]:
        return tuple(self._seen[item_id] for item_id in sorted(self._seen))

    def knows(self, item_id: int) -> bool:
        return item_id in self._seen

    def probes_of(self, item_id: int) -> Probe:
        """What ``item_id`` showed, a failed fetch included (a newest item that failed only makes a range wait)."""
        return self._seen[item_id]

    def time(self, item_id: int) -> int | None:
        """The time of ``item_id``, ``None`` if it has none; raises ``ProbeFailedError`` if it could not be fetched."""
        probe = self._seen[item_id]
        if probe.outcome is ProbeOutcome.FAILED:
            raise ProbeFailedError(
                f"Id {item_id}, which the search for the hours' edges must look at, could not be fetched "
                f"({probe.reason}). An edge is placed by a fixed rule that must see every id it looks at, so nothing "
                "was written; retry when the API answers for it."
            )
        return probe.time

    def fetch(self, ids: Iterable[int]) -> None:
        wanted = sorted(set(ids) - self._seen.keys())
        if not wanted:
            return
        result = self._client.fetch_items(wanted)
        for item in result.rows:
            outcome = ProbeOutcome.UNTIMED if item.time is None else ProbeOutcome.TIMED
            self._seen[item.id] = Probe(item.id, outcome, item.time)
        self._seen.update((item_id, Probe(item_id, ProbeOutcome.NULL)) for item_id in result.missing_ids)
        for item_id, reason in result.failed.items():
            outcome = ProbeOutcome.INVALID if item_id in result.invalid_ids else ProbeOutcome.FAILED
            self._seen[item_id] = Probe(item_id, outcome, reason=reason)


def find_edges(
    client: HNClient,
    instants: Iterable[int],
    *,
    max_item_id: int | None = None,
    max_untimed_scan: int = DEFAULT_MAX_UNTIMED_SCAN,
) -> Edges:
    """The edge of every instant (Unix seconds), by the module's rule, searched together among ids ``1..max_item_id``
    (default: the API's newest id), and the time of the newest item, which says which instants the API is past."""
    newest_id = client.fetch_max_item_id() if max_item_id is None else max_item_id
    log = ProbeLog(client)
    searches: dict[int | None, EdgeSearch] = {
        instant: edge_search(instant, log, newest_id, max_untimed_scan) for instant in sorted(set(instants))
    }
    searches[None] = newest_time_search(log, newest_id, max_untimed_scan)
    results = run_together(searches, log)
    newest_time = results.pop(None)
    edges = {instant: edge for instant, edge in results.items() if instant is not None}
    return Edges(edges, newest_id, None if newest_time < 0 else newest_time, log.probes)


def run_together(searches: Mapping[int | None, EdgeSearch], log: ProbeLog) -> dict[int | None, int]:
    """Advance every search until it ends, fetching the ids all of them need next in one batch per round."""
    results: dict[int | None, int] = {}
    needs: dict[int | None, list[int]] = {}
    for key, search in searches.items():
        _advance(key, search, results, needs)
    while needs:
        log.fetch(item_id for wanted in needs.values() for item_id in wanted)
        waiting, needs = needs, {}
        for key in waiting:
            _advance(key, searches[key], results, needs)
    return results


def _advance(
    key: int | None, search: EdgeSearch, results: dict[int | None, int], needs: dict[int | None, list[int]]
) -> None:
    try:
        needs[key] = search.send(None)
    except StopIteration as finished:
        results[key] = finished.value


def edge_search(instant: int, log: ProbeLog, newest_id: int, max_untimed_scan: int) -> EdgeSearch:
    """The module's rule for one instant: bisect ``[1, ID_SPACE)`` on "the probe time at ``m`` is at or after it"."""
    low, high = 0, ID_SPACE  # the probe time at ``low`` is before ``instant``, at ``high`` at or after it
    while high - low > 1:
        middle = (low + high) // 2
        probe_time = yield from _probe_time(middle, log, newest_id, max_untimed_scan)
        if probe_time >= instant:
            high = middle
        else:
            low = middle
    return high


def _probe_time(start: int, log: ProbeLog, newest_id: int, max_untimed_scan: int) -> Generator[list[int], None, float]:
    """The median time of the first item with a time from ``start`` on and of its neighbours with a time, one below
    and one above (before the first item, the past; past the newest, the future)."""
    around = [i for i in range(max(start - PROBE_SPAN, 1), min(start + PROBE_SPAN, newest_id + 1)) if not log.knows(i)]
    if around:  # both sides in one round: where ids have times, nothing more is needed
        yield around
    above = yield from _timed_times(start, 1, 2, log, newest_id, max_untimed_scan)
    below = yield from _timed_times(start - 1, -1, 1, log, newest_id, max_untimed_scan)
    times = [*below, *above]
    times += [-_FUTURE] * (1 - len(below)) + [_FUTURE] * (2 - len(above))
    return statistics.median(times)


def _timed_times(
    start: int, step: int, count: int, log: ProbeLog, newest_id: int, max_untimed_scan: int
) -> Generator[list[int], None, list[float]]:
    """The times of the first ``count`` items with a time from ``start`` on, going up (``step`` 1) or down (-1)."""
    times: list[float] = []
    limit = min(start + max_untimed_scan - 1, newest_id) if step > 0 else max(start - max_untimed_scan + 1, 1)
    next_id, size = start, PROBE_SPAN
    while len(times) < count and 1 <= next_id <= newest_id:
        if (next_id - limit) * step > 0:
            raise NoTimedItemsError(
                f"{max_untimed_scan} ids from {start} {'up' if step > 0 else 'down'} hold no item with a time: "
                f"null, untimed or invalid answers. A probe's time cannot be taken there; raise max_untimed_scan "
                f"({max_untimed_scan}) if the API really has no items there."
            )
        last = min(next_id + size - 1, limit) if step > 0 else max(next_id - size + 1, limit)
        batch = range(next_id, last + step, step)
        unknown = [item_id for item_id in batch if not log.knows(item_id)]
        if unknown:
            yield unknown
        for item_id in batch:
            time = log.time(item_id)
            if time is not None:
                times.append(time)
                if len(times) == count:
                    break
        next_id, size = last + step, size * 2
    return times


def newest_time_search(log: ProbeLog, newest_id: int, max_untimed_scan: int) -> EdgeSearch:
    """The latest time among the newest items with a time (``-1`` if the API has none), looking back from the newest."""
    high, size = newest_id + 1, NEWEST_SCAN
    while high > 1 and newest_id + 1 - high < max_untimed_scan:
        batch = range(max(high - size, 1), high)
        unknown = [item_id for item_id in batch if not log.knows(item_id)]
        if unknown:
            yield unknown
        fetched = [log.probes_of(item_id) for item_id in batch]
        times = [probe.time for probe in fetched if probe.time is not None]
        if times:
            return max(times)
        high, size = batch.start, size * 2
    return -1


def hour_windows(
    starts: Sequence[int], hour: int, edges: Mapping[int, int], *, floor: int = 1, ceiling: int | None = None
) -> list[HourWindow]:
    """The windows of consecutive hours beginning at ``starts``, cut at ``edges`` (instant -> id), inside the ids
    ``[floor, ceiling)`` that stored hours leave free: ``floor`` is where the nearest stored hour before ends,
    ``ceiling`` where the nearest stored hour after begins.

    Within one search, edges are in order (every search bisects the same probe times, and a later instant can only
    turn right where an earlier one does). Against edges other runs stored, they need not be: the API may serve other
    times now. So every edge is kept inside ``[floor, ceiling]`` and at or after the one before it, leaving an empty
    window rather than an id in two hours. Raises ``IdWindowError`` only if ``floor`` passes ``ceiling``: then the
    stored hours around these overlap each other.
    """
    if ceiling is not None and floor > ceiling:
        raise IdWindowError(
            f"The stored hour before {starts[0]} ends at id {floor}, after the stored hour from {starts[-1] + hour} on "
            f"begins (id {ceiling}): the stored windows around these hours overlap. Materialize the hours from the "
            "one to the other again, as one backfill, so that their edges are placed again."
        )
    cuts: list[int] = []
    for instant in [*starts, starts[-1] + hour]:
        cut = max(edges[instant], cuts[-1] if cuts else floor)
        cuts.append(cut if ceiling is None else min(cut, ceiling))
    bounds = zip(starts, cuts, cuts[1:], strict=False)
    return [HourWindow(start, start + hour, low, high) for start, low, high in bounds]


def window_of(windows: Sequence[HourWindow], item_id: int) -> HourWindow | None:
    """The window holding ``item_id``, if any: windows are consecutive, sorted, and share their edges."""
    position = bisect.bisect_right([window.first_id for window in windows], item_id) - 1
    if position < 0 or item_id >= windows[position].end_id:
        return None
    return windows[position]
