"""Akeneo's media files for deliveries: the `MediaSource` a driver finds in its context (`context.media`).

A sync never downloads a binary: product and model values of type `pim_catalog_image` / `pim_catalog_file`
hold Akeneo's file code, which is all the store needs. A driver that sends binaries asks for a code when it
delivers; then, and only then, the file is downloaded, once:

- metadata from `GET media-files/{code}` (original file name, MIME type), bytes streamed from
  `GET media-files/{code}/download` to a temporary file, hashed on the way (never the whole body in memory);
- the file lands at `<IEC_MEDIA_DIR>/<sha256[:2]>/<sha256>` (content-addressed: two codes with equal content
  share one file), and only then is its `media_files` row written: a code with a row is never downloaded
  again, by this process or another;
- a download that fails (Akeneo down after every retry, a body cut short) leaves no file and no row and
  raises `MediaUnavailable` naming the code (retryable: the job is tried again later); a code Akeneo does
  not have (404) is `MediaUnavailable` too, saying so;
- threads (and processes on this host) asking for one code at once wait for one download.

Asset files: the asset family's `attribute_as_main_media` names the attribute, the asset's first value of it
is an asset media file code, downloaded from `GET asset-media-files/{code}` (the file name and type come
from the response's headers). A `media_link` main media is a URL, not a file Akeneo holds: None.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine, select

from drivers.context import MediaFile, MediaUnavailable
from iec_pipeline.common.clock import utcnow
from iec_pipeline.ingest.akeneo import AkeneoClient, AkeneoError, AkeneoUnavailable
from iec_pipeline.store.models import MediaFileRow
from iec_pipeline.store.upsert import upsert

TABLE = MediaFileRow.__table__
OCTET_STREAM = "application/octet-stream"


def media_path(directory: Path, sha256: str) -> Path:
    """Where a file of this content lives: `<directory>/<sha256[:2]>/<sha256>`."""
    return directory / sha256[:2] / sha256


def _segment(code: str) -> str:
    """A file code in a URL path: its slashes kept (Akeneo's codes are `a/b/c/d/<sha1>_<name>`)."""
    return quote(code, safe="/")


def _stored(engine: Engine, directory: Path, code: str) -> MediaFile | None:
    """The file of a code already downloaded, if its row and its bytes are both there."""
    with engine.connect() as conn:
        row = conn.execute(select(TABLE).where(TABLE.c.code == code)).mappings().first()
    if row is None:
        return None
    path = media_path(directory, row["sha256"])
    try:
        if path.stat().st_size != row["size"]:
            return None
    except FileNotFoundError:  # the media directory was emptied: download it again
        return None
    return MediaFile(code, row["sha256"], row["size"], row["filename"], row["mime_type"], path)


@dataclass
class MediaStats:
    """What one source did: files downloaded (and their bytes), and files found already downloaded."""

    downloaded: int = 0
    bytes: int = 0
    reused: int = 0

    def as_metadata(self) -> dict[str, int]:
        return {"media_downloaded": self.downloaded, "media_bytes_downloaded": self.bytes, "media_reused": self.reused}


class AkeneoMedia:
    """The `MediaSource` of deliveries: Akeneo's files, downloaded on first use, kept on disk for good.

    `client` is an `AkeneoClient` or a callable making one (called at the first download only, so a
    delivery that sends no binary never talks to Akeneo); `close()` closes a client it made.
    """

    def __init__(
        self,
        client: AkeneoClient | Callable[[], AkeneoClient],
        engine: Engine,
        directory: Path | str,
        log: logging.Logger | Any = None,
    ) -> None:
        self.engine, self.directory = engine, Path(directory).absolute()
        self.log = log or logging.getLogger("iec.media")
        self.stats = MediaStats()
        self._client: AkeneoClient | None = client if isinstance(client, AkeneoClient) else None
        self._make_client = None if isinstance(client, AkeneoClient) else client
        self._owns_client = self._client is None
        self._lock = threading.Lock()
        self._code_locks: dict[str, threading.Lock] = {}
        self._main_media: dict[str, tuple[str | None, bool]] = {}  # asset family -> (attribute, is a file)

    # --- MediaSource ------------------------------------------------------------------------

    def file(self, code: str) -> MediaFile:
        return self._file(code, "media file", self._download_product_file)

    def asset_file(self, asset_family: str, asset_code: str) -> MediaFile | None:
        where = f"asset {asset_family}/{asset_code}"
        attribute, is_file = self._main_media_of(asset_family, where)
        if attribute is None or not is_file:
            return None
        asset = self._get(f"asset-families/{quote(asset_family, safe='')}/assets/{quote(asset_code, safe='')}", where)
        values = (asset.get("values") or {}).get(attribute) or []
        code = next((v.get("data") for v in values if isinstance(v, dict) and v.get("data")), None)
        if not isinstance(code, str):
            return None
        return self._file(code, f"asset media file ({where})", self._download_asset_file)

    # --- lifecycle --------------------------------------------------------------------------

    def close(self) -> None:
        if self._owns_client and self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> AkeneoMedia:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- internals --------------------------------------------------------------------------

    def client(self) -> AkeneoClient:
        with self._lock:
            if self._client is None:
                assert self._make_client is not None
                self._client = self._make_client()
            return self._client

    def _file(self, code: str, what: str, download: Callable[[str, str, Any], tuple[str, str]]) -> MediaFile:
        if not code:
            raise MediaUnavailable(f"{what}: an empty file code")
        found = _stored(self.engine, self.directory, code)
        if found is None:
            with self._only_one(code):
                found = _stored(self.engine, self.directory, code)  # another thread or process got it meanwhile
                if found is None:
                    return self._fetch(code, what, download)
        with self._lock:
            self.stats.reused += 1
        return found

    @contextmanager
    def _only_one(self, code: str) -> Iterator[None]:
        """One download of a code at a time: among this process's threads, and (a lock file) among processes."""
        with self._lock:
            lock = self._code_locks.setdefault(code, threading.Lock())
        locks = self.directory / ".locks"
        locks.mkdir(parents=True, exist_ok=True)
        bucket = hashlib.sha1(code.encode()).hexdigest()[:2]  # 256 lock files, not one per code
        with lock, open(locks / bucket, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _fetch(self, code: str, what: str, download: Callable[[str, str, Any], tuple[str, str]]) -> MediaFile:
        """Downloads `code` to a temporary file (hashed as it is written), moves it to its content address,
        then writes its row."""
        partial = self.directory / ".partial"
        partial.mkdir(parents=True, exist_ok=True)
        handle = tempfile.NamedTemporaryFile(dir=partial, delete=False)  # noqa: SIM115 (moved or removed below)
        temporary = Path(handle.name)
        try:
            with handle:
                sink = _HashingSink(handle)
                filename, mime_type = download(code, what, sink)
                handle.flush()
                os.fsync(handle.fileno())
            sha256, size = sink.digest.hexdigest(), sink.size
            target = media_path(self.directory, sha256)
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists() and target.stat().st_size == size:
                temporary.unlink()  # equal content under another code: one file
            else:
                os.replace(temporary, target)  # atomic: a file at its address is always whole
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        row = {"code": code, "sha256": sha256, "size": size, "filename": filename, "mime_type": mime_type,
               "downloaded_at": utcnow()}  # fmt: skip
        with self.engine.begin() as conn:
            upsert(conn, TABLE, [row], ["code"])  # a stale row (its file was gone) is replaced
        with self._lock:
            self.stats.downloaded += 1
            self.stats.bytes += size
        self.log.info(f"{what} {code}: downloaded {size:,} bytes ({mime_type})")
        return MediaFile(code, sha256, size, filename, mime_type, target)

    def _download_product_file(self, code: str, what: str, sink: Any) -> tuple[str, str]:
        meta = self._get(f"media-files/{_segment(code)}", f"{what} {code}")
        self._stream(f"media-files/{_segment(code)}/download", f"{what} {code}", sink)
        filename = meta.get("original_filename") or code.rsplit("/", 1)[-1]
        return str(filename), str(meta.get("mime_type") or OCTET_STREAM)

    def _download_asset_file(self, code: str, what: str, sink: Any) -> tuple[str, str]:
        got = self._stream(f"asset-media-files/{_segment(code)}", f"{what} {code}", sink)
        filename = got.filename or code.rsplit("/", 1)[-1].split("_", 1)[-1]
        return filename, (got.content_type or OCTET_STREAM).split(";")[0].strip()

    def _stream(self, path: str, what: str, sink: Any):
        try:
            return self.client().download(path, sink)
        except AkeneoError as error:
            raise _unavailable(what, error) from error

    def _get(self, path: str, what: str) -> dict[str, Any]:
        try:
            found = self.client().get_optional(path)
        except AkeneoError as error:
            raise _unavailable(what, error) from error
        if found is None:
            raise MediaUnavailable(f"{what}: Akeneo has no such file (HTTP 404 on {path.split('?')[0]})")
        return found

    def _main_media_of(self, asset_family: str, where: str) -> tuple[str | None, bool]:
        """The attribute holding an asset family's main media, and whether it is a file (not a link)."""
        with self._lock:
            known = self._main_media.get(asset_family)
        if known is not None:
            return known
        family_path = f"asset-families/{quote(asset_family, safe='')}"
        family = self._get(family_path, where)
        attribute = family.get("attribute_as_main_media") or None
        is_file = True
        if attribute:
            try:
                definition = self.client().get_optional(f"{family_path}/attributes/{quote(attribute, safe='')}")
            except AkeneoError as error:
                raise _unavailable(where, error) from error
            is_file = (definition or {}).get("type", "media_file") == "media_file"
        with self._lock:
            self._main_media[asset_family] = (attribute, is_file)
        return attribute, is_file


def _unavailable(what: str, error: AkeneoError) -> MediaUnavailable:
    if error.status == 404:
        return MediaUnavailable(f"{what}: Akeneo has no such file (HTTP 404 on {error.endpoint})")
    kind = "Akeneo unavailable" if isinstance(error, AkeneoUnavailable) else "Akeneo refused"
    return MediaUnavailable(f"{what}: {kind}: {error}")


class _HashingSink:
    """A file that hashes what is written to it; emptied (`seek(0)` + `truncate()`) when a download starts over."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self.digest, self.size = hashlib.sha256(), 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self.handle.write(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.handle.seek(offset, whence)

    def truncate(self, size: int | None = None) -> int:
        if not size:
            self.digest, self.size = hashlib.sha256(), 0
        return self.handle.truncate(size)


class StoredMedia:
    """The `MediaSource` of dry runs: the files already downloaded, and no request ever (a file not yet
    downloaded is unavailable, saying so)."""

    def __init__(self, engine: Engine, directory: Path | str) -> None:
        self.engine, self.directory = engine, Path(directory).absolute()

    def close(self) -> None:
        pass

    def __enter__(self) -> StoredMedia:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def file(self, code: str) -> MediaFile:
        found = _stored(self.engine, self.directory, code)
        if found is None:
            raise MediaUnavailable(f"media file {code}: not downloaded yet (a dry run downloads nothing)")
        return found

    def asset_file(self, asset_family: str, asset_code: str) -> MediaFile | None:
        raise MediaUnavailable(
            f"asset {asset_family}/{asset_code}: its main media is read from Akeneo (a dry run makes no request)"
        )


AKENEO_VARIABLES = ("AKENEO_URL", "AKENEO_CLIENT_ID", "AKENEO_CLIENT_SECRET", "AKENEO_USERNAME", "AKENEO_PASSWORD")


def media_from_env(
    engine: Engine, directory: Path | str, log: logging.Logger | Any = None
) -> AkeneoMedia | StoredMedia:
    """The media source of a command outside a Dagster run (`iec integrations verify`): Akeneo's files
    when the Akeneo connection is configured in the environment, else only those already downloaded."""
    if not all(os.environ.get(name) for name in AKENEO_VARIABLES):
        return StoredMedia(engine, directory)
    url, client_id, secret, username, password = (os.environ[name] for name in AKENEO_VARIABLES)
    return AkeneoMedia(lambda: AkeneoClient(url, client_id, secret, username, password), engine, directory, log)
