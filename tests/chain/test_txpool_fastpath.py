"""TxPool.add with its fast path (direct decoder, hash and signed bytes handed to sender recovery,
validate() shortcut) against the same pool with the fast path switched off (py-evm's decoder, tx.hash,
recover_sender, tx.validate()): same accepted hash, sender, pooled object and size, or the same refusal
(JSON-RPC code and message), on signed transactions of every type and on mutations of them."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from co3chain.chain.chain import NodeChain
from co3chain.chain.senders import SECP256K1_N, SenderCache
from co3chain.node.txpool import TxPool, TxPoolError
from tests.chain.helpers import USER_KEYS, USERS, make_test_genesis, sign_tx

CHAIN = NodeChain.open(None, make_test_genesis(1))
KEY = USER_KEYS[0]


class _Declines:
    """Stands in for the direct decoder: declines everything, so py-evm decodes."""

    def decode(self, raw: bytes) -> None:
        return None


def _signed(**fields: Any) -> bytes:
    fields.setdefault("to", USERS[3])
    fields.setdefault("gas", 21_000)
    if fields["to"] == b"":
        del fields["to"]  # contract creation
    return sign_tx(KEY, CHAIN, **fields)


def _high_s(raw: bytes) -> bytes:
    """The same legacy transaction with s replaced by N - s (valid on the curve, refused by EIP-2)."""
    import rlp

    items = rlp.decode(raw)
    s = int.from_bytes(items[8], "big")
    v = int.from_bytes(items[6], "big")
    items[8] = (SECP256K1_N - s).to_bytes(32, "big").lstrip(b"\0")
    items[6] = (v ^ 1).to_bytes(2, "big").lstrip(b"\0")
    return rlp.encode(items)


SEEDS = [
    _signed(nonce=0),
    _signed(nonce=1, data=b"\x00\x01" * 40, gas=30_000),
    _signed(nonce=0, gas=20_999),  # intrinsic gas too low
    _signed(nonce=0, gasPrice=5, accessList=[{"address": "0x" + "22" * 20, "storageKeys": ["0x" + "00" * 32]}], gas=30_000),
    _signed(nonce=0, maxFeePerGas=3, maxPriorityFeePerGas=1),
    _signed(nonce=0, maxFeePerGas=1, maxPriorityFeePerGas=3),  # tip above cap
    _signed(nonce=70),  # nonce too high
    _signed(nonce=0, chainId=999),  # wrong chain id
    _signed(nonce=0, to=b"", data=b"\x60\x00", gas=60_000),  # contract creation
    bytes(Account.from_key(KEY).sign_transaction(  # pre-EIP-155 (v = 27/28): refused, not replay-protected
        {"nonce": 0, "gas": 21_000, "gasPrice": 0, "to": "0x" + "33" * 20, "value": 0, "data": b""}).raw_transaction),
]
SEEDS.append(_high_s(SEEDS[0]))


def _outcome(fast: bool, raw: bytes) -> tuple[Any, ...]:
    CHAIN.senders = SenderCache()  # every example recovers from the signature itself
    pool = TxPool(CHAIN, max_per_sender=64)
    if not fast:
        pool._fast_decoder = _Declines()  # type: ignore[assignment]
    try:
        h = pool.add(raw)
    except TxPoolError as exc:
        return ("refused", exc.code, exc.message)
    entry = pool._by_hash[h]
    tx = entry.tx
    return ("accepted", h, entry.sender, entry.size, type(tx), tx, tx.hash, tx.encode(), CHAIN.senders.recoveries)


@pytest.mark.parametrize("raw", SEEDS)
def test_seed_transactions_same_outcome(raw: bytes) -> None:
    assert _outcome(True, raw) == _outcome(False, raw)


def test_fast_path_accepts_what_it_should() -> None:
    kinds = {_outcome(True, raw)[0] for raw in SEEDS[:2]}
    assert kinds == {"accepted"}
    assert _outcome(True, SEEDS[3])[0] == "accepted" and _outcome(True, SEEDS[4])[0] == "accepted"


@st.composite
def mutated_seed(draw: Any) -> bytes:
    raw = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 2))):
        i = draw(st.integers(0, len(raw) - 1))
        op = draw(st.sampled_from(["flip", "set", "delete", "insert", "truncate"]))
        if op == "flip":
            raw[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "set":
            raw[i] = draw(st.integers(0, 255))
        elif op == "delete":
            del raw[i]
        elif op == "insert":
            raw.insert(i, draw(st.integers(0, 255)))
        else:
            del raw[i:]
        if not raw:
            break
    return bytes(raw)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_seed())
def test_mutated_transactions_same_outcome(raw: bytes) -> None:
    assert _outcome(True, raw) == _outcome(False, raw)
