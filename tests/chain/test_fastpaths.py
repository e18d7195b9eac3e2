"""The block builder's shortcuts around py-evm objects produce exactly py-evm's objects.

Why these tests: the builder skips ``header.copy`` per transaction and the revm engine computes the logs
bloom itself; both are consensus data (block hash, receipts root), so each is compared with py-evm's own
construction on random inputs.
"""

from __future__ import annotations

import random

import rlp
from eth.vm.forks.cancun import CancunVM
from eth_account import Account

from co3chain.chain.builder import header_with_receipt
from co3chain.chain.chain import NodeChain
from co3chain.chain.revm_engine import logs_bloom, make_receipt
from tests.chain.helpers import make_test_genesis


def _random_logs(rng: random.Random) -> list[tuple[bytes, tuple[int, ...], bytes]]:
    return [
        (
            rng.randbytes(20),
            tuple(rng.getrandbits(256) for _ in range(rng.randint(0, 4))),
            rng.randbytes(rng.randint(0, 70)),
        )
        for _ in range(rng.randint(0, 4))
    ]


def _tx(**fields: object) -> object:
    tx = {"nonce": 0, "gas": 21000, "to": "0x" + "11" * 20, "value": 0, "chainId": 5, **fields}
    if "maxFeePerGas" not in tx:
        tx["gasPrice"] = 0
    raw = bytes(Account.from_key(b"\x01" * 32).sign_transaction(tx).raw_transaction)
    return CancunVM.get_transaction_builder().decode(raw)


def test_receipts_equal_py_evm_for_legacy_and_typed() -> None:
    rng = random.Random(7)
    legacy, typed = _tx(), _tx(maxFeePerGas=1, maxPriorityFeePerGas=0)
    for _ in range(200):
        logs = _random_logs(rng)
        for tx in (legacy, typed):
            status = rng.choice([b"", b"\x01"])
            ours = make_receipt(tx, status, 54321, logs)
            theirs = tx.make_receipt(status, 54321, tuple(logs))
            assert ours == theirs and ours.encode() == theirs.encode() and ours.bloom == theirs.bloom
        assert logs_bloom(logs) == make_receipt(legacy, b"", 0, logs).bloom


def test_header_with_receipt_equals_add_receipt_to_header() -> None:
    rng = random.Random(3)
    chain = NodeChain.open(None, make_test_genesis(1))
    vm = chain._vm(chain.head)
    header = chain.head.copy(gas_used=0, bloom=0)
    ours = theirs = header
    cumulative = 0
    for _ in range(50):
        cumulative += rng.randint(21000, 100000)
        receipt = make_receipt(_tx(), b"\x01", cumulative, _random_logs(rng))
        ours = header_with_receipt(ours, receipt)
        theirs = vm.add_receipt_to_header(theirs, receipt)
        assert ours == theirs and ours.hash == theirs.hash and rlp.encode(ours) == rlp.encode(theirs)
        assert (ours.gas_used, ours.bloom) == (cumulative, theirs.bloom)
    assert header.gas_used == 0 and header.bloom == 0  # the original is untouched
