"""`make demo-ui`: its pure parts (settings, ports, starting the store over, stopping a process group) and, with real
peers, that it starts the demo's Akeneo, Magento and the UI and stops them all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, insert, select

from devtools import akeneo_mock, demo, demo_ui, playground
from devtools.ports import free_port
from iec_pipeline.common.settings import PROJECT_ROOT
from iec_pipeline.delivery.mappings import StoreMappings
from iec_pipeline.store import db
from iec_pipeline.store.models import Family
from tests.devtools.test_demo_env import VALUES


@pytest.mark.fast
def test_without_a_demo_it_says_so_and_fails(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert demo_ui.main(["--port", str(free_port())]) == 2
    err = capsys.readouterr().err
    assert "make demo" in err and "first" in err
    assert not (tmp_path / ".iec").exists()  # nothing started, nothing written


@pytest.mark.fast
def test_incomplete_or_stale_settings_are_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    demo.write_env_file(demo.DEMO_ENV, {k: v for k, v in VALUES.items() if k != "AKENEO_URL"})
    with pytest.raises(demo_ui.NotSetUp, match="AKENEO_URL"):
        demo_ui.load_settings()
    demo.write_env_file(demo.DEMO_ENV, VALUES)
    with pytest.raises(demo_ui.NotSetUp, match="store .* is gone"):
        demo_ui.load_settings()


@pytest.mark.fast
def test_peers_keep_their_ports_unless_taken():
    same, moved = demo_ui.place_peers(VALUES, is_free=lambda port: True)
    assert same == VALUES and moved == []
    taken = demo_ui._port(VALUES["AKENEO_URL"])
    placed, moved = demo_ui.place_peers(VALUES, is_free=lambda port: port != taken)
    assert placed["AKENEO_URL"] != VALUES["AKENEO_URL"] and placed[demo.MAGENTO_URL_ENV] == VALUES[demo.MAGENTO_URL_ENV]
    assert moved == [f"Akeneo (mock): port {taken} is taken, using {demo_ui._port(placed['AKENEO_URL'])}"]


@pytest.mark.fast
def test_starting_the_store_over_empties_it_and_keeps_its_schema(tmp_path):
    url = f"sqlite:///{tmp_path / 'iec.db'}"
    db.upgrade(url)
    with db.get_engine(url).begin() as conn:
        conn.execute(insert(Family).values(uuid="u1", code="shoes", content_hash="h", fetched_at=datetime(2026, 1, 1)))
    StoreMappings(db.get_engine(url), "shop").save("product", "u1", "11")
    assert demo_ui.start_store_over(url) == 1
    assert StoreMappings(db.get_engine(url), "shop").find("product", "u1") is None
    with db.get_engine(url).connect() as conn:
        assert conn.execute(select(func.count()).select_from(Family)).scalar_one() == 0
    db.dispose_all()


def _group(*args: str) -> subprocess.Popen:
    process = subprocess.Popen(list(args), start_new_session=True, preexec_fn=demo_ui.sigint_handled)
    deadline = time.monotonic() + 5
    while len(demo_ui.group_members(process.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    return process


@pytest.mark.fast
def test_stop_group_ends_the_whole_group_with_sigint_when_that_suffices():
    # (a non-interactive shell's background jobs ignore SIGINT: Python starts the children here)
    children = "import subprocess, time; [subprocess.Popen(['sleep', '60']) for _ in '12']; time.sleep(60)"
    process = _group(sys.executable, "-c", children)
    members = demo_ui.group_members(process.pid)
    assert len(members) >= 3
    assert demo_ui.stop_group(process, [(signal.SIGINT, 5), (signal.SIGKILL, 5)]) == ["SIGINT"]
    assert demo_ui.group_members(process.pid) == [] and process.returncode is not None


@pytest.mark.fast
def test_stop_group_escalates_when_sigint_and_sigterm_are_ignored():
    process = _group("/bin/sh", "-c", "trap '' INT TERM; sleep 60 & sleep 60 & wait")
    sent = demo_ui.stop_group(process, [(signal.SIGINT, 0.5), (signal.SIGTERM, 0.5), (signal.SIGKILL, 5)])
    assert sent == ["SIGINT", "SIGTERM", "SIGKILL"]
    assert demo_ui.group_members(process.pid) == []


# --- with real peers ----------------------------------------------------------------------------


def _processes_under(directory: Path) -> list[str]:
    """Processes whose working directory is under `directory` (demo_ui, the peers, the UI and its children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cwd = os.readlink(entry / "cwd")
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z" and (cwd == str(directory) or cwd.startswith(f"{directory}/")):
                found.append(f"{entry.name}: {cmd}")
    return found


LOCATION = """{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus
  locationOrLoadError { __typename ... on PythonError { message } } } } } }"""


def _location(graphql: str, deadline: float) -> dict:
    """The code location's entry once it has loaded (or failed to)."""
    while True:
        entries = httpx.post(graphql, json={"query": LOCATION}, timeout=30).json()["data"]["workspaceOrError"]
        entry = entries["locationEntries"][0]
        if entry["loadStatus"] == "LOADED" or time.monotonic() > deadline:
            return entry
        time.sleep(0.5)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds stray processes through /proc")
def test_demo_ui_starts_the_peers_and_the_ui_and_stops_everything(tmp_path):
    """A demo's settings (its mock database kept), then `demo_ui` as `make demo-ui` runs it; SIGTERM stops all."""
    database = f"akeneo_iec_demo_ui_test_{os.getpid()}"
    workdir = tmp_path / demo.WORKDIR
    workdir.mkdir(parents=True)
    home = tmp_path / "dagster_home"
    store = f"sqlite:///{workdir / 'iec.db'}"
    db.upgrade(store)
    StoreMappings(db.get_engine(store), "shop").save("product", "u1", "11")  # the former sandbox's id
    db.dispose_all()
    ports = [free_port() for _ in range(3)]
    settings = {
        **VALUES, "IEC_DATABASE_URL": store, "IEC_INTEGRATIONS": str(workdir / "integrations.yaml"),
        "DAGSTER_HOME": str(home), "AKENEO_URL": f"http://127.0.0.1:{ports[0]}",
        demo.MAGENTO_URL_ENV: f"http://127.0.0.1:{ports[1]}", demo.AKENEO_DATABASE_ENV: database,
    }  # fmt: skip
    demo.write_env_file(tmp_path / demo.DEMO_ENV, settings)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    env.pop("DAGSTER_HOME", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools.demo_ui", "--port", str(ports[2])], cwd=tmp_path, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(f"http://127.0.0.1:{ports[2]}/server_info", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        assert process.poll() is None, process.stdout.read()
        entry = _location(f"http://127.0.0.1:{ports[2]}/graphql", deadline)
        assert entry["locationOrLoadError"]["__typename"] == "RepositoryLocation", entry
        assert httpx.get(f"http://127.0.0.1:{ports[0]}/_admin/status", timeout=5).status_code == 200
        token = VALUES["IEC_DEMO_MAGENTO_TOKEN"]
        sandbox = playground.Playground(workdir, None, f"http://127.0.0.1:{ports[1]}", token, {})
        assert sandbox.magento("products?searchCriteria[pageSize]=1")["total_count"] == 0
        assert StoreMappings(db.get_engine(store), "shop").find("product", "u1") is None  # the new sandbox has none
        db.dispose_all()
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=60)
        assert process.returncode == 0, out
        assert "the demo store starts over too" in out
        assert VALUES["IEC_DEMO_MAGENTO_TOKEN"] not in out and VALUES["AKENEO_CLIENT_SECRET"] not in out
        assert _processes_under(tmp_path) == []
    finally:
        if process.poll() is None:  # a failed assertion: stop it the way it is meant to stop, never strand the UI
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        akeneo_mock.drop_database(database)
