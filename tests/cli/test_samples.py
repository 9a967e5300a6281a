"""`casesvc samples`, `create --sample`, and what a bad samples folder or lifecycle does to
every command: one line naming what is wrong, exit 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from casesvc.cli import EXIT_USAGE, main, operator
from casesvc.config import ASSETS_DIR
from casesvc.determinations import Catalog

SAMPLES = Catalog.load(ASSETS_DIR)


def run(database_url: str, *args: str, **env: str) -> Result:
    return CliRunner().invoke(main, ["--database-url", database_url, *args], env=env)


def test_samples_lists_each_key_with_its_procedure_and_verdict(database_url: str) -> None:
    result = run(database_url, "samples")
    rows = [line.split("  ")[0] for line in result.stdout.splitlines()]

    assert (0, ["KEY", *SAMPLES.keys]) == (result.exit_code, rows)
    for sample in SAMPLES:
        (line,) = [x for x in result.stdout.splitlines() if x.startswith(sample.key)]
        assert sample.procedure_name in line
        assert ("yes" if sample.is_met else "no") in line.split()
        assert line.endswith("configured")


def test_samples_json(database_url: str) -> None:
    listed = json.loads(run(database_url, "samples", "--json").stdout)

    assert [
        {
            "key": s.key,
            "procedure_name": s.procedure_name,
            "is_met": s.is_met,
            "review_seconds": None,
        }
        for s in SAMPLES
    ] == listed


@pytest.mark.parametrize("key", SAMPLES.keys)
def test_create_with_a_sample(database_url: str, key: str) -> None:
    created = json.loads(run(database_url, "create", "--sample", key, "--json").stdout)

    assert SAMPLES[key].procedure_name == created["procedure_name"]


def test_create_with_an_unknown_sample_lists_the_valid_ones(database_url: str) -> None:
    result = run(database_url, "create", "--sample", "hip")

    assert (EXIT_USAGE, "") == (result.exit_code, result.stdout)
    assert (
        f"casesvc: error: no sample is named 'hip'; the samples are: {', '.join(SAMPLES.keys)}\n"
        == result.stderr
    )
    assert "(no cases)" in run(database_url, "list").stdout


def team_samples(folder: Path, broken: dict[str, Any] | None = None) -> Path:
    """A copy of the shipped samples, one of them (the first) changed by ``broken``."""
    folder.mkdir()
    for n, path in enumerate(sorted(ASSETS_DIR.glob("*.json"))):
        data = json.loads(path.read_text())
        if n == 0 and broken is not None:
            for key, value in broken.items():
                if value is None:
                    del data[key]
                else:
                    data[key] = value
        (folder / path.name).write_text(json.dumps(data))
    return folder


BROKEN = [
    ({"summary": None}, "field summary: Missing data for required field"),
    ({"is_met": "perhaps"}, "field is_met: Not a valid boolean"),
    ({"steps": [{"key": 1}]}, "field steps.0."),
    ({"review_seconds": {"processing": 30, "complete": 10}}, "field review_seconds.complete"),
    ({"colour": "blue"}, "field colour: Unknown field"),
]


@pytest.mark.parametrize(("broken", "says"), BROKEN)
@pytest.mark.parametrize("command", [["list"], ["samples"], ["db", "status"], ["serve"]])
def test_a_malformed_sample_stops_every_command_in_one_line(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    broken: dict[str, Any],
    says: str,
    command: list[str],
) -> None:
    """The line names the file and the field; nothing is served."""
    folder = team_samples(tmp_path / "ours", broken)
    first = sorted(folder.glob("*.json"))[0]
    started: list[object] = []
    monkeypatch.setattr(operator, "run_server", lambda *a, **k: started.append(a))
    result = run(database_url, *command, CASESVC_SAMPLES=str(folder))

    assert (EXIT_USAGE, "", []) == (result.exit_code, result.stdout, started)
    assert 1 == len(result.stderr.splitlines()), result.stderr
    assert result.stderr.startswith(f"casesvc: error: {first}: {says}"), result.stderr


def test_a_file_that_is_not_json_is_named(database_url: str, tmp_path: Path) -> None:
    folder = team_samples(tmp_path / "ours")
    (folder / "hip.json").write_text("{not json")
    result = run(database_url, "list", CASESVC_SAMPLES=str(folder))

    assert EXIT_USAGE == result.exit_code
    assert f"casesvc: error: {folder / 'hip.json'}: not JSON (" in result.stderr


def test_a_teams_samples_replace_the_shipped_ones(database_url: str, tmp_path: Path) -> None:
    folder = team_samples(tmp_path / "ours")
    (folder / sorted(folder.glob("*.json"))[0].name).rename(folder / "our-own.json")
    result = run(database_url, "samples", CASESVC_SAMPLES=str(folder))

    assert "our-own" in result.stdout
    assert SAMPLES.keys[0] not in result.stdout


@pytest.mark.parametrize(
    ("spec", "says"),
    [("weekly", "neither timed nor manual"), ("nowhere_at_all:x", "cannot be loaded")],
)
def test_an_unknown_lifecycle_stops_every_command(database_url: str, spec: str, says: str) -> None:
    result = run(database_url, "list", CASESVC_LIFECYCLE=spec)

    assert (EXIT_USAGE, 1) == (result.exit_code, len(result.stderr.splitlines()))
    assert says in result.stderr
