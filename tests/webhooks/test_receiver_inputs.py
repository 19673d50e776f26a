"""Reliability rows 10 and 11 plus the configuration edge: fuzzed bodies, oversized bodies, wrong content
types, probes, and a receiver that refuses to start without a secret."""

from __future__ import annotations

import logging
import random
import select
import socket
import time

import pytest

from iec_pipeline.webhooks import receiver as receiver_module
from iec_pipeline.webhooks.receiver import PATH, WebhookConfigError, create_app
from tests.webhooks.conftest import (
    CANARY_SECRETS,
    SECRET,
    cloudevent,
    drop_count,
    dumps,
    legacy_event,
    legacy_headers,
    platform_headers,
)

MB = 1024 * 1024


def _nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


FUZZ_BODIES: list[bytes] = [
    b"",
    b"{",
    b"}",
    b"nul",
    b"null",
    b"true",
    b"123",
    b'"a string"',
    b"[]",
    b"[{}]",
    b"{}",
    b"\xff\xfe\x00{",
    b"\xef\xbb\xbf{}",
    b'{"specversion": "1.0", "id": "x", "type": NaN}',
    b'{"a": 1e999}',
    b'{"a": "\\ud800"}',
    b"{'single': 'quotes'}",
    b"[" * 100_000 + b"]" * 100_000,
    _nested(5_000),
    dumps(cloudevent() | {"specversion": 1.0}),
    dumps(cloudevent() | {"specversion": None}),
    dumps(cloudevent() | {"id": None}),
    dumps(cloudevent() | {"id": {"nested": "id"}}),
    dumps(cloudevent() | {"id": [1, 2]}),
    dumps(cloudevent() | {"id": True}),
    dumps(cloudevent() | {"id": "x" * 900_000}),  # a huge string just under the size cap
    dumps(cloudevent() | {"id": "line\nbreak"}),
    dumps(cloudevent() | {"id": "nul\u0000byte"}),
    dumps(cloudevent() | {"type": 17}),
    dumps(cloudevent() | {"type": "t" * 500_000}),
    dumps(cloudevent() | {"subject": ["s"]}),
    dumps(cloudevent() | {"data": None}),
    dumps(cloudevent() | {"data": [1, 2, 3]}),
    dumps(cloudevent(data={"product": "uuid"})),
    dumps(cloudevent(data={"product": {"uuid": None}})),
    dumps(cloudevent(data={"product": {"uuid": "u" * 800_000}})),
    dumps(cloudevent(data={"product": {"uuid": 1.5e300}})),
    dumps(cloudevent("com.akeneo.pim.v1.product-model.deleted", {"product_model": {"code": "c" * 10_000}})),
    dumps(
        cloudevent("com.akeneo.pim.v1.attribute-option.created", {"attribute_option": {"code": "o", "attribute": 5}})
    ),
    dumps(cloudevent(data={"product": {"uuid": {"deep": _nested(900).decode()}}})),
    b'{"specversion":"1.0","id":"x","type":"com.akeneo.pim.v1.product.updated","data":' + _nested(1500) + b"}",
]

LEGACY_FUZZ: list[bytes] = [
    b"{",
    b"[]",
    dumps({"events": {}}),
    dumps({"events": "x"}),
    dumps({"events": []}),
    dumps({"events": [None]}),
    dumps({"events": [[]]}),
    dumps({"events": [legacy_event() for _ in range(11)]}),
    dumps({"events": [legacy_event() | {"event_id": None}]}),
    dumps({"events": [legacy_event() | {"event_id": "e" * 300}]}),
    dumps({"events": [legacy_event() | {"action": ["product.updated"]}]}),
    dumps({"events": [legacy_event() | {"data": "resource"}]}),
    dumps({"events": [legacy_event(resource={"uuid": 12})]}),
    dumps({"events": [legacy_event("product_model.created", {"code": None})]}),
    dumps({"events": [legacy_event(), legacy_event(resource=[])]}),
    dumps({"events": [legacy_event() | {"event_id": "x" * 800_000}]}),
    _nested(3000),
]


def _assert_json_error(response, status: int | None = None) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:200])
    if status is not None:
        assert response.status_code == status, response.text[:200]
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()
    assert set(error) == {"error", "detail"} and isinstance(error["error"], str)
    assert not any(secret in response.text for secret in CANARY_SECRETS)


def test_fuzzed_event_platform_bodies_are_400_json_errors_and_store_nothing(receiver):
    for body in FUZZ_BODIES:
        _assert_json_error(receiver.post(body, platform_headers(body)), 400)
    assert drop_count(receiver.store_url) == 0


def test_fuzzed_events_api_bodies_are_400_json_errors_and_store_nothing(receiver):
    for body in LEGACY_FUZZ:
        _assert_json_error(receiver.post(body, legacy_headers(body)), 400)
    assert drop_count(receiver.store_url) == 0


def test_unsigned_fuzz_is_401_before_any_parsing(receiver):
    for body in FUZZ_BODIES[:20]:
        _assert_json_error(receiver.post(body, {"Content-Type": "application/json"}), 401)
    assert drop_count(receiver.store_url) == 0


def test_random_mutations_of_valid_bodies_never_5xx(receiver):
    """Byte-level mutations, re-signed: each is either a valid event (200) or a JSON 400, never a 5xx."""
    rng = random.Random(20250304)
    seeds = [
        dumps(cloudevent()),
        dumps({"events": [legacy_event(), legacy_event("product_model.updated", {"code": "m"})]}),
    ]
    stored = 0
    for _ in range(300):
        body = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 6)):
            position = rng.randrange(len(body))
            operation = rng.random()
            if operation < 0.4:
                body[position] = rng.randrange(256)
            elif operation < 0.7:
                del body[position]
            else:
                body[position:position] = rng.choice([b"{", b"[", b'"', b"\\", b"\x00", b"\xc3", b"9" * 40, b"null"])
        body = bytes(body)
        headers = legacy_headers(body) if body.startswith(b'{"events"') else platform_headers(body)
        response = receiver.post(body, headers)
        if response.status_code == 200:
            stored += response.json()["stored"]
        else:
            _assert_json_error(response, 400)
    assert drop_count(receiver.store_url) == stored


def test_non_json_content_type_is_415(receiver):
    body = dumps(cloudevent())
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                         "application/xml", "application/jsonx", ""):  # fmt: skip
        headers = platform_headers(body) | {"Content-Type": content_type}
        _assert_json_error(receiver.post(body, headers), 415)
    headers = platform_headers(body)
    del headers["Content-Type"]
    _assert_json_error(receiver.post(body, headers), 415)
    assert drop_count(receiver.store_url) == 0
    # JSON with parameters, or the CloudEvents structured media type, is accepted
    for content_type in ("application/json; charset=utf-8", "application/cloudevents+json"):
        body = dumps(cloudevent())
        assert receiver.post(body, platform_headers(body) | {"Content-Type": content_type}).status_code == 200
    assert drop_count(receiver.store_url) == 2


def _open(receiver) -> socket.socket:
    host, port = receiver.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
    return sock


def _read_answer(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_declared_body_over_the_limit_is_413_before_it_is_sent(receiver):
    """Content-Length 50 MB, then a trickle: the 413 arrives while 49.99 MB are still unsent."""
    sock = _open(receiver)
    started = time.monotonic()
    head = (f"POST {PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {50 * MB}\r\n"
            f"X-AKENEO-SIGNATURE-PRIMARY: {'0' * 64}\r\n\r\n").encode()  # fmt: skip
    sock.sendall(head + b'{"specversion": "1.0", ')
    answer = _read_answer(sock)
    elapsed = time.monotonic() - started
    sock.close()
    assert answer.startswith(b"HTTP/1.1 413"), answer[:100]
    assert b"connection: close" in answer.lower()
    assert elapsed < 2
    assert drop_count(receiver.store_url) == 0


def test_chunked_body_is_refused_as_soon_as_it_passes_the_limit(start_receiver):
    """A chunked body (no Content-Length): read incrementally, 413 once past the cap, long before its end."""
    receiver = start_receiver(max_body_bytes=256 * 1024)
    body = dumps(cloudevent())
    signature = platform_headers(body)["X-AKENEO-SIGNATURE-PRIMARY"]
    sock = _open(receiver)
    head = (f"POST {PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
            f"X-AKENEO-SIGNATURE-PRIMARY: {signature}\r\n\r\n").encode()  # fmt: skip
    sock.sendall(head)
    chunk = b" " * 16384
    sent, answer = 0, b""
    try:
        while sent < 50 * MB:
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
            if select.select([sock], [], [], 0.002)[0]:
                answer = _read_answer(sock)
                break
    except (BrokenPipeError, ConnectionResetError):
        answer = answer or _read_answer(sock)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 413"), answer[:100]
    assert sent < 2 * MB  # the server answered after about 256 KB, not 50 MB
    assert drop_count(receiver.store_url) == 0


def test_body_trickled_too_slowly_is_dropped(receiver, monkeypatch):
    monkeypatch.setattr(receiver_module, "BODY_READ_SECONDS", 0.5)
    sock = _open(receiver)
    started = time.monotonic()
    sock.sendall(f"POST {PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n"
                 f"X-AKENEO-SIGNATURE-PRIMARY: {'0' * 64}\r\n\r\n{{".encode())  # fmt: skip
    answer = _read_answer(sock)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 408") and time.monotonic() - started < 3
    assert drop_count(receiver.store_url) == 0


def test_body_at_the_limit_is_accepted(start_receiver):
    receiver = start_receiver(max_body_bytes=4096)
    event = cloudevent()
    event["data"]["padding"] = ""
    event["data"]["padding"] = "p" * (4096 - len(dumps(event)))
    body = dumps(event)
    assert len(body) == 4096
    assert receiver.post(body, platform_headers(body)).status_code == 200
    bigger = body[:-1] + b" }"
    _assert_json_error(receiver.post(bigger, platform_headers(bigger)), 413)


def test_probes_and_unknown_routes(receiver):
    assert receiver.http.get("/healthz").status_code == 200
    assert receiver.http.get(PATH).status_code == 200
    assert receiver.http.head(PATH).status_code == 200
    _assert_json_error(receiver.http.get("/nowhere"), 404)
    _assert_json_error(receiver.http.put(PATH, content=b"{}"), 405)
    body = dumps(cloudevent())
    answer = receiver.http.post(PATH + "/", content=body, headers=platform_headers(body))
    assert answer.status_code == 200  # a trailing slash is served, never redirected (a redirect suspends Akeneo)


def test_refuses_to_start_without_a_secret(monkeypatch, store_url, capsys):
    monkeypatch.delenv("AKENEO_WEBHOOK_SECRET", raising=False)
    monkeypatch.delenv("AKENEO_WEBHOOK_SECRET_SECONDARY", raising=False)
    monkeypatch.setenv("IEC_DATABASE_URL", store_url)
    with pytest.raises(WebhookConfigError, match="AKENEO_WEBHOOK_SECRET is not set"):
        create_app(store_url)
    monkeypatch.setenv("AKENEO_WEBHOOK_SECRET", "")
    assert receiver_module.main(["--port", "1"]) == 2
    assert "AKENEO_WEBHOOK_SECRET is not set" in capsys.readouterr().out
    monkeypatch.setenv("AKENEO_WEBHOOK_SECRET_SECONDARY", SECRET)  # the secondary alone is enough to verify
    create_app(store_url)


def test_one_log_line_per_request_without_secrets_or_bodies(receiver, caplog):
    caplog.set_level(logging.INFO, logger="iec.webhooks")
    marker = "body-marker-5d1e"
    event = cloudevent(data={"product": {"uuid": "6a9f8486-2c36-4680-b87f-6f5f8f01b6cf"}, "note": marker})
    body = dumps(event)
    receiver.post(body, platform_headers(body))
    receiver.post(body, platform_headers(body, primary="wrong"))
    receiver.post(b"{", platform_headers(b"{"))
    lines = [r.getMessage() for r in caplog.records if r.name == "iec.webhooks"]
    assert len(lines) == 3
    assert " 200 " in lines[0] and " 401 " in lines[1] and " 400 " in lines[2]
    text = "\n".join(lines)
    assert marker not in text and event["id"] not in text
    assert not any(secret in text for secret in CANARY_SECRETS)
