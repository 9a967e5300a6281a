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

import datetime as dt
import sys
import time

import click

from casesvc.cli import output
from casesvc.cli.common import EXIT_ERROR as EXIT_ERROR
from casesvc.cli.common import EXIT_INTERRUPTED as EXIT_INTERRUPTED
from casesvc.cli.common import EXIT_NOT_FOUND as EXIT_NOT_FOUND
from casesvc.cli.common import EXIT_USAGE as EXIT_USAGE
from casesvc.cli.common import (
    Invocation,
    OneLineUsageErrors,
    client_option,
    database_url_option,
    json_option,
    pass_invocation,
    with_version,
)
from casesvc.cli.operator import db_group, serve, token_group
from casesvc.config import DEFAULT_CLIENT
from casesvc.lifecycle import ORDER, Status
from casesvc.schemas import STATUSES

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}


def pause(seconds: float) -> None:
    """The only real waiting casesvc does: between two reads in ``watch``. Tests replace it."""
    time.sleep(seconds)


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
    ctx.obj = Invocation(database_url)


# -- cases --------------------------------------------------------------------------------


@main.command()
@click.option(
    "--idempotency-key",
    metavar="KEY",
    help="As POST's Idempotency-Key: a key that already created a case creates no other.",
)
@client_option(
    "The API client the case belongs to (a name in CASESVC_API_TOKENS).",
    default=DEFAULT_CLIENT,
    show_default=True,
)
@click.option(
    "--sample",
    metavar="KEY",
    help="The sample determination the case shows (`casesvc samples` lists them). "
    "Default: one picked by the case's id.",
)
@json_option
@with_version
@database_url_option
@pass_invocation
def create(
    invocation: Invocation,
    idempotency_key: str | None,
    client: str,
    sample: str | None,
    as_json: bool,
) -> None:
    """Create a case, as POST /cases does.

    Prints the new case's id, or with --json the document POST /cases answers with.
    With --idempotency-key, running it again with the same KEY (and client) prints the
    same case. With --sample KEY, the case shows that sample determination.
    """
    with invocation.service() as service:
        case = service.create(idempotency_key, client=client, sample=sample)
    click.echo(output.case_json(case) if as_json else case.case_id)


@main.command()
@json_option
@with_version
@database_url_option
@pass_invocation
def samples(invocation: Invocation, as_json: bool) -> None:
    """List the sample determinations a case can show (`create --sample KEY`).

    Each key with its procedure, its verdict, and its own review timing under the timed
    lifecycle where it has one. CASESVC_SAMPLES=DIR loads a team's own in their place.
    """
    catalog = invocation.catalog  # no database needed
    click.echo(output.samples_json(catalog) if as_json else output.samples_table(catalog))


@main.command()
@click.argument("case_id")
@json_option
@with_version
@database_url_option
@pass_invocation
def show(invocation: Invocation, case_id: str, as_json: bool) -> None:
    """Show a case as it stands now, whichever client it belongs to.

    Its client, status, age, time to the next stage, procedure and CPT codes, summary, and each
    step with its decision.

    With --json, print the document GET /cases/CASE_ID would return at this instant.
    """
    with invocation.service() as service:
        case = service.get(case_id)
    click.echo(output.case_json(case) if as_json else output.describe(case))


@main.command("list")
@click.option("--status", type=click.Choice(STATUSES), help="Only cases now in this status.")
@client_option("Only this API client's cases (default: every client's).")
@click.option(
    "--limit",
    default=50,
    show_default=True,
    type=click.IntRange(1, 500),
    help="At most this many cases.",
)
@json_option
@with_version
@database_url_option
@pass_invocation
def list_cases(
    invocation: Invocation, status: str | None, client: str | None, limit: int, as_json: bool
) -> None:
    """List cases, newest first, of every API client unless --client names one.

    The table has each case's id, client, creation time, status, age (of its review timeline, as
    `show` gives it), procedure and whether the criteria are met (- until complete). With
    --json, a JSON array of the basic view.
    """
    with invocation.service() as service:
        page = service.list_cases(
            client=client, page_size=limit, status=Status(status) if status else None
        )
    click.echo(output.cases_json(page.cases) if as_json else output.case_table(page.cases))


@main.command()
@click.argument("case_id", required=False)
@click.option(
    "--by",
    type=output.Duration(),
    metavar="DURATION",
    help="Move forward this far: seconds, or with a unit (90s, 5m, 2h, 1d).",
)
@click.option(
    "--to",
    "to_status",
    # A case starts out submitted, so the stages to move it to are the two after.
    type=click.Choice([status.value for status in ORDER[1:]]),  # the stages a case moves to
    help="Move forward just far enough to reach this stage.",
)
@click.option("--all", "every", is_flag=True, help="Advance every case (with --by).")
@client_option("With --all: only this API client's cases.")
@with_version
@database_url_option
@pass_invocation
def advance(
    invocation: Invocation,
    case_id: str | None,
    by: dt.timedelta | None,
    to_status: str | None,
    every: bool,
    client: str | None,
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
    if client is not None and not every:
        raise click.UsageError("--client works with --all only")
    with invocation.service() as service:
        if case_id is None:
            assert by is not None
            cases = service.advance_all(by, client=client)
        else:
            cases = [service.advance(case_id, by=by, to=Status(to_status) if to_status else None)]
    for case in cases:
        click.echo(output.advanced(case))
    if every:
        click.echo(f"{len(cases)} case(s) advanced")


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
@database_url_option
@pass_invocation
def watch(invocation: Invocation, case_id: str, interval: float) -> None:
    """Follow a case live until it is complete.

    A progress bar shows how far the case is through its review; a line is printed at
    each status change. Fast-forwarding it from elsewhere shows at the next read.
    Ctrl-C stops watching (exit code 130).
    """
    status: list[Status] = []  # the last one seen, for the Ctrl-C message
    with invocation.service() as service:
        try:
            output.follow(
                lambda: service.get(case_id),
                service.clock.now,
                wait=lambda: pause(interval),
                on_status=status.append,
            )
        except KeyboardInterrupt:  # even during the first read, before any status is seen
            seen = status[-1] if status else "not read yet"
            click.echo(f"casesvc: stopped watching {case_id} ({seen})", err=True)
            sys.exit(EXIT_INTERRUPTED)


for command in (serve, db_group, token_group):  # the operator's: casesvc/cli/operator.py
    main.add_command(command)


if __name__ == "__main__":  # pragma: no cover
    main()
