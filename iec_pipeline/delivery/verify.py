"""The drift check (`iec integrations verify`, the `verify_<name>` schedule): each driver reads its
target back (GETs only) and reports what differs from the store; `--repair` queues jobs that send
the store's state again, after forgetting what the mapping says was sent (so nothing is skipped as
"already sent").
"""


import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import dagster as dg
from sqlalchemy import Engine, select

from drivers.base import NotSupported
from drivers.context import IntegrationContext, MediaSource, NoMedia
from drivers.models import Drift, MutationData
from iec_pipeline.common.entity_types import get
from iec_pipeline.common.settings import Settings
from iec_pipeline.delivery.mappings import DryRunMappings, StoreMappings
from iec_pipeline.diff import payloads
from iec_pipeline.diff.replay import requeue
from iec_pipeline.ingest.akeneo import AkeneoResource
from iec_pipeline.ingest.media import AkeneoMedia
from iec_pipeline.routing.integrations import LoadedIntegration
from iec_pipeline.routing.resource import IntegrationsResource
from iec_pipeline.store.models import entity_table
from iec_pipeline.store.resource import StoreResource

CHECKED_TYPES = ("product_model", "product")


@dataclass
class DriftReport:
    integration: str
    checked: int = 0
    drifts: list[Drift] = field(default_factory=list)
    not_supported: str | None = None
    repaired: int = 0
    uuids: dict[tuple[str, str], str] = field(default_factory=dict)  # (entity type, code) -> uuid

    @property
    def counts(self) -> dict[str, int]:
        counted = Counter(d.kind for d in self.drifts)
        return {kind: counted.get(kind, 0) for kind in ("missing", "extra", "different")}

    def as_json(self) -> dict:
        return {
            "integration": self.integration,
            "checked": self.checked,
            "supported": self.not_supported is None,
            **({"reason": self.not_supported} if self.not_supported else {}),
            "counts": self.counts,
            "drift": [d.model_dump() for d in self.drifts],
            "repaired": self.repaired,
        }


def current_states(engine: Engine, entity_types: Sequence[str], sample: int | None = None) -> list[MutationData]:
    """The entities as the store holds them now, as the driver's input (the first `sample` per type)."""
    states: list[MutationData] = []
    with engine.connect() as conn:
        categories = payloads.CategoryIndex(conn)
        for name in entity_types:
            entity = get(name)
            query = select(entity_table(entity).c.uuid).order_by(entity_table(entity).c.uuid)
            keys = list(conn.execute(query.limit(sample) if sample else query).scalars())
            for key, payload in payloads.build(conn, name, keys, categories).items():
                code = str(payload[entity.code_column])
                states.append(
                    MutationData(mutation_id=0, entity_type=name, entity_uuid=key, code=code, operation="updated",
                                 payload=payload)
                )  # fmt: skip
    return states


def verify(
    engine: Engine,
    integration: LoadedIntegration,
    entity_types: Sequence[str] | None = None,
    sample: int | None = None,
    log: logging.Logger | None = None,
    media: MediaSource | None = None,
) -> DriftReport:
    types = [t for t in CHECKED_TYPES if t in integration.spec.entity_types and (not entity_types or t in entity_types)]
    report = DriftReport(integration.name)
    states = current_states(engine, types, sample)
    report.checked = len(states)
    report.uuids = {(m.entity_type, m.code): m.entity_uuid for m in states}
    context = IntegrationContext(
        integration.name, DryRunMappings(engine, integration.name), log=log or logging.getLogger("iec.verify"),
        media=media or NoMedia(),  # reading Akeneo's files is no write to the target
    )  # fmt: skip
    driver = integration.build_driver()
    try:
        report.drifts = driver.verify(states, context)
    except NotSupported as error:
        report.not_supported = str(error)
    finally:
        driver.close()
    return report


def repair(engine: Engine, integration: LoadedIntegration, report: DriftReport) -> int:
    """Jobs restoring the store's state where the target is missing it or differs (extras are left
    alone: they are not ours to delete)."""
    mappings = StoreMappings(engine, integration.name)
    by_type: dict[str, set[str]] = {}
    for drift in report.drifts:
        uuid = report.uuids.get((drift.entity_type, drift.code))
        if drift.kind != "extra" and uuid is not None:
            by_type.setdefault(drift.entity_type, set()).add(uuid)
    for entity_type, uuids in by_type.items():
        for uuid, mapping in mappings.find_many(entity_type, sorted(uuids)).items():
            kept = {k: v for k, v in mapping.external_data.items() if k != "sent"}  # send every field again
            mappings.save(entity_type, uuid, mapping.external_id, kept)
    report.repaired = sum(requeue(engine, integration, t, sorted(u), "repair") for t, u in by_type.items())
    return report.repaired


def drift_check(integration: str, asset_key: dg.AssetKey):
    """The `no_drift` check of an integration's asset: run by the `verify_<name>` job (and schedule)."""

    @dg.asset_check(
        asset=asset_key,
        name="no_drift",
        description=f"What `{integration}` holds matches the store (products read back; GETs only).",
        blocking=False,
    )
    def no_drift(
        context: dg.AssetCheckExecutionContext,
        store: StoreResource,
        integrations: IntegrationsResource,
        akeneo: AkeneoResource,
    ):
        loaded = next((i for i in integrations.load() if i.name == integration), None)
        if loaded is None:
            raise dg.Failure(description=f"integration {integration!r} is not declared in the integrations file")
        engine = store.engine()
        with AkeneoMedia(lambda: akeneo.client(log=context.log), engine, Settings.from_env().media_dir,
                         log=context.log) as media:  # fmt: skip
            report = verify(engine, loaded, log=context.log, media=media)
        counts = report.counts
        context.log.info(f"{integration}: {report.checked} entities checked, drift {counts}")
        return dg.AssetCheckResult(
            passed=report.not_supported is None and not counts["missing"] and not counts["different"],
            severity=dg.AssetCheckSeverity.WARN,
            description=report.not_supported or f"{sum(counts.values())} drift(s); repair: iec integrations verify "
            f"{integration} --repair",
            metadata={"checked": report.checked, **counts,
                      "sample": dg.MetadataValue.json([d.model_dump() for d in report.drifts[:20]])},
        )  # fmt: skip

    return no_drift
