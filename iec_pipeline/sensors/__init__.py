"""Every sensor of the code location, gathered from the stages that define them (`delivery`, `webhooks`)."""

from iec_pipeline.delivery.sensor import delivery_sensor
from iec_pipeline.webhooks.sensor import drops_sensor

sensors = [delivery_sensor, drops_sensor]
