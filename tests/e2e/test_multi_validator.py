"""The same app-developer flows on a 4-validator network started with ``co3chain network up``.

The API (and the deployment) talk to node 1, the oracle to node 2: every relayed vote and every submitBatch
crosses the P2P layer and is sealed by a QBFT quorum of PAs. One validator (node 4, which no client uses)
is stopped mid-way: 3 of 4 still finalize, and when it comes back it catches up on the same chain.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from eth_account import Account

from co3chain.node import localnet
from co3chain.sdk import ApiClientError
from tests.e2e.stack import TOKEN_REWARD, LocalNetwork, Stack, running_stack, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def stack4(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("e2e4"), validators=4) as s:
        yield s


def _net(stack: Stack) -> LocalNetwork:
    assert stack.net is not None, "this scenario runs on the multi-validator stack"
    return stack.net


def test_four_validators_checkin_vote_and_one_validator_down(stack4: Stack) -> None:
    net = _net(stack4)
    assert len(net.validators) == 4
    consortium = stack4.contracts["ConsortiumValidators"].functions.getValidators().call()
    assert sorted(consortium) == sorted(net.validators)
    # account permissioning is on (the relayer, the oracle submitter and the PA are allow-listed): a stranger's
    # own transaction is refused, while the relayed and oracle flows below go through
    stranger = Account.from_key(b"\x77" * 32)
    tx = {"to": "0x000000000000000000000000000000000000dEaD", "value": 0, "gas": 21_000, "gasPrice": 0,
          "nonce": 0, "chainId": stack4.chain_id}
    with pytest.raises(localnet.LocalnetError, match="not allow-listed"):
        localnet.rpc_call(net.urls[0], "eth_sendRawTransaction",
                          "0x" + bytes(stranger.sign_transaction(tx).raw_transaction).hex())

    citizen = stack4.new_citizen("net4")
    first = stack4.confirmed(stack4.checkin(citizen, f"e2e4-first-{citizen.address}"))
    assert stack4.anon.citizen(citizen.address).balance == str(TOKEN_REWARD)
    stack4.wait_indexed(first["block"])
    assert [a.id for a in stack4.anon.citizen_attestations(citizen.address)] == [first["attestation_id"]]

    pid = stack4.open_proposal("four validators")
    signed = stack4.anon.sign_vote(citizen, pid, 1)
    stack4.wait_tx(stack4.anon.relay_vote(signed).txHash)
    results = stack4.anon.proposal(pid).results
    assert results is not None and results.for_ == "1"
    with pytest.raises(ApiClientError) as refused:
        stack4.anon.relay_vote(signed)
    assert refused.value.status == 409

    # Node 4 (a validator no client talks to) goes down: the other three still reach quorum (3 of 4).
    down = net.nodes[3]
    assert localnet.stop_node(down, timeout=30)
    try:
        second = stack4.confirmed(stack4.checkin(citizen, f"e2e4-second-{citizen.address}"), timeout=180)
        assert stack4.balance(citizen.address) == 2 * TOKEN_REWARD
    finally:
        localnet.start_node(down)
    # Back up, it catches up on the same chain (same block hash as node 1 at the attestation's block).
    wait_for("node 4 to catch up", lambda: net.height(3) >= second["block"], 120)
    block = hex(second["block"])
    hashes = {localnet.rpc_call(url, "eth_getBlockByNumber", block, False)["hash"] for url in net.urls}
    assert len(hashes) == 1, hashes
    assert len(stack4.accepted_events(second["attestation_id"])) == 1
