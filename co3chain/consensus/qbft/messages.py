"""QBFT wire messages (istanbul/100 codes 0x12–0x15): typed payloads, signing and strict RLP codecs.

Layout (as Besu's ``qbft-core`` encodes it; Besu/GoQuorum nodes use the same bytes):

* every signed payload is ``RLP([payload, sig65])``; ``sig65 = r ‖ s ‖ v`` with ``v ∈ {0, 1}`` and the
  signature covers ``keccak(RLP([code, payload]))`` (Besu ``QbftPayload.hashForSignature``);
* PREPARE ``0x13``: signed ``[height, round, digest]``;
* COMMIT ``0x14``: signed ``[height, round, digest, commitSeal65]``;
* ROUND_CHANGE ``0x15``: ``[signed [height, round, [preparedRound, preparedDigest] | []], preparedBlock | [],
  [signed prepares…]]``;
* PROPOSAL ``0x12``: ``[signed [height, round, block], [[signed round-change payloads…], [signed prepares…]]]``.

Besu ≥ 26.1 adds a block-access-list (BAL) item: last in the signed PROPOSAL payload
(``[height, round, block, bal]``) and third in ROUND_CHANGE (``[signed, block | [], bal, [prepares…]]``);
an absent BAL is written as the empty string ``0x80``. Both layouts are decoded; the item is kept as raw
RLP (``access_list``) so the message re-encodes byte-identically — the proposal's signature covers it.
co3chain itself sends the pre-26.1 layout, which Besu 26.1 still reads.

The ``digest`` of a block in round ``r`` is the block's *commit-seal hash* for ``r`` (Besu decodes proposal
blocks in ``COMMITTED_SEAL`` hash mode), so the commit seal of a COMMIT signs exactly its digest.

Blocks are carried as opaque, already RLP-encoded items (``bytes`` holding one complete RLP list): this module
never interprets them, the host's block codec does. They are *spliced* into a message's bytes, never decoded
and re-encoded (a 500-transaction block took ~7 ms per encode that way; it is the largest item of every
PROPOSAL): :func:`encode_message` and :func:`signing_hash` write exactly the bytes ``rlp.encode`` wrote for
the decoded block, because a canonical RLP item re-encodes to itself. On receipt the block is decoded once,
generically, to check that it is canonical RLP; that structure is kept on the payload (``block_items``) so
the host's block codec need not parse the bytes again. Decoding is strict (canonical RLP only, exact field
counts, bounded sizes, minimal integers, low-``s`` signatures) and every failure raises
:class:`MalformedMessageError`, so a node can penalise the peer that sent it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Generic, Protocol, TypeVar

import rlp
from eth_keys import keys
from eth_keys.exceptions import BadSignature, ValidationError
from eth_utils import keccak
from rlp.codec import consume_length_prefix, length_prefix

PROPOSAL = 0x12
PREPARE = 0x13
COMMIT = 0x14
ROUND_CHANGE = 0x15
MESSAGE_CODES = frozenset({PROPOSAL, PREPARE, COMMIT, ROUND_CHANGE})

#: Whole-message size limit; a proposal carries a block, so this bounds the block size on the wire too.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
#: Upper bound on piggy-backed round changes / prepares (one per validator; no consortium is this big).
MAX_JUSTIFICATION_ITEMS = 1024
#: Heights are uint64 in Besu (``writeLongScalar``), rounds are Java ints (``writeIntScalar``).
MAX_HEIGHT = 2**63 - 1
MAX_ROUND = 2**31 - 1

_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_HALF_N = _SECP256K1_N // 2


class MalformedMessageError(ValueError):
    """Raised for any QBFT message that is not byte-exact, canonical and within limits."""


# ---------------------------------------------------------------------------------------------- payloads


@dataclass(frozen=True)
class PreparedMetadata:
    """The round in which the sender became prepared and the digest it prepared."""

    round: int
    digest: bytes

    def to_rlp(self) -> list[Any]:
        return [self.round, self.digest]


@dataclass(frozen=True)
class PreparePayload:
    """PREPARE: the sender accepted the proposal with ``digest`` for ``(height, round)``."""

    height: int
    round: int
    digest: bytes
    code: int = field(default=PREPARE, init=False, repr=False)

    def to_rlp(self) -> list[Any]:
        return [self.height, self.round, self.digest]


@dataclass(frozen=True)
class CommitPayload:
    """COMMIT: the sender saw a prepare quorum; ``commit_seal`` signs ``digest`` (the commit-seal hash)."""

    height: int
    round: int
    digest: bytes
    commit_seal: bytes
    code: int = field(default=COMMIT, init=False, repr=False)

    def to_rlp(self) -> list[Any]:
        return [self.height, self.round, self.digest, self.commit_seal]


@dataclass(frozen=True)
class RoundChangePayload:
    """ROUND_CHANGE: the sender wants ``round``; ``prepared`` is its latest prepared certificate summary."""

    height: int
    round: int
    prepared: PreparedMetadata | None
    code: int = field(default=ROUND_CHANGE, init=False, repr=False)

    def to_rlp(self) -> list[Any]:
        return [self.height, self.round, self.prepared.to_rlp() if self.prepared else []]


@dataclass(frozen=True)
class ProposalPayload:
    """PROPOSAL body: ``block`` is the RLP encoding of the proposed block (one RLP list item)."""

    height: int
    round: int
    block: bytes
    #: Besu ≥ 26.1 block-access-list item as raw RLP (``b"\x80"`` = none); ``None``: the 3-item layout.
    access_list: bytes | None = None
    #: The block as generic RLP items (nested lists of bytes) when it was decoded from the wire, so the host
    #: can build its block without parsing ``block`` again; not part of the message's identity.
    block_items: list[Any] | None = field(default=None, compare=False, repr=False)
    code: int = field(default=PROPOSAL, init=False, repr=False)

    def to_rlp(self) -> list[Any]:
        items = [self.height, self.round, _raw_item(self.block)]
        if self.access_list is not None:
            items.append(_raw_access_list(self.access_list))
        return items


Payload = PreparePayload | CommitPayload | RoundChangePayload | ProposalPayload
P = TypeVar("P", PreparePayload, CommitPayload, RoundChangePayload, ProposalPayload)


# ------------------------------------------------------------------------------------------ signatures


def signing_hash(code: int, payload_rlp: Sequence[Any]) -> bytes:
    """keccak(RLP([code, payload])) — what the author signs (Besu ``hashForSignature``)."""
    return keccak(encode_rlp([code, payload_rlp]))


def sign_hash(private_key: bytes, msg_hash: bytes) -> bytes:
    """Sign a 32-byte hash; returns 65 bytes r‖s‖v with v ∈ {0, 1} (coincurve through eth_keys)."""
    return keys.PrivateKey(private_key).sign_msg_hash(msg_hash).to_bytes()


class Signer(Protocol):
    """Signs 32-byte hashes for one validator; lets a node keep the key in a keystore or an HSM."""

    @property
    def address(self) -> bytes: ...

    def sign(self, msg_hash: bytes) -> bytes: ...


class KeySigner:
    """A :class:`Signer` holding a raw secp256k1 private key in memory."""

    def __init__(self, private_key: bytes) -> None:
        self._key = keys.PrivateKey(private_key)
        self.address: bytes = self._key.public_key.to_canonical_address()

    def sign(self, msg_hash: bytes) -> bytes:
        return self._key.sign_msg_hash(msg_hash).to_bytes()


def recover_address(msg_hash: bytes, signature: bytes) -> bytes:
    """Recover the 20-byte signer of ``msg_hash``; rejects malformed or high-``s`` signatures."""
    if len(signature) != 65:
        raise MalformedMessageError(f"signature must be 65 bytes, got {len(signature)}")
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    if signature[64] not in (0, 1):
        raise MalformedMessageError(f"signature recovery id must be 0 or 1, got {signature[64]}")
    if not (0 < r < _SECP256K1_N and 0 < s <= _HALF_N):
        raise MalformedMessageError("signature r/s out of range (or non-canonical high s)")
    try:
        public_key = keys.Signature(signature).recover_public_key_from_msg_hash(msg_hash)
    except (BadSignature, ValidationError) as exc:
        raise MalformedMessageError(f"signature does not recover: {exc}") from exc
    return public_key.to_canonical_address()


@dataclass(frozen=True)
class SignedPayload(Generic[P]):
    """A payload with its author's signature; ``author`` is recovered once and cached."""

    payload: P
    signature: bytes

    @classmethod
    def create(cls, payload: P, signer: Signer) -> SignedPayload[P]:
        return cls(payload, signer.sign(signing_hash(payload.code, payload.to_rlp())))

    @cached_property
    def author(self) -> bytes:
        return recover_address(signing_hash(self.payload.code, self.payload.to_rlp()), self.signature)

    def to_rlp(self) -> list[Any]:
        return [self.payload.to_rlp(), self.signature]


# ------------------------------------------------------------------------------------ wire messages


@dataclass(frozen=True)
class Prepare:
    """PREPARE message (0x13)."""

    signed: SignedPayload[PreparePayload]
    code: int = field(default=PREPARE, init=False, repr=False)

    @property
    def author(self) -> bytes:
        return self.signed.author

    @property
    def payload(self) -> PreparePayload:
        return self.signed.payload

    def to_rlp(self) -> list[Any]:
        return self.signed.to_rlp()


@dataclass(frozen=True)
class Commit:
    """COMMIT message (0x14)."""

    signed: SignedPayload[CommitPayload]
    code: int = field(default=COMMIT, init=False, repr=False)

    @property
    def author(self) -> bytes:
        return self.signed.author

    @property
    def payload(self) -> CommitPayload:
        return self.signed.payload

    def to_rlp(self) -> list[Any]:
        return self.signed.to_rlp()


@dataclass(frozen=True)
class RoundChange:
    """ROUND_CHANGE message (0x15) with the prepared block and prepare certificate, if any."""

    signed: SignedPayload[RoundChangePayload]
    prepared_block: bytes | None = None
    prepares: tuple[SignedPayload[PreparePayload], ...] = ()
    #: Besu ≥ 26.1 block-access-list item as raw RLP (``b"\x80"`` = none); ``None``: the 3-item layout.
    access_list: bytes | None = None
    code: int = field(default=ROUND_CHANGE, init=False, repr=False)

    @property
    def author(self) -> bytes:
        return self.signed.author

    @property
    def payload(self) -> RoundChangePayload:
        return self.signed.payload

    def to_rlp(self) -> list[Any]:
        block = _raw_item(self.prepared_block) if self.prepared_block is not None else []
        prepares = [p.to_rlp() for p in self.prepares]
        if self.access_list is None:
            return [self.signed.to_rlp(), block, prepares]
        return [self.signed.to_rlp(), block, _raw_access_list(self.access_list), prepares]


@dataclass(frozen=True)
class Proposal:
    """PROPOSAL message (0x12) with its round-change/prepare justification (empty in round 0)."""

    signed: SignedPayload[ProposalPayload]
    round_changes: tuple[SignedPayload[RoundChangePayload], ...] = ()
    prepares: tuple[SignedPayload[PreparePayload], ...] = ()
    code: int = field(default=PROPOSAL, init=False, repr=False)

    @property
    def author(self) -> bytes:
        return self.signed.author

    @property
    def payload(self) -> ProposalPayload:
        return self.signed.payload

    def to_rlp(self) -> list[Any]:
        return [
            self.signed.to_rlp(),
            [[rc.to_rlp() for rc in self.round_changes], [p.to_rlp() for p in self.prepares]],
        ]


Message = Proposal | Prepare | Commit | RoundChange


def encode_message(message: Message) -> bytes:
    """RLP bytes of ``message`` (the wire body; the code travels separately as ``message.code``)."""
    return encode_rlp(message.to_rlp())


class RawRLP(bytes):
    """Bytes that already are one complete RLP item: :func:`encode_rlp` writes them as they are."""

    __slots__ = ()


def encode_rlp(item: Any) -> bytes:
    """``rlp.encode(item)`` where :class:`RawRLP` leaves are spliced in verbatim.

    Equal to ``rlp.encode`` of the same structure with every ``RawRLP`` replaced by its decoded items
    (a canonical RLP item re-encodes to itself); proven on random messages in tests/consensus.
    """
    if isinstance(item, RawRLP):
        return bytes(item)
    if isinstance(item, list):
        body = b"".join([encode_rlp(child) for child in item])
        return length_prefix(len(body), 0xC0) + body
    return rlp.encode(item)


def decode_message(code: int, data: bytes) -> Message:
    """Strictly decode a wire body for ``code``; raises :class:`MalformedMessageError` on any defect.

    Signatures are checked for well-formedness and recoverability here (the author is recovered), so the
    engine only sees messages with a known author.
    """
    if code not in MESSAGE_CODES:
        raise MalformedMessageError(f"unknown QBFT message code 0x{code:02x}")
    if len(data) > MAX_MESSAGE_BYTES:
        raise MalformedMessageError(f"message of {len(data)} bytes exceeds {MAX_MESSAGE_BYTES}")
    try:
        if code in _BLOCK_PATHS:
            item = _decode_splicing(data, 0, len(data), _BLOCK_PATHS[code])
        else:
            item = rlp.decode(data, strict=True)
    except rlp.exceptions.DecodingError as exc:
        raise MalformedMessageError(f"invalid RLP: {exc}") from exc
    message: Message
    if code == PREPARE:
        message = Prepare(_signed(item, _prepare_payload))
    elif code == COMMIT:
        message = Commit(_signed(item, _commit_payload))
    elif code == ROUND_CHANGE:
        message = _round_change(item)
    else:
        message = _proposal(item)
    _recover_all(message)
    if encode_message(message) != data:  # canonical RLP round-trips; anything else is a codec bug or trick
        raise MalformedMessageError("message is not in canonical encoding")
    return message


# ---------------------------------------------------------------------------------------- decoding

#: Where a message's block item sits (list indices from the top): PROPOSAL ``[[[h, r, block…], sig], …]``,
#: ROUND_CHANGE ``[signed, block | [], …]``.
_BLOCK_PATHS = {PROPOSAL: (0, 0, 2), ROUND_CHANGE: (1,)}


@dataclass(frozen=True)
class _WireBlock:
    """A block item found in a message: its bytes (a slice of the message) and its generic RLP items."""

    raw: bytes
    items: list[Any]


def _decode_splicing(data: bytes, start: int, end: int, path: tuple[int, ...]) -> Any:
    """``rlp.decode(data[start:end], strict=True)``, except that the list at ``path`` becomes a
    :class:`_WireBlock` holding its bytes, so the block is never re-encoded to get them back.

    Anything off the expected shape (a prefix that does not fit, a path that does not exist) is decoded by
    ``rlp.decode`` as before, so every malformed input gets the same verdict as the generic decoder's.
    """
    try:
        _prefix, kind, length, body = consume_length_prefix(data, start)
    except IndexError:
        kind, length, body = bytes, -1, start
    if body + length != end or (path and kind is not list):
        return rlp.decode(data[start:end], strict=True)
    if not path:
        if kind is not list:
            return rlp.decode(data[start:end], strict=True)
        raw = data[start:end]
        try:
            items = rlp.decode(raw, strict=True)  # canonical RLP or the whole message is malformed
        except rlp.exceptions.DecodingError as exc:
            raise MalformedMessageError(f"embedded block is not valid RLP: {exc}") from exc
        return _WireBlock(raw, items)
    spans: list[tuple[int, int]] = []
    pos = body
    try:
        while pos < end:
            _p, _k, child_length, child_body = consume_length_prefix(data, pos)
            spans.append((pos, child_body + child_length))
            pos = child_body + child_length
    except IndexError:
        pos = end + 1
    if pos != end or len(spans) <= path[0]:
        return rlp.decode(data[start:end], strict=True)
    return [
        _decode_splicing(data, s, e, path[1:]) if i == path[0] else rlp.decode(data[s:e], strict=True)
        for i, (s, e) in enumerate(spans)
    ]


def _recover_all(message: Message) -> None:
    """Force author recovery of every signature so bad signatures fail at decode time."""
    _ = message.author
    for extra in getattr(message, "prepares", ()):
        _ = extra.author
    for extra in getattr(message, "round_changes", ()):
        _ = extra.author


def _raw_item(encoded: bytes) -> RawRLP:
    """Pre-encoded RLP (a block) to splice into a message: its bytes are written as they are.

    Only the outer item is checked here (one RLP list spanning all of ``encoded``: O(1)); blocks received
    from peers were checked to be canonical RLP when their message was decoded, and blocks this node
    builds are encoded by ``rlp.encode``.
    """
    if isinstance(encoded, RawRLP):
        return encoded
    try:
        _prefix, kind, length, start = consume_length_prefix(encoded, 0)
    except (IndexError, rlp.exceptions.DecodingError) as exc:
        raise MalformedMessageError(f"embedded block is not valid RLP: {exc}") from exc
    if kind is not list:
        raise MalformedMessageError("embedded block must be an RLP list")
    if start + length != len(encoded):
        raise MalformedMessageError("embedded block is not valid RLP: length prefix does not match its size")
    return RawRLP(encoded)


def _raw_access_list(encoded: bytes) -> Any:
    """A stored BAL item back to the structure ``rlp.encode`` re-emits (``0x80`` → empty string)."""
    try:
        return rlp.decode(encoded, strict=True)
    except rlp.exceptions.DecodingError as exc:
        raise MalformedMessageError(f"block access list is not valid RLP: {exc}") from exc


def _access_list(item: Any) -> bytes:
    """Validate a decoded BAL item: the null slot (empty string) or a list; returns its raw RLP."""
    if item != b"" and not isinstance(item, list):
        raise MalformedMessageError("block access list must be an RLP list or the empty string")
    return rlp.encode(item)


def _list(item: Any, length: int, what: str) -> list[Any]:
    if not isinstance(item, list) or len(item) != length:
        raise MalformedMessageError(f"{what}: expected a list of {length} items")
    return item


def _bounded_list(item: Any, what: str) -> list[Any]:
    if not isinstance(item, list):
        raise MalformedMessageError(f"{what}: expected a list")
    if len(item) > MAX_JUSTIFICATION_ITEMS:
        raise MalformedMessageError(f"{what}: {len(item)} items exceed {MAX_JUSTIFICATION_ITEMS}")
    return item


def _int(item: Any, maximum: int, what: str) -> int:
    if not isinstance(item, bytes):
        raise MalformedMessageError(f"{what}: expected an integer")
    if item[:1] == b"\x00":
        raise MalformedMessageError(f"{what}: integer has a leading zero byte")
    value = int.from_bytes(item, "big")
    if value > maximum:
        raise MalformedMessageError(f"{what}: {value} exceeds {maximum}")
    return value


def _fixed(item: Any, length: int, what: str) -> bytes:
    if not isinstance(item, bytes) or len(item) != length:
        raise MalformedMessageError(f"{what}: expected {length} bytes")
    return item


def _signed(item: Any, parse_payload: Any) -> SignedPayload[Any]:
    payload_item, signature = _list(item, 2, "signed payload")
    return SignedPayload(parse_payload(payload_item), _fixed(signature, 65, "signature"))


def _prepare_payload(item: Any) -> PreparePayload:
    height, round_, digest = _list(item, 3, "prepare payload")
    return PreparePayload(
        _int(height, MAX_HEIGHT, "height"), _int(round_, MAX_ROUND, "round"), _fixed(digest, 32, "digest")
    )


def _commit_payload(item: Any) -> CommitPayload:
    height, round_, digest, seal = _list(item, 4, "commit payload")
    return CommitPayload(
        _int(height, MAX_HEIGHT, "height"),
        _int(round_, MAX_ROUND, "round"),
        _fixed(digest, 32, "digest"),
        _fixed(seal, 65, "commit seal"),
    )


def _round_change_payload(item: Any) -> RoundChangePayload:
    height, round_, prepared_item = _list(item, 3, "round-change payload")
    prepared = None
    if prepared_item != []:
        prepared_round, digest = _list(prepared_item, 2, "prepared metadata")
        prepared = PreparedMetadata(_int(prepared_round, MAX_ROUND, "prepared round"), _fixed(digest, 32, "digest"))
    return RoundChangePayload(_int(height, MAX_HEIGHT, "height"), _int(round_, MAX_ROUND, "round"), prepared)


def _proposal_payload(item: Any) -> ProposalPayload:
    if isinstance(item, list) and len(item) == 4:  # Besu ≥ 26.1: trailing block access list
        height, round_, block, bal = item
        access_list: bytes | None = _access_list(bal)
    else:
        height, round_, block = _list(item, 3, "proposal payload")
        access_list = None
    if isinstance(block, _WireBlock):
        raw, block_items = block.raw, block.items
    elif isinstance(block, list):
        raw, block_items = rlp.encode(block), block
    else:
        raise MalformedMessageError("proposal block must be an RLP list")
    return ProposalPayload(
        _int(height, MAX_HEIGHT, "height"), _int(round_, MAX_ROUND, "round"), raw, access_list, block_items
    )


def _prepares(item: Any) -> tuple[SignedPayload[PreparePayload], ...]:
    return tuple(_signed(p, _prepare_payload) for p in _bounded_list(item, "prepares"))


def _round_change(item: Any) -> RoundChange:
    if isinstance(item, list) and len(item) == 4:  # Besu ≥ 26.1: block access list before the prepares
        signed_item, block_item, bal, prepares_item = item
        access_list: bytes | None = _access_list(bal)
    else:
        signed_item, block_item, prepares_item = _list(item, 3, "round change")
        access_list = None
    signed = _signed(signed_item, _round_change_payload)
    if isinstance(block_item, _WireBlock):
        block = block_item.raw if block_item.items != [] else None
    elif isinstance(block_item, list):
        block = rlp.encode(block_item) if block_item != [] else None
    else:
        raise MalformedMessageError("prepared block must be an RLP list")
    return RoundChange(signed, block, _prepares(prepares_item), access_list)


def _proposal(item: Any) -> Proposal:
    signed_item, justification = _list(item, 2, "proposal")
    round_changes_item, prepares_item = _list(justification, 2, "proposal justification")
    round_changes = tuple(
        _signed(rc, _round_change_payload) for rc in _bounded_list(round_changes_item, "round changes")
    )
    return Proposal(_signed(signed_item, _proposal_payload), round_changes, _prepares(prepares_item))


# ------------------------------------------------------------------------------------------ builders


def make_prepare(signer: Signer, height: int, round_: int, digest: bytes) -> Prepare:
    return Prepare(SignedPayload.create(PreparePayload(height, round_, digest), signer))


def make_commit(signer: Signer, height: int, round_: int, digest: bytes, commit_seal: bytes) -> Commit:
    return Commit(SignedPayload.create(CommitPayload(height, round_, digest, commit_seal), signer))


def make_round_change(
    signer: Signer,
    height: int,
    round_: int,
    prepared: PreparedMetadata | None = None,
    prepared_block: bytes | None = None,
    prepares: Sequence[SignedPayload[PreparePayload]] = (),
) -> RoundChange:
    signed = SignedPayload.create(RoundChangePayload(height, round_, prepared), signer)
    return RoundChange(signed, prepared_block, tuple(prepares))


def make_proposal(
    signer: Signer,
    height: int,
    round_: int,
    block: bytes,
    round_changes: Sequence[SignedPayload[RoundChangePayload]] = (),
    prepares: Sequence[SignedPayload[PreparePayload]] = (),
) -> Proposal:
    signed = SignedPayload.create(ProposalPayload(height, round_, block), signer)
    return Proposal(signed, tuple(round_changes), tuple(prepares))
