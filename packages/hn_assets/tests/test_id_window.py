"""The edges of hours: one fixed rule, exact on ordered data, the same answer however and with whatever it is searched,
never refusing items out of time order, and refusing only what it cannot see."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from hn_assets.id_window import (
    HourWindow,
    IdWindowError,
    NoTimedItemsError,
    ProbeFailedError,
    ProbeOutcome,
    find_edges,
    hour_windows,
    window_of,
)
from hn_core.hn_api.client import FetchResult, HNFetchError, Item, StubHNClient
from hn_core.hn_api.http_client import HNAPIClient
from hn_offline_api.fixtures import IRREGULAR_MIX, ItemMix, ItemTiming, generate_items
from hn_offline_api.server import OfflineHNAPI, serve_in_thread

HOUR = 3600
ORDERED = ItemTiming(seconds_per_item=20, out_of_order_share=0, redated_share=0)
#: Far more irregular than the live site: one id in 20 out of order, one story in 5 re-dated hours later.
CHAOTIC = ItemTiming(seconds_per_item=20, out_of_order_share=0.05, redated_share=0.2)


class CountingClient(StubHNClient):
    """The in-memory client, counting the batches the search asks for: one per round of the search."""

    def __init__(self, items: Mapping[int, Item | None], max_item_id: int | None = None) -> None:
        super().__init__(items, max_item_id)
        self.batches = 0

    def fetch_items(self, ids: Sequence[int], progress=None) -> FetchResult:
        self.batches += 1
        return super().fetch_items(ids, progress)


def hour_of(moment: int) -> int:
    return moment - moment % HOUR


def hours_of(items: Mapping[int, Item | None]) -> list[int]:
    times = [item["time"] for item in items.values() if item is not None and "time" in item]
    return list(range(hour_of(min(times)), hour_of(max(times)) + 1, HOUR))


def first_at_or_after(items: Mapping[int, Item | None], instant: int) -> int:
    """Brute force on ordered items: the first id created at or after ``instant``."""
    return min((i for i, item in items.items() if item and item["time"] >= instant), default=max(items) + 1)


def untimed(items: Mapping[int, Item | None], ids: range) -> bool:
    return all(items.get(i) is None or "time" not in items[i] for i in ids)


def test_on_ordered_items_each_edge_is_the_first_item_created_at_or_after_its_instant() -> None:
    items = generate_items(4_000, seed=2, mix=ItemMix(null=0.05, deleted=0.05), timing=ORDERED)
    hours = hours_of(items)

    edges = find_edges(StubHNClient(items), hours)

    for instant in hours:
        exact = first_at_or_after(items, instant)
        assert edges.ids[instant] <= exact, instant
        assert untimed(items, range(edges.ids[instant], exact)), "only ids without a time go with the edge above"


def test_an_edge_does_not_depend_on_what_else_is_searched_nor_on_newer_items() -> None:
    items = generate_items(4_000, seed=5, mix=IRREGULAR_MIX, timing=CHAOTIC)
    newest_hour = hours_of(items)[-1]
    hours = hours_of(items)[:-2]
    client = StubHNClient(items)

    together = find_edges(client, hours).ids
    alone = {instant: find_edges(client, [instant]).ids[instant] for instant in hours}
    in_pairs = {
        instant: find_edges(client, [instant, instant + HOUR]).ids[instant] for instant in hours
    }  # a run of one hour searches its start and its end
    newer = dict(items)
    newer.update({i: {"id": i, "type": "comment", "time": newest_hour + 2 * HOUR} for i in range(4_001, 4_500)})
    later = find_edges(StubHNClient(newer), hours).ids

    assert together == alone == in_pairs == later


def test_items_out_of_time_order_are_never_refused_and_every_id_is_in_one_window() -> None:
    items = generate_items(4_000, seed=9, mix=IRREGULAR_MIX, timing=CHAOTIC)
    hours = hours_of(items)[:-1]
    edges = find_edges(StubHNClient(items), [*hours, hours[-1] + HOUR])

    windows = hour_windows(hours, HOUR, edges.ids)

    placed = [edges.ids[instant] for instant in sorted(edges.ids)]
    assert placed == sorted(placed), "within one search, edges come out in order without any clamping"
    ids = range(windows[0].first_id, windows[-1].end_id)
    assert [window_of(windows, i).start for i in ids] == sorted(window_of(windows, i).start for i in ids)
    outside = [
        i for i in ids if items[i] and not window_of(windows, i).start <= items[i]["time"] < window_of(windows, i).end
    ]
    assert 0 < len(outside) < len(ids) * 0.25, "the out-of-order and re-dated items are flagged, not the hours"


def test_a_pair_straddling_an_hour_is_split_by_one_deterministic_edge() -> None:
    start = 1_700_002_800
    times = [start - 7, start - 4, start + 1, start - 1, start + 3, start + 6]  # ids 3 and 4 straddle the hour
    items = {i: {"id": i, "type": "comment", "time": t} for i, t in enumerate(times, start=1)}

    first = find_edges(StubHNClient(items), [start]).ids[start]
    again = find_edges(StubHNClient(items), [start - HOUR, start, start + HOUR]).ids[start]

    assert first == again == 4, "the median of (4, 3, 5) at id 3 is before the hour; at id 4, after it"


def test_one_re_dated_item_where_the_search_looks_does_not_move_the_edge() -> None:
    items = generate_items(4_000, seed=4, timing=ORDERED)
    instant = hours_of(items)[3]
    clean = find_edges(StubHNClient(items), [instant])
    probed = [p.item_id for p in clean.probes if p.outcome is ProbeOutcome.TIMED and p.item_id < clean.ids[instant] - 5]
    redated = dict(items)
    redated[probed[-1]] = {**items[probed[-1]], "time": instant + 5 * HOUR}

    assert find_edges(StubHNClient(redated), [instant]).ids[instant] == clean.ids[instant]


def test_many_edges_take_about_as_many_rounds_as_one() -> None:
    items = generate_items(20_000, seed=3, timing=ItemTiming(seconds_per_item=4))
    hours = hours_of(items)[1:-1]
    one, many = CountingClient(items), CountingClient(items)

    find_edges(one, hours[:1])
    find_edges(many, hours)

    assert len(hours) >= 20
    assert many.batches <= one.batches + 4, (one.batches, many.batches)


def test_null_stretches_are_passed_over_up_to_the_limit_then_refused_by_name() -> None:
    start = 1_700_003_600
    items: dict[int, Item | None] = {1: {"id": 1, "type": "story", "time": start - 60}}
    items.update(dict.fromkeys(range(2, 602)))
    items[602] = {"id": 602, "type": "story", "time": start + 60}

    assert find_edges(StubHNClient(items), [start]).ids[start] == 2
    with pytest.raises(NoTimedItemsError, match=r"hold no item with a time.*raise max_untimed_scan \(100\)"):
        find_edges(StubHNClient(items), [start], max_untimed_scan=100)


def test_a_probe_whose_time_the_rule_needs_stops_the_search_but_an_invalid_answer_is_passed_over() -> None:
    items = generate_items(2_000, seed=6, timing=ORDERED)
    instant = hours_of(items)[2]
    edge = find_edges(StubHNClient(items), [instant]).ids[instant]  # the rule reads the time of the edge's item

    class FailingStub(StubHNClient):
        def fetch_item_by_id(self, item_id: int):
            if item_id == edge:
                raise HNFetchError(f"Item {item_id}: 503 after 3 attempts")
            return super().fetch_item_by_id(item_id)

    with pytest.raises(
        ProbeFailedError, match=rf"Id {edge}, which the search .* \(Item {edge}: 503 after 3 attempts\)"
    ):
        find_edges(FailingStub(items), [instant])
    invalid = {**items, edge: {"id": edge, "time": "yesterday"}}
    edges = find_edges(StubHNClient(invalid), [instant])
    assert [p.item_id for p in edges.probes_with(ProbeOutcome.INVALID)] == [edge]
    assert edges.ids[instant] == edge, "an id without a time goes with the first item above it"


def test_an_id_fetched_ahead_that_fails_does_not_stop_the_search() -> None:
    items = generate_items(2_000, seed=6, timing=ORDERED)
    instant = hours_of(items)[2]
    clean = find_edges(StubHNClient(items), [instant])
    needed = find_edges(StubHNClient(items), [instant]).ids[instant]
    spare = max(p.item_id for p in clean.probes if p.item_id > needed)  # looked at ahead, never used

    class FailingStub(StubHNClient):
        def fetch_item_by_id(self, item_id: int):
            if item_id == spare:
                raise HNFetchError(f"Item {item_id}: 503 after 3 attempts")
            return super().fetch_item_by_id(item_id)

    failing = find_edges(FailingStub(items), [instant])
    assert failing.ids == clean.ids
    assert [p.item_id for p in failing.probes_with(ProbeOutcome.FAILED)] == [spare]


def test_an_empty_api_places_every_edge_at_the_first_id_and_is_past_nothing() -> None:
    edges = find_edges(StubHNClient({}, max_item_id=0), [1_700_000_000, 1_700_003_600])

    assert edges.ids == {1_700_000_000: 1, 1_700_003_600: 1}
    assert edges.newest_time is None
    assert not edges.is_past(1_700_000_000)


def test_the_newest_item_says_which_instants_the_api_is_past() -> None:
    items = generate_items(500, seed=1, timing=ORDERED)
    newest = max(item["time"] for item in items.values() if item)

    edges = find_edges(StubHNClient(items), [])

    assert edges.newest_time == newest
    assert edges.is_past(newest)
    assert not edges.is_past(newest + 1)


def test_windows_stay_in_order_inside_the_ids_stored_hours_leave_free() -> None:
    hours = [0, HOUR, 2 * HOUR]
    edges = {0: 5, HOUR: 30, 2 * HOUR: 25, 3 * HOUR: 31}  # placed now; stored hours around hold up to 10 and from 28

    windows = hour_windows(hours, HOUR, edges, floor=10, ceiling=28)

    assert windows == [
        HourWindow(0, HOUR, 10, 28),
        HourWindow(HOUR, 2 * HOUR, 28, 28),
        HourWindow(2 * HOUR, 3 * HOUR, 28, 28),
    ]
    with pytest.raises(IdWindowError, match="the stored windows around these hours overlap"):
        hour_windows(hours, HOUR, edges, floor=40, ceiling=28)


def test_the_http_client_finds_the_same_edges_as_the_in_memory_one() -> None:
    items = generate_items(3_000, seed=8, mix=IRREGULAR_MIX, timing=CHAOTIC)
    hours = hours_of(items)
    with serve_in_thread(OfflineHNAPI(items)) as base_url:
        over_http = find_edges(HNAPIClient(base_url=base_url), hours)

    assert over_http.ids == find_edges(StubHNClient(items), hours).ids
