"""`iec`: the command line of IEC on Dagster.

Every command reads its configuration from the environment (see README and .env.example; a
`.env` file in the current directory is read too) and upgrades the store schema before use.
`--json` output shapes are contracts other tooling relies on.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


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
        "--entity", action="append", choices=NAMES, metavar="TYPE", help=f"only these types ({', '.join(NAMES)})"
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from dotenv import load_dotenv

    load_dotenv(".env", override=False)
    args = build_parser().parse_args(argv)
    name = args.command
    if name == "db":
        name = f"db {args.db_command}"
    return COMMANDS[name](args)


if __name__ == "__main__":
    raise SystemExit(main())
