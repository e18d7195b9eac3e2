"""Done-means of issue 17 for the attacks without a liveness test of their own: under each, a real node
keeps ≥ 75 % of its block slots and answers every honest request (the package fixture then audits it)."""

from __future__ import annotations

import threading
import tomllib
from collections.abc import Callable

import pytest

from tests.hostile import attacks as A
from tests.node.procs import NodeProcess


def _p2p_port(node: NodeProcess) -> int:
    return int(tomllib.loads(node.config.read_text())["p2p"]["port"])


ATTACKS: dict[str, Callable[[NodeProcess], list[Callable[[threading.Event], None]]]] = {
    "pool-fill": lambda n: [lambda s, i=i: A.pool_fill(n.url, s, seed=f"matrix{i}-") for i in range(2)],
    "slow-loris": lambda n: [lambda s: A.slow_loris(n.url, s, count=200)],
    "p2p-handshake": lambda n: [lambda s: A.handshake_hold("127.0.0.1", _p2p_port(n), s)],
    "ws-stall": lambda n: [lambda s: A.ws_stall(n.url, s) for _ in range(2)],
}


@pytest.mark.parametrize("name", list(ATTACKS))
def test_blocks_and_honest_requests_under_attack(live_node: NodeProcess, name: str) -> None:
    assert live_node.proc is not None
    result = A.measure(live_node.url, ATTACKS[name](live_node), seconds=8, pid=live_node.proc.pid)
    assert result.block_share >= 0.75, f"{name}: {result.blocks} blocks in {result.slots} slots"
    assert result.honest_failures == 0 and result.honest_latencies, name
    assert result.rss_mb_max < 600, f"{name}: node RSS {result.rss_mb_max:.0f} MiB"
