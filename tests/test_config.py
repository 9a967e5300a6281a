import pytest

from casesvc.config import DEFAULT_DATABASE_URL, Config, ConfigError


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
