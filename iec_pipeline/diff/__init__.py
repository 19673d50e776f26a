"""Diff: staged snapshot vs store -> mutations, applied with the store upsert in one transaction.

- `apply`: the set-based diff (IEC's EntityObserver + TracksEavChanges);
- `payloads`: IEC payloads built from the store; `changes`: changed fields;
- `assets`: `catalog_diff` (which also fans out and marks webhook drops, in the same transaction);
  `checks`: its asset checks.
"""
