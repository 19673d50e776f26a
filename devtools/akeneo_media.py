"""Akeneo's media files in front of akeneo-mock-server, for the tests and the demo.

akeneo-mock-server serves the catalog for real but stubs its media endpoints (every upload answers the
same code, every download placeholder bytes). This layer is a small threaded HTTP server on loopback that
stores uploads and serves them back at Akeneo's paths, and passes every other request to the mock
unchanged (streamed, headers kept, OAuth token requests included):

- `POST /api/rest/v1/media-files` (multipart `product` JSON + `file`): a new code like Akeneo's
  (`a/b/c/d/<sha1>_<filename>`), 201 with `Location`; and, as Akeneo does when `product` names
  `{"identifier"|"uuid", "attribute", "scope", "locale"}` (or `product_model` names `{"code", ...}`), that
  code becomes the product's (model's) value, by a PATCH through the mock (stamping `updated`);
- `GET /api/rest/v1/media-files/{code}` (metadata as Akeneo gives it), `.../{code}/download` (the bytes,
  with their Content-Type);
- `POST /api/rest/v1/asset-media-files` (multipart `file`): 201 with `Asset-media-file-code` and `Location`;
  `GET /api/rest/v1/asset-media-files/{code}`: the bytes;
- asset families and their attributes: the mock keeps only their codes, so the fields it drops
  (`attribute_as_main_media`, an attribute's `type`...) are kept here and merged into its answers;
- `GET /__media/stats`: downloads per code (`{"downloads": {code: n}, "attempts": ..., "files": n}`), so a
  test can prove a file was never downloaded twice.

Faults for tests: `fail(code, status=500)` answers a status, `fail(code, drop=True)` sends half the file
and drops the connection. Use `with AkeneoMediaLayer(mock_url) as layer:` (or `start()`/`stop()`) and point
the client at `layer.base_url`.
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import json
import mimetypes
import re
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import httpx

API = "/api/rest/v1"
MEDIA = f"{API}/media-files"
ASSET_MEDIA = f"{API}/asset-media-files"
STATS = "/__media/stats"
# Asset families and their attributes: the mock keeps only their codes (see `_overlaid`).
OVERLAID = re.compile(rf"^{API}/asset-families/[^/]+(/attributes/[^/]+)?$")
CHUNK = 1 << 16
# Hop-by-hop headers (RFC 9110 7.6.1) and what this server writes itself: never copied through.
_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
                  "host", "content-length"})  # fmt: skip


@dataclass(frozen=True)
class StoredFile:
    code: str
    filename: str
    mime_type: str
    content: bytes

    @property
    def extension(self) -> str:
        return self.filename.rsplit(".", 1)[-1].lower() if "." in self.filename else ""


@dataclass
class _Fault:
    status: int | None
    drop: bool
    times: int


@dataclass
class _State:
    upstream: str
    files: dict[str, StoredFile] = field(default_factory=dict)  # product media files
    asset_files: dict[str, StoredFile] = field(default_factory=dict)
    downloads: Counter = field(default_factory=Counter)  # code -> complete downloads served
    attempts: Counter = field(default_factory=Counter)  # code -> download requests, failed ones included
    faults: dict[str, _Fault] = field(default_factory=dict)
    overlay: dict[str, dict[str, Any]] = field(default_factory=dict)  # path -> fields the mock does not keep
    lock: threading.Lock = field(default_factory=threading.Lock)
    storage: Path | None = None  # where uploads are kept across restarts (the mock's database outlives us)

    def keep(self, kind: str, stored: StoredFile) -> None:
        """Records an upload (under the lock), on disk too when the layer has a storage directory."""
        (self.files if kind == "files" else self.asset_files)[stored.code] = stored
        if self.storage is not None:
            name = hashlib.sha256(stored.code.encode()).hexdigest()
            folder = self.storage / kind
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{name}.bin").write_bytes(stored.content)
            meta = {"code": stored.code, "filename": stored.filename, "mime_type": stored.mime_type}
            (folder / f"{name}.json").write_text(json.dumps(meta))

    def load(self) -> None:
        """The uploads an earlier layer kept in `storage`."""
        if self.storage is None:
            return
        for kind, files in (("files", self.files), ("asset_files", self.asset_files)):
            for meta_path in sorted((self.storage / kind).glob("*.json")):
                meta = json.loads(meta_path.read_text())
                content = meta_path.with_suffix(".bin").read_bytes()
                files[meta["code"]] = StoredFile(meta["code"], meta["filename"], meta["mime_type"], content)


def akeneo_code(filename: str, content: bytes) -> str:
    """A new file code as Akeneo makes them: four directory levels from a sha1, then `<sha1>_<filename>`."""
    digest = hashlib.sha1(uuid.uuid4().bytes + content + filename.encode()).hexdigest()
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", filename) or "file"
    return f"{digest[0]}/{digest[1]}/{digest[2]}/{digest[3]}/{digest}_{safe}"


def _multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, str, bytes]]:
    """Form fields of a multipart/form-data body: name -> (file name, content type, bytes)."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    fields = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            fields[str(name)] = (part.get_filename(), part.get_content_type(), part.get_payload(decode=True) or b"")
    return fields


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    state: _State
    http: httpx.Client

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    # --- answers ----------------------------------------------------------------------------

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"code": status, "message": message})

    def _bytes(self, stored: StoredFile, disposition: bool) -> None:
        state = self.state
        with state.lock:
            state.attempts[stored.code] += 1
            fault = state.faults.get(stored.code)
            if fault is not None:
                fault.times -= 1
                if fault.times <= 0:
                    del state.faults[stored.code]
        if fault is not None and not fault.drop:
            return self._error(fault.status or 500, "injected fault")
        self.send_response(200)
        self.send_header("Content-Type", stored.mime_type)
        self.send_header("Content-Length", str(len(stored.content)))
        if disposition:
            self.send_header("Content-Disposition", f"attachment; filename*=UTF-8''{quote(stored.filename)}")
        self.end_headers()
        if fault is not None:  # half the file, then the connection goes
            self.wfile.write(stored.content[: len(stored.content) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        for start in range(0, len(stored.content), CHUNK):
            self.wfile.write(stored.content[start : start + CHUNK])
        with state.lock:
            state.downloads[stored.code] += 1

    # --- routes -----------------------------------------------------------------------------

    def _handle(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == STATS and self.command == "GET":
            return self._json(200, self.state_snapshot())
        if path == MEDIA and self.command == "POST":
            return self._upload_product_file()
        if path == ASSET_MEDIA and self.command == "POST":
            return self._upload_asset_file()
        if path.startswith(MEDIA + "/") and self.command == "GET":
            code = unquote(path[len(MEDIA) + 1 :])
            download = code.endswith("/download")
            code = code.removesuffix("/download")
            stored = self.state.files.get(code)
            if stored is None:
                return self._error(404, f'Media file "{code}" does not exist.')
            return self._bytes(stored, disposition=True) if download else self._json(200, self._metadata(stored))
        if path.startswith(ASSET_MEDIA + "/") and self.command == "GET":
            code = unquote(path[len(ASSET_MEDIA) + 1 :])
            stored = self.state.asset_files.get(code)
            if stored is None:
                return self._error(404, f'Media file "{code}" does not exist.')
            return self._bytes(stored, disposition=True)
        if OVERLAID.match(path) and self.command in ("PATCH", "GET", "DELETE"):
            return self._overlaid(path)
        return self._pass_through()

    def _overlaid(self, path: str) -> None:
        """Asset families and their attributes keep, here, the fields the mock drops (the family's
        `attribute_as_main_media`, an attribute's `type`...), and give them back merged into the mock's answer."""
        state = self.state
        body = self._body()
        headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type", "accept")}
        response = self.http.request(self.command, state.upstream + self.path, headers=headers, content=body)
        data: Any = None
        if self.command == "PATCH" and response.status_code < 400:
            try:
                sent = json.loads(body or b"{}")
            except ValueError:
                sent = {}
            with state.lock:
                state.overlay[path] = {**state.overlay.get(path, {}), **(sent if isinstance(sent, dict) else {})}
        elif self.command == "DELETE" and response.status_code < 400:
            with state.lock:
                state.overlay.pop(path, None)
        elif self.command == "GET" and response.status_code == 200:
            with state.lock:
                kept = dict(state.overlay.get(path, {}))
            data = {**kept, **response.json()}
            data.update({k: v for k, v in kept.items() if k not in ("code", "values")})
        if data is None:
            content = response.content
            self.send_response(response.status_code)
            for name, value in response.headers.multi_items():
                if name.lower() not in _HOP | {"content-encoding"}:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)
            return
        data.pop("parent_id", None)
        self._json(200, data)

    def state_snapshot(self) -> dict[str, Any]:
        with self.state.lock:
            return {
                "downloads": dict(self.state.downloads),
                "attempts": dict(self.state.attempts),
                "files": len(self.state.files),
                "asset_files": len(self.state.asset_files),
            }

    def _metadata(self, stored: StoredFile) -> dict[str, Any]:
        base = f"http://{self.headers.get('Host') or 'localhost'}{MEDIA}/{quote(stored.code)}"
        return {
            "code": stored.code,
            "original_filename": stored.filename,
            "mime_type": stored.mime_type,
            "size": len(stored.content),
            "extension": stored.extension,
            "_links": {"download": {"href": f"{base}/download"}},
        }

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _file_field(self) -> tuple[dict[str, tuple[str | None, str, bytes]], StoredFile | None]:
        content_type = self.headers.get("Content-Type", "")
        if not content_type.startswith("multipart/form-data"):
            return {}, None
        fields = _multipart(content_type, self._body())
        if "file" not in fields:
            return fields, None
        filename, mime_type, content = fields["file"]
        filename = filename or "file"
        if mime_type in ("", "application/octet-stream"):
            mime_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        return fields, StoredFile(akeneo_code(filename, content), filename, mime_type, content)

    def _upload_product_file(self) -> None:
        fields, stored = self._file_field()
        if stored is None:
            return self._error(422, 'Property "file" is required.')
        owner = next((name for name in ("product", "product_model") if name in fields), None)
        if owner is None:
            return self._error(422, 'Property "product" or "product_model" is required.')
        try:
            target = json.loads(fields[owner][2])
        except ValueError:
            return self._error(422, f'Property "{owner}" is not valid JSON.')
        problem = self._link(owner, target, stored.code)
        if problem is not None:
            return self._json(*problem)
        with self.state.lock:
            self.state.keep("files", stored)
        host = self.headers.get("Host") or "localhost"
        self._json(201, None, {"Location": f"http://{host}{MEDIA}/{quote(stored.code)}"})

    def _link(self, owner: str, target: Any, code: str) -> tuple[int, Any] | None:
        """Sets the new file as the product's (model's) value through the mock, as Akeneo does."""
        if not isinstance(target, dict) or not target.get("attribute"):
            return 422, {"code": 422, "message": f'Property "{owner}" needs "attribute".'}
        if owner == "product_model" and target.get("code"):
            path = f"{API}/product-models/{quote(str(target['code']), safe='')}"
        elif target.get("uuid"):
            path = f"{API}/products-uuid/{quote(str(target['uuid']), safe='')}"
        elif target.get("identifier"):
            path = f"{API}/products/{quote(str(target['identifier']), safe='')}"
        else:
            return 422, {"code": 422, "message": f'Property "{owner}" needs "identifier", "uuid" or "code".'}
        value = {"locale": target.get("locale"), "scope": target.get("scope"), "data": code}
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
        headers = {k: v for k, v in self.headers.items() if k.lower() == "authorization"}
        response = self.http.patch(
            self.state.upstream + path, json={"values": {target["attribute"]: [value]}, "updated": now}, headers=headers
        )
        if response.status_code >= 400:
            try:
                return response.status_code, response.json()
            except ValueError:
                return response.status_code, {"code": response.status_code, "message": response.text[:500]}
        return None

    def _upload_asset_file(self) -> None:
        _fields, stored = self._file_field()
        if stored is None:
            return self._error(422, 'Property "file" is required.')
        with self.state.lock:
            self.state.keep("asset_files", stored)
        host = self.headers.get("Host") or "localhost"
        self._json(
            201,
            None,
            {"Asset-media-file-code": stored.code, "Location": f"http://{host}{ASSET_MEDIA}/{quote(stored.code)}"},
        )

    def _pass_through(self) -> None:
        """Forwards the request to the mock and streams its answer back, headers kept."""
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
        request = self.http.build_request(self.command, self.state.upstream + self.path, headers=headers,
                                          content=self._body())  # fmt: skip
        response = self.http.send(request, stream=True)
        try:
            self.send_response(response.status_code)
            for name, value in response.headers.multi_items():
                if name.lower() not in _HOP:
                    self.send_header(name, value)
            length = response.headers.get("Content-Length")
            chunked = length is None and self.command != "HEAD" and response.status_code not in (204, 304)
            if length is not None:
                self.send_header("Content-Length", length)
            elif chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", "0")
            self.end_headers()
            for chunk in response.iter_raw(CHUNK):
                if chunked:
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                else:
                    self.wfile.write(chunk)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        finally:
            response.close()

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = do_HEAD = _handle


class AkeneoMediaLayer:
    """The media layer in front of akeneo-mock-server at `upstream`; `base_url` is what clients use."""

    def __init__(self, upstream: str, host: str = "127.0.0.1", port: int = 0, storage: Path | None = None) -> None:
        """`storage`: a directory keeping the uploads, so a layer started again (`make demo-ui`) serves them."""
        self.state = _State(upstream.rstrip("/"), storage=storage)
        self.state.load()
        self._http = httpx.Client(timeout=60)
        handler = type("Handler", (_Handler,), {"state": self.state, "http": self._http})
        self.server = ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="akeneo-media", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> AkeneoMediaLayer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._http.close()

    def __enter__(self) -> AkeneoMediaLayer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- for tests --------------------------------------------------------------------------

    def downloads(self, code: str) -> int:
        """Complete downloads of `code` served so far."""
        with self.state.lock:
            return self.state.downloads[code]

    def stats(self) -> dict[str, Any]:
        return httpx.get(self.base_url + STATS, timeout=10).json()

    def fail(self, code: str, status: int | None = 500, drop: bool = False, times: int = 1) -> None:
        """The next `times` downloads of `code` fail: `status`, or half the file and a dropped connection."""
        with self.state.lock:
            self.state.faults[code] = _Fault(None if drop else status, drop, times)

    def heal(self) -> None:
        with self.state.lock:
            self.state.faults.clear()
            self.state.overlay.clear()

    def reset(self) -> None:
        """Forgets every file, count and fault (the mock's data is the mock's)."""
        with self.state.lock:
            self.state.files.clear()
            self.state.asset_files.clear()
            self.state.downloads.clear()
            self.state.attempts.clear()
            self.state.faults.clear()
            self.state.overlay.clear()
