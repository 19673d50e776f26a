"""Test controls that are not part of Magento: fault injection, runtime knobs, request log, stats.

The per-SKU in-flight tracker exists because a real Magento creates duplicate products when two
requests create the same SKU concurrently; the sandbox applies writes atomically, so instead it
records every overlap and lets tests assert that a driver never writes one SKU twice at a time.
"""

from __future__ import annotations

import re
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .products import sku_key

_DEFAULT_MESSAGES = {
    400: "Bad request.",
    401: "The consumer isn't authorized to access %resources.",
    404: "Not found.",
    429: "Too many requests.",
    500: "Internal Error.",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class FaultRule(BaseModel):
    """Answer the next ``times`` matching requests with ``status`` (after sleeping ``delay_ms``).

    With ``hang_ms`` the request first sleeps that long (to trip client timeouts).  Without a
    ``status`` the request is then processed normally: a write that timed out on the client
    side may still have been applied, exactly as on a real server.
    """

    model_config = ConfigDict(extra="forbid")

    method: str | None = None
    path: str = ".*"
    status: int | None = 503
    times: int | None = Field(default=1, description="None = until cleared")
    delay_ms: int = 0
    retry_after: int | str | None = None
    message: str | None = None
    hang_ms: int | None = None

    def compiled(self) -> re.Pattern[str]:
        return re.compile(self.path)


class RuntimeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    write_delay_ms: int = 0
    bulk_operation_delay_ms: int = 0
    admin_token_ttl_seconds: float = 4 * 3600
    websites: dict[str, list[str]] = Field(default_factory=lambda: {"base": ["default", "fr", "de"]})
    base_currencies: dict[str, str] = Field(default_factory=dict)
    price_scope: Literal["global", "website"] = "global"


class Faults:
    def __init__(self) -> None:
        self.rules: list[tuple[FaultRule, re.Pattern[str], list[int]]] = []
        self.injected = 0

    def set(self, rules: list[FaultRule]) -> None:
        self.rules = [(r, r.compiled(), [r.times if r.times is not None else -1]) for r in rules]

    def clear(self) -> None:
        self.rules = []

    def match(self, method: str, path: str) -> FaultRule | None:
        for rule, pattern, left in self.rules:
            if rule.method and rule.method.upper() != method:
                continue
            if left[0] == 0 or not pattern.search(path):
                continue
            if left[0] > 0:
                left[0] -= 1
            self.injected += 1
            return rule
        return None

    def describe(self) -> list[dict[str, Any]]:
        return [
            {**r.model_dump(), "remaining": None if left[0] < 0 else left[0]} for r, _, left in self.rules
        ]

    @staticmethod
    def body(rule: FaultRule) -> dict[str, Any]:
        message = rule.message or _DEFAULT_MESSAGES.get(rule.status or 500, "Injected fault.")
        params: Any = {"resources": "Magento_Catalog::products"} if "%resources" in message else []
        return {"message": message, "parameters": params}


@dataclass(slots=True)
class LogEntry:
    seq: int
    method: str
    path: str
    started: float
    store_code: str | None = None
    operation_id: str | None = None
    status: int | None = None
    sku: str | None = None
    schema_errors: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    fault: bool = False
    duration_ms: float | None = None
    bytes_in: int = 0  # request body bytes received
    media_bytes: int = 0  # decoded image bytes this request stored (media POST/PUT, product saves)

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "method": self.method,
            "path": self.path,
            "store_code": self.store_code,
            "operation_id": self.operation_id,
            "status": self.status,
            "sku": self.sku,
            "schema_errors": self.schema_errors,
            "warnings": self.warnings,
            "error": self.error,
            "fault": self.fault,
            "started": self.started,
            "duration_ms": self.duration_ms,
            "bytes_in": self.bytes_in,
            "media_bytes": self.media_bytes,
        }


class Recorder:
    """Request log, counters and the per-SKU in-flight tracker."""

    def __init__(self, max_entries: int = 200_000) -> None:
        self.max_entries = max_entries
        self.reset()

    def reset(self) -> None:
        self.entries: deque[LogEntry] = deque(maxlen=self.max_entries)
        self.seq = 0
        self.by_status: Counter[str] = Counter()
        self.schema_error_requests = 0
        self.writes = 0
        self.warnings = 0
        self.in_flight: dict[str, int] = {}
        self.total_in_flight = 0
        self.max_total_in_flight = 0
        self.max_in_flight_per_sku = 0
        self.overlaps = 0
        self.overlapping: Counter[str] = Counter()
        self.bulk_operations = Counter()
        self.bytes_in = 0
        self.media_bytes = 0
        self.by_operation: Counter[str] = Counter()
        self.bytes_by_operation: Counter[str] = Counter()
        self.media_bytes_by_operation: Counter[str] = Counter()

    def start(self, method: str, path: str) -> LogEntry:
        self.seq += 1
        entry = LogEntry(self.seq, method, path, time.time())
        self.entries.append(entry)
        return entry

    def finish(self, entry: LogEntry, status: int) -> None:
        entry.status = status
        entry.duration_ms = round((time.time() - entry.started) * 1000, 3)
        self.by_status[str(status)] += 1
        operation = entry.operation_id or "(unmatched)"
        self.by_operation[operation] += 1
        self.bytes_in += entry.bytes_in
        self.bytes_by_operation[operation] += entry.bytes_in
        if entry.media_bytes:
            self.media_bytes_by_operation[operation] += entry.media_bytes
        if entry.schema_errors:
            self.schema_error_requests += 1
        self.warnings += len(entry.warnings)

    def since(self, seq: int) -> list[dict[str, Any]]:
        return [e.to_json() for e in self.entries if e.seq > seq]

    def enter(self, skus: list[str]) -> list[str]:
        keys = list(dict.fromkeys(sku_key(s) for s in skus if s))
        for key in keys:
            count = self.in_flight.get(key, 0) + 1
            self.in_flight[key] = count
            if count > 1:
                self.overlaps += 1
                self.overlapping[key] += 1
            self.max_in_flight_per_sku = max(self.max_in_flight_per_sku, count)
        self.total_in_flight += 1
        self.max_total_in_flight = max(self.max_total_in_flight, self.total_in_flight)
        return keys

    def exit(self, keys: list[str]) -> None:
        for key in keys:
            count = self.in_flight.get(key, 1) - 1
            if count:
                self.in_flight[key] = count
            else:
                self.in_flight.pop(key, None)
        self.total_in_flight -= 1

    def stats(self) -> dict[str, Any]:
        return {
            "requests": self.seq,
            "by_status": dict(self.by_status),
            "schema_errors": self.schema_error_requests,
            "max_in_flight_per_sku": self.max_in_flight_per_sku,
            "sku_overlaps": self.overlaps,
            "overlapping_skus": dict(self.overlapping.most_common(50)),
            "writes": self.writes,
            "max_in_flight": self.max_total_in_flight,
            "warnings": self.warnings,
            "bulk_operations": dict(self.bulk_operations),
            "bytes_in": self.bytes_in,
            "media_bytes": self.media_bytes,
            "by_operation": {
                op: {
                    "requests": count,
                    "bytes_in": self.bytes_by_operation[op],
                    "media_bytes": self.media_bytes_by_operation[op],
                }
                for op, count in sorted(self.by_operation.items())
            },
        }
