"""Integrations: declared in the YAML at IEC_INTEGRATIONS, validated against their driver, synced to the store.

The YAML shape is a contract:

    integrations:
      - name: shop                 # unique
        driver: magento2           # an iec.drivers entry point
        enabled: true
        entity_types: [attribute, attribute_option, family, category, product_model, product]
        scope: all                 # or: connected (only entities listed in integration_connections)
        on_disconnect: keep        # or: delete (a disconnected entity is deleted from the target)
        priority_map: {"*": 150, price: 10, stock_qty: 10, description: 240, "@created": 150, "@deleted": 150}
        retry_attempts: 5
        retry_delay_seconds: 30
        max_backlog_age_seconds: 3600  # the integration asset's backlog check fails past this
        configuration: {...}       # the driver's fields; a secret is written {env: NAME}

    queue_map:                     # optional; the default: a priority <= 50 goes to integrations-immediate,
      integrations-immediate: 50   # <= 200 normal, <= 250 low, and anything past them low too
      integrations-normal: 200
      integrations-low: 250

`priority_map` weighs changed fields; `@created` and `@deleted` weigh new and deleted entities (else `*`).
Every problem is reported at once, each naming the integration and the field, and never a secret.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import dagster as dg
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import Connection, func, insert, select, update

from drivers import registry
from drivers.base import Driver
from drivers.models import ENTITY_TYPES
from iec_pipeline.common.clock import utcnow
from iec_pipeline.routing.queues import DEFAULT_QUEUE_MAP, queue_map_problems
from iec_pipeline.store.models import Integration


class IntegrationConfigError(ValueError):
    """The integrations file is invalid; `problems` lists every issue, one line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid integrations configuration:\n  " + "\n  ".join(problems))


class IntegrationSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")
    driver: str
    enabled: bool = True
    entity_types: list[str] = Field(default_factory=lambda: list(ENTITY_TYPES))
    scope: Literal["all", "connected"] = "all"
    on_disconnect: Literal["keep", "delete"] = "keep"  # what `iec connections remove` does in the target
    priority_map: dict[str, int] = Field(default_factory=lambda: {"*": 150})
    retry_attempts: int = Field(default=5, ge=0, le=100)
    retry_delay_seconds: float = Field(default=30.0, ge=0)
    # The integration asset's `backlog_fresh` check fails when a job waits longer than this.
    max_backlog_age_seconds: float = Field(default=3600.0, gt=0)
    configuration: dict[str, Any] = Field(default_factory=dict)

    @field_validator("entity_types")
    @classmethod
    def _known_types(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(ENTITY_TYPES))
        if unknown:
            raise ValueError(f"unknown entity type(s) {', '.join(unknown)}; expected some of {', '.join(ENTITY_TYPES)}")
        return value

    def default_priority(self) -> int:
        return self.priority_map.get("*", 150)


@dataclass(frozen=True)
class LoadedIntegration:
    spec: IntegrationSpec
    driver_class: type[Driver]
    queue_map: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_QUEUE_MAP))  # the file's, shared

    @property
    def name(self) -> str:
        return self.spec.name

    def build_driver(self) -> Driver:
        """The driver with its secrets resolved from the environment (at run time, never stored)."""
        return _driver_from_config(self.driver_class, self.spec.configuration).process_config_and_initialize()


def _is_env_ref(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"env"} and isinstance(value["env"], str)


def _driver_from_config(driver_class: type[Driver], configuration: dict[str, Any]) -> Driver:
    values = {k: dg.EnvVar(v["env"]) if _is_env_ref(v) else v for k, v in configuration.items()}
    return driver_class(**values)


def _check_configuration(name: str, driver_class: type[Driver], configuration: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    where = f"integration {name!r}: configuration"
    secrets = set(driver_class.secret_fields())
    resolved: dict[str, Any] = {}
    for key, value in configuration.items():
        if key not in driver_class.model_fields:
            known = ", ".join(driver_class.model_fields)
            problems.append(f"{where}.{key}: not a field of driver {driver_class.name!r} (fields: {known})")
            continue
        if _is_env_ref(value):
            if os.environ.get(value["env"]) in (None, ""):
                problems.append(f"{where}.{key}: environment variable {value['env']} is not set")
                continue
            resolved[key] = os.environ[value["env"]]
        elif key in secrets:
            problems.append(f"{where}.{key}: is a secret; write it as {{env: VARIABLE}}, never the value itself")
        else:
            resolved[key] = value
    for key, info in driver_class.model_fields.items():
        if info.is_required() and key not in configuration:
            problems.append(f"{where}.{key}: Field required ({info.description or 'no description'})")
    try:
        driver_class.model_validate(resolved)
    except ValidationError as error:
        for issue in error.errors(include_input=False, include_url=False):
            field = ".".join(str(p) for p in issue["loc"]) or "(driver)"
            if any(p.startswith(f"{where}.{field}:") for p in problems):
                continue  # already reported (unset variable, literal secret)
            problems.append(f"{where}.{field}: {issue['msg']}")
    return problems


def enabled_names(path: Path) -> list[str]:
    """Names of the integrations the file declares enabled, read without validating them (the graph
    has an asset per integration even while a secret is missing; the diff reports every problem)."""
    try:
        document = yaml.safe_load(path.read_text()) if path.exists() else None
    except yaml.YAMLError:
        return []
    raw = document.get("integrations") if isinstance(document, dict) else None
    names = [
        item["name"]
        for item in raw or []
        if isinstance(item, dict) and isinstance(item.get("name"), str) and item.get("enabled", True) is not False
    ]
    return sorted({name for name in names if re.fullmatch(r"[A-Za-z0-9_.-]{1,100}", name)})


def load(path: Path) -> list[LoadedIntegration]:
    """Reads and validates the integrations file; a missing file means no integrations."""
    if not path.exists():
        return []
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise IntegrationConfigError([f"{path}: not valid YAML: {error}"]) from None
    if not isinstance(document, dict) or not isinstance(document.get("integrations", []), list):
        raise IntegrationConfigError([f"{path}: expected a mapping with a list under `integrations:`"])
    queue_map = document.get("queue_map", DEFAULT_QUEUE_MAP)
    problems: list[str] = queue_map_problems(queue_map)
    loaded: list[LoadedIntegration] = []
    seen: set[str] = set()
    for index, raw in enumerate(document.get("integrations") or []):
        label = raw.get("name") if isinstance(raw, dict) and isinstance(raw.get("name"), str) else f"#{index + 1}"
        spec: IntegrationSpec | None = None
        try:
            spec = IntegrationSpec.model_validate(raw)
        except ValidationError as error:
            for issue in error.errors(include_input=False, include_url=False):
                field = ".".join(str(p) for p in issue["loc"]) or "(integration)"
                problems.append(f"integration {label!r}: {field}: {issue['msg']}")
        if not isinstance(raw, dict):
            continue
        if label in seen:
            problems.append(f"integration {label!r}: name: declared twice (names are unique)")
        seen.add(label)
        # A schema problem does not hide the others: the driver and its configuration are checked too.
        problems += _check_driver(label, raw, spec)
        if spec is not None and not problems:
            loaded.append(LoadedIntegration(spec, registry.get(spec.driver), queue_map))
    if problems:
        raise IntegrationConfigError(problems)
    return loaded


def _check_driver(label: str, raw: dict[str, Any], spec: IntegrationSpec | None) -> list[str]:
    """The driver, the entity types it handles and its configuration, from the validated spec or, when the
    spec itself is invalid, from whatever of the raw entry is usable (its own schema problems are reported)."""
    driver_name = spec.driver if spec is not None else raw.get("driver")
    if not isinstance(driver_name, str):
        return []  # missing or not a string: a schema problem already
    try:
        driver_class = registry.get(driver_name)
    except registry.UnknownDriver as error:
        return [f"integration {label!r}: driver: {error}"]
    problems: list[str] = []
    types = spec.entity_types if spec is not None else raw.get("entity_types", list(ENTITY_TYPES))
    if isinstance(types, list):
        known = {t for t in types if isinstance(t, str) and t in ENTITY_TYPES}  # unknown ones: a schema problem
        unsupported = sorted(known - set(driver_class.supported_entity_types))
        if unsupported:
            handled = ", ".join(unsupported)
            problems.append(f"integration {label!r}: entity_types: {driver_name!r} does not handle {handled}")
    configuration = spec.configuration if spec is not None else raw.get("configuration", {})
    if isinstance(configuration, dict):
        problems += _check_configuration(label, driver_class, configuration)
    return problems


def sync_to_store(conn: Connection, integrations: list[LoadedIntegration]) -> None:
    """Upserts the declared integrations; one no longer declared is disabled, its history kept. An
    integration disabled then enabled again remembers since when it missed changes (`missed_since`)."""
    now = utcnow()
    table = Integration.__table__
    existing = {row.name: row for row in conn.execute(select(table.c.name, table.c.enabled, table.c.disabled_at))}
    declared = set()
    for item in integrations:
        spec = item.spec
        declared.add(spec.name)
        row = {
            "driver": spec.driver,
            "enabled": spec.enabled,
            "entity_types": spec.entity_types,
            "scope": spec.scope,
            "on_disconnect": spec.on_disconnect,
            "priority_map": spec.priority_map,
            "retry_attempts": spec.retry_attempts,
            "retry_delay_seconds": spec.retry_delay_seconds,
            "max_backlog_age_seconds": spec.max_backlog_age_seconds,
            "configuration": spec.configuration,  # secrets stay {env: NAME} references
            "declared": True,
            "updated_at": now,
        }
        before = existing.get(spec.name)
        if before is None:
            conn.execute(insert(Integration).values(name=spec.name, disabled_at=None if spec.enabled else now, **row))
            continue
        if before.enabled and not spec.enabled:
            row["disabled_at"] = now
        elif spec.enabled and not before.enabled:
            row["disabled_at"] = None
            if before.disabled_at is not None:  # the earliest gap wins until a replay covers it
                row["missed_since"] = func.coalesce(table.c.missed_since, before.disabled_at)
        conn.execute(update(Integration).where(Integration.name == spec.name).values(**row))
    gone = sorted(set(existing) - declared)
    if gone:
        conn.execute(
            update(Integration)
            .where(Integration.name.in_(gone))
            .values(
                enabled=False,
                declared=False,
                updated_at=now,
                disabled_at=func.coalesce(table.c.disabled_at, now),
            )
        )


def from_store(conn: Connection, name: str) -> LoadedIntegration:
    """An integration as last synced to the store (what a delivery run uses)."""
    table = Integration.__table__
    row = conn.execute(select(table).where(table.c.name == name)).mappings().first()
    if row is None:
        raise LookupError(f"integration {name!r} is not in the store (declare it in the integrations file)")
    spec = IntegrationSpec.model_validate({field: row[field] for field in IntegrationSpec.model_fields})
    return LoadedIntegration(spec, registry.get(spec.driver))
