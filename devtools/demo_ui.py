"""`make demo-ui`: the demo's Akeneo and Magento again, and the Dagster UI (`iec ui`) on the demo's store.

After `make demo`: akeneo-mock-server on the demo's PostgreSQL database (its data kept) and a Magento
sandbox, on the ports the demo used (others when those are taken: the settings are rewritten), then
`iec ui` (webserver + daemon) on PORT, with the demo's settings from .iec/demo/demo.env. The UI shows
the demo's runs; Materialize and backfills reach the mock Akeneo, deliveries the sandbox.

The sandbox keeps its catalog in memory: a new one is empty, so the demo store starts over too (its
tables emptied): the first full sync from the UI records the whole catalog as created and delivers it,
attributes, sets and categories first, to the new sandbox. The runs stay in the UI.
Ctrl-C (or SIGTERM, SIGHUP) stops everything: the UI's process group gets SIGINT, then SIGTERM, then
SIGKILL, each after a grace period; then the sandbox and the mock.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from devtools import demo, playground
from devtools.ports import free_port
from iec_pipeline.common.settings import PROJECT_ROOT

GRACE = ((signal.SIGINT, 20.0), (signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0))


class NotSetUp(RuntimeError):
    """`make demo` has not been run here (or its settings are incomplete)."""


def load_settings(path: Path = demo.DEMO_ENV) -> dict[str, str]:
    if not path.exists():
        raise NotSetUp(f"no demo here ({path} is missing): run `make demo` first, then `make demo-ui`")
    values = demo.read_env_file(path)
    missing = [name for name in demo.DEMO_VARIABLES if not values.get(name)]
    if missing:
        raise NotSetUp(f"{path} lacks {', '.join(missing)}: run `make demo` again")
    store = values["IEC_DATABASE_URL"]
    if store.startswith("sqlite:///") and not Path(store.removeprefix("sqlite:///")).exists():
        raise NotSetUp(f"the demo's store {store} is gone: run `make demo` again")
    return values


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is no obstacle
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def _port(url: str) -> int:
    port = urlsplit(url).port
    if port is None:
        raise NotSetUp(f"no port in {url!r}: run `make demo` again")
    return port


def place_peers(values: Mapping[str, str], is_free=port_free) -> tuple[dict[str, str], list[str]]:
    """The demo's settings with each peer on its former port, or on a free one when that is taken;
    and what moved, to say so."""
    values = dict(values)
    moved = []
    for name, what in (("AKENEO_URL", "Akeneo (mock)"), (demo.MAGENTO_URL_ENV, "Magento sandbox")):
        port = _port(values[name])
        if not is_free(port):
            new = free_port()
            values[name] = f"http://127.0.0.1:{new}"
            moved.append(f"{what}: port {port} is taken, using {new}")
    return values, moved


def start_store_over(store_url: str) -> int:
    """Empties the demo store (every table, then the schema again): the next full sync then records
    the whole catalog as created and sends it to the new, empty sandbox. Returns the entities dropped."""
    from sqlalchemy import func, inspect, select, text

    from iec_pipeline.common.entity_types import ENTITY_TYPES
    from iec_pipeline.store import db
    from iec_pipeline.store.models import Base, entity_table

    try:
        db.upgrade(store_url)
        engine = db.get_engine(store_url)
        with engine.connect() as conn:
            dropped = sum(
                conn.execute(select(func.count()).select_from(entity_table(e))).scalar_one() for e in ENTITY_TYPES
            )
        Base.metadata.drop_all(engine)
        if "alembic_version" in inspect(engine).get_table_names():
            with engine.begin() as conn:
                conn.execute(text("DROP TABLE alembic_version"))
        db.dispose_all()
        db.upgrade(store_url)
        return dropped
    finally:
        db.dispose_all()


# --- a process group, stopped for good ------------------------------------------------------------


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of process group `pgid`, from /proc; elsewhere, a signal-0 probe."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return []
        except PermissionError:
            pass
        return [pgid]
    members = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) ": state, ppid, pgrp, ...
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def stop_group(process: subprocess.Popen, grace: Iterable[tuple[int, float]] = GRACE) -> list[str]:
    """Stops `process` (a session/group leader) and every process of its group: each signal of `grace`
    to the whole group, then up to its seconds for the group to empty. Returns the signals it took."""
    pgid = process.pid
    sent = []
    for sig, seconds in grace:
        process.poll()  # reaps the leader once it has exited
        if not group_members(pgid):
            break
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        sent.append(signal.Signals(sig).name)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            process.poll()
            if not group_members(pgid):
                break
            time.sleep(0.1)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)
    return sent


def sigint_handled() -> None:
    """`preexec_fn` of a process group stopped with SIGINT: Ctrl-C's signal handled again, also when
    this runs where SIGINT is ignored (a shell's background job passes SIG_IGN on to its children)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_ui(values: Mapping[str, str], host: str, port: int, cwd: Path) -> subprocess.Popen:
    """`iec ui` in its own session (so its group can be signalled whole), with the demo's settings.

    It runs in the demo's directory: `iec` and `dagster dev` read a `.env` from the current directory,
    and Dagster lets that file override the environment; the project's `.env` may be someone's own."""
    path = os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))
    return subprocess.Popen(
        [sys.executable, "-m", "iec_pipeline.cli", "ui", "--host", host, "--port", str(port)],
        env={**os.environ, **values, "PYTHONPATH": path}, cwd=cwd, start_new_session=True,
        preexec_fn=sigint_handled,
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.demo_ui", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000, help="the UI's port (make demo-ui PORT=...)")
    args = parser.parse_args(argv)
    try:
        values = load_settings()
    except NotSetUp as error:
        print(f"make demo-ui: {error}", file=sys.stderr)
        return 2
    if not port_free(args.port, args.host):
        print(f"make demo-ui: port {args.port} is in use; choose another: make demo-ui PORT=3001", file=sys.stderr)
        return 2
    values, moved = place_peers(values)

    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    workdir = demo.WORKDIR.absolute()
    demo.step("Starting the demo's akeneo-mock-server (its PostgreSQL data kept) and a Magento 2 sandbox")
    ui: subprocess.Popen | None = None
    try:
        p = playground.start(
            workdir, akeneo_database=values[demo.AKENEO_DATABASE_ENV], dagster_home=Path(values["DAGSTER_HOME"]),
            fresh=False, akeneo_port=_port(values["AKENEO_URL"]), magento_port=_port(values[demo.MAGENTO_URL_ENV]),
            magento_token=values[playground.MAGENTO_TOKEN_ENV], sellable=True,  # as `make demo` ran them
        )  # fmt: skip
    except (RuntimeError, OSError) as error:
        print(f"make demo-ui: the demo's peers did not start: {error} (logs: {workdir})", file=sys.stderr)
        return 1
    with p:
        try:
            for line in moved:
                print(f"  {line}")
            if moved:
                demo.save_settings(values)
            print(f"  Akeneo (mock): {p.mock.url}   Magento sandbox: {p.magento_url}/rest")
            if p.magento("products?searchCriteria[pageSize]=1")["total_count"] == 0:
                dropped = start_store_over(values["IEC_DATABASE_URL"])
                print(f"  The sandbox is new (empty): the demo store starts over too ({dropped} entities dropped).")
                print("  Launch full_sync in the UI (Materialize all) and the whole catalog goes to Magento again.")
            demo.step(f"The Dagster UI on the demo's store: http://{args.host}:{args.port} (Ctrl-C stops everything)")
            if not stop.is_set():
                ui = start_ui(values, args.host, args.port, workdir)
            while ui is not None and ui.poll() is None and not stop.is_set():
                stop.wait(0.5)
        finally:
            if ui is not None:
                print("\n  stopping the UI ...", flush=True)
                sent = stop_group(ui)
                print(f"  the UI stopped ({', '.join(sent) or 'on its own'}); stopping Akeneo and Magento", flush=True)
    if ui is not None and ui.returncode not in (0, None) and not stop.is_set():
        print(f"make demo-ui: the UI exited with code {ui.returncode}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
