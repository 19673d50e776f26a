"""Routing: which integrations get which mutation, with what priority and queue.

- `integrations`: the integrations YAML, validated against each driver, synced to the store;
- `connections`: entities connected to `scope: connected` integrations;
- `queues`: priorities and queues (IEC's QueueResolver);
- `fanout`: one job per (mutation, integration), in the diff's transaction;
- `mutations`: mutations as drivers receive them;
- `resource`: the integrations file as a Dagster resource.
"""
