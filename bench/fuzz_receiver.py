"""Receiver fuzzing (issue 19; reliability-tests.md rows 7-11): random and mutated requests against a running
`iec webhooks serve`.

Kinds of request (weights in KINDS): valid signed events of both schemes, replays of acknowledged ones,
valid events mutated at random and signed again (wrong types, missing fields, huge strings, unicode, deep
nesting), invalid JSON, deeply nested JSON, huge strings, bodies over the limit (declared, and chunked
without a length), wrong / altered / missing signatures and another algorithm, stale and malformed legacy
timestamps, wrong content types, bad Content-Length values, other methods and paths, valid events whose
body is trickled in pieces (within a bounded time, well under the receiver's 10 s), and requests cut off
mid-body. Every request goes over its own raw socket (so malformed HTTP can be sent).

Pass when: zero 5xx; every answer of a refusing kind is the 4xx it should be; the rows added to
`webhook_drops` are exactly the events acknowledged as stored (a refused request stores nothing, a replay
stores nothing); the receiver's RSS after the run is within RSS_GROWTH_MB of its RSS after a warm-up.

`python -m bench fuzz [--requests N] [--backend sqlite|postgresql]`; the reduced version is tests/faults/.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from bench.common import wait_healthy

SECRET = "fuzz-akeneo-webhook-secret-41c2"
OTHER_SECRET = "not-the-secret"
PATH = "/webhooks/akeneo"
LIMIT = 1024 * 1024  # the receiver's default body limit
RSS_GROWTH_MB = 64.0
SLOW_SECONDS = 1.5  # a trickled body takes at most this long (the receiver allows 10 s)

# kind -> (weight, acceptable statuses)
KINDS: dict[str, tuple[int, frozenset[int]]] = {
    "valid": (22, frozenset({200})),
    "valid_legacy": (5, frozenset({200})),
    "replay": (8, frozenset({200})),
    "mutated": (16, frozenset({200, 400})),
    "invalid_json": (9, frozenset({400})),
    "deep_nesting": (3, frozenset({400, 413})),  # past 1 MiB of brackets: 413
    "huge_string": (3, frozenset({200, 400})),  # a huge field the store keeps: 400; one it does not (source): 200
    "oversized": (2, frozenset({413})),
    "oversized_chunked": (1, frozenset({413})),
    "wrong_signature": (9, frozenset({401})),
    "missing_signature": (3, frozenset({401})),
    "other_algorithm": (2, frozenset({401})),
    "bad_timestamp": (3, frozenset({401})),
    "wrong_content_type": (5, frozenset({415})),
    "bad_content_length": (2, frozenset({400})),
    "wrong_route": (3, frozenset({404, 405})),
    "slow_body": (1, frozenset({200})),
    "cut_off": (3, frozenset({400, None})),  # the client goes away mid-body: no answer is fine
}


@dataclass
class Request:
    kind: str
    head: bytes
    parts: list[bytes]
    pause: float = 0.0  # between parts
    ids: frozenset[str] = frozenset()  # the event ids its body carries (for the store check)
    half_close: bool = False  # stop sending before the declared length, and wait for the answer


@dataclass
class FuzzReport:
    backend: str
    planned: int = 0
    requests: int = 0
    client_errors: list[str] = field(default_factory=list)  # the fuzzer's own failures: the run is void
    by_kind: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    five_xx: int = 0
    five_xx_errors: Counter = field(default_factory=Counter)  # (kind, the answer's "error") of each 5xx
    unexpected: Counter = field(default_factory=Counter)  # (kind, status) outside what that kind allows
    not_json_errors: int = 0  # 4xx from the app whose body is not {"error", "detail"}
    rows_before: int = 0
    rows_after: int = 0
    acknowledged_stored: int = 0  # sum of "stored" over the 2xx answers
    stored_unacknowledged: int = 0  # stored event ids no 2xx request carried
    rss_warm_mb: float = 0.0
    rss_after_mb: float = 0.0
    rss_peak_mb: float = 0.0
    seconds: float = 0.0
    receiver_alive: bool = True

    @property
    def ok(self) -> bool:
        return (self.requests == self.planned and not self.client_errors and not self.five_xx and not self.unexpected
                and not self.not_json_errors and self.receiver_alive
                and self.rows_after - self.rows_before == self.acknowledged_stored
                and not self.stored_unacknowledged
                and self.rss_after_mb - self.rss_warm_mb <= RSS_GROWTH_MB)  # fmt: skip

    def summary(self) -> str:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.by_kind.items()))
        statuses = ", ".join(f"{s} {n}" for s, n in sorted(self.statuses.items(), key=lambda x: str(x[0])))
        unexpected = ", ".join(f"{k}->{s} x{n}" for (k, s), n in self.unexpected.most_common(8)) or "none"
        return (
            f"receiver fuzz [{self.backend}]: {self.requests} requests in {self.seconds:.1f}s ({kinds})\n"
            f"  answers: {statuses}; 5xx {self.five_xx} {dict(self.five_xx_errors) or ''}; unexpected {unexpected}; "
            f"4xx not JSON {self.not_json_errors}\n"
            f"  webhook_drops {self.rows_before} -> {self.rows_after} (+{self.rows_after - self.rows_before}), "
            f"acknowledged as stored {self.acknowledged_stored}, stored without a 2xx {self.stored_unacknowledged}\n"
            f"  receiver RSS {self.rss_warm_mb:.1f} MB after warm-up -> {self.rss_after_mb:.1f} MB after "
            f"(peak {self.rss_peak_mb:.1f}; bound +{RSS_GROWTH_MB:.0f}); alive {self.receiver_alive}\n"
            f"  {'OK' if self.ok else 'FAILED'}"
            + (f" (fuzzer errors: {self.client_errors[:3]})" if self.client_errors else "")
        )


# --- building requests ------------------------------------------------------------------------------------


def _sign(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _head(headers: dict[str, str], method: str = "POST", path: str = PATH) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()  # non-ASCII header values go out as UTF-8 bytes


def _event(rng: random.Random) -> dict[str, Any]:
    kind, key = rng.choice([("product", "uuid"), ("product-model", "code"), ("category", "code")])
    subject = (
        {"uuid": str(uuid.UUID(int=rng.getrandbits(128)))} if key == "uuid" else {"code": f"c{rng.randrange(9999)}"}
    )
    return {
        "specversion": "1.0", "id": str(uuid.UUID(int=rng.getrandbits(128))), "source": "pim",
        "type": f"com.akeneo.pim.v1.{kind}.{rng.choice(['created', 'updated', 'deleted'])}", "subject": "fuzz",
        "datacontenttype": "application/json", "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "data": {kind.replace("-", "_"): subject, "author": {"identifier": "fuzz", "type": "api"}},
    }  # fmt: skip


def _legacy(rng: random.Random, count: int) -> dict[str, Any]:
    events = []
    for _ in range(count):
        identifier = f"sku-{rng.randrange(10**6)}"
        events.append({
            "action": f"product.{rng.choice(['created', 'updated', 'removed'])}", "event_id": str(uuid.uuid4()),
            "event_datetime": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()), "author": "fuzz",
            "author_type": "api", "pim_source": "https://pim.example",
            "data": {"resource": {"uuid": str(uuid.uuid4()), "identifier": identifier}},
        })  # fmt: skip
    return {"events": events}


def _platform(body: bytes, content_type: str = "application/json", **extra: str) -> bytes:
    return _head({"Content-Type": content_type, "Content-Length": str(len(body)),
                  "X-AKENEO-SIGNATURE-PRIMARY": _sign(body), **extra})  # fmt: skip


def _ids(value: Any) -> frozenset[str]:
    found: set[str] = set()

    def walk(v: Any, depth: int = 0) -> None:
        if depth > 50:
            return
        if isinstance(v, dict):
            for k, item in v.items():
                if k in ("id", "event_id") and isinstance(item, str | int | float):
                    found.add(str(item))
                walk(item, depth + 1)
        elif isinstance(v, list):
            for item in v:
                walk(item, depth + 1)

    walk(value)
    return frozenset(found)


_WEIRD: list[Any] = [None, 0, -1, 1e308, True, "", " ", "\u0000", "é\u202e\ud7ff", "🦄" * 50, [], {}, [1, [2]],
                     "x" * 300, {"uuid": None}, "../../etc/passwd", "'; DROP TABLE webhook_drops; --"]  # fmt: skip


def _mutate(rng: random.Random, event: dict[str, Any]) -> Any:
    """A valid event changed at 1-3 random places (or wrapped, or listed)."""
    for _ in range(rng.randint(1, 3)):
        target = event if rng.random() < 0.5 or not isinstance(event.get("data"), dict) else event["data"]
        keys = list(target)
        if not keys:
            break
        key = rng.choice(keys)
        action = rng.randrange(5)
        if action == 0:
            del target[key]
        elif action == 1:
            target[key] = rng.choice(_WEIRD)
        elif action == 2:
            target[rng.choice(["extra", "ïd", key.upper(), ""])] = rng.choice(_WEIRD)
        elif action == 3:
            target[key] = "y" * rng.choice([101, 256, 4096, 70_000])
        else:
            target[key] = {"nested": target[key]}
    roll = rng.random()
    if roll < 0.05:
        return [event]
    if roll < 0.1:
        return {"events": [event] * rng.randint(0, 12)}
    return event


def build(rng: random.Random, kind: str, acknowledged: list[bytes]) -> Request:
    if kind == "valid":
        event = _event(rng)
        body = json.dumps(event).encode()
        content_type = rng.choice(
            ["application/json", "application/cloudevents+json", "application/json; charset=utf-8"]
        )
        return Request(kind, _platform(body, content_type), [body], ids=_ids(event))
    if kind == "valid_legacy":
        payload = _legacy(rng, rng.randint(1, 3))
        body = json.dumps(payload).encode()
        stamp = str(int(time.time()))
        signature = _sign(stamp.encode() + b"." + body)
        head = _head({"Content-Type": "application/json", "Content-Length": str(len(body)),
                      "X-Akeneo-Request-Timestamp": stamp, "X-Akeneo-Request-Signature": signature})  # fmt: skip
        return Request(kind, head, [body], ids=_ids(payload))
    if kind == "replay":
        if not acknowledged:
            return build(rng, "valid", acknowledged)
        body = rng.choice(acknowledged)
        return Request(kind, _platform(body), [body], ids=_ids(json.loads(body)))
    if kind == "mutated":
        payload = _mutate(rng, _event(rng))
        body = json.dumps(payload).encode()
        return Request(kind, _platform(body), [body], ids=_ids(payload))
    if kind == "invalid_json":
        valid = json.dumps(_event(rng)).encode()
        body = rng.choice([
            valid[: rng.randrange(1, len(valid))], valid + b"}", b"", b"\xef\xbb\xbf" + valid,
            valid.replace(b'"', b"'"),
            bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 2000))), b"NaN", b"[1, 2,]", b'{"a": 1e99999}',
            valid.replace(b"{", b"\x00{", 1), b"\xff\xfe" + valid, b'"\\ud800"', b"{" * 3,
        ])  # fmt: skip
        return Request(kind, _platform(body), [body])
    if kind == "deep_nesting":
        depth = rng.choice([1_000, 10_000, 100_000, 400_000])
        body = (b'{"a":' * depth + b"1" + b"}" * depth) if rng.random() < 0.5 else (b"[" * depth + b"]" * depth)
        return Request(kind, _platform(body), [body])
    if kind == "huge_string":
        event = _event(rng)
        field_ = rng.choice(["id", "type", "subject", "source"])
        event[field_] = "z" * rng.choice([1_000, 100_000, LIMIT - 2_000])
        body = json.dumps(event).encode()
        return Request(kind, _platform(body), [body], ids=_ids(event))
    if kind == "oversized":
        size = rng.choice([LIMIT + 1, LIMIT * 4, 10**9])
        head = _head({"Content-Type": "application/json", "Content-Length": str(size),
                      "X-AKENEO-SIGNATURE-PRIMARY": "0" * 64})  # fmt: skip
        return Request(kind, head, [b"{" + b" " * 4095], half_close=True)  # the rest never follows
    if kind == "oversized_chunked":
        head = _head({"Content-Type": "application/json", "Transfer-Encoding": "chunked",
                      "X-AKENEO-SIGNATURE-PRIMARY": "0" * 64})  # fmt: skip
        chunk = 64 * 1024
        parts = [f"{chunk:x}\r\n".encode() + b" " * chunk + b"\r\n" for _ in range(LIMIT // chunk + 2)] + [b"0\r\n\r\n"]
        return Request(kind, head, parts)
    if kind in ("wrong_signature", "missing_signature", "other_algorithm", "wrong_content_type"):
        event = _event(rng)
        body = json.dumps(event).encode()
        good = _sign(body)
        headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
        if kind == "wrong_signature":
            flipped = good[:10] + ("0" if good[10] != "0" else "1") + good[11:]
            headers[rng.choice(["X-AKENEO-SIGNATURE-PRIMARY", "X-AKENEO-SIGNATURE-SECONDARY"])] = rng.choice([
                flipped, _sign(body, OTHER_SECRET), _sign(body + b" "), good[:-2], "", "sha256=" + good, "zz" * 32,
                good + "00", "é" * 8,
            ])  # fmt: skip
            if rng.random() < 0.3:  # the legacy header with a wrong signature
                headers = {"Content-Type": "application/json", "Content-Length": str(len(body)),
                           "X-Akeneo-Request-Timestamp": str(int(time.time())),
                           "X-Akeneo-Request-Signature": good}  # fmt: skip
        elif kind == "other_algorithm":
            headers["X-AKENEO-SIGNATURE-PRIMARY"] = good
            headers["X-AKENEO-SIGNATURE-ALGORITHM"] = rng.choice(["HmacSHA1", "HmacSHA512", "none", ""])
        elif kind == "wrong_content_type":
            headers["X-AKENEO-SIGNATURE-PRIMARY"] = good
            content_type = rng.choice(["text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                                       "application/xml", "json", None])  # fmt: skip
            if content_type is None:
                del headers["Content-Type"]
            else:
                headers["Content-Type"] = content_type
        return Request(kind, _head(headers), [body], ids=_ids(event))
    if kind == "bad_timestamp":
        payload = _legacy(rng, 1)
        body = json.dumps(payload).encode()
        stamp = rng.choice([str(int(time.time()) - 400), str(int(time.time()) + 400), "abc", "", "+1", "1e9", "-5",
                            str(int(time.time())) + ".5", "٣" * 10, None])  # fmt: skip
        headers = {"Content-Type": "application/json", "Content-Length": str(len(body)),
                   "X-Akeneo-Request-Signature": _sign((stamp or "").encode() + b"." + body)}  # fmt: skip
        if stamp is not None:
            headers["X-Akeneo-Request-Timestamp"] = stamp
        return Request(kind, _head(headers), [body], ids=_ids(payload))
    if kind == "bad_content_length":
        body = json.dumps(_event(rng)).encode()
        length = rng.choice(["abc", "-1", "+5", "1_0", "0x10", " ", "99999999999999999999"])
        head = _head({"Content-Type": "application/json", "Content-Length": length,
                      "X-AKENEO-SIGNATURE-PRIMARY": _sign(body)})  # fmt: skip
        return Request(kind, head, [body])
    if kind == "wrong_route":
        body = json.dumps(_event(rng)).encode()
        method, path = rng.choice([("PUT", PATH), ("DELETE", PATH), ("PATCH", PATH), ("POST", "/"),
                                   ("POST", "/webhooks"), ("POST", PATH + "/x"), ("POST", "/healthz")])  # fmt: skip
        return Request(kind, _head({"Content-Type": "application/json", "Content-Length": str(len(body)),
                                    "X-AKENEO-SIGNATURE-PRIMARY": _sign(body)}, method, path), [body])  # fmt: skip
    if kind == "slow_body":
        event = _event(rng)
        body = json.dumps(event).encode()
        pieces = rng.randint(3, 8)
        step = -(-len(body) // pieces)
        parts = [body[i : i + step] for i in range(0, len(body), step)]
        return Request(kind, _platform(body), parts, pause=SLOW_SECONDS / len(parts), ids=_ids(event))
    if kind == "cut_off":
        body = json.dumps(_event(rng)).encode()
        head = _head({"Content-Type": "application/json", "Content-Length": str(len(body) + 100),
                      "X-AKENEO-SIGNATURE-PRIMARY": _sign(body)})  # fmt: skip
        return Request(kind, head, [body[: rng.randrange(len(body))]], half_close=True)
    raise ValueError(kind)


# --- sending ----------------------------------------------------------------------------------------------


def exchange(port: int, request: Request, timeout: float = 20.0) -> tuple[int | None, bytes]:
    """Sends one request over a new connection; returns (status, body), status None without an answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(request.head)
            for i, part in enumerate(request.parts):
                if request.pause and i:
                    time.sleep(request.pause)
                sock.sendall(part)
            if request.half_close:
                sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the receiver answered early and closed (413): read what it said
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
            if b"\r\n\r\n" not in data:
                return None, data
            head, body = data.split(b"\r\n\r\n", 1)
            status = int(head.split(b" ", 2)[1])
            length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")[1:]
                           if line.lower().startswith(b"content-length:")), None)  # fmt: skip
            while length is not None and len(body) < length:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                body += chunk
            return status, body
        except (OSError, ValueError, IndexError):
            return None, data


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _start(workdir: Path, database_url: str, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IEC_", "AKENEO_", "DAGSTER_"))}
    env.update({"IEC_DATABASE_URL": database_url, "AKENEO_WEBHOOK_SECRET": SECRET,
                "DAGSTER_HOME": str(workdir)})  # fmt: skip
    log = open(workdir / "receiver.log", "wb")  # noqa: SIM115 - the child holds it
    process = subprocess.Popen([sys.executable, "-m", "iec_pipeline.cli", "webhooks", "serve", "--port", str(port)],
                               env=env, stdout=log, stderr=log, cwd=workdir)  # fmt: skip
    log.close()
    return wait_healthy(process, f"http://127.0.0.1:{port}/healthz", workdir / "receiver.log", timeout=60)


def _stored(database_url: str) -> list[str]:
    from iec_pipeline.store.db import get_engine

    with get_engine(database_url).connect() as conn:
        return list(conn.execute(text("SELECT event_id FROM webhook_drops")).scalars())


def fuzz(workdir: Path, database_url: str, requests: int, seed: int = 19, backend: str = "sqlite",
         concurrency: int = 4, warmup: int = 200) -> FuzzReport:  # fmt: skip
    """Starts `iec webhooks serve` on `database_url`, sends `requests` requests, stops it; the report."""
    from devtools.ports import free_port

    report = FuzzReport(backend, planned=requests)
    rng = random.Random(seed)
    names = list(KINDS)
    weights = [KINDS[k][0] for k in names]
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    process = _start(workdir, database_url, port)
    before = set(_stored(database_url))
    report.rows_before = len(before)
    acknowledged: list[bytes] = []  # bodies of stored events, for replays
    accepted_ids: set[str] = set()
    lock = threading.Lock()
    plan = [rng.choices(names, weights)[0] for _ in range(requests)]
    slow = [i for i, kind in enumerate(plan) if kind == "slow_body"]
    fast = [i for i, kind in enumerate(plan) if kind != "slow_body"]
    queue = {"fast": fast[:], "slow": slow[:]}
    sent = [0]
    started = time.monotonic()

    def worker(lane: str, seed_: int) -> None:
        local = random.Random(seed_)
        while True:
            with lock:
                if not queue[lane]:
                    return
                index = queue[lane].pop(0)
                try:
                    request = build(local, plan[index], acknowledged)
                except Exception as error:
                    report.client_errors.append(f"building {plan[index]}: {error!r}")
                    continue
            try:
                status, body = exchange(port, request)
            except Exception as error:
                with lock:
                    report.client_errors.append(f"sending {request.kind}: {error!r}")
                continue
            allowed = KINDS[request.kind][1]
            with lock:
                sent[0] += 1
                report.by_kind[request.kind] += 1
                report.statuses[status] += 1
                if status is not None and status >= 500:
                    report.five_xx += 1
                    try:
                        report.five_xx_errors[(request.kind, json.loads(body).get("error"))] += 1
                    except (ValueError, AttributeError):
                        report.five_xx_errors[(request.kind, body[:80])] += 1
                if status not in allowed:
                    report.unexpected[(request.kind, status)] += 1
                if status is not None and 400 <= status < 500 and request.kind != "bad_content_length":
                    try:
                        shape = set(json.loads(body))
                    except ValueError:
                        shape = set()
                    if shape != {"error", "detail"}:
                        report.not_json_errors += 1
                if status == 200:
                    answer = json.loads(body)
                    report.acknowledged_stored += answer["stored"]
                    accepted_ids.update(request.ids)
                    if request.kind == "valid" and answer["stored"]:
                        acknowledged.append(request.parts[0])

    def sampler(stop: threading.Event) -> None:
        while not stop.wait(0.1):
            try:
                rss = _rss_mb(process.pid)
            except OSError:
                return
            report.rss_peak_mb = max(report.rss_peak_mb, rss)
            if not report.rss_warm_mb and sent[0] >= min(warmup, requests // 4):
                report.rss_warm_mb = rss

    stop = threading.Event()
    threads = [threading.Thread(target=worker, args=("fast", seed * 100 + i)) for i in range(concurrency)]
    threads += [threading.Thread(target=worker, args=("slow", seed * 1000 + i)) for i in range(4)]
    threads.append(threading.Thread(target=sampler, args=(stop,)))
    try:
        for thread in threads:
            thread.start()
        for thread in threads[:-1]:
            thread.join()
        report.rss_after_mb = _rss_mb(process.pid)
        report.rss_warm_mb = report.rss_warm_mb or report.rss_after_mb
        report.receiver_alive = process.poll() is None and httpx.get(f"http://127.0.0.1:{port}/healthz").is_success
    finally:
        stop.set()
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    report.seconds = time.monotonic() - started
    report.requests = sent[0]
    after = _stored(database_url)
    report.rows_after = len(after)
    report.stored_unacknowledged = len(set(after) - before - accepted_ids)
    return report


def main(argv: list[str] | None = None) -> dict[str, Any]:
    import tempfile

    parser = argparse.ArgumentParser(prog="python -m bench fuzz")
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], action="append")
    args = parser.parse_args(argv or [])
    results = {}
    for backend in args.backend or ["sqlite", "postgresql"]:
        with tempfile.TemporaryDirectory(prefix=f"iec-fuzz-{backend}-") as directory:
            if backend == "sqlite":
                url = f"sqlite:///{Path(directory) / 'iec.db'}"
            else:
                from bench.faults import _postgres_store

                url = _postgres_store("iec_fuzz")
            report = fuzz(Path(directory), url, args.requests, backend=backend)
            print(report.summary(), flush=True)
            results[backend] = report
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
