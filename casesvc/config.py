"""Configuration: the one place that reads the environment.

``Config.from_env()`` is called by the entry points (the WSGI module and the CLI).
Everything else receives a ``Config`` and never looks at ``os.environ``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_PATH = PROJECT_ROOT / "instance" / "casesvc.sqlite3"
DEFAULT_DATABASE_URL = f"sqlite:///{DEFAULT_DATABASE_PATH}"
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
ASSETS_DIR = PROJECT_ROOT / "assets" / "determinations"

# Page tokens are signed so that a tampered token is refused. The key only protects
# pagination cursors (no secrets ride in them); set CASESVC_SECRET_KEY in production.
DEV_SECRET_KEY = "casesvc-development-key"


class ConfigError(ValueError):
    """An environment variable holds a value casesvc cannot use."""


@dataclasses.dataclass(frozen=True)
class Config:
    """Everything casesvc can be told, with the defaults of a local install."""

    database_url: str = DEFAULT_DATABASE_URL
    processing_after: float = 10.0
    complete_after: float = 30.0
    secret_key: str = DEV_SECRET_KEY
    assets_dir: Path = ASSETS_DIR
    migrations_dir: Path = MIGRATIONS_DIR
    # Apply pending migrations at start-up. Only ever on for the embedded default database;
    # any other database must be upgraded explicitly with `casesvc db upgrade`.
    auto_upgrade: bool = False
    testing: bool = False

    def __post_init__(self) -> None:
        if not 0 < self.processing_after < self.complete_after:
            raise ConfigError(
                "CASESVC_PROCESSING_AFTER must be > 0 and below CASESVC_COMPLETE_AFTER "
                f"(got {self.processing_after} and {self.complete_after})"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Config:
        """Build a config from environment variables; ``overrides`` win over them."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        url = env.get("DATABASE_URL", "").strip()
        values["database_url"] = url or DEFAULT_DATABASE_URL
        values["auto_upgrade"] = not url
        for name, key in (
            ("processing_after", "CASESVC_PROCESSING_AFTER"),
            ("complete_after", "CASESVC_COMPLETE_AFTER"),
        ):
            if env.get(key):
                values[name] = _seconds(key, env[key])
        if env.get("CASESVC_SECRET_KEY"):
            values["secret_key"] = env["CASESVC_SECRET_KEY"]
        values.update(overrides)
        if "database_url" in overrides and "auto_upgrade" not in overrides:
            values["auto_upgrade"] = overrides["database_url"] == DEFAULT_DATABASE_URL
        return cls(**values)  # type: ignore[arg-type]


def _seconds(key: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{key} must be a number of seconds, got {raw!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ConfigError(f"{key} must be a finite number of seconds, got {raw!r}")
    return value
