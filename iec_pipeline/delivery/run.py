"""One delivery run's work: claim due jobs of an integration, deliver them through its driver, record.

It keeps claiming batches until nothing is due, then lingers a little (new immediate work is
picked up within a second instead of waiting for the sensor and a new run), then stops.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from drivers.context import IntegrationContext
from drivers.models import DeliveryResult
from iec_pipeline import integrations
from iec_pipeline.delivery import hooks
from iec_pipeline.delivery import mutation_jobs as ledger
from iec_pipeline.delivery.mappings import StoreMappings
from iec_pipeline.faults import crash_point

PROGRESS_EVERY_SECONDS = 5.0  # progress lines in the run log on long deliveries


@dataclass
class DeliveryConfig:
    integration: str
    queue: str | None = None  # None: every queue of the integration
    batch_size: int = 200
    lease_seconds: float = 60.0  # renewed every lease/3 while the run lives
    linger_seconds: float = 0.0  # keep polling this long after the last due job
    max_seconds: float = 900.0  # hand over to a fresh run after this long
    poll_seconds: float = 0.5


@dataclass
class DeliveryStats:
    batches: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    vetoed: int = 0
    superseded: int = 0
    ignored: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    def as_metadata(self) -> dict[str, Any]:
        return {
            "batches": self.batches, "delivered": self.delivered, "retried": self.retried, "dead": self.dead,
            "superseded": self.superseded, "vetoed": self.vetoed, "late_results_ignored": self.ignored,
            "seconds": round(self.seconds, 3),
        }  # fmt: skip


def deliver(engine: Engine, run_id: str, config: DeliveryConfig, log: Any = None) -> DeliveryStats:
    log = log or logging.getLogger("iec.delivery")
    started = time.monotonic()
    stats = DeliveryStats()
    with engine.connect() as conn:
        integration = integrations.from_store(conn, config.integration)
    if not integration.spec.enabled:
        log.info(f"integration {config.integration} is disabled: nothing delivered")
        return stats
    spec = integration.spec
    driver = integration.build_driver()
    context = IntegrationContext(
        integration=spec.name, mappings=StoreMappings(engine, spec.name), log=log, settings={"queue": config.queue}
    )
    after_async = hooks.has_async(integration.driver_class, "iec_delivery_send_after")
    driver.open(context)
    idle_since = last_report = time.monotonic()
    heartbeat = _Heartbeat(engine, run_id, config.lease_seconds)
    heartbeat.start()
    try:
        while time.monotonic() - started < config.max_seconds:
            with engine.begin() as conn:
                claims = ledger.claim(conn, spec.name, config.queue, run_id, config.batch_size, config.lease_seconds)
                mutations = ledger.load_mutations(conn, claims) if claims else []
            if not claims:
                if time.monotonic() - idle_since >= config.linger_seconds:
                    break
                time.sleep(config.poll_seconds)
                continue
            stats.batches += 1
            stats.superseded += sum(len(c.superseded) for c in claims)
            to_send, sending, refused, refusals = [], [], [], []
            for claim_, mutation in zip(claims, mutations, strict=True):
                try:
                    mutation, reason = hooks.before_send(driver, mutation, context)
                except Exception as error:  # a broken hook fails this mutation, not the batch
                    refused.append(claim_)
                    refusals.append(DeliveryResult.retryable(f"hook failed: {type(error).__name__}: {error}"))
                    continue
                if reason is not None:
                    with engine.begin() as conn:
                        ledger.veto(conn, run_id, claim_, reason)
                    stats.vetoed += 1
                    continue
                to_send.append(claim_)
                sending.append(mutation)
            if refused:
                with engine.begin() as conn:
                    recorded = ledger.record(
                        conn, spec.name, run_id, refused, refusals, spec.retry_attempts, spec.retry_delay_seconds
                    )
                stats.retried += recorded.retried
                stats.dead += recorded.dead
            if sending:  # a run that stalled past its lease lost these jobs to another run: send none of those
                with engine.connect() as conn:
                    owned = ledger.still_owned(conn, run_id, [c.job_id for c in to_send])
                keep = [i for i, c in enumerate(to_send) if c.job_id in owned]
                stats.ignored += len(to_send) - len(keep)
                to_send, sending = [to_send[i] for i in keep], [sending[i] for i in keep]
            if sending:
                crash_point("delivery.before_send")
                try:
                    results = driver.handle_batch(sending, context)
                except BaseException:
                    with engine.begin() as conn:  # whatever happened, the jobs are not lost
                        ledger.release(conn, run_id, [c.job_id for c in to_send])
                    raise
                crash_point("delivery.after_send")
                with engine.begin() as conn:
                    recorded = ledger.record(
                        conn, spec.name, run_id, to_send, results, spec.retry_attempts, spec.retry_delay_seconds,
                        after_hooks=after_async,
                    )  # fmt: skip
                crash_point("delivery.after_record")
                hooks.after_send(driver, sending, results, context)
                stats.delivered += recorded.success
                stats.retried += recorded.retried
                stats.dead += recorded.dead
                stats.ignored += recorded.ignored
                for c, r in zip(to_send, results, strict=True):
                    if r.status != "success" and len(stats.errors) < 20:
                        stats.errors.append(f"{c.entity_type} {c.code}: {r.status}: {r.message}")
                if time.monotonic() - last_report >= PROGRESS_EVERY_SECONDS:  # each log line is an event write
                    last_report = time.monotonic()
                    log.info(
                        f"{spec.name}/{config.queue or 'all'}: {stats.delivered:,} delivered in {stats.batches} "
                        f"batch(es) so far, {stats.retried} to retry, {stats.dead} dead"
                    )
            idle_since = time.monotonic()
    finally:
        heartbeat.stop()
        driver.close()
        stats.seconds = time.monotonic() - started
    return stats


class _Heartbeat(threading.Thread):
    """Renews the leases of this run's jobs while it is alive."""

    def __init__(self, engine: Engine, run_id: str, lease_seconds: float) -> None:
        super().__init__(name="iec-delivery-heartbeat", daemon=True)
        self.engine, self.run_id, self.lease_seconds = engine, run_id, lease_seconds
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.lease_seconds / 3):
            try:
                with self.engine.begin() as conn:
                    ledger.renew_lease(conn, self.run_id, self.lease_seconds)
            except Exception:  # a missed beat is fine: the lease has room for two more
                logging.getLogger("iec.delivery").warning("lease renewal failed", exc_info=True)

    def stop(self) -> None:
        self._stop_event.set()
