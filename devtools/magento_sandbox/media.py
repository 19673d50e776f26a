"""Product media gallery: ``/V1/products/{sku}/media`` and ``media_gallery_entries`` on product saves.

Modelled on ``Magento\\Catalog\\Model\\Product\\Gallery\\GalleryManagement`` (2.4), the content check of
``Magento\\Framework\\Api\\ImageContentValidator::isValid`` and the file naming of
``Magento\\Framework\\Api\\ImageProcessor::processImageContent`` + ``Magento\\Framework\\File\\Uploader``.
Mixed into ``Products`` (same state).  Image bytes are kept so ``GET .../media`` can return them.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import errors
from .stores import ADMIN_STORE_ID

if TYPE_CHECKING:
    from .products import Product

ROLES = ("image", "small_image", "thumbnail", "swatch_image")  # the product's media_image attributes
# ImageContentValidator::$defaultMimeTypes
ALLOWED_MIME = ("image/jpg", "image/jpeg", "image/gif", "image/png")
# ImageProcessor::getFileName appends the extension of the declared MIME type when the name has none
_EXTENSIONS = {"image/jpg": "jpg", "image/jpeg": "jpg", "image/gif": "gif", "image/png": "png"}
# ImageContentValidator::isNameValid: "Cannot contain \ / : * ? " < > |" (and ; ( ) { })
_NAME_OK = re.compile(r'^[^\\/?*:";<>()|{}]+$')
_BASE64_CHARS = re.compile(rb"^[A-Za-z0-9+/]*={0,2}$")
_NOT_BASE64 = "The image content must be valid base64 encoded data."
_BAD_MIME = "The image MIME type is not valid or not supported."
_BAD_NAME = "Provided image name contains forbidden characters."
_NO_IMAGE = "No image with the provided ID was found. Verify the ID and try again."  # update / remove
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


@dataclass(slots=True)
class MediaEntry:
    id: int
    file: str
    media_type: str
    mime: str
    data: bytes
    labels: dict[int, str | None] = field(default_factory=dict)  # per store (media_gallery_value rows)
    positions: dict[int, int] = field(default_factory=dict)
    disabled: dict[int, bool] = field(default_factory=dict)

    def scoped(self, values: dict[int, Any], store_id: int, default: Any) -> Any:
        if store_id in values:
            return values[store_id]
        return values.get(ADMIN_STORE_ID, default)


def detect_mime(data: bytes) -> str | None:
    """What PHP's getimagesizefromstring() recognises (it needs the dimensions, not only the magic)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png" if len(data) >= 24 and data[12:16] == b"IHDR" else None
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif" if len(data) >= 10 else None
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):  # walk the markers up to a start-of-frame (width/height live there)
            if data[i] != 0xFF:
                return None
            marker = data[i + 1]
            if marker in _JPEG_SOF:
                return "image/jpeg"
            i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
        return None
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:2] == b"BM" and len(data) >= 26:
        return "image/bmp"
    return None


def decode_content(content: dict[str, Any]) -> tuple[bytes, str]:
    """ImageContentValidator::isValid: base64 (strict), a real image, declared MIME = detected, name."""
    raw = re.sub(rb"\s+", b"", str(content.get("base64_encoded_data") or "").encode())
    if not _BASE64_CHARS.match(raw):
        raise errors.bad_request(_NOT_BASE64)
    try:
        data = base64.b64decode(raw + b"=" * (-len(raw) % 4))
    except (binascii.Error, ValueError):
        raise errors.bad_request(_NOT_BASE64) from None
    if not data:
        raise errors.bad_request(_NOT_BASE64)
    detected = detect_mime(data)
    if detected is None:  # getimagesizefromstring() failed: same message as bad base64
        raise errors.bad_request(_NOT_BASE64)
    if detected != content.get("type") or detected not in ALLOWED_MIME:
        raise errors.bad_request(_BAD_MIME)
    if not _NAME_OK.match(str(content.get("name") or "")):
        raise errors.bad_request(_BAD_NAME)
    return data, detected


def correct_file_name(name: str, mime: str) -> str:
    """ImageProcessor::getFileName + Uploader::getCorrectFileName, lower-cased (case-insensitive names)."""
    if "." not in name.strip(".") or not name.rsplit(".", 1)[1]:
        name = f"{name}.{_EXTENSIONS[mime]}"
    name = re.sub(r"[^a-z0-9_\-.]+", "_", name, flags=re.IGNORECASE).lower()
    stem, _, ext = name.rpartition(".")
    if re.fullmatch(r"_+", stem or "_"):
        name = f"file.{ext}"
    return name


def dispersion_path(name: str) -> str:
    """Uploader::getDispersionPath: the first two characters as directories ('.' becomes '_')."""
    return "".join("/" + ("_" if c == "." else c) for c in name[:2])


class MediaMixin:
    """The gallery of each product; file names are unique catalog-wide like files in pub/media."""

    media_files: set[str]
    media_bytes: int
    _next_media_id: int

    def get(self, sku: str) -> Product:  # provided by Products
        raise NotImplementedError

    # ------------------------------------------------------------------------- helpers

    def _new_file(self, name: str, mime: str) -> str:
        """A ``_1``, ``_2``... suffix when the path exists (Uploader::getNewFileName); files are never
        removed from pub/media when a gallery row is deleted, so their names stay taken."""
        base = correct_file_name(name, mime)
        path = f"{dispersion_path(base)}/{base}"
        stem, _, ext = base.rpartition(".")
        index = 0
        while path.lower() in self.media_files:
            index += 1
            path = f"{dispersion_path(base)}/{stem}_{index}.{ext}"
        self.media_files.add(path.lower())
        return path

    def _new_entry(self, product: Product, data: dict[str, Any], store: int) -> MediaEntry:
        content = data.get("content")
        if not content:
            raise errors.bad_request("The image content is invalid. Verify the content and try again.")
        raw, mime = decode_content(content)
        self._next_media_id += 1
        entry = MediaEntry(
            self._next_media_id,
            self._new_file(str(content.get("name")), mime),
            data.get("media_type") or "image",
            mime,
            raw,
        )
        # Gallery\CreateHandler writes the store-0 value row, plus one for the store being saved
        for target in {ADMIN_STORE_ID, store}:
            self._set_values(entry, data, target)
        self.media_bytes += len(raw)
        product.media.append(entry)
        return entry

    @staticmethod
    def _set_values(entry: MediaEntry, data: dict[str, Any], store: int) -> None:
        if "label" in data:
            entry.labels[store] = data["label"]
        if data.get("position") is not None:
            entry.positions[store] = int(data["position"])
        if data.get("disabled") is not None:
            entry.disabled[store] = bool(data["disabled"])

    @staticmethod
    def _assign_roles(product: Product, entry: MediaEntry, types: list[str] | None) -> None:
        """One entry per role: roles given to this entry are taken from the others
        (GalleryManagement::update: ``$existingEntry->setTypes(array_diff($existingEntryTypes, $entryTypes))``)."""
        if types is None:
            return
        for role in [r for r, owner in product.roles.items() if owner == entry.id]:
            del product.roles[role]
        for role in types:
            if role in ROLES:
                product.roles[role] = entry.id

    def media_json(self, product: Product, entry: MediaEntry, store: int, content: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": entry.id,
            "media_type": entry.media_type,
            "label": entry.scoped(entry.labels, store, None),
            "position": entry.scoped(entry.positions, store, 0),
            "disabled": entry.scoped(entry.disabled, store, False),
            "types": [r for r in ROLES if product.roles.get(r) == entry.id],
            "file": entry.file,
        }
        if content:  # GalleryManagement::getImageContent (GET .../media and .../media/{entryId})
            out["content"] = {
                "base64_encoded_data": base64.b64encode(entry.data).decode(),
                "type": entry.mime,
                "name": entry.file.rsplit("/", 1)[1],
            }
        return out

    # --------------------------------------------------------------------- REST operations

    def media_create(self, sku: str, data: dict[str, Any], store: int) -> int:
        """GalleryManagement::create: content validated first, then the product (404), returns the id."""
        if data.get("content"):
            decode_content(data["content"])
        product = self.get(sku)
        types = data.get("types")
        if not product.media and not types:  # "set all media types if not specified" (first image)
            types = list(ROLES)
        entry = self._new_entry(product, data, store)
        self._assign_roles(product, entry, types)
        return entry.id

    def media_update(self, sku: str, data: dict[str, Any], store: int) -> bool:
        """GalleryManagement::update finds the entry by the BODY's ``entry.id`` (the URL's entryId is not
        used: ParamsOverrider only copies it into the body when the entry interface has a setter for it)."""
        product = self.get(sku)
        entry = next((e for e in product.media if data.get("id") is not None and e.id == data["id"]), None)
        if entry is None:
            raise errors.not_found(_NO_IMAGE)
        if data.get("content"):  # a new file for the entry (the sandbox keeps the id)
            raw, mime = decode_content(data["content"])
            entry.file, entry.mime, entry.data = self._new_file(str(data["content"].get("name")), mime), mime, raw
            self.media_bytes += len(raw)
        self._set_values(entry, data, store)
        self._assign_roles(product, entry, list(data.get("types") or []))
        return True

    def media_delete(self, sku: str, entry_id: int) -> bool:
        product = self.get(sku)
        entry = next((e for e in product.media if e.id == entry_id), None)
        if entry is None:
            raise errors.not_found(_NO_IMAGE)
        self._remove_entries(product, {entry.id})
        return True

    def media_get(self, sku: str, entry_id: int, store: int) -> dict[str, Any]:
        try:
            product = self.get(sku)
        except errors.MagentoError:
            raise errors.not_found("The product doesn't exist. Verify and try again.") from None
        for entry in product.media:
            if entry.id == entry_id:
                return self.media_json(product, entry, store, content=True)
        raise errors.not_found("The image doesn't exist. Verify and try again.")

    def media_list(self, sku: str, store: int) -> list[dict[str, Any]]:
        product = self.get(sku)
        return [self.media_json(product, e, store, content=True) for e in product.media]

    @staticmethod
    def _remove_entries(product: Product, ids: set[int]) -> None:
        product.media = [e for e in product.media if e.id not in ids]
        product.roles = {r: owner for r, owner in product.roles.items() if owner not in ids}

    # ------------------------------------------------------------- product save (ProductRepository)

    def check_gallery(self, entries: list[dict[str, Any]] | None) -> None:
        """Validate new contents before anything is committed (ImageProcessor::processImageContent)."""
        for data in entries or []:
            if data.get("id") is None or data.get("content"):
                if not data.get("content"):
                    raise errors.bad_request("The image content is invalid. Verify the content and try again.")
                decode_content(data["content"])

    def save_gallery(
        self, product: Product, entries: list[dict[str, Any]] | None, store: int, warnings: list[str]
    ) -> None:
        """MediaGalleryProcessor::processMediaGallery: ``null``/omitted leaves the gallery alone; otherwise
        entries with a known id are updated, entries without id are added, and existing entries missing
        from the list are removed (``[]`` empties the gallery)."""
        if entries is None:
            return
        known = {e.id: e for e in product.media}
        sent_ids = {d["id"] for d in entries if d.get("id") is not None and d["id"] in known}
        self._remove_entries(product, set(known) - sent_ids)
        for data in entries:
            entry_id = data.get("id")
            if entry_id is not None and entry_id in known:
                entry = known[entry_id]
                self._set_values(entry, data, store)
                self._assign_roles(product, entry, data.get("types"))
            elif entry_id is not None and not data.get("content"):
                warnings.append(f"media_gallery_entries id {entry_id} does not exist on this product; ignored")
            else:
                entry = self._new_entry(product, data, store)
                self._assign_roles(product, entry, data.get("types"))

    def media_sizes(self, product: Product) -> dict[str, int]:
        return {str(e.id): len(e.data) for e in product.media}
