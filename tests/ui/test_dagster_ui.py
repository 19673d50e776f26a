"""The Dagster UI, driven in headless Chromium: the asset graph shows Akeneo -> `catalog_diff` -> the
integration, and a full sync launched by clicks is delivered to Magento by a run of the delivery sensor.

State as after `make demo`: the sample catalog synced and delivered, then a price changed in Akeneo.
`iec ui` (webserver + daemon) runs on it. Playwright cannot download its browsers here: it drives the
Chromium that scripts/ensure-chromium provides (Debian's, or $IEC_CHROMIUM); without one the test fails.
With IEC_UI_SCREENSHOTS naming a directory, the screenshots of the asset graph and of the delivery run
go there (docs/ holds the project's copies); otherwise into the test's tmp_path.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from devtools import akeneo_mock, playground
from devtools.demo_ui import sigint_handled, stop_group
from devtools.ports import free_port
from devtools.sample_catalog import AkeneoSeeder, product_uuid, v
from iec_pipeline.common.settings import PROJECT_ROOT

pytestmark = pytest.mark.ui

SCREENSHOTS_ENV = "IEC_UI_SCREENSHOTS"
VIEWPORT = {"width": 1600, "height": 1000}
UI_START_SECONDS = 90
RUN_SECONDS = 120
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}

WORKSPACE = """{ workspaceOrError { __typename
  ... on Workspace { locationEntries { name loadStatus
    locationOrLoadError { __typename ... on PythonError { message } } } }
  ... on PythonError { message } } }"""
ASSETS = "{ assetNodes { assetKey { path } groupName } }"
RUNS = """query Runs($filter: RunsFilter) { runsOrError(filter: $filter) { __typename
  ... on Runs { results { runId jobName status creationTime tags { key value } } }
  ... on PythonError { message } } }"""
RUN_ERRORS = """query Logs($runId: ID!) { logsForRun(runId: $runId) { __typename
  ... on EventConnection { events { __typename
    ... on MessageEvent { message level }
    ... on ErrorEvent { error { message } } } } } }"""


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, (result.stdout[-2000:], result.stderr[-3000:])
    return result.stdout


@pytest.fixture(scope="session")
def chromium() -> str:
    """The Chromium to drive: what scripts/ensure-chromium prints (it installs Debian's when missing).
    None is a failure, not a skip: the UI is part of what `make test` checks."""
    script = PROJECT_ROOT / "scripts" / "ensure-chromium"
    hint = "install Debian's `chromium` (scripts/ensure-chromium does, with apt) or set IEC_CHROMIUM to a Chromium"
    try:
        result = subprocess.run([str(script)], capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as error:
        pytest.fail(f"the UI test needs Chromium: {script} did not run: {error}\n{hint}", pytrace=False)
    lines = result.stdout.strip().splitlines()
    path = lines[-1].strip() if lines else ""
    if result.returncode != 0 or not path or not os.access(path, os.X_OK):
        said = result.stderr.strip() or result.stdout.strip() or "no output"
        pytest.fail(f"the UI test needs Chromium: {script} exited {result.returncode}: {said}\n{hint}", pytrace=False)
    return path


# --- the UI: `iec ui` in its own session, stopped whole ----------------------------------------------


@dataclass
class Ui:
    url: str
    process: subprocess.Popen
    log: Path

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else "(no log)"

    def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        response = httpx.post(f"{self.url}/graphql", json={"query": query, "variables": variables}, timeout=30)
        response.raise_for_status()
        body = response.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]

    def runs(self, **run_filter: Any) -> list[dict[str, Any]]:
        answer = self.graphql(RUNS, filter=run_filter)["runsOrError"]
        assert answer["__typename"] == "Runs", answer
        return answer["results"]

    def run_errors(self, run_id: str) -> list[str]:
        answer = self.graphql(RUN_ERRORS, runId=run_id)["logsForRun"]
        lines = []
        for event in answer.get("events") or ():
            if event.get("error"):
                lines.append(f"{event['__typename']}: {event['error']['message'].strip()}")
            elif event.get("level") in ("ERROR", "CRITICAL"):
                lines.append(f"{event['__typename']}: {event['message']}")
        return lines

    def wait_for_success(self, run: dict[str, Any], timeout: float = RUN_SECONDS) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while run["status"] not in TERMINAL:
            if time.monotonic() > deadline:
                pytest.fail(f"run {run['runId']} ({run['jobName']}) still {run['status']} after {timeout:.0f}s")
            time.sleep(0.5)
            (run,) = self.runs(runIds=[run["runId"]])
        if run["status"] != "SUCCESS":
            errors = "\n".join(self.run_errors(run["runId"])) or "(no error event)"
            pytest.fail(f"run {run['runId']} of {run['jobName']} ended {run['status']}:\n{errors}", pytrace=False)
        return run


def _ui_ready(ui: Ui) -> bool:
    try:
        httpx.get(f"{ui.url}/server_info", timeout=5).raise_for_status()
        answer = ui.graphql(WORKSPACE)["workspaceOrError"]
    except httpx.HTTPError:
        return False
    assert answer["__typename"] == "Workspace", answer
    entries = {entry["name"]: entry for entry in answer["locationEntries"]}
    iec = entries.get("iec")
    if iec is None or iec["loadStatus"] != "LOADED":
        return False
    loaded = iec["locationOrLoadError"] or {}
    if loaded.get("__typename") == "PythonError":
        pytest.fail(f"the code location `iec` did not load:\n{loaded['message']}", pytrace=False)
    return True


def _dagster_processes(home: str, besides: set[int]) -> list[psutil.Process]:
    """Processes (but `besides` and this one) whose environment has DAGSTER_HOME=`home`."""
    found = []
    for process in psutil.process_iter():
        if process.pid in besides or process.pid == os.getpid():
            continue
        try:
            if process.environ().get("DAGSTER_HOME") == home:
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


@pytest.fixture
def demo(tmp_path) -> Iterator[playground.Playground]:
    """The demo's state: the sample catalog synced and delivered (runs in the instance), then a changed price."""
    database = f"akeneo_iec_ui_{os.getpid()}"
    with playground.start(tmp_path, akeneo_database=database) as p:
        with AkeneoSeeder(p.mock.url) as seeder:
            seeder.seed()
        ok(p.iec("sync", "--full"))
        ok(p.iec("deliver", "--wait", "--timeout", "300"))
        assert p.magento("products/jeans-slim")["price"] != 49.9
        with AkeneoSeeder(p.mock.url) as seeder:
            price = [v([{"amount": "49.90", "currency": "EUR"}, {"amount": "54.00", "currency": "USD"}])]
            seeder.upsert("products-uuid", product_uuid("jeans-slim"), {"values": {"price": price}})
        yield p
    akeneo_mock.drop_database(database)


@pytest.fixture
def ui(demo, tmp_path) -> Iterator[Ui]:
    """`iec ui` (dagster dev: webserver + daemon) on the demo's state, in its own session so that its whole
    process group can be stopped; it runs in tmp_path, as Dagster lets a `.env` of its directory win."""
    port = free_port()
    log = tmp_path / "ui.log"
    path = os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "iec_pipeline.cli", "ui", "--host", "127.0.0.1", "--port", str(port)],
            env={**os.environ, **demo.env, "PYTHONPATH": path}, cwd=tmp_path, stdout=out, stderr=out,
            start_new_session=True, preexec_fn=sigint_handled,
        )  # fmt: skip
    started = Ui(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + UI_START_SECONDS
        while not _ui_ready(started):
            if process.poll() is not None:
                pytest.fail(f"`iec ui` exited with {process.returncode}:\n{started.log_tail()}", pytrace=False)
            if time.monotonic() > deadline:
                pytest.fail(f"`iec ui` not ready within {UI_START_SECONDS}s:\n{started.log_tail()}", pytrace=False)
            time.sleep(0.5)
        # A new DAGSTER_HOME: the UI would ask once, over any page, to join Dagster's community.
        started.graphql("mutation { setNuxSeen }")
        yield started
    finally:
        signals = stop_group(process)  # SIGINT (Ctrl-C), then SIGTERM, then SIGKILL, each after a grace period
        # What `iec ui` started: the playground's own processes (the Magento sandbox) have this DAGSTER_HOME too.
        home, playground_pids = demo.env["DAGSTER_HOME"], {p.pid for p in demo.processes}
        deadline = time.monotonic() + 10
        while (left := _dagster_processes(home, playground_pids)) and time.monotonic() < deadline:
            time.sleep(0.2)
        strays = []
        for stray in left:  # none should be: killed so the session leaks nothing, then reported
            with contextlib.suppress(psutil.Error):
                strays.append(f"{stray.pid} {' '.join(stray.cmdline())}")
                stray.kill()
    # Reached when the UI started (a failure to start is the error to report, not how it stopped).
    assert not left, f"processes of DAGSTER_HOME={home} outlived `iec ui`: {strays}"
    assert "SIGKILL" not in signals, f"`iec ui` stopped only on {signals}:\n{started.log_tail()}"


# --- the browser --------------------------------------------------------------------------------------


def screenshot_path(tmp_path: Path, name: str) -> Path:
    wanted = os.environ.get(SCREENSHOTS_ENV)
    directory = Path(wanted) if wanted else tmp_path
    directory.mkdir(parents=True, exist_ok=True)
    return directory / name


@pytest.fixture
def page(request, chromium, tmp_path) -> Iterator[Page]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.set_default_timeout(30_000)
            # Should the UI still ask to join Dagster's community (see the `ui` fixture), the answer is no.
            page.add_locator_handler(
                page.get_by_text("Join the Dagster community"),
                lambda: page.get_by_role("button", name="Skip", exact=True).click(),
            )
            yield page
            report = getattr(request.node, "report_call", None)  # set by tests/ui/conftest.py
            if report is not None and report.failed:
                page.screenshot(path=tmp_path / "failure.png")
                print(f"the page when the test failed: {tmp_path / 'failure.png'} ({page.url}); UI log: ui.log")
        finally:
            browser.close()


def _numbers(path: str) -> list[float]:
    return [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", path)]


@dataclass
class Lineage:
    """The asset nodes drawn on the graph: their labels (middle-truncated when long) and colors (green:
    materialized); the edges drawn between them, as (source, target) indices."""

    labels: list[str]
    colors: list[str]
    edges: set[tuple[int, int]]


def rendered_lineage(page: Page) -> Lineage:
    """What the graph draws. An edge leaves its source's right side and ends at its target's left side
    (the graph's horizontal layout); a node far enough from the eye is a box of its status's color."""
    drawn = page.get_by_text("catalog_diff", exact=True).evaluate(
        """label => {
          const svg = label.closest("svg");
          const boxes = [...svg.querySelectorAll("foreignObject")].map(f => ({
            label: f.textContent.trim(), x: +f.getAttribute("x"), y: +f.getAttribute("y"),
            w: +f.getAttribute("width"), h: +f.getAttribute("height"),
            style: f.querySelector("[style*='--minimal-bg']")?.getAttribute("style") || ""}));
          const edges = [...svg.querySelectorAll("path[marker-end]")].map(p => p.getAttribute("d"));
          return {boxes, edges};
        }"""
    )
    nodes = [b for b in drawn["boxes"] if re.fullmatch(r"(akeneo_\S+|catalog_diff|integration_\S+)", b["label"])]

    def node_at(x: float, y: float, side: str) -> int | None:
        for index, n in enumerate(nodes):
            edge_x = n["x"] + n["w"] if side == "right" else n["x"]
            if abs(x - edge_x) <= 10 and n["y"] <= y <= n["y"] + n["h"]:
                return index
        return None

    edges = set()
    for d in drawn["edges"]:
        numbers = _numbers(d)
        source, target = node_at(numbers[0], numbers[1], "right"), node_at(numbers[-2], numbers[-1], "left")
        if source is not None and target is not None:
            edges.add((source, target))
    colors = [re.search(r"--minimal-bg:\s*var\(--color-background-(\w+)", n["style"]) for n in nodes]
    return Lineage([n["label"] for n in nodes], [c.group(1) if c else "?" for c in colors], edges)


def eventually(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError as error:
            if time.monotonic() > deadline:
                raise AssertionError(f"not within {timeout:.0f}s: {what}: {error}") from error
            time.sleep(0.5)


# --- the test -----------------------------------------------------------------------------------------


def test_asset_graph_and_a_full_sync_launched_from_the_ui_reaching_magento(chromium, demo, ui, page, tmp_path):
    # `chromium` first: without a browser the test fails before it starts anything.
    # The asset graph: every Akeneo asset feeds catalog_diff, which feeds the integration's asset.
    groups: dict[str, set[str]] = {}
    for node in ui.graphql(ASSETS)["assetNodes"]:
        groups.setdefault(node["groupName"], set()).add("/".join(node["assetKey"]["path"]))
    assert {"akeneo_attributes", "akeneo_products", "akeneo_products_by_family"} <= groups["akeneo"], groups
    assert groups["catalog"] == {"catalog_diff"} and groups["integrations"] == {"integration_shop"}, groups

    page.goto(f"{ui.url}/asset-groups")
    page.get_by_role("button", name="settings", exact=True).click()  # the graph's options, by the zoom
    page.get_by_role("menuitem", name="Expand all groups").click()
    page.keyboard.press("Escape")
    for label in ("akeneo_attributes", "akeneo_products", "catalog_diff", "integration_shop"):
        expect(page.get_by_text(label, exact=True)).to_be_visible()

    def lineage_drawn() -> None:
        drawn = rendered_lineage(page)
        labels, edges = drawn.labels, drawn.edges
        akeneo = [i for i, label in enumerate(labels) if label.startswith("akeneo_")]
        assert len(akeneo) == len(groups["akeneo"]), labels
        diff, shop = labels.index("catalog_diff"), labels.index("integration_shop")
        assert not [labels[i] for i in akeneo if (i, diff) not in edges], (labels, edges)
        assert (diff, shop) in edges, (labels, edges)
        # The demo's state: everything synced and delivered (also: the statuses have loaded).
        assert set(drawn.colors) == {"green"}, dict(zip(labels, drawn.colors, strict=True))

    eventually(lineage_drawn, 15, "the graph draws akeneo_* -> catalog_diff -> integration_shop, materialized")
    page.mouse.move(0, VIEWPORT["height"] - 1)
    page.screenshot(path=screenshot_path(tmp_path, "ui-asset-graph.png"))

    # The full sync, launched by clicks on its job page ("Materialize all": the job's config defaults).
    page.goto(f"{ui.url}/locations/iec/jobs/full_sync")
    page.get_by_role("button", name=re.compile(r"Materialize all$")).click()
    launched = page.get_by_text(re.compile(r"Launched run [0-9a-f]{8}"))
    confirm = page.get_by_role("dialog").filter(has_not_text="Join the Dagster community")
    expect(launched.or_(confirm)).to_be_visible()
    if not launched.is_visible():  # a confirmation, should this Dagster ask for one
        confirm.get_by_role("button", name=re.compile(r"Launch|Materialize")).last.click()
    expect(launched).to_be_visible()
    short = re.search(r"[0-9a-f]{8}", launched.inner_text()).group()
    page.locator(f'a[href^="/runs/{short}"]').click()  # the toast's "View"
    expect(page).to_have_url(re.compile(rf"/runs/{short}[0-9a-f-]+"))
    run_id = page.url.rsplit("/", 1)[-1].split("?")[0]
    (sync,) = ui.runs(runIds=[run_id])
    assert sync["jobName"] == "full_sync"
    sync = ui.wait_for_success(sync)
    expect(page.get_by_text("Success", exact=True).first).to_be_visible()

    # The delivery sensor (every 5 s) starts mutation_delivery for what the sync found due.
    def delivery_runs() -> list[dict[str, Any]]:
        runs = ui.runs(
            pipelineName="mutation_delivery", tags=[{"key": "dagster/sensor_name", "value": "delivery_sensor"}]
        )
        runs = [r for r in runs if r["creationTime"] >= sync["creationTime"]]
        assert runs, "no mutation_delivery run of the delivery sensor yet"
        return runs

    deliveries = eventually(delivery_runs, 60, "a delivery run after the sync")
    for run in deliveries:
        ui.wait_for_success(run)
    delivery = deliveries[-1]  # the first the sensor started
    short = delivery["runId"][:8]

    page.goto(f"{ui.url}/runs")
    link = page.get_by_role("link", name=f"run {short}", exact=True)
    row = page.locator("[data-index]").filter(has=link)  # the runs table is virtualized: rows are divs
    expect(row).to_contain_text("mutation_delivery")
    expect(row).to_contain_text("delivery_sensor")
    expect(row).to_contain_text("Success")
    link.click()
    expect(page).to_have_url(re.compile(rf"/runs/{delivery['runId']}"))
    expect(page.get_by_text("delivery_sensor").first).to_be_visible()
    expect(page.get_by_text("Success", exact=True).first).to_be_visible()
    expect(page.get_by_text("RUN_SUCCESS").first).to_be_visible()
    # The screenshot shows the run's own log lines (what it delivered): Dagster's events hidden.
    page.get_by_role("button", name=re.compile(r"Levels \(\d")).click()
    page.get_by_role("menuitem", name=re.compile(r"^event")).click()
    page.keyboard.press("Escape")
    expect(page.get_by_text("RUN_SUCCESS")).to_have_count(0)
    page.wait_for_timeout(1000)  # the step chart's last transition
    page.screenshot(path=screenshot_path(tmp_path, "ui-delivery-run.png"))

    assert demo.magento("products/jeans-slim")["price"] == 49.9

    # A run `iec sync` made is the akeneo_sync job's, listed on its page and re-executed from the UI
    # as one of its own: no "different code location" warning, and the new run succeeds.
    (cli_sync,) = ui.runs(pipelineName="akeneo_sync")
    page.goto(f"{ui.url}/locations/iec/jobs/akeneo_sync/runs")
    expect(page.get_by_role("link", name=f"run {cli_sync['runId'][:8]}", exact=True)).to_be_visible()
    page.goto(f"{ui.url}/runs/{cli_sync['runId']}")
    page.get_by_role("button", name=re.compile(r"^Re-execute all")).click()
    expect(page).to_have_url(re.compile(r"/runs/(?!" + cli_sync["runId"] + r")[0-9a-f-]{36}"), timeout=30_000)
    expect(page.get_by_text(re.compile("different code location"))).to_have_count(0)
    (again,) = ui.runs(runIds=[page.url.rsplit("/", 1)[-1].split("?")[0]])
    assert again["jobName"] == "akeneo_sync"
    ui.wait_for_success(again)
