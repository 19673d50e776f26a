"""The code location loads: one `Definitions`, every job valid, resources chosen per deployment."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import pytest

from iec_pipeline.common.entity_types import ENTITY_TYPES
from iec_pipeline.ingest.partitions import FAMILY_ASSETS, FAMILY_PARTITIONS

pytestmark = pytest.mark.fast


@pytest.fixture(params=["local", "test"])
def defs(request, monkeypatch, tmp_path) -> dg.Definitions:
    for name, value in (("IEC_DATABASE_URL", f"sqlite:///{tmp_path / 'iec.db'}"), ("DAGSTER_HOME", str(tmp_path)),
                        ("IEC_INTEGRATIONS", str(tmp_path / "integrations.yaml")),
                        ("IEC_MEDIA_DIR", str(tmp_path / "media"))):  # fmt: skip
        monkeypatch.setenv(name, value)  # importing the definitions exports defaults for unset ones
    from iec_pipeline.definitions import build_definitions

    return build_definitions(request.param, ["shop", "search-index"])


def test_the_definitions_load_and_every_job_resolves(defs):
    from iec_pipeline.definitions import JOBS

    dg.Definitions.validate_loadable(defs)
    for name in JOBS:
        assert defs.resolve_job_def(name).name == name
    repository = defs.get_repository_def()
    assert {s.name for s in repository.sensor_defs} == {"delivery_sensor", "drops_sensor"}
    assert {s.name for s in repository.schedule_defs} == {
        "akeneo_incremental_sync", "akeneo_nightly_full_sync", "verify_shop_nightly", "verify_search_index_nightly"
    }  # fmt: skip
    for schedule in repository.schedule_defs:
        assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED  # an operator turns them on


def test_the_asset_graph_follows_the_entity_registry(defs):
    graph = defs.resolve_asset_graph()
    for entity in ENTITY_TYPES:
        node = graph.get(dg.AssetKey(entity.asset))
        assert {k.to_user_string() for k in node.parent_keys} == {
            e.asset for e in ENTITY_TYPES if e.name in entity.upstream
        }
    diff = graph.get(dg.AssetKey("catalog_diff"))
    assert {k.to_user_string() for k in diff.parent_keys} == {e.asset for e in ENTITY_TYPES} | set(FAMILY_ASSETS)
    assert {c.name for c in graph.get_check_keys_for_assets([dg.AssetKey("catalog_diff")])} >= {
        "one_mutation_per_entity"
    }


def test_secrets_and_the_store_url_are_environment_variables_in_every_deployment(defs):
    resources = defs.resources
    for field in ("url", "client_id", "client_secret", "username", "password"):
        assert isinstance(getattr(resources["akeneo"], field), dg.EnvVar), field
    assert resources["store"].database_url == dg.EnvVar("IEC_DATABASE_URL")
    assert resources["integrations"].path == dg.EnvVar("IEC_INTEGRATIONS")


def test_the_test_deployment_paces_akeneo_retries_for_a_test_suite():
    from iec_pipeline.resources import resources_for

    local, test = resources_for("local")["akeneo"], resources_for("test")["akeneo"]
    assert test.backoff_seconds < local.backoff_seconds and test.backoff_max_seconds < local.backoff_max_seconds
    assert test.max_attempts == local.max_attempts  # the same retries, only sooner


@pytest.mark.parametrize(
    ("schedule", "mode"), [("akeneo_incremental_sync", "incremental"), ("akeneo_nightly_full_sync", "full")]
)
def test_the_schedules_request_valid_syncs_of_their_mode(defs, schedule, mode, monkeypatch):
    definition = defs.get_repository_def().get_schedule_def(schedule)
    when = datetime(2026, 12, 3, 2, 30, tzinfo=UTC)
    repository = defs.get_repository_def()
    with dg.build_schedule_context(scheduled_execution_time=when, repository_def=repository) as context:
        (request,) = definition.evaluate_tick(context).run_requests
    assert request.tags["iec/sync-mode"] == mode and request.partition_key is None
    assert request.run_key == f"{mode}:{when.isoformat()}"
    for name in ("AKENEO_URL", "AKENEO_CLIENT_ID", "AKENEO_CLIENT_SECRET", "AKENEO_USERNAME", "AKENEO_PASSWORD"):
        monkeypatch.setenv(name, "unused")  # resolved with the config, never called
    dg.validate_run_config(defs.resolve_job_def("akeneo_sync"), request.run_config)


def test_each_integration_is_an_asset_downstream_of_the_diff_with_its_health_checks(defs):
    graph = defs.resolve_asset_graph()
    for name in ("integration_shop", "integration_search_index"):  # Dagster names: [A-Za-z0-9_]
        node = graph.get(dg.AssetKey(name))
        assert {k.to_user_string() for k in node.parent_keys} == {"catalog_diff"}
        assert node.group_name == "integrations"
        checks = {c.name for c in graph.get_check_keys_for_assets([node.key])}
        assert checks == {"no_dead_jobs", "backlog_fresh", "no_drift"}  # no_drift: run by verify_<name>


def test_products_and_models_by_family_are_partitioned_by_the_store_families(defs):
    graph = defs.resolve_asset_graph()
    for name in FAMILY_ASSETS:
        assert graph.get(dg.AssetKey(name)).partitions_def == FAMILY_PARTITIONS
    assert graph.get(dg.AssetKey("akeneo_products")).partitions_def is None  # reference and full/incremental syncs


PRESETS = {
    "full_sync": "full",
    "incremental_sync": "incremental",
    "refresh_sync": "refresh",
    "family_resync": None,
    "deliver_shop": None,
    "requeue_dead_shop": None,
    "deliver_search_index": None,
    "requeue_dead_search_index": None,
    "replay_shop": None,
    "verify_shop": None,
}


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_has_a_description_and_launches_without_typed_config(defs, preset, monkeypatch):
    for name in ("AKENEO_URL", "AKENEO_CLIENT_ID", "AKENEO_CLIENT_SECRET", "AKENEO_USERNAME", "AKENEO_PASSWORD"):
        monkeypatch.setenv(name, "unused")  # resolved with the config, never called
    job = defs.resolve_job_def(preset)
    assert job.description and len(job.description) > 30
    resolved = dg.validate_run_config(job)  # the launchpad's defaults, nothing typed
    if PRESETS[preset]:
        modes = {op["config"]["mode"] for name, op in resolved["ops"].items() if name.startswith("akeneo_")}
        assert modes == {PRESETS[preset]}
