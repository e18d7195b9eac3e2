"""``co3chain accounts allow|deny|list`` against a node running ConsortiumValidators (in process)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from eth_abi import encode
from eth_account import Account

from co3chain.cli import cli
from co3chain.contracts.compiler import load_artifact
from co3chain.keys import create_keystore
from tests.rpc.conftest import VALIDATOR, VALIDATOR_KEY, Node, start_node

RELAYER = "0x" + "5e" * 20


@pytest.fixture(scope="module")
def chain_with_allowlist() -> Iterator[tuple[Node, str]]:
    node, stop = start_node()
    stop_sealing = threading.Event()
    try:
        art = load_artifact("ConsortiumValidators")
        code = bytes.fromhex(art["bytecode"].removeprefix("0x")) + encode(["address[]"], [[VALIDATOR]])
        tx_hash = node.call("eth_sendRawTransaction", node.sign(VALIDATOR_KEY, data=code, gas=5_000_000))
        node.seal()
        contract = node.call("eth_getTransactionReceipt", tx_hash)["contractAddress"]

        def sealer() -> None:  # blocks keep coming while a CLI command waits for its receipt
            while not stop_sealing.wait(0.2):
                node.seal()

        threading.Thread(target=sealer, daemon=True).start()
        yield node, contract
    finally:
        stop_sealing.set()
        stop()


def _keystore(tmp_path: Path, key: bytes) -> tuple[Path, Path]:
    ks, pw = tmp_path / "key.json", tmp_path / "pw"
    create_keystore(ks, "pw-secret", key, scrypt_n=2**10)
    pw.write_text("pw-secret\n")
    return ks, pw


def test_allow_list_deny(chain_with_allowlist: tuple[Node, str], tmp_path: Path) -> None:
    node, contract = chain_with_allowlist
    ks, pw = _keystore(tmp_path, VALIDATOR_KEY)
    base = ["--rpc", node.url, "--contract", contract]
    res = CliRunner().invoke(cli, ["accounts", "allow", RELAYER, *base, "--keystore", str(ks), "--password-file",
                                   str(pw), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["allowed"] is True and out["applied"] is True
    listed = json.loads(CliRunner().invoke(cli, ["accounts", "list", *base, "--json"]).output)
    assert listed["validators"] == [Account.from_key(VALIDATOR_KEY).address]
    assert [a.lower() for a in listed["accounts"]] == [RELAYER]
    res = CliRunner().invoke(cli, ["accounts", "deny", RELAYER, *base, "--keystore", str(ks), "--password-file",
                                   str(pw)])
    assert res.exit_code == 0 and "not allowed" in res.output
    listed = json.loads(CliRunner().invoke(cli, ["accounts", "list", *base, "--json"]).output)
    assert listed["accounts"] == []


def test_non_validator_is_refused_in_one_line(chain_with_allowlist: tuple[Node, str], tmp_path: Path) -> None:
    node, contract = chain_with_allowlist
    ks, pw = _keystore(tmp_path, bytes([9]) * 32)
    res = CliRunner().invoke(cli, ["accounts", "allow", RELAYER, "--rpc", node.url, "--contract", contract,
                                   "--keystore", str(ks), "--password-file", str(pw)])
    assert res.exit_code == 1 and res.output.startswith("error:") and res.output.count("\n") == 1


def test_no_contract_and_bad_address(chain_with_allowlist: tuple[Node, str]) -> None:
    node, _ = chain_with_allowlist
    res = CliRunner().invoke(cli, ["accounts", "list", "--rpc", node.url, "--contract", "0x" + "77" * 20])
    assert res.exit_code == 1 and "no contract" in res.output
    res = CliRunner().invoke(cli, ["accounts", "list", "--rpc", node.url])
    assert res.exit_code == 1 and "--contract" in res.output
