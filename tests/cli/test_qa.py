"""The casesvc command: create, show, list, advance and watch over the same service as the API,
and db status / db upgrade and the options every command shares."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import peewee
import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient
from freezegun.api import FrozenDateTimeFactory

import casesvc.cli as cli
from casesvc import database_url
from casesvc.cli import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_NOT_FOUND, EXIT_USAGE, main
from casesvc.config import MIGRATIONS_DIR, Config
from casesvc.determinations import Catalog
from casesvc.service import CaseService, new_case_id
from tests.conftest import BOUNDARIES

Run = Callable[..., Result]
COMMANDS = ["create", "show", "list", "advance", "watch", "serve", "db", "db upgrade"]


def invoke(database_url: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--database-url", database_url, *args])


@pytest.fixture
def run(database_url: str, frozen: FrozenDateTimeFactory) -> Run:
    """The casesvc command on a migrated database, with time frozen at T0."""
    assert 0 == invoke(database_url, "db", "upgrade").exit_code
    return lambda *args: invoke(database_url, *args)


@pytest.fixture
def http(app: Flask, http: FlaskClient) -> Callable[[str], Any]:
    """GET a path from the app on the same database and return the parsed body."""

    def get(path: str) -> Any:
        response = http.get(path)
        assert 200 == response.status_code
        return response.json

    return get


def created(run: Run) -> str:
    result = run("create")
    assert 0 == result.exit_code, result.output
    return result.stdout.strip()


def shown(run: Run, case_id: str) -> dict[str, Any]:
    result = run("show", case_id, "--json")
    assert (0, "") == (result.exit_code, result.stderr)
    return dict(json.loads(result.stdout))


def assert_one_line_error(result: Result, code: int, says: str) -> None:
    lines = result.stderr.splitlines()
    assert (code, "", 1) == (result.exit_code, result.stdout, len(lines)), result.output
    assert lines[0].startswith(f"casesvc: error: {says}"), lines[0]


# -- create ----------------------------------------------------------------------------------


def test_create_prints_the_new_id(run: Run) -> None:
    """create prints only the new case's id, which show then finds in submitted."""
    result = run("create")
    case_id = result.stdout.strip()

    assert (0, "") == (result.exit_code, result.stderr)
    assert re.fullmatch(r"case_[0-9a-f]{24}\n", result.stdout)
    assert "submitted" == shown(run, case_id)["status"]


def test_create_json_is_the_http_representation(run: Run, http: Callable[[str], Any]) -> None:
    """create --json prints only the document POST /cases answers with (GET agrees)."""
    result = run("create", "--json")
    document = json.loads(result.stdout)

    assert (0, "") == (result.exit_code, result.stderr)
    assert http(f"/cases/{document['case_id']}") == document
    assert "2026-03-01T12:00:00.000000+00:00" == document["created_at"]


# -- show ------------------------------------------------------------------------------------


@pytest.mark.parametrize("seconds", [0, 9.5, 10, 29, 30, 3600])
def test_show_json_equals_the_http_body(
    run: Run, http: Callable[[str], Any], frozen: FrozenDateTimeFactory, seconds: float
) -> None:
    """show --json equals GET /cases/{id} for the same case at the same frozen instant."""
    case_id = created(run)
    frozen.tick(seconds)

    assert http(f"/cases/{case_id}") == shown(run, case_id)


def test_show_reads_well_while_submitted(run: Run) -> None:
    """Before processing, show gives status, age, next stage, procedure and codes."""
    case_id = created(run)
    determination = Catalog.load(Config().assets_dir).pick(case_id)

    out = run("show", case_id).stdout

    assert out.startswith(f"{case_id}\n  client          default\n  status          submitted\n")
    assert "  age             0 s of the 30 s review\n" in out
    assert "  next stage      processing in 10 s\n" in out
    assert f"  procedure       {determination.procedure_name}\n" in out
    assert f"  CPT codes       {', '.join(determination.cpt_codes)}\n" in out
    assert "  summary         appears once the case is processing\n" in out
    assert "  fast-forwarded  no\n" in out


def test_show_reads_well_once_complete(run: Run, frozen: FrozenDateTimeFactory) -> None:
    """Once complete, show gives the verdict, the summary and every step's decision."""
    case_id = created(run)
    run("advance", case_id, "--by", "15")
    frozen.tick(20)
    determination = Catalog.load(Config().assets_dir).pick(case_id)

    out = run("show", case_id).stdout

    assert "  status          complete\n" in out
    assert "  age             35 s of the 30 s review\n" in out
    assert "  next stage      none: the review is complete\n" in out
    assert "  fast-forwarded  15 s, last at 2026-03-01 12:00:00 UTC\n" in out
    assert f"  criteria met    {'yes' if determination.is_met else 'no'}\n" in out
    assert " ".join(determination.summary.split()[:6]) in out
    assert f"steps ({len(determination.steps)})\n" in out
    for step in determination.steps:
        assert f"decision: {step['decision']} (" in out
        assert f"-> next {step['next_step']}\n" in out


@pytest.mark.parametrize(
    "case_id", [new_case_id(), "nope", "case_" + "G" * 24], ids=["unknown", "nope", "not-hex"]
)
def test_show_an_unknown_case(run: Run, case_id: str) -> None:
    """An unknown or malformed id is one line on stderr and exit code 3, with or without --json."""
    assert_one_line_error(run("show", case_id), EXIT_NOT_FOUND, f"no case has the id {case_id}")
    assert_one_line_error(
        run("show", case_id, "--json"), EXIT_NOT_FOUND, f"no case has the id {case_id}"
    )


# -- list ------------------------------------------------------------------------------------


def test_list_is_an_aligned_table_newest_first(run: Run, frozen: FrozenDateTimeFactory) -> None:
    """list prints a header and one aligned row per case, newest first."""
    older = created(run)
    frozen.tick(40)
    newer = created(run)

    lines = run("list").stdout.splitlines()

    assert 3 == len(lines)
    assert ["ID", "CLIENT", "CREATED", "(UTC)", "STATUS", "AGE"] == lines[0].split()[:6]
    assert [newer, older] == [line.split()[0] for line in lines[1:]]
    assert [
        ["default", "2026-03-01", "12:00:40", "submitted"],
        ["default", "2026-03-01", "12:00:00", "complete"],
    ] == [line.split()[1:5] for line in lines[1:]]
    column = lines[0].index("STATUS")
    assert ["submitted", "complete"] == [line[column:].split()[0] for line in lines[1:]]
    assert "-" == lines[1].split()[-1]
    assert lines[2].split()[-1] in {"yes", "no"}


def test_list_shows_each_age_as_show_does(run: Run, frozen: FrozenDateTimeFactory) -> None:
    """list has an AGE column, in the same words as show."""
    case_id = created(run)
    run("advance", case_id, "--by", "11574d")
    frozen.tick(6414)

    lines = run("list").stdout.splitlines()

    column = lines[0].index("AGE")
    assert "11,574 d 1 h" == lines[1][column:].split("  ")[0]
    assert "  age             11,574 d 1 h of the 30 s review\n" in run("show", case_id).stdout


def test_list_filters_and_limits(run: Run, frozen: FrozenDateTimeFactory) -> None:
    """--status keeps cases in that current status; --limit caps the rows."""
    ids = [created(run) for _ in range(3)]
    run("advance", ids[0], "--to", "processing")

    processing = run("list", "--status", "processing").stdout.splitlines()[1:]
    limited = run("list", "--limit", "2").stdout.splitlines()[1:]

    assert [ids[0]] == [line.split()[0] for line in processing]
    assert 2 == len(limited)


def test_list_json_is_the_basic_view(
    run: Run, http: Callable[[str], Any], frozen: FrozenDateTimeFactory
) -> None:
    """list --json prints only a JSON array, equal to the API's basic list."""
    for _ in range(3):
        created(run)
        frozen.tick(12)
    result = run("list", "--json", "--limit", "2")

    assert (0, "") == (result.exit_code, result.stderr)
    assert http("/cases?page_size=2")["cases"] == json.loads(result.stdout)
    assert "steps" not in json.loads(result.stdout)[0]


def test_list_with_no_cases(run: Run) -> None:
    """With no cases, list says so, and --json prints an empty array."""
    assert "(no cases)" == run("list").stdout.splitlines()[-1]
    assert [] == json.loads(run("list", "--json").stdout)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--status", "done"], "Invalid value for '--status'"),
        (["--limit", "0"], "Invalid value for '--limit'"),
        (["--limit", "many"], "Invalid value for '--limit'"),
    ],
)
def test_list_bad_arguments(run: Run, args: list[str], says: str) -> None:
    """A bad option value is one line on stderr and exit code 2."""
    assert_one_line_error(run("list", *args), EXIT_USAGE, says)


# -- advance ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("by", "status"),
    [(f"{by:g}", status.value) for by, status, _ in BOUNDARIES],
)
def test_advance_by_across_each_boundary(
    run: Run, http: Callable[[str], Any], by: str, status: str
) -> None:
    """--by SECONDS puts the case where that age belongs, as the API sees it, created_at kept."""
    case_id = created(run)
    before = shown(run, case_id)

    result = run("advance", case_id, "--by", by)
    after = http(f"/cases/{case_id}")

    assert (0, "") == (result.exit_code, result.stderr)
    assert result.stdout.startswith(f"{case_id}  {status}")
    assert (status, before["created_at"]) == (after["status"], after["created_at"])


@pytest.mark.parametrize(
    ("by", "says"),
    [
        ("90", "age 1 min 30 s  (fast-forwarded 1 min 30 s in all)"),
        ("90s", "age 1 min 30 s  (fast-forwarded 1 min 30 s in all)"),
        ("1.5m", "age 1 min 30 s  (fast-forwarded 1 min 30 s in all)"),
        ("5m", "age 5 min 00 s  (fast-forwarded 5 min 00 s in all)"),
        ("2h", "age 2 h 00 min  (fast-forwarded 2 h 00 min in all)"),
        ("7261", "age 2 h 01 min  (fast-forwarded 2 h 01 min in all)"),
        ("1d", "age 1 d 0 h  (fast-forwarded 1 d 0 h in all)"),
        ("1000000000", "age 11,574 d 1 h  (fast-forwarded 11,574 d 1 h in all)"),
    ],
)
def test_advance_by_takes_units_and_prints_durations_in_words(
    run: Run, by: str, says: str
) -> None:
    """--by takes seconds or a unit (s, m, h, d); advance prints spans as the web UI does."""
    case_id = created(run)

    result = run("advance", case_id, "--by", by)

    assert (0, f"{case_id}  complete    {says}\n") == (result.exit_code, result.stdout)


@pytest.mark.parametrize(
    ("elapsed", "to", "age"),
    [
        (0, "processing", "10 s"),
        (3, "processing", "10 s"),
        (0, "complete", "30 s"),
        (12, "complete", "30 s"),
    ],
)
def test_advance_to_moves_just_far_enough(
    run: Run,
    http: Callable[[str], Any],
    frozen: FrozenDateTimeFactory,
    elapsed: float,
    to: str,
    age: str,
) -> None:
    """--to STAGE leaves the case at exactly that stage's start, as the API sees it."""
    case_id = created(run)
    frozen.tick(elapsed)

    result = run("advance", case_id, "--to", to)

    assert 0 == result.exit_code
    assert f"{case_id}  {to:<10}  age {age}" == result.stdout.split("  (")[0]
    assert to == http(f"/cases/{case_id}")["status"]
    frozen.tick(0.5)
    assert f"  age             {age} of the 30 s review\n" in run("show", case_id).stdout


@pytest.mark.parametrize(("elapsed", "to"), [(15, "processing"), (40, "complete")])
def test_advance_to_the_current_stage_is_a_no_op(
    run: Run, frozen: FrozenDateTimeFactory, elapsed: float, to: str
) -> None:
    """--to the stage the case is in succeeds and moves nothing."""
    case_id = created(run)
    frozen.tick(elapsed)

    result = run("advance", case_id, "--to", to)

    assert (0, f"{case_id}  {to}") == (
        result.exit_code,
        result.stdout[: len(case_id) + 2 + len(to)],
    )
    assert "fast-forwarded 0 s in all" in result.stdout
    assert "  fast-forwarded  no\n" in run("show", case_id).stdout


@pytest.mark.parametrize(
    ("elapsed", "args", "says"),
    [
        (40, ["--to", "processing"], "{id} is already complete; a case cannot move back"),
        (0, ["--by", "-5"], "a case cannot move backwards (asked to move it by -5 s)"),
        (0, ["--by", "-0.001"], "a case cannot move backwards"),
    ],
)
def test_moving_backwards_is_refused(
    run: Run,
    frozen: FrozenDateTimeFactory,
    elapsed: float,
    args: list[str],
    says: str,
) -> None:
    """A case never moves backwards: a clear line on stderr, exit code 2, nothing changed."""
    case_id = created(run)
    frozen.tick(elapsed)
    before = shown(run, case_id)

    assert_one_line_error(run("advance", case_id, *args), EXIT_USAGE, says.format(id=case_id))
    assert before == shown(run, case_id)
    assert "  fast-forwarded  no\n" in run("show", case_id).stdout


def test_advance_all(run: Run, http: Callable[[str], Any], frozen: FrozenDateTimeFactory) -> None:
    """--all --by moves every case, newest first, and says how many."""
    older = created(run)
    frozen.tick(25)
    newer = created(run)

    result = run("advance", "--all", "--by", "10")

    assert 0 == result.exit_code
    assert [f"{newer}  processing", f"{older}  complete", "2 case(s) advanced"] == [
        line[: len(older) + 12].rstrip() if line.startswith("case_") else line
        for line in result.stdout.splitlines()
    ]
    assert ["processing", "complete"] == [c["status"] for c in http("/cases")["cases"]]


def test_advance_all_with_no_cases(run: Run) -> None:
    """--all on an empty database succeeds and says none moved."""
    assert (0, "0 case(s) advanced\n") == (
        run("advance", "--all", "--by", "5").exit_code,
        run("advance", "--all", "--by", "5").stdout,
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["{id}"], "give exactly one of --by DURATION and --to STAGE"),
        (["{id}", "--by", "5", "--to", "complete"], "give exactly one of --by"),
        (["--by", "5"], "give either a CASE_ID or --all"),
        (["{id}", "--all", "--by", "5"], "give either a CASE_ID or --all"),
        (["--all", "--to", "complete"], "--all works with --by only"),
        (["{id}", "--to", "done"], "Invalid value for '--to'"),
        (
            ["{id}", "--to", "submitted"],
            "Invalid value for '--to': 'submitted' is not one of 'processing', 'complete'.",
        ),
        (["{id}", "--by", "soon"], "Invalid value for '--by'"),
        (["{id}", "--by", "nan"], "Invalid value for '--by': must be a finite number"),
        (["{id}", "--by", "inf"], "Invalid value for '--by': must be a finite number"),
        (["{id}", "--by", "1e300"], "Invalid value for '--by': '1e300' is too large"),
        (["{id}", "--by", "99999999999d"], "Invalid value for '--by': '99999999999d' is too"),
    ],
)
def test_advance_bad_arguments(run: Run, args: list[str], says: str) -> None:
    """Bad or conflicting arguments are one line on stderr and exit code 2."""
    case_id = created(run)

    result = run("advance", *[a.format(id=case_id) for a in args])

    assert_one_line_error(result, EXIT_USAGE, says)


def test_advance_an_unknown_case(run: Run) -> None:
    """Advancing an unknown id is exit code 3."""
    case_id = new_case_id()

    assert_one_line_error(
        run("advance", case_id, "--by", "5"), EXIT_NOT_FOUND, f"no case has the id {case_id}"
    )


def test_advance_far_beyond_the_calendar_is_refused(run: Run) -> None:
    """A shift the calendar cannot hold is refused, not a traceback."""
    case_id = created(run)

    assert_one_line_error(
        run("advance", case_id, "--by", "1e13"), EXIT_USAGE, f"cannot fast-forward {case_id}"
    )


# -- watch -----------------------------------------------------------------------------------


@pytest.fixture
def ticking(monkeypatch: pytest.MonkeyPatch, frozen: FrozenDateTimeFactory) -> list[float]:
    """watch's pauses move frozen time instead of sleeping; returns the pauses taken."""
    pauses: list[float] = []

    def pause(seconds: float) -> None:
        pauses.append(seconds)
        frozen.tick(seconds)

    monkeypatch.setattr(cli, "pause", pause)
    return pauses


def test_watch_follows_a_case_to_complete(run: Run, ticking: list[float]) -> None:
    """watch prints one line per status change and ends with exit 0 at complete."""
    case_id = created(run)

    result = run("watch", case_id)
    lines = result.stdout.splitlines()

    assert (0, "") == (result.exit_code, result.stderr)
    assert f"watching {case_id}" == lines[0]
    assert [
        "12:00:00  submitted   at 0 s  waiting for review",
        "12:00:10  processing  at 10 s  summary ready",
    ] == lines[1:3]
    assert re.fullmatch(r"12:00:30  complete    at 30 s  criteria (not )?met", lines[3])
    assert 4 == len(lines)
    assert 60 == len(ticking)  # every 0.5 s for the 30 s


def test_watch_sees_a_jump(run: Run, ticking: list[float]) -> None:
    """A case that moves on between reads prints each stage it is seen in."""
    case_id = created(run)

    result = run("watch", case_id, "--interval", "35")

    assert 0 == result.exit_code
    assert ["submitted", "complete"] == [
        line.split()[1] for line in result.stdout.splitlines()[1:]
    ]


def test_watch_a_complete_case_ends_at_once(
    run: Run, ticking: list[float], frozen: FrozenDateTimeFactory
) -> None:
    """A case already complete prints one line and exits 0 without waiting."""
    case_id = created(run)
    frozen.tick(90)

    result = run("watch", case_id)

    assert (0, [], "complete") == (
        result.exit_code,
        ticking,
        result.stdout.splitlines()[1].split()[1],
    )


def test_watch_ctrl_c_ends_cleanly(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C during watch prints one line on stderr and exits 130, no traceback."""
    case_id = created(run)

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "pause", interrupted)
    result = run("watch", case_id)

    assert EXIT_INTERRUPTED == result.exit_code
    assert f"casesvc: stopped watching {case_id} (submitted)\n" == result.stderr
    assert "Traceback" not in result.output


def test_watch_ctrl_c_before_the_first_read_ends_cleanly(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while watch reads the case for the first time exits 130 with one line on
    stderr, though no status was seen yet (it was an IndexError, exit 1)."""
    case_id = created(run)

    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(CaseService, "get", interrupted)
    result = run("watch", case_id)

    assert (EXIT_INTERRUPTED, "") == (result.exit_code, result.stdout)
    assert f"casesvc: stopped watching {case_id} (not read yet)\n" == result.stderr


def test_watch_an_unknown_case(run: Run) -> None:
    """watch on an unknown id is exit code 3."""
    case_id = new_case_id()

    assert_one_line_error(run("watch", case_id), EXIT_NOT_FOUND, f"no case has the id {case_id}")


# -- errors shared by every command ----------------------------------------------------------

CASE_COMMANDS = [
    ["create"],
    ["create", "--json"],
    ["show", new_case_id()],
    ["show", new_case_id(), "--json"],
    ["list"],
    ["list", "--json"],
    ["advance", new_case_id(), "--by", "5"],
    ["advance", "--all", "--by", "5"],
    ["watch", new_case_id()],
]


@pytest.mark.parametrize("args", CASE_COMMANDS)
def test_an_unmigrated_database_names_the_fix(
    empty_database_url: str, frozen: FrozenDateTimeFactory, args: list[str]
) -> None:
    """An un-migrated database is one line naming `casesvc db upgrade`, exit code 1."""
    create_empty_sqlite_file(empty_database_url)
    result = invoke(empty_database_url, *args)

    migrations = len(list(MIGRATIONS_DIR.glob("[0-9]*.py")))
    assert_one_line_error(result, EXIT_ERROR, f"the database is {migrations} migration(s) behind")
    assert "run `casesvc db upgrade` first" in result.stderr


def create_empty_sqlite_file(url: str) -> None:
    """An empty file is an empty SQLite database (on PostgreSQL, nothing to do)."""
    location = database_url.parse(url)
    if location.path is not None:
        location.path.touch()


@pytest.mark.parametrize("args", [*CASE_COMMANDS, ["db", "status"]])
def test_a_missing_sqlite_file_names_its_path_and_is_not_created(
    tmp_path: Path, args: list[str]
) -> None:
    """A command on a SQLite file that does not exist is one line naming the file and
    `casesvc db upgrade`, exit 1, and leaves no empty file behind (it did: issue 22)."""
    path = tmp_path / "nowhere" / "cases.db"
    result = invoke(f"sqlite:///{path}", *args)

    (line,) = result.stderr.splitlines()
    assert (EXIT_ERROR, "") == (result.exit_code, result.stdout)
    assert f"no SQLite database at {path}; create it with `casesvc db upgrade`" in line
    assert not path.exists() and not path.parent.exists()


@pytest.mark.parametrize("args", CASE_COMMANDS)
def test_an_unreachable_database_is_one_line(tmp_path: Any, args: list[str]) -> None:
    """A database that can't be opened is one line on stderr and exit code 1."""
    (tmp_path / "dir.db").mkdir()

    result = invoke(f"sqlite:///{tmp_path / 'dir.db'}", *args)

    assert_one_line_error(result, EXIT_ERROR, f"cannot open the database at {tmp_path / 'dir.db'}")


def test_a_database_error_mid_command_is_one_line(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database failure during a command is one line on stderr and exit code 1."""

    def broken(*args: Any, **kwargs: Any) -> None:
        raise peewee.OperationalError("disk I/O error")

    monkeypatch.setattr(CaseService, "create", broken)

    assert_one_line_error(run("create"), EXIT_ERROR, "database error: disk I/O error")


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_and_version(command: str) -> None:
    """--help and --version work on every command."""
    helped = CliRunner().invoke(main, [*command.split(), "--help"])
    versioned = CliRunner().invoke(main, [*command.split(), "--version"])

    assert (0, "Usage: casesvc ") == (helped.exit_code, helped.stdout[:15])
    expected = f"casesvc, version {version('casesvc')}\n"
    assert (0, expected) == (versioned.exit_code, versioned.stdout)


def test_help_documents_the_exit_codes() -> None:
    """The top-level help lists every exit code."""
    help_text = CliRunner().invoke(main, ["--help"]).stdout

    for line in ["0    success", "2    usage error", "3    case not found", "130  interrupted"]:
        assert line in help_text


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["show"], "Missing argument 'CASE_ID'"),
        (["watch"], "Missing argument 'CASE_ID'"),
        (["frobnicate"], "No such command 'frobnicate'"),
        (["create", "--jsn"], "No such option '--jsn'. Did you mean '--json'?"),
        (["watch", "x", "--interval", "0"], "Invalid value for '--interval'"),
    ],
)
def test_usage_errors_are_one_line(args: list[str], says: str) -> None:
    """Click's own usage errors are one line on stderr, with a pointer to --help, exit 2."""
    result = CliRunner().invoke(main, args)

    assert_one_line_error(result, EXIT_USAGE, says)
    assert "--help')" in result.stderr


# -- db status, db upgrade and the global options -------------------------------------------


def test_db_status_then_upgrade(empty_database_url: str) -> None:
    """status shows pending migrations (exit 1), upgrade applies them, status is then clean."""
    create_empty_sqlite_file(empty_database_url)
    before = invoke(empty_database_url, "db", "status")
    upgrade = invoke(empty_database_url, "db", "upgrade")
    after = invoke(empty_database_url, "db", "status")
    again = invoke(empty_database_url, "db", "upgrade")

    assert (EXIT_ERROR, "0001_create_cases") == (before.exit_code, before.output.split()[0])
    assert "pending" in before.output
    assert (0, "applied 0001_create_cases") == (upgrade.exit_code, upgrade.output.splitlines()[0])
    assert (0, "database is up to date") == (after.exit_code, after.output.splitlines()[-1])
    assert "database is up to date\n" == again.output


def test_db_status_of_an_unreachable_database_is_one_line(tmp_path: Any) -> None:
    """A database that can't be opened gives one line on stderr and exit 1, no traceback."""
    (tmp_path / "dir.db").mkdir()
    result = invoke(f"sqlite:///{tmp_path}/dir.db", "db", "status")

    assert_one_line_error(result, EXIT_ERROR, "cannot read the database")


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mysql://nope", "DATABASE_URL must start with sqlite:/// or postgresql://"),
        ("sqlite://relative.db", "DATABASE_URL for SQLite takes three slashes"),
        ("sqlite:relative.db", "DATABASE_URL for SQLite takes three slashes"),
        ("sqlite:///cases.db?mode=ro", "DATABASE_URL for SQLite takes three slashes"),
        ("sqlite:///", "DATABASE_URL must name a SQLite file"),
        ("sqlite:///:memory:", "DATABASE_URL must name a SQLite file"),
        ("sqlite:///some/dir/", "DATABASE_URL must name a SQLite file"),
        ("postgresql://db.example", "DATABASE_URL for PostgreSQL"),
        ("postgresql:///casesvc", "DATABASE_URL for PostgreSQL"),
        ("postgresql://u:hunter2@db.example:x/casesvc", "DATABASE_URL is not a URL"),
    ],
)
def test_a_database_url_of_an_unknown_form_is_one_line(url: str, says: str) -> None:
    """A URL casesvc cannot read is refused before anything runs, in one line, exit 2, and
    never read some other way (`sqlite://relative.db` used a file named `elative.db`)."""
    result = invoke(url, "db", "status")

    assert_one_line_error(result, EXIT_USAGE, says)
    assert "hunter2" not in result.stderr


def test_version_and_help() -> None:
    """--version prints the version; --help documents the exit codes."""
    expected = f"casesvc, version {version('casesvc')}\n"
    assert expected == CliRunner().invoke(main, ["--version"]).output
    help_text = CliRunner().invoke(main, ["--help"]).output
    assert "3    case not found" in help_text
    assert EXIT_USAGE == CliRunner().invoke(main, ["serve", "--port", "0"]).exit_code


def test_database_url_goes_before_or_after_the_command(database_url: str) -> None:
    """--database-url works before the command and after it, with the same result."""
    created = CliRunner().invoke(main, ["create", "--database-url", database_url])
    case_id = created.stdout.strip()
    before = CliRunner().invoke(main, ["--database-url", database_url, "show", case_id, "--json"])
    after = CliRunner().invoke(main, ["show", case_id, "--json", "--database-url", database_url])

    assert (0, 0, 0) == (created.exit_code, before.exit_code, after.exit_code)
    assert before.stdout == after.stdout
