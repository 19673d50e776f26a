"""HTTP to Magento's REST API: authentication, error classification, one request in flight per SKU.

Every failure becomes a `MagentoError` that says whether trying again can help:
401 -> the admin token is renewed once and the request repeated (an integration token cannot be
renewed); 408, 429 (with Retry-After), 5xx, timeouts and connection errors -> retryable; any
other 4xx -> permanent, with Magento's own message (placeholders filled in). Messages never carry
the token or the password.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Iterable, Iterator
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx
import orjson

RETRYABLE_STATUSES = frozenset({408, 425, 429})
_PLACEHOLDER = re.compile(r"%(\d+|[A-Za-z_]+)")


class MagentoError(Exception):
    """A request Magento did not carry out. `retryable` says whether trying again later may work."""

    def __init__(
        self,
        message: str,
        *,
        method: str,
        path: str,
        status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        self.message = message
        self.method = method
        self.path = path
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after
        super().__init__(str(self))

    def __str__(self) -> str:
        answer = f"Magento answered {self.status}" if self.status is not None else "Magento did not answer"
        return f"{answer} to {self.method} {self.path}: {self.message}"


def render(message: str, parameters: Any) -> str:
    """Magento's message template with its %1 / %name placeholders filled from `parameters`."""
    if isinstance(parameters, dict):
        return _PLACEHOLDER.sub(lambda m: str(parameters.get(m.group(1), m.group(0))), message)
    if isinstance(parameters, list):

        def positional(match: re.Match[str]) -> str:
            key = match.group(1)
            if key.isdigit() and 0 < int(key) <= len(parameters):
                return str(parameters[int(key) - 1])
            return match.group(0)

        return _PLACEHOLDER.sub(positional, message)
    return message


def error_text(response: httpx.Response) -> str:
    """Magento's `{"message", "parameters", "errors"}` as one sentence (or the start of the body)."""
    try:
        data = response.json()
    except ValueError:
        return response.text[:300].strip() or response.reason_phrase
    if not isinstance(data, dict) or "message" not in data:
        return str(data)[:300]
    text = render(str(data["message"]), data.get("parameters"))
    details = [render(str(e.get("message", "")), e.get("parameters")) for e in data.get("errors") or [] if e]
    return f"{text} ({'; '.join(details)})" if details else text


def retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def sku_key(sku: str) -> str:
    """Magento's SKU column is case-insensitive and ignores trailing spaces: so do the locks."""
    return "sku:" + sku.rstrip(" ").lower()


def sku_path(sku: str) -> str:
    return quote(sku, safe="")


class _Locks:
    """Named re-entrant locks, taken in sorted order so two requests never deadlock."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.RLock] = {}

    @contextlib.contextmanager
    def hold(self, keys: Iterable[str]) -> Iterator[None]:
        wanted = sorted(set(keys))
        with self._guard:
            locks = [self._locks.setdefault(k, threading.RLock()) for k in wanted]
        with contextlib.ExitStack() as stack:
            for lock in locks:
                stack.enter_context(lock)
            yield

    def clear(self) -> None:
        with self._guard:
            self._locks.clear()


class MagentoClient:
    """A thread-safe client for `<base_url>/rest`, authenticated by integration or admin token."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        max_connections: int = 8,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        root = base_url.rstrip("/")
        root = root[: -len("/rest")] if root.endswith("/rest") else root
        self.rest_url = f"{root}/rest"
        self.timeout = timeout
        self._static_token = token
        self._username, self._password = username, password
        self._token: str | None = token
        self._token_generation = 0
        self._auth_lock = threading.Lock()
        self._secrets = [s for s in (token, password) if s]
        self.locks = _Locks()
        self._http = httpx.Client(
            timeout=timeout,
            transport=transport,
            limits=httpx.Limits(max_connections=max_connections + 2, max_keepalive_connections=max_connections + 2),
            headers={"Accept": "application/json"},
        )

    def close(self) -> None:
        self._http.close()
        self.locks.clear()

    # ------------------------------------------------------------------------ requests

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", path, json=json, **kwargs)

    def put(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.request("PUT", path, json=json, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Any = None,
        skus: Iterable[str] = (),
        accept_status: Iterable[int] = (),
    ) -> Any:
        """`path` is below /rest (e.g. "/all/V1/products/abc"). A request naming `skus` waits until no
        other request of this client touches one of them. Statuses in `accept_status` are returned
        as `None` instead of raising (e.g. 404 on a delete)."""
        with self.locks.hold(sku_key(s) for s in skus if s):
            for attempt in (1, 2):
                token, generation = self._current_token(method, path)
                response = self._send(method, path, token, json, params)
                if response.status_code == 401 and attempt == 1 and self._can_renew():
                    self._renew(generation, method, path)
                    continue
                break
        return self._result(method, path, response, set(accept_status))

    @contextlib.contextmanager
    def holding(self, *skus: str) -> Iterator[None]:
        """Keep other threads off these SKUs for a read-modify-write (re-entrant for this thread)."""
        with self.locks.hold(sku_key(s) for s in skus if s):
            yield

    def _send(self, method: str, path: str, token: str, body: Any, params: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        content = None
        if body is not None:
            content = orjson.dumps(body)
            headers["Content-Type"] = "application/json"
        try:
            return self._http.request(method, self.rest_url + path, content=content, params=params, headers=headers)
        except httpx.TimeoutException:
            raise MagentoError(
                f"no answer within {self.timeout:g}s (the write may still have been applied)",
                method=method,
                path=path,
                retryable=True,
            ) from None
        except httpx.TransportError as error:
            raise MagentoError(
                f"connection failed ({type(error).__name__})", method=method, path=path, retryable=True
            ) from None

    def _result(self, method: str, path: str, response: httpx.Response, accept: set[int]) -> Any:
        status = response.status_code
        if 200 <= status < 300:
            if not response.content:
                return None
            try:
                return orjson.loads(response.content)
            except orjson.JSONDecodeError:
                return response.text
        if status in accept:
            return None
        message = self._scrub(error_text(response))
        retryable = status >= 500 or status in RETRYABLE_STATUSES
        if status == 401:
            message += " (check the integration token, or the admin user's credentials and ACL)"
        raise MagentoError(
            message,
            method=method,
            path=path,
            status=status,
            retryable=retryable,
            retry_after=retry_after_seconds(response.headers.get("Retry-After")) if retryable else None,
        )

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text[:1000]

    # ---------------------------------------------------------------------- admin tokens

    def _can_renew(self) -> bool:
        return self._static_token is None and bool(self._username)

    def _current_token(self, method: str, path: str) -> tuple[str, int]:
        if self._token is None:
            self._renew(self._token_generation, method, path)
        return self._token or "", self._token_generation

    def _renew(self, generation: int, method: str, path: str) -> None:
        """POST /V1/integration/admin/token, once for all threads that saw the same expired token."""
        with self._auth_lock:
            if self._token is not None and generation != self._token_generation:
                return  # another thread renewed it meanwhile
            login = "/V1/integration/admin/token"
            response = self._send("POST", login, "", {"username": self._username, "password": self._password}, None)
            if response.status_code != 200:
                self._result("POST", login, response, set())
            token = response.json()
            if not isinstance(token, str) or not token:
                raise MagentoError("the admin token answer is not a token", method="POST", path=login, status=200)
            self._token = token
            self._secrets = [s for s in (self._password, token) if s]
            self._token_generation += 1
