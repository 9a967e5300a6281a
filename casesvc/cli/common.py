"""The plumbing of the ``casesvc`` command (casesvc/cli/__init__.py holds the case
commands): exit codes, errors as one line, what one run shares between commands, and the
options many of them take."""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Callable, Iterator
from importlib.metadata import version
from typing import Any, NoReturn, TypeVar

import click
import peewee

from casesvc.bootstrap import build_service, load_plugins, prepare_database
from casesvc.config import CLIENT_NAME_PATTERN, Config, ConfigError
from casesvc.db import DatabaseUnavailable, SchemaBehind, close_all
from casesvc.determinations import BadSample, Catalog, UnknownSample
from casesvc.lifecycle import Lifecycle, UnknownLifecycle
from casesvc.service import CannotAdvance, CaseNotFound, CaseService, InvalidIdempotencyKey

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_INTERRUPTED = 130

VERSION = version("casesvc")

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """One clear line on stderr, then exit with ``code``."""
    click.echo(f"casesvc: error: {message}", err=True)
    sys.exit(code)


class Invocation:
    """What one run of ``casesvc`` shares between its commands: the database URL given,
    the config read with it (and the lifecycle and samples it names, loaded once), and the
    service once one is needed."""

    def __init__(self, database_url: str | None) -> None:
        self.database_url = database_url  # a command's own --database-url may replace it

    @functools.cached_property
    def loaded(self) -> tuple[Config, Lifecycle, Catalog]:
        """The config, and the lifecycle and samples it names: read once, on first use; a
        bad one stops every command (one line, exit 2)."""
        overrides: dict[str, Any] = {}
        if self.database_url:
            overrides["database_url"] = self.database_url
        try:
            config = Config.from_env(**overrides)
            return (config, *load_plugins(config))
        except (ConfigError, BadSample, UnknownLifecycle, ValueError) as exc:
            fail(str(exc), EXIT_USAGE)

    @property
    def config(self) -> Config:
        return self.loaded[0]

    @property
    def lifecycle(self) -> Lifecycle:
        return self.loaded[1]

    @property
    def catalog(self) -> Catalog:
        return self.loaded[2]

    @contextlib.contextmanager
    def service(self) -> Iterator[CaseService]:
        """The case service on an open connection; its errors become one line and an exit code."""
        try:
            prepare_database(self.config)
            service = build_service(self.config, lifecycle=self.lifecycle, catalog=self.catalog)
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
        except UnknownSample as exc:
            fail(str(exc.args[0]), EXIT_USAGE)
        except peewee.PeeweeException as exc:
            fail(f"database error: {exc}")
        finally:
            close_all(service.database)  # give the connections back to the server at once


pass_invocation = click.make_pass_decorator(Invocation)


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


def database_url_option(f: F) -> F:
    """``--database-url`` after the command too (``casesvc show ID --database-url URL``)."""

    def remember(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
        if value:
            ctx.ensure_object(Invocation).database_url = value

    return click.option(
        "--database-url",
        metavar="URL",
        expose_value=False,
        callback=remember,
        help="Database to use (overrides DATABASE_URL).",
    )(f)


def json_option(f: F) -> F:
    return click.option(
        "--json", "as_json", is_flag=True, help="Print only JSON, as the HTTP API sends it."
    )(f)


def client_option(help_text: str, **kwargs: Any) -> Callable[[F], F]:
    """``--client NAME``: an API client, by the name CASESVC_API_TOKENS gives it."""

    def check(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
        if value is not None and not CLIENT_NAME_PATTERN.fullmatch(value):
            raise click.BadParameter("a client name is 1 to 64 of A-Z a-z 0-9 . _ -")
        return value

    return click.option("--client", metavar="NAME", callback=check, help=help_text, **kwargs)
