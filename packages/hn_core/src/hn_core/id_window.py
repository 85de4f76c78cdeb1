"""Which item ids hold the items of a time window: a search over item times that is exact at the window's edges.

HN ids grow with time, so the items created in ``[start, end)`` are one id range, ``[first_id, end_id)``. Both ends
are found by one rule, the *boundary* of an instant ``t``: the smallest id whose item has a time at or after ``t``.
Adjacent hours share an instant, hence a boundary, so every id falls in exactly one hour and none between them
(the Dagster example searches each side with its own rule and fetches ``range(start_id, end_id)``, which loses an
item per hour).

A probe reads one id with ``HNClient.fetch_item_by_id``. Some ids have no time: ``null`` ones, items served without
a time, and ids whose fetch failed. A probe that lands on one looks at its neighbours, outwards, for the nearest id
with a time; every id looked at is recorded, so a window reports what it cost. Ids without a time just before a
boundary have no item to place: they stay in the window that the boundary ends. That is only certain if none of them
failed to fetch, so a failed id there makes the search refuse, naming it, rather than guess.

The search trusts that ids grow with time, and checks it wherever it looks: two probes out of order, or an item of
the window whose time is outside it (``check_window_items``), are refused, because an hour's items would then not be
one id range.

Each step interpolates (ids arrive at a fairly steady rate, so the times of the items around the interval point near
the boundary), steered so that it closes in from both sides (``_Steering``), and bisects whenever five steps have
not halved the interval. On a simulated history of 42 million ids with a rate that grew thirtyfold, an hour's window
takes about 20 probes where bisection alone takes about 40.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from hn_core.client import HNClient, HNFetchError
from hn_core.model import HNItem

#: Ids without a time looked at in a row, around one probe, before the search gives up on that stretch.
DEFAULT_MAX_UNTIMED_SCAN = 64
#: Probes that may fail (after the client's own retries) before the search stops.
DEFAULT_MAX_FAILED_PROBES = 3
#: Interpolation steps that may pass without halving the interval before a bisection step takes over.
BISECT_AFTER = 5


class IdWindowError(RuntimeError):
    """The id window of a time window cannot be trusted; the message names the ids and what to do."""


class NonMonotonicIdsError(IdWindowError):
    """Item times do not grow with ids where the search looked, so a time window is not one id range."""


class UncertainBoundaryError(IdWindowError):
    """An id next to a boundary failed to fetch: it may be an item on either side."""


class NoTimedItemsError(IdWindowError):
    """Too many ids in a row have no time to place a boundary among them."""


class ProbeOutcome(StrEnum):
    TIMED = "timed"
    NULL = "null"
    UNTIMED = "untimed"
    FAILED = "failed"


@dataclass(frozen=True)
class Probe:
    """What one id showed: its time, or why it has none (``null``, an item without a time, a failed fetch)."""

    item_id: int
    outcome: ProbeOutcome
    time: int | None = None
    reason: str | None = None


@dataclass(frozen=True)
class IdWindow:
    """The ids ``[first_id, end_id)`` of the items created in ``[start, end)`` (Unix seconds), and how they were found.

    ``complete`` says whether the API already has an item at or after ``end``: until then, the window may still grow.
    """

    start: int
    end: int
    first_id: int
    end_id: int
    max_item_id: int
    newest_time: int | None
    probes: tuple[Probe, ...]

    @property
    def ids(self) -> range:
        return range(self.first_id, self.end_id)

    @property
    def complete(self) -> bool:
        return self.newest_time is not None and self.newest_time >= self.end

    def probes_with(self, outcome: ProbeOutcome) -> list[Probe]:
        return [probe for probe in self.probes if probe.outcome is outcome]


def find_id_window(
    client: HNClient,
    start: int,
    end: int,
    *,
    max_item_id: int | None = None,
    max_untimed_scan: int = DEFAULT_MAX_UNTIMED_SCAN,
    max_failed_probes: int = DEFAULT_MAX_FAILED_PROBES,
) -> IdWindow:
    """The id window of ``[start, end)``, searched among ids ``1..max_item_id`` (default: the API's newest id).

    Raises an ``IdWindowError`` when the answer cannot be trusted: ids out of time order, a failed id next to a
    boundary, more than ``max_failed_probes`` failed probes, or more than ``max_untimed_scan`` ids in a row without
    a time.
    """
    if start >= end:
        raise ValueError(f"A time window must end after it starts; got start {start} and end {end}.")
    newest_id = client.fetch_max_item_id() if max_item_id is None else max_item_id
    timeline = Timeline(client, max_untimed_scan, max_failed_probes)
    after_newest = newest_id + 1
    if newest_id < 1 or timeline.nearest_timed(newest_id, 1, after_newest) is None:
        return IdWindow(start, end, after_newest, after_newest, newest_id, None, timeline.probes)
    timeline.nearest_timed(1, 1, after_newest)  # the oldest item with a time: anchors the first hours
    first_id = timeline.boundary(start, 1, after_newest)
    end_id = timeline.boundary(end, first_id, after_newest)
    return IdWindow(start, end, first_id, end_id, newest_id, timeline.newest_time, timeline.probes)


def check_window_items(window: IdWindow, items: Iterable[HNItem]) -> None:
    """Refuse a window whose fetched items are not all inside its time range: ids did not grow with time there."""
    outside = [item for item in items if item.time is not None and not window.start <= item.time < window.end]
    if outside:
        shown = ", ".join(f"{item.id} (time {item.time})" for item in outside[:10])
        more = f" and {len(outside) - 10} more" if len(outside) > 10 else ""
        raise NonMonotonicIdsError(
            f"Items {shown}{more} are in the id window {window.first_id}..{window.end_id - 1} of "
            f"[{window.start}, {window.end}) but their times are outside it: item times do not grow with ids there, "
            "so this window's items are not one id range. Nothing was written."
        )


class Timeline:
    """Probed ids and their times, each id fetched at most once, kept checked for time order."""

    def __init__(self, client: HNClient, max_untimed_scan: int, max_failed_probes: int) -> None:
        self._client = client
        self._max_untimed_scan = max_untimed_scan
        self._max_failed_probes = max_failed_probes
        self._seen: dict[int, Probe] = {}
        self._order: list[Probe] = []
        self._timed_ids: list[int] = []  # sorted; their times are non-decreasing (checked on every insert)
        self._failures = 0

    @property
    def probes(self) -> tuple[Probe, ...]:
        return tuple(self._order)

    @property
    def newest_time(self) -> int | None:
        return self.time(self._timed_ids[-1]) if self._timed_ids else None

    def time(self, item_id: int) -> int | None:
        return self.probe(item_id).time

    def probe(self, item_id: int) -> Probe:
        known = self._seen.get(item_id)
        if known is not None:
            return known
        try:
            item = self._client.fetch_item_by_id(item_id)
        except HNFetchError as error:
            probe = Probe(item_id, ProbeOutcome.FAILED, reason=str(error))
        else:
            if item is None:
                probe = Probe(item_id, ProbeOutcome.NULL)
            elif item.time is None:
                probe = Probe(item_id, ProbeOutcome.UNTIMED)
            else:
                probe = Probe(item_id, ProbeOutcome.TIMED, item.time)
        self._seen[item_id] = probe
        self._order.append(probe)
        if probe.outcome is ProbeOutcome.FAILED:
            self._count_failure(probe)
        if probe.time is not None:
            self._insert_timed(item_id, probe.time)
        return probe

    def nearest_timed(self, middle: int, low: int, high: int) -> int | None:
        """The id with a time nearest ``middle`` in ``[low, high)``, looking outwards; ``None`` if none has one."""
        for untimed, item_id in enumerate(_outwards(middle, low, high)):
            if self.time(item_id) is not None:
                return item_id
            if untimed >= self._max_untimed_scan:
                raise NoTimedItemsError(
                    f"{untimed + 1} ids around {middle} (between {low} and {high - 1}) have no time: null, "
                    f"untimed or failed. The boundary cannot be placed among them; retry when the API serves them, "
                    f"or raise max_untimed_scan ({self._max_untimed_scan})."
                )
        return None

    def boundary(self, instant: int, low: int, high: int) -> int:
        """The smallest id in ``[low, high)`` whose item has a time at or after ``instant``, else ``high``.

        Every id below ``low`` with a time must have a time before ``instant``, and ``high`` must be past every id
        with a time before it (the first id after the newest, or a timed id at or after ``instant``). Each step
        narrows the interval to what the probes so far leave open, so when it closes (or holds only ids without a
        time, all of them looked at), every id between the boundary and the item before it has been probed.
        """
        steering = _Steering()
        sizes: list[int] = []
        while True:
            low, high = self._bracket(instant, low, high)
            if low >= high:
                break
            sizes.append(high - low)
            stalled = len(sizes) > BISECT_AFTER and sizes[-1] * 2 > sizes[-1 - BISECT_AFTER]
            guess = None if stalled else self._interpolate(instant, low, high, steering)
            found = self.nearest_timed(guess if guess is not None else (low + high) // 2, low, high)
            if found is None:  # every id in [low, high) has no time: none of them is an item to place
                break
            steering.moved(high_side=self.time(found) >= instant)
        self._check_gap_below(high)
        return high

    def _bracket(self, instant: int, low: int, high: int) -> tuple[int, int]:
        """Narrow ``[low, high)`` with the ids probed so far: their times are in order, so they split at ``instant``."""
        split = bisect.bisect_left(self._timed_ids, instant, key=self.time)
        if split > 0:
            low = max(low, self._timed_ids[split - 1] + 1)
        if split < len(self._timed_ids):
            high = min(high, self._timed_ids[split])
        return low, max(low, high)

    def _interpolate(self, instant: int, low: int, high: int, steering: _Steering) -> int | None:
        """Where ``instant`` falls between the items just outside ``[low, high)``, if ids arrived at a steady rate.

        Needs an item on both sides: ``low - 1`` (before ``instant``) and ``high`` (at or after it).
        """
        if low - 1 not in self._seen or high not in self._seen:
            return None
        time_low, time_high = self.time(low - 1), self.time(high)
        if time_low is None or time_high is None:
            return None
        below = (instant - time_low) * steering.low_weight  # > 0: how far instant is past the item before
        above = (time_high - instant) * steering.high_weight  # >= 0: how far the item after is past instant
        guess = low - 1 + round((high - low + 1) * below / (below + above))
        return min(max(guess, low), high - 1)

    def _check_gap_below(self, boundary: int) -> None:
        """Refuse a boundary next to ids that failed: any of them may be an item on either side of it."""
        position = bisect.bisect_left(self._timed_ids, boundary)
        previous = self._timed_ids[position - 1] if position else 0
        gap = range(previous + 1, boundary)
        unknown = [item_id for item_id in gap if item_id not in self._seen]
        if unknown:  # cannot happen: the search looks at every id of the final gap; never trust it silently
            raise AssertionError(f"ids {unknown[:10]} next to boundary {boundary} were never probed")
        failed = [self._seen[item_id] for item_id in gap if self._seen[item_id].outcome is ProbeOutcome.FAILED]
        if failed:
            reasons = "; ".join(f"{probe.item_id}: {probe.reason}" for probe in failed[:5])
            raise UncertainBoundaryError(
                f"Ids {', '.join(str(probe.item_id) for probe in failed)}, just below id {boundary} where a window "
                f"begins or ends, could not be fetched, so either window may own them ({reasons}). Nothing was "
                "written; retry when the API answers for them."
            )

    def _insert_timed(self, item_id: int, time: int) -> None:
        position = bisect.bisect_left(self._timed_ids, item_id)
        for neighbour in self._timed_ids[max(position - 1, 0) : position + 1]:
            earlier, later = sorted((neighbour, item_id))
            if self.time(earlier) > self.time(later):
                raise NonMonotonicIdsError(
                    f"Item {earlier} has time {self.time(earlier)} but the later item {later} has time "
                    f"{self.time(later)}: item times do not grow with ids here, so a time window is not one id "
                    "range and cannot be found by this search. Nothing was written."
                )
        self._timed_ids.insert(position, item_id)

    def _count_failure(self, probe: Probe) -> None:
        self._failures += 1
        if self._failures > self._max_failed_probes:
            failed = ", ".join(str(p.item_id) for p in self._order if p.outcome is ProbeOutcome.FAILED)
            raise IdWindowError(
                f"{self._failures} probes failed ({failed}), more than max_failed_probes "
                f"({self._max_failed_probes}); last error: {probe.reason}. Nothing was written."
            )


class _Steering:
    """Keeps interpolation from creeping up on the boundary from one side (the Illinois variant of regula falsi).

    When item times bend (the rate of new items changes), plain interpolation keeps landing on the same side of the
    boundary and moves only that end of the interval. Each time the same end moves twice in a row, the other end's
    pull is halved, so the next guess lands past the boundary and closes the interval from the far side too.
    """

    def __init__(self) -> None:
        self.low_weight = self.high_weight = 1.0
        self._last_high_side: bool | None = None

    def moved(self, *, high_side: bool) -> None:
        if self._last_high_side is high_side:
            if high_side:
                self.low_weight /= 2
            else:
                self.high_weight /= 2
        else:
            self.low_weight = self.high_weight = 1.0
        self._last_high_side = high_side


def _outwards(middle: int, low: int, high: int) -> Iterator[int]:
    """``middle``, then its neighbours alternately above and below, all within ``[low, high)``."""
    if low <= middle < high:
        yield middle
    for step in range(1, max(middle - low, high - middle) + 1):
        if middle + step < high:
            yield middle + step
        if low <= middle - step:
            yield middle - step
