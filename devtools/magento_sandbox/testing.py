"""Run the sandbox inside a test process: a real uvicorn server on a free loopback port.

A real socket (not an in-process ASGI transport) so drivers are exercised with their actual HTTP
stack, timeouts and connection pools, and so concurrent requests really overlap.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn

from .server import Sandbox, Settings, create_app


@dataclass
class SandboxHandle:
    """What a test gets: where the sandbox listens, its token, and the ``/__sandbox`` helpers."""

    base_url: str
    token: str
    admin_username: str
    admin_password: str
    sandbox: Sandbox  # the in-process instance, for white-box assertions
    _http: httpx.Client = field(repr=False)

    @property
    def rest_url(self) -> str:
        return f"{self.base_url}/rest"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def client(self, **kwargs: Any) -> httpx.Client:
        """An authenticated client whose base URL is ``<base_url>/rest`` (caller closes it)."""
        kwargs.setdefault("timeout", 10.0)
        return httpx.Client(base_url=self.rest_url, headers=self.headers, **kwargs)

    def async_client(self, **kwargs: Any) -> httpx.AsyncClient:
        kwargs.setdefault("timeout", 10.0)
        return httpx.AsyncClient(base_url=self.rest_url, headers=self.headers, **kwargs)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, f"/__sandbox/{path}", **kwargs)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "stats")

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        return self._call("GET", "requests", params={"since": since})["requests"]

    def state(self) -> dict[str, Any]:
        return self._call("GET", "state")

    def set_faults(self, rules: list[dict[str, Any]]) -> dict[str, Any]:
        return self._call("POST", "faults", json=rules)

    def clear_faults(self) -> dict[str, Any]:
        return self._call("DELETE", "faults")

    def configure(self, **kwargs: Any) -> dict[str, Any]:
        return self._call("POST", "config", json=kwargs)

    def reset(self) -> None:
        self._call("POST", "reset")

    def drain_bulks(self, timeout: float = 10.0) -> int:
        """Wait until every accepted bulk operation has been applied; returns how many are still open."""
        return self._call("POST", "bulks/drain", params={"timeout": timeout}, timeout=timeout + 5)["pending"]


@contextmanager
def running_sandbox(**settings: Any) -> Iterator[SandboxHandle]:
    """``with running_sandbox(write_delay_ms=50) as sb: ...`` — keyword arguments are ``Settings`` fields."""
    config = Settings(**settings)
    app = create_app(config)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2)
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"magento-sandbox-{port}", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the Magento sandbox did not start")
        time.sleep(0.01)
    base_url = f"http://127.0.0.1:{port}"
    http = httpx.Client(base_url=base_url, timeout=10.0)
    handle = SandboxHandle(
        base_url, config.token, config.admin_username, config.admin_password, app.state.sandbox, http
    )
    try:
        yield handle
    finally:
        http.close()
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
