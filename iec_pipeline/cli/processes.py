"""`iec daemon`, `iec ui`, `iec sandbox magento`: long-running processes for this project."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from iec_pipeline.cli.shared import integrations_or_exit, store_url


def add_parsers(sub: argparse._SubParsersAction) -> None:
    sandbox = sub.add_parser("sandbox", help="local stand-ins for real targets (from the project's devtools/)")
    ssub = sandbox.add_subparsers(dest="sandbox_command", required=True)
    p = ssub.add_parser("magento", help="the Magento 2.4 REST sandbox (validates every body against the 2.4.8 spec)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8088)
    p.add_argument("--token", default="sandbox-token", help="the integration access token it accepts")
    p.add_argument("--admin-username", default="admin")
    p.add_argument("--admin-password", default="sandbox-password")
    p.add_argument("--store-views", default="default,fr,de", help="comma-separated store view codes")
    p.add_argument("--write-delay-ms", type=int, default=0, help="every write waits this long (Magento is slow)")
    p.set_defaults(handler=sandbox_magento)

    p = sub.add_parser("daemon", help="run the Dagster daemon (sensors, schedules, run queue) for this project")
    p.set_defaults(handler=daemon)
    p = sub.add_parser("ui", help="dagster dev for this project: webserver + daemon")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3000)
    p.set_defaults(handler=ui)


def sandbox_magento(args: argparse.Namespace) -> int:
    from iec_pipeline.common.settings import PROJECT_ROOT

    if (PROJECT_ROOT / "devtools").is_dir() and str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))  # the sandbox is developer tooling: in the checkout, not the wheel
    try:
        from devtools.magento_sandbox.server import serve
    except ImportError:
        print("iec sandbox magento: the Magento sandbox ships with the project's checkout (devtools/), "
              "not with the installed package", file=sys.stderr)  # fmt: skip
        return 2
    print(f"Magento 2 sandbox on http://{args.host}:{args.port}/rest (bearer token: {args.token})", flush=True)
    serve(host=args.host, port=args.port, token=args.token, admin_username=args.admin_username,
          admin_password=args.admin_password, store_views=args.store_views.split(","),
          write_delay_ms=args.write_delay_ms)  # fmt: skip
    return 0


def _become_dagster(args: list[str]) -> int:
    from iec_pipeline.common.settings import PROJECT_ROOT, ensure_dagster_home, export_defaults

    integrations_or_exit()  # an invalid integrations file: exit 1 before the daemon starts launching runs
    home = ensure_dagster_home()
    settings = export_defaults()
    url = store_url()
    workspace = PROJECT_ROOT / "workspace.yaml"
    command = [str(Path(sys.executable).parent / args[0]), *args[1:], "-w", str(workspace)]
    print(f"DAGSTER_HOME={home}; {' '.join(command)}", flush=True)
    # Which store and Akeneo the UI's runs will use (the environment and ./.env); no secret printed.
    akeneo = os.environ.get("AKENEO_URL") or "not set: ingestion runs will fail (see .env.example)"
    print(f"store: {_without_password(url)}; integrations: {settings.integrations_file}; Akeneo: {akeneo}", flush=True)
    # Become the Dagster process: signals (Ctrl-C, SIGTERM from a supervisor) reach it directly.
    os.execve(command[0], command, {**os.environ, "DAGSTER_HOME": str(home)})
    return 1  # not reached


def _without_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - only a message: an unparsable URL is shown without its credentials
        return url.split("@")[-1]


def daemon(args: argparse.Namespace) -> int:
    """The Dagster daemon for this project: sensors (delivery, drops), schedules, the run queue."""
    return _become_dagster(["dagster-daemon", "run"])


def ui(args: argparse.Namespace) -> int:
    """`dagster dev`: webserver and daemon, with the project's DAGSTER_HOME (kept between sessions)."""
    return _become_dagster(["dagster", "dev", "--host", args.host, "--port", str(args.port)])
