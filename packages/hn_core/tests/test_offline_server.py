"""The offline HN API server over real sockets: hostile answers on demand, and no harm from one bad client."""

from __future__ import annotations

import http.client
import json
import socket
from urllib.parse import urlsplit

import pytest
import requests

from hn_core.offline_server import Faults, refusing_port
from hn_testing.hn_api import RunningHNAPI

#: Generous bound for anything the server should do at once; far above any healthy answer time.
ANSWER_TIMEOUT_SECONDS = 10.0


def address(server: RunningHNAPI) -> tuple[str, int]:
    url = urlsplit(server.base_url)
    assert url.hostname is not None
    assert url.port is not None
    return url.hostname, url.port


def get(server: RunningHNAPI, path: str) -> tuple[int, dict[str, str], bytes]:
    """One GET with the standard library's client: status, headers (lower-case names) and body."""
    connection = http.client.HTTPConnection(*address(server), timeout=ANSWER_TIMEOUT_SECONDS)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, {name.lower(): value for name, value in response.getheaders()}, response.read()
    finally:
        connection.close()


def exchange(server: RunningHNAPI, request: bytes, timeout: float = ANSWER_TIMEOUT_SECONDS) -> bytes:
    """Send ``request`` on a new connection and read everything the server sends until it closes."""
    with socket.create_connection(address(server), timeout=timeout) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
        return received


def item_path(item_id: int) -> str:
    return f"/v0/item/{item_id}.json"


def get_item_request(item_id: int) -> bytes:
    return f"GET {item_path(item_id)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()


# Hostile answers on demand.


@pytest.mark.parametrize(
    "body",
    [
        b'{"id": 6, "type": "story"}',
        b'{"id": 5, "score": "12"}',
        b'{"id": 5, "type": "comment", "text": "bad \\ud800 surrogate"}',
        b'{"id": 5, "type": "story", "text": "' + b"x" * (2 * 1024 * 1024) + b'"}',
    ],
    ids=["another-id", "mistyped-field", "lone-surrogate", "2-MB"],
)
def test_bodies_are_served_byte_for_byte(hn_api_server: RunningHNAPI, body: bytes) -> None:
    hn_api_server.api.faults = Faults(bodies={5: body})

    status, headers, served = get(hn_api_server, item_path(5))

    assert (status, served) == (200, body)
    assert headers["content-type"].startswith("application/json")
    assert get(hn_api_server, item_path(6))[2] == json.dumps(hn_api_server.items[6]).encode()


def test_a_duplicated_item_is_served_for_two_ids(hn_api_server: RunningHNAPI) -> None:
    duplicate = json.dumps(hn_api_server.items[7]).encode()
    hn_api_server.api.faults = Faults(bodies={8: duplicate})

    assert get(hn_api_server, item_path(7))[2] == get(hn_api_server, item_path(8))[2] == duplicate


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 2OO OK\r\nContent-Length: 2\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nContent-Length 2\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{}",
        b"garbage",
    ],
    ids=["bad-status-line", "bad-header", "truncated-body", "not-http"],
)
def test_raw_responses_are_written_verbatim_then_the_connection_closes(hn_api_server: RunningHNAPI, raw: bytes) -> None:
    hn_api_server.api.faults = Faults(raw_responses={9: raw})

    assert exchange(hn_api_server, get_item_request(9)) == raw
    assert get(hn_api_server, item_path(10))[0] == 200


def test_redirect_ids_loop_on_their_own_path(hn_api_server: RunningHNAPI) -> None:
    hn_api_server.api.faults = Faults(redirect_ids=frozenset({11}))

    status, headers, _ = get(hn_api_server, item_path(11))

    assert (status, headers["location"]) == (302, item_path(11))
    with pytest.raises(requests.TooManyRedirects):
        requests.get(hn_api_server.base_url + item_path(11), timeout=ANSWER_TIMEOUT_SECONDS)
    assert hn_api_server.api.attempts[11] == 1 + 1 + requests.models.DEFAULT_REDIRECT_LIMIT


@pytest.mark.parametrize("retry_after", ["2", "Wed, 21 Oct 2015 07:28:00 GMT", "soon, maybe", ""])
def test_rate_limited_ids_answer_429_with_retry_after_verbatim_then_succeed(
    hn_api_server: RunningHNAPI, retry_after: str
) -> None:
    hn_api_server.api.faults = Faults(rate_limited={12: (2, retry_after)})

    answers = [get(hn_api_server, item_path(12)) for _ in range(3)]

    assert [status for status, _, _ in answers] == [429, 429, 200]
    assert [headers.get("retry-after") for _, headers, _ in answers] == [retry_after, retry_after, None]
    assert answers[2][2] == json.dumps(hn_api_server.items[12]).encode()


def test_a_retry_after_that_would_split_the_header_is_refused() -> None:
    with pytest.raises(ValueError, match=r"line break in Retry-After .*use raw_responses"):
        Faults(rate_limited={1: (1, "5\r\nX-Injected: 1")})


@pytest.mark.parametrize("share", [-0.1, 1.5])
def test_shares_outside_zero_to_one_are_refused(share: float) -> None:
    with pytest.raises(ValueError, match=r"error_share is .* between 0 and 1"):
        Faults(error_share=share)


def test_transient_faults_come_before_the_answer(hn_api_server: RunningHNAPI) -> None:
    hostile = b'{"id": 99}'
    hn_api_server.api.faults = Faults(rate_limited={13: (1, "1")}, failures_before_success=2, bodies={13: hostile})

    answers = [get(hn_api_server, item_path(13)) for _ in range(3)]

    assert [(status, body) for status, _, body in answers[:2]] == [
        (429, b"injected rate limit"),
        (500, b"injected failure before success"),
    ]
    assert answers[2][::2] == (200, hostile)


def test_hang_all_never_answers_an_item_but_answers_max_item(hn_api_server: RunningHNAPI) -> None:
    hn_api_server.api.faults = Faults(hang_all=True, hang_seconds=60)

    with socket.create_connection(address(hn_api_server), timeout=0.5) as connection:
        connection.sendall(get_item_request(14))
        with pytest.raises(TimeoutError):
            connection.recv(1)
    assert get(hn_api_server, "/v0/maxitem.json")[0] == 200


def test_hang_all_closes_without_an_answer_after_hang_seconds(hn_api_server: RunningHNAPI) -> None:
    hn_api_server.api.faults = Faults(hang_all=True, hang_max_item=True, hang_seconds=0.2)

    assert exchange(hn_api_server, get_item_request(15)) == b""
    assert exchange(hn_api_server, b"GET /v0/maxitem.json HTTP/1.1\r\nHost: x\r\n\r\n") == b""
    assert hn_api_server.api.attempts[15] == 1


def test_refusing_port_refuses_connections() -> None:
    with refusing_port() as port, pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=ANSWER_TIMEOUT_SECONDS)
