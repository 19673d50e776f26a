"""`changed_fields`, flattened as in IEC (TracksEavChanges), computed set-wise.

Two payloads are exploded into rows (key, field, part, value) and compared with one pandas
merge: a top-level field is one row, an EAV value one row per (attribute, channel, locale) whose
field is the attribute code. So a change in any locale, channel or currency of `name` gives
`name`, and a value present on one side only (emptied in Akeneo) gives its attribute too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from iec_pipeline.common.entity_types import EntityType
from iec_pipeline.store.models import canonical_json

if TYPE_CHECKING:  # pandas is slow to import: loaded only by the work that uses it
    import pandas as pd

IGNORED = frozenset({"uuid", "values", "updated_at", "completeness", "root_parent", "level"})
COLUMNS = ["key", "field", "part", "value"]


def _rows(entity: EntityType, key: str, payload: Mapping[str, Any] | None) -> list[tuple[str, str, str, str]]:
    if not payload:
        return []
    rows = []
    for field, value in payload.items():
        if field in IGNORED or value is None or value == [] or value == {}:
            continue
        if field == "categories" and isinstance(value, list):
            value = sorted(c["code"] if isinstance(c, Mapping) else c for c in value)
        if field in entity.flatten and isinstance(value, Mapping):
            rows.extend((key, sub, "", canonical_json(v)) for sub, v in value.items())
            continue
        rows.append((key, field, "", canonical_json(value)))
    for v in payload.get("values") or ():
        part = f"{v.get('channel') or ''}|{v.get('locale') or ''}"
        rows.append((key, v["attribute_code"], part, canonical_json([v["value"], v.get("unit")])))
    return rows


def explode(entity: EntityType, payloads: Mapping[str, Mapping[str, Any] | None]) -> pd.DataFrame:
    import pandas as pd

    rows = [row for key, payload in payloads.items() for row in _rows(entity, key, payload)]
    return pd.DataFrame(rows, columns=COLUMNS)


def changed_fields(
    entity: EntityType,
    before: Mapping[str, Mapping[str, Any] | None],
    after: Mapping[str, Mapping[str, Any] | None],
) -> dict[str, list[str]]:
    """key -> sorted changed field names, for every key of `after` (empty list: no change)."""
    old = explode(entity, before)
    new = explode(entity, after)
    merged = old.merge(new, on=["key", "field", "part"], how="outer", suffixes=("_old", "_new"))
    differs = merged[merged["value_old"].ne(merged["value_new"])]
    changed = differs.groupby("key")["field"].agg(lambda s: sorted(set(s)))
    result = {key: [] for key in after}
    result.update({key: fields for key, fields in changed.items() if key in result})
    return result


def present_fields(entity: EntityType, payloads: Mapping[str, Mapping[str, Any] | None]) -> dict[str, list[str]]:
    """key -> every field the payload carries (a `created` or `deleted` mutation lists them all)."""
    result = {}
    for key, payload in payloads.items():
        fields = set()
        for field, value in (payload or {}).items():
            if field in IGNORED or value is None or value == [] or value == {}:
                continue
            fields.update(value) if field in entity.flatten and isinstance(value, Mapping) else fields.add(field)
        fields.update(v["attribute_code"] for v in (payload or {}).get("values") or ())
        result[key] = sorted(fields)
    return result
