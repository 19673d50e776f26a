"""`iec integrations`, `iec drivers`, `iec connections`: who receives what."""

from __future__ import annotations

import argparse
import sys

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
    """`iec connections add|remove`."""
    from iec_pipeline.routing import connections

    url = store_url()
    try:
        if args.connections_command == "add":
            n = connections.add(url, args.integration, args.entity_type, args.codes)
            print(f"{n} connection(s) to {args.integration}")
        else:
            n = connections.remove(url, args.integration, args.entity_type, args.codes)
            print(f"{n} connection(s) removed from {args.integration}")
    except LookupError as error:
        print(f"iec connections: {error}", file=sys.stderr)
        return 1
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
