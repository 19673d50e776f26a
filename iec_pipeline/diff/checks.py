"""The diff's asset checks, run right after it in its step: they hold the mutation log to IEC's promises."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import dagster as dg
from sqlalchemy import Connection, Engine, case, exists, false, func, select

from iec_pipeline.common.entity_types import ENTITY_TYPES
from iec_pipeline.store.models import Family, Mutation, Product, ProductAttribute, ProductAttributeValue, entity_table

CHECK_DOCS = {
    "mutations_reference_entities": "Every mutation names an entity the store holds (or held, for deletes).",
    "one_mutation_per_entity": "No entity gets two mutations from one sync.",
    "values_reference_known_attributes": "Every stored value belongs to a known attribute (warning).",
    "product_families_exist": "Every product's family exists in the store (warning).",
}
CHECK_SPECS = [dg.AssetCheckSpec(name, asset="catalog_diff", description=doc) for name, doc in CHECK_DOCS.items()]


def run_checks(engine: Engine, sync_ids: Sequence[str]) -> list[dg.AssetCheckResult]:
    """Every check of what these syncs recorded, each on its own read connection, all at once (the
    database runs them in parallel). Counts are numbers, so the UI plots them; details are JSON."""
    checks: list[Callable[[Connection], dg.AssetCheckResult]] = [
        lambda conn: _mutations_reference_entities(conn, sync_ids),
        lambda conn: _one_mutation_per_entity(conn, sync_ids),
        _values_reference_known_attributes,
        _product_families_exist,
    ]

    def run(check: Callable[[Connection], dg.AssetCheckResult]) -> dg.AssetCheckResult:
        with engine.connect() as conn:
            return check(conn)

    with ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="iec-check") as pool:
        return list(pool.map(run, checks))


def _mutations_reference_entities(conn: Connection, sync_ids: Sequence[str]) -> dg.AssetCheckResult:
    # One pass over the sync's mutations, each looked up in its own type's table.
    uuid = Mutation.entity_uuid
    held = case(
        *[
            (Mutation.entity_type == entity.name, exists(select(1).where(entity_table(entity).c.uuid == uuid)))
            for entity in ENTITY_TYPES
        ],
        else_=false(),
    )
    dangling = dict(
        conn.execute(
            select(Mutation.entity_type, func.count())
            .where(Mutation.sync_id.in_(sync_ids), Mutation.operation != "deleted", ~held)
            .group_by(Mutation.entity_type)
        ).all()
    )
    return dg.AssetCheckResult(
        check_name="mutations_reference_entities",
        passed=not dangling,
        metadata={"dangling_mutations": sum(dangling.values()), "dangling": dg.MetadataValue.json(dangling)},
    )


def _one_mutation_per_entity(conn: Connection, sync_ids: Sequence[str]) -> dg.AssetCheckResult:
    doubled = conn.execute(
        select(Mutation.entity_type, Mutation.code, func.count())
        .where(Mutation.sync_id.in_(sync_ids))
        .group_by(Mutation.sync_id, Mutation.entity_type, Mutation.entity_uuid, Mutation.code)
        .having(func.count() > 1)
        .limit(20)
    ).all()
    return dg.AssetCheckResult(
        check_name="one_mutation_per_entity",
        passed=not doubled,
        metadata={
            "doubled_entities": len(doubled),
            "doubled": dg.MetadataValue.json([f"{t}:{c} x{n}" for t, c, n in doubled]),
        },
    )


def _values_reference_known_attributes(conn: Connection) -> dg.AssetCheckResult:
    # One scan of the values against the (small) set of attribute codes: cheap even on a large store.
    unknown = dict(
        conn.execute(
            select(ProductAttributeValue.attribute_code, func.count())
            .where(ProductAttributeValue.attribute_code.not_in(select(ProductAttribute.code)))
            .group_by(ProductAttributeValue.attribute_code)
            .limit(20)
        ).all()
    )
    return dg.AssetCheckResult(
        check_name="values_reference_known_attributes",
        passed=not unknown,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "values_of_unknown_attributes": sum(unknown.values()),
            "unknown_attributes": dg.MetadataValue.json(unknown),
        },
    )


def _product_families_exist(conn: Connection) -> dg.AssetCheckResult:
    missing = conn.execute(
        select(Product.family, func.count())
        .where(Product.family.is_not(None), ~exists(select(1).where(Family.code == Product.family)))
        .group_by(Product.family)
        .limit(20)
    ).all()
    return dg.AssetCheckResult(
        check_name="product_families_exist",
        passed=not missing,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "products_without_their_family": sum(n for _, n in missing),
            "missing_families": dg.MetadataValue.json({f: n for f, n in missing}),
        },
    )
