"""What every command group uses: JSON output, the store URL, the Dagster instance, the integrations."""

from __future__ import annotations

import json
import sys
from typing import Any

exits_after_command = False  # set by the console script (`run`), not when `main` is called in a test


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def store_url() -> str:
    """The store's URL, its schema upgraded."""
    from iec_pipeline.common.settings import Settings
    from iec_pipeline.store import db

    url = Settings.from_env().database_url
    db.upgrade(url)
    return url


def instance():
    import dagster as dg

    from iec_pipeline.common.settings import ensure_dagster_home

    ensure_dagster_home()
    return dg.DagsterInstance.get()


def integrations_or_exit():
    """The declared integrations; an invalid file prints every problem and exits 1."""
    from iec_pipeline.common.settings import Settings
    from iec_pipeline.routing import integrations

    path = Settings.from_env().integrations_file
    try:
        return integrations.load(path)
    except integrations.IntegrationConfigError as error:
        print(f"{path}: {len(error.problems)} problem(s):", file=sys.stderr)
        for problem in error.problems:
            print(f"  - {problem}", file=sys.stderr)
        raise SystemExit(1) from None
