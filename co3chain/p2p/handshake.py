"""Mutually authenticated key exchange (three plaintext messages, then encrypted frames).

::

    initiator -> responder  AUTH = [version, network_id, genesis_hash, static_pub_i, eph_pub_i, nonce_i]
    responder -> initiator  ACK  = [version, network_id, genesis_hash, static_pub_r, eph_pub_r, nonce_r, sig_r]
    initiator -> responder  FIN  = [sig_i]

    sig_r = sign(static_r, keccak("co3chain/p2p/v1 responder" ‖ AUTH ‖ ACK-without-sig))
    sig_i = sign(static_i, keccak("co3chain/p2p/v1 initiator" ‖ AUTH ‖ ACK))
    secret = ECDH(eph_i, eph_r);  k_i→r, k_r→i = HKDF-SHA256(secret, salt=sha256(AUTH ‖ ACK ‖ FIN))

Why this shape (SIGMA-style): each side signs a transcript that contains *both* fresh ephemeral keys and
nonces, so a recorded handshake cannot be replayed (the other side's ephemeral key is new each time);
the role label in each signed string prevents reflecting a signature back to its author; the network id
and genesis hash in the transcript stop cross-network handshakes. Session keys come only from ephemeral
keys (forward secrecy if a validator key leaks later). Each message is ``uint16 length ‖ RLP``, at most
:data:`MAX_HANDSHAKE_MESSAGE` bytes.

Permissioning happens here: the responder checks the initiator's static key against ``is_allowed`` before it
answers (and closes without a word otherwise); the initiator only dials allow-listed keys and requires the
responder's static key to equal the one in the enode address.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass

import rlp
from Crypto.Hash import SHA256
from Crypto.Protocol.KDF import HKDF
from rlp.exceptions import RLPException

from co3chain.p2p.errors import HandshakeError, NotAllowedError, P2PError
from co3chain.p2p.identity import SIGNATURE_LEN, NodeKey, keccak256, recover_pubkey, validate_pubkey

HANDSHAKE_VERSION = 1
MAX_HANDSHAKE_MESSAGE = 1024
NONCE_LEN = 32
_LABEL_RESPONDER = b"co3chain/p2p/v1 responder"
_LABEL_INITIATOR = b"co3chain/p2p/v1 initiator"
_KDF_CONTEXT = b"co3chain/p2p/v1 session keys"


@dataclass(frozen=True)
class HandshakeResult:
    """Authenticated remote identity and the two directional session keys."""

    remote_pubkey: bytes
    send_key: bytes
    recv_key: bytes
    initiator: bool


@dataclass(frozen=True)
class _Hello:
    """AUTH or the signed part of ACK."""

    network_id: int
    genesis_hash: bytes
    static_pub: bytes
    eph_pub: bytes
    nonce: bytes


# ---------------------------------------------------------------- wire helpers


async def write_handshake_message(writer: asyncio.StreamWriter, body: bytes) -> None:
    if len(body) > MAX_HANDSHAKE_MESSAGE:
        raise HandshakeError("handshake message too large")
    writer.write(len(body).to_bytes(2, "big") + body)
    await writer.drain()


async def read_handshake_message(reader: asyncio.StreamReader) -> bytes:
    try:
        length = int.from_bytes(await reader.readexactly(2), "big")
        if not 0 < length <= MAX_HANDSHAKE_MESSAGE:
            raise HandshakeError(f"invalid handshake message length {length}")
        return await reader.readexactly(length)
    except asyncio.IncompleteReadError as exc:
        raise HandshakeError(
            "connection closed during handshake (not allow-listed, wrong key or network?)"
        ) from exc


def _hello_fields(hello: _Hello) -> list[object]:
    return [
        HANDSHAKE_VERSION,
        hello.network_id,
        hello.genesis_hash,
        hello.static_pub,
        hello.eph_pub,
        hello.nonce,
    ]


def _decode(body: bytes, n_fields: int, what: str) -> list[bytes]:
    try:
        item = rlp.decode(body, strict=True)
    except (RLPException, RecursionError) as exc:
        raise HandshakeError(f"{what}: undecodable") from exc
    if not isinstance(item, list) or len(item) != n_fields or not all(isinstance(f, bytes) for f in item):
        raise HandshakeError(f"{what}: expected a flat list of {n_fields} byte strings")
    return item


def _parse_hello(fields: list[bytes], what: str) -> _Hello:
    version, network_id, genesis_hash, static_pub, eph_pub, nonce = fields[:6]
    if version != bytes([HANDSHAKE_VERSION]):
        raise HandshakeError(f"{what}: unsupported handshake version 0x{version.hex()}")
    if len(network_id) > 8 or network_id[:1] == b"\x00":
        raise HandshakeError(f"{what}: invalid network id")
    if len(genesis_hash) != 32 or len(nonce) != NONCE_LEN:
        raise HandshakeError(f"{what}: invalid genesis hash or nonce length")
    try:
        validate_pubkey(static_pub)
        validate_pubkey(eph_pub)
    except P2PError as exc:
        raise HandshakeError(f"{what}: {exc}") from exc
    return _Hello(int.from_bytes(network_id, "big"), genesis_hash, static_pub, eph_pub, nonce)


def _check_network(hello: _Hello, network_id: int, genesis_hash: bytes, what: str) -> None:
    if hello.network_id != network_id:
        raise HandshakeError(f"{what}: network id {hello.network_id} != ours {network_id}")
    if hello.genesis_hash != genesis_hash:
        raise HandshakeError(f"{what}: genesis hash 0x{hello.genesis_hash.hex()} differs from ours")


def _verify(signature: bytes, msg_hash: bytes, expected_pub: bytes, what: str) -> None:
    if len(signature) != SIGNATURE_LEN:
        raise HandshakeError(f"{what}: signature must be {SIGNATURE_LEN} bytes")
    try:
        signer = recover_pubkey(signature, msg_hash)
    except P2PError as exc:
        raise HandshakeError(f"{what}: {exc}") from exc
    if signer != expected_pub:
        raise HandshakeError(f"{what}: signature does not match the claimed static key")


def _session_keys(secret: bytes, auth: bytes, ack: bytes, fin: bytes) -> tuple[bytes, bytes]:
    salt = hashlib.sha256(auth + ack + fin).digest()
    k_i2r, k_r2i = HKDF(secret, 32, salt, SHA256, num_keys=2, context=_KDF_CONTEXT)
    return k_i2r, k_r2i


# ---------------------------------------------------------------- the two roles


async def initiate(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    static_key: NodeKey,
    expected_remote: bytes,
    network_id: int,
    genesis_hash: bytes,
    *,
    ephemeral_key: NodeKey | None = None,
) -> HandshakeResult:
    """Run the initiator side. ``expected_remote`` is the 64-byte key from the enode address we dialed."""
    eph = ephemeral_key or NodeKey()
    auth_hello = _Hello(
        network_id, genesis_hash, static_key.public_key, eph.public_key, os.urandom(NONCE_LEN)
    )
    auth = rlp.encode(_hello_fields(auth_hello))
    await write_handshake_message(writer, auth)

    ack = await read_handshake_message(reader)
    fields = _decode(ack, 7, "ACK")
    ack_hello = _parse_hello(fields, "ACK")
    _check_network(ack_hello, network_id, genesis_hash, "ACK")
    if ack_hello.static_pub != expected_remote:
        raise HandshakeError("ACK: the remote proved a different node key than the one we dialed")
    signed_part = rlp.encode(fields[:6])
    _verify(fields[6], keccak256(_LABEL_RESPONDER + auth + signed_part), expected_remote, "ACK")

    fin = rlp.encode([static_key.sign(keccak256(_LABEL_INITIATOR + auth + ack))])
    await write_handshake_message(writer, fin)
    k_i2r, k_r2i = _session_keys(eph.ecdh(ack_hello.eph_pub), auth, ack, fin)
    return HandshakeResult(remote_pubkey=expected_remote, send_key=k_i2r, recv_key=k_r2i, initiator=True)


async def respond(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    static_key: NodeKey,
    network_id: int,
    genesis_hash: bytes,
    is_allowed: Callable[[bytes], bool],
    *,
    ephemeral_key: NodeKey | None = None,
) -> HandshakeResult:
    """Run the responder side; ``is_allowed(pubkey)`` decides admission before we reveal anything signed."""
    auth = await read_handshake_message(reader)
    auth_hello = _parse_hello(_decode(auth, 6, "AUTH"), "AUTH")
    _check_network(auth_hello, network_id, genesis_hash, "AUTH")
    if not is_allowed(auth_hello.static_pub):
        raise NotAllowedError(f"node {auth_hello.static_pub[:8].hex()}… is not allowed to connect")

    eph = ephemeral_key or NodeKey()
    ack_hello = _Hello(network_id, genesis_hash, static_key.public_key, eph.public_key, os.urandom(NONCE_LEN))
    signed_part = rlp.encode(_hello_fields(ack_hello))
    sig_r = static_key.sign(keccak256(_LABEL_RESPONDER + auth + signed_part))
    ack = rlp.encode([*_hello_fields(ack_hello), sig_r])
    await write_handshake_message(writer, ack)

    fin = await read_handshake_message(reader)
    (sig_i,) = _decode(fin, 1, "FIN")
    _verify(sig_i, keccak256(_LABEL_INITIATOR + auth + ack), auth_hello.static_pub, "FIN")
    k_i2r, k_r2i = _session_keys(eph.ecdh(auth_hello.eph_pub), auth, ack, fin)
    return HandshakeResult(
        remote_pubkey=auth_hello.static_pub, send_key=k_r2i, recv_key=k_i2r, initiator=False
    )
