"""Growing a one-validator network: the known "adding a validator halts it" failure mode must not happen.

With one validator, ⌊1/2⌋+1 = 1 vote adds the second at once, and a set of two needs both seals: had
the new node been offline, the chain would stop. The node therefore casts an add vote only while the
subject's node is connected and synced; this test proposes the vote *before* the new node runs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.network.netutil import WAIT, Network, audit_chain, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    network = Network(tmp_path_factory.mktemp("qbft1") / "net", 1)
    try:
        network.start_all()
        network.wait_height([0], 2)
        yield network
    finally:
        network.stop_all()


def test_adding_a_validator_to_a_single_validator_network_does_not_halt_it(net: Network) -> None:
    node = net.add_node()
    address = node.address if node.address.startswith("0x") else "0x" + node.address
    assert net.call(0, "qbft_proposeValidatorVote", address, True) is True
    time.sleep(3)  # the new node is not running: the vote must wait, the chain must go on
    before = net.height(0)
    net.wait_height([0], before + 2)
    assert address.lower() not in [v.lower() for v in net.call(0, "qbft_getValidatorsByBlockNumber", "latest")]
    assert {k.lower(): v for k, v in net.call(0, "qbft_getPendingVotes").items()} == {address.lower(): True}

    net.start(1)  # connects (allowed by the pending vote), syncs, then gets voted in

    def voted_in() -> int | None:
        head = net.height(0)
        vals = [v.lower() for v in net.call(0, "qbft_getValidatorsByBlockNumber", hex(head))]
        return head if address.lower() in vals else None

    added_at = wait_until(voted_in, WAIT, "the second validator to be added")
    net.wait_height([0, 1], added_at + 4)  # both seal: the two-validator network keeps finalizing
    miners = {net.block(0, n)["miner"].lower() for n in range(added_at, added_at + 5)}  # type: ignore[index]
    assert address.lower() in miners
    assert audit_chain(net, 0, net.height(0)) >= added_at + 4
