"""Finding 8 against real processes, made deterministic: freeze a validator (SIGSTOP) until the network has
changed round because its proposer slot timed out, thaw it, do it again with another validator; then

* every node stores *byte-identical* blocks for every height (same extraData: same round, same seals) —
  not just the same block hash — within a bounded convergence time, and
* ``co3chain audit chain`` passes on every node.

Why SIGSTOP rather than kill/restart: a stopped process keeps its sockets, misses exactly the slots while it
is frozen and cannot race its own restart, so "its proposer slot times out" happens every time; the test
waits for the round change it needs instead of hoping one happens.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from co3chain.consensus.qbft.extradata import QbftExtraData
from tests.network.netutil import Network, header_from_json, wait_until

pytestmark = pytest.mark.slow

#: Seconds the nodes get to converge on one stored form after the last block compared.
CONVERGE = 30.0


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Network]:
    network = Network(tmp_path / "net", 4)
    try:
        network.start_all()
        network.wait_height([0, 1, 2, 3], 2)
        yield network
    finally:
        for node in network.nodes:  # never leave a frozen process behind
            pid = node.pid()
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)
        network.stop_all()


def round_changes(net: Network, i: int) -> int:
    return int(net.call(i, "qbft_getConsensusStatus")["roundChanges"])


def freeze_until_round_change(net: Network, victim: int, observer: int) -> None:
    """SIGSTOP ``victim`` until ``observer`` has started a round > 0 and sealed a block after it."""
    pid = net.nodes[victim].pid()
    assert pid is not None
    before = round_changes(net, observer)
    os.kill(pid, signal.SIGSTOP)
    try:
        wait_until(lambda: round_changes(net, observer) > before, 40, "a round change while a validator is frozen")
        head = net.height(observer)
        net.wait_height([observer], head + 1, timeout=40)
    finally:
        os.kill(pid, signal.SIGCONT)


def stored_blocks(net: Network, i: int, last: int) -> list[dict[str, Any]]:
    return [net.block(i, n) for n in range(1, last + 1)]  # type: ignore[misc]


def test_round_changes_then_identical_blocks_and_audit_on_every_node(net: Network) -> None:
    freeze_until_round_change(net, victim=3, observer=0)
    net.wait_height([3], net.height(0), timeout=60)
    freeze_until_round_change(net, victim=1, observer=2)
    head = max(net.height(i) for i in range(4))
    net.wait_height([0, 1, 2, 3], head + 2, timeout=60)
    last = min(net.height(i) for i in range(4))

    rounds = [QbftExtraData.decode(bytes.fromhex(b["extraData"][2:])).round for b in stored_blocks(net, 0, last)]
    assert any(r > 0 for r in rounds), f"no block was sealed in a round > 0: {rounds}"

    def identical() -> bool:
        reference = stored_blocks(net, 0, last)
        return all(stored_blocks(net, i, last) == reference for i in (1, 2, 3))

    try:
        wait_until(identical, CONVERGE, f"byte-identical blocks 1..{last} on all 4 nodes", interval=1.0)
    except AssertionError:
        reference = stored_blocks(net, 0, last)
        diffs = [(i, b["number"], b["extraData"][-200:], reference[k]["extraData"][-200:])
                 for i in (1, 2, 3) for k, b in enumerate(stored_blocks(net, i, last)) if b != reference[k]]
        raise AssertionError(f"{len(diffs)} stored blocks differ between nodes, e.g. {diffs[:2]}") from None
    for block in stored_blocks(net, 0, last):
        header_from_json(block)  # the JSON is the header that hashes to the block hash

    genesis = net.root / "genesis.json"
    for i, node in enumerate(net.nodes):
        started = time.monotonic()
        out = subprocess.run(
            [sys.executable, "-m", "co3chain.cli", "audit", "chain", "--rpc", node.rpc, "--genesis", str(genesis),
             "--to", str(last), "--no-progress", "--quiet"],
            capture_output=True, text=True, timeout=120,
        )
        assert out.returncode == 0, f"node {i} ({time.monotonic() - started:.0f} s): {out.stdout}\n{out.stderr}"
