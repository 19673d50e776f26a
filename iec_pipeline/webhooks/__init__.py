"""Akeneo webhooks, beside ingest: signed events recorded as drops, then refreshed by a sensor.

- `events`: body -> drops (pure parsing, both Akeneo schemes);
- `writer`: drops -> `webhook_drops` (one durable transaction per request, deduplicated on event_id);
- `receiver`: the HTTP endpoint (`create_app`, `serve`; `python -m iec_pipeline.webhooks.receiver`);
- `drops`: drops waiting for a refresh, marking them processed, the view behind `iec drops --json`;
- `sensor`: new drops -> one debounced refresh run of the sync job;
- `subscribe`: registers the receiver with Akeneo's Event Platform.
"""
