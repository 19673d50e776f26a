"""Attribute sets and their groups (product entity type only), mixed into ``Eav``.

Rules kept from Magento: unique set names, sets built from a skeleton copy its groups and
assignments, the default set cannot be deleted, system attributes cannot be unassigned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import errors

if TYPE_CHECKING:
    from .eav import Attribute

PRODUCT_ENTITY_TYPE_ID = 4
DEFAULT_SET_ID = 4
_SET_MISSING = 'The AttributeSet with a "%1" ID doesn\'t exist. Verify the attributeSet and try again.'
_NOT_IN_SET = 'The "%1" attribute wasn\'t found in the "%2" attribute set. Enter the attribute and try again.'


@dataclass(slots=True)
class Group:
    id: int
    name: str
    set_id: int
    code: str
    sort_order: int

    def to_json(self) -> dict[str, Any]:
        return {
            "attribute_group_id": str(self.id),
            "attribute_group_name": self.name,
            "attribute_set_id": self.set_id,
            "extension_attributes": {"attribute_group_code": self.code, "sort_order": str(self.sort_order)},
        }


@dataclass(slots=True)
class AttributeSet:
    id: int
    name: str
    sort_order: int
    # attribute code -> (group id, sort order, entity_attribute_id)
    attributes: dict[str, tuple[int, int, int]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "attribute_set_id": self.id,
            "attribute_set_name": self.name,
            "sort_order": self.sort_order,
            "entity_type_id": PRODUCT_ENTITY_TYPE_ID,
        }


_GROUPS = [
    (7, "General", "product-details", 10),
    (8, "Content", "content", 20),
    (9, "Search Engine Optimization", "search-engine-optimization", 30),
    (10, "Advanced Pricing", "advanced-pricing", 40),
    (11, "Images", "image-management", 50),
]


class AttributeSetsMixin:
    attributes: dict[str, Attribute]
    sets: dict[int, AttributeSet]
    groups: dict[int, Group]
    _next_set_id: int
    _next_group_id: int

    def get(self, code: str) -> Attribute:  # provided by Eav
        raise NotImplementedError

    def _entity_attribute_id(self) -> int:  # provided by Eav
        raise NotImplementedError

    # ---------------------------------------------------------------------- attribute sets

    def get_set(self, set_id: int) -> AttributeSet:
        attribute_set = self.sets.get(set_id)
        if attribute_set is None:
            raise errors.no_such_entity("id", set_id)
        return attribute_set

    def _check_set_name(self, name: str | None, exclude: int | None = None) -> str:
        name = (name or "").strip()
        if not name:
            raise errors.bad_request("The attribute set name is empty. Enter the name and try again.")
        if any(s.name.lower() == name.lower() and s.id != exclude for s in self.sets.values()):
            raise errors.bad_request('An attribute set named "%1" already exists.', [name])
        return name

    def create_set(self, data: dict[str, Any], skeleton_id: int) -> AttributeSet:
        if data.get("attribute_set_id") is not None:
            raise errors.invalid_field_value("id", data["attribute_set_id"])
        skeleton = self.sets.get(skeleton_id)
        if skeleton is None:
            raise errors.bad_request("The skeleton set is invalid. Verify the skeleton set and try again.")
        name = self._check_set_name(data.get("attribute_set_name"))
        self._next_set_id += 1
        new = AttributeSet(self._next_set_id, name, int(data.get("sort_order") or 0))
        group_map: dict[int, int] = {}
        for group in [g for g in self.groups.values() if g.set_id == skeleton.id]:
            self._next_group_id += 1
            self.groups[self._next_group_id] = Group(
                self._next_group_id, group.name, new.id, group.code, group.sort_order
            )
            group_map[group.id] = self._next_group_id
        for code, (gid, sort, _) in skeleton.attributes.items():
            new.attributes[code] = (group_map.get(gid, gid), sort, self._entity_attribute_id())
        self.sets[new.id] = new
        return new

    def update_set(self, set_id: int, data: dict[str, Any]) -> AttributeSet:
        attribute_set = self.get_set(set_id)
        if data.get("attribute_set_name") is not None:
            attribute_set.name = self._check_set_name(data["attribute_set_name"], exclude=set_id)
        if data.get("sort_order") is not None:
            attribute_set.sort_order = int(data["sort_order"])
        return attribute_set

    def delete_set(self, set_id: int) -> AttributeSet:
        attribute_set = self.get_set(set_id)
        if set_id == DEFAULT_SET_ID:
            raise errors.bad_request("The default attribute set can't be deleted.")
        del self.sets[set_id]
        for gid in [g.id for g in self.groups.values() if g.set_id == set_id]:
            del self.groups[gid]
        return attribute_set

    def save_group(self, data: dict[str, Any]) -> Group:
        set_id = data.get("attribute_set_id")
        if set_id is None or set_id not in self.sets:
            raise errors.no_such_entity("attributeSetId", set_id)
        name = (data.get("attribute_group_name") or "").strip()
        ext = data.get("extension_attributes") or {}
        code = ext.get("attribute_group_code") or re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        group_id = data.get("attribute_group_id")
        if group_id:
            if not str(group_id).isdigit() or int(group_id) not in self.groups:
                raise errors.no_such_entity("attributeGroupId", group_id)
            group = self.groups[int(group_id)]
            if group.set_id != set_id:
                raise errors.bad_request("The attribute group doesn't belong to the provided attribute set.")
        else:
            group = None
        clash = any(
            g.set_id == set_id and g is not group and (g.name.lower() == name.lower() or g.code == code)
            for g in self.groups.values()
        )
        if not name or clash:
            raise errors.bad_request("The attributeGroup can't be saved.")
        sort = int(ext.get("sort_order") or 0) if str(ext.get("sort_order") or "0").isdigit() else 0
        if group is None:
            self._next_group_id += 1
            group = Group(self._next_group_id, name, set_id, code, sort)
            self.groups[group.id] = group
        else:
            group.name, group.code, group.sort_order = name, code, sort
        return group

    def groups_of(self, set_id: int) -> list[Group]:
        return sorted(
            (g for g in self.groups.values() if g.set_id == set_id), key=lambda g: (g.sort_order, g.id)
        )

    def assign(self, set_id: int, group_id: int, code: str, sort_order: int) -> int:
        attribute_set = self.sets.get(set_id)
        if attribute_set is None:
            raise errors.not_found(_SET_MISSING, [set_id])
        group = self.groups.get(group_id)
        if group is None:
            raise errors.not_found(
                'The group with the "%1" ID doesn\'t exist. Verify the ID and try again.', [group_id]
            )
        if group.set_id != set_id:
            raise errors.bad_request("The attribute group doesn't belong to the attribute set.")
        attr = self.get(code)
        entity_attribute_id = self._entity_attribute_id()
        attribute_set.attributes[attr.code] = (group_id, sort_order, entity_attribute_id)
        return entity_attribute_id

    def unassign(self, set_id: int, code: str) -> bool:
        attribute_set = self.sets.get(set_id)
        if attribute_set is None:
            raise errors.not_found(_SET_MISSING, [set_id])
        attr = self.get(code)
        if attr.code not in attribute_set.attributes:
            raise errors.not_found(_NOT_IN_SET, [code, set_id])
        if not attr.is_user_defined:
            raise errors.bad_request("The system attribute can't be deleted.")
        del attribute_set.attributes[attr.code]
        return True

    def set_attributes(self, set_id: int) -> list[Attribute]:
        attribute_set = self.get_set(set_id)
        return [self.attributes[c] for c in attribute_set.attributes if c in self.attributes]

    def dump(self) -> dict[str, Any]:
        return {
            "attributes": {code: a.dump() for code, a in self.attributes.items()},
            "attribute_sets": {
                str(s.id): {
                    **s.to_json(),
                    "groups": [g.to_json() for g in self.groups_of(s.id)],
                    "attributes": {
                        c: {"group_id": g, "sort_order": o} for c, (g, o, _) in s.attributes.items()
                    },
                }
                for s in self.sets.values()
            },
        }
