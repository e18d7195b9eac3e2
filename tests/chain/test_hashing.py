"""QBFT block hashing and commit seals."""

import pytest
import rlp
from eth_hash.auto import keccak

from co3chain.chain.vm import QBFT_MIX_HASH, QbftBlockHeader, new_header
from co3chain.consensus.qbft.extradata import QbftExtraData, Vote
from co3chain.consensus.qbft.hashing import (
    SealError,
    commit_seal_hash,
    onchain_header_hash,
    quorum,
    recover_seal_signers,
    recover_signer,
    sign_commit_seal,
)
from tests.chain.helpers import VALIDATOR_KEYS, addr
from tests.chain.test_extradata import GENESIS_2


def _genesis_header(extra: bytes = GENESIS_2) -> QbftBlockHeader:
    return QbftBlockHeader(
        difficulty=1,
        block_number=0,
        gas_limit=0x1FFFFFFFFFFFFF,
        timestamp=0,
        extra_data=extra,
        mix_hash=QBFT_MIX_HASH,
        nonce=b"\x00" * 8,
    )


def _child(extra: QbftExtraData) -> QbftBlockHeader:
    return new_header(_genesis_header(), timestamp=10, extra_data=extra.encode(), coinbase=b"\x01" * 20)


def test_genesis_hashed_with_raw_extradata() -> None:
    g = _genesis_header()
    assert g.hash == keccak(rlp.encode(g)) == onchain_header_hash(g)


def test_onchain_hash_excludes_round_and_seals() -> None:
    vals = sorted(addr(k) for k in VALIDATOR_KEYS[:2])
    base = QbftExtraData(validators=vals, vote=Vote(b"\x09" * 20, True), round=0)
    h0 = _child(base)
    h3 = _child(base.with_round(3))
    sealed = h3.copy(
        extra_data=base.with_round(3).with_seals([sign_commit_seal(VALIDATOR_KEYS[0], h3, 3)]).encode()
    )
    assert h0.hash == h3.hash == sealed.hash
    # hash = keccak(header with extraData [vanity, validators, vote, 0, []])
    assert h0.hash == keccak(rlp.encode(h0.copy(extra_data=base.encode_for_onchain_hash())))
    # the vote *is* covered
    assert _child(QbftExtraData(validators=vals)).hash != h0.hash
    # commit seal hash depends on the round
    assert commit_seal_hash(h0, 0) != commit_seal_hash(h0, 3)
    assert commit_seal_hash(h3) == commit_seal_hash(h0, 3)


def test_seal_sign_and_recover() -> None:
    vals = sorted(addr(k) for k in VALIDATOR_KEYS[:3])
    extra = QbftExtraData(validators=vals, round=2)
    h = _child(extra)
    seals = [sign_commit_seal(k, h, 2) for k in VALIDATOR_KEYS[:3]]
    assert all(len(s) == 65 and s[64] in (0, 1) for s in seals)
    sealed = h.copy(extra_data=extra.with_seals(seals).encode())
    assert recover_seal_signers(sealed) == [addr(k) for k in VALIDATOR_KEYS[:3]]
    # a seal for another round recovers to some other address
    wrong_round = h.copy(extra_data=extra.with_seals([sign_commit_seal(VALIDATOR_KEYS[0], h, 1)]).encode())
    assert recover_seal_signers(wrong_round) != [addr(VALIDATOR_KEYS[0])]


def test_high_s_seal_rejected() -> None:
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    digest = b"\x11" * 32
    from co3chain.consensus.qbft.hashing import sign_digest

    sig = sign_digest(VALIDATOR_KEYS[0], digest)
    assert recover_signer(digest, sig) == addr(VALIDATOR_KEYS[0])
    s = int.from_bytes(sig[32:64], "big")
    flipped = sig[:32] + (n - s).to_bytes(32, "big") + bytes([sig[64] ^ 1])
    with pytest.raises(SealError):
        recover_signer(digest, flipped)


@pytest.mark.parametrize(("n", "q"), [(1, 1), (2, 2), (3, 2), (4, 3), (5, 4), (6, 4), (7, 5), (10, 7)])
def test_quorum(n: int, q: int) -> None:
    assert quorum(n) == q
