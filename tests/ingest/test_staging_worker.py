"""A long listing is staged by a worker process (stage_worker): same rows, failures surface, no orphan;
the fetching process reads each page's next link without parsing its items."""

from __future__ import annotations

import io
import os
import signal
import time
from datetime import datetime
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select

from devtools.sample_catalog import generated_products
from iec_pipeline.common.workers import WorkerError, receive, send
from iec_pipeline.ingest import stage_worker
from iec_pipeline.ingest.akeneo import AkeneoClient
from iec_pipeline.ingest.fetch import fetch
from iec_pipeline.ingest.plan import FetchPlan
from iec_pipeline.store.db import get_engine, upgrade
from iec_pipeline.store.models import StagingEntity, StagingScope
from tests.conftest import CANARY_PASSWORD, CANARY_SECRET, CLIENT_ID, USERNAME

BOTH_STORES = pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)


def _client(akeneo, page_size: int) -> AkeneoClient:
    return AkeneoClient(akeneo.url, CLIENT_ID, CANARY_SECRET, USERNAME, CANARY_PASSWORD, page_size=page_size)


def _staged(url: str, sync_id: str) -> list[tuple]:
    with get_engine(url).connect() as conn:
        return sorted(
            tuple(row)
            for row in conn.execute(
                select(
                    StagingEntity.key, StagingEntity.code, StagingEntity.content_hash, StagingEntity.raw_hash,
                    StagingEntity.updated, StagingEntity.fields, StagingEntity.values,
                ).where(StagingEntity.sync_id == sync_id)
            )
        )  # fmt: skip


def _full_products(engine, sync_id: str, client: AkeneoClient, **kwargs):
    return fetch(client, engine, sync_id, FetchPlan("product", "full", "full"), **kwargs)


@BOTH_STORES
def test_a_long_listing_is_staged_by_a_worker_with_the_rows_staging_here_gives(akeneo, iec_env, monkeypatch):
    with akeneo.seeder() as seeder:
        seeder.seed()
        seeder.patch_products(generated_products(300))
    url = iec_env.store_url
    upgrade(url)
    engine = get_engine(url)

    monkeypatch.setattr(stage_worker, "AFTER_PAGES", 10**9)
    here = _full_products(engine, "staged-here", _client(akeneo, page_size=1))
    monkeypatch.setattr(stage_worker, "AFTER_PAGES", 3)
    offloaded = _full_products(engine, "staged-by-worker", _client(akeneo, page_size=1))

    assert here.offloaded_pages == 0
    # 310 one-item pages: the worker (started at page 3) takes over once it has imported what it needs.
    assert 0 < offloaded.offloaded_pages < offloaded.pages == here.pages == 310
    assert (offloaded.fetched, offloaded.values, offloaded.unchanged) == (here.fetched, here.values, 0)
    assert _staged(url, "staged-by-worker") == _staged(url, "staged-here")
    with engine.connect() as conn:
        scope = conn.execute(select(StagingScope).where(StagingScope.sync_id == "staged-by-worker")).one()
    assert (scope.fetched, scope.pages) == (310, 310) and scope.finished_at is not None
    assert scope.server_started_at is not None


def test_a_worker_that_dies_fails_the_fetch_naming_it(akeneo, iec_env, monkeypatch):
    with akeneo.seeder() as seeder:
        seeder.seed()
        seeder.patch_products(generated_products(300))
    upgrade(iec_env.store_url)
    monkeypatch.setattr(stage_worker, "AFTER_PAGES", 1)
    killed: list[int] = []

    def kill_the_worker(_message: str) -> None:
        for pid in _children("iec_pipeline.ingest.stage_worker"):
            if not killed:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

    with pytest.raises(WorkerError, match="staging worker"):
        _full_products(
            get_engine(iec_env.store_url), "killed", _client(akeneo, page_size=1),
            progress=kill_the_worker, progress_every=0,
        )  # fmt: skip
    assert killed


def test_a_worker_that_fails_answers_its_error_and_the_fetch_names_it():
    worker = stage_worker.StagingWorker("nosuchdialect://store", "failing", "product", {})
    deadline = time.monotonic() + 60
    with pytest.raises(WorkerError, match=r"staging worker failed: NoSuchModuleError: .*nosuchdialect"):
        while not worker.ready() and time.monotonic() < deadline:
            time.sleep(0.02)
    assert worker.process.returncode == 1


def test_a_worker_whose_parent_is_gone_stages_nothing_more(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade(url)
    page = b'{"_embedded": {"items": [{"uuid": "8a1b6c1e-0000-4000-8000-000000000001", "identifier": "x"}]}}'
    frames = io.BytesIO()
    for message in [
        ("setup", url, "orphan", "product", {}),
        ("start", {"fetched": 0, "pages": 0, "values": 0, "unchanged": 0, "server_started_at": None,
                   "max_updated": None, "sample": []}),
        ("page", page, "products-uuid", None, None),
    ]:  # fmt: skip
        send(frames, message)
    frames.seek(0)  # ...and then stdin closes: no `end`
    answers = io.BytesIO()

    assert stage_worker._serve(frames, answers) == 1
    answers.seek(0)
    assert receive(answers) == ("ready",) and receive(answers) is None
    with get_engine(url).connect() as conn:
        assert conn.execute(select(StagingEntity.key).where(StagingEntity.sync_id == "orphan")).all() == []


def _children(marker: str) -> list[int]:
    """Pids of this process's children whose command line contains `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == os.getpid() and marker in command:
            found.append(int(entry.name))
    return found


NEXT = {"href": '/p?search_after=x}"y'}  # in JSON: braces inside a string, an escape


@pytest.mark.parametrize(
    "page",
    [
        {"_links": {"self": {"href": "/p?a={b}"}, "next": NEXT}, "_embedded": {"items": [{"a": 1}]}},
        {"_links": {"self": {"href": "/p"}}, "current_page": 3, "_embedded": {"items": []}},
        {"_embedded": {"items": [{"_links": {"next": {"href": "/not-this"}}}]}, "_links": {"next": {"href": "/p2"}}},
        [{"code": "a list answer"}],
    ],
)
def test_a_pages_next_link_is_read_without_parsing_its_items_and_means_the_same(page):
    from iec_pipeline.ingest.pages import Page, links_of

    raw = orjson.dumps(page)
    links, parsed = links_of(raw)
    expected = page.get("_links", {}) if isinstance(page, dict) else {}
    assert links == expected
    assert (parsed is None) == raw.startswith(b'{"_links":{')  # read alone only when Akeneo sends them first
    items = page["_embedded"]["items"] if isinstance(page, dict) else page
    assert Page(raw, datetime(2026, 1, 1), data=parsed).items == items
