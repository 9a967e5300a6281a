"""Shared fixtures: an app on a fresh database, with time frozen by freezegun."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import freezegun
import pytest
from flask import Flask
from flask.testing import FlaskClient

from casesvc import build_service, create_app
from casesvc.config import Config
from casesvc.service import CaseService

T0 = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.UTC)
SHARED_ASSETS = Path(__file__).resolve().parent.parent.parent / "shared" / "seed" / "assets"
# In CI the reference files sit beside the clone, so tests that read them must run there.
REFERENCE_MISSING = not SHARED_ASSETS.is_dir() and not os.environ.get("CI")


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return os.environ.get("CASESVC_TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'cases.db'}"


@pytest.fixture
def config(database_url: str) -> Config:
    return Config(database_url=database_url, auto_upgrade=True, testing=True)


@pytest.fixture
def frozen() -> Iterator[freezegun.api.FrozenDateTimeFactory]:
    """Time stands still at T0 until the test moves it."""
    with freezegun.freeze_time(T0) as frozen:
        yield frozen


@pytest.fixture
def app(config: Config, frozen: freezegun.api.FrozenDateTimeFactory) -> Flask:
    return create_app(config)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def service(config: Config, frozen: freezegun.api.FrozenDateTimeFactory) -> Iterator[CaseService]:
    service = build_service(config)
    with service.database.connection_context():
        yield service
