"""The integrations file as a Dagster resource: the diff reads it through this, never from os.environ."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import Field

from iec_pipeline.routing.integrations import LoadedIntegration, load


class IntegrationsResource(dg.ConfigurableResource):
    """The integrations YAML (`IEC_INTEGRATIONS`); a missing file means no integrations."""

    path: str = Field(description="Path of the integrations YAML")

    def load(self) -> list[LoadedIntegration]:
        """Every declared integration, validated against its driver (`IntegrationConfigError` lists every problem)."""
        return load(Path(self.path))
