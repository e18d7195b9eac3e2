"""The revm engine's shortcut around py-evm's transaction validation agrees with py-evm on every input.

Why: ``passes_pyevm_validation`` decides whether py-evm's own checks (block gas limit, ``tx.validate()``,
base fee, low ``s``, balance, nonce) run at all. A ``True`` where py-evm would refuse would let an invalid
transaction into a block (a consensus bug); a ``False`` only costs speed, but then the shortcut is
useless. So both directions are checked on random transactions of every supported type against random
sender states, block gas and base fees.
"""

from __future__ import annotations

import pytest
from eth.constants import SECPK1_N
from eth_account import Account
from eth_utils import ValidationError
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from co3chain.chain.builder import BlockBuilder
from co3chain.chain.chain import NodeChain
from co3chain.chain.revm_engine import passes_pyevm_validation
from co3chain.chain.senders import _prime
from co3chain.chain.vm import new_header
from tests.chain.helpers import CHAIN_ID, make_test_genesis

KEY = b"\x07" * 32
SENDER = bytes.fromhex(Account.from_key(KEY).address[2:])


@pytest.fixture(scope="module")
def chain() -> NodeChain:
    return NodeChain.open(None, make_test_genesis())


def _signed(chain: NodeChain, kind: str, nonce: int, gas: int, price: int, tip: int, value: int, data: bytes,
            to: bytes | None) -> object:
    tx: dict[str, object] = {"nonce": nonce, "gas": gas, "value": value, "data": data}
    if to is not None:
        tx["to"] = "0x" + to.hex()
    if kind == "legacy":
        tx["gasPrice"] = price
    elif kind == "legacy-155":
        tx.update(gasPrice=price, chainId=CHAIN_ID)
    elif kind == "eip2930":
        tx.update(gasPrice=price, chainId=CHAIN_ID, accessList=[{"address": "0x" + "22" * 20, "storageKeys": []}])
    else:
        tx.update(maxFeePerGas=price, maxPriorityFeePerGas=tip, chainId=CHAIN_ID)
    raw = bytes(Account.from_key(KEY).sign_transaction(tx).raw_transaction)
    return chain.vm_class.get_transaction_builder().decode(raw)


def _pyevm_passes(vm: object, header: object, tx: object) -> bool:
    try:
        vm.validate_transaction_against_header(header, tx)  # type: ignore[attr-defined]
        vm.state.get_transaction_executor().validate_transaction(tx)  # type: ignore[attr-defined]
    except ValidationError:
        return False
    return True


@example(kind="eip1559", nonce=0, nonce_offset=0, gas=21_000, price=5, tip=0, value=0, base_fee=0, balance_delta=-1, around_fee_cap=True, gas_used=0, data=b"", create=False, high_s=False, primed=True)
@example(kind="eip1559", nonce=0, nonce_offset=0, gas=21_000, price=5, tip=0, value=0, base_fee=0, balance_delta=0, around_fee_cap=True, gas_used=0, data=b"", create=False, high_s=False, primed=True)
@example(kind="eip1559", nonce=0, nonce_offset=0, gas=21_000, price=5, tip=0, value=3, base_fee=0, balance_delta=-1, around_fee_cap=False, gas_used=0, data=b"", create=False, high_s=False, primed=True)
@example(kind="eip1559", nonce=0, nonce_offset=1, gas=21_000, price=5, tip=0, value=0, base_fee=0, balance_delta=0, around_fee_cap=False, gas_used=0, data=b"", create=False, high_s=False, primed=True)
@example(kind="eip1559", nonce=0, nonce_offset=0, gas=21_000, price=5, tip=0, value=0, base_fee=6, balance_delta=0, around_fee_cap=False, gas_used=0, data=b"", create=False, high_s=False, primed=True)
@example(kind="eip1559", nonce=0, nonce_offset=0, gas=21_000, price=5, tip=0, value=0, base_fee=0, balance_delta=0, around_fee_cap=False, gas_used=29_990_000, data=b"", create=False, high_s=False, primed=True)
@example(kind="legacy-155", nonce=0, nonce_offset=0, gas=21_000, price=5, tip=0, value=0, base_fee=0, balance_delta=0, around_fee_cap=False, gas_used=0, data=b"", create=False, high_s=True, primed=True)
@example(kind="eip1559", nonce=0, nonce_offset=0, gas=21_000, price=5, tip=0, value=0, base_fee=0, balance_delta=0, around_fee_cap=False, gas_used=0, data=b"", create=False, high_s=True, primed=True)
@example(kind="eip2930", nonce=0, nonce_offset=0, gas=20_999, price=5, tip=0, value=0, base_fee=0, balance_delta=0, around_fee_cap=False, gas_used=0, data=b"", create=False, high_s=False, primed=True)
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kind=st.sampled_from(["legacy", "legacy-155", "eip2930", "eip1559"]),
    nonce=st.integers(0, 3),
    nonce_offset=st.sampled_from([0, 0, 0, 0, 1]),
    gas=st.sampled_from([20_999, 21_000, 21_064, 30_000, 60_000, 100_000, 25_000_000]),
    price=st.integers(0, 12),
    tip=st.integers(0, 12),
    value=st.integers(0, 3) | st.just(10**18),
    base_fee=st.integers(0, 8),
    balance_delta=st.integers(-3, 3),
    around_fee_cap=st.booleans(),
    gas_used=st.sampled_from([0, 0, 0, 1_000_000, 29_950_000, 29_990_000, 30_000_000]),
    data=st.binary(max_size=8),
    create=st.booleans(),
    high_s=st.sampled_from([False, False, False, True]),
    primed=st.sampled_from([True, True, True, False]),
)
def test_shortcut_agrees_with_pyevm(
    chain: NodeChain, kind: str, nonce: int, nonce_offset: int, gas: int, price: int, tip: int, value: int,
    base_fee: int, balance_delta: int, around_fee_cap: bool, gas_used: int, data: bytes, create: bool, high_s: bool, primed: bool,
) -> None:
    tx = _signed(chain, kind, nonce, gas, price, tip, value, data, None if create else b"\x33" * 20)
    if high_s:  # the other signature of the same message: Homestead refuses it
        tx = tx.copy(s=SECPK1_N - tx.s)  # type: ignore[attr-defined]
    if primed:
        _prime(tx, SENDER)
    parent = chain.head
    template = new_header(parent, coinbase=b"\x44" * 20, timestamp=parent.timestamp + 1, gas_limit=30_000_000,
                          base_fee_per_gas=base_fee)
    builder = BlockBuilder(chain, parent, template)
    vm, state = builder._vm, builder._state
    # a balance around one of the two amounts py-evm checks: gas at the effective price plus value
    # (Frontier), or gas at the fee cap (Cancun)
    cost = gas * tx.max_fee_per_gas if around_fee_cap else gas * state.get_gas_price(tx) + value  # type: ignore[attr-defined]
    state.set_balance(SENDER, max(0, cost + balance_delta))
    state.set_nonce(SENDER, nonce + nonce_offset)
    header = builder.header.copy(gas_used=gas_used)
    fast = passes_pyevm_validation(state, header, tx)
    # the engine passes the effective gas price it computed already: same verdict
    assert passes_pyevm_validation(state, header, tx, state.get_gas_price(tx)) == fast
    slow = _pyevm_passes(vm, header, tx)
    if fast:
        assert slow, "shortcut accepted what py-evm refuses"
    if primed and not high_s:
        assert fast == slow, "shortcut declined a transaction py-evm accepts"


def test_unprimed_transactions_always_go_to_pyevm(chain: NodeChain) -> None:
    tx = _signed(chain, "legacy-155", 0, 21_000, 0, 0, 0, b"", b"\x33" * 20)
    builder = chain.open_block(b"\x44" * 20, chain.head.timestamp + 1, b"")
    assert not passes_pyevm_validation(builder._state, builder.header, tx)
    _prime(tx, SENDER)
    assert passes_pyevm_validation(builder._state, builder.header, tx)
