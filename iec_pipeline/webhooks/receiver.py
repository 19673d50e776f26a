"""The Akeneo webhook receiver: verify, record durably, answer 2xx at once.

`POST /webhooks/akeneo` takes both Akeneo schemes, told apart by their signature headers:
- Event Platform: `X-AKENEO-SIGNATURE-PRIMARY` / `-SECONDARY` = hex HMAC-SHA256 of the raw body, algorithm in
  `X-AKENEO-SIGNATURE-ALGORITHM` (absent means HmacSHA256; anything else is refused);
- legacy Events API: `X-Akeneo-Request-Signature` = hex HMAC-SHA256 of `timestamp + "." + body`, with
  `X-Akeneo-Request-Timestamp` (integer seconds) within +-300 s of now.
A signature is accepted if it matches any configured secret (AKENEO_WEBHOOK_SECRET and, while rotating,
AKENEO_WEBHOOK_SECRET_SECONDARY).

Guarantees, in the order they are checked (nothing is parsed before it is verified):
- a Content-Length over the cap is refused (413) before any byte of the body is read; a chunked body is read
  incrementally and refused as soon as it passes the cap: an oversized body is never buffered whole;
- a Content-Type other than JSON is refused (415); a missing or wrong signature or a stale timestamp: 401;
- a verified body that is not an event: 400. Every 4xx is a JSON `{"error", "detail"}`, never quoting a secret;
- a valid request's events are committed to `webhook_drops` in ONE transaction before the 2xx answer, off
  the event loop (see `writer.DropWriter`: durable on SQLite even against power loss, ids committed in order);
- a duplicate `event_id` is acknowledged 2xx and not stored again: `INSERT .. ON CONFLICT DO NOTHING` on the
  UNIQUE column, so concurrent duplicates are safe too;
- the answer comes within WRITE_BUDGET_SECONDS even if the store is locked (then 503: Akeneo retries); a body
  trickled for longer than BODY_READ_SECONDS is dropped (408).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import re
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import anyio
import anyio.to_thread
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from iec_pipeline.common.settings import Settings
from iec_pipeline.store import db
from iec_pipeline.webhooks.events import EVENT_PLATFORM, EVENTS_API, Drop, InvalidEvent, Scheme, parse
from iec_pipeline.webhooks.writer import DropWriter

SECRET_ENV = "AKENEO_WEBHOOK_SECRET"
SECONDARY_SECRET_ENV = "AKENEO_WEBHOOK_SECRET_SECONDARY"
PATH = "/webhooks/akeneo"
DEFAULT_MAX_BODY_BYTES = 1024 * 1024  # Event Platform bodies are tiny; 10 legacy events with full products fit
TIMESTAMP_TOLERANCE_SECONDS = 300
WRITE_BUDGET_SECONDS = 4.0  # Akeneo waits 5 s
BODY_READ_SECONDS = 10.0  # a body trickled slower than this is dropped (408), not waited for
JSON_TYPES = frozenset({"application/json", "application/cloudevents+json"})
_DIGITS = re.compile(r"[0-9]{1,12}")  # ASCII digits only: int() would also take "+1", "1_0" or "١"
_RETRY = {"Retry-After": "5"}

log = logging.getLogger("iec.webhooks")


class WebhookConfigError(RuntimeError):
    """The receiver cannot run as configured; the message names the setting, never a secret's value."""


class _Refused(Exception):
    def __init__(self, status: int, error: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(error)
        self.status, self.error, self.detail, self.headers = status, error, detail, headers


def _error(status: int, error: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status_code=status, headers=headers)


def configured_secrets(secrets: Sequence[str] | None = None) -> tuple[bytes, ...]:
    """The secrets to verify with (explicit, else from the environment); raises if there is none."""
    if secrets is None:
        secrets = [os.environ.get(SECRET_ENV) or "", os.environ.get(SECONDARY_SECRET_ENV) or ""]
    values = tuple(dict.fromkeys(s.encode() for s in secrets if s))
    if not values:
        raise WebhookConfigError(
            f"{SECRET_ENV} is not set: the webhook receiver cannot verify Akeneo's signatures and will not start. "
            f"Set it to the secret of the Akeneo subscription ({SECONDARY_SECRET_ENV} too while rotating)."
        )
    return values


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class _Outcome:
    status: int
    scheme: str = "-"
    events: int = 0
    stored: int = 0
    error: str = ""


class _Receiver:
    def __init__(
        self,
        engine: Engine,
        secrets: tuple[bytes, ...],
        max_body_bytes: int,
        tolerance: int,
        clock: Callable[[], float],
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.secrets = secrets
        self.max_body_bytes = max_body_bytes
        self.tolerance = tolerance
        self.writer = DropWriter(engine)
        # The writer is serialized anyway: one worker thread, queued requests wait here (promptly).
        self.limiter = anyio.CapacityLimiter(1)

    # --- the endpoint ---------------------------------------------------------------------------

    async def receive(self, request: Request) -> Response:
        started = time.perf_counter()
        outcome = _Outcome(200)
        try:
            response = await self._receive(request, outcome)
        except _Refused as refused:
            outcome.status, outcome.error = refused.status, refused.error
            headers = dict(refused.headers or {})
            if refused.status in (408, 413):
                headers["Connection"] = "close"  # the rest of the body is never read
            response = _error(refused.status, refused.error, refused.detail, headers)
        client = request.client.host if request.client else "-"
        log.info(
            f'{client} "POST {PATH}" {outcome.status} scheme={outcome.scheme} events={outcome.events} '
            f"stored={outcome.stored}{' error=' + outcome.error if outcome.error else ''} "
            f"{(time.perf_counter() - started) * 1000:.1f}ms"
        )
        return response

    async def _receive(self, request: Request, outcome: _Outcome) -> Response:
        headers = request.headers
        self._check_length(headers.get("content-length"))
        media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media_type not in JSON_TYPES:
            raise _Refused(415, "unsupported_media_type", "send the event as application/json")
        scheme = self._scheme(headers)
        outcome.scheme = scheme
        if scheme == EVENTS_API:
            self._check_timestamp(headers.get("x-akeneo-request-timestamp"))
        body = await self._read_body(request)
        self._verify(scheme, headers, body)
        try:
            drops = parse(scheme, body)
        except InvalidEvent as invalid:
            raise _Refused(400, "invalid_event", str(invalid)) from None
        except Exception as error:  # a parser bug must not turn client input into a 5xx
            log.error(f"webhook parsing failed unexpectedly: {type(error).__name__}")
            raise _Refused(400, "invalid_event", "the event could not be interpreted") from None
        outcome.events = len(drops)
        outcome.stored = await self._store_in_time(drops)
        return JSONResponse(
            {"received": len(drops), "stored": outcome.stored, "duplicates": len(drops) - outcome.stored}
        )

    def _check_length(self, value: str | None) -> None:
        if value is None:
            return
        if not _DIGITS.fullmatch(value.strip()):
            raise _Refused(400, "invalid_content_length", "Content-Length must be an integer")
        if int(value) > self.max_body_bytes:
            raise _Refused(413, "body_too_large", f"the body is limited to {self.max_body_bytes} bytes")

    def _scheme(self, headers: Any) -> Scheme:
        if any(h in headers for h in ("x-akeneo-signature-primary", "x-akeneo-signature-secondary")):
            return EVENT_PLATFORM
        if "x-akeneo-request-signature" in headers:
            return EVENTS_API
        raise _Refused(
            401,
            "missing_signature",
            "sign the body: X-AKENEO-SIGNATURE-PRIMARY (Event Platform) or X-Akeneo-Request-Signature (Events API)",
        )

    def _check_timestamp(self, value: str | None) -> None:
        if value is None:
            raise _Refused(401, "missing_timestamp", "X-Akeneo-Request-Timestamp is required")
        if not _DIGITS.fullmatch(value):
            raise _Refused(401, "invalid_timestamp", "X-Akeneo-Request-Timestamp must be integer seconds")
        if abs(self.clock() - int(value)) > self.tolerance:
            raise _Refused(401, "stale_timestamp", f"the timestamp is more than {self.tolerance} s from now")

    async def _read_body(self, request: Request) -> bytes:
        body = bytearray()
        try:
            with anyio.fail_after(BODY_READ_SECONDS):
                async for chunk in request.stream():
                    body += chunk
                    if len(body) > self.max_body_bytes:
                        raise _Refused(413, "body_too_large", f"the body is limited to {self.max_body_bytes} bytes")
        except ClientDisconnect:
            raise _Refused(400, "client_disconnected", "the body ended early") from None
        except TimeoutError:
            raise _Refused(408, "body_timeout", f"the body did not arrive within {BODY_READ_SECONDS:.0f} s") from None
        return bytes(body)

    def _verify(self, scheme: Scheme, headers: Any, body: bytes) -> None:
        if scheme == EVENT_PLATFORM:
            algorithm = headers.get("x-akeneo-signature-algorithm", "HmacSHA256")
            if algorithm.strip().lower() != "hmacsha256":
                raise _Refused(401, "unsupported_algorithm", "only HmacSHA256 signatures are accepted")
            message = body
            given = [headers.get("x-akeneo-signature-primary"), headers.get("x-akeneo-signature-secondary")]
        else:
            message = headers["x-akeneo-request-timestamp"].encode() + b"." + body
            given = [headers.get("x-akeneo-request-signature")]
        expected = [hmac.new(secret, message, hashlib.sha256).hexdigest().encode() for secret in self.secrets]
        candidates = [g.strip().lower().encode("latin-1") for g in given if g]
        # Every pair is compared (constant time each), so timing does not tell which one matched.
        matches = [hmac.compare_digest(e, c) for e in expected for c in candidates]
        if not any(matches):
            raise _Refused(401, "invalid_signature", "the signature does not match the body")

    # --- the store --------------------------------------------------------------------------------

    async def _store_in_time(self, drops: list[Drop]) -> int:
        received_at = _utcnow()
        try:
            with anyio.fail_after(WRITE_BUDGET_SECONDS):
                return await anyio.to_thread.run_sync(
                    self.writer.write, drops, received_at, limiter=self.limiter, abandon_on_cancel=True
                )
        except TimeoutError:
            raise _Refused(503, "store_busy", "the event store did not answer in time; retry", _RETRY) from None
        except Exception as error:  # the store failed, not the client: Akeneo retries a 503
            log.error(f"webhook store write failed: {type(error).__name__}")
            raise _Refused(503, "store_unavailable", "the event store is unavailable; retry", _RETRY) from None


async def _probe(request: Request) -> Response:
    """Health probes (Akeneo's, a load balancer's): not logged, they would drown the event lines."""
    return JSONResponse({"status": "ok"})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    error = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    client = request.client.host if request.client else "-"
    log.info(f'{client} "{request.method} {request.url.path[:200]}" {exc.status_code} error={error}')
    return _error(exc.status_code, error, str(exc.detail), dict(exc.headers or {}))


def create_app(
    database_url: str | None = None,
    secrets: Sequence[str] | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    timestamp_tolerance_seconds: int = TIMESTAMP_TOLERANCE_SECONDS,
    clock: Callable[[], float] = time.time,
) -> Starlette:
    """The receiver app. Raises `WebhookConfigError` without secrets; upgrades the store schema first.

    `clock` (epoch seconds) is what legacy timestamps are checked against; tests freeze it.
    """
    keys = configured_secrets(secrets)
    url = database_url or Settings.from_env().database_url
    db.upgrade(url)
    receiver = _Receiver(db.get_engine(url), keys, max_body_bytes, timestamp_tolerance_seconds, clock)
    routes = [
        Route(PATH, receiver.receive, methods=["POST"]),
        Route(PATH + "/", receiver.receive, methods=["POST"]),  # no redirect: Akeneo suspends on one
        Route(PATH, _probe, methods=["GET"]),
        Route(PATH + "/", _probe, methods=["GET"]),
        Route("/healthz", _probe, methods=["GET"]),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        receiver.writer.close()

    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error}, lifespan=lifespan)
    app.router.redirect_slashes = False
    return app


def serve(host: str = "127.0.0.1", port: int = 8077, database_url: str | None = None) -> None:
    """Runs the receiver until interrupted (one process; the store serializes writes anyway)."""
    import uvicorn

    app = create_app(database_url)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    log.setLevel(logging.INFO)
    log.info(f"Akeneo webhook receiver on http://{host}:{port}{PATH}")
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning", timeout_graceful_shutdown=5)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m iec_pipeline.webhooks.receiver [--host H] [--port P]` (what `iec webhooks serve` runs)."""
    import argparse

    parser = argparse.ArgumentParser(description="Akeneo webhook receiver")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8077)
    args = parser.parse_args(argv)
    try:
        serve(args.host, args.port)
    except WebhookConfigError as error:
        print(f"error: {error}", flush=True)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
