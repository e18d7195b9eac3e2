"""Trustee secrets (transport key, key share) in scrypt-encrypted keystore v3 files.

Why keystores like the validators': a trustee's share is what stands between the ballots and their
decryption; it lives only on the trustee PA's machine, encrypted at rest with the same format and KDF as
the project's other keys (co3chain/keys.py), mode 0600, never overwritten.  The JSON also records what the
secret is for (contract, chain, ceremony, trustee index, public key) so a trustee cannot apply it to the
wrong election by mistake.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eth_keyfile import create_keyfile_json, decode_keyfile_json

from co3chain.ballot import bn254 as ec
from co3chain.keys import KeystoreError, decrypt_failure, write_new_keystore

KIND = "co3chain-ballot-trustee-secret"


def save_secret(path: Path | str, password: str, secret: int, meta: dict[str, Any],
                scrypt_n: int | None = None) -> Path:
    """Encrypt ``secret`` (a BN254 scalar) to ``path``; ``meta`` (purpose, ids) is stored in clear."""
    if not password:
        raise KeystoreError("refusing to create a keystore with an empty password")
    if not 0 < secret < ec.N:
        raise KeystoreError("secret is not a BN254 scalar")
    data = create_keyfile_json(secret.to_bytes(32, "big"), password.encode(), kdf="scrypt",
                               iterations=scrypt_n)
    data.pop("address", None)  # not an account key: an address would only mislead
    pub = ec.g_mul(secret)
    data["co3chain"] = {"kind": KIND, **meta, "public": [str(pub[0]), str(pub[1])]}
    return write_new_keystore(path, data)


def load_secret(path: Path | str, password: str) -> tuple[int, dict[str, Any]]:
    """Decrypt a trustee keystore; returns the scalar and its recorded metadata."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        meta = data["co3chain"]
    except FileNotFoundError:
        raise KeystoreError(f"keystore {p} not found") from None
    except (OSError, ValueError, KeyError) as exc:
        raise KeystoreError(f"{p} is not a co3chain trustee keystore: {exc}") from None
    if meta.get("kind") != KIND:
        raise KeystoreError(f"{p} is not a co3chain trustee keystore")
    try:
        secret = int.from_bytes(decode_keyfile_json(data, password.encode()), "big")
    except ValueError as exc:
        raise decrypt_failure(p, exc) from None
    if ec.g_mul(secret) != (int(meta["public"][0]), int(meta["public"][1])):
        raise KeystoreError(f"keystore {p}: decrypted secret does not match its recorded public key")
    return secret, meta
