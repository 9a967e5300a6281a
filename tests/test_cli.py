from importlib.metadata import version

from click.testing import CliRunner

from cli import EXIT_ERROR, EXIT_USAGE, main


def run(database_url: str, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["--database-url", database_url, *args])


def test_db_status_then_upgrade(empty_database_url: str) -> None:
    """status shows pending migrations (exit 1), upgrade applies them, status is then clean."""
    before = run(empty_database_url, "db", "status")
    upgrade = run(empty_database_url, "db", "upgrade")
    after = run(empty_database_url, "db", "status")
    again = run(empty_database_url, "db", "upgrade")

    assert (EXIT_ERROR, "0001_create_cases") == (before.exit_code, before.output.split()[0])
    assert "pending" in before.output
    assert (0, "applied 0001_create_cases") == (upgrade.exit_code, upgrade.output.splitlines()[0])
    assert (0, "database is up to date") == (after.exit_code, after.output.splitlines()[-1])
    assert "database is up to date\n" == again.output


def test_unreachable_database_is_one_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A database that can't be opened gives one line on stderr and exit 1, no traceback."""
    result = run(f"sqlite:///{tmp_path}/missing/dir/../../", "db", "status")

    assert EXIT_ERROR == result.exit_code
    assert "Traceback" not in result.output


def test_unsupported_url_is_a_usage_error() -> None:
    """A URL scheme casesvc can't use is refused before anything runs."""
    result = run("mysql://nope", "db", "status")

    assert EXIT_ERROR == result.exit_code
    assert "unsupported DATABASE_URL scheme" in result.output


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
