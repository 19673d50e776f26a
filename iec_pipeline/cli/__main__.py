"""`python -m iec_pipeline.cli`: the same as the `iec` console script."""

from iec_pipeline.cli import run

run()
