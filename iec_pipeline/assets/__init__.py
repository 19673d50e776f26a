"""The assets every deployment has, gathered from the stages that define them (`ingest`, `diff`);
one asset per integration joins them in `definitions` (`delivery.assets`)."""

from iec_pipeline.diff.assets import catalog_diff
from iec_pipeline.ingest.assets import family_assets, fetch_assets

assets = [*fetch_assets, *family_assets, catalog_diff]
