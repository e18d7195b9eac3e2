"""Spliced block bytes in QBFT messages: the same bytes, signatures and verdicts as the decoding codec.

Why: PROPOSAL and ROUND_CHANGE carry a whole block. The codec used to decode the block's RLP and re-encode
it on every encode, signature and canonical check; it now splices the block bytes in and, on receipt, takes
them as a slice of the message. These tests compare against the former codec on random messages: the
reference encoder is ``rlp.encode`` over the block's decoded items, and the reference decoder is the
generic ``rlp.decode`` of the whole message (``_BLOCK_PATHS`` emptied), which is what the module did
before.
"""

from __future__ import annotations

from typing import Any

import pytest
import rlp
from eth_utils import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from co3chain.consensus.qbft import messages as m
from tests.consensus.sim import make_keys

SIGNERS = [m.KeySigner(k) for k in make_keys(4, seed=11)]

rlp_items = st.recursive(st.binary(max_size=70), lambda inner: st.lists(inner, max_size=6), max_leaves=40)
#: "[]" means "no block" in ROUND_CHANGE, so blocks hold at least one item
blocks = st.lists(rlp_items, min_size=1, max_size=6).map(rlp.encode)
digests = st.binary(min_size=32, max_size=32)
heights = st.integers(0, m.MAX_HEIGHT)
rounds = st.integers(0, 50)


def _reference_rlp(item: Any) -> Any:
    """The structure the former codec encoded: every spliced item decoded back to nested lists."""
    if isinstance(item, m.RawRLP):
        return rlp.decode(bytes(item), strict=True)
    if isinstance(item, list):
        return [_reference_rlp(child) for child in item]
    return item


@st.composite
def messages(draw: st.DrawFn) -> m.Message:
    height, round_ = draw(heights), draw(rounds)
    signer = SIGNERS[draw(st.integers(0, 3))]
    block = draw(blocks)
    n_prepares = draw(st.integers(0, 4))
    prepares = [m.make_prepare(SIGNERS[i], height, round_, draw(digests)).signed for i in range(n_prepares)]
    kind = draw(st.sampled_from(["proposal", "round_change", "round_change_prepared", "besu26"]))
    if kind == "proposal":
        n_rcs = draw(st.integers(0, 4))
        rcs = [m.make_round_change(SIGNERS[i], height, round_ + 1).signed for i in range(n_rcs)]
        return m.make_proposal(signer, height, round_, block, rcs, prepares)
    if kind == "besu26":
        bal = draw(st.sampled_from([b"\x80", rlp.encode([b"\x01" * 20, []])]))
        payload = m.ProposalPayload(height, round_, block, bal)
        return m.Proposal(m.SignedPayload.create(payload, signer))
    if kind == "round_change":
        return m.make_round_change(signer, height, round_ + 1)
    prepared = m.PreparedMetadata(round_, draw(digests))
    return m.make_round_change(signer, height, round_ + 1, prepared, block, prepares)


def _verdict(code: int, data: bytes) -> Any:
    try:
        message = m.decode_message(code, data)
    except m.MalformedMessageError:
        return "malformed"
    return (message, m.encode_message(message))


def _reference_verdict(code: int, data: bytes) -> Any:
    saved = dict(m._BLOCK_PATHS)
    m._BLOCK_PATHS.clear()  # the generic decoder: what decode_message did before the splicing
    try:
        return _verdict(code, data)
    finally:
        m._BLOCK_PATHS.update(saved)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(message=messages())
def test_encoding_and_signing_hash_equal_the_decoding_codec(message: m.Message) -> None:
    encoded = m.encode_message(message)
    assert encoded == rlp.encode(_reference_rlp(message.to_rlp()))
    signed = message.signed
    reference_hash = keccak(rlp.encode([signed.payload.code, _reference_rlp(signed.payload.to_rlp())]))
    assert m.signing_hash(signed.payload.code, signed.payload.to_rlp()) == reference_hash
    decoded = m.decode_message(message.code, encoded)
    assert decoded == message and decoded.author == message.author
    assert m.encode_message(decoded) == encoded
    if isinstance(decoded, m.Proposal):
        assert decoded.payload.block_items == rlp.decode(decoded.payload.block)
    assert _reference_verdict(message.code, encoded) == (decoded, encoded)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(message=messages(), position=st.integers(0, 10_000), value=st.integers(0, 255), cut=st.booleans())
def test_corrupted_messages_get_the_same_verdict(message: m.Message, position: int, value: int, cut: bool) -> None:
    data = bytearray(m.encode_message(message))
    position %= len(data)
    if cut:
        del data[position:]
    else:
        data[position] = value
    assert _verdict(message.code, bytes(data)) == _reference_verdict(message.code, bytes(data))


@pytest.mark.parametrize(
    "block",
    [
        b"\xc1\x81\x05",  # single byte written as a one-byte string: not canonical
        b"\xf8\x02\x01\x02",  # long-form length for a short list
        b"\xc3\x01\x02",  # list shorter than its prefix says
    ],
)
def test_non_canonical_embedded_block_is_malformed(block: bytes) -> None:
    payload_item = [1, 0, m.RawRLP(block)]
    sig = SIGNERS[0].sign(keccak(m.encode_rlp([m.PROPOSAL, payload_item])))
    data = m.encode_rlp([[payload_item, sig], [[], []]])
    with pytest.raises(m.MalformedMessageError):
        m.decode_message(m.PROPOSAL, data)
    assert _reference_verdict(m.PROPOSAL, data) == "malformed"


def test_local_block_must_be_one_rlp_list() -> None:
    for junk in (b"", b"\x80", b"\xc2\x01", rlp.encode([b"a"]) + b"\x00"):
        with pytest.raises(m.MalformedMessageError):
            m.make_proposal(SIGNERS[0], 1, 0, junk)
