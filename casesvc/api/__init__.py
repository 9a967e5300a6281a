"""The HTTP API: thin views over the case service."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from flask import Flask, current_app

if TYPE_CHECKING:
    from casesvc.api.database import FlaskDatabase
    from casesvc.api.metrics import Metrics
    from casesvc.representation import Renderer
    from casesvc.service import CaseService


@dataclasses.dataclass(frozen=True)
class AppParts:
    """What the views share, built once by ``create_app``."""

    service: CaseService
    database: FlaskDatabase
    renderer: Renderer
    metrics: Metrics | None
    migrations_dir: Path


EXTENSION = "casesvc"


def parts_of(app: Flask) -> AppParts:
    """The parts ``create_app`` built for ``app``: how tests and tools reach its service."""
    parts: AppParts = app.extensions[EXTENSION]
    return parts


def current_parts() -> AppParts:
    """The current app's parts: the one way views reach the service and its helpers."""
    return parts_of(current_app)
