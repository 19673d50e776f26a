"""IEC's EntityMappingService over table `entity_mappings`, for one integration."""

from __future__ import annotations

from sqlalchemy import Connection, Engine, delete, select

from drivers.context import InMemoryMappings
from drivers.models import MappingData
from iec_pipeline.common.clock import utcnow
from iec_pipeline.store.models import EntityMapping
from iec_pipeline.store.upsert import upsert

TABLE = EntityMapping.__table__


def save_mapping(
    conn: Connection, integration: str, entity_type: str, entity_uuid: str, external_id: str | None, data: dict | None
) -> None:
    upsert(
        conn,
        TABLE,
        [
            {
                "integration": integration,
                "entity_type": entity_type,
                "entity_uuid": entity_uuid,
                "external_id": external_id,
                "external_data": data or {},
                "updated_at": utcnow(),
            }  # fmt: skip
        ],
        keys=("integration", "entity_type", "entity_uuid"),
    )


def delete_mapping(conn: Connection, integration: str, entity_type: str, entity_uuid: str) -> None:
    conn.execute(
        delete(TABLE).where(
            TABLE.c.integration == integration, TABLE.c.entity_type == entity_type, TABLE.c.entity_uuid == entity_uuid
        )
    )


class StoreMappings:
    """Each call is its own short transaction: a driver may record a mapping mid-batch (e.g. an
    option it had to create) and it survives even if the batch's own results are lost."""

    def __init__(self, engine: Engine, integration: str) -> None:
        self.engine, self.integration = engine, integration

    def _mapping(self, row) -> MappingData:
        return MappingData(
            entity_type=row.entity_type,
            entity_uuid=row.entity_uuid,
            integration=self.integration,
            external_id=row.external_id,
            external_data=row.external_data or {},
        )

    def find(self, entity_type: str, entity_uuid: str) -> MappingData | None:
        return self.find_many(entity_type, [entity_uuid]).get(entity_uuid)

    def find_many(self, entity_type: str, entity_uuids: list[str]) -> dict[str, MappingData]:
        if not entity_uuids:
            return {}
        with self.engine.execution_options(iec_read_only=True).connect() as conn:
            rows = conn.execute(
                select(TABLE).where(
                    TABLE.c.integration == self.integration,
                    TABLE.c.entity_type == entity_type,
                    TABLE.c.entity_uuid.in_(list(entity_uuids)),
                )
            ).all()
        return {row.entity_uuid: self._mapping(row) for row in rows}

    def save(
        self, entity_type: str, entity_uuid: str, external_id: str | None, external_data: dict | None = None
    ) -> MappingData:
        with self.engine.begin() as conn:
            save_mapping(conn, self.integration, entity_type, entity_uuid, external_id, external_data)
        return MappingData(
            entity_type=entity_type, entity_uuid=entity_uuid, integration=self.integration,
            external_id=external_id, external_data=external_data or {},
        )  # fmt: skip

    def delete(self, entity_type: str, entity_uuid: str) -> None:
        with self.engine.begin() as conn:
            delete_mapping(conn, self.integration, entity_type, entity_uuid)


class DryRunMappings(StoreMappings):
    """The store's mappings for reading; what a dry run would record stays in memory."""

    def __init__(self, engine: Engine, integration: str) -> None:
        super().__init__(engine, integration)
        self.memory = InMemoryMappings(integration)
        self.touched: set[tuple[str, str]] = set()  # saved or deleted in memory: the store no longer says

    def find_many(self, entity_type: str, entity_uuids: list[str]) -> dict[str, MappingData]:
        stored = super().find_many(entity_type, [u for u in entity_uuids if (entity_type, u) not in self.touched])
        return {**stored, **self.memory.find_many(entity_type, entity_uuids)}

    def save(
        self, entity_type: str, entity_uuid: str, external_id: str | None, external_data: dict | None = None
    ) -> MappingData:
        self.touched.add((entity_type, entity_uuid))
        return self.memory.save(entity_type, entity_uuid, external_id, external_data)

    def delete(self, entity_type: str, entity_uuid: str) -> None:
        self.touched.add((entity_type, entity_uuid))
        self.memory.delete(entity_type, entity_uuid)
