"""The one-pass ordered trie root equals py-evm's HexaryTrie-based root."""

import random

import pytest
from eth.db.trie import make_trie_root_and_nodes

from co3chain.chain.triehash import ordered_trie_root


class _Item:
    """Minimal object with ``encode()`` as py-evm's trie helper expects from txs/receipts."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def encode(self) -> bytes:
        return self.data


@pytest.mark.parametrize("n", [0, 1, 2, 3, 15, 16, 17, 127, 128, 129, 255, 256, 300, 1000])
def test_matches_pyevm(n: int) -> None:
    rng = random.Random(n)
    values = [rng.randbytes(rng.choice([1, 5, 20, 31, 32, 33, 100])) for _ in range(n)]
    expected, _ = make_trie_root_and_nodes([_Item(v) for v in values])
    assert ordered_trie_root(values) == expected


def test_short_values_are_embedded() -> None:
    values = [bytes([i]) for i in range(40)]
    expected, _ = make_trie_root_and_nodes([_Item(v) for v in values])
    assert ordered_trie_root(values) == expected


def test_index_keys_equal_rlp() -> None:
    import rlp

    from co3chain.chain.rlpwrite import rlp_uint as _index_key  # the trie key of item i

    for i in [*range(0, 300), 65535, 65536, 2**24, 2**40 + 7]:
        assert _index_key(i) == rlp.encode(i)
