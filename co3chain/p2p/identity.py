"""Node identity: secp256k1 keys, node ids, validator addresses and enode-like peer addresses.

A node id is the 64-byte uncompressed public key (without the 0x04 prefix) of the validator key, so the
p2p identity and the QBFT signer are the same key: the validator address is ``keccak(pubkey)[12:]``.
Peer address format: ``<128 hex chars>@host:port`` (an ``enode://`` prefix is accepted; IPv6 hosts are
written in brackets, ``[::1]:30303``).
"""

from __future__ import annotations

from dataclasses import dataclass

import coincurve
import sha3  # safe-pysha3: a C keccak without the per-call object setup of pycryptodome's (~1.4 vs ~5.6 µs)

from co3chain.p2p.errors import P2PError

PUBKEY_LEN = 64
SIGNATURE_LEN = 65


def keccak256(data: bytes) -> bytes:
    """Ethereum's keccak-256 (not SHA3-256).

    Hot: every gossiped transaction and consensus message is hashed on receipt (the seen-set) and on relay.
    """
    return sha3.keccak_256(data).digest()


def validate_pubkey(pubkey: bytes) -> bytes:
    """Return ``pubkey`` if it is a 64-byte point on secp256k1, else raise :class:`P2PError`."""
    if not isinstance(pubkey, bytes | bytearray) or len(pubkey) != PUBKEY_LEN:
        raise P2PError(f"node public key must be {PUBKEY_LEN} bytes")
    try:
        coincurve.PublicKey(b"\x04" + bytes(pubkey))
    except ValueError as exc:
        raise P2PError("node public key is not a point on secp256k1") from exc
    return bytes(pubkey)


def pubkey_to_address(pubkey: bytes) -> bytes:
    """Validator (Ethereum) address of a 64-byte public key."""
    return keccak256(pubkey)[12:]


def recover_pubkey(signature: bytes, msg_hash: bytes) -> bytes:
    """Recover the 64-byte public key that produced a 65-byte ``r‖s‖v`` signature over a 32-byte hash."""
    if len(signature) != SIGNATURE_LEN or len(msg_hash) != 32:
        raise P2PError("malformed signature")
    try:
        pub = coincurve.PublicKey.from_signature_and_message(signature, msg_hash, hasher=None)
    except Exception as exc:  # coincurve raises ValueError or its own errors depending on the failure
        raise P2PError("invalid signature") from exc
    return pub.format(compressed=False)[1:]


class NodeKey:
    """A static (validator) or ephemeral secp256k1 key pair."""

    __slots__ = ("_key", "public_key")

    def __init__(self, private_key: bytes | None = None) -> None:
        if private_key is not None and (not isinstance(private_key, bytes) or len(private_key) != 32):
            raise P2PError("private key must be 32 bytes")
        try:
            self._key = (
                coincurve.PrivateKey(private_key) if private_key is not None else coincurve.PrivateKey()
            )
        except ValueError as exc:
            raise P2PError("invalid secp256k1 private key") from exc
        self.public_key: bytes = self._key.public_key.format(compressed=False)[1:]

    @property
    def private_key(self) -> bytes:
        return self._key.secret

    @property
    def address(self) -> bytes:
        return pubkey_to_address(self.public_key)

    def sign(self, msg_hash: bytes) -> bytes:
        """65-byte recoverable signature ``r‖s‖v`` (v ∈ {0, 1}) over a 32-byte hash."""
        if len(msg_hash) != 32:
            raise ValueError("can only sign a 32-byte hash")
        return self._key.sign_recoverable(msg_hash, hasher=None)

    def ecdh(self, remote_pubkey: bytes) -> bytes:
        """32-byte shared secret with a remote 64-byte public key (libsecp256k1's hashed ECDH)."""
        return self._key.ecdh(b"\x04" + remote_pubkey)

    def __repr__(self) -> str:  # never print the secret
        return f"NodeKey(pub={self.public_key[:4].hex()}…)"


@dataclass(frozen=True)
class Enode:
    """Where to reach a node and which key it must prove to hold."""

    pubkey: bytes
    host: str
    port: int

    def __post_init__(self) -> None:
        validate_pubkey(self.pubkey)
        if not self.host:
            raise P2PError("peer address has an empty host")
        if not 0 < self.port < 65536:
            raise P2PError(f"peer port out of range: {self.port}")

    @classmethod
    def parse(cls, text: str) -> Enode:
        """Parse ``[enode://]<pubkey hex>@host:port``; raise :class:`P2PError` with the reason."""
        raw = text.strip()
        if raw.startswith("enode://"):
            raw = raw[len("enode://") :]
        key_hex, sep, hostport = raw.partition("@")
        if not sep:
            raise P2PError(f"peer address {text!r} must look like <pubkey-hex>@host:port")
        key_hex = key_hex.removeprefix("0x")
        if len(key_hex) != 2 * PUBKEY_LEN:
            raise P2PError(f"peer address {text!r}: public key must be {2 * PUBKEY_LEN} hex characters")
        try:
            pubkey = bytes.fromhex(key_hex)
        except ValueError as exc:
            raise P2PError(f"peer address {text!r}: public key is not hex") from exc
        if hostport.startswith("["):
            host, sep, port_text = hostport[1:].partition("]:")
        else:
            host, sep, port_text = hostport.rpartition(":")
        if not sep or not port_text.isdigit():
            raise P2PError(f"peer address {text!r}: missing or invalid port")
        return cls(pubkey=pubkey, host=host, port=int(port_text))

    @property
    def address(self) -> bytes:
        return pubkey_to_address(self.pubkey)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.pubkey.hex()}@{host}:{self.port}"
