"""IEC's clock: naive UTC datetimes everywhere (the store's columns hold UTC without a zone)."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def iso_utc(value: datetime | None, zone: str = "Z") -> str | None:
    """A stored (naive UTC) datetime in ISO 8601: `Z` in CLI JSON, `+00:00` in payloads (both contracts)."""
    return value.isoformat() + zone if value is not None else None
