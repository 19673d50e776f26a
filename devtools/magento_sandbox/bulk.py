"""Asynchronous bulk API: accepted bulks, their operations, and Magento's status documents.

Like Magento with the ``async.operations.all`` consumer, a bulk is only a receipt when it is
accepted (202); its operations are applied later, in order, by one background consumer, and
their outcome is only visible through ``/V1/bulk/{uuid}/detailed-status``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from . import errors

STATUS_COMPLETE = 1
STATUS_RETRIABLY_FAILED = 2
STATUS_FAILED = 3
STATUS_OPEN = 4
STATUS_REJECTED = 5
TOPICS = {
    "POST": "async.magento.catalog.api.productrepositoryinterface.save.post",
    "PUT": "async.magento.catalog.api.productrepositoryinterface.save.put",
    "DELETE": "async.magento.catalog.api.productrepositoryinterface.deletebyid.delete",
}
SUCCESS = {
    "POST": "Service execution success Magento\\Catalog\\Model\\ProductRepository\\Interceptor::save",
    "PUT": "Service execution success Magento\\Catalog\\Model\\ProductRepository\\Interceptor::save",
    "DELETE": "Service execution success Magento\\Catalog\\Model\\ProductRepository\\Interceptor::deleteById",
}


@dataclass(slots=True)
class Operation:
    id: int
    data: dict[str, Any]
    serialized: str
    status: int = STATUS_OPEN
    result_message: str | None = None
    error_code: int | None = None
    result_serialized: str | None = None

    def summary(self) -> dict[str, Any]:
        out = {
            "id": self.id,
            "status": self.status,
            "result_message": self.result_message,
            "error_code": self.error_code,
        }
        return {k: v for k, v in out.items() if v is not None}


@dataclass(slots=True)
class Bulk:
    uuid: str
    method: str
    store_code: str | None
    start_time: str
    user_type: int
    operations: list[Operation] = field(default_factory=list)

    @property
    def topic(self) -> str:
        return TOPICS[self.method]

    def _head(self) -> dict[str, Any]:
        return {
            "user_type": self.user_type,
            "bulk_id": self.uuid,
            "description": f"Topic {self.topic}",
            "start_time": self.start_time,
            "user_id": 1,
            "operation_count": len(self.operations),
        }

    def detailed_json(self) -> dict[str, Any]:
        ops = []
        for op in self.operations:
            row = {
                "id": op.id,
                "bulk_uuid": self.uuid,
                "topic_name": self.topic,
                "serialized_data": op.serialized,
                "result_serialized_data": op.result_serialized,
                "status": op.status,
                "result_message": op.result_message,
                "error_code": op.error_code,
            }
            ops.append({k: v for k, v in row.items() if v is not None})
        return {"operations_list": ops, **self._head()}

    def status_json(self) -> dict[str, Any]:
        return {"operations_list": [op.summary() for op in self.operations], **self._head()}

    def count(self, status: int) -> int:
        return sum(1 for op in self.operations if op.status == status)

    def dump(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "store_code": self.store_code,
            "start_time": self.start_time,
            "operations": [{**op.summary(), "data": op.data} for op in self.operations],
        }


class BulkStore:
    def __init__(self) -> None:
        self.bulks: dict[str, Bulk] = {}
        self.queue: asyncio.Queue[tuple[int, Bulk, Operation]] | None = None
        self.generation = 0  # bumped by reset(); the consumer drops work from older generations

    def get(self, bulk_uuid: str) -> Bulk:
        bulk = self.bulks.get(bulk_uuid)
        if bulk is None:
            raise errors.not_found("Bulk uuid %bulkUuid not exist", {"bulkUuid": bulk_uuid})
        return bulk

    def submit(
        self, method: str, items: list[Any], store_code: str | None, start: str, user_type: int
    ) -> dict:
        bulk = Bulk(str(uuid.uuid4()), method, store_code, start, user_type)
        request_items = []
        for index, item in enumerate(items):
            meta = json.dumps(item, separators=(",", ":"))
            serialized = json.dumps({"entity_id": None, "entity_link": "", "meta_information": meta})
            bulk.operations.append(Operation(index, item, serialized))
            request_items.append(
                {"id": index, "data_hash": hashlib.sha256(meta.encode()).hexdigest(), "status": "accepted"}
            )
        self.bulks[bulk.uuid] = bulk
        if self.queue is not None:
            for operation in bulk.operations:
                self.queue.put_nowait((self.generation, bulk, operation))
        return {"bulk_uuid": bulk.uuid, "request_items": request_items, "errors": False}

    def reset(self) -> None:
        self.generation += 1
        self.bulks.clear()
        if self.queue is not None:
            while not self.queue.empty():
                self.queue.get_nowait()
                self.queue.task_done()

    def pending(self) -> int:
        return sum(1 for b in self.bulks.values() for op in b.operations if op.status == STATUS_OPEN)

    def dump(self) -> dict[str, Any]:
        return {u: b.dump() for u, b in self.bulks.items()}
