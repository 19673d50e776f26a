"""A playground (mock Akeneo on PostgreSQL, the Magento sandbox, IEC's settings) with the sample catalog seeded."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from devtools import akeneo_mock, playground
from devtools.sample_catalog import AkeneoSeeder


@pytest.fixture
def seeded_playground(tmp_path, request) -> Iterator[playground.Playground]:
    database = f"akeneo_iec_{request.node.name[:30].lower()}_{os.getpid()}".replace("[", "_").replace("]", "_")
    with playground.start(tmp_path, akeneo_database=database) as p:
        with AkeneoSeeder(p.mock.url) as seeder:
            seeder.seed()
        yield p
    akeneo_mock.drop_database(database)
