"""The bottom layer: what every stage shares (clock, entity types, settings, worker processes,
heap settings, fault points, what Dagster says about runs). It imports no other IEC module."""
