"""The local store as a Dagster resource: one engine per process, schema upgraded on first use."""

from __future__ import annotations

import functools

import dagster as dg
from pydantic import Field
from sqlalchemy import Engine

from iec_pipeline.settings import Settings
from iec_pipeline.store import db


@functools.cache
def _ready_engine(url: str) -> Engine:
    db.upgrade(url)
    return db.get_engine(url)


class StoreResource(dg.ConfigurableResource):
    """IEC's catalog store (SQLite or PostgreSQL).

    Left unset, the URL is read from IEC_DATABASE_URL when the run starts (it may hold a password,
    so it never sits in run config), defaulting to sqlite:///.iec/iec.db.
    """

    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default: $IEC_DATABASE_URL")

    def url(self) -> str:
        return self.database_url or Settings.from_env().database_url

    def engine(self) -> Engine:
        return _ready_engine(self.url())

    def read_engine(self) -> Engine:
        """For read-only work (sensors): never waits for the SQLite write lock."""
        return self.engine().execution_options(iec_read_only=True)
