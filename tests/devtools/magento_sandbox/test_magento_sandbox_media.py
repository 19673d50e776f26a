"""Media gallery: /V1/products/{sku}/media, media_gallery_entries on product saves, byte counters."""

from __future__ import annotations

import base64
import struct
import zlib

import httpx

from devtools.magento_sandbox import errors


def png_bytes(width: int = 1) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" + b"\x00\x00\x00" * width)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


JPEG = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    b"\xff\xc0\x00\x11\x08\x00\x01\x00\x01\x03"
)
_BAD_MIME = "The image MIME type is not valid or not supported."
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00"


def entry(name: str = "shirt", data: bytes | None = None, mime: str = "image/png", **extra) -> dict:
    raw = png_bytes() if data is None else data
    content = {"base64_encoded_data": base64.b64encode(raw).decode(), "type": mime, "name": name}
    body = {"media_type": "image", "label": "Shirt", "position": 1, "disabled": False, "types": [], **extra}
    return {"entry": {**body, "content": content}}


def make_product(client: httpx.Client, sku: str = "M1", **extra) -> None:
    body = {"product": {"sku": sku, "name": sku, "price": 5, "attribute_set_id": 4, **extra}}
    assert client.post("/all/V1/products", json=body).status_code == 200


def test_create_list_get_and_file_names(client: httpx.Client, sb) -> None:
    make_product(client)
    first = client.post("/all/V1/products/M1/media", json=entry("Shirt"))
    assert first.status_code == 200, first.text
    first_id = first.json()
    assert isinstance(first_id, int)
    second = client.post("/all/V1/products/M1/media", json=entry("shirt.png", types=["thumbnail"]))
    listing = client.get("/V1/products/M1/media").json()
    assert [e["file"] for e in listing] == ["/s/h/shirt.png", "/s/h/shirt_1.png"]
    # the first image without types gets every role; a role given to another entry is taken from it
    assert listing[0]["types"] == ["image", "small_image", "swatch_image"]
    assert listing[1]["types"] == ["thumbnail"] and listing[1]["id"] == second.json()
    assert base64.b64decode(listing[0]["content"]["base64_encoded_data"]) == png_bytes()
    got = client.get(f"/V1/products/M1/media/{first_id}").json()
    assert got["label"] == "Shirt" and got["content"]["type"] == "image/png"
    product = client.get("/V1/products/M1").json()
    assert [e["id"] for e in product["media_gallery_entries"]] == [first_id, second.json()]
    assert "content" not in product["media_gallery_entries"][0]
    roles = {c["attribute_code"]: c["value"] for c in product["custom_attributes"]}
    assert roles["image"] == "/s/h/shirt.png" and roles["thumbnail"] == "/s/h/shirt_1.png"
    # file names are unique across products (pub/media), JPEG/GIF detected, extension from the MIME type
    make_product(client, "M2")
    jpeg = client.post("/all/V1/products/M2/media", json=entry("Shirt", JPEG, "image/jpeg"))
    gif = client.post("/all/V1/products/M2/media", json=entry("a b.gif", GIF, "image/gif"))
    assert jpeg.status_code == 200 and gif.status_code == 200, (jpeg.text, gif.text)
    assert [e["file"] for e in client.get("/V1/products/M2/media").json()] == ["/s/h/shirt.jpg", "/a/_/a_b.gif"]
    sizes = sb.state()["products"]["M1"]["media_sizes"]
    assert sizes == {str(first_id): len(png_bytes()), str(second.json()): len(png_bytes())}


def test_content_validation_messages(client: httpx.Client) -> None:
    make_product(client)
    cases = [
        (entry(data=b"not an image"), "The image content must be valid base64 encoded data."),
        (entry(data=b"\x89PNG\r\n\x1a\n garbage"), "The image content must be valid base64 encoded data."),
        (entry(mime="image/jpeg"), "The image MIME type is not valid or not supported."),
        (entry(data=JPEG, mime="image/jpg"), "The image MIME type is not valid or not supported."),
        (entry(data=b"RIFF\x00\x00\x00\x00WEBPVP8 ", mime="image/webp"), _BAD_MIME),
        (entry(name="a/b.png"), "Provided image name contains forbidden characters."),
        (entry(name="shirt(1)"), "Provided image name contains forbidden characters."),
    ]
    bad_base64 = entry()
    bad_base64["entry"]["content"]["base64_encoded_data"] = "%%%not-base64"
    cases.append((bad_base64, "The image content must be valid base64 encoded data."))
    for body, message in cases:
        response = client.post("/all/V1/products/M1/media", json=body)
        assert response.status_code == 400 and response.json()["message"] == message, response.text
    # content is validated before the product is looked up (GalleryManagement::create)
    assert client.post("/all/V1/products/NOPE/media", json=entry(data=b"x")).status_code == 400
    missing = client.post("/all/V1/products/NOPE/media", json=entry())
    assert missing.status_code == 404 and missing.json()["message"] == errors.PRODUCT_NOT_FOUND
    assert client.get("/V1/products/NOPE/media").status_code == 404
    no_product = client.get("/V1/products/NOPE/media/1").json()["message"]
    assert no_product == "The product doesn't exist. Verify and try again."
    no_image = client.get("/V1/products/M1/media/99").json()["message"]
    assert no_image == "The image doesn't exist. Verify and try again."


def test_update_uses_body_id_roles_and_store_labels(client: httpx.Client) -> None:
    make_product(client)
    a = client.post("/all/V1/products/M1/media", json=entry("a")).json()
    b = client.post("/all/V1/products/M1/media", json=entry("b", types=["small_image"])).json()
    body = {"entry": {"media_type": "image", "label": "B!", "position": 5, "disabled": True, "types": ["image"]}}
    # the URL entryId is not used by Magento: without entry.id the image is "not found"
    no_id = client.put(f"/all/V1/products/M1/media/{b}", json=body)
    assert no_id.status_code == 404
    assert no_id.json()["message"] == "No image with the provided ID was found. Verify the ID and try again."
    body["entry"]["id"] = b
    assert client.put(f"/all/V1/products/M1/media/{b}", json=body).json() is True
    entries = {e["id"]: e for e in client.get("/V1/products/M1/media").json()}
    assert entries[b]["label"] == "B!" and entries[b]["position"] == 5 and entries[b]["disabled"] is True
    assert entries[b]["types"] == ["image"]  # taken from a; small_image no longer sent -> dropped
    assert entries[a]["types"] == ["thumbnail", "swatch_image"]
    # a store view label lands in that view only
    fr = {"entry": {"id": a, "media_type": "image", "label": "Chemise", "position": 1, "disabled": False,
                    "types": ["small_image", "thumbnail", "swatch_image"]}}
    assert client.put(f"/fr/V1/products/M1/media/{a}", json=fr).json() is True
    assert client.get(f"/fr/V1/products/M1/media/{a}").json()["label"] == "Chemise"
    assert client.get(f"/all/V1/products/M1/media/{a}").json()["label"] == "Shirt"
    assert client.get(f"/de/V1/products/M1/media/{a}").json()["label"] == "Shirt"
    # delete
    assert client.delete(f"/V1/products/M1/media/{a}").json() is True
    again = client.delete(f"/V1/products/M1/media/{a}")
    assert again.status_code == 404
    assert [e["id"] for e in client.get("/V1/products/M1/media").json()] == [b]


def test_product_save_gallery_semantics_and_byte_counters(client: httpx.Client, sb) -> None:
    make_product(client)
    image_id = client.post("/all/V1/products/M1/media", json=entry()).json()
    stats = sb.stats()
    assert stats["media_bytes"] == len(png_bytes())
    assert stats["by_operation"]["PostV1ProductsSkuMedia"]["media_bytes"] == len(png_bytes())
    assert stats["by_operation"]["PostV1ProductsSkuMedia"]["bytes_in"] > len(png_bytes())
    # omitted / null: untouched, and nothing uploaded
    client.put("/all/V1/products/M1", json={"product": {"sku": "M1", "price": 6}})
    client.put("/all/V1/products/M1", json={"product": {"sku": "M1", "media_gallery_entries": None}})
    assert [e["id"] for e in client.get("/V1/products/M1").json()["media_gallery_entries"]] == [image_id]
    assert sb.stats()["media_bytes"] == len(png_bytes())
    put_null = sb.requests()[-2]
    assert put_null["method"] == "PUT" and put_null["media_bytes"] == 0 and put_null["bytes_in"] > 0
    # entries with their id are kept/updated, new ones (with content) added
    current = client.get("/V1/products/M1").json()["media_gallery_entries"]
    current[0]["label"] = "Relabelled"
    new = entry("second")["entry"]
    saved = client.put("/all/V1/products/M1", json={"product": {"sku": "M1", "media_gallery_entries": [*current, new]}})
    assert saved.status_code == 200, saved.text
    gallery = saved.json()["media_gallery_entries"]
    assert [e["label"] for e in gallery] == ["Relabelled", "Shirt"] and gallery[1]["file"] == "/s/e/second.png"
    assert sb.stats()["media_bytes"] == 2 * len(png_bytes())
    # a bad new image fails the whole save
    broken = entry(data=b"nope")["entry"]
    refused = client.put("/all/V1/products/M1", json={"product": {"sku": "M1", "media_gallery_entries": [broken]}})
    assert refused.status_code == 400 and len(client.get("/V1/products/M1").json()["media_gallery_entries"]) == 2
    # [] empties the gallery (and the roles)
    client.put("/all/V1/products/M1", json={"product": {"sku": "M1", "media_gallery_entries": []}})
    product = client.get("/V1/products/M1").json()
    assert product["media_gallery_entries"] == []
    assert not [c for c in product["custom_attributes"] if c["attribute_code"] == "image"]
