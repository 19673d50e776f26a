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
import re
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
    """The gallery a product should have: its image attributes' files and the configured asset
    collections' assets (in the collection's order: its first asset is its main one), by attribute code;
    labels are the product name per scope. Without `image_roles`, the family's `attribute_as_image` (else
    the first image) gets the main roles."""
    labels = _names(payload, scopes)
    found: list[tuple[str, int, str, str | None, tuple[str, str] | None]] = []
    for item in payload.get("values") or ():
        if item.get("locale") not in (None, settings.default_locale):
            continue
        if item.get("channel") not in (None, settings.channel):
            continue
        code = item["attribute_code"]
        info = refs.attribute(code)
        if info is None:
            continue
        if info.type in IMAGE_TYPES and isinstance(item.get("value"), str):
            found.append((code, 0, code, item["value"], None))
        elif info.type in ASSET_TYPES and code in settings.asset_images:
            family = info.reference_data_name or ""
            for index, asset in enumerate(item.get("value") or ()):
                found.append((code, index, f"{code}/{asset}", None, (family, str(asset))))
    found.sort(key=lambda f: (f[0], f[1]))
    roles = {a: tuple(r) for a, r in settings.image_roles.items()}
    if not roles and found:
        main = refs.family_image(payload.get("family"))
        roles = {main if any(f[0] == main for f in found) else found[0][0]: DEFAULT_ROLES}
    images, given = [], set()
    for position, (attribute, index, key, file_code, asset) in enumerate(found):
        own = tuple(r for r in roles.get(attribute, ()) if r not in given) if index == 0 else ()
        given.update(own)
        images.append(WantedImage(key, file_code, asset, own, position, labels))
    return images


def plan_media(wanted: Sequence[WantedImage], known: Mapping[str, Any]) -> MediaPlan | None:
    """None when the gallery already is what it should be (no download, no request)."""
    state = {k: dict(v) for k, v in (known.get("media") or {}).items()}
    keys = {w.key for w in wanted}
    remove = sorted(k for k in state if k not in keys and not k.endswith(POSTING))
    posting = any(k.endswith(POSTING) for k in state)
    if not remove and not posting and all(unchanged(w, state.get(w.key)) for w in wanted):
        return None
    return MediaPlan(list(wanted), state, remove)


POSTING = "~posting"  # a key's upload under way: what the gallery held before it (recovery after a crash)
REPLACED = "~replaced"  # a key's former entry, still to delete


def unchanged(wanted: WantedImage, sent: Mapping[str, Any] | None) -> bool:
    if sent is None or sent.get("source") != wanted.source:
        return False
    return bool(sent.get("skipped")) or _meta_same(wanted, sent)


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


# Magento's ImageContentValidator: these characters are refused in a name; the MIME types it takes.
_NAME_REFUSED = re.compile(r'[\\/?*:";<>()|{}\s]+')
_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif"}


def upload_name(media: MediaFile) -> str:
    """The file name Magento takes: refused characters replaced, the extension of the content's type."""
    stem = media.filename.rsplit(".", 1)[0] if "." in media.filename else media.filename
    stem = _NAME_REFUSED.sub("-", stem).strip("-.") or "image"
    return f"{stem[:90]}.{_EXTENSIONS.get(media.mime_type, 'jpg')}"


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
            "name": upload_name(media),
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


class _Gallery:
    """One product's gallery being brought to what it should be; every step that lands is in `state`
    and reported (`landed`), so a failure or a crash part-way never uploads an image twice."""

    def __init__(self, plan: MediaPlan, sku: str, env: Any, on_progress: Any) -> None:
        self.plan, self.sku, self.env, self.state = plan, sku, env, plan.state
        self.on_progress = on_progress or (lambda: None)
        self.client = env.client

    def landed(self) -> None:
        self.on_progress()

    def recover(self) -> None:
        """An upload that may have landed before a crash: the entry Magento has that we did not know of
        is adopted (its roles and labels are sent again), else the upload is made again."""
        for marker in [k for k in self.state if k.endswith(POSTING)]:
            key, before = marker[: -len(POSTING)], self.state.pop(marker)
            known = {int(v["entry_id"]) for v in self.state.values() if v.get("entry_id") is not None}
            known |= {int(i) for i in before.get("entry_ids") or ()}
            entries = self.client.get(_path(self.sku), skus=[self.sku]) or []
            new = [e for e in entries if int(e.get("id") or 0) not in known]
            if len(new) == 1 and key not in self.state:
                self.state[key] = {"source": before.get("source"), "sha256": before.get("sha256"),
                                   "entry_id": int(new[0]["id"]), "labels": {}, "roles": None}  # fmt: skip
            self.landed()

    def put(self, wanted: WantedImage, sent: Mapping[str, Any], roles_changed: bool) -> None:
        label = wanted.labels.get(GLOBAL, "")
        self.client.put(_path(self.sku, GLOBAL, sent["entry_id"]),
                        json=_entry(wanted, label, entry_id=sent["entry_id"]), skus=[self.sku])  # fmt: skip
        self.state[wanted.key] = {**sent, "roles": list(wanted.roles), "position": wanted.position,
                                  "source": wanted.source}  # fmt: skip
        self.landed()
        self.labels(wanted, force=roles_changed)

    def upload(self, wanted: WantedImage, binary: MediaFile, sent: Mapping[str, Any] | None) -> None:
        if sent is not None:
            self.state[wanted.key + REPLACED] = dict(sent)
        ids = sorted(int(v["entry_id"]) for v in self.state.values() if v.get("entry_id") is not None)
        self.state[wanted.key + POSTING] = {"source": wanted.source, "sha256": binary.sha256, "entry_ids": ids}
        self.landed()
        answer = self.client.post(_path(self.sku), json=_entry(wanted, wanted.labels.get(GLOBAL, ""), binary),
                                  skus=[self.sku])  # fmt: skip
        del self.state[wanted.key + POSTING]
        entry_id = int(str(answer).strip('"'))
        self.state[wanted.key] = {"source": wanted.source, "sha256": binary.sha256, "entry_id": entry_id,
                                  "roles": list(wanted.roles), "position": wanted.position, "labels": {}}  # fmt: skip
        self.landed()
        self.labels(wanted, force=True)
        replaced = self.state.get(wanted.key + REPLACED)
        if replaced is not None:
            self.delete(replaced)  # kept in the state until it is gone: a failure here is finished next time
            del self.state[wanted.key + REPLACED]
            self.landed()

    def labels(self, wanted: WantedImage, force: bool) -> None:
        """A store view whose product name differs gets its own label (a store-scoped PUT). Such a PUT
        also writes the view's roles (image roles are store-view attributes in Magento): when the roles
        change, every labelled view is written again."""
        sent = self.state[wanted.key]
        done = dict(sent.get("labels") or {})
        for scope, label in sorted(wanted.labels.items()):
            if scope == GLOBAL or scope not in self.env.store_ids or (done.get(scope) == label and not force):
                continue
            entry = _entry(wanted, label, entry_id=sent["entry_id"])
            self.client.put(_path(self.sku, scope, sent["entry_id"]), json=entry, skus=[self.sku])
            done[scope] = label
            sent["labels"] = {GLOBAL: wanted.labels.get(GLOBAL, ""), **done}
            self.landed()
        sent["labels"] = dict(wanted.labels)

    def delete(self, sent: Mapping[str, Any]) -> None:
        try:
            self.client.delete(_path(self.sku, GLOBAL, sent["entry_id"]), skus=[self.sku], accept_status=[404])
        except MagentoError as error:
            if error.status != 400:  # "no image with the provided ID" on a product that lost it meanwhile
                raise


def send_media(plan: MediaPlan, sku: str, env: Any, on_progress: Any = None) -> dict[str, dict[str, Any]]:
    """Brings the gallery to `plan.wanted`; `plan.state` follows each request that landed (so a failure
    part-way keeps what was done, and `on_progress` is called to keep it) and is returned. Raises
    MagentoError or MediaUnavailable."""
    gallery, state = _Gallery(plan, sku, env, on_progress), plan.state
    gallery.recover()
    for wanted in plan.wanted:
        sent = state.get(wanted.key)
        if unchanged(wanted, sent):
            continue
        roles_changed = sent is None or tuple(sent.get("roles") or ()) != wanted.roles
        if sent is not None and sent.get("source") == wanted.source:
            gallery.put(wanted, sent, roles_changed)
            continue
        binary = fetch(wanted, env.context.media)
        if binary.mime_type not in _EXTENSIONS:  # Magento would refuse it (400), and the product with it
            env.context.log.warning(f"magento2: {sku}: image {wanted.key} is {binary.mime_type}, which Magento does "
                                    "not take (jpeg, png, gif): not sent")  # fmt: skip
            if sent is not None and sent.get("entry_id") is not None:
                gallery.delete(sent)
            state[wanted.key] = {"source": wanted.source, "skipped": binary.mime_type}
            gallery.landed()
            continue
        if sent is not None and sent.get("sha256") == binary.sha256:  # same bytes under a new file code
            gallery.put(wanted, sent, roles_changed)
        else:
            gallery.upload(wanted, binary, sent)
    for key in [k for k in state if k not in {w.key for w in plan.wanted} and not k.endswith(POSTING)]:
        if state[key].get("entry_id") is not None:
            gallery.delete(state[key])
        del state[key]
        gallery.landed()
    return state
