"""Helpers for the magento2 driver tests: deliver like IEC does, and read the sandbox back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from devtools.magento_sandbox.testing import SandboxHandle
from drivers.context import InMemoryMappings, IntegrationContext
from drivers.magento2 import Magento2Driver
from drivers.models import DeliveryResult, MutationData

STORE_VIEWS = {"en_US": "default", "fr_FR": "fr", "de_DE": "de"}


def make_driver(sb: SandboxHandle, **settings: Any) -> Magento2Driver:
    settings.setdefault("token", sb.token)
    return Magento2Driver(base_url=sb.base_url, store_views=STORE_VIEWS, **settings)


def new_context(name: str = "magento-test") -> IntegrationContext:
    return IntegrationContext(integration=name, mappings=InMemoryMappings(name))


def record(context: IntegrationContext, batch: Sequence[MutationData], results: Sequence[DeliveryResult]) -> None:
    """What IEC's ledger does with results: mappings saved (or forgotten) for the successes."""
    for m, r in zip(batch, results, strict=True):
        if r.status != "success":
            continue
        if r.forget_mapping:
            context.mappings.delete(m.entity_type, m.entity_uuid)
        elif r.external_id is not None or r.external_data is not None:
            context.mappings.save(m.entity_type, m.entity_uuid, r.external_id, r.external_data)


def deliver(driver: Magento2Driver, batch: Sequence[MutationData], context: IntegrationContext) -> list[DeliveryResult]:
    results = driver.handle_batch(list(batch), context)
    record(context, batch, results)
    return results


def deliver_until_done(
    driver: Magento2Driver, batch: Sequence[MutationData], context: IntegrationContext, rounds: int = 8
) -> dict[int, DeliveryResult]:
    """Deliver, then re-deliver the retryable ones (in their order) like IEC's retries would."""
    final: dict[int, DeliveryResult] = {}
    pending = list(batch)
    for _ in range(rounds):
        if not pending:
            break
        results = deliver(driver, pending, context)
        final.update({m.mutation_id: r for m, r in zip(pending, results, strict=True)})
        pending = [m for m, r in zip(pending, results, strict=True) if r.status == "retryable"]
    return final


def payload_value(payload: dict[str, Any], code: str, locale: str | None = None, channel: str | None = None) -> Any:
    for item in payload.get("values") or ():
        if item["attribute_code"] == code and item.get("locale") == locale and item.get("channel") == channel:
            return item
    return None


def normalized(state: dict[str, Any]) -> dict[str, Any]:
    """The sandbox state without its ids (option, category, set and product ids depend on the order
    things were created in): what two runs must agree on."""
    attributes = state["attributes"]
    option_code = {
        (code, str(o["id"])): o["labels"].get("0") for code, a in attributes.items() for o in a.get("options") or []
    }
    selects = {code for code, a in attributes.items() if a["frontend_input"] in ("select", "multiselect")}
    by_id = {a["attribute_id"]: code for code, a in attributes.items()}
    categories = state["categories"]

    def category_path(category_id: str) -> str:
        ids = categories[category_id]["path"].split("/")
        return "/".join(categories[i]["values"]["admin"]["name"] for i in ids if i in categories)

    def value(code: str, raw: Any) -> Any:
        if code in selects and raw not in (None, ""):
            return sorted(option_code.get((code, part), f"?{part}") for part in str(raw).split(","))
        return raw

    sets = state["attribute_sets"]
    products = {}
    for sku, p in state["products"].items():
        products[sku] = {
            "type": p["type_id"],
            "set": sets[str(p["attribute_set_id"])]["attribute_set_name"],
            "websites": p["website_ids"],
            "categories": sorted(category_path(link["category_id"]) for link in p["category_links"]),
            "values": {store: {c: value(c, x) for c, x in vals.items()} for store, vals in p["values"].items()},
            "children": sorted(p["children"]),
            "options": sorted(
                (
                    by_id.get(int(o["attribute_id"])),
                    sorted(
                        option_code.get((by_id.get(int(o["attribute_id"])), str(v["value_index"]))) for v in o["values"]
                    ),
                )  # fmt: skip
                for o in p["configurable_options"]
            ),
        }
    return {
        "products": products,
        "categories": sorted(
            (category_path(cid), sorted((s, v.get("name")) for s, v in c["values"].items()))
            for cid, c in categories.items()
        ),
        "attributes": {
            code: {
                "input": a["frontend_input"],
                "scope": a["scope"],
                "labels": a["frontend_labels"],
                "default_label": a["default_frontend_label"],
                "options": sorted((o["labels"].get("0"), sorted(o["labels"].items())) for o in a.get("options") or []),
            }
            for code, a in attributes.items()
        },
        "sets": {s["attribute_set_name"]: sorted(s["attributes"]) for s in sets.values()},
    }
