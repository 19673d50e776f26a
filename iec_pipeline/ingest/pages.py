"""Akeneo listing pages as they arrive: the raw bytes, the next link read alone, items parsed on use.

Kept free of Dagster and httpx: a staging worker process reads its pages with these too.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

import orjson


class Page:
    """One page as Akeneo sent it (`raw`), with when we requested it (our clock) and Akeneo's time
    when it answered. Its items are parsed on first use: a staging worker parses the raw page itself."""

    def __init__(self, raw: bytes, requested_at: datetime, server_time: datetime | None = None, data: Any = None):
        self.raw, self.requested_at, self.server_time = raw, requested_at, server_time
        self._data = data

    @functools.cached_property
    def items(self) -> list[dict[str, Any]]:
        data = self._data if self._data is not None else orjson.loads(self.raw)
        self._data = None
        return (data.get("_embedded") or {}).get("items") or [] if isinstance(data, dict) else data


def links_of(raw: bytes) -> tuple[dict[str, Any], Any]:
    """A page's `_links`, and the whole page if it had to be parsed for them. Akeneo sends `_links`
    first: read alone, they spare the path to the next request a parse of the page, every page of a
    listing. Any other shape is parsed whole."""
    prefix = b'{"_links":{'
    if raw.startswith(prefix):
        depth, in_string, i, end = 1, False, len(prefix), len(raw)
        while i < end:  # the `_links` object's closing brace: strings (URLs) may hold braces
            c = raw[i]
            if in_string:
                if c == 0x5C:  # backslash: skip the escaped character
                    i += 1
                elif c == 0x22:
                    in_string = False
            elif c == 0x22:
                in_string = True
            elif c == 0x7B:
                depth += 1
            elif c == 0x7D:
                depth -= 1
                if depth == 0:
                    return orjson.loads(raw[len(b'{"_links":') : i + 1]), None
            i += 1
    data = orjson.loads(raw)
    return ((data.get("_links") or {}) if isinstance(data, dict) else {}), data
