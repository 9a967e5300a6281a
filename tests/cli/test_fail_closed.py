"""Hostile configurations: each is refused at start-up with one line and a non-zero exit."""

from __future__ import annotations

import re
from typing import Any

import pytest
from click.testing import CliRunner, Result

from casesvc.cli import EXIT_USAGE, main, operator
from casesvc.config import DEV_SECRET_KEY, Config, ConfigError
from tests.tokens import SECRET_KEY, TOKEN_A, TOKEN_B

GOOD = {"CASESVC_SECRET_KEY": SECRET_KEY}


@pytest.mark.parametrize("tokens", ["", " ", ",", " , ", ",,", "clinic-a:", ":"])
def test_a_tokens_variable_with_no_token_is_refused(tokens: str) -> None:
    """CASESVC_API_TOKENS set but yielding no token never means "no authentication"."""
    with pytest.raises(ConfigError, match="CASESVC_API_TOKENS"):
        Config.from_env({**GOOD, "CASESVC_API_TOKENS": tokens})


@pytest.mark.parametrize(
    "token",
    [
        "aaaaaaaaaaaaaaaa",  # 16 characters: the old minimum
        TOKEN_A[:31],  # one short of 32
        TOKEN_A[:31] + ".",  # 32, but not the URL-safe alphabet
        TOKEN_A[:31] + "~",
        TOKEN_A[:31] + "+",
        TOKEN_A[:31] + "/",
        TOKEN_A[:31] + "=",
        "tök_" + TOKEN_A,
    ],
)
def test_a_token_under_128_bits_is_refused(token: str) -> None:
    """A token needs 32 or more characters of A-Z a-z 0-9 - _ (over 128 bits)."""
    for entry in (token, f"clinic-a:{token}"):
        with pytest.raises(ConfigError, match="32"):
            Config.from_env({**GOOD, "CASESVC_API_TOKENS": entry})


@pytest.mark.parametrize(
    "entries",
    [
        f"clinic a:{TOKEN_A}",  # a client name is a slug
        f"-a:{TOKEN_A}",
        f"{'x' * 65}:{TOKEN_A}",
        f"clinic-a:{TOKEN_A},clinic-b:{TOKEN_A}",  # one token, two clients
        f"clinic-a:{TOKEN_A},{TOKEN_A}",
    ],
)
def test_bad_client_names_and_shared_tokens_are_refused(entries: str) -> None:
    """Client names are slugs, and a token names exactly one client."""
    with pytest.raises(ConfigError, match="CASESVC_API_TOKENS"):
        Config.from_env({**GOOD, "CASESVC_API_TOKENS": entries})


def test_named_clients_come_from_the_environment() -> None:
    """name:token pairs name their client; a bare token is the default client."""
    config = Config.from_env({**GOOD, "CASESVC_API_TOKENS": f"clinic-a:{TOKEN_A}, {TOKEN_B}"})

    assert {TOKEN_A: "clinic-a", TOKEN_B: "default"} == config.token_clients()
    assert TOKEN_A not in repr(config) and TOKEN_B not in repr(config)


@pytest.mark.parametrize(
    ("key", "says"),
    [
        ("x", "32 characters"),
        (" ", "32 characters"),
        ("k" * 31, "32 characters"),
        (" " * 40, "32 characters"),
        (TOKEN_A, "one of the API tokens"),
        (f" {TOKEN_B} ", "one of the API tokens"),
        (DEV_SECRET_KEY + " ", "development key"),
        (f"\t{DEV_SECRET_KEY}", "development key"),
    ],
)
def test_weak_secret_keys_are_refused_with_tokens_on(key: str, says: str) -> None:
    """With tokens on, the key that signs page tokens must be 32 characters or more, not
    white space, not an API token and not the development key, however padded (each was
    accepted: issue 22); the refusal says how to make one."""
    env = {"CASESVC_API_TOKENS": f"clinic-a:{TOKEN_A},{TOKEN_B}", "CASESVC_SECRET_KEY": key}
    with pytest.raises(ConfigError, match=says) as refused:
        Config.from_env(env)
    assert "casesvc token new" in str(refused.value)
    assert Config.from_env({**env, "CASESVC_SECRET_KEY": "k" * 32}).api_tokens


def test_tokens_with_the_development_secret_key_are_refused() -> None:
    """Tokens on with the built-in development secret key is refused."""
    with pytest.raises(ConfigError, match="CASESVC_SECRET_KEY"):
        Config.from_env({"CASESVC_API_TOKENS": TOKEN_A})
    with pytest.raises(ConfigError, match="CASESVC_SECRET_KEY"):
        Config(api_tokens=(TOKEN_A,))


# -- the command line ---------------------------------------------------------------------


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def assert_one_line_refusal(result: Result, says: str) -> None:
    assert EXIT_USAGE == result.exit_code, result.output
    assert [] == [line for line in result.stdout.splitlines() if line]
    (line,) = result.stderr.splitlines()
    assert line.startswith("casesvc: error: ") and says in line


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"CASESVC_API_TOKENS": ","}, "CASESVC_API_TOKENS"),
        ({"CASESVC_API_TOKENS": "aaaaaaaaaaaaaaaa", **GOOD}, "32"),
        ({"CASESVC_API_TOKENS": TOKEN_A}, "CASESVC_SECRET_KEY"),
    ],
)
def test_serve_refuses_a_hostile_configuration(
    env: dict[str, str], says: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """casesvc serve with a refused configuration exits 2 with one line, serving nothing."""
    started: list[Any] = []
    monkeypatch.setattr(operator, "run_server", lambda *a, **k: started.append(a))

    assert_one_line_refusal(run(env, "serve"), says)
    assert [] == started


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10"])
def test_serve_off_loopback_needs_tokens(
    host: str, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """serve on a non-loopback address without tokens is refused, unless --allow-anonymous
    or CASESVC_ALLOW_ANONYMOUS=1 says so; with tokens it serves."""
    started: list[str] = []
    monkeypatch.setattr(operator, "run_server", lambda *a, **k: started.append(k["host"]))
    monkeypatch.setattr(operator, "check_port", lambda host, port: None)
    base = {"DATABASE_URL": database_url}
    tokens = {**base, **GOOD, "CASESVC_API_TOKENS": TOKEN_A}

    assert_one_line_refusal(run(base, "serve", "--host", host), "--allow-anonymous")
    assert [] == started
    assert 0 == run(base, "serve", "--host", host, "--allow-anonymous").exit_code
    assert 0 == run({**base, "CASESVC_ALLOW_ANONYMOUS": "1"}, "serve", "--host", host).exit_code
    assert 0 == run(tokens, "serve", "--host", host).exit_code
    assert [host, host, host] == started


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "localhost"])
def test_serve_on_loopback_needs_no_tokens(
    host: str, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a loopback address, serve runs without tokens, as make run does."""
    started: list[str] = []
    monkeypatch.setattr(operator, "run_server", lambda *a, **k: started.append(k["host"]))
    monkeypatch.setattr(operator, "check_port", lambda host, port: None)

    assert 0 == run({"DATABASE_URL": database_url}, "serve", "--host", host).exit_code
    assert ["127.0.0.1" if host == "localhost" else host] == started


@pytest.mark.parametrize("host", ["casesvc.example.org", "local host", "127.0.0.1:80", ""])
def test_serve_refuses_a_host_that_is_not_an_address(
    host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--host takes an IP address or localhost; anything else (granian crashed on any name,
    localhost included: issue 22) is one line and exit 2, with or without tokens."""
    started: list[Any] = []
    monkeypatch.setattr(operator, "run_server", lambda *a, **k: started.append(a))

    assert_one_line_refusal(run({}, "serve", "--host", host), "--host must be an IP address")
    assert_one_line_refusal(
        run({**GOOD, "CASESVC_API_TOKENS": TOKEN_A}, "serve", "--host", host), "--host"
    )
    assert [] == started


def test_token_new_makes_an_accepted_token() -> None:
    """casesvc token new prints a fresh 43-character token, ready for CASESVC_API_TOKENS."""
    made = [run({}, "token", "new").stdout.strip() for _ in range(2)]
    named = run({}, "token", "new", "--client", "clinic-a").stdout.strip()

    assert made[0] != made[1]
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{43}", token) for token in made)
    assert re.fullmatch(r"clinic-a:[A-Za-z0-9_-]{43}", named)
    config = Config.from_env({**GOOD, "CASESVC_API_TOKENS": f"{made[0]},{named}"})
    assert {made[0]: "default", named.split(":")[1]: "clinic-a"} == config.token_clients()
