"""Invalid configuration (reliability-tests.md row 19): every problem of the integrations file named in one run,
each with its integration and key, never a secret; `iec sync`, `iec deliver` and `iec daemon` refuse to start on
it before any work (no run in the instance, no request to Akeneo or to a target, no store created)."""

import subprocess

import pytest
import yaml

from iec_pipeline.cli import main
from tests.support.delivery import WEBHOOK_SECRET, iec, webhook

LITERAL_TOKEN = "canary-literal-token-0c41d7"


def bad_file(path, hook_url: str = "http://127.0.0.1:9/hook") -> None:
    """Two integrations, one of each kind of problem."""
    shop = {
        "name": "shop",
        "driver": "magento2",
        "entity_types": ["product"],
        "priority_map": {"*": 150, "price": "urgent"},  # schema
        "configuration": {
            "base_url": "ftp://shop.example.com",  # driver configuration
            "token": {"env": "SHOP_TOKEN_NOT_SET"},  # missing environment secret
        },
    }
    hook = webhook("hook", hook_url, entity_types=["product", "gadget"])  # unknown entity type
    hook["retry_attempts"] = -1  # negative retries (schema)
    hook["configuration"]["signing_key"] = LITERAL_TOKEN  # not a field of the driver; the value never printed
    path.write_text(yaml.safe_dump({"integrations": [shop, hook]}))


EXPECTED = [
    "integration 'shop': priority_map.price:",
    "integration 'shop': configuration.base_url: ",
    "integration 'shop': configuration.token: environment variable SHOP_TOKEN_NOT_SET is not set",
    "integration 'hook': entity_types: ",
    "integration 'hook': retry_attempts: ",
    "integration 'hook': configuration.signing_key: not a field of driver 'webhook'",
]


def assert_every_problem_named(text: str) -> None:
    for expected in EXPECTED:
        assert expected in text, f"{expected!r} not reported in:\n{text}"
    assert "gadget" in text and "6 problem(s)" in text
    assert WEBHOOK_SECRET not in text and LITERAL_TOKEN not in text


def test_validate_reports_every_problem_of_the_file_in_one_run(tmp_path, monkeypatch, capsys):
    path = tmp_path / "integrations.yaml"
    bad_file(path)
    monkeypatch.setenv("IEC_INTEGRATIONS", str(path))
    monkeypatch.setenv("IEC_DATABASE_URL", f"sqlite:///{tmp_path / 'iec.db'}")
    monkeypatch.setenv("HOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.delenv("SHOP_TOKEN_NOT_SET", raising=False)
    with pytest.raises(SystemExit) as exited:
        main(["integrations", "validate"])
    assert exited.value.code == 1
    out, err = capsys.readouterr()
    assert_every_problem_named(err)
    assert WEBHOOK_SECRET not in out and LITERAL_TOKEN not in out
    assert not (tmp_path / "iec.db").exists()  # validation touches no store


def test_a_literal_secret_is_refused_without_being_printed(tmp_path, monkeypatch, capsys):
    path = tmp_path / "integrations.yaml"
    spec = {"name": "shop", "driver": "magento2", "priority_map": {"*": "soon"},
            "configuration": {"base_url": "not a url", "token": LITERAL_TOKEN}}  # fmt: skip
    path.write_text(yaml.safe_dump({"integrations": [spec]}))
    monkeypatch.setenv("IEC_INTEGRATIONS", str(path))
    with pytest.raises(SystemExit):
        main(["integrations", "validate"])
    err = capsys.readouterr().err
    assert "integration 'shop': priority_map.*:" in err
    assert "integration 'shop': configuration.base_url:" in err
    assert "integration 'shop': configuration.token: is a secret; write it as {env: VARIABLE}" in err
    assert LITERAL_TOKEN not in err


@pytest.mark.parametrize("command", [["sync"], ["sync", "--full"], ["deliver"], ["deliver", "--wait"]])
def test_sync_and_deliver_refuse_to_start_before_any_work(akeneo, iec_env, instance, webhook_target, command):
    bad_file(iec_env.dagster_home.parent / "integrations.yaml", webhook_target.url)
    done = iec(iec_env, *command)
    assert done.returncode == 1
    assert_every_problem_named(done.stderr)
    assert WEBHOOK_SECRET not in done.stdout
    assert instance.get_runs() == []
    assert akeneo.proxy.requests() == [] and webhook_target.state.requests == []
    assert not (iec_env.dagster_home.parent / "iec.db").exists()  # not even the store's schema upgraded


def test_the_daemon_refuses_to_start(akeneo, iec_env, instance, webhook_target):
    bad_file(iec_env.dagster_home.parent / "integrations.yaml", webhook_target.url)
    try:
        done = iec(iec_env, "daemon")  # a daemon that started would run until the timeout
    except subprocess.TimeoutExpired:
        pytest.fail("iec daemon started on an invalid integrations file")
    assert done.returncode == 1
    assert_every_problem_named(done.stderr)
    assert "dagster-daemon" not in done.stdout
    assert instance.get_runs() == [] and akeneo.proxy.requests() == []
