"""The id window of an hour: exact at its edges, robust to ids without a time, refusing what it cannot trust."""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import pytest

from hn_core.api_client import HNAPIClient
from hn_core.client import HNClient, HNFetchError, Item, StubHNClient
from hn_core.fixtures import ItemMix, ItemTiming, generate_items
from hn_core.id_window import (
    IdWindow,
    IdWindowError,
    NonMonotonicIdsError,
    NoTimedItemsError,
    ProbeOutcome,
    UncertainBoundaryError,
    check_window_items,
    find_id_window,
)
from hn_core.model import HNItem
from hn_core.offline_server import OfflineHNAPI, serve_in_thread

HOUR = 3600


def hour_of(moment: int) -> int:
    return moment - moment % HOUR


def comment(item_id: int, time: int | None) -> Item:
    item: Item = {"id": item_id, "type": "comment", "by": "pg", "text": "hi", "parent": 1}
    if time is not None:
        item["time"] = time
    return item


def deleted(item_id: int, time: int) -> Item:
    return {"id": item_id, "deleted": True, "type": "comment", "time": time}


def timed_ids_by_hour(items: Mapping[int, Item | None]) -> dict[int, list[int]]:
    """The reference answer, by brute force: every id with a time, under the hour of its time."""
    hours: dict[int, list[int]] = {}
    for item_id, item in sorted(items.items()):
        if item is not None and item.get("time") is not None:
            hours.setdefault(hour_of(item["time"]), []).append(item_id)
    return hours


def windows_of_every_hour(client: HNClient, items: Mapping[int, Item | None]) -> list[IdWindow]:
    times = [item["time"] for item in items.values() if item is not None]
    first, last = hour_of(min(times)) - HOUR, hour_of(max(times)) + HOUR  # one empty hour on each side
    return [find_id_window(client, start, start + HOUR) for start in range(first, last + 1, HOUR)]


SMALL_RATE = ItemTiming(seconds_per_item=200, quiet_share=0.02, quiet_seconds=(2 * HOUR, 5 * HOUR))


@pytest.mark.parametrize("seed", range(6))
def test_adjacent_hours_cover_every_id_once_with_no_gap_and_no_overlap(seed: int) -> None:
    items = generate_items(700, seed=seed, mix=ItemMix(null=0.08, deleted=0.08), timing=SMALL_RATE)
    windows = windows_of_every_hour(StubHNClient(items), items)

    assert windows[0].ids == range(1, 1), "the hour before the first item is empty, at id 1"
    for earlier, later in itertools.pairwise(windows):
        assert earlier.end_id == later.first_id, "adjacent hours share their edge: no gap, no overlap"
    assert windows[-1].ids == range(701, 701)
    assert [item_id for window in windows for item_id in window.ids] == list(range(1, 701))
    reference = timed_ids_by_hour(items)
    for window in windows:
        timed = [i for i in window.ids if items[i] is not None]
        assert timed == reference.get(window.start, []), f"hour {window.start}"
    assert any(not window.ids for window in windows[1:-1]), "the fixture has an hour with no items"


def test_ids_without_a_time_next_to_an_edge_go_with_the_earlier_hour() -> None:
    start = hour_of(1_700_002_800)
    items = {
        1: comment(1, start - 10),
        2: None,  # null, between the last item of one hour and the first of the next
        3: None,
        4: comment(4, start + 5),
        5: comment(5, start + 7),
    }
    client = StubHNClient(items)

    before, during = find_id_window(client, start - HOUR, start), find_id_window(client, start, start + HOUR)

    assert (before.ids, during.ids) == (range(1, 4), range(4, 6))


def test_the_first_hour_starts_at_the_first_item() -> None:
    first_items = {  # Hacker News' first items, as the API serves them
        1: {"id": 1, "type": "story", "by": "pg", "time": 1160418111, "title": "Y Combinator", "score": 57},
        2: {"id": 2, "type": "story", "by": "phyllis", "time": 1160418628, "title": "A Student's Guide", "score": 16},
        3: {"id": 3, "type": "story", "by": "phyllis", "time": 1160419233, "title": "Woz Interview", "score": 7},
        4: {"id": 4, "type": "story", "by": "onebeerdave", "time": 1160419662, "title": "NYC Stats", "score": 5},
        5: {"id": 5, "type": "story", "by": "perler", "time": 1160420200, "title": "Google Video", "score": 7},
        6: {"id": 6, "type": "story", "by": "perler", "time": 1160423461, "title": "YC hires", "score": 4},
    }
    client = StubHNClient(first_items)
    first_hour = 1160416800  # 2006-10-09 18:00 UTC, the first partition of the history

    before = find_id_window(client, first_hour - HOUR, first_hour)
    first = find_id_window(client, first_hour, first_hour + HOUR)
    second = find_id_window(client, first_hour + HOUR, first_hour + 2 * HOUR)

    assert (before.ids, before.complete) == (range(1, 1), True)
    assert (first.ids, first.complete) == (range(1, 6), True)
    assert (second.ids, second.complete) == (range(6, 7), False), "item 6 is the newest: that hour may still grow"


def test_the_current_hour_runs_to_the_newest_id_and_is_not_complete() -> None:
    items = generate_items(300, seed=2, timing=SMALL_RATE)
    newest_time = items[max(i for i, item in items.items() if item)]["time"]
    client = StubHNClient(items)

    current = find_id_window(client, hour_of(newest_time), hour_of(newest_time) + HOUR)
    future = find_id_window(client, hour_of(newest_time) + HOUR, hour_of(newest_time) + 2 * HOUR)
    last_complete = find_id_window(client, hour_of(newest_time) - HOUR, hour_of(newest_time))

    assert current.end_id == 301
    assert not current.complete
    assert not future.complete
    assert future.ids == range(301, 301)
    assert last_complete.complete
    assert last_complete.end_id == current.first_id


def test_an_hour_with_no_items_is_an_empty_window_between_its_neighbours() -> None:
    start = hour_of(1_700_006_400)
    items = {
        1: comment(1, start - 30),
        2: comment(2, start - 1),
        3: comment(3, start + 2 * HOUR),
        4: comment(4, start + 2 * HOUR + 9),
    }
    client = StubHNClient(items)

    quiet = find_id_window(client, start, start + HOUR)

    assert (quiet.ids, quiet.complete) == (range(3, 3), True)
    assert find_id_window(client, start - HOUR, start).ids == range(1, 3)
    assert find_id_window(client, start + HOUR, start + 2 * HOUR).ids == range(3, 3)
    assert find_id_window(client, start + 2 * HOUR, start + 3 * HOUR).ids == range(3, 5)


def test_probes_landing_on_null_and_deleted_items_look_at_their_neighbours() -> None:
    start = hour_of(1_700_010_000)
    items: dict[int, Item | None] = {}
    for item_id in range(1, 1_001):  # every third id null; deleted items keep their time, as on HN
        time = start - 2 * HOUR + item_id * 12
        items[item_id] = (
            None if item_id % 3 == 0 else deleted(item_id, time) if item_id % 3 == 1 else comment(item_id, time)
        )
    client = StubHNClient(items)

    window = find_id_window(client, start, start + HOUR)

    expected = timed_ids_by_hour(items)[start]
    assert window.first_id == expected[0]
    assert window.end_id == timed_ids_by_hour(items)[start + HOUR][0]
    assert all(items[i] is None for i in range(expected[-1] + 1, window.end_id)), "trailing nulls stay in this hour"
    assert window.probes_with(ProbeOutcome.NULL), "some probes landed on null ids"
    assert any(items[p.item_id] and items[p.item_id].get("deleted") for p in window.probes_with(ProbeOutcome.TIMED))


def test_a_deleted_item_on_an_edge_is_placed_by_its_time() -> None:
    start = hour_of(1_700_020_000)
    items = {1: comment(1, start - 5), 2: deleted(2, start), 3: comment(3, start + 1)}

    window = find_id_window(StubHNClient(items), start, start + HOUR)

    assert window.first_id == 2


def test_an_item_served_without_a_time_counts_as_having_none() -> None:
    start = hour_of(1_700_030_000)
    items = {1: comment(1, start - 5), 2: comment(2, None), 3: comment(3, start + 1), 4: comment(4, start + HOUR)}

    window = find_id_window(StubHNClient(items), start, start + HOUR)

    assert window.ids == range(3, 4), "id 2 has no time: it stays with the hour that item 1 is in"
    assert [p.item_id for p in window.probes_with(ProbeOutcome.UNTIMED)] == [2]


def test_ids_out_of_time_order_are_refused_where_probes_see_them() -> None:
    start = hour_of(1_700_040_000)
    items = {i: comment(i, start - HOUR + i * 60) for i in range(1, 121)}
    items[60] = comment(60, start - 5 * HOUR)  # created long before its neighbours

    def search_every_hour() -> None:  # some hour's search lands on item 60
        for hour in range(start - 2 * HOUR, start + 2 * HOUR, HOUR):
            find_id_window(StubHNClient(items), hour, hour + HOUR)

    with pytest.raises(NonMonotonicIdsError, match=r"Item \d+ has time \d+ but the later item \d+ has time"):
        search_every_hour()


def test_an_item_of_the_window_outside_the_hour_is_refused() -> None:
    start = hour_of(1_700_050_000)
    items = {i: comment(i, start + i) for i in range(1, 50)}
    window = find_id_window(StubHNClient(items), start, start + HOUR)
    stray = HNItem.model_validate(comment(20, start - 3 * HOUR))  # the fetch saw what the probes did not

    with pytest.raises(NonMonotonicIdsError, match=r"Items 20 \(time \d+\) are in the id window 1\.\.49"):
        check_window_items(window, [HNItem.model_validate(items[1]), stray])


class FailingStub(StubHNClient):
    """A stub whose ``fail_ids`` cannot be fetched, as after the real client's retries."""

    def __init__(self, items: Mapping[int, Item | None], fail_ids: set[int]) -> None:
        super().__init__(items)
        self.fail_ids = fail_ids

    def fetch_item_by_id(self, item_id: int) -> HNItem | None:
        if item_id in self.fail_ids:
            raise HNFetchError(f"Could not fetch item {item_id}: HTTP 503 after 5 attempts")
        return super().fetch_item_by_id(item_id)


def test_a_failed_id_next_to_an_edge_makes_the_search_refuse() -> None:
    start = hour_of(1_700_060_000)
    items = {i: comment(i, start - HOUR + i * 40) for i in range(1, 200)}
    reference = timed_ids_by_hour(items)[start]

    just_below = f"Ids {reference[0]}, just below id {reference[0] + 1} where a window begins or ends"
    with pytest.raises(UncertainBoundaryError, match=just_below):
        find_id_window(FailingStub(items, {reference[0]}), start, start + HOUR)


def test_a_failed_probe_away_from_the_edges_is_worked_around_and_reported() -> None:
    start = hour_of(1_700_070_000)
    items = {i: comment(i, start - 3 * HOUR + i * 40) for i in range(1, 400)}
    exact = find_id_window(StubHNClient(items), start, start + HOUR)
    away = next(
        p.item_id for p in exact.probes if min(abs(p.item_id - edge) for edge in (exact.first_id, exact.end_id)) > 2
    )

    window = find_id_window(FailingStub(items, {away}), start, start + HOUR)

    assert window.ids == exact.ids
    assert [p.item_id for p in window.probes_with(ProbeOutcome.FAILED)] == [away]


def test_more_failed_probes_than_allowed_stop_the_search() -> None:
    items = {i: comment(i, 1_700_000_000 + i * 40) for i in range(1, 400)}

    with pytest.raises(IdWindowError, match=r"4 probes failed \(.*\), more than max_failed_probes \(3\)"):
        find_id_window(FailingStub(items, set(range(2, 399))), 1_700_004_000, 1_700_007_600, max_failed_probes=3)


def test_a_long_run_of_nulls_is_refused_rather_than_scanned_forever() -> None:
    items: dict[int, Item | None] = dict.fromkeys(range(1, 1_000))
    items[1], items[999] = comment(1, 1_700_000_000), comment(999, 1_700_100_000)

    with pytest.raises(NoTimedItemsError, match=r"65 ids around \d+ \(between \d+ and \d+\) have no time"):
        find_id_window(StubHNClient(items), 1_700_050_000, 1_700_053_600, max_untimed_scan=64)


def test_an_api_with_no_items_gives_an_incomplete_empty_window() -> None:
    window = find_id_window(StubHNClient({}, max_item_id=0), 1_700_000_000, 1_700_003_600)

    assert (window.ids, window.complete) == (range(1, 1), False)


def test_a_window_must_end_after_it_starts() -> None:
    with pytest.raises(ValueError, match="must end after it starts"):
        find_id_window(StubHNClient({}), 10, 10)


def test_the_http_client_finds_an_hour_with_few_probes() -> None:
    items = generate_items(20_000, seed=5)  # about 12 hours at the live site's rate
    times = sorted(item["time"] for item in items.values() if item)
    start = hour_of(times[len(times) // 2])
    with serve_in_thread(OfflineHNAPI(items)) as base_url:
        window = find_id_window(HNAPIClient(base_url=base_url), start, start + HOUR)

    assert [i for i in window.ids if items[i]] == timed_ids_by_hour(items)[start]
    assert len(window.probes) <= 30, "interpolation finds both edges of an hour among 20,000 ids in few probes"
