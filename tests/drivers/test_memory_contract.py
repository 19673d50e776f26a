"""The in-memory driver keeps the driver contract like any other driver."""

from __future__ import annotations

import pytest

from drivers.memory import MemoryDriver, target
from drivers.models import MutationData, entity_uuid
from drivers.testing import DriverContractSuite

pytestmark = pytest.mark.fast


class TestMemoryDriver(DriverContractSuite):
    @pytest.fixture
    def driver(self) -> MemoryDriver:
        return MemoryDriver(target="contract", fail_codes=["refused"])

    @pytest.fixture
    def sample_mutations(self) -> list[MutationData]:
        return [
            MutationData(mutation_id=1, entity_type="category", entity_uuid=entity_uuid("category", "tops"),
                         code="tops", operation="created", payload={"code": "tops"}),
            MutationData(mutation_id=2, entity_type="category", entity_uuid=entity_uuid("category", "refused"),
                         code="refused", operation="created", payload={"code": "refused"}),
            MutationData(mutation_id=3, entity_type="category", entity_uuid=entity_uuid("category", "tops"),
                         code="tops", operation="deleted", payload={"code": "tops"}),
        ]  # fmt: skip

    def test_what_it_holds_follows_what_it_was_sent(self, driver, context, sample_mutations):
        created, refused, deleted = sample_mutations
        results = driver.handle_batch([created, refused], context)
        assert [r.status for r in results] == ["success", "permanent"]
        assert target("contract").entities[("category", "tops")] == {"code": "tops"}
        assert driver.handle(deleted, context).forget_mapping
        assert ("category", "tops") not in target("contract").entities
