"""P2PNode over real loopback sockets: permissioning, robustness, gossip, block requests, reconnects."""

from __future__ import annotations

import asyncio
import dataclasses
import os

import pytest

from co3chain.p2p import (
    DisconnectReason,
    Enode,
    HandshakeError,
    MsgType,
    NotAllowedError,
    P2PError,
    P2PHandlers,
    P2PNode,
    PeerMisbehaved,
    PeerNotConnected,
    RequestTimeout,
    Status,
)
from co3chain.p2p.messages import Blocks, Hello

from .conftest import (
    FAST,
    GENESIS,
    NETWORK_ID,
    Recorder,
    make_node,
    new_key,
    raw_session,
    run,
    started,
    wait_until,
)


def connected(node, *others) -> bool:  # type: ignore[no-untyped-def]
    return all(node.get_peer(o.node_id) is not None for o in others)


def test_two_nodes_authenticate_and_exchange_status() -> None:
    async def scenario() -> None:
        ka, kb = new_key(), new_key()
        ra, rb = Recorder(), Recorder()
        cfg = dataclasses.replace(FAST, ping_interval=0.05, idle_timeout=2.0)
        head = Status(NETWORK_ID, GENESIS, 7, b"\x07" * 32)
        a = make_node(ka, [kb], recorder=ra, config=cfg)
        a.handlers.head_status = lambda: head
        async with started(a):
            b = make_node(kb, [ka], static=[a.enode], recorder=rb, config=cfg)
            async with started(b):
                await wait_until(lambda: connected(a, b) and connected(b, a), what="connection")
                pa, pb = a.get_peer(kb.public_key), b.get_peer(ka.public_key)
                assert pa is not None and pb is not None
                assert pa.inbound and not pb.inbound
                assert pa.address == kb.address and pb.address == ka.address
                assert pb.status == head and (ka.public_key, head) in rb.statuses
                assert ra.connected == [kb.public_key]
                await wait_until(lambda: pa.rtt is not None and pb.rtt is not None, what="keepalive pong")

                head = Status(NETWORK_ID, GENESIS, 8, b"\x08" * 32)
                assert a.announce_status() == 1
                await wait_until(lambda: pb.status == head, what="status update")
            await wait_until(lambda: not a.peers, what="disconnect on stop")
            assert ra.disconnected[-1][0] == kb.public_key

    run(scenario())


def test_non_allowlisted_peer_rejected_both_ways() -> None:
    async def scenario() -> None:
        ka, kb, kc = new_key(), new_key(), new_key()
        a = make_node(ka, [kb])  # does not allow c
        c = make_node(kc, [ka, kb])  # c allows a
        async with started(a, c):
            with pytest.raises(HandshakeError):  # inbound at a: refused
                await c.connect(a.enode)
            with pytest.raises(NotAllowedError):  # outbound from a: never dialed
                await a.connect(c.enode)
            assert not a.peers and not c.peers
            b = make_node(kb, [ka], static=[a.enode])
            async with started(b):
                await wait_until(lambda: connected(a, b), what="allowed peer")
                assert [p.node_id for p in a.peers] == [kb.public_key]

    run(scenario())


def test_wrong_key_in_peer_address_rejected() -> None:
    async def scenario() -> None:
        ka, kb, kd = new_key(), new_key(), new_key()
        a = make_node(ka, [kb, kd])
        b = make_node(kb, [ka])
        async with started(a, b):
            impostor = Enode(kd.public_key, "127.0.0.1", b.port)  # b's socket, d's key
            with pytest.raises(HandshakeError, match="different node key"):
                await a.connect(impostor)
            assert not a.peers and not b.peers

    run(scenario())


async def _line(n: int, recorders: list[Recorder], **kw: object) -> list:  # type: ignore[type-arg]
    keys = [new_key() for _ in range(n)]
    nodes = []
    for i, key in enumerate(keys):
        static = [nodes[i - 1].enode] if i else []
        node = make_node(key, keys, static=static, recorder=recorders[i], **kw)  # type: ignore[arg-type]
        await node.start()
        nodes.append(node)
    return nodes


def test_gossip_along_a_line_of_four_arrives_once_each() -> None:
    async def scenario() -> None:
        recs = [Recorder() for _ in range(4)]
        nodes = await _line(4, recs)
        try:
            await wait_until(lambda: [len(n.peers) for n in nodes] == [1, 2, 2, 1], what="line topology")
            txs = [os.urandom(100) for _ in range(3)]
            msg = b"\xf8qbft-commit-" + os.urandom(16)
            assert nodes[0].broadcast_txs(txs) == 1
            assert nodes[3].broadcast_consensus(msg) == 1
            for i in (1, 2, 3):
                await wait_until(lambda i=i: len(recs[i].txs) >= 3, what=f"txs at node {i}")
            for i in (0, 1, 2):
                await wait_until(lambda i=i: len(recs[i].consensus) >= 1, what=f"consensus at node {i}")
            nodes[0].broadcast_txs(txs)  # re-broadcast of known txs: peers already know them
            await asyncio.sleep(0.2)  # let any duplicate arrive before counting
            for i in (1, 2, 3):
                assert sorted(raw for _, raw in recs[i].txs) == sorted(txs)
                assert {origin for origin, _ in recs[i].txs} == {nodes[i - 1].node_id}
            for i in (0, 1, 2):
                assert recs[i].consensus == [(nodes[i + 1].node_id, msg)]
            assert recs[0].txs == [] and recs[3].consensus == []
        finally:
            await asyncio.gather(*(n.stop() for n in nodes))

    run(scenario())


def test_gossip_in_full_mesh_is_deduplicated() -> None:
    async def scenario() -> None:
        recs = [Recorder() for _ in range(4)]
        keys = [new_key() for _ in range(4)]
        nodes = []
        try:
            for i, key in enumerate(keys):
                node = make_node(key, keys, static=[n.enode for n in nodes], recorder=recs[i])
                await node.start()
                nodes.append(node)
            await wait_until(lambda: all(len(n.peers) == 3 for n in nodes), what="full mesh")
            msgs = [b"round-change-" + os.urandom(8) for _ in range(5)]
            for m in msgs:
                nodes[2].broadcast_consensus(m)
            for i in (0, 1, 3):
                await wait_until(lambda i=i: len(recs[i].consensus) >= 5, what=f"consensus at {i}")
            await asyncio.sleep(0.2)
            for i in (0, 1, 3):
                assert sorted(raw for _, raw in recs[i].consensus) == sorted(msgs)
            assert recs[2].consensus == []
        finally:
            await asyncio.gather(*(n.stop() for n in nodes))

    run(scenario())


def test_handler_can_filter_relay() -> None:
    async def scenario() -> None:
        recs = [Recorder() for _ in range(3)]
        keys = [new_key() for _ in range(3)]
        nodes = []
        wanted = os.urandom(50)
        unwanted = os.urandom(50)

        def only_wanted(peer, raw_txs):  # type: ignore[no-untyped-def]
            recs[1].txs.extend((peer.node_id, r) for r in raw_txs)
            return [r for r in raw_txs if r == wanted]

        try:
            for i, key in enumerate(keys):
                handlers = recs[i].handlers()
                if i == 1:
                    handlers.on_tx = only_wanted
                static = [nodes[i - 1].enode] if i else []
                node = make_node(key, keys, static=static, handlers=handlers)
                await node.start()
                nodes.append(node)
            await wait_until(lambda: len(nodes[1].peers) == 2, what="line")
            nodes[0].broadcast_txs([unwanted, wanted])
            await wait_until(lambda: len(recs[2].txs) >= 1, what="relayed tx")
            await asyncio.sleep(0.1)
            assert [raw for _, raw in recs[2].txs] == [wanted]
            assert len(recs[1].txs) == 2
        finally:
            await asyncio.gather(*(n.stop() for n in nodes))

    run(scenario())


def test_block_request_and_response() -> None:
    async def scenario() -> None:
        ka, kb = new_key(), new_key()
        ra = Recorder(blocks=[b"block-%d" % i for i in range(10)])
        cfg = dataclasses.replace(FAST, max_blocks_per_request=5)
        a = make_node(ka, [kb], recorder=ra, config=cfg)
        b = make_node(kb, [ka])
        async with started(a, b):
            await b.connect(a.enode)
            assert await b.request_blocks(ka.public_key, 3, 2) == [b"block-3", b"block-4"]
            assert await b.request_blocks(ka.public_key, 0, 100) == ra.blocks[:5]  # capped by the server
            assert await b.request_blocks(ka.public_key, 50, 3) == []  # unknown range
            results = await asyncio.gather(*(b.request_blocks(ka.public_key, i, 1) for i in range(4)))
            assert results == [[ra.blocks[i]] for i in range(4)]
            with pytest.raises(PeerNotConnected):
                await b.request_blocks(new_key().public_key, 0, 1)
            with pytest.raises(ValueError):
                await b.request_blocks(ka.public_key, 0, 0)

    run(scenario())


def test_block_response_fits_in_one_frame_and_async_handler() -> None:
    async def scenario() -> None:
        ka, kb = new_key(), new_key()
        big = [bytes([i]) * 300_000 for i in range(6)]

        async def get_blocks(start: int, count: int) -> list[bytes]:
            await asyncio.sleep(0)
            return big[start : start + count]

        cfg = dataclasses.replace(FAST, max_frame_size=1 << 20, send_queue_bytes=8 << 20)
        a = make_node(ka, [kb], handlers=P2PHandlers(get_blocks=get_blocks), config=cfg)
        b = make_node(kb, [ka], config=cfg)
        async with started(a, b):
            peer = await b.connect(a.enode)
            got = await b.request_blocks(peer, 0, 6)
            assert got == big[:3]  # 3 × 300 kB fit in a 1 MiB frame, the 4th would not
            assert await b.request_blocks(peer, 3, 6) == big[3:6]

    run(scenario())


def test_reply_with_more_blocks_than_asked_is_a_protocol_error() -> None:
    async def scenario() -> None:
        ka, km = new_key(), new_key()
        a = make_node(ka, [km])
        async with started(a):
            evil = await raw_session(a, km)
            request = asyncio.ensure_future(a.request_blocks(km.public_key, 0, 1))
            while True:
                msg_type, payload = await evil.recv()
                if msg_type is MsgType.GET_BLOCKS:
                    break
            evil.send(MsgType.BLOCKS, Blocks(payload.request_id, [b"b0", b"b1"]))
            with pytest.raises(PeerNotConnected):
                await request
            assert a.is_banned(km.public_key)
            evil.close()

    run(scenario())


def test_request_timeout_and_disconnect_fail_pending_requests() -> None:
    async def scenario() -> None:
        ka, km = new_key(), new_key()
        a = make_node(ka, [km], config=dataclasses.replace(FAST, request_timeout=0.2))
        async with started(a):
            mute = await raw_session(a, km)  # completes HELLO, never answers GET_BLOCKS
            await wait_until(lambda: a.get_peer(km.public_key) is not None, what="raw peer")
            with pytest.raises(RequestTimeout):
                await a.request_blocks(km.public_key, 0, 1)
            pending = asyncio.ensure_future(a.request_blocks(km.public_key, 0, 1))
            await asyncio.sleep(0.05)
            mute.close()
            with pytest.raises(PeerNotConnected):
                await pending

    run(scenario())


async def _attack(kind: str, session) -> None:  # type: ignore[no-untyped-def]
    if kind == "tampered_ciphertext":
        frame = bytearray(session.sealer.seal(bytes([MsgType.CONSENSUS]) + b"\x85hello"))
        frame[-20] ^= 0x40
        session.writer.write(bytes(frame))
    elif kind == "garbage_bytes":
        session.writer.write(os.urandom(64))
    elif kind == "oversized_frame":
        session.writer.write((64 << 20).to_bytes(4, "big") + b"\x00" * 32)
    elif kind == "undecodable_payload":
        session.send_plaintext(bytes([MsgType.TX]) + b"\xf8\xff\x01")
    elif kind == "unknown_type":
        session.send_plaintext(b"\x7f\xc0")
    elif kind == "second_hello":
        session.send(MsgType.HELLO, Hello(1, "x", 1 << 20, Status(NETWORK_ID, GENESIS, 0, GENESIS)))
    elif kind == "malformed_status":
        session.send_plaintext(bytes([MsgType.STATUS]) + b"\xc0")
    elif kind == "foreign_status":
        session.send(MsgType.STATUS, Status(NETWORK_ID + 1, GENESIS, 0, GENESIS))
    else:  # pragma: no cover
        raise AssertionError(kind)


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("tampered_ciphertext", DisconnectReason.BAD_FRAME),
        ("garbage_bytes", DisconnectReason.BAD_FRAME),
        ("oversized_frame", DisconnectReason.BAD_FRAME),
        ("undecodable_payload", DisconnectReason.PROTOCOL_ERROR),
        ("unknown_type", DisconnectReason.PROTOCOL_ERROR),
        ("second_hello", DisconnectReason.PROTOCOL_ERROR),
        ("malformed_status", DisconnectReason.PROTOCOL_ERROR),
        ("foreign_status", DisconnectReason.PROTOCOL_ERROR),
    ],
)
def test_misbehaving_peer_is_disconnected_and_others_unaffected(kind: str, reason: DisconnectReason) -> None:
    async def scenario() -> None:
        ka, kb, km = new_key(), new_key(), new_key()
        ra, rb = Recorder(), Recorder()
        a = make_node(ka, [kb, km], recorder=ra)
        async with started(a):
            b = make_node(kb, [ka], static=[a.enode], recorder=rb)
            async with started(b):
                await wait_until(lambda: connected(a, b), what="honest peer")
                evil = await raw_session(a, km)
                await wait_until(lambda: a.get_peer(km.public_key) is not None, what="attacker session")
                await _attack(kind, evil)
                assert await evil.closed_by_remote()
                await wait_until(lambda: any(n == km.public_key for n, _ in ra.disconnected), what="drop")
                assert (km.public_key, reason) in ra.disconnected
                # the honest peer is unaffected, in both directions
                tx, msg = os.urandom(40), os.urandom(40)
                b.broadcast_txs([tx])
                a.broadcast_consensus(msg)
                await wait_until(lambda: (kb.public_key, tx) in ra.txs, what="tx b->a")
                await wait_until(lambda: (ka.public_key, msg) in rb.consensus, what="consensus a->b")
                assert connected(a, b)
                # authenticated violations get the sender banned; unattributable bad frames do not
                if reason is DisconnectReason.PROTOCOL_ERROR:
                    assert a.is_banned(km.public_key)
                    with pytest.raises(HandshakeError):
                        await raw_session(a, km)
                else:
                    assert not a.is_banned(km.public_key)
                    (await raw_session(a, km)).close()
                evil.close()

    run(scenario())


def test_garbage_before_handshake_is_dropped() -> None:
    async def scenario() -> None:
        ka, kb = new_key(), new_key()
        a = make_node(ka, [kb])
        async with started(a):
            reader, writer = await asyncio.open_connection("127.0.0.1", a.port)
            writer.write(os.urandom(300))
            assert await asyncio.wait_for(reader.read(), 5) == b""  # closed without an answer
            writer.close()
            b = make_node(kb, [ka])
            async with started(b):
                await b.connect(a.enode)  # the node still works

    run(scenario())


def test_handler_raising_peer_misbehaved_bans_sender() -> None:
    async def scenario() -> None:
        ka, kb = new_key(), new_key()

        def on_consensus(peer, raw):  # type: ignore[no-untyped-def]
            raise PeerMisbehaved("signed by a non-validator")

        a = make_node(ka, [kb], handlers=P2PHandlers(on_consensus=on_consensus))
        b = make_node(kb, [ka])
        async with started(a, b):
            await b.connect(a.enode)
            b.broadcast_consensus(b"bogus")
            await wait_until(lambda: not a.peers and not b.peers, what="disconnect")
            assert a.is_banned(kb.public_key)
            with pytest.raises(HandshakeError):
                await b.connect(a.enode)

    run(scenario())


def test_reconnect_after_peer_restarts() -> None:
    async def scenario() -> None:
        ka, kb = new_key(), new_key()
        rb = Recorder()
        a = make_node(ka, [kb])
        await a.start()
        port = a.port
        b = make_node(kb, [ka], static=[a.enode], recorder=rb)
        async with started(b):
            try:
                await wait_until(lambda: connected(b, a), what="first connection")
                await a.stop()
                await wait_until(lambda: not b.peers, what="b notices")
                a = make_node(ka, [kb], port=port)  # same key and address, fresh process state
                await a.start()
                await wait_until(lambda: connected(b, a) and connected(a, b), what="reconnection")
                assert rb.connected == [ka.public_key, ka.public_key]
                a.broadcast_txs([b"after restart"])
                await wait_until(lambda: (ka.public_key, b"after restart") in rb.txs, what="gossip")
            finally:
                await a.stop()

    run(scenario())


def test_allowlist_update_admits_and_evicts_peers() -> None:
    async def scenario() -> None:
        ka, kb, kc = new_key(), new_key(), new_key()
        rc = Recorder()
        a = make_node(ka, [kb])
        async with started(a):
            b = make_node(kb, [ka], static=[a.enode])
            c = make_node(kc, [ka], static=[a.enode], recorder=rc)
            async with started(b, c):
                a.add_static_peer(c.enode)
                await wait_until(lambda: connected(a, b), what="b")
                await asyncio.sleep(0.3)  # c keeps retrying and a keeps refusing
                assert not connected(a, c) and not c.peers

                a.update_allowlist([kb.public_key, kc.public_key])  # c voted in
                await wait_until(lambda: connected(a, c) and connected(c, a), what="c admitted")
                a.broadcast_consensus(b"welcome")
                await wait_until(lambda: (ka.public_key, b"welcome") in rc.consensus, what="c gossip")

                a.update_allowlist([kb.public_key])  # c voted out
                await wait_until(lambda: not connected(a, c), what="c evicted")
                assert connected(a, b)
                await asyncio.sleep(0.3)
                assert not connected(a, c)

    run(scenario())


def test_simultaneous_dials_keep_exactly_one_connection() -> None:
    async def scenario() -> None:
        ka, kb = new_key(), new_key()
        ra, rb = Recorder(), Recorder()
        a = make_node(ka, [kb], recorder=ra)
        b = make_node(kb, [ka], recorder=rb)
        async with started(a, b):
            a.add_static_peer(b.enode)
            b.add_static_peer(a.enode)
            await wait_until(lambda: connected(a, b) and connected(b, a), what="connection")
            await asyncio.sleep(0.3)
            pa, pb = a.get_peer(kb.public_key), b.get_peer(ka.public_key)
            assert pa is not None and pb is not None and pa.connected and pb.connected
            assert pa.inbound != pb.inbound  # the two ends of the same TCP connection
            a.broadcast_consensus(b"one")
            b.broadcast_consensus(b"two")
            await wait_until(lambda: rb.consensus and ra.consensus, what="messages")
            await asyncio.sleep(0.1)
            assert rb.consensus == [(ka.public_key, b"one")] and ra.consensus == [(kb.public_key, b"two")]

    run(scenario())


def test_slow_peer_drops_gossip_then_is_disconnected() -> None:
    async def scenario() -> None:
        ka, km = new_key(), new_key()
        ra = Recorder()
        cfg = dataclasses.replace(
            FAST, max_frame_size=64 << 10, send_queue_frames=8, send_queue_bytes=64 << 10
        )
        a = make_node(ka, [km], recorder=ra, config=cfg)
        async with started(a):
            stalled = await raw_session(a, km)  # never reads again: kernel buffers fill, then the queue
            peer = a.get_peer(km.public_key)
            assert peer is not None
            for i in range(5000):
                a.broadcast_txs([i.to_bytes(4, "big") + b"t" * 30_000])
                if peer.stats.dropped_frames:
                    break
                await asyncio.sleep(0)
            assert peer.stats.dropped_frames > 0 and peer.connected  # gossip dropped, peer kept
            for i in range(5000):
                a.broadcast_consensus(i.to_bytes(4, "big") + b"c" * 30_000)
                if not peer.connected:
                    break
                await asyncio.sleep(0)
            assert peer.close_reason is DisconnectReason.SLOW_PEER
            assert (km.public_key, DisconnectReason.SLOW_PEER) in ra.disconnected
            stalled.close()

    run(scenario())


def test_silent_peer_times_out() -> None:
    async def scenario() -> None:
        ka, km = new_key(), new_key()
        ra = Recorder()
        cfg = dataclasses.replace(FAST, ping_interval=0.05, idle_timeout=0.3)
        a = make_node(ka, [km], recorder=ra, config=cfg)
        async with started(a):
            silent = await raw_session(a, km)  # reads (and discards) pings, never answers
            assert await silent.closed_by_remote()
            silent.close()
            assert (km.public_key, DisconnectReason.TIMEOUT) in ra.disconnected

    run(scenario())


def test_handshake_timeout_drops_stalled_inbound() -> None:
    async def scenario() -> None:
        ka = new_key()
        a = make_node(ka, [], config=dataclasses.replace(FAST, handshake_timeout=0.2))
        async with started(a):
            reader, writer = await asyncio.open_connection("127.0.0.1", a.port)
            writer.write(b"\x00")  # half a length prefix, then nothing
            assert await asyncio.wait_for(reader.read(), 5) == b""
            writer.close()

    run(scenario())


def test_allowlist_by_validator_address() -> None:
    async def scenario() -> None:
        ka, kb, kx = new_key(), new_key(), new_key()
        a = P2PNode(ka.private_key, "127.0.0.1", 0, [], {kb.address}, NETWORK_ID, GENESIS, config=FAST)
        b = make_node(kb, [ka])
        async with started(a, b):
            await b.connect(a.enode)
            assert a.is_allowed(kb.public_key) and not a.is_allowed(kx.public_key)
            a.update_allowlist([kx.address])  # b's validator was voted out
            await wait_until(lambda: not a.peers and not b.peers, what="eviction")
            with pytest.raises(HandshakeError):
                await b.connect(a.enode)
        with pytest.raises(P2PError, match="expected a 64-byte key or 20-byte address"):
            a.update_allowlist([b"\x01" * 32])

    run(scenario())
