"""Configuration: the one place that reads the environment.

``Config.from_env()`` is called by the entry points (the WSGI module and the CLI).
Everything else receives a ``Config`` and never looks at ``os.environ``.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

from casesvc import database_url
from casesvc.origins import parse_origin


def package_dir(package: str) -> Path:
    """A directory that ships inside the casesvc package, wherever it is installed.

    The repo keeps ``migrations/`` and ``assets/`` at its top level; the build maps them to
    ``casesvc.migrations`` and ``casesvc.assets`` (pyproject.toml), and an editable install
    maps them the same way, so there is one way to find them.
    """
    found = importlib.resources.files(package)
    if not isinstance(found, Path):  # a zipped install: peewee's Runner needs real files
        raise RuntimeError(f"{package} must be installed as plain files, not zipped")
    return found


def instance_dir() -> Path:
    """Where the embedded database lives, by Flask's rule for instance folders (without
    importing Flask): beside the package in a source checkout (``instance/``),
    ``<prefix>/var/casesvc-instance`` once installed (never inside site-packages)."""
    parent = Path(__file__).resolve().parent.parent  # the folder that holds casesvc/
    prefix = Path(sys.prefix).resolve()
    if parent.is_relative_to(prefix):  # installed into this environment
        return prefix / "var" / "casesvc-instance"
    if parent.name.lower() == "site-packages":  # another environment's lib/pythonX.Y/...
        lib = parent.parent
        root = lib.parent.parent if lib.parent.name.lower() == "lib" else lib
        return root / "var" / "casesvc-instance"
    return parent / "instance"  # a source checkout


DEFAULT_DATABASE_PATH = instance_dir() / "casesvc.sqlite3"
DEFAULT_DATABASE_URL = f"sqlite:///{DEFAULT_DATABASE_PATH}"
MIGRATIONS_DIR = package_dir("casesvc.migrations")
ASSETS_DIR = package_dir("casesvc.assets") / "determinations"

# Page tokens are signed so that a tampered token is refused. The key only protects
# pagination cursors (no secrets ride in them); set CASESVC_SECRET_KEY in production.
DEV_SECRET_KEY = "casesvc-development-key"

# No route reads a request body (POST /cases takes none), so a small limit costs nothing.
DEFAULT_MAX_BODY_BYTES = 16 * 1024
# An API token is at least 32 characters of the URL-safe alphabet (6 bits each: over 128 bits),
# as `casesvc token new` makes them (secrets.token_urlsafe(32): 43 characters).
MIN_TOKEN_LENGTH = 32
TOKEN_PATTERN = re.compile(rf"[A-Za-z0-9_-]{{{MIN_TOKEN_LENGTH},}}")
# The secret key must be as strong as a token when tokens are on (Config._check_secret_key).
MIN_SECRET_KEY_LENGTH = MIN_TOKEN_LENGTH
# CASESVC_API_TOKENS entries are `client:token`; a bare token is shorthand for the default
# client, which also owns every case made while tokens are off.
DEFAULT_CLIENT = "default"
CLIENT_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


# Python threads per worker that run requests. With the GIL one thread does nearly all the
# work; the others are there for requests that wait (on the database, or on a body that
# trickles in: the app reads every body whole before acting), so a few slow bodies never hold
# up the rest. Each slow body holds one thread until it ends or its client goes.
DEFAULT_THREADS = 16


def body_readers_for(threads: int) -> int:
    """How many of a worker's ``threads`` may read request bodies at once: half of them
    (Config.body_readers), so slow bodies always leave the other half free."""
    return max(1, threads // 2)


# Database connections one node (`casesvc serve`, all its workers) holds at most. Small, so that
# many nodes share one PostgreSQL: 4 nodes take 64 of its default max_connections (100) and leave
# the rest to operators and migrations. Past this, put PgBouncer in front (docs/deploying.md).
DEFAULT_DB_CONNECTIONS = 16


# prometheus_client's own variable for its multiprocess directory.
MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


class ConfigError(ValueError):
    """An environment variable holds a value casesvc cannot use."""


@dataclasses.dataclass(frozen=True)
class Config:
    """Everything casesvc can be told, with the defaults of a local install."""

    database_url: str = DEFAULT_DATABASE_URL
    processing_after: float = 10.0
    complete_after: float = 30.0
    secret_key: str = DEV_SECRET_KEY
    # The sample determinations (CASESVC_SAMPLES: a team's own folder in place of the shipped).
    assets_dir: Path = ASSETS_DIR
    # The lifecycle (CASESVC_LIFECYCLE): `timed`, `manual`, or package.module:attribute.
    lifecycle: str = "timed"
    migrations_dir: Path = MIGRATIONS_DIR
    # Apply pending migrations at start-up. Only ever on for the embedded default database;
    # any other database must be upgraded explicitly with `casesvc db upgrade`.
    auto_upgrade: bool = False
    testing: bool = False
    # Browser origins (scheme://host[:port]) allowed to call the API cross-origin. Empty: the
    # API is same-origin only, which is all the bundled web UI needs.
    cors_origins: tuple[str, ...] = ()
    # Bearer tokens accepted on /cases*, as CASESVC_API_TOKENS entries: `client:token`, or a
    # bare token for the default client. Empty: no authentication (local use).
    api_tokens: tuple[str, ...] = dataclasses.field(default=(), repr=False)
    # Serve on a non-loopback address without tokens (CASESVC_ALLOW_ANONYMOUS=1).
    allow_anonymous: bool = False
    # Largest request body accepted, in bytes; anything bigger is a 413.
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    # Threads per worker that run requests (`casesvc serve --threads`); at most half of them
    # read request bodies at once (body_readers).
    threads: int = DEFAULT_THREADS
    # The node's database connection budget (CASESVC_DB_CONNECTIONS, `serve --db-connections`),
    # shared by its `workers` processes: each keeps a pool of pool_size, whatever its threads.
    db_connections: int = DEFAULT_DB_CONNECTIONS
    workers: int = 1
    # prometheus_client's multiprocess directory (PROMETHEUS_MULTIPROC_DIR): set, the workers
    # of one server add up their metrics there. `casesvc serve` sets a fresh one per run.
    metrics_dir: Path | None = None
    # The scraper's bearer token for /metrics (CASESVC_METRICS_TOKEN): the operator's
    # credential, never a client's. Required with metrics and API tokens both on.
    metrics_token: str = dataclasses.field(default="", repr=False)
    # Count requests for /metrics (CASESVC_METRICS=1). Off by default: `make bench` measured it
    # as a real cost to a GET's throughput with several workers (docs/performance.md).
    metrics: bool = False

    @property
    def body_readers(self) -> int:
        """Requests whose body one worker reads at once; more get a 503 at once. A body
        trickling in holds a thread until it ends (granian has no body timeout), so slow
        bodies may take at most this many of the worker's threads."""
        return body_readers_for(self.threads)

    @property
    def pool_size(self) -> int:
        """Connections one process may hold: its share of the node's budget, at least one."""
        return max(1, self.db_connections // self.workers)

    def __post_init__(self) -> None:
        try:
            database_url.parse(self.database_url)
        except database_url.BadDatabaseURL as exc:
            raise ConfigError(str(exc)) from None
        if not 0 < self.processing_after < self.complete_after:
            raise ConfigError(
                "CASESVC_PROCESSING_AFTER must be > 0 and below CASESVC_COMPLETE_AFTER "
                f"(got {self.processing_after} and {self.complete_after})"
            )
        for origin in self.cors_origins:
            _check_origin(origin)
        self.token_clients()  # refuses a malformed entry, a weak token, a shared token
        if self.api_tokens:
            self._check_secret_key()
        self._check_metrics_token()
        if self.body_readers < 1:
            raise ConfigError(f"body_readers must be 1 or more (got {self.body_readers})")
        if self.db_connections < 1 or self.workers < 1:
            raise ConfigError(
                f"CASESVC_DB_CONNECTIONS must be 1 or more (got {self.db_connections})"
            )
        if self.max_body_bytes < 0:
            raise ConfigError(
                f"CASESVC_MAX_BODY_BYTES must be 0 or more (got {self.max_body_bytes})"
            )

    def _check_secret_key(self) -> None:
        """With tokens on, the key that signs page tokens (which keep clients' lists apart)
        must be a secret of the operator's own: 32 characters or more besides surrounding
        white space, not the public development key, and not one of the API tokens."""
        key = self.secret_key.strip()
        if key == DEV_SECRET_KEY:
            weakness = "the built-in development key is public"
        elif len(key) < MIN_SECRET_KEY_LENGTH:
            weakness = f"it must be {MIN_SECRET_KEY_LENGTH} characters or more"
        elif key in self.token_clients():  # tokens hold no white space
            weakness = "it is one of the API tokens, which clients hold"
        else:
            return
        raise ConfigError(
            f"CASESVC_API_TOKENS needs CASESVC_SECRET_KEY set to a secret of your own: {weakness} "
            "(make one with `casesvc token new`)"
        )

    def _check_metrics_token(self) -> None:
        """/metrics is the operator's view of every client: its scraper has a token of its
        own, as strong as a client's and none of theirs."""
        token = self.metrics_token
        if not token:
            if self.metrics and self.api_tokens:
                raise ConfigError(
                    "CASESVC_METRICS=1 with CASESVC_API_TOKENS needs CASESVC_METRICS_TOKEN, the "
                    "scraper's own token (/metrics counts every client's requests; make one "
                    "with `casesvc token new`)"
                )
            return
        if not TOKEN_PATTERN.fullmatch(token):
            raise ConfigError(
                f"CASESVC_METRICS_TOKEN must be {MIN_TOKEN_LENGTH} or more characters of "
                "A-Z a-z 0-9 - _ (make one with `casesvc token new`)"
            )
        if token in self.token_clients() or token == self.secret_key.strip():
            raise ConfigError(
                "CASESVC_METRICS_TOKEN must be a token of its own, not an API token or the "
                "secret key"
            )

    def token_clients(self) -> dict[str, str]:
        """Each accepted token, mapped to the client it belongs to."""
        clients: dict[str, str] = {}
        for entry in self.api_tokens:
            name, _, token = entry.rpartition(":")
            name = name or DEFAULT_CLIENT
            if not CLIENT_NAME_PATTERN.fullmatch(name):
                raise ConfigError(
                    "CASESVC_API_TOKENS: a client name is 1 to 64 characters of A-Z a-z 0-9 . _ "
                    "-, starting with a letter or digit (entries are client:token)"
                )
            if not TOKEN_PATTERN.fullmatch(token):
                raise ConfigError(
                    f"CASESVC_API_TOKENS: each token must be {MIN_TOKEN_LENGTH} or more "
                    "characters of A-Z a-z 0-9 - _ (make one with `casesvc token new`)"
                )
            if token in clients:
                raise ConfigError("CASESVC_API_TOKENS: a token is listed more than once")
            clients[token] = name
        return clients

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
                values[name] = _parse_seconds(key, env[key])
        if env.get("CASESVC_LIFECYCLE", "").strip():
            values["lifecycle"] = env["CASESVC_LIFECYCLE"].strip()
        if env.get("CASESVC_SAMPLES", "").strip():
            values["assets_dir"] = Path(env["CASESVC_SAMPLES"].strip())
        if env.get("CASESVC_SECRET_KEY"):
            values["secret_key"] = env["CASESVC_SECRET_KEY"]
        if env.get("CASESVC_CORS_ORIGINS", "").strip():
            values["cors_origins"] = tuple(
                o.strip().removesuffix("/") for o in _items(env["CASESVC_CORS_ORIGINS"])
            )
        if "CASESVC_API_TOKENS" in env:  # set means tokens on: one at least, or refused
            values["api_tokens"] = tuple(_items(env["CASESVC_API_TOKENS"]))
            if not values["api_tokens"]:
                raise ConfigError(
                    "CASESVC_API_TOKENS is set but lists no token; give client:token entries "
                    "(`casesvc token new`), or unset it to run without authentication"
                )
        values["allow_anonymous"] = _flag(env, "CASESVC_ALLOW_ANONYMOUS")
        for name, key in (
            ("max_body_bytes", "CASESVC_MAX_BODY_BYTES"),
            ("db_connections", "CASESVC_DB_CONNECTIONS"),
        ):
            if env.get(key, "").strip():
                values[name] = _whole_number(key, env[key])
        values["metrics"] = _flag(env, "CASESVC_METRICS")
        if "CASESVC_METRICS_TOKEN" in env:
            values["metrics_token"] = env["CASESVC_METRICS_TOKEN"].strip()
        if env.get(MULTIPROC_VARIABLE, "").strip():
            values["metrics_dir"] = Path(env[MULTIPROC_VARIABLE].strip())
        values.update(overrides)
        if "database_url" in overrides and "auto_upgrade" not in overrides:
            values["auto_upgrade"] = overrides["database_url"] == DEFAULT_DATABASE_URL
        return cls(**values)  # type: ignore[arg-type]


def _parse_seconds(key: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{key} must be a number of seconds, got {raw!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ConfigError(f"{key} must be a finite number of seconds, got {raw!r}")
    return value


def _whole_number(key: str, raw: str) -> int:
    if not raw.strip().isdigit():
        raise ConfigError(f"{key} must be a whole number, got {raw.strip()!r}")
    return int(raw)


def _flag(env: Mapping[str, str], key: str) -> bool:
    raw = env.get(key, "").strip()
    if raw not in ("", "0", "1"):
        raise ConfigError(f"{key} must be 0 or 1, got {raw!r}")
    return raw == "1"


def _items(raw: str) -> list[str]:
    """The non-empty entries of a comma-separated list."""
    return [item.strip() for item in raw.split(",") if item.strip()]


def _check_origin(origin: str) -> None:
    """A CORS origin is exactly ``scheme://host[:port]`` with a valid host; anything else
    (a wildcard, a pattern, a path, credentials, a bad port) is refused."""
    if parse_origin(origin) is None:
        raise ConfigError(
            "CASESVC_CORS_ORIGINS must list origins as scheme://host[:port] (http or https, a "
            f"DNS name or an IP address, no wildcard, pattern or path), got {origin!r}"
        )
