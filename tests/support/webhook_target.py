"""A local webhook target: verifies IEC's signature, applies each Idempotency-Key once, and lets
tests script failures. It is what a careful real receiver does, so tests can count effects.

`effects` counts distinct effects (a key applied once stays at 1 however often it is sent, so it can never
show a duplicate); "delivered once" is asserted on `requests_per_key` (every signed request, whatever its
answer) or `accepted_per_key` (requests answered 2xx), which do count a job sent twice."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    key: str
    body: dict[str, Any]
    status: int
    at: float
    signer: str = "integration"  # whose secret signed it: the integration's, or a connection's label


@dataclass
class WebhookTargetState:
    secret: str
    connection_secrets: dict[str, str] = field(default_factory=dict)  # label -> a connection's own secret
    requests: list[Received] = field(default_factory=list)
    effects: Counter = field(default_factory=Counter)  # idempotency key -> distinct effects (1 by construction)
    requests_per_key: Counter = field(default_factory=Counter)  # idempotency key -> signed requests received
    accepted_per_key: Counter = field(default_factory=Counter)  # idempotency key -> requests answered 2xx
    applied: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> body
    bad_signatures: int = 0
    in_flight: Counter = field(default_factory=Counter)  # entity uuid -> requests in flight now
    max_in_flight_per_entity: int = 0
    # Scripted answers: called with the body, returns a status (None: 200)
    respond: Callable[[dict[str, Any]], int | None] = lambda body: None
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms delayed-ACK stall
    state: WebhookTargetState

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: bytes = b"{}") -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802
        state = self.state
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        signers = {"integration": state.secret, **state.connection_secrets}
        given = self.headers.get("X-IEC-Signature", "")
        signer = next(
            (label for label, secret in signers.items()
             if hmac.compare_digest("sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest(), given)),
            None,
        )  # fmt: skip
        if signer is None:
            with state.lock:
                state.bad_signatures += 1
            return self._answer(401, b'{"error": "bad signature"}')
        body = json.loads(raw)
        key = self.headers.get("Idempotency-Key", "")
        entity = body.get("entity_uuid", "")
        with state.lock:
            state.in_flight[entity] += 1
            state.max_in_flight_per_entity = max(state.max_in_flight_per_entity, state.in_flight[entity])
        try:
            if state.delay:
                time.sleep(state.delay)
            status = state.respond(body) or 200
            with state.lock:
                state.requests.append(Received(key, body, status, time.monotonic(), signer))
                state.requests_per_key[key] += 1
                if status < 300:
                    state.accepted_per_key[key] += 1
                if status < 300 and key not in state.applied:
                    state.applied[key] = body
                    state.effects[key] += 1
            self._answer(status, json.dumps({"status": status, "message": f"scripted {status}"}).encode())
        finally:
            with state.lock:
                state.in_flight[entity] -= 1


class WebhookTarget:
    def __init__(self, secret: str) -> None:
        self.state = WebhookTargetState(secret)
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def applied_codes(self) -> Counter:
        with self.state.lock:
            return Counter(b["code"] for b in self.state.applied.values())

    def sent_more_than_once(self) -> dict[str, int]:
        """Idempotency keys received more than once (any answer), with their request counts."""
        with self.state.lock:
            return {key: n for key, n in self.state.requests_per_key.items() if n > 1}

    def by_entity(self) -> dict[str, list[int]]:
        """Mutation ids each entity received, in arrival order."""
        seen: dict[str, list[int]] = defaultdict(list)
        with self.state.lock:
            for r in self.state.requests:
                seen[r.body["code"]].append(r.body["mutation_id"])
        return seen
