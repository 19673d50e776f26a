"""Garbage-collector settings for the bulk phases of a sync (fetch, diff).

A sync allocates millions of short-lived objects (Akeneo items, payloads). CPython's full
collections walk every tracked object, including the ~160k that importing Dagster leaves alive,
so each one costs more the bigger the process is. Freezing what is alive when a phase starts
takes that long-lived heap out of the collector's walks (`gc.freeze`); it is handed back when
the phase ends, so a long-lived process (the test suite, a code server) frees it as usual.
Measured on a 50,000-product first sync: the diff took 13.1-14.4 s after the fetch, 10.3-10.9 s with it.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def long_lived_heap_frozen() -> Iterator[None]:
    gc.freeze()  # no collection first: it would cost ~60 ms per step; garbage frozen now is freed after
    try:
        yield
    finally:
        gc.unfreeze()
