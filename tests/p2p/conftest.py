"""Helpers for p2p tests: fast configs, recording handlers, bounded waits and a hand-driven raw session.

Every test runs its scenario with ``run()`` (a fresh event loop and an overall deadline), so a hang fails
the test instead of blocking the suite. ``wait_until`` polls a condition with a deadline; it is a bound on
waiting, not an assertion about speed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from co3chain.p2p import NodeKey, P2PConfig, P2PHandlers, P2PNode, Peer, Status
from co3chain.p2p.frames import FrameOpener, FrameSealer
from co3chain.p2p.handshake import initiate
from co3chain.p2p.messages import PROTOCOL_VERSION, Hello, MsgType, decode_message, encode_message

NETWORK_ID = 1337
GENESIS = bytes.fromhex("11" * 32)

FAST = P2PConfig(
    handshake_timeout=3.0,
    ping_interval=1.0,
    idle_timeout=10.0,
    request_timeout=3.0,
    reconnect_min=0.05,
    reconnect_max=0.2,
    ban_seconds=30.0,
)


def run(coro: Awaitable[Any], timeout: float = 30.0) -> Any:
    async def main() -> Any:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(main())


async def wait_until(predicate: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def new_key() -> NodeKey:
    return NodeKey()


@dataclass
class Recorder:
    """Handlers that record what the node received."""

    txs: list[tuple[bytes, bytes]] = field(default_factory=list)  # (from node id, raw tx)
    consensus: list[tuple[bytes, bytes]] = field(default_factory=list)
    statuses: list[tuple[bytes, Status]] = field(default_factory=list)
    connected: list[bytes] = field(default_factory=list)
    disconnected: list[tuple[bytes, Any]] = field(default_factory=list)
    blocks: list[bytes] = field(default_factory=list)  # served by get_blocks
    relay: bool = True

    def handlers(self) -> P2PHandlers:
        def on_tx(peer: Peer, raw_txs: list[bytes]) -> bool | None:
            self.txs.extend((peer.node_id, raw) for raw in raw_txs)
            return None if self.relay else False

        def on_consensus(peer: Peer, raw: bytes) -> bool | None:
            self.consensus.append((peer.node_id, raw))
            return None if self.relay else False

        def get_blocks(start: int, count: int) -> list[bytes]:
            return self.blocks[start : start + count]

        return P2PHandlers(
            on_tx=on_tx,
            on_consensus=on_consensus,
            on_status=lambda peer, status: self.statuses.append((peer.node_id, status)),
            get_blocks=get_blocks,
            on_peer_connected=lambda peer: self.connected.append(peer.node_id),
            on_peer_disconnected=lambda peer: self.disconnected.append((peer.node_id, peer.close_reason)),
        )


def make_node(
    key: NodeKey,
    allowed: Iterable[NodeKey],
    static: Iterable[str] = (),
    recorder: Recorder | None = None,
    config: P2PConfig = FAST,
    port: int = 0,
    handlers: P2PHandlers | None = None,
) -> P2PNode:
    return P2PNode(
        private_key=key.private_key,
        host="127.0.0.1",
        port=port,
        static_peers=list(static),
        allowed_pubkeys={k.public_key for k in allowed},
        network_id=NETWORK_ID,
        genesis_hash=GENESIS,
        handlers=handlers or (recorder.handlers() if recorder else None),
        config=config,
    )


@dataclass
class RawSession:
    """A hand-driven authenticated connection, for sending things a well-behaved node never sends."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    sealer: FrameSealer
    opener: FrameOpener

    def send(self, msg_type: MsgType, payload: Any) -> None:
        self.writer.write(self.sealer.seal(encode_message(msg_type, payload)))

    def send_plaintext(self, plaintext: bytes) -> None:
        self.writer.write(self.sealer.seal(plaintext))

    async def recv(self) -> tuple[MsgType, Any]:
        return decode_message(await self.opener.read(self.reader))

    async def closed_by_remote(self, timeout: float = 5.0) -> bool:
        """True once the remote closes the connection (frames it sends meanwhile are discarded)."""
        try:
            async with asyncio.timeout(timeout):
                while await self.reader.read(65536):
                    pass
        except TimeoutError:
            return False
        except ConnectionError:
            pass
        return True

    def close(self) -> None:
        self.writer.close()


async def raw_session(target: P2PNode, key: NodeKey, *, hello: bool = True) -> RawSession:
    reader, writer = await asyncio.open_connection("127.0.0.1", target.port)
    try:
        result = await initiate(reader, writer, key, target.node_id, NETWORK_ID, GENESIS)
    except BaseException:
        writer.close()
        raise
    session = RawSession(
        reader, writer, FrameSealer(result.send_key), FrameOpener(result.recv_key, 16 * 2**20)
    )
    if hello:
        status = Status(NETWORK_ID, GENESIS, 0, GENESIS)
        session.send(MsgType.HELLO, Hello(PROTOCOL_VERSION, "raw-test", 16 * 2**20, status))
        msg_type, _ = await session.recv()
        assert msg_type is MsgType.HELLO
    return session


class started:  # noqa: N801 - reads like a context-manager function
    """``async with started(a, b): ...`` starts the nodes in order and always stops them."""

    def __init__(self, *nodes: P2PNode) -> None:
        self.nodes = nodes

    async def __aenter__(self) -> tuple[P2PNode, ...]:
        for node in self.nodes:
            await node.start()
        return self.nodes

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.gather(*(node.stop() for node in self.nodes), return_exceptions=True)
