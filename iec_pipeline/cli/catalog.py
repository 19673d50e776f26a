"""`iec db upgrade`, `iec sync`, `iec status`, `iec mutations`: the store and what syncs put in it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from iec_pipeline.cli.shared import instance, print_json, store_url
from iec_pipeline.common.entity_types import NAMES


def add_parsers(sub: argparse._SubParsersAction) -> None:
    db = sub.add_parser("db", help="store schema").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="create or upgrade the store schema (Alembic migrations)").set_defaults(
        handler=db_upgrade
    )

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
    p.set_defaults(handler=sync)

    p = sub.add_parser("status", help="what the store holds")
    p.add_argument("--json", action="store_true", help='{"store": {"product": N, ...}, ...}')
    p.set_defaults(handler=status)

    p = sub.add_parser("mutations", help="the mutation log")
    p.add_argument("--since", type=int, default=None, metavar="ID", help="only ids greater than ID")
    p.add_argument("--entity-type", choices=NAMES, default=None, metavar="T")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument(
        "--json",
        action="store_true",
        help="JSON array of {id, entity_type, entity_uuid, code, operation, changed_fields, created_at}",
    )
    p.set_defaults(handler=mutations)


def db_upgrade(args: argparse.Namespace) -> int:
    from iec_pipeline.common.settings import Settings
    from iec_pipeline.store import db

    url = Settings.from_env().database_url
    db.upgrade(url)
    print(f"store schema is up to date ({db.get_engine(url).url.render_as_string(hide_password=True)})")
    return 0


def _parse_refresh(values: Sequence[str]) -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {}
    for value in values:
        entity_type, sep, listed = value.partition("=")
        if not sep or entity_type not in NAMES or not listed:
            raise SystemExit(f"iec sync: --refresh expects TYPE=KEY[,KEY...] with TYPE one of {', '.join(NAMES)}")
        keys.setdefault(entity_type, []).extend(k for k in listed.split(",") if k)
    return keys


def sync(args: argparse.Namespace) -> int:
    from iec_pipeline.cli import shared
    from iec_pipeline.common.heap import full_collections_put_off_for_process

    if shared.exits_after_command:  # a sync is this process's one job: no full collection before it ends
        full_collections_put_off_for_process()
    from iec_pipeline.launch import run_sync

    shared.integrations_or_exit()  # an invalid integrations file: exit 1 before any run or request
    store_url()
    mode = "refresh" if args.refresh else ("full" if args.full else "incremental")
    keys = _parse_refresh(args.refresh or [])
    try:
        outcome = run_sync(
            instance(), mode=mode, entity_types=args.entity, keys=keys, log_level="WARNING" if args.json else "INFO",
            on_log=None if args.json else lambda line: print(line, flush=True),
        )  # fmt: skip
    except ValueError as error:
        print(f"iec sync: {error}", file=sys.stderr)
        return 2
    if args.json:
        print_json(outcome.as_json())
    else:
        fetched = ", ".join(f"{n:,} {t}" for t, n in outcome.fetched.items()) or "nothing"
        changes = ", ".join(f"{n:,} {op}" for op, n in outcome.mutations.items() if n) or "no change"
        state = "succeeded" if outcome.success else "FAILED"
        print(f"\nsync ({mode}) {state} in {outcome.seconds:.1f}s, run {outcome.run_id}")
        print(f"  fetched:   {fetched}")
        print(f"  mutations: {changes}")
        for error in outcome.errors:
            print(f"  error: {error}", file=sys.stderr)
    return 0 if outcome.success else 1


def status(args: argparse.Namespace) -> int:
    from iec_pipeline.store.views import store_status

    report = store_status(store_url())
    if args.json:
        print_json(report)
    else:
        for section, values in report.items():
            print(f"{section}:")
            for key, value in values.items():
                print(f"  {key:<18} {value}")
    return 0


def mutations(args: argparse.Namespace) -> int:
    from iec_pipeline.store.views import list_mutations

    rows = list_mutations(store_url(), since=args.since, entity_type=args.entity_type, limit=args.limit)
    if args.json:
        print_json(rows)
    else:
        for row in rows:
            fields = ", ".join(row["changed_fields"][:8]) + ("…" if len(row["changed_fields"]) > 8 else "")
            print(f"{row['id']:>8} {row['operation']:<8} {row['entity_type']:<17} {row['code']:<32} {fields}")
    return 0
