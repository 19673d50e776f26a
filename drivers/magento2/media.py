"""Akeneo images (and asset collections) -> a product's Magento media gallery, incrementally.

Planning is pure: the images a product should have (`wanted_images`, from its values and the
`image_roles` / `asset_images` configuration) against what the mapping says was sent (`media`:
per image key its Akeneo file code, content hash, Magento entry id, roles, position and labels).
Only a changed file code needs the binary: it is downloaded through the context's MediaSource
(once per file, content-addressed) and uploaded only if its content hash differs from the one sent;
an unchanged product costs no download and no request. An image gone from Akeneo is removed from
Magento; a replaced one is uploaded, then the former entry removed.

Magento (GalleryManagement): `POST /V1/products/{sku}/media` creates an entry from base64 content
and answers its id; `PUT .../media/{entryId}` changes label, position, roles (a store code in the URL
sets the label of that store view only); `DELETE .../media/{entryId}` removes it. A role given to one
entry is taken from the others.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from drivers.context import MediaFile, MediaUnavailable
from drivers.magento2.client import MagentoError, sku_path
from drivers.magento2.mapping import (
    ASSET_TYPES,
    GLOBAL,
    IMAGE_TYPES,
    MappingSettings,
    Refs,
)

DEFAULT_ROLES = ("image", "small_image", "thumbnail")


@dataclass(frozen=True)
class WantedImage:
    """One gallery entry a product should have. `key` names its source: "<attribute>" for an image
    attribute, "<attribute>/<asset code>" for an asset of a collection."""

    key: str
    file_code: str | None  # the Akeneo media file code (an image attribute)
    asset: tuple[str, str] | None  # (asset family, asset code) (an asset collection)
    roles: tuple[str, ...]
    position: int
    labels: Mapping[str, str]  # scope -> label ("all" and the store views that differ)

    @property
    def source(self) -> str:
        """What identifies the binary without downloading it."""
        return self.file_code if self.file_code is not None else "asset:" + "/".join(self.asset or ())


@dataclass
class MediaPlan:
    """What a delivery does to a product's gallery; `state` is updated as each request lands."""

    wanted: list[WantedImage]
    state: dict[str, dict[str, Any]]  # the mapping's `media`, as it is now
    remove: list[str] = field(default_factory=list)  # keys to delete


def _names(payload: Mapping[str, Any], scopes: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    names = {scope: str(fields["name"]) for scope, fields in scopes.items() if fields.get("name")}
    global_name = names.get(GLOBAL) or str(payload.get("identifier") or payload.get("code") or "")
    return {GLOBAL: global_name, **{s: n for s, n in names.items() if s != GLOBAL and n != global_name}}


def wanted_images(
    payload: Mapping[str, Any], scopes: Mapping[str, Mapping[str, Any]], settings: MappingSettings, refs: Refs
) -> list[WantedImage]:
    """The gallery a product should have: its image attributes' files, then the configured asset
    collections' assets, in attribute order; labels are the product name per scope."""
    labels = _names(payload, scopes)
    found: list[tuple[str, str | None, tuple[str, str] | None]] = []
    for item in payload.get("values") or ():
        if item.get("locale") not in (None, settings.default_locale) or item.get("channel") not in (
            None,
            settings.channel,
        ):
            continue
        code = item["attribute_code"]
        info = refs.attribute(code)
        if info is None:
            continue
        if info.type in IMAGE_TYPES and isinstance(item.get("value"), str):
            found.append((code, item["value"], None))
        elif info.type in ASSET_TYPES and code in settings.asset_images:
            family = info.reference_data_name or ""
            for asset in item.get("value") or ():
                found.append((f"{code}/{asset}", None, (family, str(asset))))
    found.sort(key=lambda f: f[0])
    roles = {a: tuple(r) for a, r in settings.image_roles.items()}
    images, given = [], set()
    for position, (key, file_code, asset) in enumerate(found):
        attribute = key.split("/", 1)[0]
        first_of_attribute = asset is None or all(k.split("/", 1)[0] != attribute for k, _, _ in found[:position])
        own = roles.get(attribute, ()) if first_of_attribute else ()
        if not roles and position == 0:
            own = DEFAULT_ROLES
        own = tuple(r for r in own if r not in given)
        given.update(own)
        images.append(WantedImage(key, file_code, asset, own, position, labels))
    return images


def plan_media(wanted: Sequence[WantedImage], known: Mapping[str, Any]) -> MediaPlan | None:
    """None when the gallery already is what it should be (no download, no request)."""
    state = {k: dict(v) for k, v in (known.get("media") or {}).items()}
    remove = sorted(k for k in state if k not in {w.key for w in wanted})
    if not remove and all(unchanged(w, state.get(w.key)) for w in wanted):
        return None
    return MediaPlan(list(wanted), state, remove)


def unchanged(wanted: WantedImage, sent: Mapping[str, Any] | None) -> bool:
    return sent is not None and sent.get("source") == wanted.source and _meta_same(wanted, sent)


def _meta_same(wanted: WantedImage, sent: Mapping[str, Any]) -> bool:
    return (
        tuple(sent.get("roles") or ()) == wanted.roles
        and sent.get("position") == wanted.position
        and dict(sent.get("labels") or {}) == dict(wanted.labels)
    )


# --------------------------------------------------------------------------------- sending


def _path(sku: str, scope: str = GLOBAL, entry_id: Any = None) -> str:
    tail = f"/{entry_id}" if entry_id is not None else ""
    return f"/{scope}/V1/products/{sku_path(sku)}/media{tail}"


def _entry(wanted: WantedImage, label: str, media: MediaFile | None = None, entry_id: Any = None) -> dict:
    entry: dict[str, Any] = {
        "media_type": "image",
        "label": label,
        "position": wanted.position,
        "disabled": False,
        "types": list(wanted.roles),
    }
    if entry_id is not None:
        entry["id"] = int(entry_id)
    if media is not None:
        entry["content"] = {
            "base64_encoded_data": base64.b64encode(media.read_bytes()).decode("ascii"),
            "type": media.mime_type,
            "name": media.filename,
        }
    return {"entry": entry}


def fetch(wanted: WantedImage, media_source: Any) -> MediaFile:
    """The binary of an image (downloaded once for all integrations); MediaUnavailable if it can't be had."""
    if wanted.file_code is not None:
        return media_source.file(wanted.file_code)
    family, asset = wanted.asset or ("", "")
    found = media_source.asset_file(family, asset)
    if found is None:
        raise MediaUnavailable(f"asset {family}/{asset} has no main media file")
    return found


def send_media(plan: MediaPlan, sku: str, env: Any, on_progress: Any = None) -> dict[str, dict[str, Any]]:
    """Brings the gallery to `plan.wanted`; `plan.state` follows each request that landed (so a failure
    part-way keeps what was done) and is returned. Raises MagentoError or MediaUnavailable."""
    client, state = env.client, plan.state
    for wanted in plan.wanted:
        sent = state.get(wanted.key)
        if unchanged(wanted, sent):
            continue
        label = wanted.labels.get(GLOBAL, "")
        if sent is not None and sent.get("source") == wanted.source:
            client.put(_path(sku, GLOBAL, sent["entry_id"]), json=_entry(wanted, label, entry_id=sent["entry_id"]),
                       skus=[sku])  # fmt: skip
            _labels(wanted, sent, sku, env)
            state[wanted.key] = {**sent, **_meta(wanted)}
        else:
            binary = fetch(wanted, env.context.media)
            if sent is not None and sent.get("sha256") == binary.sha256:  # same bytes under a new file code
                client.put(_path(sku, GLOBAL, sent["entry_id"]), json=_entry(wanted, label, entry_id=sent["entry_id"]),
                           skus=[sku])  # fmt: skip
                _labels(wanted, sent, sku, env)
                state[wanted.key] = {**sent, **_meta(wanted), "source": wanted.source}
            else:
                answer = client.post(_path(sku), json=_entry(wanted, label, binary), skus=[sku])
                entry_id = int(str(answer).strip('"'))
                fresh = {"source": wanted.source, "sha256": binary.sha256, "entry_id": entry_id, "labels": {}}
                _labels(wanted, fresh, sku, env)
                state[wanted.key] = {**fresh, **_meta(wanted)}
                if sent is not None:  # the replaced image
                    _delete(sku, sent, env)
        if on_progress is not None:
            on_progress()
    for key in plan.remove:
        _delete(sku, state[key], env)
        del state[key]
        if on_progress is not None:
            on_progress()
    return state


def _meta(wanted: WantedImage) -> dict[str, Any]:
    return {"roles": list(wanted.roles), "position": wanted.position, "labels": dict(wanted.labels)}


def _labels(wanted: WantedImage, sent: Mapping[str, Any], sku: str, env: Any) -> None:
    """A store view whose product name differs gets its own label (a store-scoped PUT)."""
    before = dict(sent.get("labels") or {})
    for scope, label in sorted(wanted.labels.items()):
        if scope == GLOBAL or before.get(scope) == label or scope not in env.store_ids:
            continue
        entry = _entry(wanted, label, entry_id=sent["entry_id"])
        env.client.put(_path(sku, scope, sent["entry_id"]), json=entry, skus=[sku])


def _delete(sku: str, sent: Mapping[str, Any], env: Any) -> None:
    try:
        env.client.delete(_path(sku, GLOBAL, sent["entry_id"]), skus=[sku], accept_status=[404])
    except MagentoError as error:
        if error.status != 400:  # "no image with the provided ID" on a product that lost it meanwhile
            raise
