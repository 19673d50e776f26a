"""The media layer keeps its uploads on disk when given a directory: a layer started again (`make demo-ui`,
the mock's database kept) serves the files the catalog's values name."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest

from devtools.akeneo_media import ASSET_MEDIA, AkeneoMediaLayer
from devtools.png import png

pytestmark = pytest.mark.fast


def test_a_layer_started_again_on_the_same_storage_serves_earlier_uploads(tmp_path):
    picture = png(4, 4, (9, 9, 9))
    with AkeneoMediaLayer("http://127.0.0.1:9", storage=tmp_path) as layer:
        answer = httpx.post(layer.base_url + ASSET_MEDIA, files={"file": ("shot.png", picture, "image/png")})
        assert answer.status_code == 201
        code = answer.headers["Asset-media-file-code"]
    with AkeneoMediaLayer("http://127.0.0.1:9", storage=tmp_path) as again:
        served = httpx.get(f"{again.base_url}{ASSET_MEDIA}/{quote(code)}")
        assert served.status_code == 200 and served.content == picture
    with AkeneoMediaLayer("http://127.0.0.1:9") as forgetful:  # no storage: nothing outlives the layer
        assert httpx.get(f"{forgetful.base_url}{ASSET_MEDIA}/{quote(code)}").status_code == 404
