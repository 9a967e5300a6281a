"""The ``casesvc`` command: a thin Click adapter over the same service the API uses.

Exit codes: 0 success, 1 error (database unreachable or behind), 2 usage error,
3 case not found.
"""

from __future__ import annotations

import sys
from importlib.metadata import version
from typing import Any, NoReturn

import click
import peewee

from casesvc.config import Config, ConfigError
from casesvc.db import DatabaseUnavailable, SchemaBehind

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """One clear line on stderr, then exit with ``code``."""
    click.echo(f"casesvc: error: {message}", err=True)
    sys.exit(code)


class State:
    """What the commands share: the config, and the service once one is needed."""

    def __init__(self, database_url: str | None) -> None:
        overrides: dict[str, Any] = {}
        if database_url:
            overrides["database_url"] = database_url
        try:
            self.config = Config.from_env(**overrides)
        except (ConfigError, ValueError) as exc:
            fail(str(exc), EXIT_USAGE)


pass_state = click.make_pass_decorator(State)


@click.group(context_settings=CONTEXT_SETTINGS, epilog=__doc__.split("\n\n", 1)[1])
@click.option(
    "--database-url",
    metavar="URL",
    help="Database to use (overrides DATABASE_URL), e.g. sqlite:///cases.db.",
)
@click.version_option(version("casesvc"), "--version", prog_name="casesvc")
@click.pass_context
def main(ctx: click.Context, database_url: str | None) -> None:
    """casesvc: prior-authorization cases, from the terminal."""
    ctx.obj = State(database_url)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    help="Worker processes (default: 2 per core, at most 8).",
)
@click.option(
    "--threads", default=1, show_default=True, type=click.IntRange(1, 64), help="Per worker."
)
@click.option("--dev", is_flag=True, help="Flask's development server, reloading on changes.")
@pass_state
def serve(
    state: State, host: str, port: int, workers: int | None, threads: int, dev: bool
) -> None:
    """Serve the API and the web UI (gunicorn; --dev for Flask's reloader)."""
    from casesvc import build_service, create_app
    from casesvc.db import close_all

    config = state.config
    try:
        # Check (or, on the embedded default, apply) migrations once, before any fork.
        close_all(build_service(config).database)
    except (SchemaBehind, DatabaseUnavailable, peewee.DatabaseError) as exc:
        fail(str(exc))
    if dev:
        create_app(config).run(host, port, use_reloader=True, threaded=True)
        return
    from casesvc.serving import default_workers, serve

    serve(
        lambda: create_app(config),
        host=host,
        port=port,
        workers=workers or default_workers(),
        threads=threads,
    )


@main.group()
def db() -> None:
    """Database schema: apply and inspect migrations."""


@db.command()
@pass_state
def upgrade(state: State) -> None:
    """Apply all pending migrations."""
    from casesvc import db as database

    try:
        handle = database.open_database(state.config.database_url)
        applied = database.upgrade(handle, state.config.migrations_dir)
    except Exception as exc:  # any failure becomes one line on stderr
        fail(f"cannot upgrade the database: {exc}")
    for name in applied:
        click.echo(f"applied {name}")
    click.echo("database is up to date" if not applied else f"{len(applied)} migration(s) applied")


@db.command()
@pass_state
def status(state: State) -> None:
    """List migrations and whether each is applied."""
    from casesvc import db as database

    try:
        handle = database.open_database(state.config.database_url)
        with handle.connection_context():
            rows = database.runner(handle, state.config.migrations_dir).status()
    except Exception as exc:
        fail(f"cannot read the database: {exc}")
    for row in rows:
        mark = f"applied {row.applied:%Y-%m-%d %H:%M:%S}" if row.applied else "pending"
        click.echo(f"{row.name:<40} {mark}")
    pending = sum(1 for row in rows if not row.applied)
    click.echo(f"{pending} pending" if pending else "database is up to date")
    if pending:
        sys.exit(EXIT_ERROR)


if __name__ == "__main__":  # pragma: no cover
    main()
