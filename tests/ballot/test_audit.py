"""The secret-ballot audit re-derives the result from chain data alone."""

from __future__ import annotations

from eth_account import Account

from co3chain.audit.secret_ballot import audit_election

from .conftest import Setup


def test_audit_verifies_election_with_revote(setup: Setup) -> None:
    c = setup.client
    alice, bob, carol = Account.create(), Account.create(), Account.create()
    _, first = setup.vote(alice, 0)
    setup.vote(bob, 2)
    setup.vote(carol, 2)
    from co3chain.ballot.client import cipher

    setup.vote(alice, 1, [cipher(x) for x in first["ciphertexts"]])
    setup.end_voting()
    pending = audit_election(c, 1)
    assert not pending.ok and "0 of 3 trustees posted" in pending.render()
    for i in (1, 2, 4):
        c.post_decryption(setup.trustees[i - 1], 1, setup.shares[i])
    c.finalize(setup.relayer, 1)
    report = audit_election(c, 1)
    assert report.ok, report.render()
    assert report.counts == [0, 1, 2] and report.voters == 3 and report.ballots_verified == 4
    assert report.to_json()["ok"]
