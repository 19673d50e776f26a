"""`iec integrations`, `iec drivers`, `iec connections`: who receives what."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable

from iec_pipeline.cli.shared import integrations_or_exit, print_json, store_url
from iec_pipeline.common.entity_types import NAMES


def add_parsers(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser("integrations", help="the integrations declared in $IEC_INTEGRATIONS")
    isub = group.add_subparsers(dest="integrations_command", required=True)
    isub.add_parser(
        "validate", help="check the file against each driver's configuration; exit 1 on any problem"
    ).set_defaults(handler=validate)
    p = isub.add_parser("list", help="declared integrations and their job counts")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=list_integrations)
    p = isub.add_parser(
        "replay",
        help="send the current catalog again to one integration: a job per current entity, structure first",
        description="Queues one job per current entity of the integration's types (and scope), carrying its full "
        "current state, in dependency order; entities with an open job for it get none (so a second replay while "
        "the first is pending adds nothing). The delivery sensor (or `iec deliver`) then sends them.",
    )
    p.add_argument("integration", metavar="NAME")
    p.add_argument("--entity-type", action="append", choices=NAMES, metavar="TYPE", help="only these types (repeat)")
    p.add_argument("--since", metavar="ISO8601", help="only entities with a mutation since then (e.g. 2026-12-01)")
    p.add_argument("--priority", type=int, metavar="N", help="the jobs' priority (default: the integration's `*`)")
    p.add_argument("--json", action="store_true", help='{"jobs": N, "by_entity_type": {...}, "already_open": N}')
    p.set_defaults(handler=replay)
    p = isub.add_parser(
        "verify",
        help="read the integration's target back (GETs only) and report what differs from the store",
        description="Drift per entity and store view: missing, extra, or different fields with both values. "
        "--repair queues jobs that send the store's state again (extras are only reported).",
    )
    p.add_argument("integration", metavar="NAME")
    p.add_argument("--entity-type", action="append", choices=NAMES, metavar="TYPE", help="only these types (repeat)")
    p.add_argument("--sample", type=int, metavar="N", help="check only the first N entities of each type")
    p.add_argument("--repair", action="store_true", help="queue jobs that restore the store's state in the target")
    p.add_argument(
        "--json", action="store_true",
        help='{"integration", "checked", "supported", "counts": {"missing", "extra", "different"}, '
        '"drift": [{entity_type, code, kind, scope, field, ours, theirs}], "repaired"}',
    )  # fmt: skip
    p.set_defaults(handler=verify)

    p = sub.add_parser(
        "drivers", help="installed drivers (entry points iec.drivers): entity types, hooks, configuration"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=drivers)

    group = sub.add_parser("connections", help="entities connected to integrations with scope: connected")
    csub = group.add_subparsers(dest="connections_command", required=True)
    for name, text in (("add", "connect entities"), ("remove", "disconnect entities")):
        p = csub.add_parser(name, help=text)
        p.add_argument("integration", metavar="INTEGRATION")
        p.add_argument("entity_type", choices=NAMES, metavar="ENTITY_TYPE")
        p.add_argument("codes", nargs="+", metavar="CODE", help="codes (products: identifier or uuid)")
        if name == "add":
            p.add_argument(
                "--credentials-env", metavar="PREFIX",
                help="the connection's own credentials: environment variables PREFIX_<NAME> (e.g. PREFIX_SECRET), "
                "read at delivery, never stored",
            )  # fmt: skip
        p.set_defaults(handler=connect)
    p = csub.add_parser("list", help="list connections")
    p.add_argument("--integration", metavar="NAME")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=list_connections)


def validate(args: argparse.Namespace) -> int:
    from iec_pipeline.common.settings import Settings

    loaded = integrations_or_exit()
    path = Settings.from_env().integrations_file
    if not path.exists():
        print(f"{path} does not exist: no integrations declared")
    for item in loaded:
        state = "enabled" if item.spec.enabled else "disabled"
        print(f"ok  {item.name:<20} driver {item.spec.driver:<10} {state}, {len(item.spec.entity_types)} entity types")
    for name, advice in _missed(i.name for i in loaded if i.spec.enabled).items():
        print(f"note {name}: {advice}")
    return 0


def _missed(enabled: Iterable[str]) -> dict[str, str]:
    """What enabled integrations missed while disabled (nothing when the store does not exist yet)."""
    from iec_pipeline.store.db import read_engine
    from iec_pipeline.store.views import missed_changes

    try:
        with read_engine(store_url()).connect() as conn:
            return missed_changes(conn, list(enabled))
    except Exception:  # no store yet (or unreachable): validation is about the file
        return {}


def replay(args: argparse.Namespace) -> int:
    from iec_pipeline.diff.replay import parse_since
    from iec_pipeline.diff.replay import replay as replay_catalog
    from iec_pipeline.routing.integrations import sync_to_store
    from iec_pipeline.store.db import get_engine

    declared = {i.name: i for i in integrations_or_exit()}
    integration = declared.get(args.integration)
    if integration is None:
        print(f"iec integrations replay: no integration {args.integration!r}; declared: {', '.join(declared)}",
              file=sys.stderr)  # fmt: skip
        return 2
    if not integration.spec.enabled:
        print(f"iec integrations replay: {args.integration} is disabled; enable it first", file=sys.stderr)
        return 2
    since = None
    if args.since:
        try:
            since = parse_since(args.since)
        except ValueError:
            print(f"iec integrations replay: --since {args.since!r} is not an ISO 8601 time", file=sys.stderr)
            return 2
    engine = get_engine(store_url())
    with engine.begin() as conn:
        sync_to_store(conn, list(declared.values()))
    progress = None if args.json else (lambda line: print(f"  {line}", flush=True))
    result = replay_catalog(engine, integration, args.entity_type, since, args.priority, progress or (lambda _: None))
    if args.json:
        print_json(result.as_json())
    else:
        print(f"replay of {integration.name}: {result.jobs:,} job(s) queued"
              + (f", {result.already_open:,} entities skipped (a job of theirs is open)" if result.already_open else "")
              + "; `iec deliver --wait` or the delivery sensor sends them")  # fmt: skip
    return 0


def verify(args: argparse.Namespace) -> int:
    from iec_pipeline.common.settings import Settings
    from iec_pipeline.delivery.verify import repair
    from iec_pipeline.delivery.verify import verify as check_drift
    from iec_pipeline.ingest.media import media_from_env
    from iec_pipeline.routing.integrations import sync_to_store
    from iec_pipeline.store.db import get_engine

    declared = {i.name: i for i in integrations_or_exit()}
    integration = declared.get(args.integration)
    if integration is None or not integration.spec.enabled:
        print(f"iec integrations verify: no enabled integration {args.integration!r}", file=sys.stderr)
        return 2
    engine = get_engine(store_url())
    with media_from_env(engine, Settings.from_env().media_dir) as media:
        report = check_drift(engine, integration, args.entity_type, args.sample, media=media)
    if args.repair and report.drifts:
        with engine.begin() as conn:
            sync_to_store(conn, list(declared.values()))
        repair(engine, integration, report)
    if args.json:
        print_json(report.as_json())
        return 0
    if report.not_supported:
        print(f"{integration.name}: {report.not_supported}")
        return 0
    print(f"{integration.name}: {report.checked} entities checked; drift {report.counts}")
    for d in report.drifts:
        where = f" [{d.scope}]" if d.scope else ""
        detail = f" {d.field}: ours {d.ours!r}, theirs {d.theirs!r}" if d.kind == "different" else ""
        print(f"  {d.kind:<9} {d.entity_type} {d.code}{where}{detail}")
    if args.repair:
        print(f"{report.repaired} job(s) queued to repair it; `iec deliver --wait` or the delivery sensor sends them")
    return 0


def list_integrations(args: argparse.Namespace) -> int:
    from iec_pipeline.store.views import job_counts

    loaded = integrations_or_exit()
    counts = job_counts(store_url())
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
        print_json(rows)
    else:
        for row in rows:
            state = "enabled" if row["enabled"] else "disabled"
            print(f"{row['name']:<20} {row['driver']:<10} {state:<9} {row['jobs']}")
    return 0


def drivers(args: argparse.Namespace) -> int:
    from drivers import registry

    described = [driver.describe() for driver in registry.discover().values()]
    if args.json:
        print_json({"drivers": described, "failed_to_load": registry.broken()})
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


def connect(args: argparse.Namespace) -> int:
    """`iec connections add|remove`: a new connection delivers the entity (and what it needs that the
    integration has not received); a removed one is deleted there when `on_disconnect: delete`."""
    from iec_pipeline.diff.replay import send_connected, send_deletes
    from iec_pipeline.routing import connections
    from iec_pipeline.routing.integrations import sync_to_store
    from iec_pipeline.store.db import get_engine

    url = store_url()
    declared = {i.name: i for i in integrations_or_exit()}
    integration = declared.get(args.integration)
    engine = get_engine(url)
    try:
        if args.connections_command == "add":
            if args.credentials_env and (problem := connections.check_prefix(args.credentials_env)):
                print(f"iec connections add: {problem}", file=sys.stderr)
                return 2
            uuids = connections.add(url, args.integration, args.entity_type, args.codes, args.credentials_env)
            print(f"{len(uuids)} connection(s) to {args.integration}")
        else:
            uuids = connections.remove(url, args.integration, args.entity_type, args.codes)
            print(f"{len(uuids)} connection(s) removed from {args.integration}")
    except LookupError as error:
        print(f"iec connections: {error}", file=sys.stderr)
        return 1
    if integration is None or not integration.spec.enabled or not uuids:
        return 0
    with engine.begin() as conn:
        sync_to_store(conn, list(declared.values()))
    if args.connections_command == "add":
        result = send_connected(engine, integration, args.entity_type, uuids)
        print(f"{result.jobs} job(s) queued for {args.integration}: {dict(result.by_entity_type)}")
    elif integration.spec.on_disconnect == "delete":
        deletes = send_deletes(engine, integration, args.entity_type, uuids)
        print(f"{deletes} delete job(s) queued for {args.integration}")
    return 0


def list_connections(args: argparse.Namespace) -> int:
    from iec_pipeline.routing import connections

    rows = connections.list_connections(store_url(), args.integration)
    if args.json:
        print_json(rows)
    else:
        for r in rows:
            print(f"{r['integration']:<20} {r['entity_type']:<16} {r['code']}")
    return 0
