"""`iec`: the command line of IEC on Dagster.

Every command reads its configuration from the environment (see README and .env.example; a `.env`
file in the current directory is read too) and upgrades the store schema before use. `--json`
output shapes are contracts other tooling relies on. One module per group of commands, each with
its arguments beside what it does.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from iec_pipeline.cli import catalog, delivery, integrations, processes, shared, webhooks


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="iec",
        description="IEC on Dagster: Akeneo PIM -> local store -> mutations -> integrations (Magento 2, webhooks).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for group in (catalog, integrations, delivery, webhooks, processes):
        group.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from dotenv import load_dotenv

    load_dotenv(".env", override=False)
    args = build_parser().parse_args(argv)
    return args.handler(args)


def run() -> NoReturn:
    """The `iec` console script: `main`, then a prompt exit.

    When a command returns, its work is written and its runs are closed; a normal interpreter exit
    would then free Dagster's long-lived objects one by one. Output is flushed and store
    connections closed first; an error leaves the normal way.
    """
    shared.exits_after_command = True
    code = main()
    store = sys.modules.get("iec_pipeline.store.db")  # only a command that opened the store has engines
    if store is not None:
        store.dispose_all()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError):  # a closed pipe (`iec ... | head`): nothing more to say
            stream.flush()
    os._exit(int(code or 0))
