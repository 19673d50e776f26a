"""`iec deliver`, `iec jobs`: delivering mutation jobs, and looking at them."""

from __future__ import annotations

import argparse
import sys

from iec_pipeline.cli.shared import instance, integrations_or_exit, print_json, store_url


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("deliver", help="launch delivery runs for due jobs (the same Dagster job the sensor launches)")
    p.add_argument("--wait", action="store_true", help="keep going through scheduled retries until no job is open")
    p.add_argument("--integration", metavar="NAME", help="only this integration")
    p.add_argument("--timeout", type=float, default=600.0, metavar="S", help="give up waiting after S seconds (600)")
    p.add_argument(
        "--dry-run", action="store_true",
        help="print the requests due jobs would make (each driver's plan) and change nothing: no request leaves, "
        "no job changes state",
    )  # fmt: skip
    p.add_argument(
        "--json", action="store_true",
        help='with --dry-run: {"integrations": {NAME: {"jobs", "supported", "calls": [{mutation_id, method, '
        'target, why, body_sha256}]}}}',
    )  # fmt: skip
    p.set_defaults(handler=deliver)

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
    p.set_defaults(handler=jobs)


def dry_run(args: argparse.Namespace) -> int:
    from iec_pipeline.delivery.dry_run import dry_run as plan_due
    from iec_pipeline.store.db import get_engine

    engine = get_engine(store_url())
    declared = [i for i in integrations_or_exit() if i.spec.enabled and args.integration in (None, i.name)]
    if args.integration and not declared:
        print(f"iec deliver: no enabled integration {args.integration!r}", file=sys.stderr)
        return 2
    runs = [plan_due(engine, integration) for integration in declared]
    if args.json:
        print_json({"integrations": {r.integration: r.as_json() for r in runs}})
        return 0
    for r in runs:
        state = f"{r.jobs} due job(s)" + (f"; {r.not_supported}" if r.not_supported else f", {len(r.calls)} call(s)")
        print(f"{r.integration}: {state}")
        for call in r.calls:
            print(f"  {call.method:<6} {call.target}  {call.why}  (mutation {call.mutation_id})")
    print("dry run: nothing was sent and no job changed")
    return 0


def deliver(args: argparse.Namespace) -> int:
    if args.dry_run:
        return dry_run(args)
    from iec_pipeline.launch import deliver_due
    from iec_pipeline.routing.integrations import sync_to_store
    from iec_pipeline.store.db import get_engine

    declared = integrations_or_exit()
    engine = get_engine(store_url())
    with engine.begin() as conn:
        sync_to_store(conn, declared)
    outcome = deliver_due(
        instance(), engine, integration=args.integration, wait=args.wait, timeout=args.timeout,
        on_progress=lambda message: print(message, flush=True),
    )  # fmt: skip
    print(
        f"delivery: {len(outcome.runs)} run(s), {outcome.delivered} delivered, {outcome.open_jobs} job(s) still open"
        + (", TIMED OUT" if outcome.timed_out else "")
    )
    for run_id in outcome.failed_runs:
        print(f"run {run_id} failed (see it in the Dagster UI)", file=sys.stderr)
    return 1 if outcome.failed_runs or outcome.timed_out else 0


def jobs(args: argparse.Namespace) -> int:
    from iec_pipeline.store.views import list_jobs

    if args.jobs_command == "retry":
        return retry(args)
    rows = list_jobs(store_url(), status=args.status, integration=args.integration, limit=args.limit)
    if args.json:
        print_json(rows)
    else:
        for r in rows:
            error = f"  {r['last_error'][:80]}" if r["last_error"] else ""
            where = f"{r['queue']:<22} {r['entity_type']:<16} {r['code']}"
            print(f"{r['id']:>8} {r['integration']:<14} {r['status']:<10} {where}{error}")
    return 0


def retry(args: argparse.Namespace) -> int:
    from iec_pipeline.delivery import ledger
    from iec_pipeline.store.db import get_engine

    if not args.dead:
        print("iec jobs retry: say which jobs: --dead", file=sys.stderr)
        return 2
    with get_engine(store_url()).begin() as conn:
        count = ledger.retry_dead(conn, args.integration)
    print(f"{count} dead job(s) pending again")
    return 0
