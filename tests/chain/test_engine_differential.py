"""Differential test: hypothesis-generated streams of random transactions executed by revm and py-evm.

Every block is built by a chain on each engine from the same transactions; receipts, included/rejected
sets and every header root must be identical (see :class:`tests.chain.engine_harness.EnginePair`).
The stream mixes transfers (new, existing, empty accounts, coinbase), deployments (the fuzz contract and
raw init code), reverts, self-calls, storage churn, logs, precompiles, create/selfdestruct, out-of-gas,
gas prices, access lists and invalid transactions (bad nonce, no funds).
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.chain.engine_contracts import FUZZ_INITCODE
from tests.chain.engine_harness import EnginePair, created_address, op_call
from tests.chain.helpers import USER_KEYS, USERS, VALIDATOR_KEYS, addr, make_test_genesis, sign_tx

FUZZ = created_address(USERS[0], 0)
ADDRS = [*USERS, FUZZ, addr(VALIDATOR_KEYS[0]), b"\x42" * 20, b"\x00" * 19 + b"\x04", b"\x00" * 20]

words = st.one_of(
    st.integers(0, 40), st.sampled_from([int.from_bytes(a, "big") for a in ADDRS]), st.integers(0, 2**256 - 1)
)
fuzz_call = st.tuples(st.just("op"), st.integers(0, 17), words, words, st.sampled_from([0, 0, 1000]))
transfer = st.tuples(st.just("xfer"), st.sampled_from(ADDRS), st.integers(0, 10**6), st.none(), st.none())
#: Cancun's precompiles (1-10) and the addresses later forks fill (BLS12-381 0x0b-0x11 in Prague, P-256 at 0x100):
#: pyrevm's debug dump says ``spec: LATEST``; these must still behave as empty accounts, as on py-evm.
precompile = st.tuples(st.just("pre"), st.sampled_from([*range(1, 0x13), 0x100]), st.binary(max_size=96), st.none(),
                       st.none())
raw_create = st.tuples(
    st.just("create"),
    st.sampled_from([b"", bytes.fromhex("60ff5f5260205ff3"), bytes.fromhex("fe"), bytes.fromhex("5f5ffd")]),
    st.integers(0, 3),
    st.none(),
    st.none(),
)
action = st.tuples(
    st.integers(0, 3),  # sender
    st.one_of(fuzz_call, fuzz_call, transfer, precompile, raw_create),
    st.sampled_from([0, 0, 0, 2]),  # gas price
    st.sampled_from([400_000, 400_000, 60_000, 25_000]),  # gas limit
    st.sampled_from(["legacy", "legacy", "1559", "al"]),
    st.sampled_from([0, 0, 0, 0, 1, -1]),  # nonce skew (invalid tx)
)


def raw_stream(pair: EnginePair, actions: list, nonces: list[int]) -> list[bytes]:
    """Signed raw transactions for ``actions`` (see :data:`action`); ``nonces`` (per sender) advance for
    every transaction sent without a nonce skew."""
    raws = []
    for sender, (kind, p1, p2, p3, value), price, gas, txtype, skew in actions:
        fields: dict = {"nonce": max(0, nonces[sender] + skew), "gas": gas}
        if kind == "op":
            fields.update(to=FUZZ, data=op_call(p1, p2, p3), value=value)
        elif kind == "xfer":
            fields.update(to=p1, value=p2, gas=max(gas, 21_000))
        elif kind == "pre":
            fields.update(to=p1.to_bytes(20, "big"), data=p2)
        else:
            fields.update(data=p1, value=p2)
        if txtype == "legacy":
            fields["gasPrice"] = price
        else:
            fields.update(maxFeePerGas=price, maxPriorityFeePerGas=price)
            if txtype == "al":
                fields["accessList"] = [
                    {
                        "address": "0x" + FUZZ.hex(),
                        "storageKeys": ["0x" + (1).to_bytes(32, "big").hex()],
                    }
                ]
        raws.append(sign_tx(USER_KEYS[sender], pair.main, **fields))
        if skew == 0:
            nonces[sender] += 1
    return raws


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(blocks=st.lists(st.lists(action, max_size=12), min_size=1, max_size=4))
def test_random_transaction_streams_give_identical_blocks(blocks):
    pair = EnginePair(make_test_genesis())
    try:
        pair.block([sign_tx(USER_KEYS[0], pair.main, nonce=0, gas=1_500_000, data=FUZZ_INITCODE)])
        nonces = [1, 0, 0, 0]
        for actions in blocks:
            raws = raw_stream(pair, actions, nonces)
            out = pair.block(raws)
            # resync nonces with what the chain accepted (a rejected tx leaves a gap for later ones)
            state = pair.main.state_at()
            nonces = [state.get_nonce(u) for u in USERS]
            assert len(out.included) + len(out.rejected) == len(raws)
    finally:
        pair.close()
