"""DATABASE_URL, parsed: the two forms casesvc knows, and nothing else.

``sqlite:///relative/path.db`` and ``sqlite:////absolute/path.db`` (three slashes, then the
path), or ``postgresql://user:password@host:port/database`` (``postgres://`` too). Anything
else, such as ``sqlite://cases.db`` (whose ``cases.db`` reads as a host, and whose first letter
a naive parser drops), is refused with a message that names the form to use.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from urllib.parse import urlsplit

POSTGRES_SCHEMES = ("postgresql", "postgres")


class BadDatabaseURL(ValueError):
    """A DATABASE_URL casesvc does not know how to read."""


@dataclasses.dataclass(frozen=True)
class DatabaseURL:
    engine: str  # "sqlite" or "postgresql"
    path: Path | None  # the SQLite file; None for PostgreSQL


def parse(url: str) -> DatabaseURL:
    """Read ``url`` as one of the two known forms, or raise BadDatabaseURL saying why."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError as exc:
        raise BadDatabaseURL(f"DATABASE_URL is not a URL ({exc})") from None
    if parts.scheme == "sqlite":
        if parts.netloc or not parts.path.startswith("/") or parts.query or parts.fragment:
            raise BadDatabaseURL(
                "DATABASE_URL for SQLite takes three slashes and a file path: "
                f"sqlite:///relative/cases.db or sqlite:////absolute/cases.db, got {url!r}"
            )
        path = parts.path[1:]
        if not path or path == ":memory:" or path.endswith("/"):
            raise BadDatabaseURL(f"DATABASE_URL must name a SQLite file, got {url!r}")
        return DatabaseURL("sqlite", Path(path))
    if parts.scheme in POSTGRES_SCHEMES:
        if not parts.hostname or not parts.path.strip("/") or "/" in parts.path.strip("/"):
            raise BadDatabaseURL(
                "DATABASE_URL for PostgreSQL is postgresql://user:password@host:port/database, "
                f"with a host and a database name, got {_without_password(url)!r}"
            )
        return DatabaseURL("postgresql", None)
    raise BadDatabaseURL(
        f"DATABASE_URL must start with sqlite:/// or postgresql://, got {_without_password(url)!r}"
    )


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)
