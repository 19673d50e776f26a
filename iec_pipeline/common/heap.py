"""Garbage-collector settings for the bulk phases of a sync (fetch, diff).

A sync allocates millions of short-lived objects (Akeneo items, payloads); reference counting
frees them. CPython's full collections still walk every tracked object: the many that importing
Dagster leaves alive, and the bulk phase's own working set (a chunk of payloads), so each costs
more the bigger the process and the chunk. During a bulk phase the heap alive when it starts is
frozen (`gc.freeze`: out of the walks) and full collections are put off; the young generations are
still collected, so short-lived reference cycles are freed as before. Both are handed back when the
phase ends, so a long-lived process (the test suite, a code server) collects as usual.

Freezing, and then putting off full collections, each made a first sync's diff faster at the same
peak memory (pausing the collector altogether was as fast but kept more memory).

A short-lived process (the `iec` CLI, which exits without tearing its heap down) puts off full
collections for its whole life instead (`full_collections_put_off_for_process`): handing the heap
back after a phase made the next allocation walk all of it (after the fetch, again after the diff),
and importing Dagster triggered another such walk.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_NEVER = 1 << 30  # a generation-2 threshold no bulk phase reaches
_put_off_for_process = False


def full_collections_put_off_for_process() -> None:
    """For a process that ends soon and exits without freeing its heap: no full collection, ever.
    Young generations are still collected (most reference cycles die young)."""
    global _put_off_for_process
    threshold0, threshold1, _ = gc.get_threshold()
    gc.set_threshold(threshold0, threshold1, _NEVER)
    _put_off_for_process = True


@contextmanager
def full_collections_paused() -> Iterator[None]:
    if _put_off_for_process:  # nothing to pause, nothing to hand back
        yield
        return
    thresholds = gc.get_threshold()
    gc.freeze()  # no collection first: it would walk the whole heap at each step; garbage frozen now is freed after
    gc.set_threshold(thresholds[0], thresholds[1], _NEVER)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
