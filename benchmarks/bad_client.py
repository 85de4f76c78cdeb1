"""One bad client against the offline server: what it costs the server, and whether others are still served.

``uv run python -m benchmarks.bad_client`` starts a fresh ``hn-api-server`` process per scenario, plays one bad
client against it, times a well-behaved request meanwhile, and prints a Markdown table (``--help`` for the sizes).
BENCHMARKS.md shows how to run it against an earlier server for a before/after comparison.
"""

from __future__ import annotations

import argparse
import socket
import threading
import time
from collections.abc import Callable, Iterator

from benchmarks.process_stats import resident_bytes
from benchmarks.report import table
from benchmarks.server import ServerProcess

#: How long the well-behaved client and every read wait before calling the server unresponsive.
PATIENCE_SECONDS = 10.0
MIB = 2**20
CHUNK = b"x" * 65536
CLOSE_FIELDS = b"Host: x\r\nConnection: close\r\n"


def good_client(port: int) -> str:
    """One GET of an item on a new connection: what came back, and how fast."""
    started = time.perf_counter()
    try:
        answer = exchange(port, b"GET /v0/item/5.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    except OSError as error:
        return f"{type(error).__name__} after {time.perf_counter() - started:.2f} s"
    return f"{status_of(answer)} in {time.perf_counter() - started:.2f} s"


def exchange(port: int, request: bytes) -> bytes:
    """Send ``request`` on a new connection and read until the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=PATIENCE_SECONDS) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
        return answer


def status_of(answer: bytes) -> str:
    return answer.split(b"\r\n", 1)[0].decode("latin-1") if answer else "closed without an answer"


def resident_mib(server: ServerProcess) -> float:
    return (resident_bytes(server.pid) or 0) / MIB


def huge_body(megabytes: int) -> list[str]:
    """A GET announcing a ``megabytes`` body, then streaming it in 64 KiB writes; a good client at a quarter of it."""
    with ServerProcess(latency_ms=0) as server:
        before = peak = resident_mib(server)
        total, sent, meanwhile, outcome = megabytes * MIB, 0, "", "sent"
        started = time.perf_counter()
        with socket.create_connection(("127.0.0.1", server.port), timeout=PATIENCE_SECONDS * 10) as connection:
            connection.sendall(b"GET /v0/item/1.json HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % total)
            try:
                while sent < total:
                    connection.sendall(CHUNK)
                    sent += len(CHUNK)
                    if sent % (16 * MIB) == 0:
                        peak = max(peak, resident_mib(server))
                    if not meanwhile and sent >= total // 4:
                        meanwhile = good_client(server.port)
            except OSError as error:
                outcome = f"cut off ({type(error).__name__})"
            seconds = time.perf_counter() - started
            try:
                answer = status_of(connection.recv(4096))
            except OSError as error:
                answer = type(error).__name__
        return [
            f"GET with a {megabytes} MB body",
            f"{sent / MIB:,.0f} MB {outcome} in {seconds:.1f} s; answer: {answer}",
            f"RSS {before:.0f} -> {max(peak, resident_mib(server)):.0f} MiB",
            meanwhile or good_client(server.port),
        ]


def slow_connections(count: int, file_limit: int) -> list[str]:
    """``count`` connections that never finish a request (half send nothing, half half a head), ``file_limit`` files."""
    with ServerProcess(latency_ms=0, file_limit=file_limit) as server:
        connections = []
        try:
            for number in range(count):
                connection = socket.create_connection(("127.0.0.1", server.port), timeout=PATIENCE_SECONDS)
                connections.append(connection)
                connection.sendall(b"GET /v0/item/1.json HTTP/1.1\r\nHo" if number % 2 else b"")
            time.sleep(1)  # let the server accept what it can
            meanwhile = good_client(server.port)
        finally:
            for connection in connections:
                connection.close()
        return [f"{count:,} slow connections, {file_limit:,} open files allowed", "-", "-", meanwhile]


def distinct_ids(count: int) -> list[str]:
    """``count`` requests for distinct ids, pipelined on one connection; the server's memory after they are done."""
    with ServerProcess(latency_ms=0) as server:
        before = resident_mib(server)
        started = time.perf_counter()
        with socket.create_connection(("127.0.0.1", server.port), timeout=PATIENCE_SECONDS) as connection:
            sender = threading.Thread(target=_send_all, args=(connection, _item_requests(count)))
            sender.start()
            answers = _count_answers(connection.recv)
            sender.join()
        seconds = time.perf_counter() - started
        time.sleep(1)
        return [
            f"{count:,} distinct ids",
            f"{answers:,} answers in {seconds:.1f} s",
            f"RSS {before:.0f} -> {resident_mib(server):.0f} MiB, after the client left",
            good_client(server.port),
        ]


def _item_requests(count: int) -> Iterator[bytes]:
    """Batches of GETs for ids 1..count; the last one asks the server to close the connection."""
    batch = 10_000
    for first in range(1, count + 1, batch):
        last = min(first + batch, count + 1)
        yield b"".join(b"GET /v0/item/%d.json HTTP/1.1\r\nHost: x\r\n\r\n" % item_id for item_id in range(first, last))
    yield b"GET /v0/maxitem.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


def _send_all(connection: socket.socket, batches: Iterator[bytes]) -> None:
    try:
        for batch in batches:
            connection.sendall(batch)
    except OSError:
        return  # the server closed the connection; the reader reports how far it got


def _count_answers(receive: Callable[[int], bytes]) -> int:
    """Status lines received until the server closes the connection (no body served here contains one)."""
    answers, tail = 0, b""
    while chunk := receive(1 << 20):
        data = tail + chunk
        answers += data.count(b"HTTP/1.1 ")
        tail = data[-8:]
        answers -= tail.count(b"HTTP/1.1 ")
    return answers + tail.count(b"HTTP/1.1 ")


def one_request(description: str, request: bytes) -> list[str]:
    """One odd request on its own connection: the answer, or what happened instead."""
    with ServerProcess(latency_ms=0) as server:
        started = time.perf_counter()
        try:
            answer = status_of(exchange(server.port, request))
        except OSError as error:
            answer = f"{type(error).__name__} after {time.perf_counter() - started:.1f} s"
        return [description, answer, "-", good_client(server.port)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bad_client", description=__doc__.splitlines()[0])
    parser.add_argument("--body-mb", type=int, default=200, help="size of the streamed body (200)")
    parser.add_argument("--slow-connections", type=int, default=1_100, help="connections that never finish (1100)")
    parser.add_argument("--file-limit", type=int, default=1_024, help="open files the server may have (1024)")
    parser.add_argument("--distinct-ids", type=int, default=2_000_000, help="distinct ids requested (2000000)")
    args = parser.parse_args(argv)
    rows = [
        huge_body(args.body_mb),
        slow_connections(args.slow_connections, args.file_limit),
        distinct_ids(args.distinct_ids),
        one_request("a 5,000-digit id", b"GET /v0/item/%s.json HTTP/1.1\r\n%s\r\n" % (b"9" * 5000, CLOSE_FIELDS)),
        one_request("bare LF line ends", b"GET /v0/item/1.json HTTP/1.1\nHost: x\nConnection: close\n\n"),
    ]
    print(table(["bad client", "what it got", "server memory", "a good client meanwhile"], rows))


if __name__ == "__main__":
    main()
