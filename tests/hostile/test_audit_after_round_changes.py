"""Finding 8 against real processes: kill a validator of a 4-validator network and keep it down until the
network has changed round (its proposer slot timed out), restart it (it syncs), again with another one; then
``co3chain audit chain`` must pass on every node (same verdict whichever node is asked)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from co3chain.consensus.qbft.extradata import QbftExtraData
from tests.network.netutil import Network, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Network]:
    network = Network(tmp_path / "net", 4)
    try:
        network.start_all()
        network.wait_height([0, 1, 2, 3], 2)
        yield network
    finally:
        network.stop_all()


def _round(net: Network, i: int, n: int) -> int:
    block = net.block(i, n)
    assert block is not None
    return QbftExtraData.decode(bytes.fromhex(block["extraData"][2:])).round


def _round_changes(net: Network, i: int) -> int:
    return int(net.call(i, "qbft_getConsensusStatus")["roundChanges"])


def test_audit_passes_on_every_node_after_round_changes(net: Network) -> None:
    for victim, observer in ((3, 0), (1, 2)):  # kill/restart cycles of different validators
        before = _round_changes(net, observer)
        net.kill(victim)
        # deterministic: the victim stays down until its proposer slot has timed out (a round change seen)
        wait_until(lambda o=observer, b=before: _round_changes(net, o) > b, 60, "a round change")
        time.sleep(1)
        net.start(victim)
        net.wait_height([victim], net.height(observer))
    head = min(net.height(i) for i in range(4))
    net.wait_height([0, 1, 2, 3], head + 2, timeout=60)
    last = min(net.height(i) for i in range(4))
    assert any(_round(net, 0, n) > 0 for n in range(1, last + 1)), "no round change happened"
    hashes = {net.block(i, last)["hash"] for i in range(4)}  # type: ignore[index]
    assert len(hashes) == 1
    genesis = net.root / "genesis.json"
    for i, node in enumerate(net.nodes):
        out = subprocess.run(
            [sys.executable, "-m", "co3chain.cli", "audit", "chain", "--rpc", node.rpc, "--genesis", str(genesis),
             "--to", str(last), "--no-progress", "--quiet"],
            capture_output=True, text=True, timeout=120,
        )
        assert out.returncode == 0, f"node {i}: {out.stdout}\n{out.stderr}"
