"""The magento2 driver against IEC's driver contract, its configuration, and Magento's status matrix."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from devtools.magento_sandbox.testing import SandboxHandle, running_sandbox
from drivers import registry
from drivers.magento2 import Magento2Driver
from drivers.models import DeliveryResult, MutationData, entity_uuid
from drivers.testing import DriverContractSuite
from tests.drivers.magento_support import deliver, make_driver, new_context

TOKEN = "magento-canary-token-5d1e"
ADMIN_PASSWORD = "magento-canary-password-93ab"
CONTRACT_FIELDS = {
    "base_url", "token", "username", "password", "channel", "currency", "default_locale", "store_views",
    "website_ids", "attribute_map", "category_root_id", "on_delete", "bulk", "batch_size", "max_concurrency",
    "timeout_seconds",
    # what a shop needs to sell (images, files, links, stock, websites per channel)
    "store_view_locales", "channel_websites", "price_scope", "image_roles", "asset_images", "file_attributes",
    "file_base_url", "association_map", "grouped_from", "stock",
}  # fmt: skip


@pytest.fixture(scope="module")
def sb() -> Iterator[SandboxHandle]:
    with running_sandbox(token=TOKEN, admin_password=ADMIN_PASSWORD) as handle:
        yield handle


class TestMagento2Contract(DriverContractSuite):
    @pytest.fixture
    def driver(self, sb: SandboxHandle) -> Magento2Driver:
        sb.reset()
        return make_driver(sb)

    @pytest.fixture
    def sample_mutations(self, synced_catalog) -> list[MutationData]:
        return synced_catalog.initial

    def test_sample_is_delivered_without_a_failure(self, driver, context, sample_mutations, sb) -> None:
        driver.open(context)
        results = driver.handle_batch(sample_mutations, context)
        driver.close()
        assert [
            (m.code, r.message) for m, r in zip(sample_mutations, results, strict=True) if r.status != "success"
        ] == []
        assert sb.stats()["schema_errors"] == 0


# --------------------------------------------------------------------------- configuration


def test_the_entry_point_finds_the_driver() -> None:
    assert registry.get("magento2") is Magento2Driver


def test_configuration_fields_are_the_contract() -> None:
    described = {f["name"]: f for f in Magento2Driver.describe()["configuration"]}
    assert set(described) == CONTRACT_FIELDS
    assert {name for name, f in described.items() if f["secret"]} == {"token", "password"}
    assert described["on_delete"]["default"] == "delete" and described["category_root_id"]["default"] == 2
    assert described["attribute_map"]["default"]["price"] == "price"


@pytest.mark.parametrize(
    "auth",
    [{}, {"token": "t", "username": "u", "password": "p"}, {"username": "u"}, {"password": "p"}],
)
def test_exactly_one_way_to_authenticate(auth: dict[str, str]) -> None:
    with pytest.raises(ValidationError) as raised:
        Magento2Driver(base_url="https://shop.example.com", **auth)
    assert "exactly one of `token`" in str(raised.value) or "go together" in str(raised.value)


def test_invalid_values_are_refused_without_echoing_secrets() -> None:
    for bad in ({"base_url": "shop"}, {"on_delete": "archive"}, {"store_views": {"fr_FR": "All"}}, {"website_ids": []}):
        with pytest.raises(ValidationError) as raised:
            Magento2Driver(
                **{"base_url": "https://shop.example.com", "password": ADMIN_PASSWORD, "username": "u", **bad}
            )
        assert ADMIN_PASSWORD not in str(raised.value)
    ok = Magento2Driver(base_url="https://shop.example.com/rest/", username="u", password=ADMIN_PASSWORD)
    assert ok.on_delete == "delete" and ok.website_ids == [1]


# ------------------------------------------------------------------------ status matrix


def probe(n: int = 1) -> MutationData:
    sku = "fault-probe"
    values = [{"attribute_code": "name", "channel": None, "locale": "en_US", "value": "Probe", "unit": None}]
    payload = {"identifier": sku, "enabled": True, "family": None, "values": values, "categories": []}
    return MutationData(mutation_id=n, entity_type="product", entity_uuid=entity_uuid("test-product", sku), code=sku,
                        operation="created", payload=payload, changed_fields=["name"])  # fmt: skip


def one(sb: SandboxHandle, faults: list[dict], **settings) -> DeliveryResult:
    sb.reset()
    sb.set_faults(faults)
    driver = make_driver(sb, **settings)
    context = new_context()
    driver.open(context)
    try:
        return deliver(driver, [probe()], context)[0]
    finally:
        driver.close()


@pytest.mark.parametrize(
    ("status", "expected"),
    [(400, "permanent"), (403, "permanent"), (404, "permanent"), (409, "permanent"), (413, "permanent"),
     (422, "permanent"), (408, "retryable"), (429, "retryable"), (500, "retryable"), (502, "retryable"),
     (503, "retryable"), (504, "retryable")],
)  # fmt: skip
def test_status_matrix(sb: SandboxHandle, status: int, expected: str) -> None:
    message = f"Injected {status} for %1"
    result = one(sb, [{"method": "PUT", "path": "/all/V1/products/fault-probe", "status": status, "message": message}])
    assert result.status == expected
    assert f"Magento answered {status} to PUT /all/V1/products/fault-probe" in result.message
    assert TOKEN not in result.message


def test_429_honours_retry_after(sb: SandboxHandle) -> None:
    rule = {"method": "PUT", "path": "fault-probe", "status": 429, "retry_after": 7}
    result = one(sb, [rule])
    assert result.status == "retryable" and result.retry_after == 7


def test_timeouts_and_refused_connections_are_retryable(sb: SandboxHandle) -> None:
    hang = {"method": "PUT", "path": "fault-probe", "status": None, "hang_ms": 800}
    result = one(sb, [hang], timeout_seconds=0.3)
    assert result.status == "retryable" and "no answer within 0.3s" in result.message
    driver = Magento2Driver(base_url="http://127.0.0.1:9", token=TOKEN)
    refused = driver.handle_batch([probe()], new_context())[0]
    assert refused.status == "retryable" and "connection failed" in refused.message


def test_integration_token_401_is_permanent(sb: SandboxHandle) -> None:
    sb.reset()
    driver = Magento2Driver(base_url=sb.base_url, token="not-the-token")
    result = driver.handle_batch([probe()], new_context())[0]
    assert result.status == "permanent" and "401" in result.message and "not-the-token" not in result.message


def test_admin_token_is_renewed_once_on_401(sb: SandboxHandle) -> None:
    rule = {"method": "PUT", "path": "fault-probe", "status": 401, "times": 1}
    result = one(sb, [rule], token=None, username=sb.admin_username, password=ADMIN_PASSWORD)
    assert result.status == "success"
    logins = [r for r in sb.requests() if r["path"] == "/V1/integration/admin/token"]
    assert len(logins) == 2  # the first token, then one renewal
    again = one(sb, [{**rule, "times": 2}], token=None, username=sb.admin_username, password=ADMIN_PASSWORD)
    assert again.status == "permanent"  # renewed once, not in a loop


def test_wrong_admin_password_is_permanent_and_never_printed(sb: SandboxHandle) -> None:
    sb.reset()
    driver = make_driver(sb, token=None, username=sb.admin_username, password="wrong-" + ADMIN_PASSWORD)
    result = driver.handle_batch([probe()], new_context())[0]
    assert result.status == "permanent" and "sign-in was incorrect" in result.message
    assert ADMIN_PASSWORD not in result.message


def test_unknown_store_view_is_a_clear_permanent_error(sb: SandboxHandle) -> None:
    sb.reset()
    driver = Magento2Driver(base_url=sb.base_url, token=TOKEN, store_views={"it_IT": "it"})
    result = driver.handle_batch([probe()], new_context())[0]
    assert result.status == "permanent" and "store view(s) it" in result.message
