"""Delivery backoff (reliability-tests.md rows 15, 18): the delays a retried job gets stay within [base, cap]
with jitter, and a target down for a long while (minutes, compressed by a short cap) gets everything once it is
back, its jobs retried at the capped pace: no retry storm."""

import math
import time
from datetime import UTC, datetime

from iec_pipeline.delivery import ledger
from iec_pipeline.delivery.run import DeliveryConfig, deliver
from iec_pipeline.launch import run_sync
from iec_pipeline.store.db import get_engine
from tests.support.delivery import declare, jobs, webhook

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def delay_of(attempts: int, base: float, retry_after: float | None = None) -> float:
    return (ledger.next_attempt(attempts, base, retry_after, NOW) - NOW).total_seconds()


def test_retry_delays_stay_within_base_and_cap_with_jitter(monkeypatch):
    monkeypatch.setattr(ledger, "BACKOFF_CAP_SECONDS", 600.0)
    base, cap = 30.0, 600.0
    for attempts in range(1, 40):
        delays = [delay_of(attempts, base) for _ in range(300)]
        ceiling = min(cap, base * 2 ** (attempts - 1))
        assert base <= min(delays) and max(delays) <= cap, (attempts, min(delays), max(delays))
        assert ceiling * 0.8 - 1e-9 <= min(delays) and max(delays) <= ceiling * 1.2 + 1e-9  # ±20% of the step
        assert len({round(d, 6) for d in delays}) > 250, attempts  # jittered: no two jobs retry in lockstep
    assert delay_of(1, 4000.0) == 600.0  # a configured delay past the cap: the cap
    assert delay_of(1, base, retry_after=7200.0) == 7200.0  # Retry-After is honoured even past the cap
    assert base <= delay_of(1, base, retry_after=5.0) <= base * 1.2  # ...and never shortens the backoff
    assert math.isclose(ledger.BACKOFF_CAP_SECONDS, 600.0)


def test_a_long_target_outage_ends_with_everything_delivered_at_a_capped_pace(
    akeneo, iec_env, instance, webhook_target, monkeypatch
):
    base, cap, outage = 0.05, 0.5, 6.0  # the default cap is an hour: 6 s here are ~12 capped retries, ~half a day
    monkeypatch.setattr(ledger, "BACKOFF_CAP_SECONDS", cap)
    declare(iec_env, webhook("shop", webhook_target.url, entity_types=["product"], retry_attempts=100,
                             retry_delay_seconds=base))  # fmt: skip
    with akeneo.seeder() as seeder:
        seeder.seed()
    assert run_sync(instance, mode="full").success
    started = time.monotonic()
    back_at = started + outage
    webhook_target.state.respond = lambda body: 503 if time.monotonic() < back_at else None
    stats = deliver(get_engine(iec_env.store_url), "run-outage", "shop",
                    DeliveryConfig(linger_seconds=2 * cap + 0.5, poll_seconds=0.02))  # fmt: skip
    assert {j["status"] for j in jobs(iec_env)} == {"success"} and stats.delivered == 10 and stats.dead == 0
    state = webhook_target.state
    assert len(state.applied) == 10 and set(state.accepted_per_key.values()) == {1}
    # Wall-clock upper bounds depend on the machine's load (the bounds themselves are pinned by the test
    # above); what an outage must never do is retry faster than its backoff: that is checked here.
    doubling = math.ceil(math.log2(cap / base)) + 1
    for key, count in state.requests_per_key.items():
        times = [r.at for r in state.requests if r.key == key]
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        assert all(g >= 0.8 * cap - 0.01 for g in gaps[doubling:]), (key, gaps)
        # No storm: at most the doubling steps, then one request per 0.8 cap, then the one that succeeds.
        assert count <= doubling + outage / (0.8 * cap) + 2, (key, count)
    failed = [r for r in state.requests if r.status == 503]
    per_second = len(failed) / outage
    assert per_second <= 10 / (0.8 * cap) * 1.5, per_second  # 10 jobs, each at most once per 0.8 cap (+ ramp)
