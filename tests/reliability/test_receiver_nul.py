"""A NUL in an event's free-text subject must not reach the store: PostgreSQL refuses it in text, so the
write failed and the receiver answered 503 to a request that fails the same way on every retry (found by
the receiver fuzz on PostgreSQL, issue 19)."""

import json

import pytest

from iec_pipeline.webhooks.events import EVENT_PLATFORM, parse

pytestmark = pytest.mark.fast


def test_a_nul_in_the_subject_is_dropped_before_the_store():
    event = {"specversion": "1.0", "id": "e-1", "source": "pim", "type": "com.akeneo.pim.v1.product.updated",
             "subject": "a\u0000b", "data": {"product": {"uuid": "0b0b0b0b-0000-4000-8000-000000000001"}}}  # fmt: skip
    (drop,) = parse(EVENT_PLATFORM, json.dumps(event).encode())
    assert drop.subject == "ab"
    event["subject"] = "\u0000"
    (drop,) = parse(EVENT_PLATFORM, json.dumps(event).encode())
    assert drop.subject is None
