"""`make demo`'s settings file (`.env`): the marker, someone's own `.env` left alone, mode 600, no secret shown."""

from __future__ import annotations

import stat

import pytest

from devtools import demo

pytestmark = pytest.mark.fast

SECRET = "s3cr3t-value-91d2"
VALUES = {
    "IEC_DATABASE_URL": "sqlite:////tmp/a dir/.iec/demo/iec.db",
    "IEC_INTEGRATIONS": "/tmp/a dir/.iec/demo/integrations.yaml",
    "DAGSTER_HOME": "/tmp/a dir/.iec/dagster_home",
    "AKENEO_URL": "http://127.0.0.1:41234",
    "AKENEO_CLIENT_ID": "playground",
    "AKENEO_CLIENT_SECRET": SECRET,
    "AKENEO_USERNAME": "playground",
    "AKENEO_PASSWORD": 'pa"ss\\word $HOME #x',
    "IEC_DEMO_MAGENTO_TOKEN": "token-7c1e",
    "IEC_DEMO_MAGENTO_URL": "http://127.0.0.1:41235",
    "IEC_DEMO_AKENEO_DATABASE": "akeneo_iec_demo",
}


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_written_file_starts_with_the_marker_is_private_and_reads_back(tmp_path):
    env = tmp_path / ".env"
    assert demo.write_env_file(env, VALUES)
    assert env.read_text().splitlines()[0].startswith(demo.ENV_MARKER)
    assert _mode(env) == 0o600
    assert demo.read_env_file(env) == VALUES  # quotes, backslashes, spaces, `$` and `#` survive
    assert demo.is_ours(env)


def test_a_file_written_by_the_demo_is_rewritten(tmp_path):
    env = tmp_path / ".env"
    demo.write_env_file(env, VALUES)
    env.chmod(0o644)
    assert demo.write_env_file(env, {**VALUES, "AKENEO_URL": "http://127.0.0.1:5"})
    assert demo.read_env_file(env)["AKENEO_URL"] == "http://127.0.0.1:5"
    assert _mode(env) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [".env"]  # no temporary file left


def test_someones_own_env_is_never_overwritten(tmp_path):
    env = tmp_path / ".env"
    own = "AKENEO_URL=https://pim.example.com\n# written by make demo (not on the first line: still theirs)\n"
    env.write_text(own)
    assert not demo.write_env_file(env, VALUES)
    assert env.read_text() == own
    target = tmp_path / "elsewhere.env"
    target.write_text(demo.env_text(VALUES))
    link = tmp_path / "linked.env"
    link.symlink_to(target)
    assert not demo.write_env_file(link, VALUES)  # a symlink is someone's arrangement, even to a demo file
    assert link.is_symlink()


def test_save_settings_writes_both_files_and_shows_no_secret(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    demo.save_settings(VALUES)
    out = capsys.readouterr().out
    assert "wrote" in out and "AKENEO_CLIENT_SECRET" in out and VALUES["AKENEO_URL"] in out
    assert all(VALUES[name] not in out for name in demo.SECRET_VARIABLES)
    for path in (tmp_path / ".env", tmp_path / demo.DEMO_ENV):
        assert demo.read_env_file(path) == VALUES and _mode(path) == 0o600


def test_save_settings_leaves_someones_env_and_says_where_the_demo_settings_are(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("IEC_DATABASE_URL=sqlite:///mine.db\n")
    demo.save_settings(VALUES)
    out = capsys.readouterr().out
    assert "left as it is" in out and "demo.env" in out and SECRET not in out
    assert (tmp_path / ".env").read_text() == "IEC_DATABASE_URL=sqlite:///mine.db\n"
    assert demo.read_env_file(tmp_path / demo.DEMO_ENV) == VALUES
