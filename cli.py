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

from casesvc import build_service, prepare_database
from casesvc.api.render import document
from casesvc.config import Config, ConfigError
from casesvc.db import DatabaseUnavailable, SchemaBehind, close_all
from casesvc.lifecycle import Status
from casesvc.schemas import STATUSES, CaseListItemSchema, CaseSchema
from casesvc.service import (
    CannotAdvance,
    CaseNotFound,
    CaseService,
    CaseSnapshot,
    InvalidIdempotencyKey,
)

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
            prepare_database(self.config)
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
    help="Worker processes (default: 2 per core, at most 8).",
)
@click.option(
    "--threads", default=1, show_default=True, type=click.IntRange(1, 64), help="Per worker."
)
@click.option("--dev", is_flag=True, help="Flask's development server, reloading on changes.")
@with_version
@pass_state
def serve(
    state: State, host: str, port: int, workers: int | None, threads: int, dev: bool
) -> None:
    """Serve the API and the web UI (gunicorn; --dev for Flask's reloader)."""
    from casesvc import create_app

    config = state.config
    try:
        # Check (or, on the embedded default, apply) migrations once, before any worker.
        prepare_database(config)
    except (SchemaBehind, DatabaseUnavailable, peewee.DatabaseError) as exc:
        fail(str(exc))
    if dev:
        create_app(config).run(host, port, use_reloader=True, threaded=True)
        return
    from casesvc.api.metrics import worker_shared_dir
    from casesvc.serving import default_workers, serve

    with worker_shared_dir(config) as shared:
        serve(
            lambda: create_app(shared),
            host=host,
            port=port,
            workers=workers or default_workers(),
            threads=threads,
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
        database.make_room(state.config.database_url)
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
    click.echo(dump_json(CaseSchema().dump(document(view))) if as_json else view.case_id)


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
    click.echo(dump_json(CaseSchema().dump(document(view))) if as_json else describe(view, review))


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

    The table has each case's id, creation time, status, age (of its review timeline, as
    `show` gives it), procedure and whether the criteria are met (- until complete). With
    --json, a JSON array of the basic view.
    """
    with state.service() as service:
        page = service.list_cases(page_size=limit, status=Status(status) if status else None)
    if as_json:
        docs = [document(view, full=False) for view in page.cases]
        click.echo(dump_json(CaseListItemSchema(many=True).dump(docs)))
        return
    rows = [("ID", "CREATED (UTC)", "STATUS", "AGE", "PROCEDURE", "MET")]
    rows += [
        (
            view.case_id,
            f"{view.created_at:%Y-%m-%d %H:%M:%S}",
            view.status.value,
            duration(view.age),
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


class Duration(click.ParamType):
    """A span of time: seconds (``90``, ``1.5``), or a number with a unit: ``90s``, ``5m``,
    ``2h``, ``1d``."""

    name = "duration"
    UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, dt.timedelta):
            return value
        text = str(value).strip().lower()
        scale = self.UNITS.get(text[-1:], None)
        number = text[:-1] if scale is not None else text
        try:
            seconds = float(number) * (scale or 1)
        except ValueError:
            self.fail(
                f"{value!r} is not a duration: give seconds, or a number with a unit "
                "(90s, 5m, 2h, 1d)",
                param,
                ctx,
            )
        if not math.isfinite(seconds):
            self.fail("must be a finite number of seconds", param, ctx)
        try:
            return dt.timedelta(seconds=seconds)
        except OverflowError:
            self.fail("is too large", param, ctx)


@main.command()
@click.argument("case_id", required=False)
@click.option(
    "--by",
    type=Duration(),
    metavar="DURATION",
    help="Move forward this far: seconds, or with a unit (90s, 5m, 2h, 1d).",
)
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
    by: dt.timedelta | None,
    to_status: str | None,
    every: bool,
) -> None:
    """Fast-forward a case's review, never backwards.

    \b
      casesvc advance CASE_ID --by 15         # 15 s further on
      casesvc advance CASE_ID --by 2h         # two hours further on (also s, m, d)
      casesvc advance CASE_ID --to complete   # just far enough to be complete
      casesvc advance --all --by 10           # every case, 10 s further on

    The change is stored, so a running server and every other process see it at once.
    Only the simulated timeline moves; the case's created_at never changes.
    """
    if (by is None) == (to_status is None):
        raise click.UsageError("give exactly one of --by DURATION and --to STAGE")
    if every == (case_id is not None):
        raise click.UsageError("give either a CASE_ID or --all")
    if every and to_status is not None:
        raise click.UsageError("--all works with --by only")
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
    """A span as the web UI shows it, in whole seconds (floored), at most two units:
    ``45 s``, ``3 min 05 s``, ``2 h 04 min``, ``11,574 d 1 h``."""
    whole = math.floor(delta.total_seconds())
    sign, s = ("-", -whole) if whole < 0 else ("", whole)
    m, h, d = s // 60, s // 3600, s // 86400
    if s < 60:
        text = f"{s} s"
    elif m < 60:
        text = f"{m} min {s % 60:02d} s"
    elif h < 24:
        text = f"{h} h {m % 60:02d} min"
    else:
        text = f"{d:,} d {h % 24} h"
    return sign + text


def met(view: CaseSnapshot) -> str:
    if view.status is not Status.COMPLETE:
        return "-"
    return "yes" if view.determination.is_met else "no"


def describe(view: CaseSnapshot, lifecycle_length: dt.timedelta) -> str:
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
    doc = document(view)
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


def status_line(view: CaseSnapshot, now: dt.datetime) -> str:
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
