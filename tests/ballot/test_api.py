"""Citizens vote secretly through the API: the SDK encrypts locally, the relayer submits, errors are 4xx."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_account import Account

from co3chain.ballot.client import SecretBallotClient, send_as
from co3chain.ballot.credential import Registrar, blind, finalize
from co3chain.sdk.client import ApiClientError
from tests.api.conftest import DEPLOYER, make_world


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from co3chain.contracts.deploy import ArtifactSet

    w = make_world(tmp_path, monkeypatch, ArtifactSet.committed(), max_body_bytes=64 * 1024)
    with w.http:
        yield w
    w.state.store.close()


def test_secret_vote_through_api(world) -> None:
    w3 = world.w3
    trustees = [Account.from_key(bytes([0xC0 + i]) * 32) for i in range(2)]
    for t in trustees:
        w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": t.address, "value": 10**20})
    sb = SecretBallotClient(w3, world.manifest["contracts"]["SecretBallot"]["address"])
    f = sb.contract.functions
    send_as(w3, f.openCeremony([t.address for t in trustees], 2), DEPLOYER)
    secrets = {i: sb.post_transport_key(t, 1) for i, t in enumerate(trustees, start=1)}
    for t in trustees:
        sb.post_dealing(t, 1)
    shares = {i: sb.settle_shares(t, 1, secrets[i]) for i, t in enumerate(trustees, start=1)}
    registrar = Registrar.generate(2048)
    send_as(w3, f.addRegistrarKey(registrar.public.modulus_bytes(), registrar.public.exponent_bytes()), DEPLOYER)
    now = world.now()
    send_as(w3, f.createElection(1, 1, 0, 2, now, now + 1000), DEPLOYER)

    api = world.client()
    e = api.secret_election(1)
    assert e["options"] == 2 and e["voters"] == 0
    voter = Account.create()
    blinded, st = blind(registrar.public, sb.credential_message(1, voter.address))
    cred = finalize(registrar.public, st, registrar.blind_sign(blinded))
    body = api.prepare_secret_ballot(voter, 1, 1)
    with pytest.raises(ApiClientError) as bad:
        api.relay_secret_ballot(dict(body, nonce=2), cred)
    assert bad.value.status == 400  # the signature covers the nonce
    with pytest.raises(ApiClientError) as bad:
        api.relay_secret_ballot(body, b"\x01" * 256)
    assert bad.value.status in (400, 409, 422) and "InvalidCredential" in str(bad.value)
    api.wait_for_tx(api.relay_secret_ballot(body, cred).txHash)
    assert api.secret_election(1)["voters"] == 1
    again = api.prepare_secret_ballot(voter, 1, 0, previous=body)
    api.wait_for_tx(api.relay_secret_ballot(again).txHash)
    world.travel(now + 1001)
    w3.testing.mine(1)
    for i, t in enumerate(trustees, start=1):
        sb.post_decryption(t, 1, shares[i])
    assert sb.finalize(DEPLOYER, 1) == [1, 0]
    assert api.secret_election(1)["results"] == [1, 0]
