"""HN clients: one contract for the stub and the HTTP client, then the HTTP client against real faults."""

from __future__ import annotations

import pytest

from hn_core.hn_api import HNAPIClient, HNClient, HNFetchError, HNItem, StubHNClient, most_recent_ids
from hn_offline_api.server import Faults
from hn_testing.hn_api import TEST_MAX_ITEM_ID, RunningHNAPI


def fast_client(base_url: str, **settings) -> HNAPIClient:
    """The real client with retries that do not wait, so fault tests stay fast."""
    return HNAPIClient(base_url=base_url, backoff_seconds=0.0, **settings)


@pytest.fixture(params=["stub", "http"])
def client(request: pytest.FixtureRequest, hn_fixture_items) -> HNClient:
    if request.param == "stub":
        return StubHNClient(hn_fixture_items)
    server: RunningHNAPI = request.getfixturevalue("hn_api_server")
    return fast_client(server.base_url)


def test_contract_max_item_id(client: HNClient) -> None:
    assert client.fetch_max_item_id() == TEST_MAX_ITEM_ID


def test_contract_single_items(client: HNClient, hn_fixture_items) -> None:
    present = next(i for i, item in hn_fixture_items.items() if item is not None)
    null = next(i for i, item in hn_fixture_items.items() if item is None)

    assert client.fetch_item_by_id(present) == HNItem.validate(hn_fixture_items[present])
    assert client.fetch_item_by_id(null) is None


def test_contract_batch_keeps_order_and_reports_nulls(client: HNClient, hn_fixture_items) -> None:
    ids = most_recent_ids(client.fetch_max_item_id(), 150)
    seen: list[tuple[int, int]] = []

    result = client.fetch_items(ids, progress=lambda done, total: seen.append((done, total)))

    assert result.rows == [HNItem.validate(hn_fixture_items[i]) for i in ids if hn_fixture_items[i] is not None]
    assert result.missing_ids == [i for i in ids if hn_fixture_items[i] is None]
    assert result.missing_ids, "the fixture should contain null items in this range"
    assert result.failed == {}
    assert seen[-1] == (150, 150)


def test_retries_recover_from_server_errors(hn_api_server: RunningHNAPI) -> None:
    hn_api_server.api.faults = Faults(failures_before_success=2)
    ids = range(1, 51)

    result = fast_client(hn_api_server.base_url, max_retries=2).fetch_items(ids)

    assert result.failed == {}
    assert len(result.rows) + len(result.missing_ids) == 50
    assert all(hn_api_server.api.attempts[i] == 3 for i in ids)


def test_retries_recover_from_timeouts(hn_api_server: RunningHNAPI) -> None:
    hn_api_server.api.faults = Faults(failures_before_success=1, hang_before_success=True, hang_seconds=5)

    result = fast_client(hn_api_server.base_url, timeout_seconds=0.3).fetch_items(range(1, 21))

    assert result.failed == {}
    assert all(hn_api_server.api.attempts[i] == 2 for i in range(1, 21))


def test_random_server_errors_are_absorbed_by_retries(hn_api_server: RunningHNAPI) -> None:
    hn_api_server.api.faults = Faults(error_share=0.3, seed=3)

    result = fast_client(hn_api_server.base_url, max_retries=6).fetch_items(range(1, TEST_MAX_ITEM_ID + 1))

    assert result.failed == {}
    assert result.requested == TEST_MAX_ITEM_ID
    assert max(hn_api_server.api.attempts.values()) > 1


def test_an_item_that_keeps_failing_is_reported_by_id(hn_api_server: RunningHNAPI) -> None:
    hn_api_server.api.faults = Faults(fail_ids=frozenset({17}))
    client = fast_client(hn_api_server.base_url, max_retries=2)

    result = client.fetch_items(range(10, 21))

    assert list(result.failed) == [17]
    assert "item 17" in result.failed[17]
    assert "3 attempts" in result.failed[17]
    assert result.requested == 11
    with pytest.raises(HNFetchError, match=r"item 17 .*HTTP 503"):
        client.fetch_item_by_id(17)


def test_malformed_json_names_the_item(hn_api_server: RunningHNAPI) -> None:
    hn_api_server.api.faults = Faults(malformed_ids=frozenset({23}))
    client = fast_client(hn_api_server.base_url)

    with pytest.raises(HNFetchError, match=r"Malformed JSON for item 23 "):
        client.fetch_item_by_id(23)
    assert list(client.fetch_items(range(20, 26)).failed) == [23]
    assert hn_api_server.api.attempts[23] == 2, "malformed JSON is not retried"


def test_client_errors_are_not_retried(hn_api_server: RunningHNAPI) -> None:
    client = fast_client(hn_api_server.base_url.replace("127.0.0.1", "localhost") + "/nothing-here")

    with pytest.raises(HNFetchError, match="HTTP 404, which a retry will not fix"):
        client.fetch_max_item_id()


def test_unreachable_server_fails_with_the_url() -> None:
    client = fast_client("http://127.0.0.1:9", max_retries=1)

    with pytest.raises(HNFetchError, match=r"max item id from http://127.0.0.1:9/v0/maxitem.json after 2 attempts"):
        client.fetch_max_item_id()


@pytest.mark.parametrize("count", [0, -5])
def test_non_positive_count_is_refused(count: int) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        most_recent_ids(100, count)


def test_count_beyond_max_item_id_is_refused() -> None:
    with pytest.raises(ValueError, match="ask for at most 100 items"):
        most_recent_ids(100, 101)


def test_most_recent_ids_end_at_max_item_id() -> None:
    assert list(most_recent_ids(100, 3)) == [98, 99, 100]


@pytest.mark.parametrize("url", ["ftp://example.com", "hacker-news.firebaseio.com", ""])
def test_base_url_must_be_http(url: str) -> None:
    with pytest.raises(ValueError, match="is not an http"):
        HNAPIClient(base_url=url)


def test_base_url_defaults_to_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HN_API_BASE_URL", "http://127.0.0.1:8765/")
    assert HNAPIClient().base_url == "http://127.0.0.1:8765"
    monkeypatch.delenv("HN_API_BASE_URL")
    assert HNAPIClient().base_url == "https://hacker-news.firebaseio.com"
