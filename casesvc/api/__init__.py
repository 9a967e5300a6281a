"""The HTTP API: thin views over the case service."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from flask import current_app

if TYPE_CHECKING:
    from casesvc.api.database import FlaskDatabase
    from casesvc.api.metrics import Metrics
    from casesvc.api.render import Renderer
    from casesvc.service import CaseService


@dataclasses.dataclass(frozen=True)
class AppState:
    """What the views share, built once by ``create_app``."""

    service: CaseService
    database: FlaskDatabase
    renderer: Renderer
    metrics: Metrics | None
    migrations_dir: Path


EXTENSION = "casesvc"


def app_state() -> AppState:
    """The current app's state: the one way views reach the service and its helpers."""
    state: AppState = current_app.extensions[EXTENSION]
    return state
