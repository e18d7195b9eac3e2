"""Transaction hashes and size from a stored block's RLP equal those of the decoded block."""

from __future__ import annotations

import pytest
import rlp

from co3chain.chain.chain import NodeChain
from co3chain.chain.rawblock import RawBlockError, block_tx_hashes
from tests.chain.helpers import USER_KEYS, USERS, make_test_genesis, produce, sign_tx


def test_hashes_and_size_match_the_decoded_block_for_every_tx_type() -> None:
    chain = NodeChain.open(None, make_test_genesis(1))
    raws = [
        sign_tx(USER_KEYS[0], chain, nonce=0, to=USERS[1], gas=21000),  # legacy (EIP-155)
        sign_tx(USER_KEYS[0], chain, nonce=1, to=USERS[1], gas=30000, gasPrice=0,
                accessList=[{"address": "0x" + USERS[2].hex(), "storageKeys": ["0x" + "00" * 32]}]),  # EIP-2930
        sign_tx(USER_KEYS[1], chain, nonce=0, to=USERS[2], gas=21000, maxFeePerGas=10**9,
                maxPriorityFeePerGas=0),  # EIP-1559
    ]
    sealed, _ = produce(chain, raws)
    assert [tx.type_id for tx in sealed.transactions] == [None, 1, 2]
    hashes, size = chain.get_block_tx_hashes(sealed.hash)
    assert hashes == [tx.hash for tx in sealed.transactions]
    assert size == len(rlp.encode(sealed))

    empty, _ = produce(chain, [])
    assert chain.get_block_tx_hashes(empty.hash) == ([], len(rlp.encode(empty)))
    assert chain.get_block_tx_hashes(b"\x00" * 32) is None


def test_malformed_block_bytes_are_refused() -> None:
    for junk in (b"", b"\x05", rlp.encode(b"not a list"), rlp.encode([b"header"]), rlp.encode([[], b"x"]),
                 rlp.encode([[], [b"\x01"]])[:-1], rlp.encode([[], []]) + b"\x00"):
        with pytest.raises(RawBlockError):
            block_tx_hashes(junk)
