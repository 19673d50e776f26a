"""Connections (the Izara notes' plugin-to-instance links): entities explicitly connected to an
integration whose scope is `connected`. Only those entities get jobs for it. A connection may carry
its own credentials: the store keeps the name of an environment prefix (B2B_ACME), never a value; the
driver gets B2B_ACME_<NAME> values through its context when it delivers that entity."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, delete, select

from drivers.models import entity_uuid
from iec_pipeline.common.clock import utcnow
from iec_pipeline.store.db import get_engine
from iec_pipeline.store.models import IntegrationConnection, Product
from iec_pipeline.store.upsert import upsert


def _uuid(conn, entity_type: str, code: str) -> str:
    if entity_type != "product":
        return entity_uuid(entity_type, code)
    found = conn.execute(select(Product.uuid).where(Product.identifier == code)).scalar()
    if found is None and len(code) == 36 and code.count("-") == 4:
        return code  # a uuid given directly
    if found is None:
        raise LookupError(f"product {code!r} is not in the store (sync first, or give its uuid)")
    return found


def credentials_from_env(prefix: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """A connection's credentials: every variable PREFIX_<NAME>, as {name in lower case: value}."""
    environ = os.environ if environ is None else environ
    start = f"{prefix}_"
    return {name[len(start) :].lower(): value for name, value in environ.items() if name.startswith(start) and value}


def check_prefix(prefix: str) -> str | None:
    """Why `prefix` cannot name a connection's credentials (None: it can)."""
    if not re.fullmatch(r"[A-Z][A-Z0-9_]{0,99}", prefix):
        return f"--credentials-env {prefix!r}: expected an environment variable prefix like B2B_ACME"
    if not credentials_from_env(prefix):
        return f"--credentials-env {prefix}: no environment variable {prefix}_<NAME> is set (e.g. {prefix}_SECRET)"
    return None


class ConnectionCredentials:
    """`IntegrationContext.connection_credentials` for one integration: the store says which prefix
    an entity's connection has; the values are read from the environment when asked, never kept."""

    def __init__(self, engine: Engine, integration: str) -> None:
        self.engine, self.integration = engine, integration
        self._prefixes: dict[tuple[str, str], str | None] = {}

    def __call__(self, entity_type: str, entity_uuid: str) -> dict[str, str] | None:
        key = (entity_type, entity_uuid)
        if key not in self._prefixes:
            table = IntegrationConnection.__table__
            with self.engine.connect() as conn:
                self._prefixes[key] = conn.execute(
                    select(table.c.credentials_env).where(
                        table.c.integration == self.integration,
                        table.c.entity_type == entity_type,
                        table.c.entity_uuid == entity_uuid,
                    )
                ).scalar()
        prefix = self._prefixes[key]
        if not prefix:
            return None
        found = credentials_from_env(prefix)
        if not found:  # never fall back to other credentials: the delivery fails (and is retried) saying why
            raise LookupError(
                f"{self.integration}: the connection of {entity_type} {entity_uuid} has credentials {prefix}_*, "
                "and none is set in this process's environment"
            )
        return found


def add(
    url: str, integration: str, entity_type: str, codes: list[str], credentials_env: str | None = None
) -> list[str]:
    """Connects entities (by code; products also by uuid), with their own credentials when
    `credentials_env` names an environment prefix; returns their uuids."""
    with get_engine(url).begin() as conn:
        rows = [
            {
                "integration": integration,
                "entity_type": entity_type,
                "entity_uuid": _uuid(conn, entity_type, code),
                "code": code,
                "credentials_env": credentials_env,
                "created_at": utcnow(),
            }  # fmt: skip
            for code in codes
        ]
        upsert(conn, IntegrationConnection.__table__, rows, keys=("integration", "entity_type", "entity_uuid"))
    return [row["entity_uuid"] for row in rows]


def remove(url: str, integration: str, entity_type: str, codes: list[str]) -> list[str]:
    """Disconnects entities; returns the uuids of those that were connected."""
    table = IntegrationConnection.__table__
    with get_engine(url).begin() as conn:
        uuids = [_uuid(conn, entity_type, code) for code in codes]
        mine = (table.c.integration == integration, table.c.entity_type == entity_type, table.c.entity_uuid.in_(uuids))
        connected = list(conn.execute(select(table.c.entity_uuid).where(*mine)).scalars())
        conn.execute(delete(table).where(*mine))
        return connected


def list_connections(url: str, integration: str | None = None) -> list[dict[str, Any]]:
    table = IntegrationConnection.__table__
    columns = (table.c.integration, table.c.entity_type, table.c.code, table.c.entity_uuid, table.c.credentials_env)
    query = select(*columns).order_by(table.c.id)
    if integration is not None:
        query = query.where(table.c.integration == integration)
    with get_engine(url).connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]
