"""The Magento 2.4 REST sandbox server (Starlette, one process, fully async).

Request pipeline for ``/rest/...``, in Magento's order: fault injection (ours) -> store code ->
route match (404) -> bearer token (401) -> path parameter types and strict body schema (400) ->
per-SKU in-flight tracking + ``write_delay_ms`` (``asyncio.sleep``, so concurrent writes overlap
like PHP-FPM workers) -> the handler, applied atomically -> Magento-shaped JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
import traceback
from collections.abc import AsyncIterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import errors
from .bulk import STATUS_COMPLETE, STATUS_FAILED, SUCCESS, BulkStore
from .controls import FaultRule, Faults, LogEntry, Recorder, RuntimeConfig
from .handlers import HANDLERS, Ctx
from .spec import ObjectNode, Operation, ScalarNode, SchemaError, spec_index, split_path
from .state import Catalog, now_text
from .stores import Scope, scope_for

log = logging.getLogger("devtools.magento_sandbox")

TOKEN_OPERATION = "PostV1IntegrationAdminToken"
WRITE_METHODS = ("POST", "PUT", "DELETE")
_RESOURCES = (
    ("/V1/products/attribute-sets", "Magento_Catalog::sets"),
    ("/V1/products/attributes", "Magento_Catalog::attributes_attributes"),
    ("/V1/categories", "Magento_Catalog::categories"),
    ("/V1/store", "Magento_Backend::store"),
    ("/V1/bulk", "Magento_Logging::system_magento_logging_bulk_operations"),
)
_BULK_OPERATIONS = {
    ("POST", ("V1", "products")): "PostV1Products",
    ("PUT", ("V1", "products", "bySku")): "PutV1ProductsSku",
    ("DELETE", ("V1", "products", "bySku")): "DeleteV1ProductsSku",
}


class Settings(BaseModel):
    """Start-up settings; ``write_delay_ms`` & co. can be changed later via ``/__sandbox/config``."""

    model_config = ConfigDict(extra="forbid")

    token: str = "sandbox-integration-token"
    admin_username: str = "admin"
    admin_password: str = "sandbox-admin-123"
    store_views: list[str] = ["default", "fr", "de"]
    # website code -> its store view codes, in id order; the first website is "base" (id 1).
    # None = one website "base" holding ``store_views`` (a fresh single-website install).
    websites: dict[str, list[str]] | None = None
    base_currencies: dict[str, str] = {}  # website code -> currency/options/base (default EUR)
    price_scope: Literal["global", "website"] = "global"  # catalog/price/scope
    write_delay_ms: int = 0
    bulk_operation_delay_ms: int = 0
    admin_token_ttl_seconds: float = 4 * 3600
    max_log_entries: int = 200_000

    def runtime(self) -> RuntimeConfig:
        return RuntimeConfig(
            write_delay_ms=self.write_delay_ms,
            bulk_operation_delay_ms=self.bulk_operation_delay_ms,
            admin_token_ttl_seconds=self.admin_token_ttl_seconds,
            websites=self.websites or {"base": list(self.store_views)},
            base_currencies=dict(self.base_currencies),
            price_scope=self.price_scope,
        )


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison that also copes with non-ASCII input."""
    return secrets.compare_digest(str(given).encode(), expected.encode())


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(data, status_code=status, headers=headers)


def _bulk_delete_node() -> ObjectNode:
    node = ObjectNode("request body of DeleteV1ProductsSku (bulk bySku)", root=True)
    node.properties = {"sku": ScalarNode("string")}
    node.required = ("sku",)
    return node


class Sandbox:
    """Everything one sandbox instance holds; the Starlette app is a thin shell around it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.spec = spec_index()
        self.config = settings.runtime()
        self.catalog = self._new_catalog()
        self.recorder = Recorder(settings.max_log_entries)
        self.faults = Faults()
        self.admin_tokens: dict[str, float] = {}
        self.bulks = BulkStore()
        self._bulk_delete = _bulk_delete_node()
        self._consumer: asyncio.Task[None] | None = None

    # ----------------------------------------------------------------------- lifecycle

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self.bulks.queue = asyncio.Queue()
        self._consumer = asyncio.create_task(self._consume(), name="sandbox-bulk-consumer")
        try:
            yield
        finally:
            self._consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._consumer

    def _new_catalog(self) -> Catalog:
        return Catalog(self.config.websites, self.config.base_currencies, self.config.price_scope)

    def reset(self) -> None:
        self.config = self.settings.runtime()
        self.catalog = self._new_catalog()
        self.recorder.reset()
        self.faults.clear()
        self.bulks.reset()

    # ---------------------------------------------------------------------- /rest entry

    async def rest(self, request: Request) -> Response:
        raw = request.scope.get("raw_path") or request.url.path.encode()
        path = raw.decode("latin-1").split("?", 1)[0][len("/rest") :] or "/"
        entry = self.recorder.start(request.method, path)
        try:
            response = await self._process(request, path, entry)
        except errors.MagentoError as exc:
            response = _json(exc.body(), exc.status, exc.headers)
        except ClientDisconnect:
            entry.error = "client disconnected before sending the whole body"
            response = Response(status_code=499)
        except Exception:  # noqa: BLE001 - a sandbox bug must still answer like Magento does
            report = secrets.token_hex(6)
            entry.error = traceback.format_exc()
            log.exception("sandbox error (report webapi-%s)", report)
            response = _json({"message": errors.INTERNAL_ERROR, "parameters": [f"webapi-{report}"]}, 500)
        self.recorder.finish(entry, response.status_code)
        return response

    async def _process(self, request: Request, path: str, entry: LogEntry) -> Response:
        method = request.method
        raw_body = await request.body()  # like nginx/PHP-FPM: the whole body is received first
        entry.bytes_in = len(raw_body)
        fault = self.faults.match(method, split_path_text(path))
        if fault is not None:
            entry.fault = True
            pause = (fault.delay_ms or 0) + (fault.hang_ms or 0)
            if pause:
                await asyncio.sleep(pause / 1000)
            if fault.status is not None:
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
                return _json(Faults.body(fault), fault.status, headers)

        segments = split_path(path)
        store_code, segments, is_async = self._strip_prefix(segments)
        entry.store_code = store_code
        scope = scope_for(self.catalog.stores, store_code)
        if is_async:
            return await self._async_bulk(request, segments, scope, entry)

        match = self.spec.match(method, segments)
        if match is None:
            raise errors.not_found(errors.ROUTE_NOT_FOUND)
        operation, params = match
        entry.operation_id = operation.operation_id
        entry.sku = params.get("sku")
        if operation.operation_id != TOKEN_OPERATION:
            self._authorize(request, operation.template)
        operation.check_path_params(params)
        body = await self._body(request, operation)
        self._validate(operation.validate_body(body) if operation.body else [], entry)
        if method == "PUT" and isinstance(body, dict):
            body = override_body_with_path_param(body, params, operation.body)

        if operation.operation_id == TOKEN_OPERATION:
            return _json(self._issue_admin_token(body))
        handler = HANDLERS.get(operation.operation_id)
        if handler is None:
            raise errors.MagentoError(
                501,
                "The Magento sandbox does not implement %1 %2 (operationId %3).",
                [method, operation.template, operation.operation_id],
            )
        ctx = Ctx(
            self.catalog,
            scope,
            params,
            body,
            list(request.query_params.multi_items()),
            entry.warnings,
            self.bulks,
        )
        if method not in WRITE_METHODS:
            with self.catalog.lock:
                return _json(handler.fn(ctx))
        skus = handler.skus(ctx) if handler.skus else []
        entry.sku = ",".join(s for s in skus if s) or entry.sku
        keys = self.recorder.enter(skus)
        self.recorder.writes += 1
        try:
            if self.config.write_delay_ms:
                await asyncio.sleep(self.config.write_delay_ms / 1000)
            with self.catalog.lock:
                catalog = self.catalog
                before = catalog.products.media_bytes
                try:
                    return _json(handler.fn(ctx))
                finally:
                    entry.media_bytes = catalog.products.media_bytes - before
                    self.recorder.media_bytes += entry.media_bytes
        finally:
            self.recorder.exit(keys)

    def _strip_prefix(self, segments: list[str]) -> tuple[str | None, list[str], bool]:
        """``[<store>/][async/bulk/]V1/...``; an unknown store code is just an unmatched route."""
        store_code = None
        if segments and (
            segments[0] == "all" or (segments[0] in self.catalog.stores.by_code and segments[0] != "admin")
        ):
            store_code, segments = segments[0], segments[1:]
        is_async = segments[:2] == ["async", "bulk"]
        if is_async:
            segments = segments[2:]
        if not segments or segments[0] != "V1":
            raise errors.not_found(errors.ROUTE_NOT_FOUND)
        return store_code, segments, is_async

    def _authorize(self, request: Request, template: str) -> int:
        """Returns Magento's user type: 1 integration, 2 admin."""
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        if token and _same(token, self.settings.token):
            return 1
        issued = self.admin_tokens.get(token)
        if issued is not None and time.monotonic() - issued <= self.config.admin_token_ttl_seconds:
            return 2
        resource = next(
            (r for prefix, r in _RESOURCES if template.startswith(prefix)), "Magento_Catalog::products"
        )
        raise errors.MagentoError(401, errors.NOT_AUTHORIZED, {"resources": resource})

    def _issue_admin_token(self, body: dict[str, Any]) -> str:
        ok = _same(body["username"], self.settings.admin_username)
        if not (_same(body["password"], self.settings.admin_password) and ok):
            raise errors.MagentoError(401, errors.SIGN_IN_INCORRECT, [])
        token = secrets.token_urlsafe(24)
        self.admin_tokens[token] = time.monotonic()
        return token

    async def _body(self, request: Request, operation: Operation | None) -> Any:
        """Parse the JSON body; operations without a body ignore whatever was sent, like Magento."""
        if operation is not None and operation.body is None:
            return None
        raw = await request.body()
        if not raw.strip():
            return {} if isinstance(getattr(operation, "body", None), ObjectNode) else None
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise errors.bad_request(errors.DECODING_ERROR) from None

    @staticmethod
    def _validate(problems: list[SchemaError], entry: LogEntry) -> None:
        if problems:
            entry.schema_errors = [e.to_log() for e in problems]
            raise problems[0].to_error()

    # ------------------------------------------------------------------------- async bulk

    async def _async_bulk(
        self, request: Request, segments: list[str], scope: Scope, entry: LogEntry
    ) -> Response:
        method = request.method
        operation_id = _BULK_OPERATIONS.get((method, tuple(segments)))
        if operation_id is None:
            if self.spec.match(method, segments) is None:
                raise errors.not_found(errors.ROUTE_NOT_FOUND)
            raise errors.MagentoError(
                501,
                "The Magento sandbox does not implement async bulk %1 %2.",
                [method, "/" + "/".join(segments)],
            )
        entry.operation_id = f"async/bulk {operation_id}"
        user_type = self._authorize(request, "/V1/products")
        body = await self._body(request, None)
        if not isinstance(body, list):
            raise errors.MagentoError(
                400, errors.TYPE_MISMATCH, ["array" if isinstance(body, dict) else str(body), "array"]
            )
        node = self._bulk_delete if method == "DELETE" else self.spec.by_id[operation_id].body
        problems: list[SchemaError] = []
        for index, item in enumerate(body):
            item_errors: list[SchemaError] = []
            node.validate(item if item is not None else {}, "", item_errors)  # type: ignore[union-attr]
            problems += [SchemaError(f"[{index}].{e.path}", e.message, e.parameters) for e in item_errors]
        self._validate(problems, entry)
        skus = [
            (i.get("sku") if method == "DELETE" else (i.get("product") or {}).get("sku")) or "" for i in body
        ]
        entry.sku = ",".join(skus[:20]) + (",..." if len(skus) > 20 else "")
        self.recorder.writes += 1
        if self.config.write_delay_ms:
            await asyncio.sleep(self.config.write_delay_ms / 1000)
        with self.catalog.lock:
            result = self.bulks.submit(method, body, scope.code, now_text(), user_type)
        return _json(result, 202)

    async def _consume(self) -> None:
        """The ``async.operations.all`` consumer: one operation at a time, in acceptance order."""
        assert self.bulks.queue is not None
        queue = self.bulks.queue
        while True:
            generation, bulk, operation = await queue.get()
            try:
                if generation == self.bulks.generation:
                    await self._apply(generation, bulk, operation)
            except Exception:  # noqa: BLE001 - keep consuming whatever happens
                log.exception("bulk consumer failure")
            finally:
                queue.task_done()

    async def _apply(self, generation: int, bulk: Any, operation: Any) -> None:
        data = operation.data or {}
        sku = data.get("sku") if bulk.method == "DELETE" else (data.get("product") or {}).get("sku")
        keys = self.recorder.enter([sku or ""])
        try:
            if self.config.bulk_operation_delay_ms:
                await asyncio.sleep(self.config.bulk_operation_delay_ms / 1000)
            if generation != self.bulks.generation:
                return
            scope = scope_for(self.catalog.stores, bulk.store_code)
            with self.catalog.lock:
                products = self.catalog.products
                if bulk.method == "DELETE":
                    result: Any = products.delete(sku or "")
                else:
                    product = products.save(data["product"], scope, now_text(), [])
                    result = products.to_json(product, scope.read_store)
            operation.status = STATUS_COMPLETE
            operation.result_message = SUCCESS[bulk.method]
            operation.result_serialized = json.dumps(result)
        except errors.MagentoError as exc:
            operation.status, operation.result_message, operation.error_code = (
                STATUS_FAILED,
                exc.rendered(),
                0,
            )
        except Exception as exc:  # noqa: BLE001
            operation.status, operation.result_message, operation.error_code = STATUS_FAILED, str(exc), 0
            log.exception("bulk operation failed")
        finally:
            self.recorder.exit(keys)
            self.recorder.bulk_operations[str(operation.status)] += 1

    # ------------------------------------------------------------------- /__sandbox controls

    async def control_faults(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.faults.clear()
        elif request.method == "POST":
            try:
                payload = json.loads(await request.body() or b"[]")
                rules = payload.get("rules", []) if isinstance(payload, dict) else payload
                self.faults.set(TypeAdapter(list[FaultRule]).validate_python(rules))
            except (ValidationError, ValueError) as exc:
                return _json({"message": f"invalid fault rules: {exc}"}, 400)
        return _json({"rules": self.faults.describe(), "injected": self.faults.injected})

    async def control_config(self, request: Request) -> Response:
        """Partial update.  A new ``websites``/``base_currencies`` layout starts an empty catalog (store
        ids change); ``price_scope`` switches the price attributes' scope in place, like Magento."""
        if request.method == "POST":
            try:
                update = RuntimeConfig.model_validate(
                    {**self.config.model_dump(), **json.loads(await request.body())}
                )
                if (update.websites, update.base_currencies) != (self.config.websites, self.config.base_currencies):
                    catalog = Catalog(update.websites, update.base_currencies, update.price_scope)
                else:
                    catalog = self.catalog
            except (ValidationError, ValueError, TypeError) as exc:
                return _json({"message": f"invalid config: {exc}"}, 400)
            with self.catalog.lock:
                self.catalog = catalog
                catalog.eav.set_price_scope(update.price_scope)
                self.config = update
        return _json(self.config.model_dump())

    async def control_requests(self, request: Request) -> Response:
        since = request.query_params.get("since", "0")
        return _json(
            {
                "last_seq": self.recorder.seq,
                "requests": self.recorder.since(int(since) if since.isdigit() else 0),
            }
        )

    async def control_stats(self, request: Request) -> Response:
        return _json(
            {
                **self.recorder.stats(),
                "faults_injected": self.faults.injected,
                "bulk_operations_pending": self.bulks.pending(),
                "media_bytes_stored": self.catalog.products.media_bytes,
            }
        )

    async def control_state(self, request: Request) -> Response:
        with self.catalog.lock:
            return _json(
                {**self.catalog.dump(), "bulks": self.bulks.dump(), "config": self.config.model_dump()}
            )

    async def control_reset(self, request: Request) -> Response:
        self.reset()
        return _json({"reset": True})

    async def control_drain(self, request: Request) -> Response:
        """Wait until the bulk consumer has nothing left (tests use it instead of polling)."""
        timeout = float(request.query_params.get("timeout", "10"))
        deadline = time.monotonic() + timeout
        while self.bulks.pending() and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        return _json({"pending": self.bulks.pending()})

    async def not_found(self, request: Request) -> Response:
        return _json({"message": errors.ROUTE_NOT_FOUND, "parameters": []}, 404)


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def override_body_with_path_param(body: dict[str, Any], params: dict[str, str], node: Any) -> dict[str, Any]:
    r"""Magento\Webapi\Controller\Rest\ParamsOverrider::overrideRequestBodyIdWithPathParam (every PUT).

    The LAST path parameter is copied into the body: into the single top-level object when the body
    has exactly one key holding an object whose data interface has that property (``product.sku``,
    ``category.id``, ``attribute.attribute_code``, ``entity.sku``...), otherwise as a top-level key
    (which changes nothing the service reads).  So the URL's SKU wins over ``product.sku``, unless the
    body also carries e.g. ``saveOptions``; ``/me`` paths are left alone.
    """
    if not params:
        return body
    key, value = list(params.items())[-1]
    if value == "me":
        return body
    prop = _snake(key)
    if len(body) == 1 and isinstance(next(iter(body.values())), dict):
        top = next(iter(body))
        child = getattr(node, "properties", {}).get(top) if node is not None else None
        props = getattr(child, "properties", None) or {}
        if prop in props:
            typed: Any = value
            if getattr(props[prop], "kind", None) == "integer" and value.lstrip("-").isdigit():
                typed = int(value)  # ServiceInputProcessor converts to the declared type
            return {top: {**body[top], prop: typed}}
    return {**body, prop: value}


def split_path_text(path: str) -> str:
    """The decoded path fault rules are matched against (``/fr/V1/products/a b``)."""
    return "/" + "/".join(split_path(path))


def create_app(settings: Settings | dict[str, Any] | None = None, **overrides: Any) -> Starlette:
    """Build the ASGI app. ``create_app(token="t", write_delay_ms=50)`` or ``create_app(Settings(...))``."""
    if isinstance(settings, dict):
        settings = Settings(**settings)
    if settings is None:
        settings = Settings(**overrides)
    elif overrides:
        settings = settings.model_copy(update=overrides)
    sandbox = Sandbox(settings)
    methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
    routes = [
        Route("/__sandbox/faults", sandbox.control_faults, methods=["GET", "POST", "DELETE"]),
        Route("/__sandbox/config", sandbox.control_config, methods=["GET", "POST"]),
        Route("/__sandbox/requests", sandbox.control_requests, methods=["GET"]),
        Route("/__sandbox/stats", sandbox.control_stats, methods=["GET"]),
        Route("/__sandbox/state", sandbox.control_state, methods=["GET"]),
        Route("/__sandbox/reset", sandbox.control_reset, methods=["POST"]),
        Route("/__sandbox/bulks/drain", sandbox.control_drain, methods=["POST"]),
        Route("/rest/{rest:path}", sandbox.rest, methods=methods),
        Route("/{other:path}", sandbox.not_found, methods=methods),
    ]
    app = Starlette(routes=routes, lifespan=sandbox.lifespan)
    app.state.sandbox = sandbox
    return app


def serve(
    host: str = "127.0.0.1",
    port: int = 8088,
    token: str = Settings.model_fields["token"].default,
    admin_username: str = "admin",
    admin_password: str = Settings.model_fields["admin_password"].default,
    store_views: list[str] | None = None,
    websites: dict[str, list[str]] | None = None,
    base_currencies: dict[str, str] | None = None,
    price_scope: Literal["global", "website"] = "global",
    write_delay_ms: int = 0,
    bulk_operation_delay_ms: int = 0,
    admin_token_ttl_seconds: float = 4 * 3600,
) -> None:
    """Run the sandbox in the foreground (blocking) — the single entry point for CLIs."""
    import uvicorn

    settings = Settings(
        token=token,
        admin_username=admin_username,
        admin_password=admin_password,
        store_views=store_views or ["default", "fr", "de"],
        websites=websites,
        base_currencies=base_currencies or {},
        price_scope=price_scope,
        write_delay_ms=write_delay_ms,
        bulk_operation_delay_ms=bulk_operation_delay_ms,
        admin_token_ttl_seconds=admin_token_ttl_seconds,
    )
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
