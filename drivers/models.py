"""Values exchanged between IEC and drivers (IEC's MutationData / MappingData), frozen."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from iec_pipeline.common.entity_types import NAMES as ENTITY_TYPES
from iec_pipeline.common.entity_types import entity_uuid

__all__ = [
    "ENTITY_TYPES", "DeliveryResult", "Drift", "MappingData", "MutationData", "Operation", "PlannedCall",
    "entity_uuid",
]  # fmt: skip

Operation = Literal["created", "updated", "deleted"]


class MutationData(BaseModel):
    """One change to deliver: the entity's full state (`payload`) and what changed."""

    model_config = ConfigDict(frozen=True)

    mutation_id: int
    entity_type: str
    entity_uuid: str
    code: str
    operation: Operation
    payload: dict[str, Any]
    changed_fields: list[str] = Field(default_factory=list)
    previous: dict[str, Any] | None = None
    created_at: datetime | None = None

    def value(self, attribute: str, locale: str | None = None, channel: str | None = None) -> Any:
        """The payload's value of `attribute` for exactly this locale and channel, or None."""
        for v in self.payload.get("values") or ():
            if v["attribute_code"] == attribute and v.get("locale") == locale and v.get("channel") == channel:
                return v["value"]
        return None


class MappingData(BaseModel):
    """Where an IEC entity lives in one integration's target (e.g. a Magento id)."""

    model_config = ConfigDict(frozen=True)

    entity_type: str
    entity_uuid: str
    integration: str
    external_id: str | None = None
    external_data: dict[str, Any] = Field(default_factory=dict)


class PlannedCall(BaseModel):
    """One request a delivery would make (a dry run): never a secret, only a digest of the body."""

    model_config = ConfigDict(frozen=True)

    mutation_id: int
    method: str
    target: str  # where: a URL without credentials or query, or an API path
    why: str
    body_sha256: str | None = None  # of the body as it would be sent, secrets redacted


class Drift(BaseModel):
    """One way the target differs from the store (a drift check): `missing` (the target lacks the
    entity), `extra` (the target has one the store does not), `different` (a field's value)."""

    model_config = ConfigDict(frozen=True)

    entity_type: str
    code: str
    kind: Literal["missing", "extra", "different"]
    scope: str | None = None  # the target's scope (a Magento store view), when it has scopes
    field: str | None = None
    ours: Any = None
    theirs: Any = None


class DeliveryResult(BaseModel):
    """What happened to one mutation. `retryable`: try again later; `permanent`: never will work."""

    model_config = ConfigDict(frozen=True)

    status: Literal["success", "retryable", "permanent"]
    message: str | None = None
    external_id: str | None = None
    external_data: dict[str, Any] | None = None
    forget_mapping: bool = False  # the target no longer has the entity (after a delete)
    retry_after: float | None = None  # seconds the target asked us to wait (429 Retry-After)

    @classmethod
    def success(
        cls, external_id: str | None = None, external_data: dict[str, Any] | None = None, forget_mapping: bool = False
    ) -> DeliveryResult:
        return cls(
            status="success", external_id=external_id, external_data=external_data, forget_mapping=forget_mapping
        )

    @classmethod
    def retryable(cls, message: str, retry_after: float | None = None) -> DeliveryResult:
        return cls(status="retryable", message=message, retry_after=retry_after)

    @classmethod
    def permanent(cls, message: str) -> DeliveryResult:
        return cls(status="permanent", message=message)
