"""The built-in `webhook` driver: POSTs each mutation as signed JSON to a URL.

Headers: `X-IEC-Signature: sha256=<hex HMAC-SHA256 of the raw body>` (the receiver recomputes
it with the shared secret, or with the secret of the entity's connection when that connection has its
own credentials) and `Idempotency-Key`, stable per mutation and integration, so a
receiver can apply a redelivered mutation (after a crash or a timeout) only once.
2xx -> success; 408, 429, 5xx, timeouts and network errors -> retryable; other 4xx -> permanent.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Sequence
from typing import ClassVar
from urllib.parse import urlsplit

import httpx
import orjson
from pydantic import Field, PrivateAttr

from drivers.base import Driver, Secret
from drivers.context import IntegrationContext
from drivers.models import ENTITY_TYPES, DeliveryResult, MutationData, PlannedCall

RETRYABLE = frozenset({408, 425, 429})


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def idempotency_key(integration: str, mutation_id: int) -> str:
    return hashlib.sha256(f"iec:{integration}:{mutation_id}".encode()).hexdigest()[:40]


def _where(url: str) -> str:
    """The URL without credentials or query: webhook URLs often carry tokens, messages never do."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{parts.path}"


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers["Retry-After"])
    except (KeyError, ValueError):
        return None


class WebhookDriver(Driver):
    """Signed JSON webhooks: every mutation, as IEC's MutationData."""

    name: ClassVar[str] = "webhook"
    type: ClassVar[str] = "webhook"
    version: ClassVar[str] = "1.0"
    description: ClassVar[str] = "POSTs each mutation as JSON, signed with HMAC-SHA256, with an Idempotency-Key"
    supported_entity_types: ClassVar[tuple[str, ...]] = ENTITY_TYPES

    url: str = Field(description="Where mutations are POSTed")
    secret: Secret = Field(description="Shared secret of the HMAC signature; write {env: NAME}")
    timeout_seconds: float = Field(default=10.0, gt=0, description="Per-request timeout")

    _client: httpx.Client | None = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def open(self, context: IntegrationContext) -> None:
        self._client = httpx.Client(
            timeout=self.timeout_seconds,
            limits=httpx.Limits(max_connections=self.max_concurrency, max_keepalive_connections=self.max_concurrency),
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _secret_for(self, mutation: MutationData, context: IntegrationContext) -> str:
        """A connection's own `secret` (per-connection credentials) wins over the integration's."""
        own = context.connection_credentials(mutation.entity_type, mutation.entity_uuid) or {}
        return own.get("secret") or self.secret

    def plan(self, mutations: Sequence[MutationData], context: IntegrationContext) -> list[PlannedCall]:
        """One POST per mutation; the body is the mutation itself (the signature is left out)."""
        return [
            PlannedCall(
                mutation_id=m.mutation_id, method="POST", target=_where(self.url),
                why=f"{m.operation} {m.entity_type} {m.code}",
                body_sha256=hashlib.sha256(orjson.dumps(m.model_dump(mode="json"))).hexdigest(),
            )  # fmt: skip
            for m in mutations
        ]

    def handle(self, mutation: MutationData, context: IntegrationContext) -> DeliveryResult:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self.open(context)
        body = orjson.dumps(mutation.model_dump(mode="json"))
        headers = {
            "Content-Type": "application/json",
            "X-IEC-Signature": signature(self._secret_for(mutation, context), body),
            "Idempotency-Key": idempotency_key(context.integration, mutation.mutation_id),
            "X-IEC-Integration": context.integration,
        }
        try:
            response = self._client.post(self.url, content=body, headers=headers)
        except httpx.TimeoutException:
            return DeliveryResult.retryable(f"timeout after {self.timeout_seconds}s posting to {_where(self.url)}")
        except httpx.TransportError as error:
            return DeliveryResult.retryable(f"{type(error).__name__} posting to {_where(self.url)}")
        if 200 <= response.status_code < 300:
            return DeliveryResult.success(forget_mapping=mutation.operation == "deleted")
        message = f"HTTP {response.status_code} from {_where(self.url)}: {response.text[:500]}"
        if response.status_code >= 500 or response.status_code in RETRYABLE:
            return DeliveryResult.retryable(message, retry_after=_retry_after(response))
        return DeliveryResult.permanent(message)
