"""Every file in deploy/ is loaded and checked with Dagster's own validation, and every file the
deployment docs name exists."""

from __future__ import annotations

import re

import pytest
import yaml
from dagster._config import process_config
from dagster._core.instance.config import dagster_instance_config

from iec_pipeline.common.settings import PROJECT_ROOT
from tests.deploy.conftest import DEPLOY, deploy_home

pytestmark = pytest.mark.fast
INSTANCE_CONFIGS = ["dagster.postgres.yaml", "dagster.celery.yaml", "dagster.docker.yaml"]
CHECKED = {*INSTANCE_CONFIGS, "celery.yaml", "Dockerfile", "helm/values.yaml", "README.md"}
ENV = {
    "DAGSTER_PG_URL": "postgresql+psycopg2://u@db:5432/dagster",
    "DAGSTER_CELERY_BROKER": "redis://r:6379/0",
    "DAGSTER_CELERY_BACKEND": "redis://r:6379/1",
}


def test_every_deploy_file_is_checked_here():
    files = {str(f.relative_to(DEPLOY)) for f in DEPLOY.rglob("*") if f.is_file()}
    assert files == CHECKED


@pytest.mark.parametrize("name", INSTANCE_CONFIGS)
def test_instance_configs_pass_dagsters_schema(name, tmp_path, monkeypatch):
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    home = deploy_home(tmp_path / "home", name)
    config, _ = dagster_instance_config(str(home))  # raises on anything the instance schema refuses
    assert config["storage"]["postgres"]["postgres_url"] == {"env": "DAGSTER_PG_URL"}
    launcher = config.get("run_launcher")
    if name == "dagster.celery.yaml":
        from dagster_celery.launcher import CeleryRunLauncher

        result = process_config(CeleryRunLauncher.config_type(), launcher["config"])  # env resolved, defaults in
        assert result.success, result.errors
        run_launcher = CeleryRunLauncher.from_config_value(None, result.value)  # type: ignore[arg-type]
        assert (run_launcher.broker, run_launcher.default_queue) == (ENV["DAGSTER_CELERY_BROKER"], "dagster")
    elif name == "dagster.docker.yaml":  # dagster-docker is not installed here: its documented fields
        assert launcher["module"] == "dagster_docker" and launcher["class"] == "DockerRunLauncher"
        fields = {"image", "network", "env_vars", "container_kwargs", "networks", "registry", "retries"}
        assert set(launcher["config"]) <= fields


def test_the_postgres_config_opens_an_instance(tmp_path, monkeypatch):
    """The URL scheme the comment documents is the one dagster-postgres can use (psycopg2)."""
    text = (DEPLOY / "dagster.postgres.yaml").read_text()
    assert "postgresql+psycopg2://" in text
    import sqlalchemy

    assert sqlalchemy.engine.make_url(ENV["DAGSTER_PG_URL"]).get_driver_name() == "psycopg2"


def test_the_celery_worker_config_passes_dagster_celerys_validation(monkeypatch):
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    from dagster_celery.cli import get_validated_config

    config = get_validated_config(str(DEPLOY / "celery.yaml"))
    assert (config["broker"], config["backend"]) == (ENV["DAGSTER_CELERY_BROKER"], ENV["DAGSTER_CELERY_BACKEND"])


def test_the_dockerfile_copies_what_exists_and_installs_pinned():
    text = (DEPLOY / "Dockerfile").read_text()
    for line in text.splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (PROJECT_ROOT / source).exists(), source
    assert "-c constraints.txt" in text and "iec_pipeline.definitions" in text


def test_the_helm_values_have_the_charts_structure():
    """Dagster's chart publishes its values schema only with the chart (not on PyPI): the keys and
    types this file sets, as the chart's values.schema.json declares them."""
    values = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())
    assert set(values) <= {"dagster-user-deployments", "runLauncher", "postgresql", "dagsterDaemon",
                           "dagsterWebserver", "global", "generatePostgresqlPasswordSecret", "telemetry"}  # fmt: skip
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    assert {"name", "image", "dagsterApiGrpcArgs", "port"} <= set(deployment)
    assert deployment["dagsterApiGrpcArgs"] == ["-m", "iec_pipeline.definitions"]
    assert values["runLauncher"]["type"] in {"K8sRunLauncher", "CeleryK8sRunLauncher", "CustomRunLauncher"}
    coordinator = values["dagsterDaemon"]["runCoordinator"]
    assert coordinator["type"] == "QueuedRunCoordinator"
    limits = coordinator["config"]["queuedRunCoordinator"]["tagConcurrencyLimits"]
    assert all({"key", "limit"} <= set(limit) for limit in limits)


def test_every_file_the_docs_name_exists():
    docs = [DEPLOY / "README.md", PROJECT_ROOT / "docs" / "operations.md"]
    named = set()
    for doc in docs:
        text = doc.read_text()
        named |= {m for m in re.findall(r"`(deploy/[\w./-]+)", text)}
        if doc.parent == DEPLOY:
            named |= {f"deploy/{m}" for m in re.findall(r"`([\w-]+(?:/[\w.-]+)*\.(?:yaml|yml)|Dockerfile)`", text)
                      if not m.startswith("..")}  # fmt: skip
    assert named
    missing = sorted(n for n in named if not (PROJECT_ROOT / n.rstrip(".")).exists())
    assert not missing
