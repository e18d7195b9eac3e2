"""The block builder's shortcuts around py-evm objects produce exactly py-evm's objects.

Why these tests: the builder skips ``header.copy`` per transaction and the revm engine computes the logs
bloom itself; both are consensus data (block hash, receipts root), so each is compared with py-evm's own
construction on random inputs.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
import rlp
from eth.rlp.logs import Log
from eth.rlp.receipts import Receipt
from eth.vm.forks.cancun import CancunVM
from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st

from co3chain.chain.builder import header_with_receipt
from co3chain.chain.chain import NodeChain
from co3chain.chain.fastreceipt import legacy_receipt
from co3chain.chain.revm_engine import logs_bloom, make_receipt
from co3chain.chain.rlpwrite import rlp_list, rlp_string, rlp_uint
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


def _receipts(rng: random.Random, steps: int) -> Iterator[tuple[int, Any]]:
    """``steps`` successful receipts with random logs and growing cumulative gas: (cumulative gas, receipt)."""
    cumulative = 0
    for _ in range(steps):
        cumulative += rng.randint(21000, 100000)
        yield cumulative, make_receipt(_tx(), b"\x01", cumulative, _random_logs(rng))


def test_header_with_receipt_equals_add_receipt_to_header() -> None:
    rng = random.Random(3)
    chain = NodeChain.open(None, make_test_genesis(1))
    vm = chain._vm(chain.head)
    header = chain.head.copy(gas_used=0, bloom=0)
    ours = theirs = header
    for cumulative, receipt in _receipts(rng, 50):
        ours = header_with_receipt(ours, receipt)
        theirs = vm.add_receipt_to_header(theirs, receipt)
        assert ours == theirs and ours.hash == theirs.hash and rlp.encode(ours) == rlp.encode(theirs)
        assert (ours.gas_used, ours.bloom) == (cumulative, theirs.bloom)
    assert header.gas_used == 0 and header.bloom == 0  # the original is untouched


def test_header_with_receipt_chain_without_hashing_between_steps() -> None:
    """The builder's own path: each header comes from the previous call and nobody hashed it (its
    attributes are copied whole); a hashed one in the middle must not pass its caches on."""
    rng = random.Random(4)
    chain = NodeChain.open(None, make_test_genesis(1))
    vm = chain._vm(chain.head)
    ours = theirs = chain.head.copy(gas_used=0, bloom=0)
    fields = len(type(ours)._meta.field_attrs)
    for step, (_cumulative, receipt) in enumerate(_receipts(rng, 40)):
        ours = header_with_receipt(ours, receipt)
        theirs = vm.add_receipt_to_header(theirs, receipt)
        assert len(ours.__dict__) == fields  # field values only, whatever the previous header cached
        if step % 7 == 3:
            assert ours.hash == theirs.hash  # caches (hash, encoding) on the next call's input
            assert len(ours.__dict__) > fields
    assert ours == theirs and ours.hash == theirs.hash and rlp.encode(ours) == rlp.encode(theirs)


_raw_logs = st.lists(
    st.tuples(
        st.binary(min_size=20, max_size=20),
        st.lists(st.binary(min_size=32, max_size=32), max_size=4).map(tuple),
        st.one_of(st.binary(max_size=60), st.binary(min_size=50, max_size=400)),
    ),
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([b"", b"\x01"]), st.integers(0, 2**63), _raw_logs)
def test_legacy_receipt_equals_py_evm_receipt(status: bytes, gas: int, logs: list) -> None:
    ours = legacy_receipt(status, gas, logs)
    theirs = Receipt(
        state_root=status,
        gas_used=gas,
        logs=[Log(a, tuple(int.from_bytes(t, "big") for t in topics), d) for a, topics, d in logs],
    )  # bloom computed by py-evm (eth_bloom)
    assert ours.bloom == theirs.bloom
    assert tuple(ours) == tuple(theirs) and ours == theirs
    assert ours.encode() == rlp.encode(theirs) == theirs.encode()
    assert rlp.decode(ours.encode(), sedes=Receipt) == theirs


@given(st.binary(max_size=300), st.integers(0, 2**256 - 1))
def test_rlp_helpers_equal_pyrlp(data: bytes, value: int) -> None:
    assert rlp_string(data) == rlp.encode(data)
    assert rlp_uint(value) == rlp.encode(value)
    assert rlp_list(rlp_string(data) + rlp_uint(value)) == rlp.encode([data, value])


# -- reading stored receipts back: the direct decoder equals py-evm's ------------------------------
_TOPIC = st.binary(min_size=32, max_size=32)
_LOG = st.tuples(st.binary(min_size=20, max_size=20), st.lists(_TOPIC, max_size=4), st.binary(max_size=90))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([b"", b"\x01"]), st.integers(0, 2**64), st.lists(_LOG, max_size=4))
def test_direct_receipt_decode_equals_pyevm(status: bytes, gas: int, logs: list) -> None:
    from eth.vm.forks.cancun.receipts import CancunReceiptBuilder

    from co3chain.chain.fastreceipt import decode_legacy_receipt

    # py-evm computes the bloom from the logs
    theirs = Receipt(status, gas, [Log(a, [int.from_bytes(t, "big") for t in ts], d) for a, ts, d in logs])
    encoded = theirs.encode()
    ours = decode_legacy_receipt(encoded)
    decoded = CancunReceiptBuilder.decode(encoded)
    assert ours is not None
    assert ours == decoded and ours.encode() == decoded.encode() == encoded and ours.bloom == decoded.bloom
    assert [lg.topics for lg in ours.logs] == [lg.topics for lg in decoded.logs]


@settings(max_examples=400, deadline=None)
@given(st.lists(_LOG, min_size=1, max_size=2), st.data())
def test_direct_receipt_decode_on_mutated_bytes_never_disagrees(logs: list, data: st.DataObject) -> None:
    from eth.vm.forks.cancun.receipts import CancunReceiptBuilder

    from co3chain.chain.fastreceipt import decode_legacy_receipt

    base = legacy_receipt(b"\x01", 21_000, [(a, tuple(ts), d) for a, ts, d in logs]).encode()
    raw = bytearray(base)
    for _ in range(data.draw(st.integers(1, 3))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    ours = decode_legacy_receipt(bytes(raw))
    if ours is None:
        return  # py-evm decides
    decoded = CancunReceiptBuilder.decode(bytes(raw))
    assert ours == decoded and ours.encode() == decoded.encode() == bytes(raw)


def test_typed_receipts_and_junk_are_left_to_pyevm() -> None:
    from co3chain.chain.fastreceipt import decode_legacy_receipt

    legacy = legacy_receipt(b"\x01", 5, []).encode()
    assert decode_legacy_receipt(legacy) is not None
    assert decode_legacy_receipt(b"\x02" + legacy) is None  # EIP-1559 receipt envelope
    assert decode_legacy_receipt(b"") is None and decode_legacy_receipt(b"\xc0") is None
    assert decode_legacy_receipt(legacy + b"\x00") is None


@pytest.mark.parametrize(
    "logs",
    [
        [(b"\x01" * 19, (), b"")],
        [(b"\x01" * 20, (b"\x02" * 31,), b"")],
        [(b"\x01" * 20, (b"\x02" * 32,), b""), (b"\x01" * 20, (b"\x02" * 32, b"\x03" * 33), b"x")],
    ],
)
def test_legacy_receipt_refuses_log_shapes_py_evm_cannot_encode(logs: list) -> None:
    with pytest.raises(ValueError, match="20 bytes"):
        legacy_receipt(b"\x01", 21_000, logs)
