"""The README's console examples, run: what each `casesvc` (and `curl`) command in them prints
must be what the README shows, so the samples cannot drift from the code again (issue 23).

The rules, for every ```console block of README.md and docs/cli.md:

- The blocks of one file are one terminal session, in order, as a reader copying them would
  run them: one fresh migrated database (DATABASE_URL), the clock frozen at T0, shell variables
  kept from block to block. Other fenced blocks (```bash, ```text) are not run, and a `$ `
  prompt outside a console block fails the check (`test_every_transcript_is_checked`).
- A line starting with `$ ` is a command, the lines after it up to the next one its output:
  stdout and stderr together, as a terminal shows them (`watch`'s progress bar included).
- A command is steps joined by `; `, each with an optional trailing `# comment`, and each one
  of: `. FILE` (activating a virtualenv: prints nothing), `casesvc ARGS [| FILTER]`,
  `NAME=$(casesvc ARGS)`, `curl -s http://127.0.0.1:8000/PATH [| FILTER]` (a GET through
  Flask's test client on the same database), or `echo …`. `$NAME` and `$?` expand as in sh,
  and a FILTER (`grep`, `head`) runs in sh on the command's stdout. Anything else fails.
- Each step starts 0.1 s after the one before, as on a real terminal (so `advance --to
  complete` right after `create` has fast-forwarded 29 s, not 30), and `watch` waits by moving
  the clock.
- The n-th case created gets the n-th case id that the outputs show (ids typed in a command
  aside), so ids compare exactly and a case's sample is the one its id picks. Clock times and
  dates compare as their format only; every other character, durations included, compares
  exactly, except `…` in a sample line, which stands for text left out.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import re
import shlex
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from freezegun.api import FrozenDateTimeFactory

import casesvc.cli as cli
from casesvc.bootstrap import build_service
from casesvc.cli import common, main, output
from casesvc.config import Config
from casesvc.service import CaseService, new_case_id

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = ["README.md", "docs/cli.md"]
SERVER = "http://127.0.0.1:8000"
STEP_SECONDS = 0.1  # each step starts this long after the one before
CASE_ID = re.compile(r"case_[0-9a-f]{24}")
FENCE = re.compile(r"^( *)```(\w*)\n(.*?)^\1```$", re.MULTILINE | re.DOTALL)
COMMENT = re.compile(r"\s+#.*$")
CAPTURE = re.compile(r"(\w+)=\$\((casesvc .*)\)")
VARIABLE = re.compile(r"\$(\?|\w+)")
# Only the format of a clock time or a date is compared (ISO 8601 timestamps included).
CLOCK = [
    (re.compile(r"(?<!\d)\d{4}-\d\d-\d\d(?!\d)"), "YYYY-MM-DD"),
    (re.compile(r"(?<!\d)\d\d:\d\d:\d\d(\.\d+)?(?!\d)"), "hh:mm:ss"),
]


@dataclasses.dataclass
class Command:
    line: int  # in its document, 1-based
    text: str  # after `$ `
    output: list[str]


@dataclasses.dataclass
class Shown:
    """What one step put on the terminal and left behind."""

    output: str = ""
    exit_code: int = 0
    variable: tuple[str, str] | None = None


def console_blocks(text: str) -> Iterator[tuple[str, int, str]]:
    """(language, line of the first body line, body) of each fenced block."""
    for match in FENCE.finditer(text):
        indent, language, body = match.groups()
        unindented = re.sub(f"^{indent}", "", body, flags=re.MULTILINE)
        yield language, text.count("\n", 0, match.start(3)) + 1, unindented


def commands(document: str) -> list[Command]:
    """Every command of the document's console blocks, in order, with the output shown."""
    found: list[Command] = []
    text = (ROOT / document).read_text(encoding="utf-8")
    for language, first, body in console_blocks(text):
        if language != "console":
            continue
        for number, line in enumerate(body.splitlines(), start=first):
            if line.startswith("$ "):
                found.append(Command(number, line[2:], []))
            else:
                assert found and found[-1].line >= first, f"{document}:{number}: output first"
                found[-1].output.append(line)
    return found


def ids_shown(found: list[Command]) -> list[str]:
    """The case ids the outputs show, in order of first appearance, none typed in a command."""
    typed = {i for command in found for i in CASE_ID.findall(command.text)}
    shown = [i for command in found for line in command.output for i in CASE_ID.findall(line)]
    return [i for i in dict.fromkeys(shown) if i not in typed]


def screen(text: str) -> list[str]:
    """The lines a terminal shows after printing ``text``: a carriage return goes back to the
    line's start, ``ESC [2K`` blanks the line, other escape sequences (the cursor's) show
    nothing; trailing blanks are dropped."""
    lines: list[str] = []
    line: list[str] = []
    column = 0
    for token in re.findall(r"\x1b\[[0-9;?]*[A-Za-z]|.", text, re.DOTALL):
        if token == "\n":
            lines.append("".join(line).rstrip())
            line, column = [], 0
        elif token == "\r":
            column = 0
        elif token == "\x1b[2K":
            line = [" "] * column
        elif not token.startswith("\x1b"):
            line += [" "] * (column - len(line) + 1)
            line[column] = token
            column += 1
    if line:
        lines.append("".join(line).rstrip())
    return lines


def normal(line: str) -> str:
    for pattern, format_ in CLOCK:
        line = pattern.sub(format_, line)
    return line


def fits(sample: str, actual: str) -> bool:
    """Whether a sample line shows the actual one, `…` standing for any text left out."""
    pattern = ".*".join(re.escape(part) for part in normal(sample).split("…"))
    return re.fullmatch(pattern, normal(actual)) is not None


class Session:
    """One reader's terminal: shell variables, the last exit code, and the steps it can run."""

    def __init__(self, database_url: str, get: Callable[[str], bytes]) -> None:
        self.runner = CliRunner(env={"DATABASE_URL": database_url})
        self.get = get
        self.variables: dict[str, str] = {}
        self.exit_code = 0

    def run(self, command: str, tick: Callable[[], object]) -> list[str]:
        """What the terminal shows for one command line."""
        shown = ""
        for step in COMMENT.sub("", command).split("; "):
            tick()
            result = self.step(step.strip())
            shown += result.output
            self.exit_code = result.exit_code
            if result.variable:
                self.variables[result.variable[0]] = result.variable[1]
        return screen(shown)

    def expand(self, text: str) -> str:
        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            return str(self.exit_code) if name == "?" else self.variables.get(name, "")

        return VARIABLE.sub(value, text)

    def step(self, step: str) -> Shown:
        if step.startswith(". "):
            return Shown()
        if captured := CAPTURE.fullmatch(step):
            name, command = captured.groups()
            result = self.casesvc(self.expand(command), terminal=False)
            return Shown(result.stderr, result.exit_code, (name, result.stdout.rstrip("\n")))
        program, _, filter_ = (part.strip() for part in self.expand(step).partition("|"))
        if program.startswith("casesvc "):
            result = self.casesvc(program, terminal=not filter_)
            if not filter_:
                return Shown(result.output, result.exit_code)
            return piped(result.stdout_bytes, filter_, also=result.stderr)
        if program.startswith(f"curl -s {SERVER}/"):
            body = self.get(program.removeprefix(f"curl -s {SERVER}"))
            return piped(body, filter_) if filter_ else Shown(body.decode())
        if program.split()[0] == "echo" and not filter_:
            return piped(b"", program)
        raise AssertionError(
            f"a console example this test cannot run: {step!r} (show it in a ```bash block, "
            "which is not run, or teach tests/cli/test_readme.py to run it)"
        )

    def casesvc(self, command: str, *, terminal: bool) -> Any:
        args = shlex.split(command)[1:]
        if not terminal:
            return self.runner.invoke(main, args)
        # As on a terminal: watch draws its progress bar only on one.
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(output, "interactive", lambda: True)
            return self.runner.invoke(main, args, color=True)


def piped(data: bytes, filter_: str, also: str = "") -> Shown:
    """``data`` through a shell filter, then whatever went to stderr."""
    done = subprocess.run(["sh", "-c", filter_], input=data, capture_output=True, check=False)
    return Shown(done.stdout.decode() + done.stderr.decode() + also, done.returncode)


@pytest.fixture
def terminal(
    database_url: str,
    make_app: Any,
    frozen: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[[list[Command]], Session]:
    """terminal(commands) -> a reader's terminal for these commands, on a fresh migrated
    database that `make run` serves, with time frozen and the cases to be created given the
    ids the commands' outputs show."""

    def start(found: list[Command]) -> Session:
        ids = itertools.chain(ids_shown(found), iter(new_case_id, None))

        def with_those_ids(config: Config, clock: Any = None, **loaded: Any) -> CaseService:
            built = build_service(config, clock, **loaded)
            return CaseService(
                database=built.database,
                clock=built.clock,
                lifecycle=built.lifecycle,
                catalog=built.catalog,
                secret_key=config.secret_key,
                id_factory=lambda: next(ids),
            )

        monkeypatch.setattr(common, "build_service", with_those_ids)
        monkeypatch.setattr(cli, "pause", frozen.tick)
        server = functools.cache(lambda: make_app().test_client())
        return Session(database_url, lambda path: bytes(server().get(path).get_data()))

    return start


@pytest.mark.parametrize("document", DOCUMENTS)
def test_console_examples_print_what_they_show(
    document: str, terminal: Callable[[list[Command]], Session], frozen: FrozenDateTimeFactory
) -> None:
    """Every command of the document's console blocks prints what the document shows."""
    found = commands(document)
    session = terminal(found)
    for command in found:
        actual = session.run(command.text, lambda: frozen.tick(STEP_SECONDS))
        shown = [
            sample if sample is not None and line is not None and fits(sample, line) else line
            for sample, line in itertools.zip_longest(command.output, actual)
        ]
        assert command.output == shown, f"{document}:{command.line}: $ {command.text}"


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_transcript_is_checked(document: str) -> None:
    """A block with `$ ` prompts is a ```console block, so the test above runs it."""
    text = (ROOT / document).read_text(encoding="utf-8")
    unchecked = [
        f"{document}:{first}"
        for language, first, body in console_blocks(text)
        if language != "console" and re.search(r"^\$ ", body, re.MULTILINE)
    ]
    assert [] == unchecked


def test_the_check_sees_a_changed_line() -> None:
    """Ids and clock times aside, a sample line must be the output line, character for
    character; `…` alone stands for text left out."""
    line = "case_108f735c117b306939efa6fd  complete    age 30 s  (fast-forwarded 29 s in all)"

    assert fits(line, line)
    assert not fits(line.replace("29 s", "30 s"), line)
    assert not fits(line.replace("  age", " age"), line)
    assert fits("12:00:01  processing  at 15 s", "17:26:41  processing  at 15 s")
    assert not fits("12:00:01  processing  at 15 s", "12:00:01  processing  at 16 s")
    assert fits(
        '{"summary":"This review…","is_met":true}', '{"summary":"This review x","is_met":true}'
    )
    assert not fits('{"summary":"This review…","is_met":true}', '{"summary":"x","is_met":true}')
