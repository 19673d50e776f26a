"""What a driver sees of IEC while it delivers: its integration, a logger, a clock, mappings."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from drivers.models import MappingData


class EntityMappingService(Protocol):
    """IEC's EntityMappingServiceInterface over table `entity_mappings`, for one integration."""

    def find(self, entity_type: str, entity_uuid: str) -> MappingData | None: ...

    def find_many(self, entity_type: str, entity_uuids: list[str]) -> dict[str, MappingData]: ...

    def save(
        self, entity_type: str, entity_uuid: str, external_id: str | None, external_data: dict | None = None
    ) -> MappingData:
        """Creates or updates (upsert) the mapping."""
        ...

    def delete(self, entity_type: str, entity_uuid: str) -> None: ...


class InMemoryMappings:
    """An EntityMappingService in a dict: for driver unit tests and the contract suite."""

    def __init__(self, integration: str) -> None:
        self.integration = integration
        self.rows: dict[tuple[str, str], MappingData] = {}

    def find(self, entity_type: str, entity_uuid: str) -> MappingData | None:
        return self.rows.get((entity_type, entity_uuid))

    def find_many(self, entity_type: str, entity_uuids: list[str]) -> dict[str, MappingData]:
        return {u: m for u in entity_uuids if (m := self.rows.get((entity_type, u))) is not None}

    def save(
        self, entity_type: str, entity_uuid: str, external_id: str | None, external_data: dict | None = None
    ) -> MappingData:
        mapping = MappingData(
            entity_type=entity_type, entity_uuid=entity_uuid, integration=self.integration,
            external_id=external_id, external_data=external_data or {},
        )  # fmt: skip
        self.rows[(entity_type, entity_uuid)] = mapping
        return mapping

    def delete(self, entity_type: str, entity_uuid: str) -> None:
        self.rows.pop((entity_type, entity_uuid), None)


class MediaUnavailable(Exception):
    """A media file could not be had now (Akeneo down, a download cut short): retryable; names the file."""


@dataclass(frozen=True)
class MediaFile:
    """One Akeneo media file on local disk, content-addressed: `path` is named by `sha256`."""

    code: str  # Akeneo's file code, e.g. "8/a/1/c/8a1c..._shirt.png"
    sha256: str
    size: int
    filename: str  # the original file name
    mime_type: str
    path: Path

    def read_bytes(self) -> bytes:
        return self.path.read_bytes()


class MediaSource(Protocol):
    """Akeneo's binaries, downloaded only when a delivery needs them and never twice for one file."""

    def file(self, code: str) -> MediaFile:
        """The product media file `code` (downloaded once, streamed to disk). Raises MediaUnavailable."""
        ...

    def asset_file(self, asset_family: str, asset_code: str) -> MediaFile | None:
        """The main media file of an asset (its family's `attribute_as_main_media`), None if it has none.
        Raises MediaUnavailable."""
        ...


class NoMedia:
    """The MediaSource of a context without Akeneo (unit tests, dry runs): every file is unavailable."""

    def file(self, code: str) -> MediaFile:
        raise MediaUnavailable(f"media file {code}: no Akeneo connection in this context")

    def asset_file(self, asset_family: str, asset_code: str) -> MediaFile | None:
        raise MediaUnavailable(f"asset {asset_family}/{asset_code}: no Akeneo connection in this context")


@dataclass
class IntegrationContext:
    """IEC's IntegrationContextInterface: who is delivering, and the services a driver may use."""

    integration: str
    mappings: EntityMappingService
    log: logging.Logger | Any = field(default_factory=lambda: logging.getLogger("iec.driver"))
    clock: Callable[[], float] = time.time
    settings: dict[str, Any] = field(default_factory=dict)  # the integration's non-driver settings
    # (entity_type, entity_uuid) -> the credentials of that entity's connection to this integration
    # (e.g. {"secret": ...}), None when it has none: drivers use them instead of the integration's own.
    # Values come from the environment at delivery time; never log, store or return them.
    connection_credentials: Callable[[str, str], dict[str, str] | None] = lambda entity_type, entity_uuid: None
    media: MediaSource = field(default_factory=NoMedia)  # Akeneo's media files, for drivers that send binaries
