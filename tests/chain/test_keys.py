"""Keystore v3 files for validator keys."""

import json
import stat
from pathlib import Path

import pytest
from eth_account import Account

from co3chain.keys import KeystoreError, create_keystore, keystore_address, load_private_key, read_password


def test_roundtrip_mode_and_scrypt(tmp_path: Path) -> None:
    p = tmp_path / "k" / "validator.json"
    address = create_keystore(p, "s3cret")
    assert stat.S_IMODE(p.stat().st_mode) == 0o600
    assert json.loads(p.read_text())["crypto"]["kdf"] == "scrypt"
    key = load_private_key(p, "s3cret")
    assert Account.from_key(key).address == address
    assert keystore_address(p).lower() == address.lower()


def test_given_key_and_no_overwrite(tmp_path: Path) -> None:
    p = tmp_path / "v.json"
    key = b"\x05" * 32
    create_keystore(p, "pw", private_key=key, scrypt_n=2**10)
    assert load_private_key(p, "pw") == key
    with pytest.raises(KeystoreError, match="already exists"):
        create_keystore(p, "pw", scrypt_n=2**10)


def test_errors(tmp_path: Path) -> None:
    p = tmp_path / "v.json"
    create_keystore(p, "right", scrypt_n=2**10)
    with pytest.raises(KeystoreError, match="wrong password"):
        load_private_key(p, "wrong")
    with pytest.raises(KeystoreError, match="not found"):
        load_private_key(tmp_path / "nope.json", "x")
    (tmp_path / "junk.json").write_text("{}")
    with pytest.raises(KeystoreError, match="keystore"):
        load_private_key(tmp_path / "junk.json", "x")
    with pytest.raises(KeystoreError, match="empty password"):
        create_keystore(tmp_path / "e.json", "")


def test_read_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "pw.txt"
    f.write_text("hunter2\n")
    assert read_password(f) == "hunter2"
    monkeypatch.setenv("CO3CHAIN_PASSWORD", "fromenv")
    assert read_password() == "fromenv"
    assert read_password(f) == "hunter2"  # file wins
    monkeypatch.delenv("CO3CHAIN_PASSWORD")
    with pytest.raises(KeystoreError, match="CO3CHAIN_PASSWORD"):
        read_password()
    with pytest.raises(KeystoreError, match="cannot read"):
        read_password(tmp_path / "missing")
    (tmp_path / "empty").write_text("")
    with pytest.raises(KeystoreError, match="empty"):
        read_password(tmp_path / "empty")
