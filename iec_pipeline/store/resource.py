"""The local store as a Dagster resource: one engine per process, schema upgraded on first use."""

from __future__ import annotations

import dagster as dg
from pydantic import Field
from sqlalchemy import Engine

from iec_pipeline.store import db


class StoreResource(dg.ConfigurableResource):
    """IEC's catalog store (SQLite or PostgreSQL). Deployments set the URL with
    `EnvVar("IEC_DATABASE_URL")`: it may hold a password, so it never sits in run config."""

    database_url: str = Field(description="SQLAlchemy URL of the store (sqlite:///… or postgresql+psycopg://…)")

    def engine(self) -> Engine:
        return db.ready_engine(self.database_url)

    def read_engine(self) -> Engine:
        """For read-only work (sensors): never waits for the SQLite write lock."""
        return self.engine().execution_options(iec_read_only=True)
