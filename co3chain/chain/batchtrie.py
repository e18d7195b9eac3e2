"""Apply a block's worth of key changes to a Merkle-Patricia trie in one pass.

Why: after revm took over execution, the state-root commit became the largest cost of a block (py-evm's
``HexaryTrie`` inserts keys one at a time: every insert decodes, re-encodes and re-hashes the whole path
to the root, so a node near the root is hashed once per key). Here the changed keys are sorted and
pushed down the trie together: each touched node is loaded once, rebuilt once and hashed once per block.
Nodes are content-addressed and old ones are never deleted (readers of older roots keep working).
Equality with the ``trie`` package (roots *and* stored nodes readable by ``HexaryTrie``) is proven on
random data in ``tests/chain/test_batchtrie.py``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

import rlp
from eth_hash.auto import keccak
from trie.exceptions import MissingTrieNode

from co3chain.chain.fasthash import direct_keccak
from co3chain.chain.noderlp import decode_node, encode_node

BLANK_ROOT = keccak(rlp.encode(b""))


#: ``keccak`` for node hashes: a block's commit hashes every new trie node (~6 per transfer)
_node_hash = direct_keccak()
#: a key path, one nibble value (0-15) per byte: slicing, comparing, concatenating and sorting run in C
#: and sort exactly as tuples of the same integers would
Nibbles = bytes
#: a decoded node: ``[]`` (blank), ``[hp_path, value_or_ref]`` (leaf/extension) or 17 items (branch)
Node = list


#: hex digit (ASCII) -> its value, for :func:`_nibbles` (``bytes.hex`` and ``translate`` run in C)
_HEX_VALUES = bytes.maketrans(b"0123456789abcdef", bytes(range(16)))


def _nibbles(key: bytes) -> Nibbles:
    return key.hex().encode().translate(_HEX_VALUES)


#: the one-nibble paths, by nibble
_NIB = [bytes((n,)) for n in range(16)]


#: nibble value -> its hex digit (ASCII), for :func:`_hp` (the inverse of :data:`_HEX_VALUES`)
_NIBBLE_DIGITS = bytes.maketrans(bytes(range(16)), b"0123456789abcdef")


def _hp(path: Nibbles, leaf: bool) -> bytes:
    """Hex-prefix encoding of ``path`` (yellow paper appendix C): flag nibble, padding, then the path.

    Built as hex digits and converted by ``bytes.fromhex`` (C loops, no per-nibble Python arithmetic);
    ``tests/chain/test_batchtrie.py`` compares it with the arithmetic form on random paths."""
    flag = 2 if leaf else 0
    head = bytes((flag + 1,)) if len(path) % 2 else bytes((flag, 0))
    return bytes.fromhex((head + bytes(path)).translate(_NIBBLE_DIGITS).decode())


def _is_leaf_path(raw: bytes, path: Nibbles) -> bool:
    """``_hp(path, True) == raw``, by decoding ``raw`` (cheaper than encoding ``path``): a canonical leaf
    prefix (flag 3, or flag 2 and a zero pad nibble) whose path is ``path``."""
    hp = raw.hex().encode().translate(_HEX_VALUES)
    if hp[0] == 3:
        return hp[1:] == path
    return hp[0] == 2 and hp[1] == 0 and hp[2:] == path


def _unhp(raw: bytes) -> tuple[Nibbles, bool]:
    nib = _nibbles(raw)
    flag = nib[0]
    return (nib[1:] if flag & 1 else nib[2:]), flag >= 2


class _Writer:
    def __init__(self, read: Mapping[bytes, bytes], write: MutableMapping[bytes, bytes]) -> None:
        self.read = read
        self.write = write

    def load(self, ref: Any) -> Node:
        """The decoded node behind a parent's reference (hash, inline list or blank).

        Hashed nodes come from :data:`_GET_CACHE` when there (the block's execution just read the very
        paths this update rewrites); nothing here mutates a loaded node, so sharing them is safe.
        """
        if isinstance(ref, list):
            return ref
        if ref == b"" or ref == BLANK_ROOT:
            return []
        node = _GET_CACHE.get(ref)
        if node is None:
            node = decode_node(self.read[ref])
        return node

    def ref(self, node: Node) -> Any:
        """How a parent points at ``node``: inline when its RLP is < 32 bytes, else by stored hash.

        A stored node also enters :data:`_GET_CACHE` as it is (it is never changed after this call, and it
        is exactly what decoding its bytes gives: ``tests/chain/test_batchtrie.py``), so the next block's
        reads and updates of the same paths decode nothing.
        """
        if not node:
            return b""
        enc = encode_node(node)
        if len(enc) < 32:
            return node
        h = _node_hash(enc)
        self.write[h] = enc
        _remember(h, node)
        return h


def _build(w: _Writer, items: list[tuple[Nibbles, bytes]], depth: int) -> Node:
    """A fresh subtree holding ``items`` (sorted, distinct keys, all values non-empty)."""
    if not items:
        return []
    if len(items) == 1:
        key, value = items[0]
        return [_hp(key[depth:], True), value]
    first, last = items[0][0], items[-1][0]
    n = depth
    while n < len(first) and n < len(last) and first[n] == last[n]:
        n += 1
    if n > depth:
        return [_hp(first[depth:n], False), w.ref(_build(w, items, n))]
    branch: list[Any] = [b""] * 17
    i = 0
    if len(items[0][0]) == depth:
        branch[16] = items[0][1]
        i = 1
    for nib, run in _by_nibble(items, depth, i):
        branch[nib] = w.ref(_build(w, run, depth + 1))
    return branch


def _by_nibble(items: list[tuple[Nibbles, Any]], depth: int, start: int) -> Iterator[tuple[int, list[Any]]]:
    """The runs of ``items[start:]`` (sorted, all keys longer than ``depth``) that share the nibble at
    ``depth``: one per child of a branch, with that child's nibble."""
    i = start
    while i < len(items):
        nib = items[i][0][depth]
        j = i
        while j < len(items) and items[j][0][depth] == nib:
            j += 1
        yield nib, items[i:j]
        i = j


def _collect(w: _Writer, node: Node, prefix: Nibbles, out: dict[Nibbles, bytes]) -> None:
    """Every (key, value) below ``node`` (used only for single leaves and tiny inline subtrees)."""
    if not node:
        return
    if len(node) == 2:
        path, leaf = _unhp(node[0])
        if leaf:
            out[prefix + path] = node[1]
        else:
            _collect(w, w.load(node[1]), prefix + path, out)
        return
    for nib in range(16):
        if node[nib] != b"":
            _collect(w, w.load(node[nib]), prefix + _NIB[nib], out)
    if node[16] != b"":
        out[prefix] = node[16]


def _merge_into_fresh(
    w: _Writer, node: Node, prefix: Nibbles, items: list[tuple[Nibbles, bytes | None]]
) -> Node:
    existing: dict[Nibbles, bytes] = {}
    _collect(w, node, prefix, existing)
    for k, v in items:
        if v is None:
            existing.pop(k, None)
        else:
            existing[k] = v
    return _build(w, sorted(existing.items()), len(prefix))


def _update(w: _Writer, node: Node, prefix: Nibbles, items: list[tuple[Nibbles, bytes | None]]) -> Node:
    """``node`` (at key ``prefix``) with ``items`` applied; items are sorted and start with ``prefix``."""
    depth = len(prefix)
    if not node or (len(node) == 2 and node[0][0] >> 4 >= 2):  # blank, or a leaf (hex-prefix flag >= 2)
        if node and len(items) == 1:
            key, value = items[0]
            if _is_leaf_path(node[0], key[depth:]):
                # the leaf's own key: what the rebuild below gives (same hex-prefix path, new value, or
                # nothing when deleted) without collecting, sorting and re-encoding the path. Most of a
                # block's changes are of this kind (a balance slot or an account that already exists).
                return [] if value is None else [node[0], value]
        return _merge_into_fresh(w, node, prefix, items)  # blank or a single leaf: rebuild
    if len(node) == 2:  # extension
        path, _ = _unhp(node[0])
        end = depth + len(path)
        if all(k[depth:end] == path for k, _ in items):
            child = _update(w, w.load(node[1]), prefix + path, items)
            return _prepend(w, path, child)
        # some keys leave the extension: turn it into the equivalent branch and go on below
        rest = path[1:]
        branch: list[Any] = [b""] * 17
        branch[path[0]] = node[1] if not rest else w.ref([_hp(rest, False), node[1]])
        node = branch
    # branch
    new = list(node)
    i = 0
    if items and len(items[0][0]) == depth:
        v = items[0][1]
        new[16] = b"" if v is None else v
        i = 1
    for nib, run in _by_nibble(items, depth, i):
        new[nib] = w.ref(_update(w, w.load(new[nib]), prefix + _NIB[nib], run))
    return _normalize_branch(w, new)


def _prepend(w: _Writer, path: Nibbles, child: Node) -> Node:
    """An extension ``path`` above ``child``, merged with it when the child is a leaf/extension."""
    if not child:
        return []
    if len(child) == 2:
        cpath, leaf = _unhp(child[0])
        return [_hp(path + cpath, leaf), child[1]]
    return [_hp(path, False), w.ref(child)]


def _normalize_branch(w: _Writer, branch: list[Any]) -> Node:
    has_value = branch[16] != b""
    # children in use, counted in C (``list.count``): a branch with two of them, or one and a value, stays
    # as it is -- nearly every branch a block updates
    in_use = 16 - branch.count(b"") + (0 if has_value else 1)
    if in_use >= 2 or (in_use == 1 and has_value):
        return branch
    used = [n for n in range(16) if branch[n] != b""]
    if not used and not has_value:
        return []
    if not used:
        return [_hp(b"", True), branch[16]]
    if len(used) == 1 and not has_value:
        nib = used[0]
        return _prepend(w, _NIB[nib], w.load(branch[nib]))
    return branch


def batch_update(
    read: Mapping[bytes, bytes],
    write: MutableMapping[bytes, bytes],
    root: bytes,
    changes: Mapping[bytes, bytes | None],
) -> bytes:
    """Apply ``changes`` (trie key → RLP value, ``None``/``b""`` deletes) to the trie at ``root``.

    Nodes are read from ``read`` and new ones written to ``write`` (often the same batch); returns the
    new root hash. The root node is always stored, even when it is shorter than 32 bytes.
    """
    if not changes:
        return root
    items = sorted((_nibbles(k), v or None) for k, v in changes.items())
    w = _Writer(read, write)
    node = _update(w, w.load(root), b"", items)
    if not node:
        return BLANK_ROOT
    enc = encode_node(node)
    h = keccak(enc)
    write[h] = enc
    if len(enc) >= 32:  # a short root is stored but never referenced by hash from a parent
        _remember(h, node)
    return h


#: Decoded nodes by hash for :func:`trie_get` and :func:`batch_update` (content-addressed: never stale;
#: bounded for memory). Entries are shared and must never be mutated.
_GET_CACHE: dict[bytes, Node] = {}
GET_CACHE_SIZE = 200_000


def _remember(h: bytes, node: Node) -> None:
    if len(_GET_CACHE) >= GET_CACHE_SIZE:
        _GET_CACHE.clear()
    _GET_CACHE[h] = node


def _load_cached(read: Mapping[bytes, bytes], ref: Any) -> Node:
    if isinstance(ref, list):
        return ref
    if len(ref) < 32:
        return decode_node(ref) if ref else []
    node = _GET_CACHE.get(ref)
    if node is None:
        node = decode_node(read[ref])
        _remember(ref, node)
    return node


def trie_get(read: Mapping[bytes, bytes], root: bytes, key: bytes) -> bytes:
    """Value stored under ``key`` in the trie at ``root`` (``b""`` when absent).

    Why not ``HexaryTrie.get``: state reads are on every transaction's path and py-trie's generic
    traversal (nibble tuples, terminator handling, node-type dispatch) costs several times this walk.
    A node missing from ``read`` raises ``MissingTrieNode``, as ``HexaryTrie.get`` does — not ``KeyError``:
    py-evm's state layers read ``KeyError`` as "no such key" (a zero slot, an empty account), so a pruned
    or corrupted database would silently read zeros and fork the node off instead of stopping it.
    """
    try:
        return _trie_walk(read, root, key)
    except KeyError as missing:
        node_hash = missing.args[0] if missing.args and isinstance(missing.args[0], bytes) else b""
        raise MissingTrieNode(node_hash, root, key) from None


def _trie_walk(read: Mapping[bytes, bytes], root: bytes, key: bytes) -> bytes:
    if root == BLANK_ROOT:
        return b""
    # nibbles as ``bytes`` (one value per byte, as the update uses them): a read only indexes and compares
    # them, and building a 64-item tuple per key and per node path was most of this walk's time
    nib = key.hex().encode().translate(_HEX_VALUES)
    i, n = 0, len(nib)
    node = _load_cached(read, root)
    cache = _GET_CACHE  # cleared in place, never rebound
    while True:
        if not node:
            return b""
        if len(node) == 17:
            if i == n:
                return node[16]
            ref = node[nib[i]]
            if ref == b"":
                return b""
            i += 1
            # a hashed child already decoded (nearly every step of a block's reads): no call
            node = cache.get(ref) if ref.__class__ is bytes and len(ref) == 32 else None
            if node is None:
                node = _load_cached(read, ref)
            continue
        hp = node[0].hex().encode().translate(_HEX_VALUES)
        path = hp[1:] if hp[0] & 1 else hp[2:]
        end = i + len(path)
        if nib[i:end] != path:
            return b""
        if hp[0] >= 2:  # leaf
            return node[1] if end == n else b""
        i = end
        node = _load_cached(read, node[1])
