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

import dagster as dg
from pydantic import Field
from sqlalchemy import Engine

from drivers import hooks
from drivers.context import IntegrationContext, MediaSource, NoMedia
from drivers.models import DeliveryResult
from iec_pipeline.common.faults import crash_point
from iec_pipeline.delivery import ledger
from iec_pipeline.delivery.mappings import StoreMappings
from iec_pipeline.routing import integrations
from iec_pipeline.routing.connections import ConnectionCredentials

PROGRESS_EVERY_SECONDS = 5.0  # progress lines in the run log on long deliveries


class DeliveryConfig(dg.Config):
    """What one delivery run does (the integration asset's run config); every field has a default,
    so a delivery launches from the UI without typing any."""

    queue: str | None = Field(
        default=None, description="Only this queue (integrations-immediate|normal|low); empty: every queue"
    )
    batch_size: int = Field(default=200, ge=1, le=5000, description="Jobs claimed per batch")
    linger_seconds: float = Field(default=15.0, ge=0, description="Keep polling for new work this long when idle")
    max_seconds: float = Field(default=900.0, gt=0, description="Stop after this long; the sensor starts a fresh run")
    lease_seconds: float = Field(
        default=60.0, gt=5, description="Lease of claimed jobs, renewed every third of it while the run lives"
    )
    poll_seconds: float = Field(default=0.5, gt=0, description="How often an idle run looks for new work")


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


def deliver(
    engine: Engine,
    run_id: str,
    integration_name: str,
    config: DeliveryConfig,
    log: Any = None,
    media: MediaSource | None = None,
) -> DeliveryStats:
    """Claims and delivers `integration_name`'s batches until nothing is due (then lingers), or
    `max_seconds` passed. `media` is what drivers get as `context.media` (Akeneo's files; none by default)."""
    log = log or logging.getLogger("iec.delivery")
    started = time.monotonic()
    stats = DeliveryStats()
    with engine.connect() as conn:
        integration = integrations.from_store(conn, integration_name)
    if not integration.spec.enabled:
        log.info(f"integration {integration_name} is disabled: nothing delivered")
        return stats
    batch = _Batch(engine, run_id, config, integration, log, stats, media or NoMedia())
    batch.driver.open(batch.context)
    idle_since = last_report = time.monotonic()
    heartbeat = _Heartbeat(engine, run_id, config.lease_seconds)
    heartbeat.start()
    try:
        while time.monotonic() - started < config.max_seconds:
            if not batch.claim_and_deliver():
                if time.monotonic() - idle_since >= config.linger_seconds:
                    break
                time.sleep(config.poll_seconds)
                continue
            if time.monotonic() - last_report >= PROGRESS_EVERY_SECONDS:  # each log line is an event write
                last_report = time.monotonic()
                log.info(
                    f"{integration_name}/{config.queue or 'all'}: {stats.delivered:,} delivered in "
                    f"{stats.batches} batch(es) so far, {stats.retried} to retry, {stats.dead} dead"
                )
            idle_since = time.monotonic()
    finally:
        heartbeat.stop()
        batch.driver.close()
        stats.seconds = time.monotonic() - started
    return stats


class _Batch:
    """One claimed batch at a time: hooks before, still-owned check, send, record, hooks after."""

    def __init__(
        self,
        engine: Engine,
        run_id: str,
        config: DeliveryConfig,
        integration: Any,
        log: Any,
        stats: DeliveryStats,
        media: MediaSource,
    ) -> None:
        self.engine, self.run_id, self.config, self.stats, self.log = engine, run_id, config, stats, log
        self.spec = integration.spec
        self.driver = integration.build_driver()
        self.context = IntegrationContext(
            integration=self.spec.name, mappings=StoreMappings(engine, self.spec.name), log=log,
            settings={"queue": config.queue}, connection_credentials=ConnectionCredentials(engine, self.spec.name),
            media=media,
        )  # fmt: skip
        self.after_async = hooks.has_async(integration.driver_class, hooks.SEND_AFTER)

    def claim_and_deliver(self) -> bool:
        """One batch; False when nothing was due."""
        config, spec = self.config, self.spec
        with self.engine.begin() as conn:
            claims = ledger.claim(conn, spec.name, config.queue, self.run_id, config.batch_size, config.lease_seconds)
            mutations = ledger.load_mutations(conn, claims) if claims else []
        if not claims:
            return False
        self.stats.batches += 1
        self.stats.superseded += sum(len(c.superseded) for c in claims)
        self.log.info(f"{spec.name}: batch {self.stats.batches}: {_first_keys(claims)}")
        to_send, sending = self._through_hooks(claims, mutations)
        if sending:  # a run that stalled past its lease lost these jobs to another run: send none of those
            with self.engine.connect() as conn:
                owned = ledger.still_owned(conn, self.run_id, [c.job_id for c in to_send])
            keep = [i for i, c in enumerate(to_send) if c.job_id in owned]
            self.stats.ignored += len(to_send) - len(keep)
            to_send, sending = [to_send[i] for i in keep], [sending[i] for i in keep]
        if sending:
            self._send(to_send, sending)
        return True

    def _through_hooks(self, claims: list, mutations: list) -> tuple[list, list]:
        """Runs the sync send-before hooks: vetoed jobs end superseded, a broken hook makes its job retry."""
        to_send, sending, refused, refusals = [], [], [], []
        for claim_, mutation in zip(claims, mutations, strict=True):
            try:
                mutation, reason = hooks.before_send(self.driver, mutation, self.context)
            except Exception as error:  # a broken hook fails this mutation, not the batch
                refused.append(claim_)
                refusals.append(DeliveryResult.retryable(f"hook failed: {type(error).__name__}: {error}"))
                continue
            if reason is not None:
                with self.engine.begin() as conn:
                    ledger.veto(conn, self.run_id, claim_, reason)
                self.stats.vetoed += 1
                continue
            to_send.append(claim_)
            sending.append(mutation)
        if refused:
            self._record(refused, refusals)
        return to_send, sending

    def _send(self, to_send: list, sending: list) -> None:
        crash_point("delivery.before_send")
        try:
            results = self.driver.handle_batch(sending, self.context)
        except BaseException:
            with self.engine.begin() as conn:  # whatever happened, the jobs are not lost
                ledger.release(conn, self.run_id, [c.job_id for c in to_send])
            raise
        crash_point("delivery.after_send")
        recorded = self._record(to_send, results, after_hooks=self.after_async)
        crash_point("delivery.after_record")
        hooks.after_send(self.driver, sending, results, self.context)
        self.stats.delivered += recorded.success
        self.stats.ignored += recorded.ignored
        for c, r in zip(to_send, results, strict=True):
            if r.status != "success" and len(self.stats.errors) < 20:
                self.stats.errors.append(f"{c.entity_type} {c.code}: {r.status}: {r.message}")

    def _record(self, claims: list, results: list, after_hooks: bool = False) -> ledger.Recorded:
        spec = self.spec
        with self.engine.begin() as conn:
            recorded = ledger.record(
                conn, spec.name, self.run_id, claims, results, spec.retry_attempts, spec.retry_delay_seconds,
                after_hooks=after_hooks,
            )  # fmt: skip
        self.stats.retried += recorded.retried
        self.stats.dead += recorded.dead
        return recorded


def _first_keys(claims: list, shown: int = 5) -> str:
    """What a batch delivers, in the run log: its first entities by type and code."""
    named = ", ".join(f"{c.entity_type} {c.code}" for c in claims[:shown])
    more = len(claims) - shown
    return named + (f" and {more:,} more" if more > 0 else "")


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
