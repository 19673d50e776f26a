"""Reliability rows 7 and 8: the signature matrix of both schemes and the legacy timestamp window.

Exactly the valid requests are accepted and stored; every refused one is a 401 JSON error and stores nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from tests.webhooks.conftest import (
    CANARY_SECRETS,
    SECONDARY,
    SECRET,
    clear_drops,
    cloudevent,
    drop_rows,
    dumps,
    hex_hmac,
    legacy_event,
    legacy_headers,
    platform_headers,
    serving,
)

WRONG = "not-the-secret"
FROZEN_NOW = 1_750_000_000


@pytest.fixture(scope="module")
def frozen_module_receiver(tmp_path_factory):
    """A receiver whose clock stands at FROZEN_NOW + 0.999 s: the worst fraction of a second either way."""
    url = f"sqlite:///{tmp_path_factory.mktemp('frozen') / 'iec.db'}"
    with serving(url, clock=lambda: FROZEN_NOW + 0.999) as receiver:
        yield receiver


@pytest.fixture
def frozen_receiver(frozen_module_receiver):
    clear_drops(frozen_module_receiver.store_url)
    return frozen_module_receiver


Case = Callable[[bytes], tuple[bytes, dict[str, str]]]  # signed body -> (body sent, headers)


def flip_one_byte(body: bytes) -> bytes:
    i = body.index(b"2025-")  # a digit of a timestamp: still valid JSON, one byte different
    return body[:i] + b"3" + body[i + 1 :]


def reserialize(body: bytes) -> bytes:
    return json.dumps(json.loads(body), indent=1).encode()  # same data, different bytes


PLATFORM: dict[str, tuple[bool, Case]] = {
    "valid primary": (True, lambda b: (b, platform_headers(b))),
    "valid secondary only": (True, lambda b: (b, platform_headers(b, primary=None, secondary=SECONDARY))),
    "secondary secret in the primary header": (True, lambda b: (b, platform_headers(b, primary=SECONDARY))),
    "primary wrong, secondary valid": (True, lambda b: (b, platform_headers(b, primary=WRONG, secondary=SECRET))),
    "upper-case hex": (True, lambda b: (b, {k: v.upper() for k, v in platform_headers(b).items()})),
    "algorithm header absent (HmacSHA256)": (True, lambda b: (b, platform_headers(b, algorithm=None))),
    "wrong secret": (False, lambda b: (b, platform_headers(b, primary=WRONG))),
    "both headers wrong": (False, lambda b: (b, platform_headers(b, primary=WRONG, secondary=WRONG))),
    "one byte changed": (False, lambda b: (flip_one_byte(b), platform_headers(b))),
    "header missing": (False, lambda b: (b, platform_headers(b, primary=None))),
    "other algorithm": (False, lambda b: (b, platform_headers(b, algorithm="HmacSHA1"))),
    "re-serialized JSON": (False, lambda b: (reserialize(b), platform_headers(b))),
    "empty signature": (False, lambda b: (b, platform_headers(b) | {"X-AKENEO-SIGNATURE-PRIMARY": ""})),
    "truncated signature": (False, lambda b: (b, platform_headers(b) | {"X-AKENEO-SIGNATURE-PRIMARY": "ab12"})),
    "non-ASCII signature": (False, lambda b: (b, platform_headers(b) | {"X-AKENEO-SIGNATURE-PRIMARY": "\xe9" * 64})),
}

LEGACY: dict[str, tuple[bool, Case]] = {
    "legacy valid": (True, lambda b: (b, legacy_headers(b))),
    "legacy secondary secret": (True, lambda b: (b, legacy_headers(b, secret=SECONDARY))),
    "legacy wrong secret": (False, lambda b: (b, legacy_headers(b, secret=WRONG))),
    "legacy one byte changed": (False, lambda b: (flip_one_byte(b), legacy_headers(b))),
    "legacy re-serialized JSON": (False, lambda b: (reserialize(b), legacy_headers(b))),
    "legacy signature missing": (False, lambda b: (b, {"X-Akeneo-Request-Timestamp": str(int(time.time()))})),
    "legacy timestamp missing": (False, lambda b: (b, {"X-Akeneo-Request-Signature": hex_hmac(SECRET, b)})),
    "legacy HMAC of the body alone": (
        False,
        lambda b: (b, {"X-Akeneo-Request-Signature": hex_hmac(SECRET, b), "X-Akeneo-Request-Timestamp": "0"}),
    ),
    "legacy signature under a timestamp it does not sign": (
        False,
        lambda b: (b, legacy_headers(b) | {"X-Akeneo-Request-Timestamp": str(int(time.time()) - 1)}),
    ),
}


def _post(receiver, valid: bool, name: str, body: bytes, headers: dict[str, str]) -> None:
    headers = {"Content-Type": "application/json", **headers}
    response = receiver.post(body, {k: v.encode("latin-1") for k, v in headers.items()})
    if valid:
        assert response.status_code == 200, (name, response.text)
        return
    assert response.status_code == 401, (name, response.status_code, response.text)
    assert set(response.json()) == {"error", "detail"}, name
    assert not any(secret in response.text for secret in CANARY_SECRETS), name


@pytest.mark.parametrize(("cases", "make_body"), [
    (PLATFORM, lambda: dumps(cloudevent())),
    (LEGACY, lambda: dumps({"events": [legacy_event()]})),
], ids=["event_platform", "events_api"])  # fmt: skip
def test_signature_matrix_stores_exactly_the_valid_events(receiver, cases, make_body):
    """Every case with its own event: the valid ones are stored, byte for byte; the others leave no row."""
    expected = {}
    for name, (valid, case) in cases.items():
        body, headers = case(make_body())
        _post(receiver, valid, name, body, headers)
        if valid:
            document = json.loads(body)
            event = document["events"][0] if "events" in document else document
            expected[event.get("id") or event.get("event_id")] = name
    rows = drop_rows(receiver.store_url)
    assert {row.event_id: expected.get(row.event_id) for row in rows} == expected
    assert len(rows) == len(expected)


def test_one_event_under_every_platform_case_is_stored_once(receiver):
    body = dumps(cloudevent())
    for name, (valid, case) in PLATFORM.items():
        _post(receiver, valid, name, *case(body))
    (row,) = drop_rows(receiver.store_url)
    assert row.raw_body == body.decode()


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [(0, True), (-299, True), (299, True), (-301, False), (301, False), (-86_400, False), (10**6, False)],
)
def test_legacy_timestamp_window(frozen_receiver, offset, accepted):
    receiver = frozen_receiver
    body = dumps({"events": [legacy_event()]})
    response = receiver.post(body, legacy_headers(body, timestamp=FROZEN_NOW + offset))
    assert response.status_code == (200 if accepted else 401), response.text
    if not accepted:
        assert response.json()["error"] == "stale_timestamp"
    assert len(drop_rows(receiver.store_url)) == (1 if accepted else 0)


@pytest.mark.parametrize("timestamp", ["", "abc", "12.5", "-5", "+1700000000", "1_700_000_000", "1700000000x", "1e9",
                                       "\u0661\u0667\u0660\u0660"])  # fmt: skip
def test_legacy_timestamp_not_integer_seconds_is_refused(receiver, timestamp):
    body = dumps({"events": [legacy_event()]})
    headers = {
        "Content-Type": "application/json",
        "X-Akeneo-Request-Signature": hex_hmac(SECRET, timestamp.encode() + b"." + body),
        "X-Akeneo-Request-Timestamp": timestamp,
    }
    response = receiver.post(body, {k: v.encode() for k, v in headers.items()})
    assert response.status_code == 401, response.text
    assert response.json()["error"] in {"invalid_timestamp", "missing_timestamp"}
    assert drop_rows(receiver.store_url) == []


def test_signatures_are_compared_in_constant_time(receiver, monkeypatch):
    """Every signature check goes through hmac.compare_digest, never `==`."""
    import hmac

    calls = []
    original = hmac.compare_digest

    def recording(a, b):
        calls.append((type(a), type(b)))
        return original(a, b)

    monkeypatch.setattr(hmac, "compare_digest", recording)
    for valid, case in (PLATFORM["valid primary"], PLATFORM["wrong secret"], LEGACY["legacy valid"]):
        body = dumps({"events": [legacy_event()]}) if case is LEGACY["legacy valid"][1] else dumps(cloudevent())
        before = len(calls)
        _post(receiver, valid, "compare", *case(body))
        assert len(calls) > before
    assert all(types == (bytes, bytes) for types in calls)
