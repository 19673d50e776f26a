"""Garbage-collector policy: bulk phases put off full collections and hand them back; the `iec sync`
process, which ends with its sync, puts them off for its whole life."""

import gc
import subprocess
import sys

import pytest

from iec_pipeline.common.heap import full_collections_paused

pytestmark = pytest.mark.fast


def test_a_bulk_phase_hands_the_collector_back_as_it_found_it():
    before = gc.get_threshold()
    with full_collections_paused():
        assert gc.get_threshold()[:2] == before[:2]  # young generations still collected
        assert gc.get_threshold()[2] > 1_000_000
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0  # handed back: a long-lived process collects it all as usual


def _in_a_fresh_process(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_a_process_that_ends_with_its_command_never_walks_the_whole_heap():
    # What `iec sync` does when run by the console script: full collections off for good, young
    # generations still collected, and bulk phases with nothing to pause or hand back.
    out = _in_a_fresh_process(
        "import gc\n"
        "from iec_pipeline.common import heap\n"
        "young = gc.get_threshold()[:2]\n"
        "heap.full_collections_put_off_for_process()\n"
        "already = gc.get_freeze_count()\n"
        "with heap.full_collections_paused():\n"
        "    frozen = gc.get_freeze_count() - already\n"
        "print(gc.get_threshold()[:2] == young, gc.get_threshold()[2] > 1_000_000, frozen == 0)\n"
    )
    assert out == "True True True"
