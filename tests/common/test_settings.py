"""One settings object for every `IEC_*` variable, validated at the edge."""

from __future__ import annotations

from pathlib import Path

import pytest

from iec_pipeline.common.settings import Settings, SettingsError, absolute_sqlite_url

pytestmark = pytest.mark.fast


def test_defaults_pin_relative_paths_to_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({})
    assert settings.database_url == f"sqlite:///{tmp_path / '.iec' / 'iec.db'}"
    assert settings.integrations_file == tmp_path / "integrations.yaml"
    assert settings.dagster_home == tmp_path / ".iec" / "dagster_home"
    assert settings.media_dir == tmp_path / ".iec" / "media"
    assert Settings.from_env({"IEC_MEDIA_DIR": "media"}).media_dir == tmp_path / "media"
    assert (settings.deployment, settings.drops_quiet_seconds, settings.drops_max_delay_seconds) == ("local", 1.0, 5.0)


def test_values_come_from_their_variables():
    settings = Settings.from_env(
        {"IEC_DATABASE_URL": "postgresql+psycopg://u:p@db/iec", "IEC_DEPLOYMENT": "test",
         "IEC_DROPS_QUIET_SECONDS": "0.2", "IEC_INTEGRATIONS": "/etc/iec/integrations.yaml"}
    )  # fmt: skip
    assert settings.database_url == "postgresql+psycopg://u:p@db/iec"  # never rewritten
    assert settings.deployment == "test" and settings.drops_quiet_seconds == 0.2
    assert settings.integrations_file == Path("/etc/iec/integrations.yaml")


def test_every_bad_value_is_named_by_its_variable():
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(
            {"IEC_DROPS_QUIET_SECONDS": "soon", "IEC_DEPLOYMENT": "prod", "IEC_DROPS_MAX_DELAY_SECONDS": "-1"}
        )
    message = str(raised.value)
    assert all(name in message for name in ("IEC_DROPS_QUIET_SECONDS", "IEC_DEPLOYMENT", "IEC_DROPS_MAX_DELAY_SECONDS"))


@pytest.mark.parametrize(
    ("url", "absolute"),
    [("sqlite:////var/iec.db", "sqlite:////var/iec.db"), ("sqlite:///:memory:", "sqlite:///:memory:"),
     ("postgresql://db/iec", "postgresql://db/iec")],
)  # fmt: skip
def test_absolute_urls_are_kept(url, absolute):
    assert absolute_sqlite_url(url) == absolute
