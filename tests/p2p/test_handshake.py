"""The authenticated key exchange, driven directly over loopback sockets."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from co3chain.p2p import HandshakeError, NodeKey, NotAllowedError
from co3chain.p2p.handshake import HandshakeResult, initiate, respond

from .conftest import GENESIS, NETWORK_ID, run


class RecordingWriter:
    """Wraps a StreamWriter and keeps a copy of everything written (to replay it later)."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self.sent = bytearray()

    def write(self, data: bytes) -> None:
        self.sent += data
        self._writer.write(data)

    async def drain(self) -> None:
        await self._writer.drain()


class ForgedKey:
    """Claims one node's public key but can only sign with another key."""

    def __init__(self, claimed: NodeKey, real: NodeKey) -> None:
        self.public_key = claimed.public_key
        self.sign = real.sign


async def _responder_server(
    key: NodeKey, is_allowed: Callable[[bytes], bool], network_id: int = NETWORK_ID, genesis: bytes = GENESIS
) -> tuple[asyncio.Server, asyncio.Queue[Any]]:
    outcomes: asyncio.Queue[Any] = asyncio.Queue()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            outcomes.put_nowait(await respond(reader, writer, key, network_id, genesis, is_allowed))
        except Exception as exc:
            outcomes.put_nowait(exc)
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, outcomes


async def _dial(server: asyncio.Server, key: Any, expected: bytes, **kw: Any) -> HandshakeResult | Exception:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
    try:
        return await initiate(
            reader, writer, key, expected, kw.get("network_id", NETWORK_ID), kw.get("genesis", GENESIS)
        )
    except Exception as exc:
        return exc
    finally:
        writer.close()


def test_handshake_derives_matching_directional_keys() -> None:
    async def scenario() -> None:
        a, b = NodeKey(), NodeKey()
        server, outcomes = await _responder_server(b, lambda pub: pub == a.public_key)
        async with server:
            mine = await _dial(server, a, b.public_key)
            theirs = await outcomes.get()
        assert isinstance(mine, HandshakeResult) and isinstance(theirs, HandshakeResult)
        assert mine.remote_pubkey == b.public_key and theirs.remote_pubkey == a.public_key
        assert mine.send_key == theirs.recv_key and mine.recv_key == theirs.send_key
        assert mine.send_key != mine.recv_key

    run(scenario())


def test_initiator_rejects_responder_with_another_key() -> None:
    async def scenario() -> None:
        a, b, c = NodeKey(), NodeKey(), NodeKey()
        server, outcomes = await _responder_server(b, lambda pub: True)
        async with server:
            mine = await _dial(server, a, c.public_key)  # we wanted c, b answered
            theirs = await outcomes.get()
        assert isinstance(mine, HandshakeError) and "different node key" in str(mine)
        assert isinstance(theirs, HandshakeError)

    run(scenario())


def test_responder_rejects_initiator_not_allowed() -> None:
    async def scenario() -> None:
        a, b = NodeKey(), NodeKey()
        server, outcomes = await _responder_server(b, lambda pub: False)
        async with server:
            mine = await _dial(server, a, b.public_key)
            theirs = await outcomes.get()
        assert isinstance(theirs, NotAllowedError)
        assert isinstance(mine, HandshakeError)

    run(scenario())


@pytest.mark.parametrize("mismatch", ["network_id", "genesis"])
def test_handshake_fails_across_networks(mismatch: str) -> None:
    async def scenario() -> None:
        a, b = NodeKey(), NodeKey()
        server, outcomes = await _responder_server(b, lambda pub: True)
        other = {"network_id": NETWORK_ID + 1} if mismatch == "network_id" else {"genesis": b"\x22" * 32}
        async with server:
            mine = await _dial(server, a, b.public_key, **other)
            theirs = await outcomes.get()
        assert isinstance(mine, HandshakeError) and isinstance(theirs, HandshakeError)
        assert "network id" in str(theirs) or "genesis" in str(theirs)

    run(scenario())


def test_responder_rejects_initiator_claiming_a_key_it_does_not_hold() -> None:
    async def scenario() -> None:
        victim, attacker, b = NodeKey(), NodeKey(), NodeKey()
        server, outcomes = await _responder_server(b, lambda pub: pub == victim.public_key)
        async with server:
            await _dial(server, ForgedKey(victim, attacker), b.public_key)
            theirs = await outcomes.get()
        assert isinstance(theirs, HandshakeError) and "signature" in str(theirs)

    run(scenario())


def test_recorded_handshake_cannot_be_replayed() -> None:
    async def scenario() -> None:
        a, b = NodeKey(), NodeKey()
        server, outcomes = await _responder_server(b, lambda pub: pub == a.public_key)
        port = server.sockets[0].getsockname()[1]
        async with server:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            recorder = RecordingWriter(writer)
            await initiate(reader, recorder, a, b.public_key, NETWORK_ID, GENESIS)  # type: ignore[arg-type]
            writer.close()
            assert isinstance(await outcomes.get(), HandshakeResult)
            sent = bytes(recorder.sent)
            auth_len = 2 + int.from_bytes(sent[:2], "big")
            auth, fin = sent[:auth_len], sent[auth_len:]

            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(auth)
            ack_len = int.from_bytes(await reader.readexactly(2), "big")
            await reader.readexactly(ack_len)  # a fresh ACK with new ephemeral key and nonce
            writer.write(fin)
            replay = await outcomes.get()
            writer.close()
        assert isinstance(replay, HandshakeError) and "signature" in str(replay)

    run(scenario())


@pytest.mark.parametrize(
    "garbage", [b"\x00\x00", b"\xff\xff" + b"x" * 100, b"\x00\x05hello", b"GET / HTTP/1.1\r\n\r\n"]
)
def test_responder_rejects_garbage(garbage: bytes) -> None:
    async def scenario() -> None:
        b = NodeKey()
        server, outcomes = await _responder_server(b, lambda pub: True)
        async with server:
            _, writer = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
            writer.write(garbage)
            writer.write_eof()
            outcome = await outcomes.get()
            writer.close()
        assert isinstance(outcome, HandshakeError)

    run(scenario())
