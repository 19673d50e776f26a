"""Reliability row 3: a 2xx answered, then kill -9 of the receiver at once: every acknowledged event is in
the store after a restart (the receiver commits before it answers)."""

from __future__ import annotations

import os
import signal
import threading
import time

import httpx

from devtools.ports import free_port
from iec_pipeline.webhooks.receiver import PATH
from tests.webhooks.conftest import cloudevent, drop_rows, dumps, platform_headers, start_subprocess


def test_kill_9_during_load_loses_no_acknowledged_event(store_url, tmp_path):
    port = free_port()
    process = start_subprocess(store_url, port, str(tmp_path / "receiver.log"))
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            while not stop.is_set():
                event = cloudevent()
                body = dumps(event)
                try:
                    response = http.post(PATH, content=body, headers=platform_headers(body))
                except httpx.HTTPError:
                    return  # the receiver is gone: this event was never acknowledged
                if response.status_code == 200:
                    with lock:
                        acknowledged.append(event["id"])

    threads = [threading.Thread(target=load) for _ in range(6)]
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 20
        while len(acknowledged) < 400 and time.monotonic() < deadline:
            time.sleep(0.005)
        os.kill(process.pid, signal.SIGKILL)  # mid-load: requests are in flight at this instant
        process.wait(5)
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
        if process.poll() is None:
            process.kill()
    assert len(acknowledged) >= 400

    restarted = start_subprocess(store_url, port, str(tmp_path / "receiver.log"))
    try:
        stored = {row.event_id for row in drop_rows(store_url)}
        missing = set(acknowledged) - stored
        assert not missing, f"{len(missing)} acknowledged events lost"
        # Akeneo may redeliver what it never saw acknowledged: the restarted receiver dedupes it
        event = cloudevent(event_id=acknowledged[-1])
        body = dumps(event)
        answer = httpx.post(f"http://127.0.0.1:{port}{PATH}", content=body, headers=platform_headers(body))
        assert answer.status_code == 200 and answer.json()["duplicates"] == 1
    finally:
        restarted.terminate()
        restarted.wait(10)
