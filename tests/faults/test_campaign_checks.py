"""The fault campaign's delivery checks can fail (bench/faults.py, `Campaign._check_delivery`): a ledger and
what the counting target saw, written by hand, each with one fault; a clean one passes.

No process is started: the store is a migrated SQLite file, the target's hits are appended directly.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import pytest
from sqlalchemy import insert

from bench.faults import INTEGRATIONS, Campaign, Hit
from drivers.webhook import idempotency_key
from iec_pipeline.store.db import get_engine, upgrade
from iec_pipeline.store.models import Mutation, MutationJob

pytestmark = pytest.mark.fast

UUID = "0b0b0b0b-0000-4000-8000-000000000001"
NOW = datetime(2025, 1, 1)


@pytest.fixture
def campaign(tmp_path):
    url = f"sqlite:///{tmp_path / 'iec.db'}"
    upgrade(url)
    with get_engine(url).begin() as conn:
        for mutation_id, operation in ((1, "created"), (2, "updated")):
            conn.execute(insert(Mutation).values(
                id=mutation_id, entity_type="product", entity_uuid=UUID, code="sku-1", operation=operation,
                payload={}, previous=None, changed_fields=[], sync_id="s", created_at=NOW,
            ))  # fmt: skip
            for integration in INTEGRATIONS:
                conn.execute(insert(MutationJob).values(
                    mutation_id=mutation_id, integration=integration, entity_type="product", entity_uuid=UUID,
                    lock_key=UUID, order_key=UUID, code="sku-1", operation=operation, priority=150, queue="normal",
                    status="superseded" if mutation_id == 1 else "success", next_attempt_at=NOW, created_at=NOW,
                    updated_at=NOW,
                ))  # fmt: skip
    made = Campaign(tmp_path / "campaign", url, "http://127.0.0.1:9", {}, "http://127.0.0.1:9", "sqlite", log=None)
    yield made
    made.close()


def hit(campaign: Campaign, integration: str, mutation_id: int) -> None:
    key = idempotency_key(integration, mutation_id)
    campaign.target.state.hits.append(Hit(key, integration, "product", UUID, mutation_id, 200))


def check(campaign: Campaign, before: Counter | None = None, at_kill: Counter | None = None):
    counts = campaign.target.state.counts(ok_only=False)
    campaign._check_delivery(before if before is not None else counts, at_kill if at_kill is not None else counts)
    report = campaign.report
    return report.missing, report.applied_twice, report.sent_twice, report.stale, report.stuck


def test_a_clean_ledger_and_target_pass(campaign):
    for integration in INTEGRATIONS:
        hit(campaign, integration, 2)
    assert check(campaign) == (0, 0, 0, 0, 0)
    assert campaign.report.ok and campaign.report.jobs_checked == 4


def test_a_success_never_seen_at_the_target_is_missing_and_stale(campaign):
    hit(campaign, "shop", 2)
    assert check(campaign) == (1, 0, 0, 1, 0)
    assert not campaign.report.ok


def test_a_resend_after_the_record_is_applied_twice(campaign):
    for integration in INTEGRATIONS:
        hit(campaign, integration, 2)
    before = campaign.target.state.counts(ok_only=False)
    hit(campaign, "erp", 2)  # a later trial's run sends it again
    assert check(campaign, before, before) == (0, 1, 0, 0, 0)


def test_a_resend_after_a_kill_left_it_unrecorded_is_allowed_once(campaign):
    for integration in INTEGRATIONS:
        hit(campaign, integration, 2)
    at_kill = campaign.target.state.counts(ok_only=False)
    campaign.allowed[idempotency_key("erp", 2)] += 1  # it was `running` at the kill, its request had arrived
    hit(campaign, "erp", 2)
    assert check(campaign, Counter(), at_kill) == (0, 0, 1, 0, 0)
    hit(campaign, "erp", 2)  # a third time: one more than allowed
    assert check(campaign, Counter(), at_kill)[1] == 1


def test_an_older_mutation_last_at_the_target_is_stale(campaign):
    for integration in INTEGRATIONS:
        hit(campaign, integration, 2)
    hit(campaign, "shop", 1)  # the superseded one arrives after the newest
    missing, applied, _, stale, _ = check(campaign)
    assert (missing, stale) == (0, 1) and applied == 1  # and no job of mutation 1 was ever to be sent


def test_a_pending_job_after_the_drain_is_stuck_and_a_mutation_without_its_jobs_is_missing(campaign):
    from sqlalchemy import delete, update

    with get_engine(campaign.store_url).begin() as conn:
        conn.execute(update(MutationJob).where(MutationJob.integration == "shop").values(status="pending"))
        conn.execute(delete(MutationJob).where(MutationJob.integration == "erp", MutationJob.mutation_id == 1))
    hit(campaign, "erp", 2)
    missing, _, _, stale, stuck = check(campaign)
    assert (missing, stuck, stale) == (1, 2, 1)
