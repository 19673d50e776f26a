"""Receiver fuzzing, reduced (issue 19; `python -m bench fuzz` sends 10,000 requests a backend): random and
mutated requests against a running `iec webhooks serve`; see bench/fuzz_receiver.py for the kinds."""

from bench.fuzz_receiver import fuzz


def test_random_and_mutated_requests_get_no_5xx_store_nothing_invalid_and_keep_memory_bounded(tmp_path):
    report = fuzz(tmp_path / "fuzz", f"sqlite:///{tmp_path / 'iec.db'}", requests=500, seed=19, warmup=100)
    print(report.summary())
    assert report.ok, report.summary()
    assert report.requests == 500 and report.five_xx == 0
    assert report.rows_after - report.rows_before == report.acknowledged_stored > 0
    assert report.by_kind["valid"] and report.by_kind["wrong_signature"] and report.by_kind["oversized"]
