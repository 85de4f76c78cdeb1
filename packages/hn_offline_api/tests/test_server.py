"""The offline HN API server over real sockets: hostile answers on demand, and no harm from one bad client."""

from __future__ import annotations

import http.client
import json
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import pytest
import requests

from hn_core.hn_api.client import Item
from hn_offline_api.fixtures import generate_items
from hn_offline_api.server import AttemptLog, Faults, OfflineHNAPI, ServerLimits, refusing_port, serve_in_thread
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


# One bad client never takes the server from the others.


def read_response(reader: BinaryIO) -> tuple[int, dict[str, str], bytes]:
    """One response from a connection's reader (status, headers with lower-case names, body); fails on a close."""
    status_line = reader.readline()
    if not status_line:
        raise ConnectionError("the server closed the connection without an answer")
    headers = {}
    while (line := reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, reader.read(int(headers.get("content-length", 0)))


@contextmanager
def served(items: dict[int, Item | None], limits: ServerLimits, **settings: Any) -> Iterator[RunningHNAPI]:
    """The offline API with these server limits (and ``OfflineHNAPI`` settings), served from a thread."""
    api = OfflineHNAPI(items, **settings)
    with serve_in_thread(api, limits=limits) as base_url:
        yield RunningHNAPI(api=api, base_url=base_url)


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + ANSWER_TIMEOUT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {ANSWER_TIMEOUT_SECONDS} s"
        time.sleep(0.01)


def test_a_body_beyond_the_limit_is_refused_at_once_with_413(hn_api_server: RunningHNAPI) -> None:
    head = b"GET /v0/item/1.json HTTP/1.1\r\nHost: x\r\nContent-Length: 200000000\r\n\r\n"
    with socket.create_connection(address(hn_api_server), timeout=ANSWER_TIMEOUT_SECONDS) as connection:
        connection.sendall(head + b"x" * 1_000_000)
        reader = connection.makefile("rb")

        status, headers, _ = read_response(reader)

        assert (status, headers["connection"]) == (413, "close")
        assert reader.read() == b"", "the connection closes after the 413"
    assert get(hn_api_server, item_path(1))[0] == 200


def test_a_body_is_discarded_as_it_streams_and_the_connection_kept(hn_api_server: RunningHNAPI) -> None:
    chunks = 60
    head = f"GET /v0/item/1.json HTTP/1.1\r\nHost: x\r\nContent-Length: {chunks * 1000}\r\n\r\n".encode()
    with socket.create_connection(address(hn_api_server), timeout=ANSWER_TIMEOUT_SECONDS) as connection:
        connection.sendall(head)
        for _ in range(chunks):
            connection.sendall(b"x" * 1000)
        connection.sendall(get_item_request(2))
        reader = connection.makefile("rb")

        answers = [read_response(reader) for _ in range(2)]

    assert [(status, body) for status, _, body in answers] == [
        (200, json.dumps(hn_api_server.items[item_id]).encode()) for item_id in (1, 2)
    ]


def test_others_are_served_while_a_body_stalls(hn_api_server: RunningHNAPI) -> None:
    head = b"GET /v0/item/1.json HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n\r\n"
    with socket.create_connection(address(hn_api_server), timeout=ANSWER_TIMEOUT_SECONDS) as stalled:
        stalled.sendall(head + b"x" * 1000)

        assert get(hn_api_server, item_path(3))[0] == 200


def test_an_idle_keep_alive_connection_is_closed(hn_fixture_items: dict[int, Item | None]) -> None:
    with (
        served(hn_fixture_items, ServerLimits(keep_alive_timeout=0.2)) as server,
        socket.create_connection(address(server), timeout=ANSWER_TIMEOUT_SECONDS) as connection,
    ):
        connection.sendall(get_item_request(1))
        reader = connection.makefile("rb")

        assert read_response(reader)[0] == 200
        assert reader.read() == b"", "the server closes the idle connection"


@pytest.mark.parametrize("sent", [b"", b"GET /v0/item/1.json HTTP/1.1\r\nHo"], ids=["nothing", "half-a-head"])
def test_a_request_head_must_arrive_in_time(hn_fixture_items: dict[int, Item | None], sent: bytes) -> None:
    """aiohttp's keep-alive timer runs from the moment a connection opens: a head that never comes is cut off."""
    with served(hn_fixture_items, ServerLimits(keep_alive_timeout=0.2)) as server:
        started = time.monotonic()
        answer = exchange(server, sent)

    assert answer == b"", "closed without an answer"
    assert time.monotonic() - started < ANSWER_TIMEOUT_SECONDS / 2


def test_a_stalled_body_is_cut_off_after_the_linger_time(hn_fixture_items: dict[int, Item | None]) -> None:
    request = b"GET /v0/item/1.json HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + b"x" * 10
    with served(hn_fixture_items, ServerLimits(linger_seconds=0.2)) as server:
        answer = exchange(server, request)

    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert answer.count(b"HTTP/1.1") == 1, "the request was answered; the connection just closes"


def test_slow_connections_cannot_lock_others_out() -> None:
    """With 128 file descriptors, 150 connections that never finish a request leave room for a real client.

    Each newcomer beyond the cap closes the connection stalled the longest, while aiohttp may still list connections
    closed earlier: none of that may raise in the server.
    """
    limited_server = (
        "import resource, sys; resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128)); "
        "from hn_offline_api.cli import main; main(sys.argv[1:])"
    )
    server = subprocess.Popen(
        [sys.executable, "-c", limited_server, "--port", "0", "--items", "50"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    slow: list[socket.socket] = []
    try:
        assert server.stdout is not None
        port = int(re.search(r"http://127\.0\.0\.1:(\d+)", server.stdout.readline())[1])
        for number in range(150):
            connection = socket.create_connection(("127.0.0.1", port), timeout=ANSWER_TIMEOUT_SECONDS)
            slow.append(connection)
            connection.sendall(b"GET /v0/item/1.json HTTP/1.1\r\nHo" if number % 2 else b"")

        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v0/item/7.json", timeout=ANSWER_TIMEOUT_SECONDS) as ok:
            assert json.load(ok) == generate_items(50)[7]
    finally:
        for connection in slow:
            connection.close()
        server.terminate()
        server.wait(timeout=ANSWER_TIMEOUT_SECONDS)
    assert server.stderr is not None
    errors = server.stderr.read()
    assert "Traceback" not in errors, "making room for a connection never fails: " + errors[-2000:]


def test_beyond_max_connections_the_idlest_connection_makes_room(hn_fixture_items: dict[int, Item | None]) -> None:
    with served(hn_fixture_items, ServerLimits(max_connections=2)) as server:
        idle = [socket.create_connection(address(server), timeout=ANSWER_TIMEOUT_SECONDS) for _ in range(2)]
        readers = [connection.makefile("rb") for connection in idle]
        for connection, reader in zip(idle, readers, strict=True):
            connection.sendall(get_item_request(1))
            assert read_response(reader)[0] == 200
            time.sleep(0.05)  # distinct last-activity times: the event loop's clock may tick in milliseconds

        assert get(server, item_path(2))[0] == 200
        assert readers[0].read() == b"", "the connection idle the longest was closed to make room"
        idle[1].sendall(get_item_request(3))
        assert read_response(readers[1])[0] == 200
        for connection in idle:
            connection.close()


def test_beyond_max_connections_with_every_connection_busy_a_newcomer_gets_503(
    hn_fixture_items: dict[int, Item | None],
) -> None:
    faults = Faults(hang_all=True, hang_seconds=60)
    with served(hn_fixture_items, ServerLimits(max_connections=2), faults=faults) as server:
        busy = [socket.create_connection(address(server), timeout=ANSWER_TIMEOUT_SECONDS) for _ in range(2)]
        for item_id, connection in enumerate(busy, start=1):
            connection.sendall(get_item_request(item_id))
        wait_until(lambda: server.api.attempts[1] == server.api.attempts[2] == 1, "both requests arriving")

        answer = exchange(server, b"")

        assert answer.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
        assert b"\r\nRetry-After: 1\r\n" in answer
        assert b"\r\nConnection: close\r\n" in answer
        for connection in busy:
            connection.close()


def test_attempts_are_remembered_for_the_most_recent_ids_only(hn_fixture_items: dict[int, Item | None]) -> None:
    ids = range(1, 3001)
    faults = Faults(failures_before_success=1)
    with (
        served(hn_fixture_items, ServerLimits(), attempts=AttemptLog(capacity=1000), faults=faults) as server,
        socket.create_connection(address(server), timeout=ANSWER_TIMEOUT_SECONDS) as connection,
    ):
        connection.sendall(b"".join(get_item_request(item_id) for item_id in ids))
        reader = connection.makefile("rb")
        assert {read_response(reader)[0] for _ in ids} == {500}

        assert len(server.api.attempts) == 1000
        assert [server.api.attempts[item_id] for item_id in (1, 2000, 2001, 3000)] == [0, 0, 1, 1]
        connection.sendall(get_item_request(3000) + get_item_request(1))
        assert [read_response(reader)[0] for _ in range(2)] == [200, 500], "a forgotten id starts again"


def test_attempt_tracking_is_bounded_by_default() -> None:
    api = OfflineHNAPI({})

    for item_id in range(AttemptLog.DEFAULT_CAPACITY + 5000):
        api.reply(item_path(item_id))

    assert len(api.attempts) == AttemptLog.DEFAULT_CAPACITY


@pytest.mark.parametrize(
    "item_id", ["9" * 5000, str(2**53), "abc", "-5", "", "1e3"], ids=lambda item_id: item_id[:12] or "empty"
)
def test_an_id_no_item_can_have_gets_400(hn_api_server: RunningHNAPI, item_id: str) -> None:
    request = f"GET /v0/item/{item_id}.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()

    answer = exchange(hn_api_server, request)

    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"not an HN item id" in answer


def test_the_largest_safe_integer_is_a_valid_id(hn_api_server: RunningHNAPI) -> None:
    assert get(hn_api_server, item_path(2**53 - 1))[::2] == (200, b"null")


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /v0/item/1.json HTTP/1.1\nHost: x\n\n",
        b"GET /v0/item/1.json HTTP/1.1\r\nHost: x\n\r\n",
    ],
    ids=["bare-LF", "mixed"],
)
def test_bare_lf_line_ends_are_refused(hn_api_server: RunningHNAPI, request_bytes: bytes) -> None:
    """aiohttp's parser (llhttp) is strict: RFC 9112 lets a server refuse a line ended by LF alone, and it does."""
    answer = exchange(hn_api_server, request_bytes)

    assert answer.startswith(b"HTTP/1.0 400 Bad Request\r\n")
    assert get(hn_api_server, item_path(1))[0] == 200


@pytest.mark.parametrize(
    "lengths",
    [
        "Content-Length: 5\r\nContent-Length: 6",
        "Content-Length: 5, 6",
        "Content-Length: 5\r\nContent-Length: 5",
        "Content-Length: 5, 5",
    ],
    ids=["two-fields", "list", "two-equal-fields", "equal-list"],
)
def test_more_than_one_content_length_gets_400(hn_api_server: RunningHNAPI, lengths: str) -> None:
    """Even equal values are refused (aiohttp, like nginx): a body length read two ways is how requests get smuggled."""
    request = f"GET /v0/item/1.json HTTP/1.1\r\nHost: x\r\n{lengths}\r\n\r\n12345".encode()

    answer = exchange(hn_api_server, request)

    assert answer.startswith(b"HTTP/1.0 400 Bad Request\r\n")
    assert b"Content-Length" in answer


@pytest.mark.parametrize(
    ("request_bytes", "status", "reason"),
    [
        (b"GET /v0/item/1.json HTTP/1.1\r\nHost: x\r\nX-A: 1\r2\r\n\r\n", 400, b"Missing expected LF"),
        (b"GET /v0/item/1.json HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n 2\r\n\r\n", 400, b"Unexpected whitespace"),
        (b"GET /v0/item/1.json HTTP/1.1\r\nHost : x\r\n\r\n", 400, b"Invalid header token"),
        (b"GET /v0/item/1.json HTTP/1.1\r\n\r\n", 400, b"Missing 'Host' header"),
        (b"GET /v0/item/1.json HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400, b"Duplicate 'Host' header"),
        (b"GET v0/item/1.json HTTP/1.1\r\nHost: x\r\n\r\n", 400, b"Unexpected char in url"),
        ("GET /v0/item/\u0663.json HTTP/1.1\r\nHost: x\r\n\r\n".encode(), 400, b"Invalid char in url path"),
        (b"GET /v0/item/1.json HTTP/1.1\r\nHost: x\r\nContent-Length: " + b"9" * 21 + b"\r\n\r\n", 400, b"overflow"),
        (b"POST /v0/item/1.json HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}", 405, b"only GET and HEAD"),
        (b"GET /" + b"x" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 400, b"Got more than 8190 bytes"),
        (b"GET /v0/item/1.json HTTP/1.1\r\nHost: x\r\n" + b"X-A: 1\r\n" * 200 + b"\r\n", 400, b"Too many headers"),
    ],
    ids=[
        "bare-CR",
        "obs-fold",
        "space-before-colon",
        "no-Host",
        "two-Hosts",
        "relative-target",
        "non-ASCII-target",
        "21-digit-length",
        "POST",
        "huge-head",
        "200-fields",
    ],
)
def test_malformed_requests_get_a_4xx_naming_the_problem_and_a_close(
    hn_api_server: RunningHNAPI, request_bytes: bytes, status: int, reason: bytes
) -> None:
    """The wording is aiohttp's (405 is ours); ``exchange`` reads until the server closes, so returning is the close."""
    answer = exchange(hn_api_server, request_bytes)

    assert re.match(rb"HTTP/1\.[01] %d " % status, answer), answer[:80]
    assert reason in answer
    assert get(hn_api_server, item_path(1))[0] == 200, "the server serves the next client"


def test_an_absolute_form_target_is_served(hn_api_server: RunningHNAPI) -> None:
    request = b"GET http://127.0.0.1/v0/item/1.json HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"

    assert exchange(hn_api_server, request).startswith(b"HTTP/1.1 200 OK\r\n")


def test_a_client_that_pipelines_without_reading_gets_every_answer_in_order(hn_api_server: RunningHNAPI) -> None:
    ids = [item_id % 400 + 1 for item_id in range(20_000)]
    with socket.create_connection(address(hn_api_server), timeout=ANSWER_TIMEOUT_SECONDS) as connection:
        sender = threading.Thread(
            target=connection.sendall, args=(b"".join(get_item_request(item_id) for item_id in ids),)
        )
        sender.start()
        reader = connection.makefile("rb")

        bodies = [read_response(reader)[2] for _ in ids]
        sender.join()

    assert bodies == [json.dumps(hn_api_server.items[item_id]).encode() for item_id in ids]
