"""Drift check after the sellable work: `verify()` reads a delivered product back without raising.

drivers/magento2/verify.py calls `products._kind(m)`, whose signature became `_kind(m, env)` (a grouped
product's type needs the settings): every verify, and so every delivery run's `no_drift` check, raises
TypeError. This test shows it on the smallest case: one simple product, delivered, then verified.
"""

from __future__ import annotations

from devtools.magento_sandbox.testing import running_sandbox
from drivers.models import MutationData, entity_uuid
from tests.drivers.magento_support import deliver, make_driver, new_context


def _mutation(mutation_id: int, entity_type: str, code: str, payload: dict) -> MutationData:
    return MutationData(mutation_id=mutation_id, entity_type=entity_type, entity_uuid=entity_uuid(entity_type, code),
                        code=code, operation="created", payload=payload, changed_fields=[])  # fmt: skip


def test_verify_of_a_delivered_simple_product_reports_no_drift():
    with running_sandbox() as sb:
        driver, context = make_driver(sb), new_context()
        name = _mutation(1, "attribute", "name", {"code": "name", "type": "pim_catalog_text", "localizable": True,
                                                  "labels": {"en_US": "Name"}})  # fmt: skip
        product = _mutation(2, "product", "mug", {"identifier": "mug", "enabled": True, "values": [
            {"attribute_code": "name", "locale": "en_US", "channel": None, "value": "Mug"}]})  # fmt: skip
        assert {r.status for r in deliver(driver, [name, product], context)} == {"success"}
        assert driver.verify([product], context) == []
