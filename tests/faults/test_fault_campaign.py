"""The fault campaign, reduced (issue 19; the full one is `python -m bench faults`, 30 trials a backend).

Real `iec sync`, `iec deliver` and `iec webhooks serve` processes SIGKILLed at a random moment and at named
crash points, on SQLite and PostgreSQL; after each restart the store holds exactly the changes made in Akeneo
and equals a store synced by runs never killed, every mutation was routed and delivered once per integration
(counted per Idempotency-Key over the whole run), nothing is stuck. See bench/faults.py for how kills are
placed and how "sent twice" (allowed) differs from "applied twice" (a bug); test_campaign_checks.py shows
that each check can fail.
"""

import pytest

from bench.faults import Campaign
from tests.conftest import CANARY_PASSWORD, CANARY_SECRET, CLIENT_ID, USERNAME

CREDENTIALS = {"AKENEO_CLIENT_ID": CLIENT_ID, "AKENEO_CLIENT_SECRET": CANARY_SECRET, "AKENEO_USERNAME": USERNAME,
               "AKENEO_PASSWORD": CANARY_PASSWORD}  # fmt: skip
# Which named points each backend's two trials use (see Campaign._mode): SQLite kills at diff.start and
# delivery.before_send, PostgreSQL at diff.after_commit and delivery.after_record; the other kills are random.
OFFSETS = {"sqlite": 0, "postgresql": 4}


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_sigkill_at_random_moments_and_named_points_loses_and_doubles_nothing(akeneo, store_url, tmp_path, request):
    backend = request.node.callspec.params["store_url"]
    campaign = Campaign(
        tmp_path / "campaign", store_url, akeneo.url, CREDENTIALS, akeneo.mock.url, backend,
        seed=19, products=10, changes=8, queues=1, split=False, offset=OFFSETS[backend], log=lambda line: None,
    )  # fmt: skip
    try:
        report = campaign.run(trials=2, receiver_trials=2)
    finally:
        campaign.close()
    print(report.summary())
    assert report.ok, report.summary()
    assert report.kills >= 4, report.summary()
    assert report.jobs_checked > 0 and report.mutations_checked > 0 and report.events_acked > 0
    assert report.store_checks == 2 and report.entities_compared > 0
