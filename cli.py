"""The ``casesvc`` command: a thin Click adapter over the same service the API uses.

\b
Exit codes:
  0    success
  1    error: the database is unreachable or behind (`casesvc db upgrade`)
  2    usage error: a bad argument, or asking a case to move backwards
  3    case not found
  130  interrupted (Ctrl-C)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from importlib.metadata import version
from typing import Any, NoReturn, TypeVar

import click
import peewee

from casesvc import build_service
from casesvc.config import Config, ConfigError
from casesvc.db import DatabaseUnavailable, SchemaBehind, close_all
from casesvc.lifecycle import Status
from casesvc.schemas import STATUSES, CaseListItemSchema, CaseSchema
from casesvc.service import (
    CannotAdvance,
    CaseNotFound,
    CaseService,
    CaseView,
    InvalidIdempotencyKey,
)
from casesvc.serving import DEFAULT_THREADS, GRACE_SECONDS

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_INTERRUPTED = 130

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}
VERSION = version("casesvc")
WRAP = 88

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """One clear line on stderr, then exit with ``code``."""
    click.echo(f"casesvc: error: {message}", err=True)
    sys.exit(code)


def pause(seconds: float) -> None:
    """The only real waiting casesvc does: between two reads in ``watch``. Tests replace it."""
    time.sleep(seconds)


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

    @contextlib.contextmanager
    def service(self) -> Iterator[CaseService]:
        """The case service on an open connection; its errors become one line and an exit code."""
        try:
            service = build_service(self.config)
        except (SchemaBehind, DatabaseUnavailable) as exc:
            fail(str(exc))
        except Exception as exc:  # unreachable, unreadable, not a database: one line
            fail(f"cannot open the database: {exc}")
        try:
            with service.database.connection_context():
                yield service
        except CaseNotFound as exc:
            fail(f"no case has the id {exc}", EXIT_NOT_FOUND)
        except (CannotAdvance, InvalidIdempotencyKey) as exc:
            fail(str(exc), EXIT_USAGE)
        except peewee.PeeweeException as exc:
            fail(f"database error: {exc}")
        finally:
            close_all(service.database)  # give the connections back to the server at once


pass_state = click.make_pass_decorator(State)


class OneLineUsageErrors(click.Group):
    """Usage errors as one line on stderr (``casesvc: error: …``), exit code 2, like all others."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        with _one_line():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        with _one_line():
            return super().invoke(ctx)


class _UsageLine(click.ClickException):
    exit_code = EXIT_USAGE

    def show(self, file: Any = None) -> None:
        click.echo(f"casesvc: error: {self.message}", err=True)


@contextlib.contextmanager
def _one_line() -> Iterator[None]:
    try:
        yield
    except click.exceptions.NoArgsIsHelpError:
        raise  # `casesvc` alone prints its help
    except click.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
        raise _UsageLine(exc.format_message() + hint) from None


def with_version(f: F) -> F:
    return click.version_option(VERSION, "--version", prog_name="casesvc")(f)


def json_option(f: F) -> F:
    return click.option(
        "--json", "as_json", is_flag=True, help="Print only JSON, as the HTTP API sends it."
    )(f)


@click.group(
    "casesvc",
    cls=OneLineUsageErrors,
    context_settings=CONTEXT_SETTINGS,
    epilog=__doc__.split("\n\n", 1)[1],
)
@click.option(
    "--database-url",
    metavar="URL",
    help="Database to use (overrides DATABASE_URL), e.g. sqlite:///cases.db.",
)
@with_version
@click.pass_context
def main(ctx: click.Context, database_url: str | None) -> None:
    """casesvc: prior-authorization cases, from the terminal.

    Every command works on the database directly, through the same service the HTTP API
    uses, so a running server sees each change at once.
    """
    ctx.obj = State(database_url)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    help="Worker processes (granian workers). Default: one per core, at most 8; on 2 cores "
    "that measured fastest, as more processes only compete for the same cores.",
)
@click.option(
    "--threads",
    default=DEFAULT_THREADS,
    show_default=True,
    type=click.IntRange(1, 256),
    help="Python threads per worker running requests (granian blocking threads); also the "
    "most requests a worker runs at once. Idle and slow clients never take one: they wait "
    "in the server's Rust side. With the GIL, one thread does the work; the rest cover "
    "requests that wait on the database or on a chunked body trickling in.",
)
@click.option(
    "--access-log",
    is_flag=True,
    help="Log one line per request (method, path without query string, status, ms) on "
    "stdout. Off by default: it costs about 20% of throughput (docs/performance.md).",
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
@click.option("--dev", is_flag=True, help="Flask's development server, reloading on changes.")
@with_version
@pass_state
def serve(
    state: State,
    host: str,
    port: int,
    workers: int | None,
    threads: int,
    access_log: bool,
    grace_period: int,
    dev: bool,
) -> None:
    """Serve the API and the web UI (granian; --dev for Flask's reloader).

    SIGTERM stops gracefully: no new connections, in-flight requests get up to
    --grace-period to finish, then the process exits 0.
    """
    import functools
    import os

    from casesvc import build_service, create_app
    from casesvc.db import close_all

    config = state.config
    try:
        # Check (or, on the embedded default, apply) migrations once, before any worker starts.
        close_all(build_service(config).database)
    except (SchemaBehind, DatabaseUnavailable, peewee.DatabaseError) as exc:
        fail(str(exc))
    if dev:
        create_app(config).run(host, port, use_reloader=True, threaded=True)
        return
    from casesvc.serving import default_workers, serve

    serve(
        # Built in each worker; a partial of a module-level function pickles, for `spawn`.
        functools.partial(create_app, config),
        host=host,
        port=port,
        workers=workers or default_workers(os.cpu_count()),
        threads=threads,
        access_log=access_log,
        grace_seconds=grace_period,
    )


@main.group()
@with_version
def db() -> None:
    """Database schema: apply and inspect migrations."""


@db.command()
@with_version
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
@with_version
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


# -- cases --------------------------------------------------------------------------------


@main.command()
@click.option(
    "--idempotency-key",
    metavar="KEY",
    help="As POST's Idempotency-Key: a key that already created a case creates no other.",
)
@json_option
@with_version
@pass_state
def create(state: State, idempotency_key: str | None, as_json: bool) -> None:
    """Create a case, as POST /cases does.

    Prints the new case's id, or with --json the document POST /cases answers with.
    With --idempotency-key, running it again with the same KEY prints the same case.
    """
    with state.service() as service:
        view = service.create(idempotency_key=idempotency_key)
    click.echo(dump_json(CaseSchema().dump(view.document())) if as_json else view.case_id)


@main.command()
@click.argument("case_id")
@json_option
@with_version
@pass_state
def show(state: State, case_id: str, as_json: bool) -> None:
    """Show a case as it stands now.

    Status, age, time to the next stage, procedure and CPT codes, summary, and each
    step with its decision.

    With --json, print the document GET /cases/CASE_ID would return at this instant.
    """
    with state.service() as service:
        view = service.get(case_id)
        review = service.lifecycle.starts_after(Status.COMPLETE)
    click.echo(
        dump_json(CaseSchema().dump(view.document())) if as_json else describe(view, review)
    )


@main.command("list")
@click.option("--status", type=click.Choice(STATUSES), help="Only cases now in this status.")
@click.option(
    "--limit",
    default=50,
    show_default=True,
    type=click.IntRange(1, 500),
    help="At most this many cases.",
)
@json_option
@with_version
@pass_state
def list_cases(state: State, status: str | None, limit: int, as_json: bool) -> None:
    """List cases, newest first.

    The table has each case's id, creation time, status, procedure and whether the
    criteria are met (- until complete). With --json, a JSON array of the basic view.
    """
    with state.service() as service:
        page = service.list(page_size=limit, status=Status(status) if status else None)
    if as_json:
        docs = [view.document(full=False) for view in page.cases]
        click.echo(dump_json(CaseListItemSchema(many=True).dump(docs)))
        return
    rows = [("ID", "CREATED (UTC)", "STATUS", "PROCEDURE", "MET")]
    rows += [
        (
            view.case_id,
            f"{view.created_at:%Y-%m-%d %H:%M:%S}",
            view.status.value,
            view.determination.procedure_name,
            met(view),
        )
        for view in page.cases
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    if not page.cases:
        click.echo("(no cases)")


@main.command()
@click.argument("case_id", required=False)
@click.option("--by", "by_seconds", type=float, metavar="SECONDS", help="Move forward this far.")
@click.option(
    "--to",
    "to_status",
    type=click.Choice(STATUSES),
    help="Move forward just far enough to reach this stage.",
)
@click.option("--all", "every", is_flag=True, help="Advance every case (with --by).")
@with_version
@pass_state
def advance(
    state: State,
    case_id: str | None,
    by_seconds: float | None,
    to_status: str | None,
    every: bool,
) -> None:
    """Fast-forward a case's review, never backwards.

    \b
      casesvc advance CASE_ID --by 15         # 15 s further on
      casesvc advance CASE_ID --to complete   # just far enough to be complete
      casesvc advance --all --by 10           # every case, 10 s further on

    The change is stored, so a running server and every other process see it at once.
    Only the simulated timeline moves; the case's created_at never changes.
    """
    if (by_seconds is None) == (to_status is None):
        raise click.UsageError("give exactly one of --by SECONDS and --to STAGE")
    if every == (case_id is not None):
        raise click.UsageError("give either a CASE_ID or --all")
    if every and to_status is not None:
        raise click.UsageError("--all works with --by only")
    by = None
    if by_seconds is not None:
        if not math.isfinite(by_seconds):
            raise click.BadParameter("must be a finite number of seconds", param_hint="'--by'")
        try:
            by = dt.timedelta(seconds=by_seconds)
        except OverflowError:
            raise click.BadParameter("is too large", param_hint="'--by'") from None
    with state.service() as service:
        if every:
            assert by is not None
            views = service.advance_all(by)
        else:
            assert case_id is not None
            to = Status(to_status) if to_status else None
            views = [service.advance(case_id, by=by, to=to)]
    for view in views:
        click.echo(
            f"{view.case_id}  {view.status.value:<10}  age {duration(view.age)}"
            f"  (fast-forwarded {duration(view.fast_forwarded)} in all)"
        )
    if every:
        click.echo(f"{len(views)} case(s) advanced")


@main.command()
@click.argument("case_id")
@click.option(
    "--interval",
    default=0.5,
    show_default=True,
    type=click.FloatRange(0.05, 60),
    metavar="SECONDS",
    help="Time between two reads.",
)
@with_version
@pass_state
def watch(state: State, case_id: str, interval: float) -> None:
    """Follow a case live until it is complete.

    A progress bar shows how far the case is through its review; a line is printed at
    each status change. Fast-forwarding it from elsewhere shows at the next read.
    Ctrl-C stops watching (exit code 130).
    """
    with state.service() as service:
        view = service.get(case_id)
        total = service.lifecycle.starts_after(Status.COMPLETE).total_seconds()
        status: Status | None = None
        bar = click.progressbar(
            length=round(total * 10),
            label=f"watching {case_id}",
            show_eta=False,
            show_percent=False,
            item_show_func=lambda item: item,
        )
        try:
            with bar:
                while True:
                    if view.status is not status:
                        status = view.status
                        above_bar(bar, status_line(view, service.clock.now()))
                    age = view.age.total_seconds()
                    step = min(bar.length or 0, round(age * 10)) - bar.pos
                    bar.update(max(step, 0), f"{math.floor(min(age, total))}/{total:g} s {status}")
                    if status is Status.COMPLETE:
                        break
                    pause(interval)
                    view = service.get(case_id)
        except KeyboardInterrupt:
            click.echo(f"casesvc: stopped watching {case_id} ({status})", err=True)
            sys.exit(EXIT_INTERRUPTED)


# -- presentation ---------------------------------------------------------------------------


def dump_json(document: Any) -> str:
    return json.dumps(document, indent=2)


def duration(delta: dt.timedelta) -> str:
    """``15 s`` for short spans, ``1 day, 2:03:04`` for long ones (whole seconds, floored)."""
    whole = math.floor(delta.total_seconds())
    return f"{whole} s" if abs(whole) < 120 else str(dt.timedelta(seconds=whole))


def met(view: CaseView) -> str:
    if view.status is not Status.COMPLETE:
        return "-"
    return "yes" if view.determination.is_met else "no"


def describe(view: CaseView, lifecycle_length: dt.timedelta) -> str:
    """The readable view of a case for ``show``."""
    d = view.determination
    created = f"{view.created_at:%Y-%m-%d %H:%M:%S} UTC"
    if view.retry_after is None:
        next_stage = "none: the review is complete"
    else:
        following = STATUSES[view.status.rank + 1]
        next_stage = f"{following} in {view.retry_after} s"
    if view.last_advanced_at is None:
        advanced = "no"
    else:
        last = f"{view.last_advanced_at:%Y-%m-%d %H:%M:%S} UTC"
        advanced = f"{duration(view.fast_forwarded)}, last at {last}"
    doc = view.document()
    fields = [
        ("status", view.status.value),
        ("age", f"{duration(view.age)} of the {duration(lifecycle_length)} review"),
        ("created", created),
        ("next stage", next_stage),
        ("fast-forwarded", advanced),
        ("procedure", d.procedure_name),
        ("CPT codes", ", ".join(d.cpt_codes)),
        ("criteria met", {"-": "not decided until complete"}.get(met(view), met(view))),
    ]
    lines = [view.case_id]
    lines += [f"  {name:<15} {value}" for name, value in fields]
    summary = doc["summary"] or "appears once the case is processing"
    lines.append(wrap(summary, first="  summary         ", rest=" " * 18))
    steps = doc["steps"]
    if not steps:
        lines.append("  steps           appear once the case is complete")
        return "\n".join(lines)
    lines += ["", f"steps ({len(steps)})"]
    for step in steps:
        lines.append(wrap(step["question"], first=f"  {step['key']:>2}. ", rest=" " * 6))
        verdict = "met" if step["is_met"] else "not met"
        lines.append(f"      decision: {step['decision']} ({verdict}) -> next {step['next_step']}")
        for option in step["options"]:
            if option["selected"]:
                lines.append(
                    wrap(option["text"], first=f"        {option['key']}. ", rest=" " * 11)
                )
    return "\n".join(lines)


def wrap(text: str, *, first: str, rest: str) -> str:
    return textwrap.fill(
        " ".join(text.split()), width=WRAP, initial_indent=first, subsequent_indent=rest
    )


def status_line(view: CaseView, now: dt.datetime) -> str:
    detail = {
        Status.SUBMITTED: "waiting for review",
        Status.PROCESSING: "summary ready",
        Status.COMPLETE: f"criteria {'met' if view.determination.is_met else 'not met'}",
    }[view.status]
    return f"{now:%H:%M:%S}  {view.status.value:<10}  at {duration(view.age)}  {detail}"


def above_bar(bar: Any, line: str) -> None:
    """Print a line above a live progress bar (on a terminal), or just print it."""
    if getattr(bar, "_is_atty", False):
        click.echo("\r\x1b[2K" + line)
        bar._last_line = None  # draw the bar again below the line
        bar.render_progress()
    else:
        click.echo(line)


if __name__ == "__main__":  # pragma: no cover
    main()
