"""Validator/operator keys as Ethereum keystore v3 files (scrypt KDF), via eth-account.

Why keystores: validator keys sit on PA machines; encrypting them at rest with a password that comes
from a file or the ``CO3CHAIN_PASSWORD`` environment variable keeps secrets out of shell history and
config files. Files are created with mode 0600 and never overwritten.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eth_account import Account

from co3chain.errors import Co3Error

PASSWORD_ENV = "CO3CHAIN_PASSWORD"


class KeystoreError(Co3Error):
    """Keystore missing, malformed, wrong password, or no password available."""


def create_keystore(
    path: Path | str, password: str, private_key: bytes | None = None, scrypt_n: int | None = None
) -> str:
    """Write a new (or the given) secp256k1 key to ``path`` encrypted with ``password``.

    Returns the checksummed address. Refuses to overwrite an existing file. ``scrypt_n`` overrides the
    scrypt cost (default eth-account's 2**18); lower it only for throw-away test keys.
    """
    if not password:
        raise KeystoreError("refusing to create a keystore with an empty password")
    p = Path(path)
    key = private_key if private_key is not None else secrets.token_bytes(32)
    if len(key) != 32:
        raise KeystoreError("private key must be 32 bytes")
    acct = Account.from_key(key)
    data = Account.encrypt(key, password, kdf="scrypt", iterations=scrypt_n)
    write_new_keystore(p, data)
    return acct.address


def write_new_keystore(path: Path | str, data: dict) -> Path:
    """Write keystore JSON ``data`` to a new file of mode 0600 (parents created); never overwrites, so a key
    cannot be lost by re-running a command.  Shared by every kind of co3chain keystore."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeystoreError(f"keystore {p} already exists; not overwriting") from None
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
    os.chmod(p, 0o600)
    return p


def decrypt_failure(path: Path | str, exc: ValueError) -> KeystoreError:
    """The readable error for a keystore that would not decrypt: a MAC mismatch means a wrong password."""
    if "MAC mismatch" in str(exc):
        return KeystoreError(f"wrong password for keystore {path}")
    return KeystoreError(f"keystore {path} is invalid: {exc}")


def load_private_key(path: Path | str, password: str) -> bytes:
    """Decrypt the keystore at ``path``; raises :class:`KeystoreError` with a readable reason."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KeystoreError(f"keystore {p} not found") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise KeystoreError(f"keystore {p} is unreadable or not JSON: {exc}") from None
    try:
        return bytes(Account.decrypt(data, password))
    except ValueError as exc:
        raise decrypt_failure(p, exc) from None
    except (KeyError, TypeError) as exc:
        raise KeystoreError(f"keystore {p} is not a v3 keystore (missing {exc})") from None


def keystore_address(path: Path | str) -> str:
    """The address recorded in a keystore file (no password needed), ``0x``-prefixed."""
    p = Path(path)
    try:
        addr = json.loads(p.read_text(encoding="utf-8"))["address"]
    except (OSError, ValueError, KeyError) as exc:
        raise KeystoreError(f"cannot read address from keystore {p}: {exc}") from None
    return addr if addr.startswith("0x") else "0x" + addr


def read_password(password_file: Path | str | None = None) -> str:
    """Password from ``password_file`` (first line, trailing newline stripped) or ``$CO3CHAIN_PASSWORD``."""
    if password_file is not None:
        p = Path(password_file)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise KeystoreError(f"cannot read password file {p}: {exc.strerror or exc}") from None
        pw = text.splitlines()[0] if text else ""
        if not pw:
            raise KeystoreError(f"password file {p} is empty")
        return pw
    pw = os.environ.get(PASSWORD_ENV)
    if not pw:
        raise KeystoreError(f"no password: pass --password-file or set {PASSWORD_ENV}")
    return pw


def account_from_options(key_file: str | None, password_file: str | None, dev_key: str | None,
                         warn: Callable[[str], None]) -> Any:
    """The signing account of a CLI that takes ``--key-file``/``--password-file`` or ``--dev-key`` (exactly one);
    ``warn`` is told when a raw development key is used. Readable :class:`Co3Error` otherwise."""
    if bool(key_file) == bool(dev_key):
        raise Co3Error("give exactly one of --key-file KEYSTORE (with --password-file) or --dev-key HEX")
    if key_file:
        return Account.from_key(load_private_key(key_file, read_password(password_file)))
    warn("warning: using a raw development key; never do this on a shared network")
    try:
        return Account.from_key(dev_key)
    except (ValueError, TypeError) as exc:
        raise Co3Error(f"--dev-key is not a valid private key: {exc}") from None
