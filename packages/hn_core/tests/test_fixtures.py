"""The generated fixture looks like Hacker News and is the same on every run."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter

from hn_core import ITEM_TYPES
from hn_core.fixtures import generate_items


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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_console_script_serves_the_api() -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "hn_core.offline_server", "--port", str(port), "--items", "50"],
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
