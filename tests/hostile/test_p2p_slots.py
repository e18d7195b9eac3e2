"""Finding 4: strangers holding half-open p2p handshakes cannot keep allow-listed peers out: per-IP
limits, a short inbound deadline, slots reserved for allow-listed peers' addresses, outbound dials free."""

from __future__ import annotations

import asyncio
import dataclasses
import socket

from co3chain.p2p.node import Enode
from tests.p2p.conftest import FAST, make_node, new_key, run, started, wait_until


def _connected(a, b) -> bool:  # noqa: ANN001 - test helper
    return a.get_peer(b.node_id) is not None


async def _hold(port: int, sources: int, per_source: int) -> list[socket.socket]:
    """Open ``per_source`` silent connections from each of 127.0.0.2 … 127.0.0.(sources+1)."""
    socks = []
    for i in range(sources):
        for _ in range(per_source):
            s = socket.socket()
            s.bind((f"127.0.0.{2 + i}", 0))
            s.setblocking(False)
            try:
                await asyncio.get_running_loop().sock_connect(s, ("127.0.0.1", port))
            except OSError:
                s.close()
                continue
            socks.append(s)
    await asyncio.sleep(0.2)  # let the node take its slots
    return socks


def test_strangers_filling_handshake_slots_do_not_keep_an_allowlisted_peer_out() -> None:
    async def scenario() -> None:
        ka, kb = new_key(), new_key()
        # a long deadline (the old default was 5 s) so only reserved slots can let B in within the wait
        cfg = dataclasses.replace(FAST, handshake_timeout=10.0)
        # A knows B's address (127.0.0.1) as an allow-listed peer; its own dials to B fail (wrong port),
        # so the link can only come from B dialing in.
        a = make_node(ka, [kb], static=[str(Enode(kb.public_key, "127.0.0.1", 9))], config=cfg)
        async with started(a):
            socks = await _hold(a.port, sources=12, per_source=3)
            try:
                b = make_node(kb, [ka], static=[a.enode], config=cfg)
                async with started(b):
                    await wait_until(lambda: _connected(a, b) and _connected(b, a), timeout=1.5,
                                     what="B reaching A through a reserved slot")
            finally:
                for s in socks:
                    s.close()

    run(scenario())


def test_outbound_dials_work_while_inbound_slots_are_held_and_strangers_time_out() -> None:
    async def scenario() -> None:
        ka, kb = new_key(), new_key()
        cfg = dataclasses.replace(FAST, inbound_handshake_timeout=0.5)
        a = make_node(ka, [kb], config=cfg)
        b = make_node(kb, [ka], config=cfg)
        async with started(a), started(b):
            socks = await _hold(a.port, sources=12, per_source=3)
            try:
                peer = await a.connect(b.enode)  # outbound: no inbound slot needed
                assert peer.node_id == kb.public_key
                await wait_until(lambda: a._pending_general == 0, timeout=3, what="stalled handshakes dropped")
            finally:
                for s in socks:
                    s.close()

    run(scenario())
