"""One canonical stored form per block: every node converges on the same round and commit seals.

Why this is needed. QBFT (Besu, and :mod:`co3chain.consensus.qbft.hashing`) defines the block hash over
``extraData`` *without* the commit seals and with the round zeroed (Besu's
``encodeWithoutCommitSealsAndRoundNumber``), while each commit seal signs the header *with* the round it
was cast in (``encodeWithoutCommitSeals``). So one block — one hash — has many valid stored forms: any
quorum of seals from any round in which a quorum committed it. A node finalizes as soon as *it* sees a
quorum, so which seals (3 or 4 of 4, which 3) and which round end up in its database depends on message
timing; a node that synced the block stores its peer's form. Every form passes Besu's checks, but then
``eth_getBlockByNumber`` answers differently per node, and an auditor's verdict or a block explorer's
bytes depend on which node was asked.

The rule (deterministic, a function of the *set* of valid seals known, not of arrival order):

1. take the **lowest round** in which a quorum of the block's validators committed it — the earliest
   moment the block was final; later-round seals of a re-proposal add nothing;
2. in that round take exactly **quorum** seals, those of the **lowest signer addresses**, in ascending
   address order — so one extra late seal cannot change the bytes once the lowest quorum is known.

Why it converges. Let ``K`` be the union of every valid seal any node knows. Merging another node's form
into one's own can only move the canonical form *down* in the order (round, signer list), and the minimum
over ``K`` is reached by any node that has merged the forms of the others. Nodes therefore

* record every COMMIT they see for the block — also the ones that arrive after they finalized (the engine
  ignores those) — and the seals of every stored form they import,
* canonicalize before storing a finalized block, and rewrite the stored header (same hash; only the seal
  part of extraData changes) when later seals improve the form,
* announce their form (:data:`SEALS_CODE` message: height, round, seals) after each import and after each
  improvement, and answer a peer whose announced form is worse than theirs with their own.

Announcements are self-authenticating: every seal is recovered against the commit-seal hash of the header
this node already stores and must belong to the block's validator set, so a peer can only ever supply
genuine seals; a forged or foreign seal is ignored. Work is bounded: only the last :data:`WINDOW` blocks
are reconciled, at most :data:`MAX_PENDING` early COMMITs are kept per future height, and an announcement
carries at most :data:`MAX_ANNOUNCED_SEALS` seals. Besu's block format is untouched: the stored form is an
ordinary QBFT extraData whose seals Besu itself would accept.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import rlp
from rlp.exceptions import DecodingError

from co3chain.consensus.qbft.extradata import QbftExtraData
from co3chain.consensus.qbft.hashing import SealError, commit_seal_hash, quorum, recover_signer

#: CONSENSUS payload code of a seal announcement (after the QBFT codes 0x12..0x15; co3chain only).
SEALS_CODE = 0x16
#: Blocks below the head that are still reconciled.
WINDOW = 64
#: COMMITs remembered per height not yet imported (rounds × validators, generously).
MAX_PENDING = 1024
#: Seals one announcement may carry.
MAX_ANNOUNCED_SEALS = 256
#: Highest round an announcement may name.
MAX_ROUND = 2**16


#: Capability word in a peer's HELLO client id (:class:`co3chain.p2p.P2PConfig`) for "understands SEALS_CODE".
SEALS_CAPABILITY = "seals"


def speaks_seals(client_id: str) -> bool:
    """Does a peer with this HELLO client id understand seal announcements? (Older nodes ban the sender of
    an unknown consensus code, so a rolling upgrade must not send them one.)"""
    return SEALS_CAPABILITY in client_id.split()[1:]


class BadAnnouncement(ValueError):
    """A seal announcement is not canonical RLP of ``[height, round, [seal...]]`` within the bounds."""


@dataclass(frozen=True)
class SealForm:
    """A stored form: the round and the seals (ascending signer order) in a block's extraData."""

    round: int
    seals: tuple[bytes, ...]


@dataclass(frozen=True)
class Announcement:
    height: int
    round: int
    seals: tuple[bytes, ...]

    def encode(self) -> bytes:
        return bytes([SEALS_CODE]) + rlp.encode([self.height, self.round, list(self.seals)])

    @classmethod
    def decode(cls, body: bytes) -> Announcement:
        try:
            items = rlp.decode(body, strict=True)
        except DecodingError as exc:
            raise BadAnnouncement(f"undecodable seal announcement: {exc}") from None
        if (not isinstance(items, list) or len(items) != 3 or not isinstance(items[0], bytes)
                or not isinstance(items[1], bytes) or not isinstance(items[2], list)):
            raise BadAnnouncement("seal announcement must be [height, round, [seals]]")
        height, round_ = (_uint(items[0], 2**64), _uint(items[1], MAX_ROUND))
        seals = items[2]
        if len(seals) > MAX_ANNOUNCED_SEALS or not all(isinstance(s, bytes) and len(s) == 65 for s in seals):
            raise BadAnnouncement("seal announcement carries malformed or too many seals")
        return cls(height, round_, tuple(seals))


def _uint(raw: bytes, limit: int) -> int:
    if raw[:1] == b"\x00":
        raise BadAnnouncement("non-canonical integer in seal announcement")
    value = int.from_bytes(raw, "big")
    if value >= limit:
        raise BadAnnouncement("integer out of range in seal announcement")
    return value


def canonical_form(known: dict[int, dict[bytes, bytes]], validator_count: int) -> SealForm | None:
    """The canonical form over ``known`` (round → signer → seal), or ``None`` when no round has a quorum."""
    need = quorum(validator_count)
    for round_ in sorted(known):
        by_signer = known[round_]
        if len(by_signer) >= need:
            signers = sorted(by_signer)[:need]
            return SealForm(round_, tuple(by_signer[s] for s in signers))
    return None


class SealBook:
    """Valid commit seals known for the last :data:`WINDOW` stored blocks (and COMMITs seen ahead of them).

    Pure bookkeeping: the caller supplies stored headers and writes the forms this returns.
    """

    def __init__(self) -> None:
        #: height → (block hash, round → signer → seal)
        self._known: dict[int, tuple[bytes, dict[int, dict[bytes, bytes]]]] = {}
        #: height → [(round, digest, seal)] for COMMITs of heights not stored yet
        self._pending: dict[int, list[tuple[int, bytes, bytes]]] = {}

    # ------------------------------------------------------------------ intake
    def remember_commit(self, height: int, round_: int, digest: bytes, seal: bytes) -> None:
        """Keep a COMMIT for a height this node has not stored yet (checked when it is)."""
        entries = self._pending.setdefault(height, [])
        if len(entries) < MAX_PENDING:
            entries.append((round_, bytes(digest), bytes(seal)))

    def add_commit(self, header: object, round_: int, digest: bytes, seal: bytes) -> bool:
        """A COMMIT for the stored ``header``: kept if its digest is the header's seal hash for ``round_``."""
        if commit_seal_hash(header, round_) != digest:
            return False  # a commit for another block of this height
        return self.add_seals(header, round_, [seal])

    def add_verified(self, header: object, round_: int, signers: Iterable[bytes], seals: Iterable[bytes]) -> None:
        """Record seals already recovered to ``signers`` over ``header``'s commit-seal hash for ``round_``.

        For the seals of a block this node's engine finalized: it recovered each one from its COMMIT and
        checked the author is a validator of the height; recovering them again here would be the same work.
        """
        _hash, rounds = self._entry(header)
        book = rounds.setdefault(round_, {})
        for signer, seal in zip(signers, seals, strict=True):
            book.setdefault(bytes(signer), bytes(seal))

    def add_seals(self, header: object, round_: int, seals: Iterable[bytes]) -> bool:
        """Verify ``seals`` for ``round_`` against ``header``; ``True`` if any new valid seal was learnt.

        A seal already recorded for this block and round is not recovered again (after import every stored
        header passes through here once more).
        """
        hash_, rounds = self._entry(header)
        known = set(rounds.get(round_, {}).values())
        seals = [bytes(seal) for seal in seals if bytes(seal) not in known]
        if not seals:
            return False
        extra = QbftExtraData.decode(header.extra_data)  # type: ignore[attr-defined]
        validators = set(extra.validators)
        digest = commit_seal_hash(header, round_)
        learnt = False
        for seal in seals:
            try:
                signer = recover_signer(digest, bytes(seal))
            except SealError:
                continue
            if signer not in validators:
                continue
            book = rounds.setdefault(round_, {})
            if signer not in book:
                book[signer] = bytes(seal)
                learnt = True
        return learnt

    def add_stored(self, header: object) -> None:
        """Learn the seals of a stored (or about to be stored) header and the COMMITs seen before it was."""
        extra = QbftExtraData.decode(header.extra_data)  # type: ignore[attr-defined]
        self.add_seals(header, extra.round, extra.seals)
        number = header.block_number  # type: ignore[attr-defined]
        expected: dict[int, bytes] = {}
        by_round: dict[int, list[bytes]] = {}
        for round_, digest, seal in self._pending.pop(number, []):
            if round_ not in expected:
                expected[round_] = commit_seal_hash(header, round_)
            if digest == expected[round_]:
                by_round.setdefault(round_, []).append(seal)
        for round_, seals in by_round.items():
            self.add_seals(header, round_, seals)

    def _entry(self, header: object) -> tuple[bytes, dict[int, dict[bytes, bytes]]]:
        number = header.block_number  # type: ignore[attr-defined]
        block_hash = header.hash  # type: ignore[attr-defined]
        entry = self._known.get(number)
        if entry is None or entry[0] != block_hash:
            entry = (block_hash, {})
            self._known[number] = entry
        return entry

    # ------------------------------------------------------------------ output
    def form(self, header: object) -> SealForm | None:
        """The canonical form for the stored ``header`` from everything known about its block."""
        entry = self._known.get(header.block_number)  # type: ignore[attr-defined]
        if entry is None or entry[0] != header.hash:  # type: ignore[attr-defined]
            return None
        validators = QbftExtraData.decode(header.extra_data).validators  # type: ignore[attr-defined]
        return canonical_form(entry[1], len(validators))

    def prune(self, head: int) -> None:
        """Forget blocks more than :data:`WINDOW` below ``head`` and COMMITs more than 2 heights ahead."""
        for number in [n for n in self._known if n < head - WINDOW]:
            del self._known[number]
        for number in [n for n in self._pending if n <= head - WINDOW or n > head + 2]:
            del self._pending[number]

    def in_window(self, height: int, head: int) -> bool:
        return head - WINDOW <= height <= head


def form_of(extra_data: bytes) -> SealForm:
    extra = QbftExtraData.decode(extra_data)
    return SealForm(extra.round, tuple(extra.seals))


def with_form(extra_data: bytes, form: SealForm) -> bytes:
    """``extra_data`` carrying ``form`` (round and seals replaced; vanity, validators, vote unchanged)."""
    extra = QbftExtraData.decode(extra_data)
    return extra.with_round(form.round).with_seals(list(form.seals)).encode()
