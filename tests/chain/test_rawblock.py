"""Transaction hashes and size from a stored block's RLP equal those of the decoded block."""

from __future__ import annotations

from typing import Any

import pytest
import rlp
from eth_hash.auto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from co3chain.chain.chain import NodeChain
from co3chain.chain.rawblock import RawBlockError, block_tx_hashes, decode_wire_block, encode_block_body
from co3chain.chain.vm import QbftBlock, decode_block
from tests.chain.helpers import USER_KEYS, USERS, make_test_genesis, produce, produce_mixed_transfers, sign_tx


def test_hashes_and_size_match_the_decoded_block_for_every_tx_type() -> None:
    chain = NodeChain.open(None, make_test_genesis(1))
    raws = [
        sign_tx(USER_KEYS[0], chain, nonce=0, to=USERS[1], gas=21000),  # legacy (EIP-155)
        sign_tx(USER_KEYS[0], chain, nonce=1, to=USERS[1], gas=30000, gasPrice=0,
                accessList=[{"address": "0x" + USERS[2].hex(), "storageKeys": ["0x" + "00" * 32]}]),  # EIP-2930
        sign_tx(USER_KEYS[1], chain, nonce=0, to=USERS[2], gas=21000, maxFeePerGas=10**9,
                maxPriorityFeePerGas=0),  # EIP-1559
    ]
    sealed, _ = produce(chain, raws)
    assert [tx.type_id for tx in sealed.transactions] == [None, 1, 2]
    hashes, size = chain.get_block_tx_hashes(sealed.hash)
    assert hashes == [tx.hash for tx in sealed.transactions]
    assert size == len(rlp.encode(sealed))

    empty, _ = produce(chain, [])
    assert chain.get_block_tx_hashes(empty.hash) == ([], len(rlp.encode(empty)))
    assert chain.get_block_tx_hashes(b"\x00" * 32) is None


def test_malformed_block_bytes_are_refused() -> None:
    for junk in (b"", b"\x05", rlp.encode(b"not a list"), rlp.encode([b"header"]), rlp.encode([[], b"x"]),
                 rlp.encode([[], [b"\x01"]])[:-1], rlp.encode([[], []]) + b"\x00"):
        with pytest.raises(RawBlockError):
            block_tx_hashes(junk)


# -- decode_wire_block: decoded legacy transactions keep their own encoding --------------------------
_GENESIS_CHAIN = NodeChain.open(None, make_test_genesis(1))
_BUILDER = _GENESIS_CHAIN.vm_class.get_transaction_builder()
_u256 = st.integers(0, 2**256 - 1)
_small = st.integers(0, 2**64 - 1)
_to = st.one_of(st.just(b""), st.binary(min_size=20, max_size=20))


@st.composite
def _transaction(draw: st.DrawFn) -> Any:
    data = draw(st.binary(max_size=80))
    r, s, v = draw(_u256), draw(_u256), draw(st.sampled_from([27, 28, 35, 36, 2 * 1337 + 35, 2**40]))
    if draw(st.booleans()):
        return _BUILDER.new_transaction(draw(_small), draw(_u256), draw(_small), draw(_to), draw(_u256), data, v, r, s)
    typed = _BUILDER.new_dynamic_fee_transaction(draw(_small), draw(_small), draw(_u256), draw(_u256), draw(_small),
                                                 draw(_to), draw(_u256), data, (), draw(st.integers(0, 1)), r, s)
    return _BUILDER.decode(typed.encode())  # the builder makes a London object; a block holds Cancun's


@settings(max_examples=150, deadline=None)
@given(st.lists(_transaction(), max_size=6))
def test_wire_decode_keeps_each_legacy_encoding_equal_to_a_fresh_encode(txs: list[Any]) -> None:
    header = _GENESIS_CHAIN.genesis_header
    raw = rlp.encode(QbftBlock(header, transactions=txs, uncles=[], withdrawals=[]))
    fast, slow = decode_wire_block(raw), decode_block(raw)
    for f, s in zip(fast.transactions, slow.transactions, strict=True):
        if f.type_id is None:  # the kept slice (read before anything encodes ``f``) is the fresh encoding
            assert f._cached_rlp is not None and f._cached_rlp == rlp.encode(s)
    assert rlp.encode(fast) == rlp.encode(slow) == raw
    for f, s, original in zip(fast.transactions, slow.transactions, txs, strict=True):
        assert f.hash == s.hash == original.hash == keccak(rlp.encode(s) if s.type_id is None else s.encode())
        assert rlp.encode(f) == rlp.encode(s)
    assert [tx.hash for tx in fast.transactions] == block_tx_hashes(raw)


def test_wire_decode_refuses_a_non_canonical_transaction() -> None:
    tx = _BUILDER.new_transaction(5, 1, 21000, b"\x11" * 20, 0, b"", 27, 1, 2)
    raw = rlp.encode(QbftBlock(_GENESIS_CHAIN.genesis_header, transactions=[tx], uncles=[], withdrawals=[]))
    fields = rlp.decode(raw)
    fields[1][0][0] = b"\x00\x05"  # nonce 5 with a leading zero byte: would hash differently if accepted
    with pytest.raises(rlp.exceptions.DeserializationError):
        decode_wire_block(rlp.encode(fields))
    fields[1][0][0] = b"\x05"
    assert decode_wire_block(rlp.encode(fields)).transactions[0].hash == tx.hash


# -- encode_block_body: rlp.encode(block) reusing each transaction's encoding ---------------------------
@settings(max_examples=150, deadline=None)
@given(st.lists(_transaction(), max_size=8), st.booleans(), st.integers(0, 3))
def test_spliced_block_encoding_equals_pyrlp(txs: list[Any], decoded: bool, withdrawals: int) -> None:
    from eth.vm.forks.shanghai.withdrawals import Withdrawal

    header = _GENESIS_CHAIN.genesis_header
    ws = [Withdrawal(i, i + 1, b"\x22" * 20, 10**9 + i) for i in range(withdrawals)]
    block = QbftBlock(header, transactions=txs, uncles=[], withdrawals=ws)
    expected = rlp.encode(block)
    if decoded:  # transactions carrying their input bytes (what sync and admission produce)
        block = decode_wire_block(expected)
    assert encode_block_body(block) == expected
    assert encode_block_body(block) == expected  # and again, with the encodings now cached


def test_a_large_block_uses_long_list_prefixes_correctly() -> None:
    txs = [_BUILDER.new_transaction(n, 1, 21000, b"\x11" * 20, 0, b"\x01" * 300, 27, 1, 2) for n in range(40)]
    block = QbftBlock(_GENESIS_CHAIN.genesis_header, transactions=txs, uncles=[], withdrawals=[])
    assert len(rlp.encode(block)) > 10_000 and encode_block_body(block) == rlp.encode(block)


def test_stored_block_bytes_are_the_wire_encoding() -> None:
    """``get_block_rlp_by_number`` serves syncing peers the stored bytes: equal to ``encode_block`` of the block."""
    from co3chain.chain.vm import encode_block

    chain = NodeChain.open(None, make_test_genesis(1))
    produce_mixed_transfers(chain)
    head = chain.head.block_number
    assert chain.get_block_rlp_by_number(head) == encode_block(chain.get_block_by_number(head))
    assert chain.get_block_rlp_by_number(head + 1) is None


# -- replace_header: another sealed form of a stored block, spliced ------------------------------------
@settings(max_examples=100, deadline=None)
@given(st.lists(_transaction(), max_size=8), st.binary(max_size=300), st.integers(0, 3))
def test_replaced_header_equals_pyrlp_of_the_block_with_that_header(txs: list[Any], extra: bytes,
                                                                     withdrawals: int) -> None:
    from eth.vm.forks.shanghai.withdrawals import Withdrawal

    from co3chain.chain.rawblock import replace_header

    header = _GENESIS_CHAIN.genesis_header
    ws = [Withdrawal(i, i + 1, b"\x22" * 20, 10**9 + i) for i in range(withdrawals)]
    block = QbftBlock(header, transactions=txs, uncles=[], withdrawals=ws)
    other = header.copy(extra_data=extra)  # any length: the header's own length prefix may change size
    assert replace_header(rlp.encode(block), rlp.encode(other)) == rlp.encode(block.copy(header=other))


def test_replace_header_refuses_what_is_not_a_block() -> None:
    from co3chain.chain.rawblock import replace_header

    for junk in (b"", rlp.encode(b"not a list"), rlp.encode([b"header", []]), rlp.encode([[], []]) + b"\x00"):
        with pytest.raises(RawBlockError):
            replace_header(junk, rlp.encode([]))
# -- the direct block decoder (transactions through txdecode) equals pyrlp's --------------------------
def _same_block(fast: Any, slow: Any) -> None:
    assert type(fast) is type(slow)
    assert fast.header == slow.header and fast.header.hash == slow.header.hash
    assert fast.header._cached_rlp == slow.header._cached_rlp
    assert fast._cached_rlp == slow._cached_rlp
    assert tuple(fast.uncles) == tuple(slow.uncles) and tuple(fast.withdrawals) == tuple(slow.withdrawals)
    assert len(fast.transactions) == len(slow.transactions)
    for f, s in zip(fast.transactions, slow.transactions, strict=True):
        assert type(f) is type(s) and f == s and f.hash == s.hash and f.encode() == s.encode()
        assert f.type_id == s.type_id
        if f.type_id is not None:
            assert type(f._inner) is type(s._inner) and f._inner == s._inner
    assert rlp.encode(fast) == rlp.encode(slow)


@st.composite
def _any_transaction(draw: st.DrawFn) -> Any:
    """Legacy, EIP-2930 (with access lists) and EIP-1559 transactions with arbitrary field values."""
    kind = draw(st.sampled_from(["legacy", "2930", "1559"]))
    if kind == "legacy":
        return draw(_transaction())
    data = draw(st.binary(max_size=80))
    r, s = draw(_u256), draw(_u256)
    access = tuple((draw(st.binary(min_size=20, max_size=20)), tuple(draw(st.lists(_u256, max_size=2))))
                   for _ in range(draw(st.integers(0, 2))))
    if kind == "2930":
        typed = _BUILDER.new_access_list_transaction(draw(_small), draw(_small), draw(_u256), draw(_small),
                                                     draw(_to), draw(_u256), data, access,
                                                     draw(st.integers(0, 1)), r, s)
    else:
        typed = _BUILDER.new_dynamic_fee_transaction(draw(_small), draw(_small), draw(_u256), draw(_u256),
                                                     draw(_small), draw(_to), draw(_u256), data, access,
                                                     draw(st.integers(0, 1)), r, s)
    return _BUILDER.decode(typed.encode())


@settings(max_examples=200, deadline=None)
@given(st.lists(_any_transaction(), max_size=6), st.integers(0, 2))
def test_direct_block_decode_equals_pyrlp(txs: list[Any], withdrawals: int) -> None:
    from eth.vm.forks.shanghai.withdrawals import Withdrawal

    from co3chain.chain.rawblock import _decode_direct

    ws = [Withdrawal(i, i + 1, b"\x22" * 20, 10**9 + i) for i in range(withdrawals)]
    raw = rlp.encode(QbftBlock(_GENESIS_CHAIN.genesis_header, transactions=txs, uncles=[], withdrawals=ws))
    direct = _decode_direct(raw)
    if not withdrawals:  # the chain's blocks: the direct path must take them
        assert direct is not None
        _same_block(direct, decode_block(raw))
    else:
        assert direct is None
    _same_block(decode_wire_block(raw), decode_block(raw))


def _outcome(fn: Any, raw: bytes) -> Any:
    try:
        return fn(raw)
    except Exception as exc:  # noqa: BLE001 - which error is compared below only as "refused"
        return exc


@settings(max_examples=400, deadline=None)
@given(st.lists(_any_transaction(), min_size=1, max_size=3), st.data())
def test_direct_block_decode_on_mutated_bytes_decides_as_pyrlp(txs: list[Any], data: st.DataObject) -> None:
    raw = bytearray(rlp.encode(QbftBlock(_GENESIS_CHAIN.genesis_header, transactions=txs, uncles=[],
                                         withdrawals=[])))
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at] = data.draw(st.integers(0, 255))
    fast, slow = _outcome(decode_wire_block, bytes(raw)), _outcome(decode_block, bytes(raw))
    if isinstance(slow, Exception):
        assert isinstance(fast, Exception), "the direct decoder accepted a block pyrlp refuses"
    else:
        assert not isinstance(fast, Exception), f"refused a block pyrlp accepts: {fast!r}"
        _same_block(fast, slow)


def test_direct_block_decode_refuses_a_legacy_transaction_wrapped_as_typed() -> None:
    tx = _BUILDER.new_transaction(5, 1, 21000, b"\x11" * 20, 0, b"", 27, 1, 2)
    fields = rlp.decode(rlp.encode(QbftBlock(_GENESIS_CHAIN.genesis_header, transactions=[tx], uncles=[],
                                             withdrawals=[])))
    fields[1][0] = rlp.encode(tx)  # the legacy list as a byte string
    raw = rlp.encode(fields)
    with pytest.raises(Exception):  # noqa: B017 - pyrlp/py-evm's own error, whatever it is
        decode_block(raw)
    with pytest.raises(Exception):  # noqa: B017
        decode_wire_block(raw)
