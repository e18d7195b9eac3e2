"""The direct transaction decoder (co3chain/chain/txdecode.py) and the validate() shortcut
(co3chain/chain/txrules.py) against py-evm itself, on random, boundary, mutated and non-canonical inputs.

Contract under test: whenever ``TxDecoder.decode(raw)`` returns, py-evm's decoder accepts ``raw`` too
and builds an identical object (class, fields, cached encoding, hash, encoding, equality) and the
signing message is py-evm's; whenever py-evm would refuse, the fast decoder returns ``None`` (the pool
then asks py-evm, which words the refusal). Well-formed legacy / EIP-2930 / EIP-1559 inputs always take
the fast path (otherwise it would be dead code).
"""

from __future__ import annotations

from typing import Any

import rlp
from eth_hash.auto import keccak
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from co3chain.chain.txdecode import TxDecoder
from co3chain.chain.txrules import HALF_N, NONCE_LIMIT, SECP256K1_N, UINT256_MAX, passes_validate
from co3chain.chain.vm import QbftVM
from co3chain.node.rawtx import check_raw_transaction

BUILDER = QbftVM.get_transaction_builder()
DECODER = TxDecoder(BUILDER)

BOUNDARY_INTS = [
    0, 1, 0x7F, 0x80, 0xFF, 0x100, 21_000, 2**64 - 2, NONCE_LIMIT, 2**64, HALF_N - 1, HALF_N, HALF_N + 1,
    SECP256K1_N - 1, SECP256K1_N, SECP256K1_N + 1, UINT256_MAX, UINT256_MAX + 1, 2**300,
]
uints = st.one_of(
    st.sampled_from(BOUNDARY_INTS), st.integers(0, 300), st.integers(0, 2**70), st.integers(0, 2**260)
)
addresses = st.one_of(st.just(b""), st.binary(min_size=20, max_size=20))
datas = st.one_of(st.binary(max_size=8), st.binary(max_size=200))
legacy_vs = st.one_of(st.integers(0, 40), st.integers(0, 2**70), st.sampled_from([2709, 2710, UINT256_MAX + 1]))
y_parities = st.one_of(st.integers(0, 3), st.sampled_from([255, 256, 2**70]))
access_lists = st.lists(
    st.tuples(
        st.one_of(addresses, st.just(b"\x01" * 20)),
        st.lists(st.one_of(st.integers(0, 3), st.integers(0, UINT256_MAX)), max_size=3),
    ),
    max_size=3,
)


def _al(access_list: list[tuple[bytes, list[int]]]) -> list[Any]:
    return [[a, [k.to_bytes(32, "big") for k in keys]] for a, keys in access_list]


@st.composite
def tx_fields(draw: Any) -> bytes:
    """A canonically encoded legacy, EIP-2930 or EIP-1559 transaction with arbitrary field values
    (signatures need not verify: decoding does not check them)."""
    kind = draw(st.sampled_from([0, 1, 2]))
    if kind == 0:
        fields = [draw(uints), draw(uints), draw(uints), draw(addresses), draw(uints), draw(datas),
                  draw(legacy_vs), draw(uints), draw(uints)]
        return rlp.encode(fields)
    fee = [draw(uints)] if kind == 1 else [draw(uints), draw(uints)]
    fields = [draw(uints), draw(uints), *fee, draw(uints), draw(addresses), draw(uints), draw(datas),
              _al(draw(access_lists)), draw(y_parities), draw(uints), draw(uints)]
    return bytes((kind,)) + rlp.encode(fields)


def _py_evm(raw: bytes) -> tuple[Any, Exception | None]:
    try:
        return BUILDER.decode(raw), None
    except Exception as exc:  # noqa: BLE001 - any refusal counts
        return None, exc


def _state(obj: Any) -> Any:
    """Everything an rlp.Serializable instance holds, recursively, with types."""
    if isinstance(obj, rlp.Serializable):
        return (type(obj), tuple(_state(getattr(obj, a)) for a in obj._meta.field_attrs), obj._cached_rlp)
    if isinstance(obj, tuple):
        return (tuple, tuple(_state(x) for x in obj))
    return (type(obj), obj)


def assert_same(raw: bytes) -> None:
    fast = DECODER.decode(raw)
    # the recovery child's signing-only parse gives what ``decode`` gives, and declines exactly as it does
    parts = DECODER.signing_parts(raw)
    if fast is None or fast.signing_message is None:
        assert parts is None
    else:
        assert parts == (fast.hash, fast.signing_message, fast.recovery_id, fast.tx.r, fast.tx.s)
    slow, error = _py_evm(raw)
    if fast is None:
        return
    assert error is None, f"fast path accepted what py-evm refuses: {error!r}"
    check_raw_transaction(raw)  # the shape checks the slow path runs first accept it too
    a, b = fast.tx, slow
    assert type(a) is type(b)
    assert a == b and hash(a) == hash(b)
    assert fast.hash == b.hash == a.hash == keccak(raw)
    assert a.encode() == b.encode() == raw
    if b.type_id is None:
        assert _state(a) == _state(b)
        assert set(vars(a)) == set(vars(b))
        v = b.v
        if v in (27, 28) or v >= 37:
            assert fast.signing_message == b.get_message_for_signing()
            assert fast.recovery_id == (v - 27 if v in (27, 28) else (v - 35) % 2)
        else:
            assert fast.signing_message is None
    else:
        assert a.type_id == b.type_id
        assert _state(a._inner) == _state(b._inner)
        assert set(vars(a)) == set(vars(b)) and set(vars(a._inner)) == set(vars(b._inner))
        assert fast.signing_message == b.get_message_for_signing()
        assert fast.recovery_id == b.y_parity


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tx_fields())
def test_valid_encodings_take_the_fast_path_and_equal_py_evm(raw: bytes) -> None:
    slow, error = _py_evm(raw)
    fast = DECODER.decode(raw)
    if error is None:
        assert fast is not None, "a well-formed transaction missed the fast path"
    else:
        assert fast is None
    assert_same(raw)


@st.composite
def mutated(draw: Any) -> bytes:
    raw = bytearray(draw(tx_fields()))
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["flip", "delete", "insert", "truncate", "append", "set"]))
        i = draw(st.integers(0, max(len(raw) - 1, 0)))
        if op == "flip" and raw:
            raw[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and raw:
            raw[i] = draw(st.sampled_from([0x00, 0x7F, 0x80, 0x81, 0xB7, 0xB8, 0xBF, 0xC0, 0xF7, 0xF8, 0xFF]))
        elif op == "delete":
            del raw[i : i + draw(st.integers(1, 4))]
        elif op == "insert":
            raw[i:i] = draw(st.binary(min_size=1, max_size=3))
        elif op == "truncate":
            del raw[i:]
        else:
            raw += draw(st.binary(min_size=1, max_size=3))
    return bytes(raw)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_inputs_equal_py_evm_or_decline(raw: bytes) -> None:
    assert_same(raw)


def _encode_loose(item: Any, draw: Any) -> bytes:
    """RLP with randomly non-canonical headers (single bytes as 0x81xx, long forms for short lengths,
    length prefixes with leading zeros) -- strict pyrlp refuses each of these."""
    if isinstance(item, list):
        payload, base = b"".join(_encode_loose(x, draw) for x in item), 0xC0
    else:
        payload, base = item, 0x80
        if len(payload) == 1 and payload[0] < 0x80 and draw(st.integers(0, 3)) > 0:
            return payload
    n = len(payload)
    style = draw(st.sampled_from(["short", "long", "long0"]))
    if style == "short" and n < 56:
        return bytes((base + n,)) + payload
    ln = n.to_bytes(max(1, (n.bit_length() + 7) // 8), "big")
    if style == "long0":
        ln = b"\x00" + ln
    return bytes((base + 55 + len(ln),)) + ln + payload


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tx_fields(), st.data())
def test_non_canonical_encodings_equal_py_evm_or_decline(raw: bytes, data: Any) -> None:
    typed = raw[0] < 0x80
    items = rlp.decode(raw[1:] if typed else raw)
    # optionally give an integer field a leading zero byte (not minimal: big_endian_int refuses it)
    if data.draw(st.booleans()):
        i = data.draw(st.integers(0, len(items) - 1))
        if isinstance(items[i], bytes):
            items[i] = b"\x00" + items[i]
    loose = _encode_loose(items, data.draw)
    assert_same(raw[:1] + loose if typed else loose)


def test_signed_transactions_of_each_type() -> None:
    from eth_account import Account

    key = Account.from_key(b"\x42" * 32)
    base = {"nonce": 3, "gas": 60_000, "to": "0x" + "11" * 20, "value": 5, "data": b"\x00\x01", "chainId": 1337}
    raws = [
        key.sign_transaction({**base, "gasPrice": 7}).raw_transaction,
        key.sign_transaction({**base, "gasPrice": 7, "accessList": [
            {"address": "0x" + "22" * 20, "storageKeys": ["0x" + "00" * 31 + "01"]}]}).raw_transaction,
        key.sign_transaction({**base, "maxFeePerGas": 9, "maxPriorityFeePerGas": 2}).raw_transaction,
    ]
    for raw in map(bytes, raws):
        fast = DECODER.decode(raw)
        assert fast is not None
        assert_same(raw)
        assert fast.tx.sender == bytes.fromhex(key.address[2:])  # py-evm recovers the same key


def test_blob_and_unknown_types_are_left_to_py_evm() -> None:
    assert DECODER.decode(b"\x03" + rlp.encode([b""] * 14)) is None
    assert DECODER.decode(b"\x04" + rlp.encode([b""] * 10)) is None
    assert DECODER.decode(b"") is None


# -- validate() shortcut --------------------------------------------------------------------------------


def _primed(raw: bytes) -> Any:
    fast = DECODER.decode(raw)
    assume(fast is not None)
    tx = fast.tx
    target = tx._inner if tx.type_id is not None else tx
    target.__dict__["check_signature_validity"] = lambda: None  # as SenderCache leaves a recovered tx
    return tx


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(tx_fields(), st.integers(0, 100_000))
def test_passes_validate_iff_py_evm_validate_passes(raw: bytes, gas_delta: int) -> None:
    tx = _primed(raw)
    try:
        tx.validate()
        expected = True
    except Exception:  # noqa: BLE001 - ValidationError and friends
        expected = False
    assert passes_validate(tx, tx.intrinsic_gas) is expected


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from([0, 1, 2]),
    st.integers(0, 3_000),
    st.sampled_from([b"", b"\x01" * 20]),
    st.binary(max_size=40),
    st.lists(st.tuples(st.sampled_from([b"", b"\x02" * 20]), st.lists(st.integers(0, 5), max_size=2)), max_size=2),
)
def test_passes_validate_at_the_intrinsic_gas_boundary(
    kind: int, gas_offset: int, to: bytes, data: bytes, access_list: list[tuple[bytes, list[int]]]
) -> None:
    """Gas exactly around the intrinsic cost (the random test above rarely lands there)."""
    zeros = data.count(0)
    intrinsic = 21_000 + zeros * 4 + (len(data) - zeros) * 16 + (32_000 if to == b"" else 0)
    if kind:
        intrinsic += sum(2_400 + 1_900 * len(keys) for _, keys in access_list)
    gas = max(0, intrinsic - 1_500 + gas_offset)
    r, s = 5, 7
    if kind == 0:
        raw = rlp.encode([1, 1, gas, to, 0, data, 37, r, s])
    else:
        fee = [1] if kind == 1 else [2, 1]
        raw = bytes((kind,)) + rlp.encode([1337, 1, *fee, gas, to, 0, data, _al(access_list), 0, r, s])
    tx = _primed(raw)
    try:
        tx.validate()
        expected = True
    except Exception:  # noqa: BLE001
        expected = False
    assert passes_validate(tx, tx.intrinsic_gas) is expected
