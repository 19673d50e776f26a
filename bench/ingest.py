"""Ingestion benchmark (issue 3): `iec sync --full` against the raw listing speed of the server.

Prints, in one run: the raw listing time of all products (plain httpx, `search_after`: the limit
the server sets), the first full sync and its ratio to that, an unchanged re-sync and its ratio,
and the peak RSS of the sync at 10,000 and 50,000 products. Targets: first sync <= 2.0x listing,
unchanged re-sync <= 1.5x, peak RSS at 50k <= 1.5x the peak at 10k.
"""

from __future__ import annotations

import json
import shutil
import time

import httpx

from bench.common import CREDENTIALS, DATA, iec, run_timed, seeded_mock


def raw_listing(url: str) -> tuple[float, int]:
    started, count = time.monotonic(), 0
    with httpx.Client(timeout=60) as http:
        token = http.post(f"{url}/api/oauth/v1/token", json={"grant_type": "password"}, auth=("b", "b")).json()
        http.headers["Authorization"] = f"Bearer {token['access_token']}"
        next_url = f"{url}/api/rest/v1/products-uuid?limit=100&pagination_type=search_after"
        while next_url:
            page = http.get(next_url).json()
            count += len(page["_embedded"]["items"])
            next_url = page["_links"].get("next", {}).get("href")
            next_url = next_url and (next_url if next_url.startswith("http") else url + next_url)
    return time.monotonic() - started, count


def measure(products: int) -> dict:
    mock = seeded_mock(products)
    try:
        work = DATA / f"ingest_{products}"
        shutil.rmtree(work, ignore_errors=True)
        (work / "dagster_home").mkdir(parents=True)
        env = {
            **CREDENTIALS,
            "AKENEO_URL": mock.url,
            "IEC_DATABASE_URL": f"sqlite:///{work / 'iec.db'}",
            "DAGSTER_HOME": str(work / "dagster_home"),
        }
        # A first pass warms the server (its database caches, its process): the timed passes and the
        # syncs after them then all read from a warm server. The listing is the best of two passes.
        raw_listing(mock.url)
        listing, count = min(raw_listing(mock.url), raw_listing(mock.url))
        first = run_timed(iec("sync", "--full", "--json"), env)
        assert first.returncode == 0, first.stderr[-2000:]
        summary = json.loads(first.stdout)
        again = run_timed(iec("sync", "--full", "--json"), env)
        assert again.returncode == 0, again.stderr[-2000:]
        unchanged = json.loads(again.stdout)
        return {
            "products": count,
            "listing_s": listing,
            "first_sync_s": first.seconds,
            "first_ratio": first.seconds / listing,
            "resync_s": again.seconds,
            "resync_ratio": again.seconds / listing,
            "peak_rss_mb": first.max_rss_mb,
            "mutations": summary["mutations"],
            "resync_mutations": unchanged["mutations"],
        }
    finally:
        mock.stop()


def main() -> dict:
    DATA.mkdir(parents=True, exist_ok=True)
    small = measure(10_000)
    large = measure(50_000)
    for r in (small, large):
        print(
            f"ingest {r['products']:>6,} products: raw listing {r['listing_s']:.1f}s | first full sync "
            f"{r['first_sync_s']:.1f}s = {r['first_ratio']:.2f}x (target <= 2.0x) | unchanged re-sync "
            f"{r['resync_s']:.1f}s = {r['resync_ratio']:.2f}x (target <= 1.5x) | peak RSS {r['peak_rss_mb']:.0f} MB"
            f" | mutations {r['mutations']} then {r['resync_mutations']}"
        )
    rss_ratio = large["peak_rss_mb"] / small["peak_rss_mb"]
    print(f"ingest peak RSS 50k/10k: {rss_ratio:.2f}x (target <= 1.5x)")
    return {"small": small, "large": large, "rss_ratio": rss_ratio}


if __name__ == "__main__":
    main()
