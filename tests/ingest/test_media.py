"""Media files: uploaded through the media layer in front of the real akeneo-mock-server, synced as codes
(no binary during a sync), downloaded once when a delivery asks, content-addressed, failures leaving
nothing behind; asset main media resolved through the mock's asset families."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from devtools.akeneo_media import AkeneoMediaLayer
from devtools.sample_catalog import AkeneoSeeder, product_uuid
from drivers.context import MediaUnavailable
from iec_pipeline.ingest.akeneo import AkeneoClient, RetryPolicy
from iec_pipeline.ingest.media import AkeneoMedia, StoredMedia, media_path
from iec_pipeline.launch import run_sync
from iec_pipeline.store import db
from iec_pipeline.store.models import MediaFileRow
from tests.conftest import CANARY_PASSWORD, CANARY_SECRET, CLIENT_ID, USERNAME
from tests.support import store
from tests.support.akeneo_proxy import AkeneoProxy

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 400  # ~100 kB: several chunks
PDF = b"%PDF-1.7 manual " * 5000


@pytest.fixture
def layer(akeneo) -> Iterator[AkeneoMediaLayer]:
    with AkeneoMediaLayer(akeneo.mock.url) as started:
        yield started


@pytest.fixture
def strict(layer, iec_env, monkeypatch) -> Iterator[AkeneoProxy]:
    """IEC's syncs go through the strict proxy to the media layer, then the mock."""
    proxy = AkeneoProxy(layer.base_url, CLIENT_ID, CANARY_SECRET, USERNAME, CANARY_PASSWORD).start()
    monkeypatch.setenv("AKENEO_URL", proxy.url)
    yield proxy
    proxy.stop()


def _client(url: str) -> AkeneoClient:
    return AkeneoClient(url, "any", "any", "any", "any", retry=RetryPolicy(3, 0.01, 0.05))


def _media(layer: AkeneoMediaLayer, store_url: str, directory: Path) -> AkeneoMedia:
    return AkeneoMedia(lambda: _client(layer.base_url), db.ready_engine(store_url), directory)


def _seed_pictures(akeneo) -> None:
    with akeneo.seeder() as seeder:
        seeder.seed()
        seeder.upsert("attributes", "picture", {"code": "picture", "type": "pim_catalog_image", "group": "other"})
        seeder.upsert("attributes", "manual", {"code": "manual", "type": "pim_catalog_file", "group": "other"})
        for identifier in ("poster-a", "poster-b"):
            seeder.upsert("products-uuid", product_uuid(identifier), {"identifier": identifier, "enabled": True})


def _upload(layer: AkeneoMediaLayer, identifier: str, attribute: str, filename: str, content: bytes) -> str:
    """Uploads through the layer as a client of Akeneo would; returns the new file code."""
    with httpx.Client(base_url=layer.base_url) as http:
        token = http.post("/api/oauth/v1/token", json={"grant_type": "password", "username": "u", "password": "p"},
                          auth=("c", "s")).json()["access_token"]  # fmt: skip
        response = http.post(
            "/api/rest/v1/media-files",
            headers={"Authorization": f"Bearer {token}"},
            data={
                "product": f'{{"identifier": "{identifier}", "attribute": "{attribute}", "scope": null, '
                '"locale": null}'
            },  # fmt: skip
            files={"file": (filename, content)},
        )
    assert response.status_code == 201, response.text
    location = response.headers["Location"]
    return location.split("/api/rest/v1/media-files/", 1)[1]


def test_a_synced_file_code_is_downloaded_once_content_addressed_and_shared(akeneo, layer, strict, iec_env, instance):
    _seed_pictures(akeneo)
    code_a = _upload(layer, "poster-a", "picture", "poster.png", PNG)
    code_b = _upload(layer, "poster-b", "picture", "same poster.png", PNG)  # equal content, another code
    code_manual = _upload(layer, "poster-a", "manual", "manual.pdf", PDF)
    assert code_a != code_b and code_a.endswith("_poster.png") and code_a.count("/") == 4

    outcome = run_sync(instance, mode="full")
    assert outcome.success, outcome.errors
    values = store.values_of(iec_env.store_url, product_uuid("poster-a"))
    assert values[("picture", "", "")] == (code_a, None) and values[("manual", "", "")] == (code_manual, None)
    assert layer.stats()["downloads"] == {}  # a sync never downloads a binary

    directory = Path(iec_env.env["IEC_MEDIA_DIR"])
    with _media(layer, iec_env.store_url, directory) as media:
        first = media.file(code_a)
        again = media.file(code_a)
        assert first == again and layer.downloads(code_a) == 1
        assert (first.filename, first.mime_type, first.size) == ("poster.png", "image/png", len(PNG))
        assert first.path == media_path(directory, first.sha256) == directory / first.sha256[:2] / first.sha256
        assert first.read_bytes() == PNG
        shared = media.file(code_b)  # downloaded (another code), stored once
        assert shared.path == first.path and shared.filename == "same poster.png"
        manual = media.file(code_manual)
        assert manual.mime_type == "application/pdf" and manual.read_bytes() == PDF
        assert (media.stats.downloaded, media.stats.bytes, media.stats.reused) == (3, 2 * len(PNG) + len(PDF), 1)
    assert sorted(p.name for p in directory.glob("??/*")) == sorted({first.sha256, manual.sha256})

    # Another source on the same store and directory (another run, another process): nothing downloaded again.
    with _media(layer, iec_env.store_url, directory) as later:
        assert later.file(code_a).read_bytes() == PNG and later.file(code_manual).size == len(PDF)
        assert later.stats.downloaded == 0
    assert layer.stats()["downloads"] == {code_a: 1, code_b: 1, code_manual: 1}
    # A dry run reads what is already downloaded, and requests nothing for the rest.
    dry = StoredMedia(db.ready_engine(iec_env.store_url), directory)
    assert dry.file(code_a).sha256 == first.sha256
    with pytest.raises(MediaUnavailable, match="not downloaded yet"):
        dry.file("0/1/2/3/0123_nothing.png")


@pytest.mark.parametrize("fault", ["drop", "500"])
def test_a_failed_download_leaves_nothing_names_the_code_and_succeeds_later(akeneo, layer, store_url, tmp_path, fault):
    _seed_pictures(akeneo)
    code = _upload(layer, "poster-a", "picture", "poster.png", PNG)
    layer.fail(code, drop=fault == "drop", status=500, times=10)  # more than the client's retries
    media = _media(layer, store_url, tmp_path / "media")
    with pytest.raises(MediaUnavailable) as raised:
        media.file(code)
    assert code in str(raised.value) and "Akeneo unavailable" in str(raised.value)
    assert layer.stats()["attempts"][code] == 3 and layer.downloads(code) == 0
    assert [p for p in (tmp_path / "media").rglob("*") if p.is_file() and p.parent.name != ".locks"] == []
    with db.ready_engine(store_url).connect() as conn:
        assert conn.execute(select(MediaFileRow)).all() == []

    layer.heal()  # retryable: the next attempt (the job's retry) gets it
    assert media.file(code).read_bytes() == PNG and layer.downloads(code) == 1
    media.close()


def test_a_file_akeneo_does_not_have_is_unavailable_saying_so(akeneo, layer, store_url, tmp_path):
    with pytest.raises(
        MediaUnavailable, match=r"media file a/b/c/d/abcd_gone\.png: Akeneo has no such file \(HTTP 404"
    ):
        _media(layer, store_url, tmp_path).file("a/b/c/d/abcd_gone.png")


def test_four_threads_asking_for_one_file_make_one_download(akeneo, layer, store_url, tmp_path):
    _seed_pictures(akeneo)
    code = _upload(layer, "poster-a", "picture", "poster.png", PNG * 10)
    media = _media(layer, store_url, tmp_path / "media")
    start, results, errors = threading.Barrier(4), [], []

    def ask() -> None:
        start.wait()
        try:
            results.append(media.file(code))
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [] and len(results) == 4 and len({r.path for r in results}) == 1
    assert layer.downloads(code) == 1 and media.stats.downloaded == 1 and media.stats.reused == 3
    media.close()


def test_an_asset_main_media_file_is_resolved_through_its_family(akeneo, layer, store_url, tmp_path):
    with httpx.Client(base_url=layer.base_url) as http:
        uploaded = http.post("/api/rest/v1/asset-media-files", files={"file": ("front.jpg", b"\xff\xd8jpeg" * 999)})
        assert uploaded.status_code == 201
        code = uploaded.headers["Asset-media-file-code"]
        assert uploaded.headers["Location"].endswith(f"/api/rest/v1/asset-media-files/{code}")
    media_value = {"media": [{"locale": None, "channel": None, "data": code}]}
    with AkeneoSeeder(layer.base_url) as seeder:  # through the layer: the mock alone forgets the main media
        seeder.upsert("asset-families", "packshots", {"code": "packshots", "attribute_as_main_media": "media",
                                                      "labels": {"en_US": "Packshots"}})  # fmt: skip
        seeder.upsert("asset-families/packshots/attributes", "media",
                      {"code": "media", "type": "media_file", "media_type": "image"})  # fmt: skip
        seeder.upsert("asset-families/packshots/assets", "jeans_front", {"code": "jeans_front", "values": media_value})
        seeder.upsert("asset-families/packshots/assets", "bare", {"code": "bare", "values": {}})
    media = _media(layer, store_url, tmp_path / "media")
    found = media.asset_file("packshots", "jeans_front")
    assert found is not None and found.code == code
    assert (found.filename, found.mime_type, found.read_bytes()) == ("front.jpg", "image/jpeg", b"\xff\xd8jpeg" * 999)
    assert media.asset_file("packshots", "jeans_front") == found and layer.downloads(code) == 1
    assert media.asset_file("packshots", "bare") is None  # no main media
    with pytest.raises(MediaUnavailable, match="asset packshots/nope"):
        media.asset_file("packshots", "nope")
    media.close()
