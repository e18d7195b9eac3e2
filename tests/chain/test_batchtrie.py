"""``batch_update`` against the ``trie`` package's ``HexaryTrie`` on random data: same root, and the
stored nodes serve every key (and no deleted key) to ``HexaryTrie`` at the new root."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from trie import HexaryTrie

from co3chain.chain.batchtrie import BLANK_ROOT, batch_update

short_keys = st.binary(min_size=1, max_size=3)  # shared prefixes, extensions, values in branches
hashed_keys = st.binary(min_size=32, max_size=32)
values = st.binary(min_size=1, max_size=40)  # short values make inline (< 32 byte) nodes


def _apply(ref: HexaryTrie, changes: dict) -> None:
    """The reference: ``changes`` (``None`` deletes) applied to py-trie's ``HexaryTrie`` one key at a time."""
    for k, v in changes.items():
        if v is None:
            del ref[k]
        else:
            ref[k] = v


def _check(initial: dict[bytes, bytes], changes: dict[bytes, bytes | None], same_length: bool) -> None:
    db: dict[bytes, bytes] = {}
    ref = HexaryTrie(db)
    for k, v in initial.items():
        ref[k] = v
    start = ref.root_hash
    ours_db = dict(db)
    _apply(ref, changes)
    root = batch_update(ours_db, ours_db, start, changes)
    assert root == ref.root_hash
    final = {**initial, **{k: v for k, v in changes.items() if v is not None}}
    for k, v in changes.items():
        if v is None:
            final.pop(k, None)
    reader = HexaryTrie(ours_db, root)
    for k, v in final.items():
        assert reader[k] == v
    for k, v in changes.items():
        if v is None and k not in final:
            assert reader[k] == b""
    if not final:
        assert root == BLANK_ROOT


@settings(max_examples=300, deadline=None)
@given(
    initial=st.dictionaries(short_keys, values, max_size=30),
    changes=st.dictionaries(short_keys, st.one_of(st.none(), values), max_size=30),
)
def test_batch_update_matches_hexary_trie_short_keys(initial, changes):
    _check(initial, changes, False)


@settings(max_examples=200, deadline=None)
@given(
    initial=st.dictionaries(hashed_keys, values, max_size=60),
    changes=st.dictionaries(hashed_keys, st.one_of(st.none(), values), max_size=40),
    delete_existing=st.integers(0, 60),
)
def test_batch_update_matches_hexary_trie_hashed_keys(initial, changes, delete_existing):
    for k in list(initial)[:delete_existing:2]:
        changes[k] = None  # deletions of keys that exist (node collapse)
    _check(initial, changes, True)


@settings(max_examples=200, deadline=None)
@given(
    initial=st.dictionaries(hashed_keys, values, min_size=1, max_size=60),
    rewrite=st.lists(st.tuples(st.integers(0, 59), st.one_of(st.none(), values)), min_size=1, max_size=40),
    fresh=st.dictionaries(hashed_keys, st.one_of(st.none(), values), max_size=5),
)
def test_rewriting_existing_leaves_matches_hexary_trie(initial, rewrite, fresh):
    """New values for (or deletions of) keys already in the trie, a few new keys mixed in: the case of
    a block's balance slots and accounts, which the leaf shortcut in ``_update`` serves."""
    keys = list(initial)
    changes = {keys[i % len(keys)]: v for i, v in rewrite}
    changes.update(fresh)
    _check(initial, changes, True)


def test_delete_everything_and_empty_changes():
    _check({b"\x01": b"a", b"\x01\x02": b"b"}, {b"\x01": None, b"\x01\x02": None}, False)
    _check({b"\x01": b"a"}, {}, False)


@settings(max_examples=200, deadline=None)
@given(
    items=st.dictionaries(st.one_of(short_keys, hashed_keys), values, max_size=40),
    probes=st.lists(st.one_of(short_keys, hashed_keys), max_size=20),
)
def test_trie_get_matches_hexary_trie(items, probes):
    from co3chain.chain.batchtrie import trie_get

    db: dict[bytes, bytes] = {}
    ref = HexaryTrie(db)
    for k, v in items.items():
        ref[k] = v
    for k in [*items, *probes]:
        assert trie_get(db, ref.root_hash, k) == ref[k]


@settings(max_examples=150, deadline=None)
@given(
    initial=st.dictionaries(st.one_of(short_keys, hashed_keys), values, max_size=40),
    changes=st.lists(st.dictionaries(st.one_of(short_keys, hashed_keys), st.one_of(st.none(), values),
                                     max_size=25), min_size=1, max_size=3),
)
def test_cached_nodes_are_exactly_the_decoded_stored_nodes(initial, changes):
    """``batch_update`` shares decoded nodes through the read cache: every cached node must equal what
    decoding its stored bytes gives, and successive updates through the cache must still match
    ``HexaryTrie`` (a cached node mutated by a later update would break one of the two)."""
    from co3chain.chain import batchtrie
    from co3chain.chain.noderlp import decode_node

    db: dict[bytes, bytes] = {}
    ref = HexaryTrie(db)
    for k, v in initial.items():
        ref[k] = v
    ours = dict(db)
    root = ref.root_hash
    for batch in changes:
        _apply(ref, batch)
        root = batch_update(ours, ours, root, batch)
        assert root == ref.root_hash
    for h, node in batchtrie._GET_CACHE.items():
        if h in ours:
            assert node == decode_node(ours[h])


@settings(max_examples=300, deadline=None)
@given(path=st.lists(st.integers(0, 15), max_size=70).map(bytes), leaf=st.booleans())
def test_hex_prefix_matches_the_arithmetic_form(path, leaf):
    from co3chain.chain.batchtrie import _hp, _unhp

    flag = 2 if leaf else 0
    seq = [flag + 1, *path] if len(path) % 2 else [flag, 0, *path]
    expected = bytes(seq[i] * 16 + seq[i + 1] for i in range(0, len(seq), 2))
    assert _hp(path, leaf) == expected
    assert _unhp(expected) == (path, leaf)
    assert (expected[0] >> 4 >= 2) == leaf  # the leaf test ``_update`` uses


SLOT_VALUE = 2**200


def _trie_missing_one_node() -> tuple[dict[bytes, bytes], bytes, list[bytes]]:
    """A 60-key trie whose store lost one node below the root; returns (store, root, keys)."""
    import rlp
    from eth_hash.auto import keccak

    from co3chain.chain import batchtrie, statedb

    db: dict[bytes, bytes] = {}
    ref = HexaryTrie(db)
    keys = [keccak(i.to_bytes(32, "big")) for i in range(60)]  # where storage slots 0..59 live
    for k in keys:
        ref[k] = rlp.encode(SLOT_VALUE)
    root_node = rlp.decode(db[ref.root_hash])
    assert len(root_node) == 17  # a branch: its children are stored by hash
    del db[next(child for child in root_node[:16] if len(child) == 32)]
    batchtrie._GET_CACHE.clear()
    statedb._NODE_CACHE.clear()
    return db, ref.root_hash, keys


def test_a_missing_node_is_an_error_not_an_absent_key():
    """A store that lost a node must stop the reader (as ``HexaryTrie`` does), not read as "no value":
    py-evm's state layers take ``KeyError`` for an empty slot, so a corrupted database read zeros."""
    import pytest
    from trie.exceptions import MissingTrieNode

    from co3chain.chain.batchtrie import trie_get

    db, root, keys = _trie_missing_one_node()
    missing_in_reference = 0
    for k in keys:
        try:
            expected = HexaryTrie(db, root)[k]
        except MissingTrieNode:
            missing_in_reference += 1
            with pytest.raises(MissingTrieNode):
                trie_get(db, root, k)
            continue
        assert trie_get(db, root, k) == expected
    assert missing_in_reference > 0


def test_a_storage_slot_under_a_missing_node_is_not_read_as_zero():
    from eth.db.atomic import AtomicDB
    from trie.exceptions import MissingTrieNode

    from co3chain.chain.statedb import BatchedAccountStorageDB

    db, root, keys = _trie_missing_one_node()
    atomic = AtomicDB()
    for node_hash, node in db.items():
        atomic[node_hash] = node
    storage = BatchedAccountStorageDB(atomic, root, b"\x11" * 20)
    failures = 0
    for slot in range(len(keys)):
        try:
            assert storage.get(slot) == SLOT_VALUE
        except MissingTrieNode:
            failures += 1
        except Exception as exc:  # noqa: BLE001 - py-evm may wrap it; anything but a silent zero will do
            assert "Missing" in type(exc).__name__, exc
            failures += 1
    assert 0 < failures < len(keys)


def test_storage_reads_fail_like_py_evm_on_a_missing_node():
    """The direct slot read (``BatchedStorageLookup.__getitem__``) raises py-evm's ``MissingStorageTrieNode``
    with the same fields for the same slots, and reads the same values for the others."""
    from eth.db.atomic import AtomicDB
    from eth.db.storage import AccountStorageDB
    from eth.vm.interrupt import MissingStorageTrieNode

    from co3chain.chain.statedb import BatchedAccountStorageDB

    db, root, keys = _trie_missing_one_node()
    atomic = AtomicDB()
    for node_hash, node in db.items():
        atomic[node_hash] = node
    address = b"\x11" * 20
    ours, theirs = BatchedAccountStorageDB(atomic, root, address), AccountStorageDB(atomic, root, address)

    def outcome(storage, slot):
        try:
            return "ok", storage.get(slot)
        except MissingStorageTrieNode as exc:
            return "missing", (exc.missing_node_hash, exc.root_hash, exc.requested_key, exc.account_address)

    results = [outcome(ours, slot) for slot in range(len(keys) + 5)]
    assert results == [outcome(theirs, slot) for slot in range(len(keys) + 5)]
    assert {r[0] for r in results} == {"ok", "missing"}


@settings(max_examples=500, deadline=None)
@given(raw=st.binary(min_size=1, max_size=40), path=st.lists(st.integers(0, 15), max_size=70).map(bytes))
def test_leaf_path_check_equals_encoding_the_path(raw, path):
    """The leaf shortcut's test decodes the stored prefix instead of encoding the key: same answer on
    any bytes (non-canonical prefixes included) and on the prefix of the path itself."""
    from co3chain.chain.batchtrie import _hp, _is_leaf_path

    assert _is_leaf_path(raw, path) == (_hp(path, True) == raw)
    assert _is_leaf_path(_hp(path, True), path)
    assert not _is_leaf_path(_hp(path, False), path)
    if path:
        assert not _is_leaf_path(_hp(path, True), path[:-1])


@given(st.binary(max_size=600))
def test_node_hash_is_keccak(data):
    from eth_hash.auto import keccak

    from co3chain.chain.batchtrie import _node_hash

    assert _node_hash(data) == keccak(data)
