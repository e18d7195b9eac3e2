"""Anonymous voting credentials: RSA blind signatures (RFC 9474 protocol, PSS-SHA256, zero salt).

Why blind signatures: the registrar (a PA officer who knows who the citizen is) signs a *blinded* message,
so it never sees the fresh voting address it certifies, and cannot link the ballot to the person later.
The message binds chain id, contract, election id and the fresh address, so one credential serves exactly
one election and one key.  Encoding: EMSA-PSS with SHA-256 and MGF1-SHA-256, salt length 0 — RFC 9474's
protocol (Blind / BlindSign / Finalize) with SHA-256 instead of SHA-384 because the EVM verifies SHA-256
natively (contracts/libraries/BlindRsa.sol).  The registrar's key is stored PKCS#8-encrypted with scrypt.
"""

from __future__ import annotations

import hashlib
import math
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from Crypto.PublicKey import RSA
from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address

from co3chain.errors import Co3Error

CREDENTIAL_TAG = keccak(text="co3chain.SecretBallot.credential.v1")
H_LEN = 32


class CredentialError(Co3Error):
    """A blind-signature step failed (bad key, invalid signature, wrong message)."""


def credential_message(chain_id: int, contract: str, election_id: int, voter: str) -> bytes:
    """Exactly ``SecretBallot.credentialMessage(electionId, voter)``."""
    return abi_encode(["bytes32", "uint256", "address", "uint256", "address"],
                      [CREDENTIAL_TAG, chain_id, to_checksum_address(contract), election_id,
                       to_checksum_address(voter)])


def nullifier(message: bytes) -> bytes:
    return keccak(message)


def _mgf1(seed: bytes, length: int) -> bytes:
    out = b"".join(hashlib.sha256(seed + c.to_bytes(4, "big")).digest() for c in range((length + 31) // 32))
    return out[:length]


def pss_encode(message: bytes, mod_bits: int) -> bytes:
    """EMSA-PSS-ENCODE (RFC 8017 §9.1.1), SHA-256, sLen = 0, emBits = modBits − 1."""
    em_bits = mod_bits - 1
    em_len = (em_bits + 7) // 8
    m_hash = hashlib.sha256(message).digest()
    h = hashlib.sha256(b"\x00" * 8 + m_hash).digest()
    db = b"\x00" * (em_len - H_LEN - 2) + b"\x01"
    masked = bytes(a ^ b for a, b in zip(db, _mgf1(h, len(db)), strict=True))
    first = masked[0] & (0xFF >> (8 * em_len - em_bits))
    return bytes([first]) + masked[1:] + h + b"\xbc"


@dataclass(frozen=True)
class PublicKey:
    n: int
    e: int

    @property
    def size(self) -> int:
        return (self.n.bit_length() + 7) // 8

    def modulus_bytes(self) -> bytes:
        return self.n.to_bytes(self.size, "big")

    def exponent_bytes(self) -> bytes:
        return self.e.to_bytes((self.e.bit_length() + 7) // 8, "big")


def verify(pk: PublicKey, message: bytes, signature: bytes) -> bool:
    """RSASSA-PSS-VERIFY with the parameters above (what the contract checks)."""
    if len(signature) != pk.size:
        return False
    s = int.from_bytes(signature, "big")
    if s >= pk.n:
        return False
    em = pow(s, pk.e, pk.n).to_bytes(pk.size, "big")
    expected = pss_encode(message, pk.n.bit_length())
    return secrets.compare_digest(em[-len(expected):], expected) and not any(em[:-len(expected)])


@dataclass(frozen=True)
class BlindingState:
    """What the voter keeps between :func:`blind` and :func:`finalize` (never sent anywhere)."""

    message: bytes
    inverse: int


def blind(pk: PublicKey, message: bytes) -> tuple[bytes, BlindingState]:
    """RFC 9474 Blind: ``z = encode(msg) · r^e mod n``; returns the blinded message and the unblinding state."""
    m = int.from_bytes(pss_encode(message, pk.n.bit_length()), "big")
    if math.gcd(m, pk.n) != 1:
        raise CredentialError("message encoding shares a factor with the modulus")
    while True:
        r = secrets.randbelow(pk.n - 2) + 2
        if math.gcd(r, pk.n) == 1:
            break
    z = m * pow(r, pk.e, pk.n) % pk.n
    return z.to_bytes(pk.size, "big"), BlindingState(message, pow(r, -1, pk.n))


def finalize(pk: PublicKey, state: BlindingState, blind_signature: bytes) -> bytes:
    """RFC 9474 Finalize: unblind and verify (a registrar that signed something else is caught here)."""
    if len(blind_signature) != pk.size:
        raise CredentialError("blind signature has the wrong length")
    s = int.from_bytes(blind_signature, "big") * state.inverse % pk.n
    sig = s.to_bytes(pk.size, "big")
    if not verify(pk, state.message, sig):
        raise CredentialError("the registrar's blind signature does not verify for this credential")
    return sig


class Registrar:
    """The PA registrar's signing side (RFC 9474 BlindSign): it sees only blinded messages."""

    def __init__(self, key: RSA.RsaKey) -> None:
        if key.n.bit_length() % 8 != 0 or not 2048 <= key.n.bit_length() <= 4096:
            raise CredentialError("registrar modulus must be 2048-4096 bits, a whole number of bytes")
        self._key = key
        self.public = PublicKey(int(key.n), int(key.e))

    @classmethod
    def generate(cls, bits: int = 2048) -> Registrar:
        while True:
            key = RSA.generate(bits)
            if key.n.bit_length() == bits:
                return cls(key)

    def blind_sign(self, blinded: bytes) -> bytes:
        if len(blinded) != self.public.size:
            raise CredentialError("blinded message has the wrong length")
        m = int.from_bytes(blinded, "big")
        if m >= self.public.n:
            raise CredentialError("blinded message is not below the modulus")
        s = pow(m, int(self._key.d), self.public.n)
        if pow(s, self.public.e, self.public.n) != m:  # fault check, RFC 9474 §4.3
            raise CredentialError("signing fault detected")
        return s.to_bytes(self.public.size, "big")

    def save(self, path: Path | str, password: str) -> None:
        """Write the key PKCS#8-encrypted (scrypt + AES-128-CBC), mode 0600, never overwriting."""
        pem = self._key.export_key(format="PEM", passphrase=password, pkcs=8,
                                   protection="scryptAndAES128-CBC")
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise CredentialError(f"registrar key {p} already exists; not overwriting") from None
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)

    @classmethod
    def load(cls, path: Path | str, password: str) -> Registrar:
        try:
            return cls(RSA.import_key(Path(path).read_bytes(), passphrase=password))
        except (OSError, ValueError, IndexError, TypeError) as exc:
            raise CredentialError(f"cannot open registrar key {path}: {exc}") from None
