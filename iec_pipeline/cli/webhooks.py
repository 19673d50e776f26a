"""`iec webhooks serve|subscribe`, `iec drops`: Akeneo's events and what was received."""

from __future__ import annotations

import argparse
import os
import sys

from iec_pipeline.cli.shared import print_json, store_url


def add_parsers(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser("webhooks", help="the Akeneo webhook receiver")
    wsub = group.add_subparsers(dest="webhooks_command", required=True)
    p = wsub.add_parser("serve", help="receive Akeneo events (Event Platform and Events API) at POST /webhooks/akeneo")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8077)
    p.set_defaults(handler=serve)
    p = wsub.add_parser("subscribe", help="create the Event Platform subscriber and subscription in Akeneo")
    p.add_argument("--url", required=True, help="the public URL of POST /webhooks/akeneo")
    p.set_defaults(handler=subscribe)

    p = sub.add_parser("drops", help="webhook events received (drops) and their status")
    p.add_argument("--since", type=int, default=None, metavar="ID")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument(
        "--json",
        action="store_true",
        help="JSON array of {id, event_id, type, entity_type, code_or_uuid, received_at, status}",
    )
    p.set_defaults(handler=drops)


def serve(args: argparse.Namespace) -> int:
    from iec_pipeline.webhooks.receiver import WebhookConfigError
    from iec_pipeline.webhooks.receiver import serve as serve_receiver

    try:
        serve_receiver(args.host, args.port, database_url=store_url())
    except WebhookConfigError as error:
        print(f"iec webhooks serve: {error}", file=sys.stderr)
        return 2
    return 0


def subscribe(args: argparse.Namespace) -> int:
    from iec_pipeline.ingest.akeneo import AkeneoError
    from iec_pipeline.webhooks.subscribe import subscribe as subscribe_receiver

    needed = ("AKENEO_URL", "AKENEO_CLIENT_ID", "AKENEO_CLIENT_SECRET", "AKENEO_USERNAME", "AKENEO_PASSWORD",
              "AKENEO_WEBHOOK_SECRET")  # fmt: skip
    missing = [name for name in needed if not os.environ.get(name)]
    if missing:
        print(f"iec webhooks subscribe: set {', '.join(missing)} in the environment", file=sys.stderr)
        return 2
    try:
        created = subscribe_receiver(
            os.environ["AKENEO_URL"], os.environ["AKENEO_CLIENT_ID"], os.environ["AKENEO_CLIENT_SECRET"],
            os.environ["AKENEO_USERNAME"], os.environ["AKENEO_PASSWORD"], target_url=args.url,
            secret=os.environ["AKENEO_WEBHOOK_SECRET"],
            secondary_secret=os.environ.get("AKENEO_WEBHOOK_SECRET_SECONDARY") or None,
        )  # fmt: skip
    except AkeneoError as error:
        print(f"iec webhooks subscribe: {error}", file=sys.stderr)
        return 1
    print_json(created)
    return 0


def drops(args: argparse.Namespace) -> int:
    from iec_pipeline.webhooks.drops import list_drops

    rows = list_drops(store_url(), args.since, args.limit)
    if args.json:
        print_json(rows)
    else:
        for r in rows:
            entity = f"{r['entity_type'] or '-':<16} {r['code_or_uuid'] or ''}"
            print(f"{r['id']:>8} {r['status']:<10} {r['type']:<48} {entity}")
    return 0
