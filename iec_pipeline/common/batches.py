"""Fixed-size slices of a sequence: statements stay under the databases' parameter limits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def chunks[T](items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
