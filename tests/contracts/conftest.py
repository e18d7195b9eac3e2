"""Fixtures for contract tests: web3 on eth-tester (py-evm), funded accounts and a deploy helper.

Usage in a test::

    def test_x(w3, accounts, deploy):
        admin, alice = accounts[0], accounts[1]
        registry = deploy("CitizenRegistry", admin.address, sender=admin)
        registry.functions.register(...).transact({"from": admin.address})

``accounts`` are eth_account LocalAccount objects (private keys available for EIP-712 signing) that the
eth-tester backend also knows, so ``transact({"from": addr})`` works without a signing middleware.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from eth_account import Account
from eth_tester import EthereumTester, PyEVMBackend
from web3 import EthereumTesterProvider, Web3
from web3.contract import Contract

from co3chain.contracts.artifacts_dev import artifact

N_ACCOUNTS = 10


@pytest.fixture
def tester() -> EthereumTester:
    backend = PyEVMBackend()
    return EthereumTester(backend)


@pytest.fixture
def w3(tester: EthereumTester) -> Web3:
    return Web3(EthereumTesterProvider(tester))


@pytest.fixture
def accounts(tester: EthereumTester, w3: Web3) -> list[Any]:
    keys = [b"\x00" * 31 + bytes([i + 1]) for i in range(N_ACCOUNTS)]
    funded = w3.eth.accounts[0]
    result = []
    for key in keys:
        acct = Account.from_key(key)
        if acct.address not in w3.eth.accounts:
            tester.add_account("0x" + key.hex())
        w3.eth.send_transaction({"from": funded, "to": acct.address, "value": w3.to_wei(1000, "ether")})
        result.append(acct)
    return result


def contract_at(w3: Web3, name: str, address: str) -> Contract:
    """A web3 contract object for an already deployed contract of the suite."""
    return w3.eth.contract(address=address, abi=artifact(name)["abi"])


@pytest.fixture
def deploy(w3: Web3) -> Callable[..., Contract]:
    def _deploy(name: str, *args: Any, sender: Any = None) -> Contract:
        art = artifact(name)
        factory = w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
        frm = sender.address if hasattr(sender, "address") else (sender or w3.eth.accounts[0])
        tx_hash = factory.constructor(*args).transact({"from": frm})
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
        assert receipt["status"] == 1, f"deploying {name} failed"
        return w3.eth.contract(address=receipt["contractAddress"], abi=art["abi"])

    return _deploy


def error_selector(signature: str) -> str:
    """``0x``-prefixed 4-byte selector of a custom error, e.g. ``error_selector("NotCitizen(address)")``."""
    return "0x" + Web3.keccak(text=signature)[:4].hex()
