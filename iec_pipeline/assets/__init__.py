"""Ingestion and diff assets."""

import warnings

import dagster as dg

# Dagster's own beta notices (single-run backfill policy, sensor owners): accepted, not news to operators.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
