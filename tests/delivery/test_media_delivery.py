"""A delivery's drivers get Akeneo's media files through `context.media`: a real delivery run (the
integration asset, through the Dagster run path) of a driver that reads the files its products name,
against the media layer in front of the real akeneo-mock-server; a dry run makes no download."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import dagster as dg
import httpx
import pytest

from devtools.akeneo_media import AkeneoMediaLayer
from devtools.sample_catalog import product_uuid
from drivers.context import IntegrationContext, MediaUnavailable
from drivers.memory import MemoryDriver, target
from drivers.models import DeliveryResult, MutationData
from iec_pipeline.delivery.assets import asset_name
from iec_pipeline.delivery.dry_run import dry_run
from iec_pipeline.ingest.media import AkeneoMedia, StoredMedia
from iec_pipeline.launch import run_sync
from iec_pipeline.routing.integrations import load
from iec_pipeline.store.db import get_engine
from tests.conftest import CANARY_PASSWORD, CANARY_SECRET, CLIENT_ID, USERNAME
from tests.support.akeneo_proxy import AkeneoProxy
from tests.support.delivery import declare, deliver

PNG = b"\x89PNG\r\n\x1a\n" + b"pixels" * 5000
SEEN: dict[str, tuple[str, int, str]] = {}  # code -> (sha256, size, media source class) as the driver saw it
PLANNED: list[str] = []  # what a dry run's media source said


class PictureDriver(MemoryDriver):
    """The memory driver, reading the file of each product's `picture` as a driver sending images would."""

    name: ClassVar[str] = "pictures"

    def handle(self, mutation: MutationData, context: IntegrationContext) -> DeliveryResult:
        for value in mutation.payload.get("values") or ():
            if value["attribute_code"] == "picture" and mutation.operation != "deleted":
                try:
                    found = context.media.file(value["value"])
                except MediaUnavailable as error:
                    return DeliveryResult.retryable(str(error))
                SEEN[found.code] = (found.sha256, found.size, type(context.media).__name__)
        return super().handle(mutation, context)

    def plan(self, mutations, context: IntegrationContext) -> list:
        for mutation in mutations:
            for value in mutation.payload.get("values") or ():
                if value["attribute_code"] == "picture":
                    try:
                        context.media.file(value["value"])
                    except MediaUnavailable as error:
                        PLANNED.append(str(error))
        return []


@pytest.fixture
def pictures(akeneo, iec_env, monkeypatch):
    """IEC talks to the strict proxy, in front of the media layer, in front of the mock; the `pictures`
    driver is installed."""
    from drivers import registry

    real = registry.discover()
    monkeypatch.setattr(registry, "discover", lambda: {**real, "pictures": PictureDriver})
    monkeypatch.setattr(registry, "get", lambda name: registry.discover()[name])
    with AkeneoMediaLayer(akeneo.mock.url) as layer:
        proxy = AkeneoProxy(layer.base_url, CLIENT_ID, CANARY_SECRET, USERNAME, CANARY_PASSWORD).start()
        monkeypatch.setenv("AKENEO_URL", proxy.url)
        SEEN.clear()
        PLANNED.clear()
        yield layer
        proxy.stop()


def _upload(layer: AkeneoMediaLayer, identifier: str) -> str:
    with httpx.Client(base_url=layer.base_url) as http:
        response = http.post(
            "/api/rest/v1/media-files",
            data={"product": f'{{"identifier": "{identifier}", "attribute": "picture"}}'},
            files={"file": ("poster.png", PNG, "image/png")},
        )
    assert response.status_code == 201, response.text
    return response.headers["Location"].split("/media-files/", 1)[1]


def test_a_delivery_run_gives_drivers_akeneo_files_downloaded_once(akeneo, iec_env, instance, pictures):
    declare(iec_env, {"name": "shop", "driver": "pictures", "entity_types": ["product"],
                      "configuration": {"target": "pictures-shop"}})  # fmt: skip
    with akeneo.seeder() as seeder:
        seeder.seed()
        seeder.upsert("attributes", "picture", {"code": "picture", "type": "pim_catalog_image", "group": "other"})
        seeder.upsert("products-uuid", product_uuid("poster"), {"identifier": "poster", "enabled": True})
    code = _upload(pictures, "poster")
    assert run_sync(instance, mode="full").success
    assert pictures.stats()["downloads"] == {}  # syncing downloads nothing

    engine = get_engine(iec_env.store_url)
    (shop,) = load(Path(iec_env.env["IEC_INTEGRATIONS"]))
    planned = dry_run(engine, shop)  # a dry run plans with what is on disk: no download
    assert planned.jobs > 0 and pictures.stats()["downloads"] == {}
    (said,) = PLANNED
    assert said == f"media file {code}: not downloaded yet (a dry run downloads nothing)"

    deliver(iec_env, instance)
    sha256, size, source = SEEN[code]
    assert (size, source) == (len(PNG), AkeneoMedia.__name__) and pictures.downloads(code) == 1
    assert ("product", "poster") in target("pictures-shop").entities
    materialization = instance.get_latest_materialization_event(dg.AssetKey(asset_name("shop"))).asset_materialization
    assert materialization.metadata["media_downloaded"].value == 1
    assert materialization.metadata["media_bytes_downloaded"].value == len(PNG)
    assert StoredMedia(engine, iec_env.env["IEC_MEDIA_DIR"]).file(code).sha256 == sha256  # on disk for good
