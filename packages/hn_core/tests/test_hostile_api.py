"""The real HTTP client against a hostile HN API on 127.0.0.1: every bad answer is that id's failure, by id.

One id's malformed item, protocol error or oversized answer never costs the other ids their rows; the server's
``Retry-After`` is honoured within a bound; and an API that is down fails the batch within seconds, naming every
id it did not fetch.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from hn_core.hn_api import HNAPIClient, HNFetchError
from hn_core.hn_api.http_fetch import parse_retry_after
from hn_offline_api.server import Faults, refusing_port
from hn_testing.hn_api import RunningHNAPI

IDS = range(301, 341)
GOOD = {"id": 0, "type": "comment", "by": "pg", "time": 1_700_000_000, "parent": 1, "text": "fine"}


def body(**fields: object) -> bytes:
    return json.dumps(fields).encode()


def client(server: RunningHNAPI, **settings: object) -> HNAPIClient:
    """The real client with retries that do not wait, so that the tests measure only what the server asks for."""
    return HNAPIClient(base_url=server.base_url, backoff_seconds=0.0, **settings)


def served(server: RunningHNAPI, ids: range = IDS) -> set[int]:
    return {i for i in ids if server.items[i] is not None}


HOSTILE_BODIES = {
    301: body(**{**GOOD, "id": 302}),  # another item's id
    303: body(**{**GOOD, "id": 303.5}),
    304: body(**{**GOOD, "id": 304, "score": "12"}),
    305: body(**{**GOOD, "id": 305, "time": 1.5}),
    306: body(**{**GOOD, "id": 306, "parent": "x"}),
    307: body(**{**GOOD, "id": 307, "kids": 5}),
    308: body(**{**GOOD, "id": 308, "kids": "123"}),
    309: body(**{**GOOD, "id": 309, "text": {"html": "<i>hi</i>"}}),
    310: body(**{**GOOD, "id": 310, "deleted": "false"}),
    311: b'{"id": 311, "type": "comment", "text": "bad \\ud800 surrogate"}',
    312: b"[311]",
}


def test_every_malformed_answer_is_reported_by_id_and_the_good_rows_are_kept(hn_api_server: RunningHNAPI) -> None:
    hn_api_server.api.faults = Faults(bodies=HOSTILE_BODIES)

    result = client(hn_api_server).fetch_items(IDS)

    assert set(result.failed) == set(HOSTILE_BODIES)
    assert result.failed[301] == "Item 301: the API served item 302 in its place"
    assert result.served_instead == {301: 302}
    assert result.duplicate_answer_ids == [301]
    for item_id, field in {304: "score", 305: "time", 306: "parent", 307: "kids", 309: "text", 311: "text"}.items():
        assert f"{field}: " in result.failed[item_id], result.failed[item_id]
    assert {item.id for item in result.rows} | set(result.missing_ids) == set(IDS) - set(HOSTILE_BODIES)
    assert all(hn_api_server.api.attempts[i] == 1 for i in HOSTILE_BODIES), "an invalid answer is not retried"


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (Faults(redirect_ids=frozenset({320})), "more than 3 redirects"),
        (Faults(raw_responses={320: b"HTTP/1.1 2OO OK\r\nContent-Length: 2\r\n\r\n{}"}), "invalid HTTP answer"),
        (Faults(raw_responses={320: b"HTTP/1.1 200 OK\r\nContent Length: 2\r\n\r\n{}"}), "invalid HTTP answer"),
        (Faults(raw_responses={320: b"HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n{}"}), "invalid HTTP answer"),
    ],
    ids=["redirect-loop", "malformed-status-line", "malformed-header", "malformed-content-length"],
)
def test_a_protocol_error_fails_only_its_id(hn_api_server: RunningHNAPI, fault: Faults, reason: str) -> None:
    hn_api_server.api.faults = fault

    result = client(hn_api_server, max_retries=1).fetch_items(IDS)

    assert list(result.failed) == [320]
    assert "item 320" in result.failed[320]
    assert reason in result.failed[320]
    assert {item.id for item in result.rows} == served(hn_api_server) - {320}


def test_an_answer_over_the_size_cap_fails_its_id(hn_api_server: RunningHNAPI) -> None:
    huge = body(**{**GOOD, "id": 321, "text": "x" * 2_000_000})
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in (huge[i : i + 65536] for i in range(0, len(huge), 65536)))
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n"
    hn_api_server.api.faults = Faults(bodies={321: huge}, raw_responses={322: chunked})

    result = client(hn_api_server).fetch_items(IDS)

    assert list(result.failed) == [321, 322]
    assert "larger than the 1,048,576 bytes allowed (Content-Length 2,000," in result.failed[321]
    assert "larger than the 1,048,576 bytes allowed." in result.failed[322]
    assert {item.id for item in result.rows} == served(hn_api_server) - {321, 322}


def test_retry_after_is_honoured(hn_api_server: RunningHNAPI) -> None:
    hn_api_server.api.faults = Faults(rate_limited={330: (1, "1")})
    started = time.monotonic()

    result = client(hn_api_server).fetch_items(range(330, 331))

    assert result.failed == {}
    assert hn_api_server.api.attempts[330] == 2
    assert time.monotonic() - started >= 1.0, "the retry waited what Retry-After asked"


def test_retry_after_as_an_http_date_is_honoured_and_garbage_falls_back_to_backoff(
    hn_api_server: RunningHNAPI,
) -> None:
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=1), usegmt=True)
    hn_api_server.api.faults = Faults(rate_limited={331: (1, soon), 332: (2, "whenever")})

    result = client(hn_api_server).fetch_items(range(331, 333))

    assert result.failed == {}
    assert (hn_api_server.api.attempts[331], hn_api_server.api.attempts[332]) == (2, 3)


def test_retry_after_beyond_the_limit_fails_the_id_at_once(hn_api_server: RunningHNAPI) -> None:
    hn_api_server.api.faults = Faults(rate_limited={333: (1, "3600")})

    result = client(hn_api_server).fetch_items(range(333, 335))

    assert list(result.failed) == [333]
    assert "asks to retry after 3600 s, beyond the 30 s this client waits" in result.failed[333]
    assert hn_api_server.api.attempts[333] == 1


def test_a_refused_connection_fails_every_id_within_seconds() -> None:
    with refusing_port() as port:
        dead = HNAPIClient(base_url=f"http://127.0.0.1:{port}", down_after_seconds=2.0)
        started = time.monotonic()

        result = dead.fetch_items(range(1, 1001))

    assert set(result.failed) == set(range(1, 1001))
    assert time.monotonic() - started < 5
    assert "Connect" in result.failed[1]


def test_an_api_that_hangs_fails_a_1000_item_batch_within_seconds(hn_api_server: RunningHNAPI) -> None:
    """With the resource's defaults (5 s per request, down after 10 s) a whole run fails within 30 s: see
    ``hn_assets``' run-level test; here the same path with shorter settings."""
    hn_api_server.api.faults = Faults(hang_all=True, hang_seconds=120)
    started = time.monotonic()

    result = client(hn_api_server, timeout_seconds=0.5, down_after_seconds=1.0).fetch_items(range(1, 1001))

    assert set(result.failed) == set(range(1, 1001))
    assert time.monotonic() - started < 5
    assert "the HN API looks down: no answer for 1 s" in result.failed[1000]


def test_a_hanging_max_item_id_fails_within_seconds(hn_api_server: RunningHNAPI) -> None:
    hn_api_server.api.faults = Faults(hang_max_item=True, hang_seconds=120)
    started = time.monotonic()

    with pytest.raises(HNFetchError, match=r"max item id .*the HN API looks down"):
        client(hn_api_server, timeout_seconds=0.5, down_after_seconds=1.0).fetch_max_item_id()
    assert time.monotonic() - started < 5


def test_an_api_that_keeps_answering_is_not_declared_down(hn_api_server: RunningHNAPI) -> None:
    """Slow failures of some ids do not stop the batch while other ids are answered."""
    hn_api_server.api.faults = Faults(timeout_share=0.3, hang_seconds=120, seed=4)

    result = client(hn_api_server, timeout_seconds=0.3, down_after_seconds=0.5, max_retries=8).fetch_items(IDS)

    assert result.failed == {}


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("120", 120.0), (" 7 ", 7.0), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0), ("soon", None), ("-1", None), (None, None)],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, now=datetime(2026, 1, 1, tzinfo=UTC)) == seconds


def test_parse_retry_after_date_in_the_future() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)

    assert parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now=now) == 90.0


def test_deeply_nested_json_fails_its_id_and_not_the_batch(hn_api_server: RunningHNAPI) -> None:
    """``json.loads`` raises RecursionError, not ValueError, on deep nesting."""
    hn_api_server.api.faults = Faults(bodies={323: b"[" * 200_000})

    result = client(hn_api_server).fetch_items(IDS)

    assert list(result.failed) == [323]
    assert "Malformed JSON for item 323" in result.failed[323]
    assert {item.id for item in result.rows} == served(hn_api_server) - {323}


def test_a_compressed_answer_is_capped_by_its_size_once_decompressed(hn_api_server: RunningHNAPI) -> None:
    """aiohttp decompresses on the fly: Content-Length is then the compressed size, not what lands in memory."""
    import gzip

    packed = gzip.compress(body(**{**GOOD, "id": 324, "text": "x" * 5_000_000}))
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
    answer = head + b"Content-Length: %d\r\n\r\n" % len(packed) + packed
    hn_api_server.api.faults = Faults(raw_responses={324: answer})

    result = client(hn_api_server).fetch_items(IDS)

    assert list(result.failed) == [324]
    assert "larger than the 1,048,576 bytes allowed" in result.failed[324]
    assert len(packed) < 1_048_576, "the compressed answer itself is under the cap"
