"""Ingestion benchmark: `iec sync --full` against the raw listing speed of the server.

Prints, in one run: the raw listing time of all products (plain httpx, `search_after`: the limit
the server sets), the first full sync and its ratio to that, an unchanged re-sync and its ratio,
and the peak RSS of the sync at 10,000 and 50,000 products. Each sync is compared with a listing
taken just before it, over two rounds. Targets: first sync <= 2.0x listing,
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


def listing_now(url: str) -> float:
    """The server's listing speed right now: the best of two passes."""
    return min(raw_listing(url)[0], raw_listing(url)[0])


def measure(products: int, rounds: int = 2) -> dict:
    """Each timed sync is compared with a listing taken just before it: the mock's speed drifts by
    10-20% within minutes here, more than any one listing would tell. Two rounds (each a fresh store:
    a first sync, then an unchanged re-sync); the ratios reported are the means of the rounds."""
    mock = seeded_mock(products)
    try:
        count = raw_listing(mock.url)[1]  # also warms the server (its database caches, its process)
        firsts: list[tuple[float, float]] = []  # (sync seconds, listing seconds just before)
        resyncs: list[tuple[float, float]] = []
        peak_rss, summaries = 0.0, []
        for _ in range(rounds):
            work = DATA / f"ingest_{products}"
            shutil.rmtree(work, ignore_errors=True)
            (work / "dagster_home").mkdir(parents=True)
            env = {
                **CREDENTIALS,
                "AKENEO_URL": mock.url,
                "IEC_DATABASE_URL": f"sqlite:///{work / 'iec.db'}",
                "DAGSTER_HOME": str(work / "dagster_home"),
                # No integrations: the sync alone (a `.env` in the working directory must not add one).
                "IEC_INTEGRATIONS": str(work / "no-integrations.yaml"),
            }
            listing = listing_now(mock.url)
            first = run_timed(iec("sync", "--full", "--json"), env)
            assert first.returncode == 0, first.stderr[-2000:]
            firsts.append((first.seconds, listing))
            peak_rss = max(peak_rss, first.max_rss_mb)
            listing = listing_now(mock.url)
            again = run_timed(iec("sync", "--full", "--json"), env)
            assert again.returncode == 0, again.stderr[-2000:]
            resyncs.append((again.seconds, listing))
            summaries.append((json.loads(first.stdout)["mutations"], json.loads(again.stdout)["mutations"]))

        def mean(pairs: list[tuple[float, float]], index: int | None = None) -> float:
            values = [p[0] / p[1] for p in pairs] if index is None else [p[index] for p in pairs]
            return sum(values) / len(values)

        return {
            "products": count,
            "listing_s": mean(firsts + resyncs, 1),
            "first_sync_s": mean(firsts, 0),
            "first_ratio": mean(firsts),
            "first_ratios": [round(s / listing, 2) for s, listing in firsts],
            "resync_s": mean(resyncs, 0),
            "resync_ratio": mean(resyncs),
            "resync_ratios": [round(s / listing, 2) for s, listing in resyncs],
            "peak_rss_mb": peak_rss,
            "mutations": summaries[0][0],
            "resync_mutations": summaries[0][1],
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
            f"{r['first_sync_s']:.1f}s = {r['first_ratio']:.2f}x {r['first_ratios']} (target <= 2.0x) | unchanged "
            f"re-sync {r['resync_s']:.1f}s = {r['resync_ratio']:.2f}x {r['resync_ratios']} (target <= 1.5x) | peak RSS "
            f"{r['peak_rss_mb']:.0f} MB"
            f" | mutations {r['mutations']} then {r['resync_mutations']}"
        )
    rss_ratio = large["peak_rss_mb"] / small["peak_rss_mb"]
    print(f"ingest peak RSS 50k/10k: {rss_ratio:.2f}x (target <= 1.5x)")
    return {"small": small, "large": large, "rss_ratio": rss_ratio}


if __name__ == "__main__":
    main()
