"""Gas money on a fixed-base-fee network: a joining PA (or relayer, oracle submitter) without Ether cannot
send; ``co3chain accounts fund`` from any funded PA's key gives it gas money; then its transactions go
through (EIP-1559, paying the burned base fee). No minting: the sender's balance drops by what it sent."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from eth_account import Account

from co3chain.chain.genesis import DEFAULT_FIXED_BASE_FEE
from co3chain.cli import cli
from co3chain.keys import create_keystore
from tests.rpc.conftest import CHAIN_ID, VALIDATOR, VALIDATOR_KEY, Node, start_node

NEW_PA = Account.from_key(b"\x99" * 32)
SINK = "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB"


@pytest.fixture(scope="module")
def fee_node() -> Iterator[Node]:
    node, stop = start_node(base_fee=DEFAULT_FIXED_BASE_FEE)
    stop_sealing = threading.Event()

    def sealer() -> None:  # blocks keep coming while a CLI command waits for its receipt
        while not stop_sealing.wait(0.2):
            node.seal()

    threading.Thread(target=sealer, daemon=True).start()
    try:
        yield node
    finally:
        stop_sealing.set()
        stop()


def _raw(key: bytes, **fields: object) -> str:
    tx = {"to": SINK, "value": 1, "gas": 21_000, "chainId": CHAIN_ID, "nonce": 0, **fields}
    return "0x" + bytes(Account.from_key(key).sign_transaction(tx).raw_transaction).hex()


def test_a_new_pa_gets_gas_money_from_a_funded_pa(fee_node: Node, tmp_path: Path) -> None:
    fee = int(fee_node.call("eth_gasPrice"), 16)
    assert fee == DEFAULT_FIXED_BASE_FEE == int(fee_node.call("eth_getBlockByNumber", "latest", False)
                                                ["baseFeePerGas"], 16)
    tx2 = {"maxFeePerGas": 2 * fee, "maxPriorityFeePerGas": 0}
    refused = fee_node.rpc("eth_sendRawTransaction", _raw(NEW_PA.key, **tx2))
    assert "insufficient funds" in refused["error"]["message"]
    free = fee_node.rpc("eth_sendRawTransaction", _raw(VALIDATOR_KEY, gasPrice=0))
    assert "max fee per gas less than block base fee" in free["error"]["message"]

    ks, pw = tmp_path / "key.json", tmp_path / "pw"
    create_keystore(ks, "pw-secret", VALIDATOR_KEY, scrypt_n=2**10)
    pw.write_text("pw-secret\n")
    before = int(fee_node.call("eth_getBalance", "0x" + VALIDATOR.hex(), "latest"), 16)
    res = CliRunner().invoke(cli, ["accounts", "fund", NEW_PA.address, "--rpc", fee_node.url, "--wei", str(10**18),
                                   "--keystore", str(ks), "--password-file", str(pw), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["balance"] == 10**18
    # the funder paid the amount plus 21,000 gas at the base fee (burned: nobody received it)
    assert before - out["senderBalance"] == 10**18 + 21_000 * fee

    tx_hash = fee_node.call("eth_sendRawTransaction", _raw(NEW_PA.key, **tx2))
    fee_node.seal()
    receipt = fee_node.call("eth_getTransactionReceipt", tx_hash)
    assert receipt["status"] == "0x1" and receipt["type"] == "0x2"
    assert int(receipt["effectiveGasPrice"], 16) == fee


def test_fund_refuses_bad_input(fee_node: Node, tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["accounts", "fund", "nope", "--rpc", fee_node.url, "--keystore",
                                   str(tmp_path / "missing.json")])
    assert res.exit_code != 0
    assert "not an address" in res.output
