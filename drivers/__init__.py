"""IEC drivers: the contract (base, models, context), discovery, and the built-in drivers."""

from drivers.base import Driver, Hook, HookVeto, Secret
from drivers.context import EntityMappingService, InMemoryMappings, IntegrationContext
from drivers.models import DeliveryResult, MappingData, MutationData, entity_uuid

__all__ = [
    "DeliveryResult",
    "Driver",
    "EntityMappingService",
    "Hook",
    "HookVeto",
    "InMemoryMappings",
    "IntegrationContext",
    "MappingData",
    "MutationData",
    "Secret",
    "entity_uuid",
]
