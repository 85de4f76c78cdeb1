"""The generated fixture looks like Hacker News and is the same on every run."""

from __future__ import annotations

import itertools
import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter

import pytest

from hn_core.hn_api import ITEM_TYPES
from hn_offline_api.cli import fixture_items, parse_args
from hn_offline_api.fixtures import IRREGULAR_MIX, ItemTiming, generate_items


def test_generation_is_deterministic_and_seeded() -> None:
    assert generate_items(500, seed=1) == generate_items(500, seed=1)
    assert generate_items(500, seed=1) != generate_items(500, seed=2)


def test_ids_are_contiguous_and_every_kind_appears() -> None:
    items = generate_items(3_000, seed=0)
    present = [item for item in items.values() if item is not None]
    kinds = Counter("deleted" if item.get("deleted") else item["type"] for item in present)

    assert list(items) == list(range(1, 3_001))
    assert set(kinds) == ITEM_TYPES | {"deleted"}
    assert kinds["comment"] > kinds["story"] > kinds["job"]
    assert any(item is None for item in items.values())
    assert any(item.get("dead") for item in present)


def test_threads_are_consistent() -> None:
    items = generate_items(2_000, seed=4)
    for item in filter(None, items.values()):
        for kid in item.get("kids", []):
            assert items[kid]["parent"] == item["id"]
            assert kid > item["id"]
        if item["type"] == "story":
            assert item["title"]
            assert "url" in item or "text" in item
            assert item["descendants"] >= len(item.get("kids", []))
        if item["type"] == "comment" and not item.get("deleted"):
            assert item["text"]
            assert item["parent"] < item["id"]


def item_times(items: dict) -> list[int]:
    return [item["time"] for item in items.values() if item is not None]


def test_times_grow_with_ids_at_the_live_site_rate() -> None:
    ordered = ItemTiming(out_of_order_share=0, redated_share=0)
    times = item_times(generate_items(20_000, seed=3, timing=ordered))
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]

    assert all(gap >= 0 for gap in gaps), "without irregularities, times never decrease as ids grow"
    assert 0 in gaps, "several items may share a second"
    assert 2.0 < sum(sorted(gaps)[:-50]) / (len(gaps) - 50) < 2.4, "about 2.2 s between ids, quiet spells aside"


def test_times_are_as_irregular_as_the_live_site() -> None:
    items = generate_items(20_000, seed=3, mix=IRREGULAR_MIX)
    ordered = generate_items(20_000, seed=3, timing=ItemTiming(out_of_order_share=0, redated_share=0))
    changed = {i: (ordered[i]["time"], item["time"]) for i, item in items.items() if item and ordered[i]}
    back = [i for i, (before, after) in changed.items() if 1 <= before - after <= 3 and i - 1 in changed]
    redated = [i for i, (before, after) in changed.items() if after - before >= 3600]
    stretches = [i for i in items if items[i] is None and items.get(i - 1) is None and items.get(i + 1) is None]

    assert 10 <= len(back) <= 60, "about 0.2% of ids a few seconds before the id below them"
    assert redated, "stories re-dated hours later"
    assert all(items[i]["type"] == "story" for i in redated), "only stories are re-dated"
    assert max(item["time"] for item in items.values() if item) == max(t for t, _ in changed.values())
    assert len(stretches) >= 20, "stretches of never-created ids"
    assert 100 <= sum(1 for item in items.values() if item and item.get("dead")) <= 800, "about 2% dead items"


def test_quiet_spells_leave_hours_without_items() -> None:
    times = item_times(generate_items(2_000, seed=1, timing=ItemTiming(seconds_per_item=60, quiet_share=0.005)))
    hours = {moment // 3600 for moment in times}

    assert set(range(min(hours), max(hours) + 1)) - hours, "some hour between the first and the last is empty"


def test_timing_changes_the_times_and_nothing_else() -> None:
    default = generate_items(800, seed=9)
    slower = generate_items(800, seed=9, timing=ItemTiming(seconds_per_item=600, quiet_share=0.0))

    def without_times(items: dict) -> dict:
        return {i: item and {k: v for k, v in item.items() if k != "time"} for i, item in items.items()}

    assert without_times(default) == without_times(slower)
    assert item_times(default) != item_times(slower)


def test_newest_at_puts_the_newest_item_at_that_time() -> None:
    items = generate_items(300, seed=2, timing=ItemTiming(newest_at=1_800_000_000))

    assert max(item_times(items)) == 1_800_000_000
    assert items[300] is None or items[300]["time"] == 1_800_000_000


@pytest.mark.parametrize(
    ("timing", "problem"),
    [
        ({"seconds_per_item": 0}, "seconds_per_item"),
        ({"quiet_share": 1.5}, "quiet_share"),
        ({"quiet_seconds": (10, 5)}, "quiet_seconds"),
    ],
)
def test_a_timing_that_makes_no_sense_is_refused_naming_it(timing: dict, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        ItemTiming(**timing)


def test_the_server_command_line_serves_the_latest_hours_with_newest_at_now() -> None:
    before = int(time.time())
    items = fixture_items(parse_args(["--items", "500", "--newest-at", "now", "--seconds-per-item", "30"]))

    newest = max(item_times(items))
    assert before <= newest <= time.time()
    assert newest - min(item_times(items)) >= 400 * 30 * 0.5, "500 ids about 30 s apart: hours of history"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_console_script_serves_the_api() -> None:
    """What `hn-api-server` runs, started as the benchmarks start it: `python -m hn_offline_api.cli`."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "hn_offline_api.cli", "--port", str(port), "--items", "50"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert "Offline HN API on http://127.0.0.1:" in server.stdout.readline()
        deadline = time.monotonic() + 10
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v0/maxitem.json", timeout=1) as answer:
                    assert json.load(answer) == 50
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not start within 10 s"
                time.sleep(0.05)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v0/item/50.json", timeout=1) as answer:
            assert json.load(answer) == generate_items(50)[50]
    finally:
        server.terminate()
        server.wait(timeout=10)
