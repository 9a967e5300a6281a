"""Slow clients starve nobody: idle and trickling connections never hold up another client.

Raw sockets on loopback. No test judges how fast an answer comes: each checks that the other
client is answered while every slow client is still held (the server has neither answered
nor dropped any of them), an order of events. Every wait is bounded by a socket timeout only
so that a hang fails; none sleeps on the clock.
"""

from __future__ import annotations

import contextlib
import http.client
import resource
import selectors
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.servers import cli, running_server

IDLE_CONNECTIONS = 200
TRICKLING_POSTS = 20
# Only a hang waits this long: an answer that is not blocked comes in milliseconds. (An answer
# held back until the slow clients are let go fails on the order of events, whatever the time:
# see states.)
HANG_SECONDS = 60
BUSY = "HTTP/1.1 503 Service Unavailable"


def connect(base: str) -> socket.socket:
    parts = urlsplit(base)
    return socket.create_connection((parts.hostname, parts.port), timeout=HANG_SECONDS)


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


def get(base: str, path: str) -> int:
    """GET ``path`` on a fresh connection; its status (0 if no answer came before the hang
    bound)."""
    parts = urlsplit(base)
    host = parts.hostname or "127.0.0.1"
    connection = http.client.HTTPConnection(host, parts.port, timeout=HANG_SECONDS)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    except TimeoutError:
        return 0
    finally:
        connection.close()


def states(sockets: list[socket.socket]) -> list[str]:
    """What the server has done so far with each of ``sockets``, looking without waiting:
    "held" while it has neither sent a byte nor closed the connection (it is still waiting
    on that client), else the status line it answered, "closed" or "reset"."""
    found = []
    for s in sockets:
        s.setblocking(False)
        try:
            data = s.recv(64, socket.MSG_PEEK)
            found.append(data.split(b"\r\n")[0].decode("latin-1") if data else "closed")
        except BlockingIOError:
            found.append("held")
        except ConnectionResetError:
            found.append("reset")
        finally:
            s.settimeout(HANG_SECONDS)
    return found


def test_slow_clients_starve_nobody(database_url: str) -> None:
    """With 200 connections holding an unfinished request line and 20 POSTs whose bodies
    trickle in, a GET from another client is answered while the server still holds every
    one of them (an answer kept back until they are let go fails). A worker that already
    reads as many slow bodies as it may refuses the next at once (503), as designed."""
    cli(database_url, "db", "upgrade")
    with running_server(database_url) as (base, _), slow_clients(base) as sockets:
        status = get(base, "/cases?page_size=1")
        after = states(sockets)

    assert 200 == status
    assert ["held"] * IDLE_CONNECTIONS == after[:IDLE_CONNECTIONS]
    assert set(after[IDLE_CONNECTIONS:]) <= {"held", BUSY}


def first_lines(sockets: list[socket.socket], count: int) -> list[bytes]:
    """The status lines of the first ``count`` of ``sockets`` to be answered, in the order
    they came (fewer if the hang bound passes first)."""
    buffers = {s.fileno(): b"" for s in sockets}
    answered: list[bytes] = []
    with selectors.DefaultSelector() as selector:
        for s in sockets:
            selector.register(s, selectors.EVENT_READ, s)
        while len(answered) < count:
            ready = selector.select(timeout=HANG_SECONDS)
            if not ready:
                break  # a hang: the assertion on the answers fails
            for key, _ in ready:
                data = key.data.recv(64)
                buffers[key.fd] += data
                if b"\r\n" in buffers[key.fd] or not data:
                    answered.append(buffers[key.fd].split(b"\r\n")[0])
                    selector.unregister(key.fileobj)
    return answered


def test_more_slow_bodies_than_threads_starve_nobody(database_url: str) -> None:
    """On one worker of 4 threads, 12 POSTs whose bodies trickle in take at most half the
    threads: the rest are answered 503 without waiting for them, and a GET is answered
    while the two read from are still held."""
    cli(database_url, "db", "upgrade")
    posts, threads = 12, 4
    readers = threads // 2
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
            refused = first_lines(sockets, posts - readers)
            status = get(base, "/cases?page_size=1")
            after = states(sockets)
        finally:
            for s in sockets:
                s.close()

    assert [BUSY.encode()] * (posts - readers) == refused
    assert 200 == status
    assert readers == after.count("held")


HOLDERS = 6000  # idle and slowloris sockets from one host (issue 21)


def test_six_thousand_idle_and_slowloris_sockets_starve_nobody(database_url: str) -> None:
    """3,000 connections that send nothing and 3,000 stopped halfway through their headers,
    all from this host: another client's GETs on fresh connections are all answered while
    the server still holds every one of them (a request left waiting in a full worker's
    listen queue is answered only once connections there are let go, if ever)."""
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
            answers = [get(base, "/cases?page_size=1") for _ in range(5)]
            after = states(sockets)
    finally:
        for s in sockets:
            s.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    assert [200] * 5 == answers
    assert {"held": HOLDERS} == {state: after.count(state) for state in set(after)}
