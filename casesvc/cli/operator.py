"""The operator's commands of ``casesvc``: ``serve``, ``db`` (migrations) and ``token``.

``casesvc/cli/__init__.py`` adds them to the ``casesvc`` group beside the case commands;
like those, they only translate between the terminal and casesvc's own modules.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import secrets
import sys

import click
import peewee

from casesvc import db
from casesvc.app import create_app
from casesvc.bootstrap import prepare_database
from casesvc.cli.common import (
    EXIT_ERROR,
    EXIT_USAGE,
    Invocation,
    client_option,
    database_url_option,
    fail,
    pass_invocation,
    with_version,
)
from casesvc.config import DEFAULT_THREADS
from casesvc.db import DatabaseUnavailable, SchemaBehind
from casesvc.serving import (
    GRACE_SECONDS,
    MAX_WORKER_RSS_MIB,
    PortInUse,
    bind_address,
    check_port,
    default_workers,
    is_loopback,
    serve_dev,
    worker_shared_dir,
)
from casesvc.serving import serve as run_server

# `token new`: 32 random bytes, 43 URL-safe characters (256 bits; 32 characters is the minimum).
TOKEN_BYTES = 32


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    help="Worker processes (granian workers). Default: two per core, at most 8. A worker runs "
    "Python on one core at a time and leaves it idle while it waits, so two per core serve "
    "more than one (docs/performance.md).",
)
@click.option(
    "--threads",
    default=DEFAULT_THREADS,
    show_default=True,
    type=click.IntRange(1, 256),
    help="Python threads per worker running requests (granian blocking threads); also the "
    "most requests a worker runs at once. Idle and slow clients never take one: they wait "
    "in the server's Rust side. With the GIL, one thread does the work; the rest cover "
    "requests that wait on the database or on a request body trickling in. They take "
    "turns on the worker's few database connections (--db-connections).",
)
@click.option(
    "--db-connections",
    type=click.IntRange(1, 10_000),
    metavar="N",
    help="Database connections this node holds at most, shared by its workers (each pools "
    "N / workers, at least one). Default: CASESVC_DB_CONNECTIONS, else 16, so that four "
    "nodes fit PostgreSQL's default max_connections (100) with room for operators. More "
    "nodes: PgBouncer (docs/deploying.md).",
)
@click.option(
    "--access-log",
    is_flag=True,
    help="Log one line per request (method, path without query string, status, ms) on "
    "stdout. Off by default: it costs throughput (docs/performance.md).",
)
@click.option(
    "--grace-period",
    default=GRACE_SECONDS,
    show_default=True,
    type=click.IntRange(1, 600),
    metavar="SECONDS",
    help="After SIGTERM, how long in-flight requests may take to finish before their worker "
    "is killed.",
)
@click.option(
    "--max-worker-rss",
    default=MAX_WORKER_RSS_MIB,
    show_default=True,
    type=click.IntRange(0, 1_000_000),
    metavar="MIB",
    help="Replace a worker whose memory (RSS) is over this many MiB, checked every 30 s: a new "
    "worker starts, then the old one finishes its requests and exits. 0: never.",
)
@click.option(
    "--allow-anonymous",
    is_flag=True,
    help="Serve on a non-loopback --host without API tokens (also CASESVC_ALLOW_ANONYMOUS=1). "
    "Without it, serving beyond this machine with no CASESVC_API_TOKENS is refused.",
)
@click.option("--dev", is_flag=True, help="Flask's development server, reloading on changes.")
@with_version
@database_url_option
@pass_invocation
def serve(
    invocation: Invocation,
    host: str,
    port: int,
    workers: int | None,
    threads: int,
    db_connections: int | None,
    access_log: bool,
    grace_period: int,
    max_worker_rss: int,
    allow_anonymous: bool,
    dev: bool,
) -> None:
    """Serve the API and the web UI (granian; --dev for Flask's reloader).

    SIGTERM stops gracefully: no new connections, in-flight requests get up to
    --grace-period to finish, then the process exits 0.
    """
    config = invocation.config
    try:
        host = bind_address(host)
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)
    if not (config.api_tokens or allow_anonymous or config.allow_anonymous or is_loopback(host)):
        fail(
            f"refusing to serve on {host} without API tokens: anyone who can reach it could "
            "read every case; set CASESVC_API_TOKENS (`casesvc token new`), or pass "
            "--allow-anonymous (CASESVC_ALLOW_ANONYMOUS=1) if something in front authenticates",
            EXIT_USAGE,
        )
    try:
        prepare_database(config)  # once, before any worker: the embedded default is migrated
        if not dev:  # Werkzeug names a taken port itself (and its reloader holds the socket)
            check_port(host, port)
    except (PortInUse, SchemaBehind, DatabaseUnavailable, peewee.DatabaseError) as exc:
        fail(str(exc))
    if dev:
        serve_dev(create_app(config), host=host, port=port)
        return
    workers = workers or default_workers(os.cpu_count())
    node = dataclasses.replace(
        config,
        threads=threads,
        workers=workers,
        db_connections=db_connections or config.db_connections,
    )
    click.echo(
        f"casesvc: {workers} workers x {node.pool_size} database connections = "
        f"{workers * node.pool_size} at most (--db-connections, CASESVC_DB_CONNECTIONS)",
        err=True,
    )
    with worker_shared_dir(node) as shared:
        run_server(
            functools.partial(create_app, shared),  # built in each worker (pickles, for spawn)
            host=host,
            port=port,
            workers=workers,
            threads=threads,
            access_log=access_log,
            grace_seconds=grace_period,
            max_rss_mib=max_worker_rss or None,
        )


@click.group("db")
@with_version
def db_group() -> None:
    """Database schema: apply and inspect migrations."""


@db_group.command()
@with_version
@database_url_option
@pass_invocation
def upgrade(invocation: Invocation) -> None:
    """Apply all pending migrations."""
    try:
        db.create_parent_dir(invocation.config.database_url)
        handle = db.open_database(invocation.config.database_url)
        applied = db.upgrade(handle, invocation.config.migrations_dir)
    except Exception as exc:  # any failure becomes one line on stderr
        fail(f"cannot upgrade the database: {exc}")
    for name in applied:
        click.echo(f"applied {name}")
    click.echo("database is up to date" if not applied else f"{len(applied)} migration(s) applied")


@db_group.command()
@with_version
@database_url_option
@pass_invocation
def status(invocation: Invocation) -> None:
    """List migrations and whether each is applied."""
    try:
        db.require_existing(invocation.config.database_url)
        handle = db.open_database(invocation.config.database_url)
        with handle.connection_context():
            rows = db.runner(handle, invocation.config.migrations_dir).status()
    except Exception as exc:
        fail(f"cannot read the database: {exc}")
    for row in rows:
        mark = f"applied {row.applied:%Y-%m-%d %H:%M:%S}" if row.applied else "pending"
        click.echo(f"{row.name:<40} {mark}")
    pending = sum(1 for row in rows if not row.applied)
    click.echo(f"{pending} pending" if pending else "database is up to date")
    if pending:
        sys.exit(EXIT_ERROR)


@click.group("token")
@with_version
def token_group() -> None:
    """API tokens for CASESVC_API_TOKENS."""


@token_group.command("new")
@client_option("Print it as NAME:TOKEN, the entry for that client.")
@with_version
def token_new(client: str | None) -> None:
    """Print a new random API token (43 URL-safe characters, 256 bits).

    \b
      a=$(casesvc token new --client clinic-a)
      b=$(casesvc token new --client clinic-b)
      export CASESVC_API_TOKENS="$a,$b"

    Give each client its own. Two tokens for one name are both that client's (rotate by
    adding the new one, then removing the old).
    """
    token = secrets.token_urlsafe(TOKEN_BYTES)
    click.echo(f"{client}:{token}" if client else token)
