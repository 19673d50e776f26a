"""The canary sweep itself (tests/support/canary.py): it finds a canary where the autouse fixture looks."""

import os
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.conftest import CANARY_SECRET, CLIENT_ID
from tests.support import canary

pytestmark = pytest.mark.fast


def test_files_written_during_the_test_are_scanned_inputs_and_older_files_are_not(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("leaky")  # not this test's tmp_path: its own sweep would (rightly) fail it
    secrets = canary.canaries([CANARY_SECRET], [(CLIENT_ID, CANARY_SECRET)])
    old = tmp_path / "old.log"
    old.write_text(CANARY_SECRET)
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    since = time.time() - 1
    (tmp_path / "home").mkdir()
    with sqlite3.connect(tmp_path / "home" / "runs.db") as conn:
        conn.execute("CREATE TABLE event_logs (event TEXT)")
        conn.execute("INSERT INTO event_logs VALUES (?)", (f'{{"message": "token {CANARY_SECRET}"}}',))
    (tmp_path / "integrations.yaml").write_text(f"secret: {CANARY_SECRET}")  # an input the test wrote
    import base64

    (tmp_path / "http.log").write_text(
        "Authorization: Basic " + base64.b64encode(f"{CLIENT_ID}:{CANARY_SECRET}".encode()).decode()
    )
    hits, files, _size = canary.scan_files(tmp_path, since, secrets)
    assert sorted(h.split(":")[0] for h in hits) == ["home/runs.db", "http.log"]
    assert files == 2


def test_output_read_from_capsys_and_subprocesses_is_recorded(capsys):
    canary.take_output()
    print(f"oops {CANARY_SECRET}")
    assert CANARY_SECRET in capsys.readouterr().out  # the test consumed it; the sweep still sees it
    subprocess.run([sys.executable, "-c", f"print('{CANARY_SECRET}')"], capture_output=True, text=True, check=True)
    seen = canary.take_output()
    secrets = canary.canaries([CANARY_SECRET], [])
    assert len(canary.scan_texts([("read", t) for t in seen], secrets)) == 2
