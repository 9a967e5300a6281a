import pytest

from casesvc.config import DEFAULT_DATABASE_URL, Config, ConfigError
from tests.tokens import SECRET_KEY, TOKEN_A, TOKEN_B

TOKEN = TOKEN_A
OTHER_TOKEN = TOKEN_B
ORIGIN = "https://ops.example.org"


def test_defaults_use_the_embedded_database() -> None:
    """With no environment, casesvc uses the embedded SQLite file and migrates it itself."""
    config = Config.from_env({})

    assert (DEFAULT_DATABASE_URL, True, 10.0, 30.0) == (
        config.database_url,
        config.auto_upgrade,
        config.processing_after,
        config.complete_after,
    )


def test_environment_is_read() -> None:
    """DATABASE_URL and the thresholds come from the environment; another database is not
    auto-migrated."""
    config = Config.from_env(
        {
            "DATABASE_URL": "sqlite:////tmp/x.db",
            "CASESVC_PROCESSING_AFTER": "2.5",
            "CASESVC_COMPLETE_AFTER": "7",
        }
    )

    assert ("sqlite:////tmp/x.db", False, 2.5, 7.0) == (
        config.database_url,
        config.auto_upgrade,
        config.processing_after,
        config.complete_after,
    )


@pytest.mark.parametrize(
    "env",
    [
        {"CASESVC_PROCESSING_AFTER": "soon"},
        {"CASESVC_PROCESSING_AFTER": "nan"},
        {"CASESVC_PROCESSING_AFTER": "40"},
        {"CASESVC_COMPLETE_AFTER": "-1"},
    ],
)
def test_bad_thresholds_are_refused(env: dict[str, str]) -> None:
    """Thresholds that aren't finite, positive and in order are a configuration error."""
    with pytest.raises(ConfigError):
        Config.from_env(env)


# -- CORS origins and bearer tokens (the app's side is in tests/http/test_security.py) ---------


def test_cors_origins_come_from_the_environment() -> None:
    """CASESVC_CORS_ORIGINS is a comma-separated list; a trailing slash is dropped."""
    config = Config.from_env({"CASESVC_CORS_ORIGINS": f" {ORIGIN}/ , http://127.0.0.1:5173 ,"})

    assert (ORIGIN, "http://127.0.0.1:5173") == config.cors_origins
    assert () == Config.from_env({}).cors_origins


@pytest.mark.parametrize(
    "origins",
    ["*", "https://*.example.org", "https://ops.example.org/app", "ops.example.org",
     "ftp://ops.example.org", "https://user:pw@ops.example.org", "https://ops.example.org?x",
     "https://ops.example.org:99999",
     # Patterns (issue 22: each was accepted, and read as a regular expression).
     "https://(good|evil).example", "https://good\\.example", "https://good.example$",
     "https://good.ex?mple", "https://[good].example", "https://[::1", "https://[::g]:8443",
     "https://-good.example", "https://good..example", "https://300.1.1.1", "https://x.example:0"],
)  # fmt: skip
def test_bad_cors_origins_are_refused(origins: str) -> None:
    """A wildcard, a path or anything but scheme://host[:port] is a configuration error."""
    with pytest.raises(ConfigError, match="CASESVC_CORS_ORIGINS"):
        Config.from_env({"CASESVC_CORS_ORIGINS": origins})


def test_tokens_come_from_the_environment_and_never_show() -> None:
    """CASESVC_API_TOKENS is comma-separated; the config's repr never shows a token."""
    env = {"CASESVC_API_TOKENS": f"{TOKEN}, {OTHER_TOKEN},", "CASESVC_SECRET_KEY": SECRET_KEY}
    config = Config.from_env(env)

    assert (TOKEN, OTHER_TOKEN) == config.api_tokens
    assert TOKEN not in repr(config)
    assert () == Config.from_env({}).api_tokens


def test_the_connection_budget_comes_from_the_environment() -> None:
    """CASESVC_DB_CONNECTIONS is the node's budget; each of its workers pools its share, at
    least one; by default 16, so that four nodes fit PostgreSQL's 100 connections."""
    assert 16 == Config().pool_size
    assert 16 * 4 < 100
    assert 40 == Config.from_env({"CASESVC_DB_CONNECTIONS": "40"}).db_connections
    assert (4, 10, 1) == (
        Config(workers=4).pool_size,
        Config(db_connections=40, workers=4).pool_size,
        Config(db_connections=3, workers=8).pool_size,
    )


@pytest.mark.parametrize("raw", ["0", "many", "-4", "2.5"])
def test_a_bad_connection_budget_is_refused(raw: str) -> None:
    """A budget that is not a whole number of one or more stops start-up, naming the variable."""
    with pytest.raises(ConfigError, match="CASESVC_DB_CONNECTIONS"):
        Config.from_env({"CASESVC_DB_CONNECTIONS": raw})


def test_an_ipv6_origin_is_accepted() -> None:
    """A bracketed IPv6 literal is an origin like any other."""
    assert ("https://[::1]:8443",) == Config.from_env(
        {"CASESVC_CORS_ORIGINS": "https://[::1]:8443"}
    ).cors_origins
