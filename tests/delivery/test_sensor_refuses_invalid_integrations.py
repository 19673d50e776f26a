"""A daemon started directly (`dagster-daemon run`, not `iec daemon`) never delivers on an invalid
integrations file: the delivery sensor's tick fails with every problem the validation finds (what the UI's
sensor page and the daemon's log show) and requests nothing; the same file made valid, it delivers."""

from __future__ import annotations

import dagster as dg
import pytest
import yaml

from iec_pipeline.delivery.sensor import delivery_sensor
from iec_pipeline.routing.integrations import IntegrationConfigError
from iec_pipeline.store.db import upgrade
from iec_pipeline.store.resource import StoreResource
from tests.support.delivery import webhook

pytestmark = pytest.mark.fast


def tick(instance: dg.DagsterInstance, url: str) -> dg.SensorResult:
    with dg.build_sensor_context(instance=instance, resources={"store": StoreResource(database_url=url)}) as context:
        return delivery_sensor(context)


def test_the_delivery_sensor_fails_its_ticks_on_an_invalid_integrations_file(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade(url)
    path = tmp_path / "integrations.yaml"
    monkeypatch.setenv("IEC_INTEGRATIONS", str(path))
    monkeypatch.delenv("HOOK_SECRET", raising=False)
    broken = {**webhook("shop", "http://127.0.0.1:9/hook"), "driver": "webhok"}
    path.write_text(yaml.safe_dump({"integrations": [webhook("search", "http://127.0.0.1:9/hook"), broken]}))
    with dg.instance_for_test() as instance:
        with pytest.raises(IntegrationConfigError) as raised:
            tick(instance, url)
        message = str(raised.value)
        assert "environment variable HOOK_SECRET is not set" in message and "webhok" in message, message
        monkeypatch.setenv("HOOK_SECRET", "set-now")
        path.write_text(yaml.safe_dump({"integrations": [webhook("search", "http://127.0.0.1:9/hook")]}))
        result = tick(instance, url)
        assert result.run_requests == [] and "no job is due" in result.skip_reason.skip_message  # type: ignore[union-attr]
