"""Receiver fixtures: the real app under uvicorn on a loopback port (a thread, or a subprocess where a test
kills it), a throw-away SQLite store, and helpers that sign bodies the way Akeneo does."""

from __future__ import annotations

import hashlib
import hmac
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from sqlalchemy import delete, func, select

from iec_pipeline.store.db import get_engine
from iec_pipeline.store.models import WebhookDrop
from iec_pipeline.webhooks.receiver import PATH, create_app

SECRET = "canary-webhook-primary-3e9d1f"
SECONDARY = "canary-webhook-secondary-b81c07"
CANARY_SECRETS = (SECRET, SECONDARY)
PRODUCT_UPDATED = "com.akeneo.pim.v1.product.updated"


# --- bodies and signatures ----------------------------------------------------------------------


def cloudevent(
    event_type: str = PRODUCT_UPDATED, data: dict[str, Any] | None = None, event_id: str | None = None
) -> dict[str, Any]:
    if data is None:
        data = {"product": {"uuid": str(uuid.uuid4())}, "author": {"identifier": "julia", "type": "user"}}
    return {
        "specversion": "1.0",
        "id": event_id or str(uuid.uuid4()),
        "source": "pim",
        "type": event_type,
        "subject": "iec-catalog",
        "datacontenttype": "application/json",
        "time": "2025-03-04T05:06:07Z",
        "data": data,
    }


def legacy_event(action: str = "product.updated", resource: dict | None = None, event_id: str | None = None) -> dict:
    return {
        "action": action,
        "event_id": event_id or str(uuid.uuid4()),
        "event_datetime": "2025-03-04T05:06:07+00:00",
        "author": "julia",
        "author_type": "ui",
        "pim_source": "http://pim.example",
        "data": {"resource": resource if resource is not None else {"uuid": str(uuid.uuid4()), "identifier": "s"}},
    }


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)


def hex_hmac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def platform_headers(
    body: bytes, primary: str | None = SECRET, secondary: str | None = None, algorithm: str | None = "HmacSHA256"
) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if primary is not None:
        headers["X-AKENEO-SIGNATURE-PRIMARY"] = hex_hmac(primary, body)
    if secondary is not None:
        headers["X-AKENEO-SIGNATURE-SECONDARY"] = hex_hmac(secondary, body)
    if algorithm is not None:
        headers["X-AKENEO-SIGNATURE-ALGORITHM"] = algorithm
    return headers


def legacy_headers(body: bytes, secret: str = SECRET, timestamp: str | int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Content-Type": "application/json",
        "X-Akeneo-Request-Signature": hex_hmac(secret, stamp.encode() + b"." + body),
        "X-Akeneo-Request-Timestamp": stamp,
    }


# --- the store ----------------------------------------------------------------------------------


def drop_count(url: str) -> int:
    with get_engine(url).connect() as conn:
        return conn.execute(select(func.count()).select_from(WebhookDrop)).scalar_one()


def drop_rows(url: str) -> list[WebhookDrop]:
    with get_engine(url).connect() as conn:
        return list(conn.execute(select(WebhookDrop).order_by(WebhookDrop.id)).all())


# --- running receivers --------------------------------------------------------------------------


@dataclass
class Receiver:
    url: str  # base URL
    store_url: str
    http: httpx.Client
    app: Any = None

    @property
    def endpoint(self) -> str:
        return self.url + PATH

    def post(self, body: bytes, headers: dict[str, Any]) -> httpx.Response:
        return self.http.post(PATH, content=body, headers=headers)


class ThreadedServer:
    """uvicorn serving an app in a daemon thread, on a socket bound before it starts."""

    def __init__(self, app: Any) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the receiver did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


@contextmanager
def serving(store_url: str, **options: Any) -> Iterator[Receiver]:
    """A receiver on `store_url` for the duration of the block; keyword arguments go to `create_app`."""
    app = create_app(store_url, **({"secrets": [SECRET, SECONDARY]} | options))
    with ThreadedServer(app) as server:
        base = f"http://127.0.0.1:{server.port}"
        with httpx.Client(base_url=base, timeout=10) as http:
            yield Receiver(base, store_url, http, app)


def clear_drops(url: str) -> None:
    with get_engine(url).begin() as conn:
        conn.execute(delete(WebhookDrop))


@pytest.fixture(scope="module")
def shared_receiver(tmp_path_factory) -> Iterator[Receiver]:
    """One receiver per test module (starting one costs about 0.3 s); `receiver` empties its store per test."""
    url = f"sqlite:///{tmp_path_factory.mktemp('receiver') / 'iec.db'}"
    with serving(url) as receiver:
        yield receiver


@pytest.fixture
def receiver(shared_receiver) -> Receiver:
    clear_drops(shared_receiver.store_url)
    return shared_receiver


@pytest.fixture
def start_receiver(store_url) -> Iterator[Callable[..., Receiver]]:
    """Starts receivers of their own on the test's store (`store_url`: SQLite, or PostgreSQL indirectly)."""
    with ExitStack() as stack:
        yield lambda **options: stack.enter_context(serving(store_url, **options))


def start_subprocess(store_url: str, port: int, log_path: str) -> subprocess.Popen:
    """`python -m iec_pipeline.webhooks.receiver` (what `iec webhooks serve` runs), ready to answer."""
    env = {
        **os.environ,
        "IEC_DATABASE_URL": store_url,
        "AKENEO_WEBHOOK_SECRET": SECRET,
        "AKENEO_WEBHOOK_SECRET_SECONDARY": SECONDARY,
    }
    log = open(log_path, "ab")  # noqa: SIM115 (the child keeps it)
    process = subprocess.Popen(
        [sys.executable, "-m", "iec_pipeline.webhooks.receiver", "--port", str(port)], env=env, stdout=log, stderr=log
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the receiver exited with code {process.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("the receiver did not answer within 30 s")
