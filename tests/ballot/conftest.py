"""A deployed SecretBallot with a completed 3-of-4 key ceremony, a registrar key and an open election.

Built once per module on eth-tester (py-evm, which implements the BN254 and modexp precompiles); each test
runs inside a chain snapshot so they stay independent without paying for the ceremony again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from eth_account import Account
from eth_tester import EthereumTester, PyEVMBackend
from web3 import EthereumTesterProvider, Web3

from co3chain.ballot.client import SecretBallotClient, deploy_secret_ballot, send_as
from co3chain.ballot.credential import Registrar, blind, finalize

N_TRUSTEES, THRESHOLD, OPTIONS = 4, 3, 3


@dataclass
class Setup:
    tester: EthereumTester
    w3: Web3
    client: SecretBallotClient
    admin: Any
    trustees: list[Any]
    relayer: Any
    registrar: Registrar
    shares: dict[int, int]
    election_id: int
    ceremony_id: int
    end: int

    def credential(self, voter: Any, election_id: int | None = None) -> bytes:
        eid = self.election_id if election_id is None else election_id
        blinded, state = blind(self.registrar.public, self.client.credential_message(eid, voter.address))
        return finalize(self.registrar.public, state, self.registrar.blind_sign(blinded))

    def vote(self, voter: Any, choice: int, previous: list | None = None) -> Any:
        body = self.client.prepare_ballot(self.election_id, voter, choice, previous or [])
        cred = b"" if previous else self.credential(voter)
        return self.client.relay(self.relayer, body, cred), body

    def end_voting(self) -> None:
        self.tester.time_travel(self.end + 1)
        self.tester.mine_blocks(1)


def _funded(tester: EthereumTester, w3: Web3, n: int) -> list[Any]:
    out = []
    for i in range(n):
        acct = Account.from_key(bytes([0xB0 + i]) * 32)
        w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": acct.address, "value": 10**21})
        out.append(acct)
    return out


@pytest.fixture(scope="module")
def setup_module_chain() -> Setup:
    tester = EthereumTester(PyEVMBackend())
    w3 = Web3(EthereumTesterProvider(tester))
    admin, manager, relayer, *trustees = _funded(tester, w3, 3 + N_TRUSTEES)
    client, _ = deploy_secret_ballot(w3, admin, manager)
    c = client.contract.functions
    send_as(w3, c.openCeremony([t.address for t in trustees], THRESHOLD), admin)
    ceremony_id = 1
    secrets = {i: client.post_transport_key(t, ceremony_id) for i, t in enumerate(trustees, start=1)}
    for t in trustees:
        client.post_dealing(t, ceremony_id)
    shares = {i: client.settle_shares(trustees[i - 1], ceremony_id, secrets[i]) for i in secrets}
    registrar = Registrar.generate(2048)
    send_as(w3, c.addRegistrarKey(registrar.public.modulus_bytes(), registrar.public.exponent_bytes()), admin)
    now = w3.eth.get_block("latest")["timestamp"]
    end = now + 3600
    send_as(w3, c.createElection(ceremony_id, 1, 42, OPTIONS, now, end), manager)
    return Setup(tester, w3, client, admin, trustees, relayer, registrar, shares, 1, ceremony_id, end)


@pytest.fixture
def setup(setup_module_chain: Setup) -> Setup:
    snap = setup_module_chain.tester.take_snapshot()
    yield setup_module_chain
    setup_module_chain.tester.revert_to_snapshot(snap)
