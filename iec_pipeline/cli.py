"""`iec`: the command line of IEC on Dagster.

Every command reads its configuration from the environment (see README and .env.example; a
`.env` file in the current directory is read too) and upgrades the store schema before use.
`--json` output shapes are contracts other tooling relies on.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}
_exits_after_command = False  # set by `run` (the console script); not when `main` is called in a test


def command(name: str) -> Callable[[Callable[[argparse.Namespace], int]], Callable[[argparse.Namespace], int]]:
    def register(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        COMMANDS[name] = fn
        return fn

    return register


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def _store_url() -> str:
    from iec_pipeline.settings import Settings
    from iec_pipeline.store import db

    url = Settings.from_env().database_url
    db.upgrade(url)
    return url


def _instance():
    import dagster as dg

    from iec_pipeline.settings import ensure_dagster_home

    ensure_dagster_home()
    return dg.DagsterInstance.get()


# --- store and sync ------------------------------------------------------------------------------


@command("db upgrade")
def db_upgrade(args: argparse.Namespace) -> int:
    from iec_pipeline.settings import Settings
    from iec_pipeline.store import db

    url = Settings.from_env().database_url
    db.upgrade(url)
    print(f"store schema is up to date ({db.get_engine(url).url.render_as_string(hide_password=True)})")
    return 0


def _parse_refresh(values: Sequence[str]) -> dict[str, list[str]]:
    from iec_pipeline.catalog.entities import NAMES

    keys: dict[str, list[str]] = {}
    for value in values:
        entity_type, sep, listed = value.partition("=")
        if not sep or entity_type not in NAMES or not listed:
            raise SystemExit(f"iec sync: --refresh expects TYPE=KEY[,KEY...] with TYPE one of {', '.join(NAMES)}")
        keys.setdefault(entity_type, []).extend(k for k in listed.split(",") if k)
    return keys


@command("sync")
def sync(args: argparse.Namespace) -> int:
    from iec_pipeline.heap import full_collections_put_off_for_process

    if _exits_after_command:  # a sync is this process's one job: no full collection before it ends
        full_collections_put_off_for_process()
    from iec_pipeline.sync_runs import run_sync

    _store_url()
    mode = "refresh" if args.refresh else ("full" if args.full else "incremental")
    keys = _parse_refresh(args.refresh or [])
    try:
        outcome = run_sync(
            _instance(),
            mode=mode,
            entity_types=args.entity,
            keys=keys,
            log_level="WARNING" if args.json else "INFO",
        )
    except ValueError as error:
        print(f"iec sync: {error}", file=sys.stderr)
        return 2
    if args.json:
        _print_json(outcome.as_json())
    else:
        fetched = ", ".join(f"{n:,} {t}" for t, n in outcome.fetched.items()) or "nothing"
        changes = ", ".join(f"{n:,} {op}" for op, n in outcome.mutations.items() if n) or "no change"
        status = "succeeded" if outcome.success else "FAILED"
        print(f"\nsync ({mode}) {status} in {outcome.seconds:.1f}s, run {outcome.run_id}")
        print(f"  fetched:   {fetched}")
        print(f"  mutations: {changes}")
        for error in outcome.errors:
            print(f"  error: {error}", file=sys.stderr)
    return 0 if outcome.success else 1


@command("status")
def status(args: argparse.Namespace) -> int:
    from iec_pipeline.store.queries import store_status

    report = store_status(_store_url())
    if args.json:
        _print_json(report)
    else:
        for section, values in report.items():
            print(f"{section}:")
            for key, value in values.items():
                print(f"  {key:<18} {value}")
    return 0


@command("mutations")
def mutations(args: argparse.Namespace) -> int:
    from iec_pipeline.store.queries import list_mutations

    rows = list_mutations(_store_url(), since=args.since, entity_type=args.entity_type, limit=args.limit)
    if args.json:
        _print_json(rows)
    else:
        for row in rows:
            fields = ", ".join(row["changed_fields"][:8]) + ("…" if len(row["changed_fields"]) > 8 else "")
            print(f"{row['id']:>8} {row['operation']:<8} {row['entity_type']:<17} {row['code']:<32} {fields}")
    return 0


# --- integrations and delivery --------------------------------------------------------------------


def _integrations_or_exit():
    from iec_pipeline import integrations
    from iec_pipeline.settings import Settings

    path = Settings.from_env().integrations_file
    try:
        return integrations.load(path)
    except integrations.IntegrationConfigError as error:
        print(f"{path}: {len(error.problems)} problem(s):", file=sys.stderr)
        for problem in error.problems:
            print(f"  - {problem}", file=sys.stderr)
        raise SystemExit(1) from None


@command("integrations validate")
def integrations_validate(args: argparse.Namespace) -> int:
    from iec_pipeline.settings import Settings

    loaded = _integrations_or_exit()
    path = Settings.from_env().integrations_file
    if not path.exists():
        print(f"{path} does not exist: no integrations declared")
    for item in loaded:
        state = "enabled" if item.spec.enabled else "disabled"
        print(f"ok  {item.name:<20} driver {item.spec.driver:<10} {state}, {len(item.spec.entity_types)} entity types")
    return 0


@command("integrations list")
def integrations_list(args: argparse.Namespace) -> int:
    from iec_pipeline.store.queries import job_counts

    loaded = _integrations_or_exit()
    counts = job_counts(_store_url())
    rows = [
        {
            "name": i.name,
            "driver": i.spec.driver,
            "enabled": i.spec.enabled,
            "scope": i.spec.scope,
            "entity_types": i.spec.entity_types,
            "jobs": counts.get(i.name, {}),
        }  # fmt: skip
        for i in loaded
    ]
    if args.json:
        _print_json(rows)
    else:
        for row in rows:
            print(
                f"{row['name']:<20} {row['driver']:<10} {'enabled' if row['enabled'] else 'disabled':<9} {row['jobs']}"
            )
    return 0


@command("drivers")
def drivers_list(args: argparse.Namespace) -> int:
    from drivers import registry

    described = [driver.describe() for driver in registry.discover().values()]
    if args.json:
        _print_json({"drivers": described, "failed_to_load": registry.broken()})
        return 0
    for d in described:
        print(f"{d['name']} {d['version']} ({d['type']}): {d['description']}")
        print(f"  entity types: {', '.join(d['entity_types'])}")
        hooks = ", ".join(f"{h['point']} -> {h['method']} ({h['mode']})" for h in d["hooks"]) or "none"
        print(f"  hooks: {hooks}")
        print("  configuration:")
        for f in d["configuration"]:
            flags = ("required" if f["required"] else f"default {f['default']!r}") + (
                ", secret: {env: NAME}" if f["secret"] else ""
            )
            print(f"    {f['name']:<22} {f['type']:<18} {flags} - {f['description']}")
    for name, reason in registry.broken().items():
        print(f"{name}: FAILED TO LOAD: {reason}", file=sys.stderr)
    return 0


@command("deliver")
def deliver(args: argparse.Namespace) -> int:
    from iec_pipeline import integrations
    from iec_pipeline.delivery_runs import deliver_due
    from iec_pipeline.store.db import get_engine

    declared = _integrations_or_exit()
    url = _store_url()
    engine = get_engine(url)
    with engine.begin() as conn:
        integrations.sync_to_store(conn, declared)
    outcome = deliver_due(
        _instance(), engine, integration=args.integration, wait=args.wait, timeout=args.timeout,
        on_progress=lambda message: print(message, flush=True),
    )  # fmt: skip
    print(
        f"delivery: {len(outcome.runs)} run(s), {outcome.delivered} delivered, {outcome.open_jobs} job(s) still open"
        + (", TIMED OUT" if outcome.timed_out else "")
    )
    for run_id in outcome.failed_runs:
        print(f"run {run_id} failed (see it in the Dagster UI)", file=sys.stderr)
    return 1 if outcome.failed_runs or outcome.timed_out else 0


@command("jobs")
def jobs(args: argparse.Namespace) -> int:
    from iec_pipeline.store.queries import list_jobs

    if args.jobs_command == "retry":
        return jobs_retry(args)
    rows = list_jobs(_store_url(), status=args.status, integration=args.integration, limit=args.limit)
    if args.json:
        _print_json(rows)
    else:
        for r in rows:
            error = f"  {r['last_error'][:80]}" if r["last_error"] else ""
            where = f"{r['queue']:<22} {r['entity_type']:<16} {r['code']}"
            print(f"{r['id']:>8} {r['integration']:<14} {r['status']:<10} {where}{error}")
    return 0


def jobs_retry(args: argparse.Namespace) -> int:
    from iec_pipeline.delivery import mutation_jobs as ledger
    from iec_pipeline.store.db import get_engine

    if not args.dead:
        print("iec jobs retry: say which jobs: --dead", file=sys.stderr)
        return 2
    with get_engine(_store_url()).begin() as conn:
        count = ledger.retry_dead(conn, args.integration)
    print(f"{count} dead job(s) pending again")
    return 0


@command("connections")
def connections(args: argparse.Namespace) -> int:
    from iec_pipeline import connections as links

    url = _store_url()
    if args.connections_command == "list":
        rows = links.list_connections(url, args.integration)
        if args.json:
            _print_json(rows)
        else:
            for r in rows:
                print(f"{r['integration']:<20} {r['entity_type']:<16} {r['code']}")
        return 0
    try:
        if args.connections_command == "add":
            n = links.add(url, args.integration, args.entity_type, args.codes)
            print(f"{n} connection(s) to {args.integration}")
        else:
            n = links.remove(url, args.integration, args.entity_type, args.codes)
            print(f"{n} connection(s) removed from {args.integration}")
    except LookupError as error:
        print(f"iec connections: {error}", file=sys.stderr)
        return 1
    return 0


# --- webhooks ------------------------------------------------------------------------------------


@command("webhooks serve")
def webhooks_serve(args: argparse.Namespace) -> int:
    from iec_pipeline.webhooks.receiver import WebhookConfigError, serve

    try:
        serve(args.host, args.port, database_url=_store_url())
    except WebhookConfigError as error:
        print(f"iec webhooks serve: {error}", file=sys.stderr)
        return 2
    return 0


@command("webhooks subscribe")
def webhooks_subscribe(args: argparse.Namespace) -> int:
    import os

    from iec_pipeline.resources.akeneo import AkeneoError
    from iec_pipeline.webhooks.subscribe import subscribe

    needed = ("AKENEO_URL", "AKENEO_CLIENT_ID", "AKENEO_CLIENT_SECRET", "AKENEO_USERNAME", "AKENEO_PASSWORD",
              "AKENEO_WEBHOOK_SECRET")  # fmt: skip
    missing = [name for name in needed if not os.environ.get(name)]
    if missing:
        print(f"iec webhooks subscribe: set {', '.join(missing)} in the environment", file=sys.stderr)
        return 2
    try:
        created = subscribe(
            os.environ["AKENEO_URL"], os.environ["AKENEO_CLIENT_ID"], os.environ["AKENEO_CLIENT_SECRET"],
            os.environ["AKENEO_USERNAME"], os.environ["AKENEO_PASSWORD"], target_url=args.url,
            secret=os.environ["AKENEO_WEBHOOK_SECRET"],
            secondary_secret=os.environ.get("AKENEO_WEBHOOK_SECRET_SECONDARY") or None,
        )  # fmt: skip
    except AkeneoError as error:
        print(f"iec webhooks subscribe: {error}", file=sys.stderr)
        return 1
    _print_json(created)
    return 0


@command("drops")
def drops(args: argparse.Namespace) -> int:
    from iec_pipeline.webhooks.drops import list_drops

    rows = list_drops(_store_url(), args.since, args.limit)
    if args.json:
        _print_json(rows)
    else:
        for r in rows:
            entity = f"{r['entity_type'] or '-':<16} {r['code_or_uuid'] or ''}"
            print(f"{r['id']:>8} {r['status']:<10} {r['type']:<48} {entity}")
    return 0


@command("sandbox magento")
def sandbox_magento(args: argparse.Namespace) -> int:
    from sandbox.magento.server import serve

    print(f"Magento 2 sandbox on http://{args.host}:{args.port}/rest (bearer token: {args.token})", flush=True)
    serve(host=args.host, port=args.port, token=args.token, admin_username=args.admin_username,
          admin_password=args.admin_password, store_views=args.store_views.split(","),
          write_delay_ms=args.write_delay_ms)  # fmt: skip
    return 0


# --- Dagster processes ----------------------------------------------------------------------------


def _dagster_command(args: list[str]) -> int:
    import os

    from iec_pipeline.settings import PROJECT_ROOT, ensure_dagster_home

    home = ensure_dagster_home()
    _store_url()
    workspace = PROJECT_ROOT / "workspace.yaml"
    command = [str(Path(sys.executable).parent / args[0]), *args[1:], "-w", str(workspace)]
    print(f"DAGSTER_HOME={home}; {' '.join(command)}", flush=True)
    # Become the Dagster process: signals (Ctrl-C, SIGTERM from a supervisor) reach it directly.
    os.execve(command[0], command, {**os.environ, "DAGSTER_HOME": str(home)})
    return 1  # not reached


@command("daemon")
def daemon(args: argparse.Namespace) -> int:
    """The Dagster daemon for this project: sensors (delivery, drops), schedules, the run queue."""
    return _dagster_command(["dagster-daemon", "run"])


@command("ui")
def ui(args: argparse.Namespace) -> int:
    """`dagster dev`: webserver and daemon, with the project's DAGSTER_HOME (kept between sessions)."""
    return _dagster_command(["dagster", "dev", "--host", args.host, "--port", str(args.port)])


# --- parser --------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    from iec_pipeline.catalog.entities import NAMES

    parser = argparse.ArgumentParser(
        prog="iec",
        description="IEC on Dagster: Akeneo PIM -> local store -> mutations -> integrations (Magento 2, webhooks).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    db = sub.add_parser("db", help="store schema").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="create or upgrade the store schema (Alembic migrations)")

    p = sub.add_parser("sync", help="fetch from Akeneo and apply the changes as mutations (a Dagster run)")
    p.add_argument("--full", action="store_true", help="fetch everything; the only way to find deletions")
    p.add_argument(
        "--entity",
        action="extend",
        nargs="+",
        choices=NAMES,
        metavar="TYPE",
        help=f"only these types, e.g. --entity product product_model ({', '.join(NAMES)})",
    )
    p.add_argument(
        "--refresh", action="append", metavar="TYPE=KEY,...", help="fetch exactly these entities (uuids for products)"
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")

    p = sub.add_parser("status", help="what the store holds")
    p.add_argument("--json", action="store_true", help='{"store": {"product": N, ...}, ...}')

    p = sub.add_parser("mutations", help="the mutation log")
    p.add_argument("--since", type=int, default=None, metavar="ID", help="only ids greater than ID")
    p.add_argument("--entity-type", choices=NAMES, default=None, metavar="T")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument(
        "--json",
        action="store_true",
        help="JSON array of {id, entity_type, entity_uuid, code, operation, changed_fields, created_at}",
    )

    integrations = sub.add_parser("integrations", help="the integrations declared in $IEC_INTEGRATIONS")
    isub = integrations.add_subparsers(dest="integrations_command", required=True)
    isub.add_parser("validate", help="check the file against each driver's configuration; exit 1 on any problem")
    p = isub.add_parser("list", help="declared integrations and their job counts")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser(
        "drivers", help="installed drivers (entry points iec.drivers): entity types, hooks, configuration"
    )
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("deliver", help="launch delivery runs for due jobs (the same Dagster job the sensor launches)")
    p.add_argument("--wait", action="store_true", help="keep going through scheduled retries until no job is open")
    p.add_argument("--integration", metavar="NAME", help="only this integration")
    p.add_argument("--timeout", type=float, default=600.0, metavar="S", help="give up waiting after S seconds (600)")

    p = sub.add_parser("jobs", help="mutation jobs (one per mutation and integration)")
    p.add_argument("jobs_command", nargs="?", choices=["retry"], help="retry: requeue jobs (with --dead)")
    p.add_argument("--status", choices=["pending", "running", "success", "failed", "dead", "superseded"])
    p.add_argument("--integration", metavar="NAME")
    p.add_argument("--dead", action="store_true", help="with retry: requeue dead jobs")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument(
        "--json",
        action="store_true",
        help="JSON array of {id, mutation_id, integration, entity_type, code, operation, status, priority, queue,"
        " attempts, last_error}",
    )

    connections = sub.add_parser("connections", help="entities connected to integrations with scope: connected")
    csub = connections.add_subparsers(dest="connections_command", required=True)
    for name, text in (("add", "connect entities"), ("remove", "disconnect entities")):
        p = csub.add_parser(name, help=text)
        p.add_argument("integration", metavar="INTEGRATION")
        p.add_argument("entity_type", choices=NAMES, metavar="ENTITY_TYPE")
        p.add_argument("codes", nargs="+", metavar="CODE", help="codes (products: identifier or uuid)")
    webhooks = sub.add_parser("webhooks", help="the Akeneo webhook receiver")
    wsub = webhooks.add_subparsers(dest="webhooks_command", required=True)
    p = wsub.add_parser("serve", help="receive Akeneo events (Event Platform and Events API) at POST /webhooks/akeneo")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8077)
    p = wsub.add_parser("subscribe", help="create the Event Platform subscriber and subscription in Akeneo")
    p.add_argument("--url", required=True, help="the public URL of POST /webhooks/akeneo")

    p = sub.add_parser("drops", help="webhook events received (drops) and their status")
    p.add_argument("--since", type=int, default=None, metavar="ID")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument(
        "--json",
        action="store_true",
        help="JSON array of {id, event_id, type, entity_type, code_or_uuid, received_at, status}",
    )

    sandbox = sub.add_parser("sandbox", help="local stand-ins for real targets")
    ssub = sandbox.add_subparsers(dest="sandbox_command", required=True)
    p = ssub.add_parser("magento", help="the Magento 2.4 REST sandbox (validates every body against the 2.4.8 spec)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8088)
    p.add_argument("--token", default="sandbox-token", help="the integration access token it accepts")
    p.add_argument("--admin-username", default="admin")
    p.add_argument("--admin-password", default="sandbox-password")
    p.add_argument("--store-views", default="default,fr,de", help="comma-separated store view codes")
    p.add_argument("--write-delay-ms", type=int, default=0, help="every write waits this long (Magento is slow)")

    sub.add_parser("daemon", help="run the Dagster daemon (sensors, schedules, run queue) for this project")
    p = sub.add_parser("ui", help="dagster dev for this project: webserver + daemon")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3000)

    p = csub.add_parser("list", help="list connections")
    p.add_argument("--integration", metavar="NAME")
    p.add_argument("--json", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from dotenv import load_dotenv

    load_dotenv(".env", override=False)
    args = build_parser().parse_args(argv)
    name = args.command
    if name == "db":
        name = f"db {args.db_command}"
    elif name == "integrations":
        name = f"integrations {args.integrations_command}"
    elif name == "webhooks":
        name = f"webhooks {args.webhooks_command}"
    elif name == "sandbox":
        name = f"sandbox {args.sandbox_command}"
    return COMMANDS[name](args)


def run() -> NoReturn:
    """The `iec` console script: `main`, then a prompt exit.

    When a command returns, its work is written and its runs are closed; a normal interpreter
    exit would then free Dagster's long-lived objects one by one (~0.6 s after every command).
    Output is flushed and store connections closed first; an error leaves the normal way.
    """
    global _exits_after_command
    _exits_after_command = True
    code = main()
    store = sys.modules.get("iec_pipeline.store.db")  # only a command that opened the store has engines
    if store is not None:
        store.dispose_all()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError):  # a closed pipe (`iec ... | head`): nothing more to say
            stream.flush()
    os._exit(int(code or 0))


if __name__ == "__main__":
    run()
