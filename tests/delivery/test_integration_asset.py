"""An integration is an asset: each delivery run materializes it with what it did and where the
backlog stands, and its checks turn it red while jobs are dead or wait too long."""

from __future__ import annotations

import dagster as dg

from iec_pipeline.definitions import current
from iec_pipeline.delivery.sensor import delivery_sensor
from iec_pipeline.launch import run_sync
from tests.support import store
from tests.support.delivery import declare, deliver, jobs, webhook

SHOP = dg.AssetKey("integration_shop")


def _latest(instance: dg.DagsterInstance) -> dict:
    event = instance.get_latest_materialization_event(SHOP)
    return {key: value.value for key, value in event.asset_materialization.metadata.items()}


def test_a_delivery_leaving_a_dead_job_succeeds_and_fails_its_error_check(akeneo, iec_env, instance, webhook_target):
    declare(iec_env, webhook("shop", webhook_target.url, entity_types=["product"], retry_attempts=0))
    webhook_target.state.respond = lambda body: 422 if body["code"] == "gift-card" else None
    with akeneo.seeder() as seeder:
        seeder.seed()
    assert run_sync(instance, mode="full").success
    outcome = deliver(iec_env, instance)  # asserts the runs succeeded
    metadata = _latest(instance)
    assert metadata["dead_jobs"] == 1 and metadata["backlog"] == 0
    assert outcome.delivered == 9
    assert sum(_latest_per_run(instance, "delivered")) == 9
    evaluations = _check_evaluations(instance, outcome.runs)
    assert evaluations["no_dead_jobs"][-1] is False  # every run after gift-card died reports it
    assert all(evaluations["backlog_fresh"])
    severities = {e.severity for e in _check_events(instance, outcome.runs) if e.check_name == "no_dead_jobs"}
    assert severities == {dg.AssetCheckSeverity.ERROR}

    # The preset an operator launches from the UI requeues it; the next delivery clears the check.
    webhook_target.state.respond = lambda body: None
    requeue = current().resolve_job_def("requeue_dead_shop")
    assert requeue.execute_in_process(instance=instance).success
    again = deliver(iec_env, instance)
    assert {j["status"] for j in jobs(iec_env)} == {"success"}
    assert _check_evaluations(instance, again.runs)["no_dead_jobs"][-1] is True
    assert store.last_mutation_id(iec_env.store_url) > 0


def test_the_delivery_sensor_says_why_it_launched_nothing(akeneo, iec_env, instance, webhook_target):
    declare(iec_env, webhook("shop", webhook_target.url, entity_types=["product"]))
    with dg.build_sensor_context(instance=instance, resources={"store": store.resource()}) as context:
        result = delivery_sensor(context)
    assert result.run_requests == [] and "no job is due" in result.skip_reason.skip_message


def _check_events(instance: dg.DagsterInstance, run_ids: list[str]) -> list:
    found = []
    for run_id in run_ids:
        for record in instance.all_logs(run_id):
            event = record.dagster_event
            if event is not None and event.event_type_value == "ASSET_CHECK_EVALUATION":
                found.append(event.event_specific_data)
    return found


def _check_evaluations(instance: dg.DagsterInstance, run_ids: list[str]) -> dict[str, list[bool]]:
    evaluations: dict[str, list[bool]] = {}
    for evaluation in _check_events(instance, run_ids):
        evaluations.setdefault(evaluation.check_name, []).append(evaluation.passed)
    return evaluations


def _latest_per_run(instance: dg.DagsterInstance, key: str) -> list[int]:
    records = instance.fetch_materializations(SHOP, limit=100).records
    return [int(r.asset_materialization.metadata[key].value) for r in records]
