"""Root of an index-keyed Merkle-Patricia trie (transactions, receipts) computed in one pass.

Why: py-evm's ``make_trie_root_and_nodes`` inserts items one by one into a ``HexaryTrie`` (decode,
re-encode and hash of every touched node per insert), which costs ~15 % of building a 1,000-transaction
block. The block roots only need the root hash, so we build the trie bottom-up from the sorted keys
(like geth's StackTrie): every node is encoded and hashed exactly once. Equality with py-evm's result is
tested for many sizes in ``tests/chain/test_triehash.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth.constants import BLANK_ROOT_HASH
from eth_hash.auto import keccak

# the state trie's nibble split and hex-prefix encoding: one implementation for both kinds of trie
from co3chain.chain.batchtrie import _hp as _hex_prefix
from co3chain.chain.batchtrie import _nibbles
from co3chain.chain.noderlp import encode_node
from co3chain.chain.rlpwrite import rlp_uint


def _ref(node: list) -> Any:
    """How a parent refers to ``node``: inline if its RLP is < 32 bytes, else by hash."""
    enc = encode_node(node)
    return node if len(enc) < 32 else keccak(enc)


def _build(items: list[tuple[tuple[int, ...], bytes]], depth: int) -> list:
    if len(items) == 1:
        key, value = items[0]
        return [_hex_prefix(key[depth:], True), value]
    first, last = items[0][0], items[-1][0]  # sorted: common prefix of all == that of first and last
    n = depth
    while n < len(first) and n < len(last) and first[n] == last[n]:
        n += 1
    if n > depth:
        return [_hex_prefix(first[depth:n], False), _ref(_build(items, n))]
    branch: list[Any] = [b""] * 17
    start = 0
    if len(items[0][0]) == depth:  # a key ending exactly here stores its value in the branch
        branch[16] = items[0][1]
        start = 1
    i = start
    while i < len(items):
        nib = items[i][0][depth]
        j = i
        while j < len(items) and items[j][0][depth] == nib:
            j += 1
        branch[nib] = _ref(_build(items[i:j], depth + 1))
        i = j
    return branch


def ordered_trie_root(values: Sequence[bytes]) -> bytes:
    """Root of the trie mapping ``rlp(index) -> values[index]`` (Ethereum's tx/receipt tries)."""
    if not values:
        return BLANK_ROOT_HASH
    items = sorted((_nibbles(rlp_uint(i)), bytes(v)) for i, v in enumerate(values))
    return keccak(encode_node(_build(items, 0)))
