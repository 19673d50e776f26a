"""Every asset of the code location, gathered from the stages that define them (`ingest`, `diff`)."""

from iec_pipeline.diff.assets import catalog_diff
from iec_pipeline.ingest.assets import fetch_assets

assets = [*fetch_assets, catalog_diff]
