"""The local normalized catalog store (SQLAlchemy 2), identical on SQLite and PostgreSQL.

Names follow the original IEC: `products`, `product_models`, `categories`, `families`,
`family_variants`, `product_attributes`, `attribute_options` and the EAV table
`product_attribute_values` (one row per entity, attribute, channel, locale).

Conventions that keep the diff set-based and portable:
- every entity has a stable `uuid`: Akeneo's own for products, a uuid5 of its type and code otherwise;
- "no channel" / "no locale" is stored as '' (not NULL) so the unique key and joins stay simple;
- JSON is stored as canonical text (sorted keys, compact), so equal values are equal strings in SQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from iec_pipeline.common.entity_types import EntityType

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
}


def canonical_json(value: Any) -> str:
    """One spelling per value: sorted keys, no spaces, UTF-8 kept."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def load_json(text: str | bytes) -> Any:
    return orjson.loads(text)


class CanonicalJSON(TypeDecorator):
    """JSON stored as canonical text, so SQL can compare values with `=`."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return canonical_json(value)

    def process_result_value(self, value: str | None, dialect: Any) -> Any:
        return None if value is None else orjson.loads(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class _Tracked:
    """Columns every synced entity carries."""

    uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(40))
    # Hash of Akeneo's item as fetched: an identical item next time is not normalized again.
    raw_hash: Mapped[str | None] = mapped_column(String(40))
    fetched_at: Mapped[datetime] = mapped_column(DateTime)


class Product(_Tracked, Base):
    __tablename__ = "products"
    # Not unique: Akeneo's identifiers are, but a refresh of one product may see its new identifier before
    # the one that held it (swapped or reused SKUs) is refreshed; delivery orders them by SKU.
    identifier: Mapped[str] = mapped_column(String(255), index=True)
    enabled: Mapped[bool | None] = mapped_column(Boolean)
    family: Mapped[str | None] = mapped_column(String(100), index=True)
    parent: Mapped[str | None] = mapped_column(String(255), index=True)
    categories: Mapped[list | None] = mapped_column(CanonicalJSON)
    groups: Mapped[list | None] = mapped_column(CanonicalJSON)
    associations: Mapped[dict | None] = mapped_column(CanonicalJSON)
    quantified_associations: Mapped[dict | None] = mapped_column(CanonicalJSON)
    updated: Mapped[datetime | None] = mapped_column(DateTime)


class ProductModel(_Tracked, Base):
    __tablename__ = "product_models"
    code: Mapped[str] = mapped_column(String(255), unique=True)
    family: Mapped[str | None] = mapped_column(String(100))
    family_variant: Mapped[str | None] = mapped_column(String(100))
    parent: Mapped[str | None] = mapped_column(String(255), index=True)
    categories: Mapped[list | None] = mapped_column(CanonicalJSON)
    associations: Mapped[dict | None] = mapped_column(CanonicalJSON)
    quantified_associations: Mapped[dict | None] = mapped_column(CanonicalJSON)
    updated: Mapped[datetime | None] = mapped_column(DateTime)


class Category(_Tracked, Base):
    __tablename__ = "categories"
    code: Mapped[str] = mapped_column(String(255), unique=True)
    parent: Mapped[str | None] = mapped_column(String(255), index=True)
    labels: Mapped[dict | None] = mapped_column(CanonicalJSON)
    position: Mapped[int | None] = mapped_column(Integer)
    values: Mapped[dict | None] = mapped_column(CanonicalJSON)
    updated: Mapped[datetime | None] = mapped_column(DateTime)


class ProductAttribute(_Tracked, Base):
    __tablename__ = "product_attributes"
    code: Mapped[str] = mapped_column(String(255), unique=True)
    type: Mapped[str] = mapped_column(String(100))
    group: Mapped[str | None] = mapped_column(String(100))
    labels: Mapped[dict | None] = mapped_column(CanonicalJSON)
    localizable: Mapped[bool | None] = mapped_column(Boolean)
    scopable: Mapped[bool | None] = mapped_column(Boolean)
    unique: Mapped[bool | None] = mapped_column(Boolean)
    sort_order: Mapped[int | None] = mapped_column(Integer)
    metric_family: Mapped[str | None] = mapped_column(String(100))
    default_metric_unit: Mapped[str | None] = mapped_column(String(100))
    decimals_allowed: Mapped[bool | None] = mapped_column(Boolean)
    negative_allowed: Mapped[bool | None] = mapped_column(Boolean)
    available_locales: Mapped[list | None] = mapped_column(CanonicalJSON)
    properties: Mapped[dict | None] = mapped_column(CanonicalJSON)


class AttributeOption(_Tracked, Base):
    __tablename__ = "attribute_options"
    code: Mapped[str] = mapped_column(String(511), unique=True)  # "<attribute>.<option>"
    attribute: Mapped[str] = mapped_column(String(255), index=True)
    option_code: Mapped[str] = mapped_column(String(255))
    sort_order: Mapped[int | None] = mapped_column(Integer)
    labels: Mapped[dict | None] = mapped_column(CanonicalJSON)


class Family(_Tracked, Base):
    __tablename__ = "families"
    code: Mapped[str] = mapped_column(String(100), unique=True)
    attribute_as_label: Mapped[str | None] = mapped_column(String(255))
    attribute_as_image: Mapped[str | None] = mapped_column(String(255))
    attributes: Mapped[list | None] = mapped_column(CanonicalJSON)
    attribute_requirements: Mapped[dict | None] = mapped_column(CanonicalJSON)
    labels: Mapped[dict | None] = mapped_column(CanonicalJSON)


class FamilyVariant(_Tracked, Base):
    __tablename__ = "family_variants"
    code: Mapped[str] = mapped_column(String(100), unique=True)
    family: Mapped[str] = mapped_column(String(100), index=True)
    labels: Mapped[dict | None] = mapped_column(CanonicalJSON)
    variant_attribute_sets: Mapped[list | None] = mapped_column(CanonicalJSON)


class Channel(_Tracked, Base):
    """An Akeneo channel: the locales, currencies and category tree a target (a store, a website) gets."""

    __tablename__ = "channels"
    code: Mapped[str] = mapped_column(String(100), unique=True)
    labels: Mapped[dict | None] = mapped_column(CanonicalJSON)
    locales: Mapped[list | None] = mapped_column(CanonicalJSON)
    currencies: Mapped[list | None] = mapped_column(CanonicalJSON)
    category_tree: Mapped[str | None] = mapped_column(String(255))
    conversion_units: Mapped[dict | None] = mapped_column(CanonicalJSON)


class AssociationType(_Tracked, Base):
    """An Akeneo association type (cross-sell, upsell, a pack...): what product associations are keyed by."""

    __tablename__ = "association_types"
    code: Mapped[str] = mapped_column(String(100), unique=True)
    labels: Mapped[dict | None] = mapped_column(CanonicalJSON)
    is_quantified: Mapped[bool | None] = mapped_column(Boolean)
    is_two_way: Mapped[bool | None] = mapped_column(Boolean)


class MediaFileRow(Base):
    """An Akeneo media file downloaded for a delivery (never during a sync): where its bytes are on disk.

    Files are content-addressed (`<IEC_MEDIA_DIR>/<sha256[:2]>/<sha256>`): two codes with equal content
    share one file. A row is written only once its file is complete, so a code with a row is never
    downloaded again.
    """

    __tablename__ = "media_files"
    code: Mapped[str] = mapped_column(String(1000), primary_key=True)  # Akeneo's file code
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    filename: Mapped[str] = mapped_column(String(1000))  # the original file name
    mime_type: Mapped[str] = mapped_column(String(255))
    downloaded_at: Mapped[datetime] = mapped_column(DateTime)


class ProductAttributeValue(Base):
    """IEC's ProductAttributeValue: one EAV row per entity, attribute, channel and locale.

    That natural key is the primary key (a clustered, rowid-less table on SQLite): the value rows
    of an entity sit together, and no second index duplicates them (one on attribute_code made
    a first sync write much more and its diff slower, for one asset check).
    """

    __tablename__ = "product_attribute_values"
    __table_args__ = ({"sqlite_with_rowid": False},)
    entity_type: Mapped[str] = mapped_column(String(20), primary_key=True)  # product | product_model
    entity_uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    attribute_code: Mapped[str] = mapped_column(String(255), primary_key=True)
    channel: Mapped[str] = mapped_column(String(100), primary_key=True, default="")
    locale: Mapped[str] = mapped_column(String(20), primary_key=True, default="")
    value: Mapped[Any] = mapped_column(CanonicalJSON)
    unit: Mapped[str | None] = mapped_column(String(100))


class SyncState(Base):
    """Per entity type: how far incremental syncs have read (Akeneo server time) and when."""

    __tablename__ = "sync_state"
    entity_type: Mapped[str] = mapped_column(String(30), primary_key=True)
    watermark: Mapped[datetime | None] = mapped_column(DateTime)
    last_sync_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_full_sync_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_sync_id: Mapped[str | None] = mapped_column(String(64))
    last_mode: Mapped[str | None] = mapped_column(String(20))


class StagingScope(Base):
    """What one sync fetched for one entity type: the whole set, a time window or named keys."""

    __tablename__ = "staging_scopes"
    sync_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(30), primary_key=True)
    scope: Mapped[str] = mapped_column(String(10))  # full | window | keys
    mode: Mapped[str] = mapped_column(String(20))  # the sync mode that asked: full, incremental, ...
    requested_keys: Mapped[list | None] = mapped_column(CanonicalJSON)
    # Deleted per an event, not fetched: entity key -> when Akeneo deleted it (ISO, UTC)
    deleted_keys: Mapped[dict | None] = mapped_column(CanonicalJSON)
    window_start: Mapped[datetime | None] = mapped_column(DateTime)
    window_end: Mapped[datetime | None] = mapped_column(DateTime)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    fetched: Mapped[int] = mapped_column(Integer, default=0)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    max_updated: Mapped[datetime | None] = mapped_column(DateTime)
    server_started_at: Mapped[datetime | None] = mapped_column(DateTime)  # Akeneo's clock at the first page


class Tombstone(Base):
    """An entity deleted by a sync: a slower sync's older snapshot of it must not bring it back."""

    __tablename__ = "tombstones"
    entity_type: Mapped[str] = mapped_column(String(30), primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    deleted_at: Mapped[datetime] = mapped_column(DateTime)  # our clock: compared with snapshots' fetched_at


class StagingEntity(Base):
    """One fetched entity, normalized, waiting for the diff: its top-level fields and its values.

    Values stay one JSON document per entity here (one row per entity is what keeps fetching at the
    speed of the listing); the diff explodes them into `product_attribute_values` rows.
    """

    __tablename__ = "staging_entities"
    __table_args__ = (
        Index("ix_staging_entities_sync", "sync_id", "entity_type", "key"),
        # The diff reads one action's rows in id order, a chunk at a time: without it, each chunk sorts them all.
        Index("ix_staging_entities_action", "sync_id", "entity_type", "action", "id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sync_id: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(30))
    key: Mapped[str] = mapped_column(String(36))
    code: Mapped[str] = mapped_column(String(511))
    content_hash: Mapped[str] = mapped_column(String(40))
    raw_hash: Mapped[str | None] = mapped_column(String(40))
    updated: Mapped[datetime | None] = mapped_column(DateTime)
    fetched_at: Mapped[datetime] = mapped_column(DateTime)
    # NULL fields and values: a lean row, the item was byte-for-byte what the store already holds.
    fields: Mapped[dict | None] = mapped_column(CanonicalJSON)
    # EAV values as canonical JSON text: [[attribute, channel, locale, value as canonical JSON, unit], ...]
    values: Mapped[str | None] = mapped_column(Text)
    # create | update, set by the diff; staged as `create` while the store held none of the type (the diff
    # checks it again: rewriting every wide row of a first sync cost time and WAL).
    action: Mapped[str | None] = mapped_column(String(10))


class StagingChange(Base):
    """An entity the diff will update or delete, with its state before the sync (`previous`)."""

    __tablename__ = "staging_changes"
    sync_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(30), primary_key=True)
    key: Mapped[str] = mapped_column(String(36), primary_key=True)
    code: Mapped[str] = mapped_column(String(511))
    operation: Mapped[str] = mapped_column(String(10))  # updated | deleted
    previous: Mapped[dict] = mapped_column(CanonicalJSON)


class Mutation(Base):
    """IEC's Mutation: one real change of one entity, with its full state before and after."""

    __tablename__ = "mutations"
    __table_args__ = (
        Index("ix_mutations_entity", "entity_type", "entity_uuid"),
        {"sqlite_autoincrement": True},  # ids only ever increase: `iec mutations --since ID` relies on it
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entity_type: Mapped[str] = mapped_column(String(30))
    entity_uuid: Mapped[str] = mapped_column(String(36))
    code: Mapped[str] = mapped_column(String(511))
    operation: Mapped[str] = mapped_column(String(10))  # created | updated | deleted
    payload: Mapped[dict] = mapped_column(CanonicalJSON)
    previous: Mapped[dict | None] = mapped_column(CanonicalJSON)
    changed_fields: Mapped[list] = mapped_column(CanonicalJSON)
    sync_id: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Integration(Base):
    """An integration declared in the YAML at IEC_INTEGRATIONS, synced here at each run.

    `configuration` keeps secrets as {"env": NAME} references, never their values.
    """

    __tablename__ = "integrations"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    driver: Mapped[str] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(Boolean)
    entity_types: Mapped[list] = mapped_column(CanonicalJSON)
    scope: Mapped[str] = mapped_column(String(20))  # all | connected
    on_disconnect: Mapped[str] = mapped_column(String(10), default="keep")  # keep | delete
    priority_map: Mapped[dict] = mapped_column(CanonicalJSON)
    retry_attempts: Mapped[int] = mapped_column(Integer)
    retry_delay_seconds: Mapped[float] = mapped_column(Float)
    max_backlog_age_seconds: Mapped[float] = mapped_column(Float, default=3600.0)
    configuration: Mapped[dict] = mapped_column(CanonicalJSON)
    declared: Mapped[bool] = mapped_column(Boolean, default=True)  # still in the YAML
    # Disabled (or no longer declared) since then: no jobs are made for it meanwhile.
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Enabled again after missing changes from then on, until a replay covers them.
    missed_since: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class IntegrationConnection(Base):
    """An entity explicitly connected to an integration whose scope is `connected`."""

    __tablename__ = "integration_connections"
    __table_args__ = (UniqueConstraint("integration", "entity_type", "entity_uuid"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    integration: Mapped[str] = mapped_column(String(100))
    entity_type: Mapped[str] = mapped_column(String(30))
    entity_uuid: Mapped[str] = mapped_column(String(36))
    code: Mapped[str] = mapped_column(String(511))
    # The connection's own credentials: environment variables PREFIX_<NAME>, read at delivery, never stored.
    credentials_env: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class MutationJob(Base):
    """IEC's MutationJob: one mutation to deliver to one integration."""

    __tablename__ = "mutation_jobs"
    __table_args__ = (
        UniqueConstraint("mutation_id", "integration"),
        Index("ix_mutation_jobs_entity", "integration", "entity_uuid", "status"),
        Index("ix_mutation_jobs_lock", "integration", "lock_key", "status"),
        Index("ix_mutation_jobs_order", "integration", "order_key", "status"),
        Index("ix_mutation_jobs_run", "status", "run_id"),
        # A claim reads pending jobs per (queue, rank, priority) in id order, each an index range that ends
        # at its rank's structure bound, and merges them by (priority, id): it stops at its limit, and the
        # jobs behind pending structure are never read (not-yet-due retries are skipped in the index).
        # The oldest due job of each structural rank is the first of its ranges. (The only index on type_rank:
        # without statistics, as after a large fan-out, PostgreSQL took another for these ranges.)
        Index(
            "ix_mutation_jobs_pending",
            *("integration", "status", "queue", "type_rank", "priority", "id", "next_attempt_at"),
        ),
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    mutation_id: Mapped[int] = mapped_column(Integer)
    integration: Mapped[str] = mapped_column(String(100))
    entity_type: Mapped[str] = mapped_column(String(30))
    entity_uuid: Mapped[str] = mapped_column(String(36))
    # Jobs with one lock key are never in flight in two runs at once: a variant and its configurable
    # write the same target record (Magento: the parent SKU), so they share their root model's key.
    lock_key: Mapped[str] = mapped_column(String(36))
    # Jobs of different entities with one order key go out in id order: a product deleted and
    # re-created in Akeneo under the same SKU (two uuids, one Magento record) is deleted first.
    order_key: Mapped[str] = mapped_column(String(36))
    # Dependency rank of the entity type (attributes and categories 0 ... products 4): a job waits
    # while an older job of a lower rank is due or running, so structure lands before what uses it.
    type_rank: Mapped[int] = mapped_column(Integer, default=0)
    code: Mapped[str] = mapped_column(String(511))
    operation: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(12))  # pending running success failed dead superseded
    priority: Mapped[int] = mapped_column(Integer)
    queue: Mapped[str] = mapped_column(String(40))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime)
    run_id: Mapped[str | None] = mapped_column(String(64))
    worker: Mapped[str | None] = mapped_column(String(100))  # host:pid of the process delivering it
    lease_until: Mapped[datetime | None] = mapped_column(DateTime)
    superseded_by: Mapped[int | None] = mapped_column(Integer)
    hook_state: Mapped[str | None] = mapped_column(String(20))  # async hooks: waiting | done
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)


class EntityMapping(Base):
    """IEC's entity mapping: where an entity lives in an integration's target (external id/data)."""

    __tablename__ = "entity_mappings"
    __table_args__ = (UniqueConstraint("integration", "entity_type", "entity_uuid"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    integration: Mapped[str] = mapped_column(String(100))
    entity_type: Mapped[str] = mapped_column(String(30))
    entity_uuid: Mapped[str] = mapped_column(String(36))
    external_id: Mapped[str | None] = mapped_column(String(255))
    external_data: Mapped[dict | None] = mapped_column(CanonicalJSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class WebhookDrop(Base):
    """One Akeneo event as received (a "drop"), written before the receiver answers 2xx."""

    __tablename__ = "webhook_drops"
    __table_args__ = ({"sqlite_autoincrement": True},)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(100), unique=True)
    scheme: Mapped[str] = mapped_column(String(20))  # event_platform | events_api
    type: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str | None] = mapped_column(String(255))
    entity_type: Mapped[str | None] = mapped_column(String(30))  # IEC type, None if not one IEC tracks
    code_or_uuid: Mapped[str | None] = mapped_column(String(511))
    action: Mapped[str | None] = mapped_column(String(20))  # created | updated | deleted
    occurred_at: Mapped[datetime | None] = mapped_column(DateTime)
    received_at: Mapped[datetime] = mapped_column(DateTime)
    raw_body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="new")  # new | processed | ignored
    processed_at: Mapped[datetime | None] = mapped_column(DateTime)
    run_id: Mapped[str | None] = mapped_column(String(64))


def entity_table(entity: EntityType) -> Table:
    """The store table of one entity type."""
    return Base.metadata.tables[entity.table_name]
