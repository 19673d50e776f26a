"""Staging in a worker process: a long listing is normalized and written beside the fetch, not in it.

A listing is one request after another (`search_after` follows each page's `next` link), so a fetch
can go no faster than the server lists. Normalizing and writing pages in the fetching process held
the GIL its next request needed: a 50,000-product listing took 9.5 s against 7.7 s for the bare
requests. Handed to a worker process (the other core), that work no longer delays the requests.

A worker starts once a listing proves long (`OffloadingStager`, after `AFTER_PAGES` pages); until it
is ready, pages are staged in the fetching process. Same `PageStager`, same rows either way; one
writer at a time (the fetching process flushes before handing over, and writes again only at
`finish`, after the worker is done).

Protocol: length-prefixed pickle frames. Over stdin (never argv: the database URL may hold a
password): `setup`, then `start` with the counters so far, one `page` per page, then `end`. Over
stdout: `ready` once imported, then `done` with the counters, or `error`. A worker whose stdin closes
before `end` (its parent died) exits without writing more; the retried fetch stages from scratch.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pickle
import select
import struct
import subprocess
import sys
from datetime import datetime
from typing import Any, BinaryIO

AFTER_PAGES = 10  # a listing longer than this (1,000 items) is staged by a worker
_LENGTH = struct.Struct("<Q")
_PIPE_BYTES = 1 << 20  # room for a few pages, so a slower moment of the worker never stalls a request


class StagingWorkerError(RuntimeError):
    """The staging worker failed or died; the fetch fails (and its step's retry policy applies)."""


def _send(stream: BinaryIO, message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(data)))
    stream.write(data)
    stream.flush()


def _receive(stream: BinaryIO) -> Any:
    """The next frame, or None at end of stream."""
    header = stream.read(_LENGTH.size)
    if len(header) < _LENGTH.size:
        return None
    (length,) = _LENGTH.unpack(header)
    data = stream.read(length)
    if len(data) < length:
        return None
    return pickle.loads(data)


class StagingWorker:
    """The fetching side of one worker process."""

    def __init__(self, database_url: str, sync_id: str, entity_type: str, types: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "iec_pipeline.catalog.stage_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            close_fds=True,
        )
        with contextlib.suppress(OSError):  # Linux: a larger pipe buffers a few pages
            fcntl.fcntl(self.process.stdin.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
        self._is_ready = False
        self._send(("setup", database_url, sync_id, entity_type, types))

    def _send(self, message: Any) -> None:
        try:
            _send(self.process.stdin, message)
        except (BrokenPipeError, OSError) as error:
            raise self._died() from error

    def _died(self) -> StagingWorkerError:
        code = self.process.wait()
        return StagingWorkerError(f"staging worker exited with code {code} before finishing")

    def ready(self) -> bool:
        """True once the worker has imported what it needs (never blocks)."""
        if not self._is_ready and select.select([self.process.stdout], [], [], 0)[0]:
            message = _receive(self.process.stdout)
            if message != ("ready",):
                raise self._failure(message)
            self._is_ready = True
        return self._is_ready

    def start(self, counters: dict[str, Any]) -> None:
        """Hands the fetch over: from now on the worker stages and counts."""
        self._send(("start", counters))

    def stage(self, raw: bytes, path: str, requested_at: datetime, server_time: datetime | None) -> None:
        self._send(("page", raw, path, requested_at, server_time))

    def finish(self) -> dict[str, Any]:
        """Waits for the worker to write every page; returns its counters."""
        self._send(("end",))
        message = _receive(self.process.stdout)
        if message is not None and message[0] == "done":
            self.process.wait()
            return message[1]
        raise self._failure(message)

    def _failure(self, message: Any) -> StagingWorkerError:
        if message is not None and message[0] == "error":
            self.stop()
            return StagingWorkerError(f"staging worker failed: {message[1]}")
        return self._died()

    def stop(self) -> None:
        """Ends the worker without finishing (the fetch failed): what it had not written is dropped."""
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                stream.close()


class OffloadingStager:
    """Stages a listing's pages here, then in a worker once the listing proves long."""

    def __init__(
        self, page_stager: Any, database_url: str, types: dict[str, str], after_pages: int | None = None
    ) -> None:
        self.page_stager, self.database_url, self.types = page_stager, database_url, types
        self.after_pages = AFTER_PAGES if after_pages is None else after_pages
        self.worker: StagingWorker | None = None
        self.handed_over = False
        self.pages = 0
        self.offloaded = 0  # pages the worker staged

    def stage(self, items: list[dict[str, Any]], raw: bytes | None, path: str, requested_at, server_time) -> None:
        self.pages += 1
        stager = self.page_stager.stager
        if self.worker is None and self.pages >= self.after_pages and raw is not None:
            self.worker = StagingWorker(self.database_url, stager.sync_id, stager.entity_type, self.types)
        if not self.handed_over and self.worker is not None and raw is not None and self.worker.ready():
            stager.flush()  # one writer at a time: what this process staged is written first
            self.worker.start(stager.counters())
            self.handed_over = True
        if self.handed_over:
            self.worker.stage(raw, path, requested_at, server_time)
            self.offloaded += 1
        else:
            self.page_stager.stage(items, path, requested_at, server_time)

    def finish(self) -> None:
        """Takes the worker's counters back (every page is written), or stops an unused worker."""
        if self.handed_over:
            self.page_stager.stager.adopt(self.worker.finish())
        elif self.worker is not None:
            self.worker.stop()

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()


def _serve(incoming: BinaryIO, outgoing: BinaryIO) -> int:
    """The worker's side: stages every page it is sent, then answers with its counters."""
    import orjson

    from iec_pipeline.catalog.staging import PageStager, Stager
    from iec_pipeline.store.db import get_engine

    setup = _receive(incoming)
    if setup is None:
        return 0
    _tag, database_url, sync_id, entity_type, types = setup
    stager = Stager(get_engine(database_url), sync_id, entity_type)
    page_stager = PageStager(stager, types)
    _send(outgoing, ("ready",))
    try:
        while (message := _receive(incoming)) is not None:
            match message:
                case ("start", counters):
                    stager.adopt(counters)
                case ("page", raw, path, requested_at, server_time):
                    data = orjson.loads(raw)
                    items = (data.get("_embedded") or {}).get("items") or []
                    page_stager.stage(items, path, requested_at, server_time)
                case ("end",):
                    stager.flush()
                    _send(outgoing, ("done", stager.counters()))
                    return 0
        return 1  # stdin closed before `end`: the parent is gone or gave up; write nothing more
    except Exception as error:  # noqa: BLE001 - reported to the fetching process, which fails the fetch
        _send(outgoing, ("error", f"{type(error).__name__}: {error}"))
        return 1


if __name__ == "__main__":
    # Frames go to the original stdout; anything else printed here goes to stderr.
    protocol_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.exit(_serve(sys.stdin.buffer, protocol_out))
