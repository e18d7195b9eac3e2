"""End to end on anvil with three real operator processes (lead + 2 co-signers over HTTP, threshold 2).

Also the crash test: the lead is SIGKILLed right after recording the submitBatch transaction (before
broadcasting) or right after broadcasting it; a restarted lead must get each attestation on chain exactly once.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.anvil import ANVIL
from tests.oracle.chain_helpers import anvil_node
from tests.oracle.cluster import REPO, Cluster, deploy_for_oracle
from tests.oracle.helpers import CITIZEN, OUTSIDE, checkin_body, domain_of

pytestmark = [pytest.mark.slow, pytest.mark.anvil,
              pytest.mark.skipif(not ANVIL.exists(), reason="anvil not installed (npm ci)")]


def _now(suite) -> int:
    return int(suite.w3.eth.get_block("latest")["timestamp"])


def accepted_events(suite, attestation_id: str) -> list:
    return suite.hub.events.AttestationAccepted().get_logs(
        from_block=0, argument_filters={"id": bytes.fromhex(attestation_id[2:])})


@pytest.fixture
def cluster(tmp_path):
    with anvil_node() as url:
        suite = deploy_for_oracle(url)
        c = Cluster.create(tmp_path, url, suite)
        try:
            yield c
        finally:
            c.stop_all()


def test_checkin_to_reward_replay_and_out_of_area(cluster) -> None:
    cluster.start_all()
    suite = cluster.suite
    body = checkin_body("e2e-1", timestamp=_now(suite) - 10, **domain_of(suite))
    first = cluster.post_checkin(body)
    assert first.status_code == 202, first.text
    aid = first.json()["attestation_id"]
    ev = cluster.wait_state(aid, {"confirmed", "rejected"})
    assert ev["state"] == "confirmed", ev
    assert suite.token.functions.balanceOf(CITIZEN).call() == 10
    assert suite.reputation.functions.scoreOf(CITIZEN, (1).to_bytes(32, "big")).call() > 0

    # Replayed webhook: acknowledged, not queued again, no second reward.
    replay = cluster.post_checkin(body)
    assert replay.status_code == 200 and replay.json() == {"attestation_id": aid, "state": "confirmed",
                                                           "duplicate": True}
    # Out of the area: rejected with a reason, listed by the CLI.
    out = cluster.post_checkin(checkin_body("e2e-out", lat=OUTSIDE[0], lon=OUTSIDE[1], timestamp=_now(suite) - 5, **domain_of(suite)))
    rej = cluster.wait_state(out.json()["attestation_id"], {"rejected", "confirmed"})
    assert rej["state"] == "rejected" and "outside the polygon" in rej["reason"]
    assert len(accepted_events(suite, aid)) == 1
    assert suite.token.functions.balanceOf(CITIZEN).call() == 10

    cli = [sys.executable, "-m", "co3chain.oracle"]
    status = subprocess.run([*cli, "status", "--config", str(cluster.lead.config), "--json"], cwd=REPO,
                            capture_output=True, text=True, check=True)
    report = json.loads(status.stdout)
    assert report["queue"]["confirmed"] == 1 and report["rejected"] == 1
    assert report["last_confirmed_block"] == ev["block"]
    listing = subprocess.run([*cli, "events", "--db", str(cluster.lead.db), "--state", "rejected"], cwd=REPO,
                             capture_output=True, text=True, check=True)
    assert "e2e-out" in listing.stdout and "outside the polygon" in listing.stdout
    # Every co-signer validated and signed the accepted event itself (own queue, own decision).
    for peer in cluster.operators[1:]:
        peer_status = subprocess.run([*cli, "status", "--db", str(peer.db), "--json"], cwd=REPO,
                                     capture_output=True, text=True, check=True)
        assert json.loads(peer_status.stdout)["queue"]["signed"] >= 1


@pytest.mark.parametrize("fault", ["after_record", "after_broadcast"])
def test_crash_between_signing_and_submission_submits_exactly_once(cluster, fault) -> None:
    cluster.start_all(lead_env={"CO3CHAIN_ORACLE_FAULT": fault})
    suite = cluster.suite
    resp = cluster.post_checkin(checkin_body(f"crash-{fault}", timestamp=_now(suite) - 10, **domain_of(suite)))
    assert resp.status_code == 202
    aid = resp.json()["attestation_id"]
    lead = cluster.lead
    assert lead.proc is not None
    assert lead.proc.wait(timeout=120) == -9  # killed by the fault hook
    onchain_before_restart = len(accepted_events(suite, aid))
    assert onchain_before_restart == (1 if fault == "after_broadcast" else 0)

    cluster.start(lead)  # restart without the fault
    ev = cluster.wait_state(aid, {"confirmed", "rejected"})
    assert ev["state"] == "confirmed", ev
    assert len(accepted_events(suite, aid)) == 1
    assert suite.token.functions.balanceOf(CITIZEN).call() == 10
    # Exactly one submitBatch transaction was ever mined from the submitter account.
    assert suite.w3.eth.get_transaction_count(suite.w3.eth.account.from_key(
        "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d").address) == 1
