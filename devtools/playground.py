"""A local playground: akeneo-mock-server, the Magento 2 sandbox and IEC wired together.

`make demo`, the end-to-end tests and the latency benchmark all run the whole path on it:
Akeneo (mock, on PostgreSQL) -> sync -> diff -> fan-out -> delivery -> Magento (sandbox), plus the
webhook receiver and the Dagster daemon when asked. Every process runs on loopback and stops with it.

`start(..., sellable=True)` is the shop a catalog can sell from (`make demo`, tests/flow/test_sellable_*):
Akeneo's media files served for real (devtools.akeneo_media's layer in front of the mock: AKENEO_URL is
the layer's), a sandbox with two websites (`base`: default, fr, de; `mobile`: mobile) and the integration
of `sellable_integration()`: images with roles, files as URLs, links and grouped products, stock,
the `ecommerce` channel on website 1 and `mobile` on website 2.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from devtools import akeneo_mock
from devtools.akeneo_media import AkeneoMediaLayer
from devtools.ports import free_port
from iec_pipeline.common.settings import PROJECT_ROOT

MAGENTO_TOKEN_ENV = "IEC_DEMO_MAGENTO_TOKEN"
STORE_VIEWS = {"fr_FR": "fr", "de_DE": "de"}
# The sellable shop's Magento: website 1 ("base") for the ecommerce channel, website 2 for mobile.
SELLABLE_WEBSITES = {"base": ["default", "fr", "de"], "mobile": ["mobile"]}
FILE_BASE_URL = "https://media.shop.example/akeneo"  # where the shop's customers would download Akeneo files


def magento_integration(base_url: str, **configuration: Any) -> dict[str, Any]:
    return {
        "name": "shop",
        "driver": "magento2",
        "entity_types": [
            "attribute",
            "attribute_option",
            "family",
            "family_variant",
            "category",
            "product_model",
            "product",
        ],  # fmt: skip
        "priority_map": {"*": 150, "price": 10, "stock_qty": 10, "description": 240},
        "retry_attempts": 5,
        "retry_delay_seconds": 2,
        "configuration": {
            "base_url": base_url,
            "token": {"env": MAGENTO_TOKEN_ENV},
            "channel": "ecommerce",
            "currency": "EUR",
            "default_locale": "en_US",
            "store_views": STORE_VIEWS,
            "website_ids": [1],
            **configuration,
        },
    }


def sellable_integration(base_url: str, **configuration: Any) -> dict[str, Any]:
    """The shop integration with what makes products sellable: the reference data products need (channels,
    association types) among its entity types, images with roles, care sheets as URLs, associations as
    links and PACK as grouped products, stock from `stock_qty` (10 for a new product without one), and
    the two channels on the sandbox's two websites."""
    integration = magento_integration(base_url, **{
        "image_roles": {"main_image": ["image", "small_image", "thumbnail"]},
        "file_attributes": "url",
        "file_base_url": FILE_BASE_URL,
        "association_map": {"RELATED": "related", "UPSELL": "upsell", "X_SELL": "crosssell"},
        "grouped_from": "PACK",
        "stock": {"qty_attribute": "stock_qty", "default_qty": 10},
        "channel_websites": {"ecommerce": [1], "mobile": [2]},
        "store_view_locales": {"mobile": "en_US"},
        **configuration,
    })  # fmt: skip
    types = integration["entity_types"]
    integration["entity_types"] = [*types[:5], "channel", "association_type", *types[5:]]
    return integration


def _wait_http(url: str, process: subprocess.Popen, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode}")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"{what} did not answer within {timeout:.0f}s")


@dataclass
class Playground:
    workdir: Path
    mock: akeneo_mock.MockAkeneo
    magento_url: str
    magento_token: str
    env: dict[str, str]
    processes: list[subprocess.Popen] = field(default_factory=list)
    media: AkeneoMediaLayer | None = None  # Akeneo's media files in front of the mock (sellable playgrounds)

    @property
    def akeneo_url(self) -> str:
        """Where IEC and seeders reach Akeneo: the media layer when there is one, else the mock."""
        return self.media.base_url if self.media is not None else self.mock.url

    # --- processes ---------------------------------------------------------------------------

    def _spawn(self, args: list[str], log: str) -> subprocess.Popen:
        out = open(self.workdir / log, "ab")  # noqa: SIM115 - closed when the process ends
        # devtools is not installed: the checkout is put on the path, wherever this was started from
        path = os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))
        # From the workdir: a `.env` in the caller's directory (make demo leaves one) must not override it.
        process = subprocess.Popen(
            args, env={**os.environ, **self.env, "PYTHONPATH": path}, stdout=out, stderr=out, cwd=self.workdir
        )
        self.processes.append(process)
        return process

    def iec(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
        """Runs the `iec` CLI against this playground."""
        return subprocess.run(
            [sys.executable, "-m", "iec_pipeline.cli", *args],
            env={**os.environ, **self.env}, capture_output=True, text=True, timeout=timeout, cwd=self.workdir,
        )  # fmt: skip

    def start_receiver(self) -> str:
        """`iec webhooks serve` on a free port; returns its webhook URL."""
        port = free_port()
        process = self._spawn([sys.executable, "-m", "iec_pipeline.cli", "webhooks", "serve", "--port", str(port)],
                              "receiver.log")  # fmt: skip
        _wait_http(f"http://127.0.0.1:{port}/healthz", process, "the webhook receiver")
        return f"http://127.0.0.1:{port}/webhooks/akeneo"

    def start_daemon(self) -> subprocess.Popen:
        """`iec daemon`: the delivery and drops sensors, and the run queue."""
        return self._spawn([sys.executable, "-m", "iec_pipeline.cli", "daemon"], "daemon.log")

    def stop_process(self, process: subprocess.Popen) -> None:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def stop(self) -> None:
        for process in reversed(self.processes):
            self.stop_process(process)
        if self.media is not None:
            self.media.stop()
        self.mock.stop()

    def __enter__(self) -> Playground:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- Magento, as a client sees it -------------------------------------------------------------

    def magento(self, path: str, store: str = "all") -> Any:
        response = httpx.get(
            f"{self.magento_url}/rest/{store}/V1/{path.lstrip('/')}",
            headers={"Authorization": f"Bearer {self.magento_token}"}, timeout=30,
        )  # fmt: skip
        response.raise_for_status()
        return response.json()

    def sandbox(self, what: str) -> Any:
        return httpx.get(f"{self.magento_url}/__sandbox/{what}", timeout=30).json()


def start(
    workdir: Path,
    akeneo_database: str = "akeneo_iec_playground",
    store_url: str | None = None,
    dagster_home: Path | None = None,
    write_delay_ms: int = 0,
    integration: dict[str, Any] | None = None,
    fresh: bool = True,
    akeneo_port: int | None = None,
    magento_port: int | None = None,
    magento_token: str | None = None,
    sellable: bool = False,
) -> Playground:
    """Starts the mock Akeneo (emptied when `fresh`) and the Magento sandbox, and writes IEC's config.

    Ports are free ones unless given (`make demo-ui` starts the demo's peers again where they were).
    `sellable`: the media layer in front of the mock (on `akeneo_port` when given), the sandbox with
    SELLABLE_WEBSITES and `sellable_integration()` (unless `integration` is given)."""
    workdir.mkdir(parents=True, exist_ok=True)
    mock_port = None if sellable else akeneo_port
    mock = akeneo_mock.start(akeneo_database, port=mock_port, log_path=str(workdir / "akeneo-mock.log"))
    media: AkeneoMediaLayer | None = None
    try:
        if sellable:
            if fresh:
                shutil.rmtree(workdir / "akeneo-media", ignore_errors=True)
            media = AkeneoMediaLayer(mock.url, port=akeneo_port or 0, storage=workdir / "akeneo-media").start()
        if fresh:
            mock.clear()
        token = magento_token or secrets.token_hex(12)
        port = magento_port or free_port()
        home = dagster_home or workdir / "dagster_home"
        home.mkdir(parents=True, exist_ok=True)
        if not (home / "dagster.yaml").exists():
            shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
        magento_url = f"http://127.0.0.1:{port}"
        integrations = workdir / "integrations.yaml"
        default = sellable_integration if sellable else magento_integration
        integrations.write_text(yaml.safe_dump({"integrations": [integration or default(magento_url)]}))
        env = {
            "AKENEO_URL": media.base_url if media is not None else mock.url,
            "AKENEO_CLIENT_ID": "playground",
            "AKENEO_CLIENT_SECRET": secrets.token_hex(8),
            "AKENEO_USERNAME": "playground",
            "AKENEO_PASSWORD": secrets.token_hex(8),
            "IEC_DATABASE_URL": store_url or f"sqlite:///{workdir / 'iec.db'}",
            "DAGSTER_HOME": str(home),
            "IEC_INTEGRATIONS": str(integrations),
            MAGENTO_TOKEN_ENV: token,
            "AKENEO_WEBHOOK_SECRET": secrets.token_hex(16),
        }
        playground = Playground(workdir, mock, magento_url, token, env, media=media)
        websites = (
            ["--websites", ";".join(f"{code}={','.join(views)}" for code, views in SELLABLE_WEBSITES.items())]
            if sellable
            else []
        )
        sandbox = playground._spawn(
            [sys.executable, "-m", "devtools.magento_sandbox", "--port", str(port), "--token", token,
             "--store-views", "default,fr,de", "--write-delay-ms", str(write_delay_ms), *websites],
            "magento-sandbox.log",
        )  # fmt: skip
        _wait_http(f"{magento_url}/__sandbox/stats", sandbox, "the Magento sandbox")
        return playground
    except BaseException:
        if media is not None:
            media.stop()
        mock.stop()
        raise
