"""Third engine: the Ethereum execution specification re-executes the blocks revm and py-evm agreed on.

The stream is the one of :mod:`tests.chain.test_engine_differential` (transfers, deployments, reverts,
self-calls, storage churn, logs, precompiles, create/selfdestruct, out-of-gas, gas prices, access lists,
invalid transactions), fewer examples because the specification interprets every opcode in Python. Each
block sealed by the revm chain (identical on py-evm, checked by :class:`EnginePair`) is executed by the
specification (:mod:`tests.chain.spec_engine`) from the genesis alloc; state root, receipts byte by byte,
receipts root, logs bloom and gas used must match the sealed header.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.chain.engine_contracts import FUZZ_INITCODE
from tests.chain.engine_harness import EnginePair
from tests.chain.helpers import USER_KEYS, make_test_genesis, sign_tx
from tests.chain.spec_engine import SpecChain
from tests.chain.test_engine_differential import action, raw_stream


def check_against_spec(pair: EnginePair, spec: SpecChain) -> None:
    """Run every block of ``pair.main`` the spec has not seen yet and compare it with the sealed header."""
    chain = pair.main
    for number in range(spec.height + 1, chain.head.block_number + 1):
        block = chain.get_block_by_number(number)
        header = block.header
        hashes = [chain.get_canonical_hash(n) for n in range(max(0, number - 256), number)]
        out = spec.apply(header, list(block.transactions), hashes)
        spec.height = number
        stored = [r.encode() for r in chain.get_receipts(header.hash)]
        assert out.receipts == stored, f"block {number}: receipts differ from the specification's"
        assert out.gas_used == header.gas_used, f"block {number}: gas used differs"
        assert out.bloom == header.bloom, f"block {number}: logs bloom differs"
        assert out.receipts_root == header.receipt_root, f"block {number}: receipts root differs"
        assert out.state_root == header.state_root, f"block {number}: state root differs"


def test_spec_agrees_on_a_fixed_block_of_each_kind() -> None:
    """Deterministic smoke case (runs even where hypothesis finds nothing new): deploy, call, transfer."""
    pair = EnginePair(make_test_genesis())
    spec = SpecChain(pair.main.genesis)
    try:
        pair.block([sign_tx(USER_KEYS[0], pair.main, nonce=0, gas=1_500_000, data=FUZZ_INITCODE)])
        pair.block(raw_stream(pair, [(0, ("xfer", b"\x42" * 20, 5, None, None), 0, 60_000, "legacy", 0),
                                     (1, ("op", 3, 7, 9, 0), 0, 400_000, "1559", 0),
                                     (2, ("pre", 2, b"abc", None, None), 0, 60_000, "al", 0)], [1, 0, 0, 0]))
        check_against_spec(pair, spec)
        assert spec.height == 2
    finally:
        pair.close()


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(blocks=st.lists(st.lists(action, max_size=8), min_size=1, max_size=3))
def test_random_streams_agree_with_the_specification(blocks):
    pair = EnginePair(make_test_genesis())
    spec = SpecChain(pair.main.genesis)
    try:
        pair.block([sign_tx(USER_KEYS[0], pair.main, nonce=0, gas=1_500_000, data=FUZZ_INITCODE)])
        for actions in blocks:
            state = pair.main.state_at()
            nonces = [state.get_nonce(k) for k in _users()]
            pair.block(raw_stream(pair, actions, nonces))
        check_against_spec(pair, spec)
    finally:
        pair.close()


def _users() -> list[bytes]:
    from tests.chain.helpers import USERS

    return list(USERS[:4])


def test_comparison_fails_when_the_specification_computes_something_else() -> None:
    """The check is not vacuous: a block whose transfer the spec sees with another value is caught."""
    pair = EnginePair(make_test_genesis())
    spec = SpecChain(pair.main.genesis)
    try:
        pair.block([sign_tx(USER_KEYS[1], pair.main, nonce=0, gas=21_000, to=b"\x42" * 20, value=5)])
        spec.state._main_trie._data.clear()  # the spec starts from an empty state: the sender cannot pay
        try:
            check_against_spec(pair, spec)
        except Exception as exc:  # the spec refuses the block, or computes another root
            assert "InsufficientBalance" in type(exc).__name__ or "differs" in str(exc)
        else:
            raise AssertionError("an empty pre-state went unnoticed")
    finally:
        pair.close()
