"""The test webhook target counts requests per Idempotency-Key, so a "delivered once" assertion can fail.

Its `effects` counter applies each key once by construction: a job sent twice still shows one effect there,
which is why the delivered-once assertions read `requests_per_key` / `accepted_per_key`."""

import httpx
import orjson

from drivers.webhook import idempotency_key, signature
from tests.support.delivery import WEBHOOK_SECRET
from tests.support.webhook_target import WebhookTarget


def _post(target: WebhookTarget, mutation_id: int) -> int:
    body = orjson.dumps({"mutation_id": mutation_id, "code": f"c-{mutation_id}", "entity_uuid": f"u-{mutation_id}"})
    headers = {
        "X-IEC-Signature": signature(WEBHOOK_SECRET, body),
        "Idempotency-Key": idempotency_key("shop", mutation_id),
        "Content-Type": "application/json",
    }
    return httpx.post(target.url, content=body, headers=headers, timeout=5).status_code


def test_a_job_sent_twice_is_caught_by_the_request_count_not_by_effects():
    target = WebhookTarget(WEBHOOK_SECRET)
    try:
        assert _post(target, 1) == 200 and _post(target, 2) == 200 and _post(target, 2) == 200
        state = target.state
        assert set(state.effects.values()) == {1}  # the old assertion: blind to the duplicate
        assert sorted(state.requests_per_key.values()) == [1, 2]
        assert sorted(state.accepted_per_key.values()) == [1, 2]
        assert target.sent_more_than_once() == {idempotency_key("shop", 2): 2}
        assert set(state.requests_per_key.values()) != {1}  # the new delivered-once assertion fails
    finally:
        target.stop()


def test_refused_requests_are_counted_but_not_accepted():
    target = WebhookTarget(WEBHOOK_SECRET)
    target.state.respond = lambda body: 503 if len(target.state.requests) < 2 else None
    try:
        assert [_post(target, 7) for _ in range(3)] == [503, 503, 200]
        key = idempotency_key("shop", 7)
        assert target.state.requests_per_key[key] == 3 and target.state.accepted_per_key[key] == 1
        assert target.state.effects[key] == 1
    finally:
        target.stop()
