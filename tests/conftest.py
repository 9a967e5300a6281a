"""Shared fixtures: an app on a fresh database, with time frozen by freezegun."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import freezegun
import peewee
import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from psycopg import sql

from casesvc import db
from casesvc.api import parts_of
from casesvc.app import create_app
from casesvc.bootstrap import build_service, prepare_database
from casesvc.clock import Clock
from casesvc.config import MIGRATIONS_DIR, Config
from casesvc.db import close_all
from casesvc.lifecycle import Status
from casesvc.models import Case
from casesvc.service import CaseService
from tests.tokens import SECRET_KEY

T0 = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.UTC)
US = dt.timedelta(microseconds=1)
# The lifecycle's boundaries at the default 10 s / 30 s thresholds, the one table every layer
# checks against: (age in seconds, status at that age, Retry-After in seconds or None).
BOUNDARIES: list[tuple[float, Status, int | None]] = [
    (0, Status.SUBMITTED, 10),
    (9.999, Status.SUBMITTED, 1),
    (10, Status.PROCESSING, 20),
    (29.999, Status.PROCESSING, 1),
    (30, Status.COMPLETE, None),
    (86_400, Status.COMPLETE, None),
]
# The same boundaries to the microsecond: (age, status, Retry-After), with pytest ids.
EDGES: list[tuple[dt.timedelta, Status, int | None]] = [
    (dt.timedelta(seconds=10) - US, Status.SUBMITTED, 1),
    (dt.timedelta(seconds=10), Status.PROCESSING, 20),
    (dt.timedelta(seconds=10) + US, Status.PROCESSING, 20),
    (dt.timedelta(seconds=30) - US, Status.PROCESSING, 1),
    (dt.timedelta(seconds=30), Status.COMPLETE, None),
    (dt.timedelta(seconds=30) + US, Status.COMPLETE, None),
]
EDGE_IDS = ["10s-1us", "10s", "10s+1us", "30s-1us", "30s", "30s+1us"]


# The suite runs once per engine: on SQLite by default, and on PostgreSQL when
# CASESVC_TEST_DATABASE_URL names a (throwaway) server, as `make test` does.
POSTGRES_URL = os.environ.get("CASESVC_TEST_DATABASE_URL", "")
ENGINE = "postgresql" if POSTGRES_URL else "sqlite"


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist, each worker has a PostgreSQL database of its own on the same
    server, ``<dbname>_<worker id>``, created empty, so workers never share a schema."""
    global POSTGRES_URL
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if POSTGRES_URL and worker:
        parts = urlsplit(POSTGRES_URL)
        name = f"{parts.path.lstrip('/')}_{worker}"
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        POSTGRES_URL = parts._replace(path=f"/{name}").geturl()


def pytest_report_header() -> str:
    return f"casesvc database engine: {ENGINE}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked for the other engine are deselected, not skipped."""
    other = "sqlite_only" if ENGINE == "postgresql" else "postgresql_only"
    keep = [item for item in items if other not in item.keywords]
    dropped = [item for item in items if other in item.keywords]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def reset_postgres(url: str) -> None:
    """An empty public schema, so each test starts from nothing."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")


@pytest.fixture
def empty_database_url(tmp_path: Path) -> str:
    """A fresh database with no tables at all, on the engine of this pass."""
    if POSTGRES_URL:
        reset_postgres(POSTGRES_URL)
        return POSTGRES_URL
    return f"sqlite:///{tmp_path / 'cases.db'}"


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated once per session, for every test to copy."""
    path = tmp_path_factory.mktemp("template") / "cases.db"
    database = db.open_database(f"sqlite:///{path}")
    db.upgrade(database, MIGRATIONS_DIR)
    db.close_all(database)  # the last connection out checkpoints the WAL into the file
    return path


@pytest.fixture
def database_url(empty_database_url: str, migrated_template: Path) -> str:
    """A fresh database on the engine of this pass, migrated to the current schema: a copy
    of the session's template on SQLite; on PostgreSQL, the migrations on an empty schema
    (DDL there takes milliseconds), so there it is the same database as ``empty_database_url``."""
    if POSTGRES_URL:
        database = db.open_database(empty_database_url)
        db.upgrade(database, MIGRATIONS_DIR)
        db.close_all(database)
    else:
        migrated = Path(empty_database_url.removeprefix("sqlite:///")).with_name("migrated.db")
        shutil.copyfile(migrated_template, migrated)
        return f"sqlite:///{migrated}"
    return empty_database_url


@pytest.fixture
def config(database_url: str) -> Config:
    # Not the development key, so that a test may turn tokens on (tests/tokens.py).
    return Config(database_url=database_url, testing=True, secret_key=SECRET_KEY)


@pytest.fixture
def frozen() -> Iterator[freezegun.api.FrozenDateTimeFactory]:
    """Time stands still at T0 until the test moves it."""
    with freezegun.freeze_time(T0) as frozen:
        yield frozen


@pytest.fixture
def app(config: Config, frozen: freezegun.api.FrozenDateTimeFactory) -> Iterator[Flask]:
    """The app on this test's database; the test itself reads rows through the ``Case``
    model, bound to that database for the test only."""
    app = create_app(config)
    database = parts_of(app).service.database
    with Case.bind_ctx(database):
        yield app
    close_all(database)


def missing(message: str) -> NoReturn:
    """A tool or privilege a test needs is missing: an error under CI (where .ci/run
    provides it), a skip on a developer's machine."""
    if os.environ.get("CI"):
        pytest.fail(message + " (.ci/run provides it, so CI must have it)")
    pytest.skip(message)


def database_of(app: Flask) -> peewee.Database:
    """The database of an app's service (its connection pool)."""
    database: peewee.Database = parts_of(app).service.database
    return database


@pytest.fixture
def http(app: Flask) -> FlaskClient:
    """Flask's test client for ``app`` (``client`` means an API client, a tenant, here)."""
    return app.test_client()


@pytest.fixture
def make_app(config: Config) -> Iterator[Any]:
    """make_app(clock=None, **overrides) -> an app on this test's database with those config
    overrides and that clock; an overridden ``database_url`` is migrated first, as serve
    would. Every app made is closed after the test. Time is frozen only if the test asks."""
    apps: list[Flask] = []

    def make(clock: Clock | None = None, **overrides: Any) -> Flask:
        if "database_url" in overrides:
            prepare_database(dataclasses.replace(config, auto_upgrade=True, **overrides))
        app = create_app(dataclasses.replace(config, **overrides), clock=clock)
        apps.append(app)
        return app

    yield make
    for app in apps:
        close_all(parts_of(app).service.database)


@pytest.fixture
def service(config: Config, frozen: freezegun.api.FrozenDateTimeFactory) -> Iterator[CaseService]:
    service = build_service(config)
    with service.database.connection_context(), Case.bind_ctx(service.database):
        yield service
    close_all(service.database)


Executed = list[tuple[str, list[Any]]]


@pytest.fixture
def executed_sql(caplog: pytest.LogCaptureFixture) -> Callable[[Callable[[], object]], Executed]:
    """executed_sql(run) -> the ``(sql, params)`` of each statement ``run()`` executes, in
    order, read from peewee's own query log (``Database.execute_sql`` logs each one on the
    ``peewee`` logger at DEBUG): what really ran, without reaching into the store."""

    def executed(run: Callable[[], object]) -> Executed:
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="peewee"):
            run()
        return [record.msg for record in caplog.records if record.name == "peewee"]

    return executed


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Debian Chromium for every browser test. Missing, it fails the run in CI
    (where .ci/run installs it) and skips the browser tests elsewhere."""
    from playwright.sync_api import sync_playwright

    from devtools.live import CHROMIUM, launch_chromium

    if not CHROMIUM.exists():
        missing(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture
def team_review(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """docs/lifecycle.md's example lifecycle, taken from the page and put in a module of its
    own outside casesvc, as a team would: its import path (``team_review:lifecycle``)."""
    page = Path(__file__).resolve().parents[1] / "docs" / "lifecycle.md"
    (code,) = re.findall(r"```python\n(.*?)```", page.read_text(), re.DOTALL)
    (tmp_path / "team_review.py").write_text(code)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "team_review:lifecycle"
    sys.modules.pop("team_review", None)
