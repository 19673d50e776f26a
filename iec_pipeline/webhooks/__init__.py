"""Akeneo webhooks: the receiver that records signed events as drops, and the subscription that sends them.

- `events`: body -> drops (pure parsing, both Akeneo schemes);
- `writer`: drops -> `webhook_drops` (one durable transaction per request, deduplicated on event_id);
- `receiver`: the HTTP endpoint (`create_app`, `serve`; `python -m iec_pipeline.webhooks.receiver`);
- `drops`: the read-only view behind `iec drops --json`;
- `subscribe`: registers the receiver with Akeneo's Event Platform.
"""
