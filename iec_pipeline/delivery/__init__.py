"""Delivery: due mutation jobs -> Dagster runs -> drivers, with leases, retries and dead letters.

- `ledger`: the `mutation_jobs` table (due groups, claims with a lease, results, recovery);
- `run`: one delivery run's work; `job`: it as a Dagster job; `sensor`: launches those runs;
- `requests`: the one builder of delivery run requests (sensor and CLI);
- `mappings`: IEC's entity mappings for drivers; `async_hooks`: parked jobs' async hooks.
"""
