"""Slow clients starve nobody: idle and trickling connections never hold up another client.

Raw sockets on loopback; every wait is bounded by a socket timeout, none sleeps on the clock.
"""

from __future__ import annotations

import contextlib
import http.client
import resource
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.servers import cli, running_server

IDLE_CONNECTIONS = 200
TRICKLING_POSTS = 20
ANSWER_WITHIN_SECONDS = 1.0


def connect(base: str) -> socket.socket:
    parts = urlsplit(base)
    return socket.create_connection((parts.hostname, parts.port), timeout=5)


@contextlib.contextmanager
def slow_clients(base: str) -> Iterator[list[socket.socket]]:
    """200 connections stopped halfway through a request line, and 20 POSTs that sent their
    headers and the first bytes of a body (half with a Content-Length, half chunked)."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(IDLE_CONNECTIONS):
            sockets.append(connect(base))
            sockets[-1].sendall(b"GET /cases?page_size=1 HT")
        for i in range(TRICKLING_POSTS):
            sockets.append(connect(base))
            framing = b"Content-Length: 1000\r\n" if i % 2 else b"Transfer-Encoding: chunked\r\n"
            first_bytes = b"x" if i % 2 else b"400\r\nx"
            sockets[-1].sendall(b"POST /cases HTTP/1.1\r\nHost: x\r\n" + framing + b"\r\n")
            sockets[-1].sendall(first_bytes)
        yield sockets
    finally:
        for s in sockets:
            s.close()


def timed_get(base: str, path: str, timeout: float = ANSWER_WITHIN_SECONDS) -> tuple[int, float]:
    """GET ``path`` on a fresh connection; returns the status and the seconds it took,
    giving up (as a failure, status 0) once the answer is ``timeout`` late."""
    parts = urlsplit(base)
    started = time.monotonic()
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request("GET", path)
        status = connection.getresponse().status
    except TimeoutError:
        status = 0
    finally:
        connection.close()
    return status, time.monotonic() - started


def test_slow_clients_starve_nobody(database_url: str) -> None:
    """With 200 connections holding an unfinished request line and 20 POSTs whose bodies
    trickle in, a GET from another client answers within 1 s."""
    cli(database_url, "db", "upgrade")
    with running_server(database_url) as (base, _), slow_clients(base):
        status, seconds = timed_get(base, "/cases?page_size=1")

    assert (200, True) == (status, seconds < ANSWER_WITHIN_SECONDS)


def test_more_slow_bodies_than_threads_starve_nobody(database_url: str) -> None:
    """On one worker of 4 threads, 12 POSTs whose bodies trickle in take at most half the
    threads: the rest are answered 503 at once, and a GET still answers within 1 s."""
    cli(database_url, "db", "upgrade")
    posts, threads = 12, 4
    with running_server(database_url, "--workers", "1", "--threads", str(threads)) as (base, _):
        sockets = []
        try:
            for i in range(posts):
                sockets.append(connect(base))
                framing = (
                    b"Content-Length: 1000\r\n" if i % 2 else b"Transfer-Encoding: chunked\r\n"
                )
                first_bytes = b"x" if i % 2 else b"400\r\nx"
                head = b"POST /cases HTTP/1.1\r\nHost: x\r\n" + framing + b"\r\n"
                sockets[-1].sendall(head + first_bytes)
            answered = []
            for s in sockets:  # the ones refused answer at once; the readers time out here
                s.settimeout(ANSWER_WITHIN_SECONDS)
                with contextlib.suppress(TimeoutError):
                    answered.append(s.recv(64).split(b"\r\n")[0])
            status, seconds = timed_get(base, "/cases?page_size=1")
        finally:
            for s in sockets:
                s.close()

    assert [b"HTTP/1.1 503 Service Unavailable"] * (posts - threads // 2) == answered
    assert (200, True) == (status, seconds < ANSWER_WITHIN_SECONDS)


HOLDERS = 6000  # idle and slowloris sockets from one host (issue 21)


def test_six_thousand_idle_and_slowloris_sockets_starve_nobody(database_url: str) -> None:
    """3,000 connections that send nothing and 3,000 stopped halfway through their headers,
    all from this host: another client's GETs on fresh connections are all answered (a
    request left waiting in a full worker's listen queue would hang past the timeout)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < HOLDERS + 500:
        pytest.fail(f"this test needs {HOLDERS + 500} open files; the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    cli(database_url, "db", "upgrade")
    sockets: list[socket.socket] = []
    try:
        with running_server(database_url) as (base, _):
            for i in range(HOLDERS):
                sockets.append(connect(base))
                if i % 2:
                    sockets[-1].sendall(b"GET /cases HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            answers = [timed_get(base, "/cases?page_size=1", timeout=10) for _ in range(5)]
    finally:
        for s in sockets:
            s.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    print(f"\n{HOLDERS} held sockets: GETs answered in {[round(t, 3) for _, t in answers]} s")
    assert [200] * 5 == [status for status, _ in answers]
