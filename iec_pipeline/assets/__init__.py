"""Ingestion and diff assets."""

import warnings

import dagster as dg

# Single-run backfills are what make a range backfill one Akeneo query per type: accepted as beta.
warnings.filterwarnings("ignore", category=dg.BetaWarning, message=".*backfill_policy.*")
