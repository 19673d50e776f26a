"""Ingest: Akeneo -> staging, page by page, as partitioned Dagster assets.

- `akeneo`: the REST client (token, retries, pacing) and its Dagster resource; `pages`: listing pages;
- `plan`: a sync's mode -> what each type fetches; `fetch`: doing it; `normalize`: Akeneo items ->
  the store's canonical form; `staging`: writing pages; `stage_worker`: long listings staged by a worker;
- `assets`: one fetch asset per entity type; `partitions`; `jobs`, `requests`, `schedules`: the sync
  job, the one builder of its run requests, and its schedules.
"""
