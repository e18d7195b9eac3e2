"""``statedb.decode_account`` decodes exactly what pyrlp decodes, and refuses exactly what pyrlp refuses.

Why: accounts read from the state trie are consensus data (balances, nonces, storage roots feed the next
state root); the direct reader must never accept an encoding pyrlp would refuse or read one differently.
"""

from __future__ import annotations

import rlp
from eth.rlp.accounts import Account
from hypothesis import given, settings
from hypothesis import strategies as st

from co3chain.chain.statedb import decode_account, encode_account, new_account


def _pyrlp(raw: bytes) -> tuple[str, object]:
    try:
        a = rlp.decode(raw, sedes=Account)
    except Exception as exc:  # noqa: BLE001 - the outcome is compared, not handled
        return "error", type(exc)
    return "ok", (a.nonce, a.balance, a.storage_root, a.code_hash)


def _direct(raw: bytes) -> tuple[str, object]:
    try:
        a = decode_account(raw)
    except Exception as exc:  # noqa: BLE001
        return "error", type(exc)
    assert type(a) is Account
    assert rlp.encode(a) == raw  # also what the decoded object re-encodes to (cached or not)
    return "ok", (a.nonce, a.balance, a.storage_root, a.code_hash)


_ints = st.one_of(st.integers(0, 300), st.integers(0, 2**64 - 1), st.integers(0, 2**256 - 1),
                  st.sampled_from([0, 1, 0x7F, 0x80, 0xFF, 0x100, 2**56, 2**64 - 1, 2**255, 2**256 - 1]))


@settings(max_examples=400, deadline=None)
@given(nonce=_ints, balance=_ints, root=st.binary(min_size=32, max_size=32), code=st.binary(min_size=32, max_size=32))
def test_valid_accounts_decode_like_pyrlp(nonce: int, balance: int, root: bytes, code: bytes) -> None:
    raw = rlp.encode([nonce, balance, root, code])
    assert _direct(raw) == _pyrlp(raw)
    if nonce < 2**64:
        assert encode_account(new_account(nonce, balance, root, code)) == raw


@settings(max_examples=1500, deadline=None)
@given(nonce=_ints, balance=_ints, root=st.binary(min_size=32, max_size=32), code=st.binary(min_size=32, max_size=32),
       edits=st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255), st.sampled_from(["set", "ins", "del"])),
                      min_size=1, max_size=3))
def test_mutated_encodings_decode_or_fail_like_pyrlp(nonce: int, balance: int, root: bytes, code: bytes,
                                                      edits: list[tuple[int, int, str]]) -> None:
    raw = bytearray(rlp.encode([nonce, balance, root, code]))
    for pos, byte, op in edits:
        pos %= len(raw) + 1
        if op == "ins":
            raw.insert(pos, byte)
        elif pos < len(raw):
            if op == "set":
                raw[pos] = byte
            else:
                del raw[pos]
    raw = bytes(raw)
    assert _direct(raw) == _pyrlp(raw)


def test_non_canonical_and_odd_shapes_follow_pyrlp() -> None:
    root, code = b"\x11" * 32, b"\x22" * 32
    payload = b"\x00" + b"\x80" + b"\xa0" + root + b"\xa0" + code  # nonce 0 written as 0x00
    for raw in (
        b"\xf8" + bytes((len(payload),)) + payload,
        b"\xf8" + bytes((68,)) + b"\x81\x05" + b"\x80" + b"\xa0" + root + b"\xa0" + code[:31],  # single byte < 0x80 as a string
        rlp.encode([1, 2, root, code, b""]),  # five fields
        rlp.encode([1, 2, root[:31], code]),  # short root
        rlp.encode([2**64, 2, root, code]),  # nonce out of py-evm's range: pyrlp still decodes it
        b"",
    ):
        assert _direct(raw) == _pyrlp(raw)
