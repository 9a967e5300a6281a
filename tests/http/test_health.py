"""/healthz and /readyz: liveness without the database, readiness with it, and recovery."""

from __future__ import annotations

import contextlib
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import peewee
import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from psycopg import sql

from casesvc import db
from casesvc.config import MIGRATIONS_DIR
from casesvc.db import close_all
from casesvc.models import Probe
from tests.conftest import T0, database_of
from tests.tokens import TOKEN_A

# Time stands still at T0 in every test here, for the apps of make_app too.
pytestmark = pytest.mark.usefixtures("frozen")
TOKEN = TOKEN_A
ORIGIN = "https://ops.example.org"
OK = {"status": "ok"}
UNREACHABLE = {
    "code": 503,
    "status": "Service Unavailable",
    "message": "Not ready: the database is unreachable.",
    "errors": {"database": "unreachable"},
}
BEHIND = {
    "code": 503,
    "status": "Service Unavailable",
    "message": "Not ready: the database schema is behind this version of casesvc: run "
    "`casesvc db upgrade`.",
    "errors": {"schema": "behind"},
}
AHEAD = {
    "code": 503,
    "status": "Service Unavailable",
    "message": "Not ready: the database schema is ahead of this version of casesvc: it has "
    "migrations this code does not know.",
    "errors": {"schema": "ahead"},
}
# A migration of a newer release than this code.
FUTURE_MIGRATION = """
from peewee import CharField, Model


def up(migrator, db):
    class Note(Model):
        text = CharField()

        class Meta:
            database = db
            table_name = "future_notes"

    Note.create_table()


def down(migrator, db):
    db.execute_sql("DROP TABLE future_notes")
"""


def answer(http: FlaskClient, path: str = "/readyz") -> tuple[int, Any]:
    response = http.get(path)
    return response.status_code, response.json


# -- both probes --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probe_answers_ok_and_is_never_cached(http: FlaskClient, path: str) -> None:
    """A healthy app answers 200 {"status": "ok"} with no-store and the security headers."""
    response = http.get(path)

    assert (200, OK) == (response.status_code, response.json)
    assert ("no-store", "nosniff", "DENY") == (
        response.headers.get("Cache-Control"),
        response.headers.get("X-Content-Type-Options"),
        response.headers.get("X-Frame-Options"),
    )


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probe_needs_no_token_when_tokens_are_on(make_app: Any, path: str) -> None:
    """With CASESVC_API_TOKENS set, /cases needs a token but the probes do not."""
    http = make_app(api_tokens=(TOKEN,)).test_client()

    assert (401, 200) == (http.get("/cases").status_code, http.get(path).status_code)


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probe_follows_the_cors_and_body_rules(make_app: Any, path: str) -> None:
    """An allowed origin may read a probe; a body over the limit is the usual JSON 413, and a
    POST the usual 405, both never cached."""
    http = make_app(cors_origins=(ORIGIN,), max_body_bytes=100).test_client()
    allowed = http.get(path, headers={"Origin": ORIGIN})
    too_big = http.get(path, data=b"x" * 101)
    posted = http.post(path)

    assert (200, ORIGIN) == (allowed.status_code, allowed.headers["Access-Control-Allow-Origin"])
    assert (413, 405) == (too_big.json["code"], posted.json["code"])
    assert ["no-store", "no-store"] == [r.headers["Cache-Control"] for r in (too_big, posted)]
    assert "GET" in posted.headers["Allow"]


def test_probes_are_documented_under_their_own_tag(make_app: Any) -> None:
    """Both probes are in the OpenAPI document, tagged health, named, and open even when
    tokens are required elsewhere."""
    spec = make_app(api_tokens=(TOKEN,)).test_client().get("/openapi.json").json
    found = {
        path: (op["operationId"], op["tags"], op["security"], sorted(op["responses"]))
        for path in ("/healthz", "/readyz")
        for op in [spec["paths"][path]["get"]]
    }

    assert {
        "/healthz": ("checkHealth", ["health"], [], ["200", "default"]),
        "/readyz": ("checkReadiness", ["health"], [], ["200", "503", "default"]),
    } == found
    assert "health" in {tag["name"] for tag in spec["tags"]}
    assert [{"bearerAuth": []}] == spec["security"]


# -- liveness -----------------------------------------------------------------------------


def test_healthz_opens_no_connection(app: Flask) -> None:
    """/healthz answers without taking a connection, so it answers whatever the database."""
    database = database_of(app)
    close_all(database)
    status = answer(app.test_client(), "/healthz")

    assert ((200, OK), True) == (status, database.is_closed())


def test_healthz_answers_while_the_database_is_down(app: Flask) -> None:
    """With every attempt to reach the database failing, /healthz is 200 and /readyz 503."""
    database = database_of(app)
    close_all(database)

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise peewee.OperationalError("connection refused")

    database.connect = refuse  # type: ignore[method-assign]
    http = app.test_client()

    assert [(200, OK), (503, UNREACHABLE)] == [answer(http, "/healthz"), answer(http)]


# -- readiness: the database unreachable, and back ------------------------------------------


@pytest.mark.sqlite_only
def test_readyz_while_the_sqlite_file_is_gone_and_back(make_app: Any, tmp_path: Path) -> None:
    """With the database's directory gone, a new connection fails: 503 unreachable, with
    Retry-After and nothing of the path; with it back, 200 without a restart."""
    data = tmp_path / "data"
    app = make_app(database_url=f"sqlite:///{data / 'cases.db'}")
    http = app.test_client()
    before = answer(http)
    data.rename(tmp_path / "away")
    close_all(database_of(app))  # the connections of before are gone too (a new worker)
    down = http.get("/readyz")
    (tmp_path / "away").rename(data)
    after = answer(http)

    assert [(200, OK), (503, UNREACHABLE), (200, OK)] == [
        before,
        (down.status_code, down.json),
        after,
    ]
    assert ("5", "no-store") == (down.headers["Retry-After"], down.headers["Cache-Control"])
    assert str(tmp_path) not in down.get_data(as_text=True)


@pytest.mark.sqlite_only
def test_readyz_replaces_a_dead_sqlite_connection(app: Flask) -> None:
    """A kept connection that died is dropped and a fresh one answers: 200 at once."""
    http = app.test_client()
    assert (200, OK) == answer(http)
    database = database_of(app)
    dead = database.connection()
    dead.close()

    assert (200, OK) == answer(http)
    assert dead is not database.connection()


class Relay:
    """A TCP relay to PostgreSQL: stopping it closes its port and cuts every connection, as
    a stopped server does; starting it again listens on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self.server: socket.socket | None = None
        self.sockets: list[socket.socket] = []

    def start(self) -> None:
        self.server = socket.create_server(("127.0.0.1", self.port))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, args=(self.server,), daemon=True).start()

    def stop(self) -> None:
        assert self.server is not None
        for sock in [self.server, *self.sockets]:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self.server, self.sockets = None, []

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def relay(database_url: str) -> Iterator[Relay]:
    parts = urlsplit(database_url)
    relay = Relay((parts.hostname or "127.0.0.1", parts.port or 5432))
    relay.start()
    yield relay
    if relay.server is not None:
        relay.stop()


@pytest.mark.postgresql_only
def test_readyz_while_postgresql_is_stopped_and_back(
    make_app: Any, database_url: str, relay: Relay
) -> None:
    """With the server's port closed and its connections cut: 503 unreachable, with
    Retry-After and nothing of the URL; listening again: 200 without a restart."""
    parts = urlsplit(database_url)
    via_relay = parts._replace(netloc=f"{parts.username}@127.0.0.1:{relay.port}").geturl()
    http = make_app(database_url=via_relay).test_client()
    before = answer(http)
    relay.stop()
    down = http.get("/readyz")
    again = answer(http)
    relay.start()
    after = answer(http)

    assert [(200, OK), (503, UNREACHABLE), (503, UNREACHABLE), (200, OK)] == [
        before,
        (down.status_code, down.json),
        again,
        after,
    ]
    assert ("5", "no-store") == (down.headers["Retry-After"], down.headers["Cache-Control"])
    text = down.get_data(as_text=True)
    assert [] == [word for word in ("127.0.0.1", str(relay.port), "postgres") if word in text]


@pytest.mark.postgresql_only
def test_readyz_replaces_a_terminated_postgresql_connection(app: Flask, database_url: str) -> None:
    """After PostgreSQL ends the app's kept connection, /readyz drops it and answers 200 on
    a fresh one, at the first call."""
    http = app.test_client()
    assert (200, OK) == answer(http)
    database = database_of(app)
    before = database.connection().info.backend_pid
    with psycopg.connect(database_url, autocommit=True) as conn:
        ended = conn.execute("SELECT pg_terminate_backend(%s)", (before,)).fetchone()

    assert ((True,), (200, OK)) == (ended, answer(http))
    assert before != database.connection().info.backend_pid


LAST_MIGRATION = sorted(p.stem for p in MIGRATIONS_DIR.glob("0*.py"))[-1]


# -- readiness: the schema --------------------------------------------------------------------


def test_readyz_when_the_database_falls_behind(app: Flask) -> None:
    """The database restored from before the last migration: 503 behind; upgraded: 200."""
    http = app.test_client()
    database = database_of(app)
    before = answer(http)
    reverted = db.runner(database, MIGRATIONS_DIR).down()
    behind = http.get("/readyz")
    db.upgrade(database, MIGRATIONS_DIR)

    assert [LAST_MIGRATION] == reverted
    assert [(200, OK), (503, BEHIND), (200, OK)] == [
        before,
        (behind.status_code, behind.json),
        answer(http),
    ]
    assert "5" == behind.headers["Retry-After"]


def test_readyz_when_the_database_is_ahead(app: Flask, tmp_path: Path) -> None:
    """A newer release's migration applied under this code: 503 ahead; reverted: 200."""
    newer = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, newer)
    (newer / "0099_add_future_notes.py").write_text(FUTURE_MIGRATION, encoding="utf-8")
    http = app.test_client()
    database = database_of(app)
    applied = db.upgrade(database, newer)
    ahead = answer(http)
    db.runner(database, newer).down()

    assert ["0099_add_future_notes"] == applied
    assert [(503, AHEAD), (200, OK)] == [ahead, answer(http)]


def test_readyz_reads_the_migration_files_of_its_config(make_app: Any, tmp_path: Path) -> None:
    """A release whose files include a migration the database lacks is not ready: the check
    compares with the running config's directory, not a fixed one."""
    newer = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, newer)
    app = make_app(migrations_dir=newer)
    http = app.test_client()
    before = answer(http)
    (newer / "0099_add_future_notes.py").write_text(FUTURE_MIGRATION, encoding="utf-8")

    assert [(200, OK), (503, BEHIND)] == [before, answer(http)]


# -- readiness: writes ------------------------------------------------------------------------


NOT_WRITABLE = {
    "code": 503,
    "status": "Service Unavailable",
    "message": "Not ready: the database takes no writes (disk full or read-only?).",
    "errors": {"database": "not writable"},
}


def test_readyz_writes_its_probe_row(app: Flask) -> None:
    """Each call commits the probes row, stamped with the service's clock."""
    http = app.test_client()
    http.get("/readyz")

    with Probe.bind_ctx(database_of(app)):
        assert [("readyz", T0)] == [(p.name, p.checked_at) for p in Probe.select()]


@pytest.mark.sqlite_only
def test_readyz_on_a_sqlite_connection_that_takes_no_writes(make_app: Any) -> None:
    """A connection that can only read (the file turned read-only under it): 503 naming the
    database as not writable; the connection is dropped, and the next call, on a fresh one,
    is 200 again."""
    app = make_app(db_connections=1)
    http = app.test_client()
    database = database_of(app)
    database.connect()
    database.execute_sql("PRAGMA query_only = ON")
    database.close()  # back into the pool, read-only

    assert (503, NOT_WRITABLE) == answer(http)
    assert (200, OK) == answer(http)


@pytest.mark.sqlite_only
def test_readyz_on_a_full_disk(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Less than 1 MiB free on the SQLite file's disk is not ready, even where one more small
    write still fits: creates would fail soon or already do."""
    http = app.test_client()
    usage = shutil.disk_usage("/")
    monkeypatch.setattr(
        db.shutil, "disk_usage", lambda path: usage._replace(free=db.MIN_FREE_BYTES - 1)
    )
    full = answer(http)
    monkeypatch.undo()

    assert ((503, NOT_WRITABLE), (200, OK)) == (full, answer(http))


@pytest.mark.postgresql_only
def test_readyz_and_creates_on_a_read_only_postgresql(app: Flask, database_url: str) -> None:
    """A database whose new connections are read-only (a standby, after a failover): /readyz
    is 503 naming it not writable and a create is a 503, never a 500; once it takes writes
    again, both recover without a restart."""
    http = app.test_client()
    name = sql.Identifier(urlsplit(database_url).path.lstrip("/"))
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("ALTER DATABASE {} SET default_transaction_read_only = on").format(name)
        )
        close_all(database_of(app))  # the failover: every connection is new
        try:
            down = (answer(http), http.post("/cases").status_code)
        finally:
            admin.execute(
                sql.SQL("ALTER DATABASE {} RESET default_transaction_read_only").format(name)
            )
    up = answer(http)
    created = [http.post("/cases").status_code for _ in range(3)]

    assert ((503, NOT_WRITABLE), 503) == down
    assert (200, OK) == up
    assert [201, 201, 201] == created
