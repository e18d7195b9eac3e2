"""QBFT header ``extraData`` codec (Besu/GoQuorum compatible).

Layout: ``RLP([vanity(32), [validator(20)...], vote, round, [seal(65)...]])`` where ``vote`` is the empty
list ``0xc0`` (no vote) or ``[recipient(20), 0xff]`` (add) / ``[recipient(20), 0x80]`` (drop; ``0x00`` is
also accepted as drop because Besu writes the drop byte as a raw zero byte), ``round`` is a minimal
big-endian RLP integer and every seal is ``r(32) ‖ s(32) ‖ v(1)`` with ``v`` in ``{0, 1}``.

Why strict: the on-chain block hash is computed over a *re-encoding* of this structure, so any
non-canonical input (leading zeros, wrong lengths) would let two different byte strings denote the same
block. Decoding therefore rejects everything that :meth:`QbftExtraData.encode` would not produce (apart
from the documented ``0x00`` drop byte).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import rlp
from rlp.exceptions import DecodingError

VANITY_LENGTH = 32
ADDRESS_LENGTH = 20
SEAL_LENGTH = 65
VOTE_ADD = b"\xff"
VOTE_DROP = b""  # RLP 0x80
VOTE_DROP_ALT = b"\x00"  # Besu writes the drop byte as 0x00


class ExtraDataError(ValueError):
    """Base class: the extraData bytes are not a valid QBFT extraData."""


class ExtraDataRlpError(ExtraDataError):
    """The bytes are not canonical RLP of a 5-item list."""


class InvalidVanityError(ExtraDataError):
    """The vanity field is not exactly 32 bytes."""


class InvalidValidatorError(ExtraDataError):
    """A validator entry is not a 20-byte address."""


class InvalidVoteError(ExtraDataError):
    """The vote is neither empty nor ``[address20, 0xff|0x80|0x00]``."""


class InvalidRoundError(ExtraDataError):
    """The round is not a minimal big-endian integer (leading zero byte) or is too large."""


class InvalidSealError(ExtraDataError):
    """A seal is not 65 bytes or its recovery id ``v`` is not 0 or 1."""


@dataclass(frozen=True)
class Vote:
    """A validator-set vote carried by a block: add (``add=True``) or drop ``recipient``."""

    recipient: bytes
    add: bool

    def __post_init__(self) -> None:
        if not isinstance(self.recipient, bytes | bytearray) or len(self.recipient) != ADDRESS_LENGTH:
            raise InvalidVoteError(f"vote recipient must be a 20-byte address, got {self.recipient!r}")


@dataclass(frozen=True)
class QbftExtraData:
    """Decoded QBFT extraData. ``validators`` are canonical 20-byte addresses (sorted on-chain)."""

    vanity: bytes = b"\x00" * VANITY_LENGTH
    validators: list[bytes] = field(default_factory=list)
    vote: Vote | None = None
    round: int = 0
    seals: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        _check_vanity(self.vanity)
        for v in self.validators:
            _check_address(v)
        if self.vote is not None and not isinstance(self.vote, Vote):
            raise InvalidVoteError(f"vote must be a Vote or None, got {type(self.vote).__name__}")
        if not isinstance(self.round, int) or isinstance(self.round, bool) or self.round < 0:
            raise InvalidRoundError(f"round must be a non-negative int, got {self.round!r}")
        if self.round >= 2**64:
            raise InvalidRoundError(f"round {self.round} does not fit in 64 bits")
        for s in self.seals:
            _check_seal(s)

    # -- encoding -----------------------------------------------------------------------------------
    def to_rlp_list(self, *, round_: int | None = None, include_seals: bool = True) -> list:
        """The RLP item list; ``round_``/``include_seals`` give the hashing variants."""
        vote_item: list = (
            []
            if self.vote is None
            else [bytes(self.vote.recipient), VOTE_ADD if self.vote.add else VOTE_DROP]
        )
        r = self.round if round_ is None else round_
        return [
            bytes(self.vanity),
            [bytes(v) for v in self.validators],
            vote_item,
            _int_to_min_bytes(r),
            [bytes(s) for s in self.seals] if include_seals else [],
        ]

    def encode(self) -> bytes:
        """Canonical extraData bytes (what goes into the header)."""
        return rlp.encode(self.to_rlp_list())

    def encode_for_onchain_hash(self) -> bytes:
        """extraData used for the block hash: round 0 and no seals."""
        return rlp.encode(self.to_rlp_list(round_=0, include_seals=False))

    def encode_for_commit_seal(self, round_: int | None = None) -> bytes:
        """extraData used for the commit-seal hash: the real round (or ``round_``) and no seals."""
        return rlp.encode(self.to_rlp_list(round_=round_, include_seals=False))

    def with_seals(self, seals: list[bytes]) -> QbftExtraData:
        """Copy with ``seals`` replaced (validated)."""
        return replace(self, seals=list(seals))

    def with_round(self, round_: int) -> QbftExtraData:
        """Copy with ``round`` replaced."""
        return replace(self, round=round_)

    # -- decoding -----------------------------------------------------------------------------------
    @classmethod
    def decode(cls, raw: bytes) -> QbftExtraData:
        """Parse and strictly validate extraData bytes; raises an :class:`ExtraDataError` subclass."""
        if not isinstance(raw, bytes | bytearray | memoryview):
            raise ExtraDataRlpError(f"extraData must be bytes, got {type(raw).__name__}")
        raw = bytes(raw)
        if not raw:
            raise ExtraDataRlpError("extraData is empty")
        try:
            items = rlp.decode(raw, strict=True)
        except (DecodingError, rlp.exceptions.DeserializationError) as exc:
            raise ExtraDataRlpError(f"extraData is not canonical RLP: {exc}") from exc
        if not isinstance(items, list) or len(items) != 5:
            n = len(items) if isinstance(items, list) else "a byte string"
            raise ExtraDataRlpError(f"extraData must be an RLP list of 5 items, got {n}")
        vanity, validators, vote_item, round_item, seals = items

        if not isinstance(vanity, bytes):
            raise InvalidVanityError("vanity must be a byte string")
        _check_vanity(vanity)

        if not isinstance(validators, list):
            raise InvalidValidatorError("validators must be an RLP list")
        for v in validators:
            if not isinstance(v, bytes):
                raise InvalidValidatorError("validator entry must be a byte string")
            _check_address(v)

        vote = _decode_vote(vote_item)

        if not isinstance(round_item, bytes):
            raise InvalidRoundError("round must be a byte string")
        if round_item[:1] == b"\x00":
            raise InvalidRoundError(f"round has a leading zero byte: 0x{round_item.hex()}")
        if len(round_item) > 8:
            raise InvalidRoundError(f"round is {len(round_item)} bytes, at most 8 allowed")
        round_ = int.from_bytes(round_item, "big")

        if not isinstance(seals, list):
            raise InvalidSealError("seals must be an RLP list")
        for s in seals:
            if not isinstance(s, bytes):
                raise InvalidSealError("seal must be a byte string")
            _check_seal(s)

        return cls(vanity=vanity, validators=list(validators), vote=vote, round=round_, seals=list(seals))


def _decode_vote(item: object) -> Vote | None:
    if item == []:
        return None
    if not isinstance(item, list) or len(item) != 2:
        raise InvalidVoteError("vote must be an empty list or [address, type]")
    recipient, kind = item
    if not isinstance(recipient, bytes) or len(recipient) != ADDRESS_LENGTH:
        raise InvalidVoteError("vote recipient must be a 20-byte address")
    if not isinstance(kind, bytes):
        raise InvalidVoteError("vote type must be a byte string")
    if kind == VOTE_ADD:
        return Vote(recipient, True)
    if kind in (VOTE_DROP, VOTE_DROP_ALT):
        return Vote(recipient, False)
    raise InvalidVoteError(f"vote type must be 0xff (add) or 0x80/0x00 (drop), got 0x{kind.hex()}")


def _check_vanity(vanity: bytes) -> None:
    if not isinstance(vanity, bytes | bytearray) or len(vanity) != VANITY_LENGTH:
        n = len(vanity) if isinstance(vanity, bytes | bytearray) else type(vanity).__name__
        raise InvalidVanityError(f"vanity must be {VANITY_LENGTH} bytes, got {n}")


def _check_address(addr: bytes) -> None:
    if not isinstance(addr, bytes | bytearray) or len(addr) != ADDRESS_LENGTH:
        raise InvalidValidatorError(f"validator must be a 20-byte address, got {addr!r}")


def _check_seal(seal: bytes) -> None:
    if not isinstance(seal, bytes | bytearray) or len(seal) != SEAL_LENGTH:
        n = len(seal) if isinstance(seal, bytes | bytearray) else type(seal).__name__
        raise InvalidSealError(f"seal must be {SEAL_LENGTH} bytes, got {n}")
    if seal[64] not in (0, 1):
        raise InvalidSealError(f"seal recovery id must be 0 or 1, got {seal[64]}")


def _int_to_min_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big") if value else b""
