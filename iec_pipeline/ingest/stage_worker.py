"""Staging in a worker process: a long listing is normalized and written beside the fetch, not in it.

A listing is one request after another (`search_after` follows each page's `next` link), so a fetch
can go no faster than the server lists. Normalizing and writing pages in the fetching process held
the GIL its next request needed, so a listing took clearly longer than its bare requests. Handed to
a worker process (the other core), that work no longer delays the requests; the fetching process does
not even parse the pages it hands over (it reads their `next` link alone).

A worker starts once a listing proves long (`OffloadingStager`, after `AFTER_PAGES` pages); until it
is ready, pages are staged in the fetching process. Same `PageStager`, same rows either way; one
writer at a time (the fetching process flushes before handing over, and writes again only at
`finish`, after the worker is done).

Frames (see `iec_pipeline.common.workers`): `setup`, then `start` with the counters so far, one `page` per
page, then `end`; the worker answers `ready` once imported, then `done` with its counters. A worker
whose stdin closes before `end` exits without writing more; the retried fetch stages from scratch.
"""

from __future__ import annotations

import contextlib
import os
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO

from iec_pipeline.common.heap import full_collections_paused
from iec_pipeline.common.workers import WorkerProcess, receive, send, serve
from iec_pipeline.ingest.pages import Page

if TYPE_CHECKING:
    from iec_pipeline.ingest.staging import PageStager

AFTER_PAGES = 10  # a listing longer than this (1,000 items) is staged by a worker


class StagingWorker(WorkerProcess):
    """The fetching side of one staging worker."""

    def __init__(self, database_url: str, sync_id: str, entity_type: str, types: dict[str, str]) -> None:
        super().__init__("iec_pipeline.ingest.stage_worker", "staging worker")
        self._is_ready = False
        self.send(("setup", database_url, sync_id, entity_type, types))

    def ready(self) -> bool:
        """True once the worker has imported what it needs (never blocks)."""
        if not self._is_ready and self.answered():
            self.receive()  # ("ready",)
            self._is_ready = True
        return self._is_ready

    def start(self, counters: dict[str, Any]) -> None:
        """Hands the fetch over: from now on the worker stages and counts."""
        self.send(("start", counters))

    def stage(self, raw: bytes, path: str, requested_at: datetime, server_time: datetime | None) -> None:
        self.send(("page", raw, path, requested_at, server_time))

    def finish(self) -> dict[str, Any]:
        """Waits for the worker to write every page; returns its counters."""
        self.send(("end",))
        _done, counters = self.receive()
        self.stop()
        return counters


class OffloadingStager:
    """Stages a listing's pages here, then in a worker once the listing proves long."""

    def __init__(self, page_stager: PageStager, database_url: str, types: dict[str, str]) -> None:
        self.page_stager, self.database_url, self.types = page_stager, database_url, types
        self.after_pages = AFTER_PAGES
        self.worker: StagingWorker | None = None
        self.handed_over = False
        self.pages = 0
        self.offloaded = 0  # pages the worker staged

    def stage(self, page: Page, path: str) -> bool:
        """Stages one page, here or in the worker; True when the worker took it (its items unparsed)."""
        self.pages += 1
        stager = self.page_stager.stager
        if self.worker is None and self.pages >= self.after_pages:
            self.worker = StagingWorker(self.database_url, stager.sync_id, stager.entity_type, self.types)
        if not self.handed_over and self.worker is not None and self.worker.ready():
            stager.flush()  # one writer at a time: what this process staged is written first
            self.worker.start(stager.counters())
            self.handed_over = True
        if self.handed_over:
            self.worker.stage(page.raw, path, page.requested_at, page.server_time)
            self.offloaded += 1
            return True
        self.page_stager.stage(page.items, path, page.requested_at, page.server_time)
        return False

    def finish(self) -> None:
        """Takes the worker's counters back once it has written every page."""
        if self.handed_over:
            self.page_stager.stager.adopt(self.worker.finish())

    def stop(self) -> None:
        """Ends the worker, used or not (after `finish`, or on failure)."""
        if self.worker is not None:
            self.worker.stop()


def _serve(incoming: BinaryIO, outgoing: BinaryIO) -> int:
    """The worker's side: stages every page it is sent, then answers with its counters."""
    from iec_pipeline.ingest.staging import PageStager, Stager
    from iec_pipeline.store.db import get_engine

    setup = receive(incoming)
    if setup is None:
        return 0
    # The fetch's requests (and, on one machine, the server answering them) set the pace; this worker has
    # time to spare between pages. Yielding the CPU to them brings a fetch closer to the bare listing.
    with contextlib.suppress(OSError, AttributeError):
        os.nice(10)
    _tag, database_url, sync_id, entity_type, types = setup
    stager = Stager(get_engine(database_url), sync_id, entity_type)
    page_stager = PageStager(stager, types)
    send(outgoing, ("ready",))
    with full_collections_paused():
        while (message := receive(incoming)) is not None:
            match message:
                case ("start", counters):
                    stager.adopt(counters)
                case ("page", raw, path, requested_at, server_time):
                    page_stager.stage(Page(raw, requested_at, server_time).items, path, requested_at, server_time)
                case ("end",):
                    stager.flush()
                    send(outgoing, ("done", stager.counters()))
                    return 0
    return 1  # stdin closed before `end`: the parent is gone or gave up; write nothing more


if __name__ == "__main__":
    serve(_serve)
