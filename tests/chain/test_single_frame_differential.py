"""Differential test of revm's journal-only path: contract code that cannot open a call frame.

Why: such code (an ERC-20 ``transfer``, most storage-only contracts) is read from pyrevm's journal dump
alone, and its transactions write each account once (:meth:`RevmEngine._apply_call`). This contract has
no CALL/CREATE opcode, but stores, loads unknown slots (a re-execution round), reads other accounts'
balances (account discovery), logs, reverts and self-destructs; random streams of calls with gas prices,
coinbase and value transfers must give the same blocks on revm and py-evm.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from co3chain.chain.revm_engine import FLAG_OPENS_FRAMES, code_flags
from tests.chain.engine_harness import EnginePair, created_address
from tests.chain.helpers import USER_KEYS, USERS, VALIDATOR_KEYS, addr, make_test_genesis, sign_tx

_OPS = {
    "STOP": 0x00, "EQ": 0x14, "BALANCE": 0x31, "CALLDATALOAD": 0x35, "POP": 0x50, "MSTORE": 0x52,
    "SLOAD": 0x54, "SSTORE": 0x55, "JUMPI": 0x57, "JUMPDEST": 0x5B, "DUP1": 0x80, "SWAP1": 0x90,
    "LOG1": 0xA1, "REVERT": 0xFD, "SELFDESTRUCT": 0xFF,
}  # fmt: skip


def _assemble(program: list) -> bytes:
    """Tiny assembler: opcode names, ints (PUSH1), ``"@label"`` (PUSH1 of a label) and ``":label"``."""
    labels: dict[str, int] = {}
    pc = 0
    for item in program:
        if isinstance(item, str) and item.startswith(":"):
            labels[item[1:]] = pc
        else:
            pc += 2 if isinstance(item, int) or item.startswith("@") else 1
    out = bytearray()
    for item in program:
        if isinstance(item, int):
            out += bytes((0x60, item))
        elif item.startswith("@"):
            out += bytes((0x60, labels[item[1:]]))
        elif not item.startswith(":"):
            out.append(_OPS[item])
    return bytes(out)


# calldata: op, a, b (three words). 0: sstore(a, b)  1: log1(sload(a)) with topic sload(a)  2: revert
# 3: selfdestruct(a)  4: sstore(1, balance(a))  else: stop
RUNTIME = _assemble(
    [
        0x20, "CALLDATALOAD", 0x40, "CALLDATALOAD", 0x00, "CALLDATALOAD",
        "DUP1", 0, "EQ", "@store", "JUMPI",
        "DUP1", 1, "EQ", "@load", "JUMPI",
        "DUP1", 2, "EQ", "@revert", "JUMPI",
        "DUP1", 3, "EQ", "@sd", "JUMPI",
        "DUP1", 4, "EQ", "@bal", "JUMPI",
        "STOP",
        ":store", "JUMPDEST", "POP", "SWAP1", "SSTORE", "STOP",
        ":load", "JUMPDEST", "POP", "POP", "SLOAD", "DUP1", 0, "MSTORE", 0x20, 0, "LOG1", "STOP",
        ":revert", "JUMPDEST", 0, "DUP1", "REVERT",
        ":sd", "JUMPDEST", "POP", "POP", "SELFDESTRUCT",
        ":bal", "JUMPDEST", "POP", "POP", "BALANCE", 1, "SSTORE", "STOP",
    ]
)  # fmt: skip
INITCODE = bytes.fromhex(f"60{len(RUNTIME):02x}80600b6000396000f3") + RUNTIME
CONTRACT = created_address(USERS[0], 0)
COINBASE = addr(VALIDATOR_KEYS[0])
TARGETS = [*USERS, CONTRACT, COINBASE, b"\x42" * 20]

word = st.one_of(
    st.integers(0, 5),
    st.sampled_from([int.from_bytes(a, "big") for a in TARGETS]),
    st.integers(0, 2**256 - 1),
)
call = st.tuples(
    st.integers(0, 3),  # sender
    st.sampled_from([0, 0, 1, 1, 2, 3, 4, 9]),  # op
    word,
    word,
    st.sampled_from([0, 0, 5]),  # value
    st.sampled_from([0, 0, 3]),  # gas price
    st.sampled_from(["legacy", "1559"]),
)


def test_contract_is_single_frame() -> None:
    assert not code_flags(RUNTIME) & FLAG_OPENS_FRAMES


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blocks=st.lists(st.lists(call, min_size=1, max_size=10), min_size=1, max_size=3))
def test_single_frame_streams_give_identical_blocks(blocks: list) -> None:
    pair = EnginePair(make_test_genesis())
    try:
        pair.block([sign_tx(USER_KEYS[0], pair.main, nonce=0, gas=300_000, data=INITCODE)])
        for calls in blocks:
            state = pair.main.state_at()
            nonces = [state.get_nonce(u) for u in USERS]
            raws = []
            for sender, op, a, b, value, price, txtype in calls:
                fields: dict = {
                    "nonce": nonces[sender],
                    "gas": 120_000,
                    "to": CONTRACT,
                    "value": value,
                    "data": b"".join(x.to_bytes(32, "big") for x in (op, a, b)),
                }
                if txtype == "legacy":
                    fields["gasPrice"] = price
                else:
                    fields.update(maxFeePerGas=price, maxPriorityFeePerGas=price)
                raws.append(sign_tx(USER_KEYS[sender], pair.main, **fields))
                nonces[sender] += 1
            out = pair.block(raws)
            assert len(out.included) + len(out.rejected) == len(raws)
    finally:
        pair.close()


def test_single_frame_calls_take_the_journal_only_path() -> None:
    pair = EnginePair(make_test_genesis())
    try:
        pair.block([sign_tx(USER_KEYS[0], pair.main, nonce=0, gas=300_000, data=INITCODE)])
        data = b"".join(x.to_bytes(32, "big") for x in (0, 7, 9))  # sstore(7, 9)
        pair.block([sign_tx(USER_KEYS[1], pair.main, nonce=0, gas=120_000, to=CONTRACT, data=data)])
        assert pair.main.engine.stats["journal-only"] >= 1
        assert pair.main.state_at().get_storage(CONTRACT, 7) == 9
    finally:
        pair.close()
