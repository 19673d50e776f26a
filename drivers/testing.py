"""A reusable contract suite for drivers: `from drivers.testing import DriverContractSuite`.

A driver package subclasses it in its own tests and provides the fixtures:

    class TestMyDriver(DriverContractSuite):
        @pytest.fixture
        def driver(self): return MyDriver(url=...)          # configured against a real or local target
        @pytest.fixture
        def sample_mutations(self): return [MutationData(...), ...]  # one per supported entity type

Each test states a promise IEC relies on.
"""

from __future__ import annotations

import pytest

from drivers.base import HOOK_POINTS, Driver
from drivers.context import InMemoryMappings, IntegrationContext
from drivers.models import ENTITY_TYPES, DeliveryResult, MutationData


class DriverContractSuite:
    @pytest.fixture
    def driver(self) -> Driver:  # pragma: no cover - provided by the subclass
        raise NotImplementedError("provide a `driver` fixture")

    @pytest.fixture
    def sample_mutations(self) -> list[MutationData]:  # pragma: no cover - provided by the subclass
        raise NotImplementedError("provide a `sample_mutations` fixture")

    @pytest.fixture
    def context(self, driver: Driver) -> IntegrationContext:
        return IntegrationContext(integration="contract-test", mappings=InMemoryMappings("contract-test"))

    def test_identity_is_declared(self, driver: Driver) -> None:
        for attribute in ("name", "type", "version", "description"):
            assert isinstance(getattr(type(driver), attribute), str) and getattr(type(driver), attribute)
        assert type(driver).name != "abstract"

    def test_supported_entity_types_are_iec_types(self, driver: Driver) -> None:
        assert type(driver).supported_entity_types
        assert set(type(driver).supported_entity_types) <= set(ENTITY_TYPES)

    def test_hooks_name_known_points_and_existing_methods(self, driver: Driver) -> None:
        for hook in type(driver).hooks:
            assert hook.point in HOOK_POINTS
            assert hook.mode in ("sync", "async")
            assert callable(getattr(driver, hook.method, None))

    def test_configuration_is_described(self, driver: Driver) -> None:
        described = type(driver).describe()
        names = {f["name"] for f in described["configuration"]}
        assert names == set(type(driver).model_fields)
        assert all(f["description"] for f in described["configuration"]), "every field says what it is"

    def test_handle_batch_returns_one_result_per_mutation_in_order(
        self, driver: Driver, context: IntegrationContext, sample_mutations: list[MutationData]
    ) -> None:
        driver.open(context)
        try:
            results = driver.handle_batch(sample_mutations, context)
        finally:
            driver.close()
        assert len(results) == len(sample_mutations)
        assert all(isinstance(r, DeliveryResult) for r in results)

    def test_redelivering_the_same_mutation_is_safe(
        self, driver: Driver, context: IntegrationContext, sample_mutations: list[MutationData]
    ) -> None:
        driver.open(context)
        try:
            first = driver.handle_batch(sample_mutations, context)
            again = driver.handle_batch(sample_mutations, context)
        finally:
            driver.close()
        assert [r.status for r in again] == [r.status for r in first]
