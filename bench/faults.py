"""Fault campaign (issue 19; reliability-tests.md rows 1-3): SIGKILL real `iec` processes, restart, check.

For each store backend (SQLite, PostgreSQL) and each trial, the catalog changes in Akeneo (the first trial is
the initial load of the whole catalog), then:
- sync: `iec sync --full` is SIGKILLed (its whole process group) after a random delay over a sync's length;
- diff: `iec sync --full` again, SIGKILLed at a random moment after its `catalog_diff` step started, or at a
  named crash point (`IEC_CRASH_AT`: diff.start, diff.before_commit, diff.after_commit);
- then a clean `iec sync --full`: every entity changed in Akeneo must have exactly ONE mutation from this
  trial and nothing else may have one;
- delivery: `iec deliver --wait` SIGKILLed after a random delay or at a named point (delivery.before_send,
  delivery.after_send, delivery.after_record), then a clean `iec deliver --wait` (the drain);
- receiver: `iec webhooks serve` SIGKILLed at a random moment while two senders post signed events (retrying
  each until a 2xx, as Akeneo does), then started again: every event acknowledged before the kill is stored.
After every trial's clean sync a reference store, synced from the same Akeneo by `iec sync --full` runs that
are never killed, must hold the same entity tables and values (`fetched_at` aside): "the store equals a clean
run's" after every kill and restart.

Counting at the target (two webhook integrations, one local target counting REQUESTS per Idempotency-Key),
over the whole campaign (a key sent in one trial and again in a later one counts):
- missing: a mutation without exactly one job per integration (the fan-out lost or doubled it), or a job the
  ledger holds as `success` whose key never got a 2xx;
- sent twice: a key that reached the target again after a kill left its job unrecorded (not `success` at the
  kill although its request had arrived: the kill fell between send and record). Allowed, once per such kill:
  the outcome of that write was unknown to IEC, so it is sent again with the same key and a careful target
  applies it once;
- applied twice: a key that reached the target more often than the kills that left it unrecorded after it
  was sent, plus one if its job is `success` (a resend after the record; a superseded job sent), or twice
  within one process, or a key no job has. A bug: the target always answers 200 at once (no timeout, no
  5xx), so no legitimate retry exists;
- stale: an (integration, entity) whose newest mutation is not `success`, or whose last request at the target
  is not that mutation;
- stuck: after the drain, a job neither `success` nor `superseded` (pending, running past its lease, dead), or
  a Dagster run IEC still counts as in progress (its process is dead: it would hold a slot forever).

`python -m bench faults [--trials N] [--backend sqlite|postgresql]`; the reduced version is tests/faults/.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid as uuidlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import select, text

SYNC_POINTS = ("diff.start", "diff.before_commit", "diff.after_commit")
DELIVERY_POINTS = ("delivery.before_send", "delivery.after_send", "delivery.after_record")
HOOK_SECRET = "faults-hook-secret-5c1d"
AKENEO_SECRET = "faults-akeneo-webhook-secret-0e7b"
INTEGRATIONS = ("shop", "erp")
SUBSCRIBED = ("attribute", "attribute_option", "family", "family_variant", "category", "product_model", "product")
# The diff step starts right after the last fetch (products) logs its count: the "diff" kills wait for it.
RUN_MARKER = " - dagster - INFO - "  # the run's first log line: the process has started Python and Dagster
DIFF_MARKER = re.compile(r"akeneo_products - product: [0-9,]+ fetched")
VOLATILE = {"fetched_at"}


class CampaignError(RuntimeError):
    """A process that must succeed did not: the campaign cannot go on."""


# --- the webhook target: counts requests per Idempotency-Key -----------------------------------------


@dataclass
class Hit:
    key: str
    integration: str
    entity_type: str
    entity_uuid: str
    mutation_id: int
    status: int


@dataclass
class TargetState:
    secret: bytes
    delay: float = 0.0
    hits: list[Hit] = field(default_factory=list)  # every signed request, in arrival order
    bad_signatures: int = 0
    in_flight: int = 0  # requests being handled (a request sent just before a kill may still be)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def counts(self, ok_only: bool = True) -> Counter:
        with self.lock:
            return Counter(h.key for h in self.hits if h.status < 300 or not ok_only)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A killed `iec deliver` leaves requests cut off (a truncated body fails its signature: 401, and the
        answer meets a closed socket): expected here, not worth a traceback."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class CountingTarget:
    """A webhook target in this process (it outlives every killed `iec deliver`): checks IEC's signature and
    counts every request per Idempotency-Key; always answers 200 after `delay`."""

    def __init__(self, secret: str, delay: float = 0.0) -> None:
        self.state = TargetState(secret.encode(), delay)
        state = self.state

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                with state.lock:
                    state.in_flight += 1
                try:
                    self._handle()
                finally:
                    with state.lock:
                        state.in_flight -= 1

            def _handle(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                expected = "sha256=" + hmac.new(state.secret, raw, hashlib.sha256).hexdigest()
                if not hmac.compare_digest(expected, self.headers.get("X-IEC-Signature", "")):
                    with state.lock:
                        state.bad_signatures += 1
                    return self._answer(401)
                body = json.loads(raw)
                if state.delay:
                    time.sleep(state.delay)
                hit = Hit(self.headers.get("Idempotency-Key", ""), self.headers.get("X-IEC-Integration", ""),
                          body.get("entity_type", ""), body.get("entity_uuid", ""), int(body.get("mutation_id") or 0),
                          200)  # fmt: skip
                with state.lock:
                    state.hits.append(hit)
                self._answer(200)

            def _answer(self, status: int) -> None:
                payload = b"{}"
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def settle(self, timeout: float = 10.0) -> None:
        """Waits until no request is being handled (one sent just before a kill is counted before going on)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.state.lock:
                if not self.state.in_flight:
                    return
            time.sleep(0.01)

    def url(self, integration: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook/{integration}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Ended:
    how: str  # "exit N", "crashed" (it killed itself at a named point) or "killed" (by the campaign)
    output: str
    startup: float | None  # seconds to its first log line
    after_diff_marker: float | None  # seconds from the diff marker to its end
    seconds: float


# --- the report -----------------------------------------------------------------------------------------


@dataclass
class Report:
    backend: str
    trials: Counter = field(default_factory=Counter)  # phase -> trials
    landed: Counter = field(default_factory=Counter)  # "phase: where the kill landed" -> kills
    mutations_checked: int = 0  # mutations checked against the changes made in Akeneo
    jobs_checked: int = 0  # (mutation, integration) jobs checked at the target after a drain
    sent_twice: int = 0
    applied_twice: int = 0
    missing: int = 0
    stale: int = 0
    stuck: int = 0
    wrong_mutations: int = 0
    store_differences: int = 0
    store_checks: int = 0  # comparisons with the clean reference store
    entities_compared: int = 0  # entity and value rows compared, over all comparisons
    events_acked: int = 0
    events_lost: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def kills(self) -> int:
        missed = ("finished before", "not reached")
        return sum(n for label, n in self.landed.items() if not any(m in label for m in missed))

    @property
    def ok(self) -> bool:
        return not (self.applied_twice or self.missing or self.stale or self.stuck or self.wrong_mutations
                    or self.store_differences or self.events_lost or self.problems)  # fmt: skip

    def problem(self, message: str) -> None:
        if len(self.problems) < 50:
            self.problems.append(message)

    def summary(self) -> str:
        lines = [
            f"faults [{self.backend}]: trials {dict(self.trials)}; {self.kills} kills in {self.seconds:.0f}s",
            "  kills landed: " + ", ".join(f"{k} {n}" for k, n in sorted(self.landed.items())),
            f"  mutations checked {self.mutations_checked}, wrong {self.wrong_mutations}; jobs checked "
            f"{self.jobs_checked}: missing {self.missing}, applied twice {self.applied_twice}, sent twice "
            f"{self.sent_twice} (allowed: unrecorded at the kill), stale {self.stale}, stuck {self.stuck}",
            f"  store vs clean reference: {self.store_checks} comparisons of {self.entities_compared} rows in all, "
            f"{self.store_differences} difference(s); receiver: {self.events_acked} events acknowledged, "
            f"{self.events_lost} lost",
            f"  {'OK' if self.ok else 'FAILED'}" + "".join(f"\n  - {p}" for p in self.problems),
        ]
        return "\n".join(lines)


# --- the campaign ---------------------------------------------------------------------------------------


def _store_rows(url: str) -> dict[str, str]:
    """Every entity (and its values) as a hash of its stored row, `fetched_at` aside."""
    from iec_pipeline.common.entity_types import ENTITY_TYPES
    from iec_pipeline.store.db import get_engine
    from iec_pipeline.store.models import ProductAttributeValue, entity_table

    rows: dict[str, str] = {}
    with get_engine(url).connect() as conn:
        for entity in ENTITY_TYPES:
            for row in conn.execute(select(entity_table(entity))).mappings():
                clean = {k: v for k, v in row.items() if k not in VOLATILE}
                rows[f"{entity.name}:{row['uuid']}"] = json.dumps(clean, sort_keys=True, default=str)
        values: dict[str, list] = defaultdict(list)
        for row in conn.execute(select(ProductAttributeValue.__table__)).mappings():
            values[row["entity_uuid"]].append({k: v for k, v in row.items() if k != "id"})
    for entity_uuid, found in values.items():
        found.sort(key=lambda r: (r["attribute_code"], r["channel"] or "", r["locale"] or ""))
        rows[f"values:{entity_uuid}"] = json.dumps(found, sort_keys=True, default=str)
    return {k: hashlib.sha256(v.encode()).hexdigest() for k, v in rows.items()}


class Campaign:
    """One backend's campaign; `run(trials)` returns its Report. Peers (Akeneo, the store) are given."""

    def __init__(
        self,
        workdir: Path,
        store_url: str,
        akeneo_url: str,
        credentials: dict[str, str],
        seed_url: str,
        backend: str,
        seed: int = 19,
        products: int = 120,
        changes: int = 30,
        target_delay: float = 0.003,
        queues: int = 2,
        split: bool = True,
        offset: int = 0,
        reference_every_trial: bool = True,
        log: Any = print,
    ) -> None:
        self.workdir = workdir
        self.store_url = store_url
        self.akeneo_url = akeneo_url
        self.credentials = credentials
        self.seed_url = seed_url
        self.rng = random.Random(seed)
        self.products = products
        self.changes = changes
        self.log = log
        self.split, self.offset = split, offset  # see `trial`; `offset` shifts which named points come first
        self.reference_every_trial = reference_every_trial  # else once, after the last trial
        self.report = Report(backend)
        self.target = CountingTarget(HOOK_SECRET, target_delay)
        self.spawned = 0
        self.next_product = products
        self.alive = set(range(products))
        self.allowed: Counter = Counter()  # key -> kills that left it unrecorded after its request arrived
        self.found: defaultdict[str, set] = defaultdict(set)  # "missing", "applied twice", ... -> what, counted once
        self.reference: tuple[str, dict[str, str]] | None = None  # (store URL, environment) of the clean runs
        # (seconds to the first log line, seconds in all) of the last clean run; the diff: (0, marker to end)
        self.estimates = {"sync": (3.0, 8.0), "diff": (0.0, 1.0), "deliver": (3.0, 6.0)}
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "logs").mkdir(exist_ok=True)
        integrations = [
            {"name": name, "driver": "webhook", "entity_types": list(SUBSCRIBED),
             "priority_map": {"*": 150, "price": 10} if queues == 2 else {"*": 150},
             "retry_attempts": 5, "retry_delay_seconds": 0.2,
             "configuration": {"url": self.target.url(name), "secret": {"env": "HOOK_SECRET"}, "timeout_seconds": 10}}
            for name in INTEGRATIONS
        ]  # fmt: skip
        (workdir / "integrations.yaml").write_text(yaml.safe_dump({"integrations": integrations}))
        self.env = self._environment(workdir, store_url)

    def _environment(self, where: Path, store_url: str) -> dict[str, str]:
        from iec_pipeline.common.settings import PROJECT_ROOT

        home = where / f"dagster_home_{uuidlib.uuid4().hex[:6]}"
        home.mkdir(parents=True)
        shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("IEC_", "AKENEO_", "DAGSTER_"))}
        return {
            **keep,
            "AKENEO_URL": self.akeneo_url,
            **self.credentials,
            "IEC_DATABASE_URL": store_url,
            "DAGSTER_HOME": str(home),
            "IEC_INTEGRATIONS": str(self.workdir / "integrations.yaml"),
            "IEC_MEDIA_DIR": str(where / "media"),
            "HOOK_SECRET": HOOK_SECRET,
            "AKENEO_WEBHOOK_SECRET": AKENEO_SECRET,
        }

    def close(self) -> None:
        self.target.stop()

    # --- processes ------------------------------------------------------------------------------------

    def _spawn(self, args: list[str], name: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, Path]:
        self.spawned += 1
        path = self.workdir / "logs" / f"{self.spawned:03d}-{name}.log"
        out = open(path, "wb")  # noqa: SIM115 - the child holds it
        process = subprocess.Popen(
            [sys.executable, "-m", "iec_pipeline.cli", *args], env=env or self.env, stdout=out, stderr=out,
            cwd=self.workdir, start_new_session=True,
        )  # fmt: skip
        out.close()
        return process, path

    @staticmethod
    def _kill(process: subprocess.Popen) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # the whole group: nothing it started survives it
        process.wait()

    def _run(
        self,
        args: list[str],
        name: str,
        env: dict[str, str] | None = None,
        crash_at: str | None = None,
        delay: float | None = None,
        after_marker: bool = False,
    ) -> Ended:
        """Runs `iec args` to its end, or kills it: `crash_at` (a named point: it kills itself), or SIGKILL to its
        process group after `delay` seconds (counted from the diff marker in its log with `after_marker`)."""
        environ = {**(env or self.env), **({"IEC_CRASH_AT": crash_at} if crash_at else {})}
        started = time.monotonic()
        process, path = self._spawn(args, name, environ)
        deadline = started + delay if delay is not None and not after_marker else None
        run_at = marker_at = None
        while process.poll() is None:
            now = time.monotonic()
            if now - started > 600:
                self._kill(process)
                raise CampaignError(f"`iec {' '.join(args)}` did not end within 600 s:\n{path.read_text()[-3000:]}")
            output = path.read_text(errors="replace")
            if run_at is None and RUN_MARKER in output:
                run_at = now
            if marker_at is None and DIFF_MARKER.search(output):
                marker_at = now
                if after_marker and delay is not None:
                    deadline = now + delay
            if deadline is not None and now >= deadline:
                self._kill(process)
                return Ended("killed", path.read_text(errors="replace"), None, None, time.monotonic() - started)
            time.sleep(0.005)
        ended = time.monotonic()
        self._kill(process)  # whatever it left behind in its group
        code = process.returncode
        return Ended(
            "crashed" if code == -signal.SIGKILL else f"exit {code}", path.read_text(errors="replace"),
            (run_at - started) if run_at else None, (ended - marker_at) if marker_at else None, ended - started,
        )  # fmt: skip

    def _clean(self, args: list[str], name: str, env: dict[str, str] | None = None) -> Ended:
        ended = self._run(args, name, env)
        if ended.how != "exit 0":
            raise CampaignError(f"`iec {' '.join(args)}` ended with {ended.how}:\n{ended.output[-3000:]}")
        return ended

    def _delay(self, command: str) -> float:
        """A random moment of a run: between its first log line (Python and Dagster started) and its end, as
        the last clean run of that command took."""
        startup, seconds = self.estimates[command]
        return self.rng.uniform(min(startup, seconds), 0.95 * seconds)  # a run is rarely quicker than the last

    # --- the store -----------------------------------------------------------------------------------

    def _engine(self):
        from iec_pipeline.store.db import get_engine

        return get_engine(self.store_url)

    def _last_mutation(self) -> int:
        try:
            with self._engine().connect() as conn:
                return conn.execute(text("SELECT COALESCE(MAX(id), 0) FROM mutations")).scalar_one()
        except Exception:  # no schema yet (the first sync was killed before creating it)
            return 0

    def _jobs(self) -> list[dict[str, Any]]:
        with self._engine().connect() as conn:
            rows = conn.execute(text(
                "SELECT id, mutation_id, integration, entity_uuid, status, lease_until FROM mutation_jobs"
            )).mappings()  # fmt: skip
            return [dict(r) for r in rows]

    # --- Akeneo --------------------------------------------------------------------------------------

    def _seeder(self):
        from devtools.sample_catalog import AkeneoSeeder

        return AkeneoSeeder(self.seed_url)

    def _load_catalog(self) -> None:
        from devtools.sample_catalog import generated_products

        with self._seeder() as seeder:
            seeder.seed()
            seeder.patch_products(generated_products(self.products))

    def _change_catalog(self, trial: int) -> dict[str, str]:
        """Updates, deletes and creates generated products; returns {entity uuid: expected operation}."""
        from devtools.sample_catalog import generated_products, prices, product_uuid

        expected: dict[str, str] = {}
        chosen = self.rng.sample(sorted(self.alive), min(self.changes, len(self.alive) - 1))
        gone, changed = chosen[0], chosen[1:]
        with self._seeder() as seeder:
            seeder.patch_products(
                {"identifier": f"gen-{n:07d}", "uuid": product_uuid(f"gen-{n:07d}"),
                 "values": {"price": prices(f"{500 + trial}.{i % 100:02d}", f"{600 + trial}.{i % 100:02d}")}}
                for i, n in enumerate(changed)
            )  # fmt: skip
            seeder.delete(f"products-uuid/{product_uuid(f'gen-{gone:07d}')}")
            seeder.patch_products(generated_products(1, start=self.next_product))
        for n in changed:
            expected[product_uuid(f"gen-{n:07d}")] = "updated"
        expected[product_uuid(f"gen-{gone:07d}")] = "deleted"
        expected[product_uuid(f"gen-{self.next_product:07d}")] = "created"
        self.alive.discard(gone)
        self.alive.add(self.next_product)
        self.next_product += 1
        return expected

    # --- one trial -------------------------------------------------------------------------------------

    def _mode(self, turn: int, points: tuple[str, ...]) -> str:
        """Every other turn a named point (each in turn), the others a random moment."""
        return points[(turn // 2) % len(points)] if turn % 2 else "random"

    def trial(self, trial: int) -> None:
        """One trial: Akeneo changes, kills during the sync and the diff, a clean sync (checked), a kill during
        delivery, the drain (checked). With `split` False, one killed sync a trial: the whole sync at random on
        even trials, the diff (at random or at a named point) on odd ones (the reduced campaign of the tests)."""
        before = self._last_mutation()
        expected = self._change_catalog(trial) if trial else None
        sync = ["sync", "--full"]
        if self.split or trial % 2 == 0:
            ended = self._run(sync, "sync-killed", delay=self._delay("sync"))
            self._landed("sync", self._sync_phase(ended.how, ended.output, before))
        if self.split or trial % 2 == 1:
            mode = self._mode(trial if self.split else trial // 2 + self.offset, SYNC_POINTS)
            if mode == "random":
                delay = self.rng.uniform(0, 0.6 * self.estimates["diff"][1])  # the run's end is not the diff
                ended = self._run(sync, "diff-killed", delay=delay, after_marker=True)
                self._landed("diff", self._sync_phase(ended.how, ended.output, before))
            else:
                how = self._run(sync, "diff-killed", crash_at=mode).how
                self._landed("diff", mode if how == "crashed" else f"{mode} not reached ({how})")
        clean = self._clean(sync, "sync")
        self.estimates["sync"] = (clean.startup or 0.0, clean.seconds)
        self.estimates["diff"] = (0.0, clean.after_diff_marker or self.estimates["diff"][1])
        self._check_mutations(before, expected)
        if self.reference_every_trial:
            self._check_reference()

        mode = self._mode(trial + 1 + self.offset, DELIVERY_POINTS)
        deliver = ["deliver", "--wait", "--timeout", "300"]
        counts_before = self.target.state.counts(ok_only=False)
        if mode == "random":
            how = self._run(deliver, "deliver-killed", delay=self._delay("deliver")).how
        else:
            how = self._run(deliver, "deliver-killed", crash_at=mode).how
        self.target.settle()
        counts_at_kill = self.target.state.counts(ok_only=False)
        jobs_at_kill = self._jobs()
        self._landed("delivery", self._delivery_phase(mode, how, jobs_at_kill, counts_before, counts_at_kill))
        self._allow_resends(jobs_at_kill, counts_before, counts_at_kill)
        clean = self._clean(deliver, "deliver")
        self.estimates["deliver"] = (clean.startup or 0.0, clean.seconds)
        self.target.settle()
        self._check_delivery(counts_before, counts_at_kill)

    def _landed(self, phase: str, where: str) -> None:
        self.report.trials[phase] += 1
        self.report.landed[f"{phase}: {where}"] += 1

    def _sync_phase(self, how: str, output: str, before: int) -> str:
        if how != "killed":
            return f"finished before the kill ({how})"
        if self._last_mutation() > before:
            return "after the diff committed"
        if DIFF_MARKER.search(output):
            return "in the diff"
        if " - akeneo_" in output:
            return "fetching"
        return "starting up"

    def _delivery_phase(self, mode: str, how: str, jobs: list[dict], before: Counter, at_kill: Counter) -> str:
        from drivers.webhook import idempotency_key

        if mode != "random":
            return mode if how == "crashed" else f"{mode} not reached ({how})"
        if how != "killed":
            return f"finished before the kill ({how})"
        sent = at_kill - before
        if not sent:
            return "before any request"
        unrecorded = [j for j in jobs if j["status"] == "running"
                      and sent[idempotency_key(j["integration"], j["mutation_id"])]]  # fmt: skip
        return "between send and record" if unrecorded else "between batches"

    # --- checks ------------------------------------------------------------------------------------------

    def _check_mutations(self, before: int, expected: dict[str, str] | None) -> None:
        report = self.report
        with self._engine().connect() as conn:
            found = conn.execute(
                text("SELECT entity_type, entity_uuid, operation FROM mutations WHERE id > :id"), {"id": before}
            ).all()
            stored = {r[0] for r in conn.execute(text("SELECT uuid FROM products"))}
        report.mutations_checked += len(found)
        per_entity = Counter((t, u) for t, u, _ in found)
        doubled = [k for k, n in per_entity.items() if n > 1]
        if doubled:
            report.wrong_mutations += len(doubled)
            report.problem(f"{len(doubled)} entities with more than one mutation in one trial, e.g. {doubled[:3]}")
        if expected is None:  # the initial load: one `created` per entity, and every stored product has one
            wrong = [(t, u, op) for t, u, op in found if op != "created"]
            unseen = stored - {u for t, u, _ in found if t == "product"}
        else:
            got = {u: op for t, u, op in found if t == "product"}
            wrong = [(t, u, op) for t, u, op in found if t != "product" or expected.get(u) != op]
            unseen = set(expected) - set(got)
        if wrong or unseen:
            report.wrong_mutations += len(wrong) + len(unseen)
            report.problem(f"mutations: {len(wrong)} unexpected (e.g. {wrong[:3]}), {len(unseen)} missing")

    def _allow_resends(self, jobs_at_kill: list[dict], before: Counter, at_kill: Counter) -> None:
        """A job not recorded as `success` at the kill although its request had arrived may be sent once more."""
        from drivers.webhook import idempotency_key

        for job in jobs_at_kill:
            key = idempotency_key(job["integration"], job["mutation_id"])
            if job["status"] != "success" and at_kill[key] > before[key]:
                self.allowed[key] += 1

    def _check_delivery(self, before: Counter, at_kill: Counter) -> None:
        """After a drain: every mutation routed once per integration, delivered, at most once more per kill
        that left it unrecorded, the newest of each entity last; nothing stuck (see the module docstring).
        What it finds is counted once however many later drains still see it."""
        from drivers.webhook import idempotency_key

        report, found = self.report, self.found
        final = self.target.state.counts(ok_only=False)
        ok = self.target.state.counts(ok_only=True)
        jobs = self._jobs()
        with self._engine().connect() as conn:
            mutations = [
                m
                for m in conn.execute(text("SELECT id, entity_type, entity_uuid FROM mutations"))
                if m[1] in SUBSCRIBED
            ]
        routed = Counter((j["integration"], j["mutation_id"]) for j in jobs)
        for mutation_id, _, _ in mutations:
            for integration in INTEGRATIONS:
                if routed[(integration, mutation_id)] != 1:
                    self._found(
                        "missing",
                        (integration, mutation_id),
                        f"{integration}: mutation {mutation_id} has {routed[(integration, mutation_id)]} jobs",
                    )
        report.jobs_checked = len(jobs)
        status = {idempotency_key(j["integration"], j["mutation_id"]): j for j in jobs}
        for job in jobs:
            key = idempotency_key(job["integration"], job["mutation_id"])
            if job["status"] not in ("success", "superseded"):
                self._found("stuck", job["id"], f"after the drain: job {job['id']} {job['status']} "
                                                f"lease {job['lease_until']}")  # fmt: skip
            elif job["status"] == "success" and not ok[key]:
                self._found("missing", key, f"at the target: job {job['id']} ({job['integration']})")
        sent_twice = 0
        for key, n in final.items():
            killed_run, restart = at_kill[key] - before[key], final[key] - at_kill[key]
            once = key in status and status[key]["status"] == "success"  # a superseded job is never sent itself
            if key not in status or n > once + self.allowed[key] or killed_run > 1 or restart > 1:
                self._found("applied twice", key, f"key {key[:12]}: {n} requests, {self.allowed[key]} resend(s) "
                            f"allowed, {killed_run} from the killed run, {restart} from the drain"
                            + ("" if key in status else ", no such job"))  # fmt: skip
            elif n > 1:
                sent_twice += n - 1
        report.sent_twice = sent_twice
        newest: dict[tuple[str, str], int] = {}
        for mutation_id, entity_type, entity_uuid in mutations:
            newest[(entity_type, entity_uuid)] = max(newest.get((entity_type, entity_uuid), 0), mutation_id)
        last: dict[tuple[str, str, str], int] = {}
        with self.target.state.lock:
            for hit in self.target.state.hits:
                last[(hit.integration, hit.entity_type, hit.entity_uuid)] = hit.mutation_id
        for (entity_type, entity_uuid), mutation_id in newest.items():
            for integration in INTEGRATIONS:
                job = status.get(idempotency_key(integration, mutation_id))
                got = last.get((integration, entity_type, entity_uuid))
                if got != mutation_id or job is None or job["status"] != "success":
                    self._found(
                        "stale",
                        (integration, mutation_id),
                        f"at {integration}: {entity_type} {entity_uuid} "
                        f"last got {got}, newest is {mutation_id} ({job['status'] if job else 'no job'})",
                    )
        self._stuck_runs()
        report.missing, report.applied_twice = len(found["missing"]), len(found["applied twice"])
        report.stale, report.stuck = len(found["stale"]), len(found["stuck"])

    def _found(self, kind: str, what: Any, message: str) -> None:
        if what not in self.found[kind]:
            self.found[kind].add(what)
            self.report.problem(f"{kind}: {message}")

    def _stuck_runs(self) -> None:
        """Dagster runs IEC counts as in progress (it skips those whose CLI process died): none after a drain."""
        import dagster as dg

        from iec_pipeline.common.runs import IN_PROGRESS, worker_alive

        instance = dg.DagsterInstance.from_config(self.env["DAGSTER_HOME"])
        try:
            runs = instance.get_runs(filters=dg.RunsFilter(statuses=IN_PROGRESS))
            stuck = [r for r in runs if worker_alive(r.tags.get("iec/worker")) is not False]
        finally:
            instance.dispose()
        for run in stuck:
            self._found("stuck", run.run_id, f"Dagster run {run.run_id} ({run.job_name}) still counted as in progress")

    def _check_reference(self) -> None:
        """A store synced from the same Akeneo by `iec sync --full` runs never killed must hold the same entities."""
        if self.reference is None:
            reference = self.workdir / "reference"
            reference.mkdir(exist_ok=True)
            url = f"sqlite:///{reference / 'iec.db'}"
            env = self._environment(reference, url)
            env["IEC_INTEGRATIONS"] = str(reference / "none.yaml")
            (reference / "none.yaml").write_text(yaml.safe_dump({"integrations": []}))
            self.reference = (url, env)
        url, env = self.reference
        self._clean(["sync", "--full"], "reference-sync", env)
        mine, theirs = _store_rows(self.store_url), _store_rows(url)
        self.report.store_checks += 1
        self.report.entities_compared += len(theirs)
        if not theirs:
            self.report.problem("the clean reference store is empty: nothing compared")
        differing = sorted(k for k in mine.keys() | theirs.keys() if mine.get(k) != theirs.get(k))
        self.report.store_differences += len(differing)
        if differing:
            self.report.problem(f"store differs from the clean reference: {len(differing)}, e.g. {differing[:5]}")

    # --- the receiver ------------------------------------------------------------------------------------

    def receiver_trials(self, trials: int, events_per_trial: int = 150) -> None:
        from devtools.ports import free_port

        report = self.report
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = self._serve(port)
        try:
            for _ in range(trials):
                events = [_signed_event(AKENEO_SECRET) for _ in range(events_per_trial)]
                senders = _Senders(url, events)
                senders.start()
                time.sleep(self.rng.uniform(0.05, 1.0))
                in_flight = senders.in_flight
                self._kill(server)
                acked_at_kill = set(senders.acked)
                report.trials["receiver"] += 1
                report.landed[f"receiver: {'mid-request' if in_flight else 'between requests'}"] += 1
                server = self._serve(port)
                stored = self._drops({e for e, _ in events})
                lost = acked_at_kill - stored
                report.events_acked += len(acked_at_kill)
                report.events_lost += len(lost)
                if lost:
                    report.problem(f"receiver: {len(lost)} acknowledged events missing after the restart")
                senders.finish(timeout=60)
                replayed = senders.replay(self.rng.sample(events, 10))
                stored = self._drops({e for e, _ in events})
                if stored != {e for e, _ in events} or replayed != 10 or senders.errors:
                    report.problem(f"receiver: {len(stored)}/{len(events)} stored after the retries, "
                                   f"{replayed}/10 replays acknowledged, {senders.errors[:3]}")  # fmt: skip
        finally:
            self._kill(server)

    def _serve(self, port: int) -> subprocess.Popen:
        process, path = self._spawn(["webhooks", "serve", "--port", str(port)], "receiver")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise CampaignError(f"the receiver exited {process.returncode}:\n{path.read_text()[-3000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    return process
            except httpx.HTTPError:
                time.sleep(0.05)
        self._kill(process)
        raise CampaignError("the receiver did not answer within 60 s")

    def _drops(self, ids: set[str]) -> set[str]:
        with self._engine().connect() as conn:
            rows = conn.execute(text("SELECT event_id FROM webhook_drops")).scalars().all()
        found = Counter(r for r in rows if r in ids)
        if any(n > 1 for n in found.values()):
            self.report.problem("receiver: an event stored twice")
        return set(found)

    # --- the whole campaign ------------------------------------------------------------------------------

    def run(self, trials: int, receiver_trials: int | None = None) -> Report:
        started = time.monotonic()
        try:
            self._load_catalog()
            for trial in range(trials):
                self.trial(trial)
                self.log(f"  [{self.report.backend}] trial {trial + 1}/{trials}: {self.report.kills} kills so far, "
                         f"{len(self.report.problems)} problem(s)")  # fmt: skip
            if not (self.reference_every_trial and trials):
                self._check_reference()
            self.receiver_trials(trials if receiver_trials is None else receiver_trials)
        except CampaignError as error:
            self.report.problem(str(error))
        finally:
            self.report.seconds = time.monotonic() - started
        return self.report


def _signed_event(secret: str) -> tuple[str, tuple[bytes, dict[str, str]]]:
    event_id = str(uuidlib.uuid4())
    body = json.dumps({
        "specversion": "1.0", "id": event_id, "source": "pim", "type": "com.akeneo.pim.v1.product.updated",
        "subject": "faults", "datacontenttype": "application/json",
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "data": {"product": {"uuid": str(uuidlib.uuid4())}, "author": {"identifier": "faults", "type": "api"}},
    }).encode()  # fmt: skip
    headers = {
        "Content-Type": "application/json",
        "X-AKENEO-SIGNATURE-PRIMARY": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
    }
    return event_id, (body, headers)


class _Senders:
    """Two threads posting events, each retried until it gets a 2xx (Akeneo retries too)."""

    def __init__(self, url: str, events: list[tuple[str, tuple[bytes, dict[str, str]]]]) -> None:
        self.url = url
        self.queue = list(events)
        self.acked: set[str] = set()
        self.errors: list[str] = []
        self.in_flight = 0
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._work, daemon=True) for _ in range(2)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def _work(self) -> None:
        with httpx.Client(base_url=self.url, timeout=10) as http:
            while True:
                with self.lock:
                    if not self.queue:
                        return
                    event_id, (body, headers) = self.queue.pop(0)
                    self.in_flight += 1
                try:
                    status = http.post("/webhooks/akeneo", content=body, headers=headers).status_code
                except httpx.HTTPError:
                    status = None
                with self.lock:
                    self.in_flight -= 1
                    if status is not None and status < 300:
                        self.acked.add(event_id)
                    else:
                        if status is not None and status not in (503,):
                            self.errors.append(f"HTTP {status}")
                        self.queue.append((event_id, (body, headers)))
                if status is None or status >= 300:
                    time.sleep(0.05)  # the receiver is restarting

    def finish(self, timeout: float) -> None:
        for thread in self.threads:
            thread.join(timeout)

    def replay(self, events: list[tuple[str, tuple[bytes, dict[str, str]]]]) -> int:
        with httpx.Client(base_url=self.url, timeout=10) as http:
            return sum(http.post("/webhooks/akeneo", content=b, headers=h).status_code == 200 for _, (b, h) in events)


# --- make bench ------------------------------------------------------------------------------------------


def _postgres_store(name: str) -> str:
    import psycopg

    from devtools import akeneo_mock

    akeneo_mock.ensure_database(name)
    with psycopg.connect(f"{akeneo_mock.DEFAULT_PG}/{name}", autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    import tempfile

    from bench.common import DATA
    from devtools import akeneo_mock

    parser = argparse.ArgumentParser(prog="python -m bench faults")
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], action="append")
    parser.add_argument("--products", type=int, default=300)
    args = parser.parse_args(argv or [])
    DATA.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    name = f"akeneo_iec_faults_{os.getpid()}"  # its own: two campaigns at once must not clear each other's Akeneo
    mock = akeneo_mock.start(name, log_path=str(DATA / "akeneo_iec_faults.log"))
    try:
        for backend in args.backend or ["sqlite", "postgresql"]:
            mock.clear()
            with tempfile.TemporaryDirectory(prefix=f"iec-faults-{backend}-") as directory:
                workdir = Path(directory)
                store = (
                    f"sqlite:///{workdir / 'iec.db'}"
                    if backend == "sqlite"
                    else _postgres_store(f"iec_faults_{os.getpid()}")
                )
                credentials = {"AKENEO_CLIENT_ID": "faults", "AKENEO_CLIENT_SECRET": "faults-secret",
                               "AKENEO_USERNAME": "faults", "AKENEO_PASSWORD": "faults-password"}  # fmt: skip
                campaign = Campaign(workdir, store, mock.url, credentials, mock.url, backend, products=args.products)
                try:
                    report = campaign.run(args.trials)
                finally:
                    campaign.close()
                print(report.summary(), flush=True)
                results[backend] = report
    finally:
        mock.stop()
        akeneo_mock.drop_database(name)
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
