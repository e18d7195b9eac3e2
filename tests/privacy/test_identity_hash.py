"""Keyed identity hashes (DPIA item 4): the same person gives the same hash under the consortium key, nobody
without the key can recompute it, and the key is stored encrypted."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from eth_utils import keccak

from co3chain.cli import cli
from co3chain.keys import KeystoreError, create_keystore
from co3chain.privacy.identity import (
    IdentityError,
    identity_hash,
    load_key_file,
    new_key_file,
    normalize_reference,
)

KEY = bytes(range(32))
CODE = "RSSMRA80A01L219X"


def test_hash_is_hmac_sha256_over_the_tagged_normalised_reference() -> None:
    expected = hmac.new(KEY, b"co3chain/identity-hash/v1\x00fiscal-code\x00" + CODE.encode(), hashlib.sha256).digest()
    assert identity_hash(KEY, CODE) == expected
    # written by different officers, in different ways: one person, one hash
    for variant in (" rssmra80a01l219x ", "RSSMRA 80A01 L219X", "ＲＳＳＭＲＡ80A01L219X"):
        assert identity_hash(KEY, variant) == expected
    assert identity_hash(KEY, CODE, kind="passport") != expected  # kinds never collide
    assert identity_hash(bytes(32), CODE) != expected  # another key, another hash
    assert identity_hash(KEY, CODE) != keccak(text=CODE)  # not the brute-forceable plain hash
    with pytest.raises(IdentityError, match="empty"):
        normalize_reference("  \t")
    with pytest.raises(IdentityError, match="32 bytes"):
        identity_hash(b"short", CODE)
    with pytest.raises(IdentityError, match="reference kind"):
        identity_hash(KEY, CODE, kind="fiscal code; drop")


def test_key_file_is_encrypted_and_never_overwritten(tmp_path: Path) -> None:
    path = new_key_file(tmp_path / "identity.key", "pw", key=KEY, scrypt_n=2**4)
    data = json.loads(path.read_text())
    assert data["co3chain"] == "co3chain-identity-key" and "address" not in data
    assert KEY.hex() not in path.read_text() and data["crypto"]["kdf"] == "scrypt"
    assert (path.stat().st_mode & 0o777) == 0o600
    assert load_key_file(path, "pw") == KEY
    with pytest.raises(KeystoreError, match="wrong password"):
        load_key_file(path, "not the password")
    with pytest.raises(KeystoreError, match="already exists"):
        new_key_file(path, "pw", scrypt_n=2**4)
    account_keystore = tmp_path / "validator.json"
    create_keystore(account_keystore, "pw", scrypt_n=2**4)
    with pytest.raises(KeystoreError, match="not a co3chain identity key file"):
        load_key_file(account_keystore, "pw")


def test_cli_creates_the_key_and_hashes_references_from_stdin(tmp_path: Path) -> None:
    runner = CliRunner()
    (tmp_path / "pw").write_text("correct horse\n")
    key_file = tmp_path / "identity.key"
    made = runner.invoke(cli, ["privacy", "identity-key", "new", "--out", str(key_file),
                               "--password-file", str(tmp_path / "pw")])
    assert made.exit_code == 0, made.output
    key = load_key_file(key_file, "correct horse")
    again = runner.invoke(cli, ["privacy", "identity-key", "new", "--out", str(key_file),
                                "--password-file", str(tmp_path / "pw")])
    assert again.exit_code != 0 and "already exists" in again.output
    batch = runner.invoke(cli, ["privacy", "identity-hash", "--key-file", str(key_file), "--password-file",
                                str(tmp_path / "pw")], input=f"{CODE}\n\n rssmra80a01l219x\nBNCLRA85T41H501Z\n")
    assert batch.exit_code == 0, batch.output
    lines = batch.output.split()
    assert lines[0] == lines[1] == "0x" + identity_hash(key, CODE).hex() and len(lines) == 3
    assert lines[2] != lines[0]
    one = runner.invoke(cli, ["privacy", "identity-hash", CODE, "--kind", "fiscal-code", "--key-file",
                              str(key_file), "--password-file", str(tmp_path / "pw")])
    assert one.output.strip() == lines[0]
    (tmp_path / "bad").write_text("wrong\n")
    wrong = runner.invoke(cli, ["privacy", "identity-hash", CODE, "--key-file", str(key_file), "--password-file",
                                str(tmp_path / "bad")])
    assert wrong.exit_code != 0 and "wrong password" in wrong.output
