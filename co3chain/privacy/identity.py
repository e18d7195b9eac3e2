"""Keyed identity hashes: the ``identityHash`` a registrar writes on chain for a citizen.

Why keyed (HMAC-SHA256 with a consortium key) and not a plain hash: the registry publishes ``identityHash``
forever, and identity references have little entropy (an Italian fiscal code is 16 characters built from a
name, a birth date and a town; a Greek AMKA is 11 digits). Anyone could hash every plausible reference and
re-identify citizens from the chain. With a secret key only the registrars can compute the hash; destroying
the key later cuts the link from the chain to identities for good (docs/privacy.md, DPIA item 4).

Why one key per consortium (not per PA): the registry refuses a second address for the same identity
(one person, one address), which only works if every PA's registrar derives the same hash for the same
person. Each registrar holds a copy of the key, encrypted at rest like every co3chain key (keystore v3,
scrypt); the key never reaches the chain, the API's clients or the logs.

Normalisation (so that " rssmra80a01l219x " and "RSSMRA80A01L219X" are one person): Unicode NFKC, spaces
removed, upper case. The message is prefixed with a domain tag and the reference kind (``fiscal-code``,
``amka``, …), so the same key can never produce the same hash for two kinds of reference.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import unicodedata
from pathlib import Path

from eth_keyfile import create_keyfile_json, decode_keyfile_json

from co3chain.errors import Co3Error
from co3chain.keys import KeystoreError, decrypt_failure, write_new_keystore

#: Length of a consortium identity key (bytes).
KEY_BYTES = 32
#: Domain tag of the HMAC message (versioned: a new scheme gets a new tag).
DOMAIN = b"co3chain/identity-hash/v1"
#: Marker of an identity-key file (it is a keystore v3 file without an address: the key is not an account).
FILE_KIND = "co3chain-identity-key"


class IdentityError(Co3Error):
    """An identity reference or key file that cannot be used."""


def normalize_reference(reference: str) -> str:
    """NFKC, no whitespace, upper case; refuses an empty reference."""
    text = "".join(unicodedata.normalize("NFKC", reference).split()).upper()
    if not text:
        raise IdentityError("the identity reference is empty")
    return text


def normalize_kind(kind: str) -> str:
    """Reference kinds are short lower-case labels (``fiscal-code``, ``amka``, ``passport``)."""
    text = kind.strip().lower()
    if not text or len(text) > 32 or not all(c.isalnum() or c in "-_" for c in text):
        raise IdentityError(f"invalid reference kind {kind!r}: use a short label such as fiscal-code")
    return text


def identity_hash(key: bytes, reference: str, kind: str = "fiscal-code") -> bytes:
    """HMAC-SHA256(key, DOMAIN ‖ 0x00 ‖ kind ‖ 0x00 ‖ normalised reference): the 32-byte ``identityHash``."""
    if len(key) != KEY_BYTES:
        raise IdentityError(f"an identity key is {KEY_BYTES} bytes, got {len(key)}")
    message = b"\x00".join((DOMAIN, normalize_kind(kind).encode(), normalize_reference(reference).encode("utf-8")))
    return hmac.new(key, message, hashlib.sha256).digest()


def new_key_file(path: Path | str, password: str, key: bytes | None = None, scrypt_n: int = 2**18) -> Path:
    """Create the consortium identity key (or store ``key``) encrypted with ``password``; never overwrites."""
    if not password:
        raise KeystoreError("refusing to store the identity key with an empty password")
    secret = secrets.token_bytes(KEY_BYTES) if key is None else key
    if len(secret) != KEY_BYTES:
        raise IdentityError(f"an identity key is {KEY_BYTES} bytes, got {len(secret)}")
    data = create_keyfile_json(secret, password.encode("utf-8"), kdf="scrypt", iterations=scrypt_n)
    data.pop("address", None)  # not an account: an address would only mislead
    data["co3chain"] = FILE_KIND
    return write_new_keystore(path, data)


def load_key_file(path: Path | str, password: str) -> bytes:
    """Decrypt an identity-key file; readable errors for a wrong password or another kind of file."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KeystoreError(f"identity key file {p} not found") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise KeystoreError(f"identity key file {p} is unreadable or not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("co3chain") != FILE_KIND:
        raise KeystoreError(f"{p} is not a co3chain identity key file (create one with "
                            "`co3chain privacy identity-key new`)")
    try:
        key = bytes(decode_keyfile_json(data, password.encode("utf-8")))
    except ValueError as exc:
        raise decrypt_failure(p, exc) from None
    except (KeyError, TypeError) as exc:
        raise KeystoreError(f"identity key file {p} is malformed (missing {exc})") from None
    if len(key) != KEY_BYTES:
        raise KeystoreError(f"identity key file {p} holds {len(key)} bytes, not {KEY_BYTES}")
    return key
