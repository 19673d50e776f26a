"""Shared helpers for the benchmarks: mock Akeneo databases seeded once, timed subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from devtools import akeneo_mock
from devtools.sample_catalog import AkeneoSeeder, generated_products

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / ".data"
CREDENTIALS = {
    "AKENEO_CLIENT_ID": "bench",
    "AKENEO_CLIENT_SECRET": "bench-secret",
    "AKENEO_USERNAME": "bench",
    "AKENEO_PASSWORD": "bench-password",
}


def seeded_mock(products: int) -> akeneo_mock.MockAkeneo:
    """A mock Akeneo holding the sample catalog plus `products` generated products (seeded once per database)."""
    name = f"akeneo_iec_bench_{products}"
    mock = akeneo_mock.start(name, log_path=str(DATA / f"{name}.log"))
    count = httpx.get(f"{mock.url}/api/rest/v1/products-uuid", params={"limit": 1, "with_count": "true"}).json()
    have = count.get("items_count")
    if have is None:
        have = _count_products(mock.url)
    if have < products:
        print(f"seeding {products - have:,} products into {name} (once per database)...", flush=True)
        started = time.monotonic()
        with AkeneoSeeder(mock.url) as seeder:
            if have == 0:
                seeder.seed_structure()
            seeder.patch_products(generated_products(products - have, start=have))
        print(f"  seeded in {time.monotonic() - started:.0f}s", flush=True)
    return mock


def _count_products(url: str) -> int:
    total, next_url = 0, f"{url}/api/rest/v1/products-uuid?limit=100&pagination_type=search_after"
    while next_url:
        page = httpx.get(next_url, timeout=60).json()
        total += len(page["_embedded"]["items"])
        next_url = page["_links"].get("next", {}).get("href")
        next_url = next_url and (next_url if next_url.startswith("http") else url + next_url)
    return total


@dataclass
class Timed:
    seconds: float
    max_rss_mb: float
    returncode: int
    stdout: str
    stderr: str


def run_timed(args: list[str], env: dict[str, str]) -> Timed:
    """Runs a command, returning wall time and the peak RSS of that process (os.wait4)."""
    started = time.monotonic()
    out, err = open(DATA / "last.out", "w+"), open(DATA / "last.err", "w+")  # noqa: SIM115
    process = subprocess.Popen(args, env={**os.environ, **env}, stdout=out, stderr=err)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - started
    out.seek(0)
    err.seek(0)
    return Timed(seconds, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), out.read(), err.read())


def iec(*args: str) -> list[str]:
    return [sys.executable, "-m", "iec_pipeline.cli", *args]


def wait_healthy(process: subprocess.Popen, url: str, log: Path, timeout: float = 60) -> subprocess.Popen:
    """Waits until `url` answers 200 (a receiver's /healthz); the process's log tells why when it exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the process exited with code {process.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"{url} did not answer within {timeout:g} s")
