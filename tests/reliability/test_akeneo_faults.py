"""Akeneo faults (reliability-tests.md rows 13, 14): a page that hangs past the client's timeout ends in a
classified failure with nothing partial committed and nothing missing once healed; an incremental sync failing
mid-way leaves the watermark where it was, and the next one catches up."""

import dagster as dg
import pytest
from sqlalchemy import select

from devtools.sample_catalog import generated_products, product_uuid, v
from iec_pipeline.ingest import akeneo as akeneo_client
from iec_pipeline.launch import run_sync
from iec_pipeline.store.db import get_engine
from iec_pipeline.store.models import SyncState
from tests.support import store
from tests.support.akeneo_proxy import Fault

TIMEOUT = 0.5
PAGES = r"GET /api/rest/v1/products-uuid\?"


@pytest.fixture
def impatient_client(monkeypatch):
    """The Akeneo client with a short timeout and few, quick retries; the step's retries without their wait."""
    real = akeneo_client.AkeneoClient.__post_init__

    def short(self) -> None:
        self.timeout_seconds = TIMEOUT
        self.retry = akeneo_client.RetryPolicy(max_attempts=3, backoff_seconds=0.01, backoff_max_seconds=0.05)
        real(self)

    monkeypatch.setattr(akeneo_client.AkeneoClient, "__post_init__", short)
    monkeypatch.setattr(dg.RetryPolicy, "calculate_delay", lambda self, attempt_num: 0.05)


def watermarks(url: str) -> dict:
    with get_engine(url).connect() as conn:
        return dict(conn.execute(select(SyncState.entity_type, SyncState.watermark)).all())


def name_of(url: str, code: str) -> str | None:
    return store.values_of(url, product_uuid(code)).get(("name", "", "en_US"), (None,))[0]


def test_a_page_hanging_past_the_timeout_is_a_classified_failure_and_nothing_is_missing_after(
    akeneo, iec_env, instance, impatient_client, tmp_path, monkeypatch
):
    with akeneo.seeder() as seeder:
        seeder.seed()
        seeder.patch_products(generated_products(250))
    akeneo.proxy.inject(Fault(PAGES, hang=TIMEOUT * 3, skip=2, times=1000))  # the third page, every time
    failed = run_sync(instance, mode="full")
    assert not failed.success
    error = " ".join(failed.errors)
    assert "/api/rest/v1/products-uuid" in error and "ReadTimeout" in error and "gave up after 3 attempts" in error
    assert store.dump(iec_env.store_url)["product"] == []  # the two pages read were not committed
    assert "product" not in {k for k, w in watermarks(iec_env.store_url).items() if w is not None}

    akeneo.proxy.reset()  # healed
    assert run_sync(instance, mode="full").success
    healed = store.dump(iec_env.store_url)
    clean_url = f"sqlite:///{tmp_path / 'clean.db'}"
    monkeypatch.setenv("IEC_DATABASE_URL", clean_url)
    assert run_sync(instance, mode="full").success
    assert len(healed["product"]) == 260
    assert store.as_json(healed) == store.as_json(store.dump(clean_url))


def test_a_failed_incremental_sync_leaves_the_watermark_and_the_next_one_catches_up(
    akeneo, iec_env, instance, impatient_client
):
    with akeneo.seeder() as seeder:
        seeder.seed()
        seeder.patch_products(generated_products(250, updated="2026-01-10T08:00:00+00:00"))
    assert run_sync(instance, mode="full").success
    before = watermarks(iec_env.store_url)
    assert before.get("product") is not None
    changed = [f"gen-{n:07d}" for n in (3, 120, 240)]
    with akeneo.seeder() as seeder:
        for code in changed:
            seeder.upsert("products-uuid", product_uuid(code), {
                "values": {"name": [v(f"renamed {code}", "en_US")]}, "updated": "2026-01-11T09:30:00+00:00",
            })  # fmt: skip
    akeneo.proxy.reset()
    akeneo.proxy.inject(Fault(PAGES, status=503, times=1000, message="maintenance"))
    failed = run_sync(instance, mode="incremental")
    assert not failed.success and "HTTP 503" in " ".join(failed.errors)
    assert watermarks(iec_env.store_url) == before  # not advanced past what was never stored
    for code in changed:
        assert name_of(iec_env.store_url, code) != f"renamed {code}"

    akeneo.proxy.reset()
    caught_up = run_sync(instance, mode="incremental")
    assert caught_up.success, caught_up.errors
    assert caught_up.mutations["updated"] == 3
    for code in changed:
        assert name_of(iec_env.store_url, code) == f"renamed {code}"
    assert watermarks(iec_env.store_url)["product"] > before["product"]
