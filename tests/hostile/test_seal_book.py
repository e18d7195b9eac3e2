"""The canonical stored form of a block (co3chain.node.seal_book) and NodeChain.replace_seals, in process:
whatever order and subsets of seals two nodes learn, merging converges on one form; only genuine seals
of the block's validators count; the stored block keeps its hash."""

from __future__ import annotations

import itertools

import pytest

from co3chain.chain.chain import BlockImportError, NodeChain
from co3chain.consensus.qbft.extradata import QbftExtraData
from co3chain.consensus.qbft.hashing import recover_seal_signers, sign_commit_seal
from co3chain.node.seal_book import (
    SEALS_CODE,
    Announcement,
    BadAnnouncement,
    SealBook,
    SealForm,
    canonical_form,
    form_of,
    with_form,
)
from tests.chain.helpers import VALIDATOR_KEYS, addr, make_test_genesis, produce, seal_block

KEYS = sorted(VALIDATOR_KEYS[:4], key=addr)  # ascending address order
OUTSIDER = bytes([0x42]) * 32


@pytest.fixture
def chain() -> NodeChain:
    c = NodeChain.open(None, make_test_genesis(4))
    produce(c, [], KEYS[:3])
    return c


def _seals(header: object, keys: list[bytes], round_: int) -> list[bytes]:
    extra = QbftExtraData.decode(header.extra_data)  # type: ignore[attr-defined]
    unsealed = header.copy(extra_data=extra.with_round(round_).with_seals([]).encode())  # type: ignore[attr-defined]
    return [sign_commit_seal(k, unsealed, round_) for k in keys]


def test_rule_lowest_round_then_lowest_addresses() -> None:
    a, b, c, d = (bytes([i]) * 20 for i in (1, 2, 3, 4))
    known = {1: {a: b"A1", b: b"B1", c: b"C1"}, 0: {d: b"D0", c: b"C0", b: b"B0", a: b"A0"}, 2: {a: b"x"}}
    assert canonical_form(known, 4) == SealForm(0, (b"A0", b"B0", b"C0"))
    assert canonical_form({0: {a: b"A0", b: b"B0"}, 1: {d: b"D1", c: b"C1", b: b"B1"}}, 4) == \
        SealForm(1, (b"B1", b"C1", b"D1"))
    assert canonical_form({0: {a: b"A0"}}, 4) is None


def test_any_learning_order_converges_on_one_form(chain: NodeChain) -> None:
    header = chain.head
    r0 = _seals(header, KEYS, 0)
    r1 = _seals(header, KEYS, 1)
    pool = [(0, s) for s in r0] + [(1, s) for s in r1]
    forms = set()
    for split in range(1, len(pool)):
        for order in itertools.islice(itertools.permutations(pool), 0, 40, 7):
            one, two = SealBook(), SealBook()
            for round_, seal in order[:split]:
                one.add_seals(header, round_, [seal])
            for round_, seal in order[split:]:
                two.add_seals(header, round_, [seal])
            f1, f2 = one.form(header), two.form(header)
            # exchange forms (what announcements carry), then both agree
            if f2 is not None:
                one.add_seals(header, f2.round, f2.seals)
            if f1 is not None:
                two.add_seals(header, f1.round, f1.seals)
            if f1 is not None and f2 is not None:
                assert one.form(header) == two.form(header)
            merged = SealBook()
            for round_, seal in order:
                merged.add_seals(header, round_, [seal])
            forms.add(merged.form(header))
    assert forms == {SealForm(0, tuple(r0[:3]))}


def test_foreign_and_wrong_round_seals_are_ignored(chain: NodeChain) -> None:
    header = chain.head
    book = SealBook()
    assert not book.add_seals(header, 0, _seals(header, [OUTSIDER], 0))  # not a validator
    assert not book.add_seals(header, 0, _seals(header, KEYS[:1], 1))  # signed for another round
    assert not book.add_seals(header, 0, [b"\x01" * 65])
    assert book.add_seals(header, 0, _seals(header, KEYS[:2], 0))
    assert book.form(header) is None  # 2 < quorum 3
    # a COMMIT for another block of this height (other digest) is not a seal of this one
    assert not book.add_commit(header, 0, b"\x00" * 32, _seals(header, KEYS[2:3], 0)[0])


def test_commits_seen_before_the_block_count_once_it_is_stored(chain: NodeChain) -> None:
    from co3chain.consensus.qbft.hashing import commit_seal_hash

    header = chain.head
    book = SealBook()
    for key, seal in zip(KEYS, _seals(header, KEYS, 0), strict=True):
        book.remember_commit(header.block_number, 0, commit_seal_hash(header, 0), seal)
        assert key
    book.add_stored(header)  # header itself carries seals of KEYS[:3]
    form = book.form(header)
    assert form is not None and form.round == 0 and len(form.seals) == 3


def test_replace_seals_keeps_the_hash_and_needs_a_quorum(chain: NodeChain) -> None:
    header = chain.head
    block_hash = header.hash
    form = SealForm(1, tuple(_seals(header, KEYS[1:], 1)))
    stored = chain.replace_seals(block_hash, with_form(header.extra_data, form))
    assert stored.hash == block_hash and chain.head.extra_data == stored.extra_data
    assert form_of(chain.get_block_by_number(1).header.extra_data) == form  # type: ignore[union-attr]
    assert set(recover_seal_signers(chain.get_header_by_hash(block_hash))) == {addr(k) for k in KEYS[1:]}
    with pytest.raises(BlockImportError, match="quorum"):
        chain.replace_seals(block_hash, with_form(header.extra_data, SealForm(0, tuple(_seals(header, KEYS[:2], 0)))))
    other_vote = QbftExtraData.decode(header.extra_data)
    changed = other_vote.__class__(vanity=b"\x01" * 32, validators=other_vote.validators, round=0,
                                   seals=_seals(header, KEYS[:3], 0)).encode()
    with pytest.raises(BlockImportError, match="hash"):
        chain.replace_seals(block_hash, changed)
    # the block still imports on top (next block's parent hash unchanged)
    produce(chain, [], KEYS[:3])
    assert chain.head.block_number == 2


def test_announcement_codec_is_strict() -> None:
    ann = Announcement(7, 1, (b"\x02" * 65,))
    raw = ann.encode()
    assert raw[0] == SEALS_CODE and Announcement.decode(raw[1:]) == ann
    import rlp

    for bad in (b"\xc0", rlp.encode([b"\x00\x07", 1, []]), rlp.encode([7, 1, [b"\x01" * 64]]),
                rlp.encode([7, 2**16, []]), rlp.encode([7, 1, [b"\x01" * 65] * 257]), b"\xff\xff"):
        with pytest.raises(BadAnnouncement):
            Announcement.decode(bad)


def test_seal_block_helper_matches_the_book(chain: NodeChain) -> None:
    # a block sealed by all four validators in round 0: canonical form keeps the lowest three
    block = chain.get_block_by_number(1)
    assert block is not None
    resealed = seal_block(block, KEYS, 0)
    book = SealBook()
    book.add_stored(resealed.header)
    assert book.form(resealed.header) == SealForm(0, tuple(_seals(resealed.header, KEYS[:3], 0)))


def test_announcements_only_for_peers_that_list_the_capability() -> None:
    from co3chain.node.seal_book import speaks_seals
    from co3chain.p2p import P2PConfig

    assert speaks_seals(P2PConfig().client_id)
    assert not speaks_seals("co3chain/0.1")  # a node from before seal announcements would ban the sender
    assert not speaks_seals("seals")
    assert speaks_seals("co3chain/0.2 other seals")
