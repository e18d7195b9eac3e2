"""Application messages carried inside encrypted frames: small integer codes + RLP payloads.

A message is ``code (1 byte)`` ‖ ``RLP(payload)``. A frame plaintext holds one or more messages back to back
(RLP items are self-delimiting, so no extra length field is needed): the sender packs small queued messages
into one frame to amortise the per-frame AES-GCM cost. The HELLO frame holds exactly one message. Payloads:

==============  ====  ==========================================================================
message         code  RLP payload
==============  ====  ==========================================================================
HELLO           0x00  [version, client_id, max_frame_size, status]   (first frame, each direction)
STATUS          0x01  status = [network_id, genesis_hash, head_number, head_hash]
DISCONNECT      0x02  [reason]
PING            0x03  [nonce]
PONG            0x04  [nonce]
TX              0x10  [raw_tx, ...]                 (gossip, 1..MAX_TXS_PER_MESSAGE raw txs)
CONSENSUS       0x11  raw QBFT message bytes        (gossip; an RLP byte string)
GET_BLOCKS      0x12  [request_id, from, count]
BLOCKS          0x13  [request_id, [block, ...]]    (encoded blocks, possibly fewer than asked)
==============  ====  ==========================================================================

Decoding is strict (canonical RLP integers, exact list shapes, bounded sizes): anything else raises
:class:`ProtocolError` and the sender is disconnected.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import rlp
from rlp.exceptions import RLPException

from co3chain.p2p.errors import ProtocolError

PROTOCOL_VERSION = 1
MAX_TXS_PER_MESSAGE = 4096
MAX_CLIENT_ID = 64


class MsgType(IntEnum):
    HELLO = 0x00
    STATUS = 0x01
    DISCONNECT = 0x02
    PING = 0x03
    PONG = 0x04
    TX = 0x10
    CONSENSUS = 0x11
    GET_BLOCKS = 0x12
    BLOCKS = 0x13


class DisconnectReason(IntEnum):
    """Why a connection ended (sent in DISCONNECT, kept on the closed :class:`~co3chain.p2p.peer.Peer`)."""

    REQUESTED = 0  # local stop() / disconnect_peer()
    REMOTE_CLOSED = 1  # EOF / reset without a DISCONNECT message
    PROTOCOL_ERROR = 2  # authenticated but invalid: undecodable payload, unknown type, bad reply -> ban
    NOT_ALLOWED = 3  # removed from the allow-list
    DUPLICATE = 4  # a preferred connection to the same node exists
    TOO_MANY_PEERS = 5
    SLOW_PEER = 6  # send queue overflowed with non-droppable messages
    TIMEOUT = 7  # nothing received within idle_timeout (keepalive)
    SHUTDOWN = 8  # the node is stopping
    REMOTE_DISCONNECT = 9  # remote sent DISCONNECT (its reason is in Peer.remote_reason)
    INTERNAL_ERROR = 10  # a local bug; logged with its traceback, the peer is not banned
    BAD_FRAME = 11  # frame failed authentication or had an invalid length: disconnect, no ban


@dataclass(frozen=True)
class Status:
    """What a node tells its peers about its chain (HELLO and STATUS)."""

    network_id: int
    genesis_hash: bytes
    head_number: int
    head_hash: bytes

    def to_rlp(self) -> list[Any]:
        return [self.network_id, self.genesis_hash, self.head_number, self.head_hash]

    @classmethod
    def from_rlp(cls, item: Any) -> Status:
        fields = _list(item, "status", 4)
        return cls(
            network_id=_int(fields[0], "network_id", 8),
            genesis_hash=_bytes(fields[1], "genesis_hash", exact=32),
            head_number=_int(fields[2], "head_number", 8),
            head_hash=_bytes(fields[3], "head_hash", exact=32),
        )


@dataclass(frozen=True)
class Hello:
    version: int
    client_id: str
    max_frame_size: int
    status: Status


@dataclass(frozen=True)
class GetBlocks:
    request_id: int
    start: int
    count: int


@dataclass(frozen=True)
class Blocks:
    request_id: int
    blocks: list[bytes]


# ---------------------------------------------------------------- strict field helpers


def _list(item: Any, name: str, length: int | None = None) -> list[Any]:
    if not isinstance(item, list):
        raise ProtocolError(f"{name}: expected a list")
    if length is not None and len(item) != length:
        raise ProtocolError(f"{name}: expected {length} items, got {len(item)}")
    return item


def _bytes(item: Any, name: str, *, exact: int | None = None, max_len: int | None = None) -> bytes:
    if not isinstance(item, bytes):
        raise ProtocolError(f"{name}: expected a byte string")
    if exact is not None and len(item) != exact:
        raise ProtocolError(f"{name}: expected {exact} bytes, got {len(item)}")
    if max_len is not None and len(item) > max_len:
        raise ProtocolError(f"{name}: longer than {max_len} bytes")
    return item


def _int(item: Any, name: str, max_bytes: int) -> int:
    raw = _bytes(item, name, max_len=max_bytes)
    if raw[:1] == b"\x00":
        raise ProtocolError(f"{name}: non-canonical integer (leading zero)")
    return int.from_bytes(raw, "big")


# ---------------------------------------------------------------- encode / decode


def encode_message(msg_type: MsgType, payload: Any) -> bytes:
    """Build a frame plaintext. ``payload`` is the typed object of the message (see the table above)."""
    if msg_type is MsgType.HELLO:
        body: Any = [
            payload.version,
            payload.client_id.encode(),
            payload.max_frame_size,
            payload.status.to_rlp(),
        ]
    elif msg_type is MsgType.STATUS:
        body = payload.to_rlp()
    elif msg_type in (MsgType.DISCONNECT, MsgType.PING, MsgType.PONG):
        body = [int(payload)]
    elif msg_type is MsgType.TX:
        txs = list(payload)
        if not txs or len(txs) > MAX_TXS_PER_MESSAGE or not all(isinstance(t, bytes) and t for t in txs):
            raise ValueError(f"TX payload must be 1..{MAX_TXS_PER_MESSAGE} non-empty byte strings")
        body = txs
    elif msg_type is MsgType.CONSENSUS:
        if not isinstance(payload, bytes) or not payload:
            raise ValueError("CONSENSUS payload must be non-empty bytes")
        body = payload
    elif msg_type is MsgType.GET_BLOCKS:
        body = [payload.request_id, payload.start, payload.count]
    elif msg_type is MsgType.BLOCKS:
        body = [payload.request_id, list(payload.blocks)]
    else:  # pragma: no cover - MsgType is closed
        raise ValueError(f"unknown message type {msg_type!r}")
    return bytes([msg_type]) + rlp.encode(body)


def decode_message(plaintext: bytes) -> tuple[MsgType, Any]:
    """Parse one message into ``(type, typed payload)``; raise :class:`ProtocolError` if invalid."""
    if not plaintext:
        raise ProtocolError("empty message")
    try:
        msg_type = MsgType(plaintext[0])
    except ValueError:
        raise ProtocolError(f"unknown message type 0x{plaintext[0]:02x}") from None
    try:
        item = rlp.decode(plaintext[1:], strict=True)
    except (RLPException, RecursionError) as exc:
        raise ProtocolError(f"{msg_type.name}: undecodable RLP payload") from exc
    return msg_type, _decode_payload(msg_type, item)


def rlp_item_length(data: bytes, pos: int) -> int:
    """Total length (header + body) of the RLP item starting at ``data[pos]``, checked against the buffer."""
    if pos >= len(data):
        raise ProtocolError("truncated message")
    prefix = data[pos]
    if prefix < 0x80:
        length = 1
    elif prefix <= 0xB7:
        length = 1 + prefix - 0x80
    elif prefix <= 0xBF or prefix >= 0xF8:
        len_of_len = prefix - (0xB7 if prefix <= 0xBF else 0xF7)
        raw = data[pos + 1 : pos + 1 + len_of_len]
        if len(raw) != len_of_len:
            raise ProtocolError("truncated RLP length")
        length = 1 + len_of_len + int.from_bytes(raw, "big")
    else:
        length = 1 + prefix - 0xC0
    if pos + length > len(data):
        raise ProtocolError("truncated message")
    return length


def split_frame(plaintext: bytes) -> list[bytes]:
    """Split a frame plaintext into its messages (each ``code ‖ RLP item``), without decoding them."""
    if not plaintext:
        raise ProtocolError("empty frame")
    messages = []
    pos = 0
    while pos < len(plaintext):
        end = pos + 1 + rlp_item_length(plaintext, pos + 1)
        messages.append(plaintext[pos:end])
        pos = end
    return messages


def decode_frame(plaintext: bytes) -> list[tuple[MsgType, Any]]:
    """Decode every message of a frame; raise :class:`ProtocolError` if any is invalid."""
    return [decode_message(message) for message in split_frame(plaintext)]


def _decode_payload(msg_type: MsgType, item: Any) -> Any:
    name = msg_type.name
    if msg_type is MsgType.HELLO:
        f = _list(item, name, 4)
        try:
            client_id = _bytes(f[1], "client_id", max_len=MAX_CLIENT_ID).decode()
        except UnicodeDecodeError as exc:
            raise ProtocolError("client_id: not UTF-8") from exc
        return Hello(
            version=_int(f[0], "version", 4),
            client_id=client_id,
            max_frame_size=_int(f[2], "max_frame_size", 8),
            status=Status.from_rlp(f[3]),
        )
    if msg_type is MsgType.STATUS:
        return Status.from_rlp(item)
    if msg_type is MsgType.DISCONNECT:
        return _int(_list(item, name, 1)[0], "reason", 2)
    if msg_type in (MsgType.PING, MsgType.PONG):
        return _int(_list(item, name, 1)[0], "nonce", 8)
    if msg_type is MsgType.TX:
        txs = _list(item, name)
        if not txs or len(txs) > MAX_TXS_PER_MESSAGE:
            raise ProtocolError(f"TX: expected 1..{MAX_TXS_PER_MESSAGE} transactions, got {len(txs)}")
        for tx in txs:
            if not _bytes(tx, "raw tx"):
                raise ProtocolError("TX: empty raw transaction")
        return txs
    if msg_type is MsgType.CONSENSUS:
        if not _bytes(item, name):
            raise ProtocolError("CONSENSUS: empty message")
        return item
    if msg_type is MsgType.GET_BLOCKS:
        f = _list(item, name, 3)
        return GetBlocks(_int(f[0], "request_id", 8), _int(f[1], "from", 8), _int(f[2], "count", 4))
    if msg_type is MsgType.BLOCKS:
        f = _list(item, name, 2)
        blocks = _list(f[1], "blocks")
        for block in blocks:
            _bytes(block, "block")
        return Blocks(_int(f[0], "request_id", 8), blocks)
    raise ProtocolError(f"unhandled message type {name}")  # pragma: no cover


def rlp_list_overhead(payload_len: int) -> int:
    """Bytes RLP adds around an item of ``payload_len`` bytes (used to pack BLOCKS within a frame)."""
    if payload_len < 56:
        return 1
    return 1 + (payload_len.bit_length() + 7) // 8
