"""IEC on Dagster: Akeneo PIM -> local store -> mutations -> integrations. See README "Where things are"."""
