"""A small HTTP proxy in front of akeneo-mock-server that behaves like a strict Akeneo.

The mock accepts any token; a real Akeneo checks credentials, expires tokens and throttles. The
proxy adds exactly that, plus fault injection for the reliability tests (429 with Retry-After,
5xx, a connection dropped mid-page), and records every request and the peak concurrency.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import httpx


@dataclass
class Fault:
    path: str  # regex searched in "METHOD /path?query"
    status: int | None = None  # answer this status instead of forwarding
    times: int = 1  # how many matching requests it hits
    skip: int = 0  # let this many matching requests through first
    retry_after: float | None = None
    drop: bool = False  # close the connection without an answer
    hang: float = 0.0  # wait this long before answering (past the client's timeout: a hung page); then forward
    message: str = "injected fault"
    hits: int = 0
    seen: int = 0

    def matches(self, line: str) -> bool:
        if self.hits >= self.times or not re.search(self.path, line):
            return False
        self.seen += 1
        if self.seen <= self.skip:
            return False
        self.hits += 1
        return True


@dataclass
class Logged:
    method: str
    target: str
    status: int
    at: float


@dataclass
class ProxyState:
    upstream: str
    client_id: str
    client_secret: str
    username: str
    password: str
    token_ttl: float = 3600.0
    tokens: dict[str, float] = field(default_factory=dict)  # access token -> expiry (monotonic)
    refresh_tokens: set[str] = field(default_factory=set)
    grants: list[str] = field(default_factory=list)  # grant types, in order
    faults: list[Fault] = field(default_factory=list)
    log: list[Logged] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms delayed-ACK stall
    state: ProxyState
    http: httpx.Client

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: dict | bytes, headers: dict[str, str] | None = None) -> None:
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _record(self, status: int) -> None:
        with self.state.lock:
            self.state.log.append(Logged(self.command, self.path, status, time.monotonic()))

    def _token(self, body: bytes) -> None:
        state = self.state
        auth = self.headers.get("Authorization", "")
        import base64

        expected = base64.b64encode(f"{state.client_id}:{state.client_secret}".encode()).decode()
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            data = {}
        if auth != f"Basic {expected}":
            return self._send(
                422,
                {
                    "code": 422,
                    "message": 'Parameter "client_id" is missing or does not match any client, or secret is invalid',
                },
            )
        grant = data.get("grant_type")
        with state.lock:
            if grant == "password":
                if data.get("username") != state.username or data.get("password") != state.password:
                    return self._send(
                        422, {"code": 422, "message": "No user found for the given username and password"}
                    )
            elif grant == "refresh_token":
                if data.get("refresh_token") not in state.refresh_tokens:
                    return self._send(422, {"code": 422, "message": "Invalid refresh token"})
            else:
                return self._send(422, {"code": 422, "message": "Unsupported grant type"})
            n = next(state.counter)
            access, refresh = f"access-{n}", f"refresh-{n}"
            state.tokens[access] = time.monotonic() + state.token_ttl
            state.refresh_tokens.add(refresh)
            state.grants.append(grant)
        self._send(200, {"access_token": access, "expires_in": int(state.token_ttl), "token_type": "bearer",
                         "scope": None, "refresh_token": refresh})  # fmt: skip

    def _handle(self) -> None:
        state = self.state
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with state.lock:
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            path = self.path.split("?", 1)[0]
            if path == "/api/oauth/v1/token":
                self._token(body)
                self._record(200)
                return
            line = f"{self.command} {self.path}"
            with state.lock:
                fault = next((f for f in state.faults if f.matches(line)), None)
            if fault is not None and fault.hang:
                time.sleep(fault.hang)
                fault = None if fault.status is None and not fault.drop else fault
            if fault is not None:
                self._record(fault.status or 0)
                if fault.drop:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
                return self._send(fault.status or 500, {"code": fault.status, "message": fault.message}, headers)
            token = self.headers.get("Authorization", "").removeprefix("Bearer ")
            with state.lock:
                expiry = state.tokens.get(token)
            if expiry is None or expiry < time.monotonic():
                self._record(401)
                return self._send(401, {"code": 401, "message": "The access token provided is invalid."})
            headers = {
                k: v for k, v in self.headers.items() if k.lower() not in ("host", "authorization", "content-length")
            }
            response = self.http.request(self.command, state.upstream + self.path, content=body, headers=headers)
            self._record(response.status_code)
            keep = {k: v for k, v in response.headers.items() if k.lower() in ("location",)}
            self.send_response(response.status_code)
            self.send_header("Content-Type", response.headers.get("content-type", "application/json"))
            self.send_header("Content-Length", str(len(response.content)))
            for name, value in keep.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(response.content)
        finally:
            with state.lock:
                state.in_flight -= 1

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _handle


class AkeneoProxy:
    """Start with `start()`; point the client at `.url`."""

    def __init__(self, upstream: str, client_id: str, client_secret: str, username: str, password: str) -> None:
        self.state = ProxyState(upstream.rstrip("/"), client_id, client_secret, username, password)
        handler = type("Handler", (_Handler,), {"state": self.state, "http": httpx.Client(timeout=60)})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> AkeneoProxy:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        with self.state.lock:
            self.state.faults.clear()
            self.state.log.clear()
            self.state.grants.clear()
            self.state.tokens.clear()
            self.state.refresh_tokens.clear()
            self.state.token_ttl = 3600.0
            self.state.max_in_flight = 0

    def inject(self, *faults: Fault) -> None:
        with self.state.lock:
            self.state.faults.extend(faults)

    def expire_tokens(self) -> None:
        """Every token issued so far stops working now (as if it outlived its hour)."""
        with self.state.lock:
            for token in self.state.tokens:
                self.state.tokens[token] = 0.0

    def requests(self, pattern: str = "") -> list[Logged]:
        with self.state.lock:
            return [r for r in self.state.log if re.search(pattern, f"{r.method} {r.target}")]

    def query(self, logged: Logged) -> dict[str, list[str]]:
        return parse_qs(logged.target.split("?", 1)[1]) if "?" in logged.target else {}
