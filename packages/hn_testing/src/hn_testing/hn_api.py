"""Pytest fixtures for the offline HN API: a real HTTP server on 127.0.0.1 per test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from hn_core.hn_api.client import Item
from hn_offline_api.fixtures import ItemMix, generate_items
from hn_offline_api.server import OfflineHNAPI, serve_in_thread

#: Size of the fixture the tests serve: big enough for every kind of item, small enough to fetch in milliseconds.
TEST_MAX_ITEM_ID = 400


@dataclass(frozen=True)
class RunningHNAPI:
    """A served API: ``api`` is live state (change ``api.faults`` mid-test), ``base_url`` where it listens."""

    api: OfflineHNAPI
    base_url: str

    @property
    def items(self) -> dict[int, Item | None]:
        return dict(self.api.items)


@pytest.fixture(scope="session")
def hn_fixture_items() -> dict[int, Item | None]:
    """The generated items every test server serves (deterministic, rich in nulls and deleted items)."""
    return generate_items(TEST_MAX_ITEM_ID, seed=7, mix=ItemMix(null=0.05, deleted=0.05))


@pytest.fixture
def hn_api_server(hn_fixture_items: dict[int, Item | None]) -> Iterator[RunningHNAPI]:
    """A fresh offline HN API server without latency or faults; set ``.api.faults`` to inject some."""
    api = OfflineHNAPI(hn_fixture_items)
    with serve_in_thread(api) as base_url:
        yield RunningHNAPI(api=api, base_url=base_url)
