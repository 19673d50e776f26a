"""Every `IEC_*` setting, read from the environment once, at the edge, into one object.

Secrets (Akeneo credentials, webhook secrets, driver tokens) are NOT read here: they reach Dagster
resources as `EnvVar`s, so they are resolved at run time and never written to run config, tags or logs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATABASE_URL = "sqlite:///.iec/iec.db"
DEFAULT_DAGSTER_HOME = ".iec/dagster_home"
DEFAULT_INTEGRATIONS = "integrations.yaml"
DEFAULT_MEDIA_DIR = ".iec/media"

# Setting -> its environment variable.
VARIABLES = {
    "database_url": "IEC_DATABASE_URL",
    "dagster_home": "DAGSTER_HOME",
    "integrations_file": "IEC_INTEGRATIONS",
    "media_dir": "IEC_MEDIA_DIR",
    "deployment": "IEC_DEPLOYMENT",
    "drops_quiet_seconds": "IEC_DROPS_QUIET_SECONDS",
    "drops_max_delay_seconds": "IEC_DROPS_MAX_DELAY_SECONDS",
    "crash_at": "IEC_CRASH_AT",
}


class SettingsError(ValueError):
    """An `IEC_*` variable holds a value IEC cannot use; the message names every one at fault."""


class Settings(BaseModel, frozen=True):
    database_url: str = Field(description="The local store (SQLAlchemy URL); relative SQLite paths are pinned")
    dagster_home: Path = Field(description="Dagster's storage: runs, event logs, schedules")
    integrations_file: Path = Field(description="The integrations YAML")
    media_dir: Path = Field(description="Akeneo media files downloaded for deliveries (content-addressed)")
    deployment: Literal["local", "test"] = Field(default="local", description="Which set of Dagster resources")
    drops_quiet_seconds: float = Field(default=1.0, ge=0, description="Webhook debounce: quiet period")
    drops_max_delay_seconds: float = Field(default=5.0, ge=0, description="Webhook debounce: longest wait")
    crash_at: str | None = Field(default=None, description="Reliability tests: the crash point to die at")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        raw = {name: environ[variable] for name, variable in VARIABLES.items() if environ.get(variable)}
        raw["database_url"] = absolute_sqlite_url(raw.get("database_url") or DEFAULT_DATABASE_URL)
        raw["dagster_home"] = Path(raw.get("dagster_home") or DEFAULT_DAGSTER_HOME).absolute()
        raw["integrations_file"] = Path(raw.get("integrations_file") or DEFAULT_INTEGRATIONS).absolute()
        raw["media_dir"] = Path(raw.get("media_dir") or DEFAULT_MEDIA_DIR).absolute()
        try:
            return cls.model_validate(raw)
        except ValidationError as error:
            problems = [
                f"{VARIABLES.get(str(issue['loc'][0]), issue['loc'][0])}: {issue['msg']}"
                for issue in error.errors(include_input=False, include_url=False)
            ]
            raise SettingsError("invalid environment: " + "; ".join(problems)) from None


def absolute_sqlite_url(url: str) -> str:
    """Pins a relative SQLite path to the current directory, so every process opens the same file."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        return prefix + str(Path(url[len(prefix) :]).absolute())
    return url


def export_defaults(settings: Settings | None = None) -> Settings:
    """Puts the store URL, the integrations file, the media directory and DAGSTER_HOME in this process's
    environment (and its children's), so Dagster resources that read them as `EnvVar`s, and runs in other
    processes, find them when the operator set none."""
    settings = settings or Settings.from_env()
    os.environ.setdefault(VARIABLES["database_url"], settings.database_url)
    os.environ.setdefault(VARIABLES["integrations_file"], str(settings.integrations_file))
    os.environ.setdefault(VARIABLES["dagster_home"], str(settings.dagster_home))
    os.environ.setdefault(VARIABLES["media_dir"], str(settings.media_dir))
    return settings


def ensure_dagster_home(settings: Settings | None = None) -> Path:
    """Creates DAGSTER_HOME with the project's dagster.yaml unless it already has one, and exports it."""
    settings = settings or Settings.from_env()
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    if not target.exists():
        source = PROJECT_ROOT / "dagster.yaml"
        target.write_text(source.read_text() if source.exists() else "")
    os.environ["DAGSTER_HOME"] = str(home)
    return home
