"""QBFT message codecs: Besu test vectors, round trips, signature rules and strict rejection of bad input."""

from __future__ import annotations

import pytest
import rlp
from eth_utils import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from co3chain.consensus.qbft import messages as m
from tests.consensus.sim import FakeBlock, address_of, make_keys

PREPARE_VECTOR = bytes.fromhex(
    "f867e30180a0641c42a09c96374e2fb362ecd573d24e832e6a2b4ef155257ab362415a0b88a4b841443dbefb34b6ad272d12214de75d"
    "723fe6ab6d544309b99c162c9617ccd7f54357e9c54d04fb951a394903212392db407c0d6939401afdb15fc0e47aa77471be01"
)
ROUND_CHANGE_VECTOR = bytes.fromhex(
    "f84bf847c30180c0b8418c3c38d9e33b66d57523d4609bee0edfacdee3dfbcdce6e16bea788e9aed7839648ebdeda0c441535a2133"
    "500de53fe3aaf4baf6a754bcf834c839f49754b55601c0c0"
)

KEYS = make_keys(3, seed=7)
SIGNERS = [m.KeySigner(k) for k in KEYS]
DIGEST = keccak(b"block")


def test_prepare_vector_decodes_recovers_signer_and_reencodes() -> None:
    message = m.decode_message(m.PREPARE, PREPARE_VECTOR)
    assert isinstance(message, m.Prepare)
    assert (message.payload.height, message.payload.round) == (1, 0)
    assert message.payload.digest.hex() == "641c42a09c96374e2fb362ecd573d24e832e6a2b4ef155257ab362415a0b88a4"
    # The signature covers keccak(RLP([0x13, payload])): recovering the documented signer proves it.
    assert message.author.hex() == "fd8fcfbe985499a465699f51671a0f78f39ef47f"
    assert m.encode_message(message) == PREPARE_VECTOR


def test_round_change_vector_decodes_and_reencodes() -> None:
    message = m.decode_message(m.ROUND_CHANGE, ROUND_CHANGE_VECTOR)
    assert isinstance(message, m.RoundChange)
    assert message.payload == m.RoundChangePayload(1, 0, None)
    assert message.prepared_block is None and message.prepares == ()
    assert len(message.author) == 20
    assert m.encode_message(message) == ROUND_CHANGE_VECTOR


def test_signing_hash_is_keccak_of_code_and_payload() -> None:
    payload = m.PreparePayload(5, 2, DIGEST)
    expected = keccak(rlp.encode([0x13, [5, 2, DIGEST]]))
    assert m.signing_hash(m.PREPARE, payload.to_rlp()) == expected
    signed = m.SignedPayload.create(payload, SIGNERS[0])
    assert signed.author == SIGNERS[0].address == address_of(KEYS[0])


def _sample_messages() -> list[m.Message]:
    block = FakeBlock(3, 1, SIGNERS[0].address, keccak(b"parent"), b"txs").encoded
    prepares = [m.make_prepare(s, 3, 0, DIGEST).signed for s in SIGNERS]
    prepared = m.PreparedMetadata(0, DIGEST)
    round_changes = [m.make_round_change(s, 3, 1, prepared).signed for s in SIGNERS]
    return [
        m.make_prepare(SIGNERS[0], 3, 0, DIGEST),
        m.make_commit(SIGNERS[1], 3, 0, DIGEST, SIGNERS[1].sign(DIGEST)),
        m.make_round_change(SIGNERS[2], 3, 1),
        m.make_round_change(SIGNERS[2], 3, 1, prepared, block, prepares),
        m.make_proposal(SIGNERS[0], 3, 0, block),
        m.make_proposal(SIGNERS[1], 3, 1, block, round_changes, prepares),
    ]


@pytest.mark.parametrize("index", range(6))
def test_round_trip(index: int) -> None:
    message = _sample_messages()[index]
    encoded = m.encode_message(message)
    decoded = m.decode_message(message.code, encoded)
    assert decoded == message
    assert decoded.author == message.author
    assert m.encode_message(decoded) == encoded


def test_proposal_layout_matches_besu() -> None:
    proposal = _sample_messages()[5]
    outer = rlp.decode(m.encode_message(proposal))
    signed, justification = outer
    (height, round_, block), signature = signed
    assert (height, round_) == (b"\x03", b"\x01") and len(signature) == 65
    assert isinstance(block, list) and rlp.encode(block) == proposal.payload.block
    round_changes, prepares = justification
    assert len(round_changes) == 3 and len(prepares) == 3
    (rc_height, rc_round, metadata), _ = round_changes[0]
    assert metadata == [b"", DIGEST]  # [preparedRound, preparedDigest], round 0 encodes as empty string


def _mutate(data: bytes, structure_edit) -> bytes:  # type: ignore[no-untyped-def]
    item = rlp.decode(data)
    structure_edit(item)
    return rlp.encode(item)


def _resign(payload_item: list, code: int) -> list:  # type: ignore[type-arg]
    return [payload_item, SIGNERS[0].sign(keccak(rlp.encode([code, payload_item])))]


BAD_INPUTS = {
    "truncated": (m.PREPARE, PREPARE_VECTOR[:-1]),
    "trailing byte": (m.PREPARE, PREPARE_VECTOR + b"\x00"),
    "unknown code": (0x16, PREPARE_VECTOR),
    "not a list": (m.PREPARE, rlp.encode(b"abc")),
    "extra field": (m.PREPARE, rlp.encode(_resign([1, 0, DIGEST, b""], m.PREPARE))),
    "short digest": (m.PREPARE, rlp.encode(_resign([1, 0, DIGEST[:31]], m.PREPARE))),
    "leading zero height": (m.PREPARE, rlp.encode(_resign([b"\x00\x01", 0, DIGEST], m.PREPARE))),
    "height too large": (m.PREPARE, rlp.encode(_resign([2**64, 0, DIGEST], m.PREPARE))),
    "round too large": (m.PREPARE, rlp.encode(_resign([1, 2**31, DIGEST], m.PREPARE))),
    "short signature": (m.PREPARE, rlp.encode([[1, 0, DIGEST], b"\x01" * 64])),
    "bad recovery id": (m.PREPARE, PREPARE_VECTOR[:-1] + b"\x1b"),
    "zero signature": (m.PREPARE, rlp.encode([[1, 0, DIGEST], b"\x00" * 65])),
    # the inner 35-byte list written with a long-form length prefix (0xf823 instead of 0xe3)
    "non-canonical length": (m.PREPARE, b"\xf8\x68\xf8\x23" + PREPARE_VECTOR[3:]),
    "commit short seal": (m.COMMIT, rlp.encode(_resign([1, 0, DIGEST, b"\x01" * 64], m.COMMIT))),
    "proposal block not a list": (m.PROPOSAL, rlp.encode([_resign([1, 0, b"blk"], m.PROPOSAL), [[], []]])),
    "round change block is a string": (
        m.ROUND_CHANGE,
        rlp.encode([_resign([1, 1, []], m.ROUND_CHANGE), b"x", []]),
    ),
    "metadata wrong arity": (m.ROUND_CHANGE, rlp.encode([_resign([1, 1, [0]], m.ROUND_CHANGE), [], []])),
    "justification wrong arity": (m.PROPOSAL, rlp.encode([_resign([1, 0, [b"a"]], m.PROPOSAL), [[]]])),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_malformed_input_raises_specific_error(name: str) -> None:
    code, data = BAD_INPUTS[name]
    with pytest.raises(m.MalformedMessageError):
        m.decode_message(code, data)


def test_high_s_signature_is_rejected() -> None:
    message = m.decode_message(m.PREPARE, PREPARE_VECTOR)
    sig = message.signed.signature
    r, s, v = sig[:32], int.from_bytes(sig[32:64], "big"), sig[64]
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    flipped = r + (n - s).to_bytes(32, "big") + bytes([v ^ 1])
    data = rlp.encode([message.payload.to_rlp(), flipped])
    with pytest.raises(m.MalformedMessageError, match="high s"):
        m.decode_message(m.PREPARE, data)


def test_size_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(m, "MAX_MESSAGE_BYTES", 100)
    with pytest.raises(m.MalformedMessageError, match="exceeds"):
        m.decode_message(m.PREPARE, PREPARE_VECTOR)
    monkeypatch.setattr(m, "MAX_MESSAGE_BYTES", 1 << 20)
    monkeypatch.setattr(m, "MAX_JUSTIFICATION_ITEMS", 2)
    with pytest.raises(m.MalformedMessageError, match="exceed"):
        m.decode_message(m.PROPOSAL, m.encode_message(_sample_messages()[5]))


def test_tampered_payload_changes_author() -> None:
    """A signature is bound to its payload: altering the digest yields a different (or no) author."""
    message = m.make_prepare(SIGNERS[0], 1, 0, DIGEST)
    forged = rlp.encode([[1, 0, keccak(b"other")], message.signed.signature])
    decoded = m.decode_message(m.PREPARE, forged)
    assert decoded.author != SIGNERS[0].address


# ------------------------------------------------------------------ fuzzing: only one error type escapes

_VALID = [(msg.code, m.encode_message(msg)) for msg in _sample_messages()] + [
    (m.PREPARE, PREPARE_VECTOR),
    (m.ROUND_CHANGE, ROUND_CHANGE_VECTOR),
]


def _decode_or_malformed(code: int, data: bytes) -> None:
    try:
        decoded = m.decode_message(code, data)
    except m.MalformedMessageError:
        return
    assert m.encode_message(decoded) == data  # anything accepted is canonical


@settings(max_examples=300, deadline=None)
@given(code=st.sampled_from(sorted(m.MESSAGE_CODES)), data=st.binary(max_size=300))
def test_random_bytes_decode_or_raise_malformed(code: int, data: bytes) -> None:
    _decode_or_malformed(code, data)


@settings(max_examples=300, deadline=None)
@given(which=st.integers(0, len(_VALID) - 1), position=st.integers(0, 10_000), value=st.integers(0, 255))
def test_corrupted_valid_messages_decode_or_raise_malformed(which: int, position: int, value: int) -> None:
    code, data = _VALID[which]
    index = position % len(data)
    corrupted = data[:index] + bytes([value]) + data[index + 1 :]
    _decode_or_malformed(code, corrupted)


# -- Besu ≥ 26.1 layout: a block-access-list item in PROPOSAL payloads and ROUND_CHANGE messages -------
def _besu_26_proposal(bal: object) -> bytes:
    """A PROPOSAL as Besu 26.1 writes it: the BAL is the 4th item of the *signed* payload."""
    block = rlp.decode(FakeBlock(3, 0, SIGNERS[0].address, keccak(b"parent"), b"txs").encoded)
    return rlp.encode([_resign([3, 0, block, bal], m.PROPOSAL), [[], []]])


@pytest.mark.parametrize("bal", [b"", [[b"\x11" * 20, [], [], [], [], []]]], ids=["null-slot", "list"])
def test_besu_26_proposal_with_block_access_list_decodes(bal: object) -> None:
    data = _besu_26_proposal(bal)
    message = m.decode_message(m.PROPOSAL, data)
    assert isinstance(message, m.Proposal)
    assert message.author == SIGNERS[0].address  # the signature covers the BAL item: kept byte-exact
    assert message.payload.height == 3 and message.payload.access_list == rlp.encode(bal)
    assert m.encode_message(message) == data
    legacy = m.make_proposal(SIGNERS[0], 3, 0, message.payload.block)
    assert len(rlp.decode(m.encode_message(legacy))[0][0]) == 3  # we still send the pre-26.1 layout


def test_besu_26_round_change_with_block_access_list_decodes() -> None:
    signed = _resign([3, 1, []], m.ROUND_CHANGE)
    data = rlp.encode([signed, [], b"", []])  # [signed, no block, null BAL slot, no prepares]
    message = m.decode_message(m.ROUND_CHANGE, data)
    assert isinstance(message, m.RoundChange)
    assert message.payload == m.RoundChangePayload(3, 1, None) and message.access_list == b"\x80"
    assert m.encode_message(message) == data


@pytest.mark.parametrize(
    ("code", "data"),
    [
        (m.ROUND_CHANGE, rlp.encode([_resign([3, 1, []], m.ROUND_CHANGE), [], b"\x01", []])),  # BAL not list/null
        (m.PROPOSAL, _besu_26_proposal(b"\x05")),
        (m.ROUND_CHANGE, rlp.encode([_resign([3, 1, []], m.ROUND_CHANGE), [], b"", [], []])),  # 5 items
    ],
)
def test_bad_block_access_list_is_rejected(code: int, data: bytes) -> None:
    with pytest.raises(m.MalformedMessageError):
        m.decode_message(code, data)
