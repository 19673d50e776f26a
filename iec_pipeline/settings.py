"""Configuration from the environment, read once at the edge.

Secrets (Akeneo credentials, driver tokens) are NOT read here: they reach Dagster resources as
`EnvVar`s so they are resolved at run time and never written to run config, tags or logs.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel

DEFAULT_DATABASE_URL = "sqlite:///.iec/iec.db"
DEFAULT_DAGSTER_HOME = ".iec/dagster_home"
DEFAULT_INTEGRATIONS = "integrations.yaml"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseModel, frozen=True):
    database_url: str
    dagster_home: Path
    integrations_file: Path

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=absolute_sqlite_url(os.environ.get("IEC_DATABASE_URL") or DEFAULT_DATABASE_URL),
            dagster_home=Path(os.environ.get("DAGSTER_HOME") or DEFAULT_DAGSTER_HOME).absolute(),
            integrations_file=Path(os.environ.get("IEC_INTEGRATIONS") or DEFAULT_INTEGRATIONS).absolute(),
        )


def absolute_sqlite_url(url: str) -> str:
    """Pins a relative SQLite path to the current directory, so every process opens the same file."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        return prefix + str(Path(url[len(prefix) :]).absolute())
    return url


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
