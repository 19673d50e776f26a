"""The driver contract (IEC's DriverContract / AbstractDriver), as a Dagster ConfigurableResource.

A driver's pydantic fields ARE its configuration schema: the `configuration:` block of an
integration in the YAML is validated against them. Identity, supported entity types and hooks
are class attributes. A secret field is declared with `Secret` and written `{env: NAME}`.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

import dagster as dg
from pydantic import Field

from drivers.context import IntegrationContext
from drivers.models import DeliveryResult, Drift, MutationData, PlannedCall

SECRET_MARK = {"secret": True}
Secret = Annotated[str, Field(json_schema_extra=SECRET_MARK)]

HOOK_POINTS = (
    "iec_diff_mutation_created",  # a mutation was recorded for this integration (sync: may veto the job)
    "iec_delivery_send_before",  # about to send (sync: may transform the payload or veto)
    "iec_delivery_send_after",  # the target answered (sync or async: notify, audit)
)


@dataclass(frozen=True)
class Hook:
    """A driver attaches `method` to a hook point; sync runs inline, async gets its own Dagster run."""

    point: Literal["iec_diff_mutation_created", "iec_delivery_send_before", "iec_delivery_send_after"]
    method: str
    mode: Literal["sync", "async"] = "sync"


class HookVeto(Exception):
    """Raised by a sync hook to stop a delivery; the job ends `superseded` with this reason."""


class NotSupported(Exception):
    """An optional operation (`plan`, `verify`) this driver does not offer."""


class Driver(dg.ConfigurableResource):
    """Base of every driver. Subclasses implement `handle` (and may override `handle_batch`)."""

    name: ClassVar[str] = "abstract"
    type: ClassVar[str] = "abstract"
    version: ClassVar[str] = "0"
    description: ClassVar[str] = ""
    supported_entity_types: ClassVar[tuple[str, ...]] = ()
    hooks: ClassVar[tuple[Hook, ...]] = ()

    max_concurrency: int = Field(
        default=8, ge=1, le=64, description="Mutations delivered at once (never two per entity)"
    )

    def open(self, context: IntegrationContext) -> None:
        """Called once before a batch run (open clients, authenticate)."""

    def close(self) -> None:
        """Called once after a batch run."""

    def handle(self, mutation: MutationData, context: IntegrationContext) -> DeliveryResult:
        raise NotImplementedError

    def handle_batch(self, mutations: Sequence[MutationData], context: IntegrationContext) -> list[DeliveryResult]:
        """One result per mutation, in order. IEC never passes two mutations of one entity in a batch.

        The default runs `handle` on up to `max_concurrency` threads; a failure of one mutation is
        that mutation's result, never the batch's.
        """

        def safe(mutation: MutationData) -> DeliveryResult:
            try:
                return self.handle(mutation, context)
            except Exception as error:  # a driver bug must not lose the other results
                context.log.exception(f"{self.name}: unexpected error on mutation {mutation.mutation_id}")
                return DeliveryResult.retryable(f"{type(error).__name__}: {error}")

        if self.max_concurrency <= 1 or len(mutations) <= 1:
            return [safe(m) for m in mutations]
        with ThreadPoolExecutor(max_workers=min(self.max_concurrency, len(mutations))) as pool:
            return list(pool.map(safe, mutations))

    def plan(self, mutations: Sequence[MutationData], context: IntegrationContext) -> list[PlannedCall]:
        """The requests delivering `mutations` would make, WITHOUT making any: no request leaves, no
        mapping changes (a dry run). Optional: the default says it is not supported."""
        raise NotSupported(f"driver {self.name} does not plan deliveries (dry run not supported)")

    def verify(self, entities: Sequence[MutationData], context: IntegrationContext) -> list[Drift]:
        """What the target holds that differs from `entities` (their current state as the store holds
        it), read back with GETs only; and what it holds that the store does not. Optional."""
        raise NotSupported(f"driver {self.name} cannot read its target back (drift check not supported)")

    @classmethod
    def secret_fields(cls) -> list[str]:
        return [
            name
            for name, info in cls.model_fields.items()
            if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("secret")
        ]

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """The registrar's view: identity, entity types, hooks and configuration fields."""
        secrets = set(cls.secret_fields())
        fields = []
        for name, info in cls.model_fields.items():
            fields.append(
                {
                    "name": name,
                    "type": getattr(info.annotation, "__name__", str(info.annotation)).replace("typing.", ""),
                    "required": info.is_required(),
                    "default": None if info.is_required() else _plain(info.get_default(call_default_factory=True)),
                    "secret": name in secrets,
                    "description": info.description or "",
                }
            )
        return {
            "name": cls.name,
            "type": cls.type,
            "version": cls.version,
            "description": cls.description,
            "entity_types": list(cls.supported_entity_types),
            "hooks": [{"point": h.point, "method": h.method, "mode": h.mode} for h in cls.hooks],
            "configuration": fields,
        }


def _plain(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool, list, dict, type(None))) else str(value)
