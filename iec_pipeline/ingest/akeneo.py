"""Akeneo REST client, and the Dagster resource that configures it.

Guarantees:
- OAuth2 password grant; the token is refreshed before it expires and once more on a 401;
- 429, 5xx, timeouts and dropped connections are retried with exponential backoff and jitter,
  never sooner than `Retry-After`, at most `max_attempts` times; then `AkeneoUnavailable`;
- any other 4xx raises `AkeneoError` naming the endpoint, the status and Akeneo's message;
- never more than `max_in_flight` requests at once (Akeneo allows 4 per connection);
- pagination follows `_links.next` only after a page succeeded, so a failure never skips a page;
- secrets never reach a log line, an exception text or Dagster metadata.
"""

from __future__ import annotations

import functools
import json
import logging
import random
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, BinaryIO
from urllib.parse import unquote, urlsplit

import dagster as dg
import httpx
import orjson
from pydantic import Field, PrivateAttr

from iec_pipeline.ingest.pages import Page, links_of

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
TOKEN_PATH = "/api/oauth/v1/token"
API_PREFIX = "/api/rest/v1"


class AkeneoError(Exception):
    """Akeneo refused a request in a way retrying cannot fix."""

    def __init__(self, method: str, endpoint: str, status: int | None, message: str) -> None:
        self.method, self.endpoint, self.status, self.message = method, endpoint, status, message
        super().__init__(str(self))

    def __str__(self) -> str:
        status = f"HTTP {self.status}" if self.status is not None else "no answer"
        return f"Akeneo {self.method} {self.endpoint} failed with {status}: {self.message}"


class AkeneoUnavailable(AkeneoError):
    """Akeneo kept failing (429/5xx/network) through every retry."""


def _akeneo_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500] or response.reason_phrase
    if isinstance(body, dict):
        message = body.get("message") or body.get("detail") or body.get("error_description") or body
        errors = body.get("errors")
        if errors:
            message = f"{message} {json.dumps(errors)[:500]}"
        return str(message)[:1000]
    return str(body)[:1000]


def _endpoint(url: str) -> str:
    """The path of a URL without query string: what an error message names."""
    return urlsplit(url).path or url


@dataclass(frozen=True)
class Downloaded:
    """What a streamed download wrote, and what Akeneo said of it."""

    size: int
    content_type: str | None
    filename: str | None  # from Content-Disposition, when Akeneo names the file


def _filename(response: httpx.Response) -> str | None:
    """The file name a Content-Disposition header gives (`filename*=UTF-8''...` or `filename="..."`)."""
    disposition = response.headers.get("Content-Disposition") or ""
    if match := re.search(r"filename\*=(?:UTF-8|utf-8)''([^;]+)", disposition):
        return unquote(match.group(1).strip()) or None
    if match := re.search(r'filename="?([^";]+)"?', disposition):
        return match.group(1).strip() or None
    return None


@dataclass
class RetryPolicy:
    max_attempts: int = 6
    backoff_seconds: float = 0.5
    backoff_max_seconds: float = 30.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Exponential backoff with full jitter on its upper half; never less than Retry-After."""
        ceiling = min(self.backoff_max_seconds, self.backoff_seconds * (2**attempt))
        delay = random.uniform(ceiling / 2, ceiling)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default TLS context (certifi's CAs, or SSL_CERT_FILE/SSL_CERT_DIR), made once per
    process: loading the CAs is not cheap, and each step of a sync paid it again."""
    return httpx.create_ssl_context()


@dataclass
class _Token:
    access: str
    refresh: str | None
    expires_at: float


@dataclass
class TokenSlot:
    """The token clients share: every step of a run would otherwise ask Akeneo for its own (a
    password grant, which a real Akeneo makes slow on purpose)."""

    token: _Token | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class AkeneoClient:
    base_url: str
    client_id: str
    client_secret: str = field(repr=False)
    username: str
    password: str = field(repr=False)
    timeout_seconds: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_in_flight: int = 4
    page_size: int = 100
    log: logging.Logger | Any = field(default_factory=lambda: logging.getLogger("iec.akeneo"))
    sleep: Callable[[float], None] = time.sleep
    tokens: TokenSlot = field(default_factory=TokenSlot, repr=False)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self._http = httpx.Client(
            verify=_tls_context(),
            timeout=httpx.Timeout(self.timeout_seconds),
            limits=httpx.Limits(max_connections=self.max_in_flight, max_keepalive_connections=self.max_in_flight),
            headers={"Accept": "application/json"},
        )
        self._slots = threading.BoundedSemaphore(self.max_in_flight)
        self.requests_sent = 0
        self.retries = 0
        self.server_time: datetime | None = None

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AkeneoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- authentication -------------------------------------------------------------------

    def _grant(self, body: dict[str, str]) -> _Token:
        url = self.base_url + TOKEN_PATH
        response = self._send("POST", url, json=body, auth=(self.client_id, self.client_secret), authed=False)
        if response.status_code != 200:
            raise AkeneoError("POST", TOKEN_PATH, response.status_code, _akeneo_message(response))
        data = response.json()
        lifetime = float(data.get("expires_in") or 3600)
        return _Token(data["access_token"], data.get("refresh_token"), time.monotonic() + lifetime)

    def _access_token(self, force: bool = False, stale: str | None = None) -> str:
        slot = self.tokens
        with slot.lock:
            token = slot.token
            if token is not None and stale is not None and token.access != stale:
                return token.access  # another thread already refreshed it
            fresh = token is not None and not force and token.expires_at - time.monotonic() > 60
            if fresh:
                return token.access
            if token is not None and token.refresh:
                try:
                    slot.token = self._grant({"grant_type": "refresh_token", "refresh_token": token.refresh})
                    return slot.token.access
                except AkeneoError:
                    self.log.info("Akeneo refresh token refused; requesting a new token")
            slot.token = self._grant({"grant_type": "password", "username": self.username, "password": self.password})
            return slot.token.access

    # --- requests ---------------------------------------------------------------------------

    def _send(self, method: str, url: str, authed: bool = True, **kwargs: Any) -> httpx.Response:
        """One request with retries for transient failures; returns the final response."""
        attempt = 0
        refreshed = False
        extra_headers = dict(kwargs.pop("headers", None) or {})
        while True:
            headers = dict(extra_headers)
            token = None
            if authed:
                token = self._access_token()
                headers["Authorization"] = f"Bearer {token}"
            try:
                with self._slots:
                    self.requests_sent += 1
                    response = self._http.request(method, url, headers=headers, **kwargs)
            except httpx.TransportError as error:
                problem, retry_after, response = f"{type(error).__name__}", None, None
            else:
                if authed and response.status_code == 401 and not refreshed:
                    self.log.info(f"Akeneo answered 401 on {_endpoint(url)}; refreshing the token once")
                    self._access_token(force=True, stale=token)
                    refreshed = True
                    continue
                if response.status_code not in RETRYABLE_STATUSES:
                    return response
                problem, retry_after = f"HTTP {response.status_code}", _retry_after(response)
            attempt += 1
            if attempt >= self.retry.max_attempts:
                status = response.status_code if response is not None else None
                message = _akeneo_message(response) if response is not None else problem
                raise AkeneoUnavailable(method, _endpoint(url), status, f"{message} (gave up after {attempt} attempts)")
            delay = self.retry.delay(attempt - 1, retry_after)
            self.retries += 1
            self.log.warning(
                f"Akeneo {method} {_endpoint(url)}: {problem}; retry {attempt}/{self.retry.max_attempts - 1}"
                f" in {delay:.1f}s"
            )
            self.sleep(delay)

    def download(self, path: str, sink: BinaryIO, chunk_size: int = 1 << 16) -> Downloaded:
        """Streams a binary GET into `sink`, never holding the body in memory.

        The same guarantees as every request (token, 401 refreshed once, 429/5xx/timeouts/dropped
        connections retried with backoff, `AkeneoUnavailable` at the end), and a body cut short counts as
        a dropped connection: `sink` is emptied and the download starts over. A 404 or another 4xx raises
        `AkeneoError` (its `status` says which)."""
        endpoint = _endpoint(self.url(path))
        attempt, refreshed = 0, False
        while True:
            token = self._access_token()
            sink.seek(0)
            sink.truncate()
            outcome = self._stream_once(self.url(path), token, sink, chunk_size)
            if isinstance(outcome, Downloaded):
                return outcome
            status, problem, retry_after = outcome
            if status == 401 and not refreshed:
                self.log.info(f"Akeneo answered 401 on {endpoint}; refreshing the token once")
                self._access_token(force=True, stale=token)
                refreshed = True
                continue
            attempt += 1
            if attempt >= self.retry.max_attempts:
                raise AkeneoUnavailable("GET", endpoint, status, f"{problem} (gave up after {attempt} attempts)")
            delay = self.retry.delay(attempt - 1, retry_after)
            self.retries += 1
            self.log.warning(
                f"Akeneo GET {endpoint}: {problem}; retry {attempt}/{self.retry.max_attempts - 1} in {delay:.1f}s"
            )
            self.sleep(delay)

    def _stream_once(
        self, url: str, token: str, sink: BinaryIO, chunk_size: int
    ) -> Downloaded | tuple[int | None, str, float | None]:
        """One download attempt: what it wrote, or (status, problem, Retry-After) of a retryable failure."""
        try:
            with self._slots:
                self.requests_sent += 1
                headers = {"Authorization": f"Bearer {token}", "Accept": "*/*"}
                # A redirect (a file served from elsewhere) is followed; httpx drops the token off-origin.
                with self._http.stream("GET", url, headers=headers, follow_redirects=True) as response:
                    status = response.status_code
                    if status == 401 or status in RETRYABLE_STATUSES:
                        response.read()
                        return status, f"HTTP {status}: {_akeneo_message(response)}", _retry_after(response)
                    if not 200 <= status < 300:
                        response.read()
                        raise AkeneoError("GET", _endpoint(url), status, _akeneo_message(response))
                    size = 0
                    for chunk in response.iter_bytes(chunk_size):
                        sink.write(chunk)
                        size += len(chunk)
                    expected = response.headers.get("Content-Length", "")
                    received = response.num_bytes_downloaded
                    if expected.isdigit() and int(expected) != received:
                        return status, f"body cut short ({received} of {expected} bytes)", None
                    if size == 0:
                        return status, "an empty body", None
                    self._note_server_time(response)
                    return Downloaded(size, response.headers.get("Content-Type"), _filename(response))
        except httpx.TransportError as error:
            return None, type(error).__name__, None

    def url(self, path: str) -> str:
        if path.startswith("http://") or path.startswith("https://"):
            return path
        if not path.startswith("/api/"):
            path = API_PREFIX + "/" + path.lstrip("/")
        return self.base_url + path

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A request whose non-2xx answer is an `AkeneoError` (except 404, returned to the caller)."""
        url = self.url(path)
        response = self._send(method, url, **kwargs)
        if response.status_code >= 400 and response.status_code != 404:
            raise AkeneoError(method, _endpoint(url), response.status_code, _akeneo_message(response))
        return response

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return orjson.loads(self.get_raw(path, params))

    def get_raw(self, path: str, params: dict[str, Any] | None = None) -> bytes:
        """A GET's JSON body as Akeneo sent it."""
        response = self.request("GET", path, params=params)
        if response.status_code == 404:
            raise AkeneoError("GET", _endpoint(self.url(path)), 404, _akeneo_message(response))
        self._note_server_time(response)
        return response.content

    def _note_server_time(self, response: httpx.Response) -> None:
        """Akeneo's clock (the `Date` header): watermarks compare with it, never with ours."""
        try:
            server = parsedate_to_datetime(response.headers["Date"])
        except (KeyError, TypeError, ValueError):
            return
        self.server_time = server.astimezone(UTC).replace(tzinfo=None)

    def get_optional(self, path: str) -> dict[str, Any] | None:
        """One item, or None when Akeneo says it does not exist (404)."""
        response = self.request("GET", path)
        self._note_server_time(response)
        return None if response.status_code == 404 else response.json()

    def iter_pages(self, path: str, params: dict[str, Any] | None = None, search_after: bool = False) -> Iterator[Page]:
        """Yields each page, following `_links.next` (never a hand-built cursor); each page knows
        when it was requested (the stale guard compares snapshots by that time)."""
        query: dict[str, Any] = {"limit": self.page_size, **(params or {})}
        query["pagination_type"] = "search_after" if search_after else "page"
        url: str | None = self.url(path)
        first = True
        while url is not None:
            requested_at = datetime.now(UTC).replace(tzinfo=None)
            raw = self.get_raw(url, params=query if first else None)
            first = False
            links, data = links_of(raw)
            yield Page(raw, requested_at, self.server_time, data)
            url = (links.get("next") or {}).get("href")
            if url is not None and not url.startswith("http"):
                url = self.base_url + url


class AkeneoResource(dg.ConfigurableResource):
    """Connection to an Akeneo PIM (REST API v1). Credentials come from the environment."""

    url: str = Field(description="Base URL of the PIM, e.g. https://pim.example.com")
    client_id: str = Field(description="API connection client id")
    client_secret: str = Field(description="API connection secret (use EnvVar)")
    username: str = Field(description="API connection username")
    password: str = Field(description="API connection password (use EnvVar)")
    timeout_seconds: float = Field(default=30.0, description="Per-request timeout")
    max_attempts: int = Field(default=6, description="Tries per request for 429/5xx/network errors")
    backoff_seconds: float = Field(default=0.5, description="First retry delay; doubles each time")
    backoff_max_seconds: float = Field(default=30.0, description="Cap of one retry delay")
    max_in_flight: int = Field(default=4, description="Concurrent requests (Akeneo allows 4 per connection)")
    page_size: int = Field(default=100, description="Items per page (Akeneo's maximum is 100)")

    _tokens: TokenSlot | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._tokens = TokenSlot()  # one token for the whole run (see TokenSlot)

    def client(self, log: Any = None) -> AkeneoClient:
        return AkeneoClient(
            base_url=self.url,
            client_id=self.client_id,
            client_secret=self.client_secret,
            username=self.username,
            password=self.password,
            timeout_seconds=self.timeout_seconds,
            retry=RetryPolicy(self.max_attempts, self.backoff_seconds, self.backoff_max_seconds),
            max_in_flight=self.max_in_flight,
            page_size=min(100, self.page_size),
            log=log or logging.getLogger("iec.akeneo"),
            tokens=self._tokens or TokenSlot(),
        )
