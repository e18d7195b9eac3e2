"""KV stores behind py-evm's AtomicDatabaseAPI: memory, RocksDB, overlay."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
import rlp
from hypothesis import given, settings
from hypothesis import strategies as st

from co3chain.chain.chain import tx_location_rlp
from co3chain.chain.storage import KVStore, MemoryKV, Overlay, RocksKV, StorageError


@pytest.fixture(params=["memory", "rocks"])
def store(request: pytest.FixtureRequest, tmp_path: Path):
    s: KVStore = MemoryKV() if request.param == "memory" else RocksKV(tmp_path / "db")
    yield s
    s.close()


def test_basic_ops(store: KVStore) -> None:
    store[b"a"] = b"1"
    assert store[b"a"] == b"1" and b"a" in store and store.exists(b"a")
    assert store.get(b"missing") is None and b"missing" not in store
    del store[b"a"]
    assert b"a" not in store
    with pytest.raises(KeyError):
        del store[b"a"]
    with pytest.raises(KeyError):
        store[b"a"]


def test_atomic_batch_commits_or_discards(store: KVStore) -> None:
    store[b"keep"] = b"0"
    with store.atomic_batch() as b:
        b[b"x"] = b"1"
        del b[b"keep"]
        assert b[b"x"] == b"1" and b"keep" not in b
        assert b"x" not in store  # not visible before commit
    assert store[b"x"] == b"1" and b"keep" not in store
    with pytest.raises(RuntimeError), store.atomic_batch() as b:
        b[b"y"] = b"2"
        raise RuntimeError("abort")
    assert b"y" not in store


def test_overlay_buffers_until_flush(store: KVStore) -> None:
    store[b"old"] = b"0"
    ov = Overlay(store)
    ov[b"new"] = b"1"
    del ov[b"old"]
    assert ov[b"new"] == b"1" and b"old" not in ov
    assert b"new" not in store and store[b"old"] == b"0"
    with ov.atomic_batch() as b:  # nested batches stay in the overlay
        b[b"n2"] = b"2"
    assert b"n2" in ov and b"n2" not in store
    ov.flush()
    assert store[b"new"] == b"1" and store[b"n2"] == b"2" and b"old" not in store
    assert ov.pending() == {}


def test_rocks_persists_and_locks(tmp_path: Path) -> None:
    s = RocksKV(tmp_path / "db")
    s.write_many({b"k": b"v", b"gone": None})
    with pytest.raises(StorageError, match="cannot open"):
        RocksKV(tmp_path / "db")  # second opener is refused while the first holds the lock
    s.close()
    s2 = RocksKV(tmp_path / "db")
    assert s2[b"k"] == b"v"
    s2.close()


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=32, max_size=32),
       st.one_of(st.integers(0, 300), st.integers(0, 2**64 - 1), st.integers(0, 2**200)),
       st.one_of(st.integers(0, 300), st.integers(0, 2**32), st.integers(0, 2**200)))
def test_tx_location_encoding_equals_pyrlp(block_hash: bytes, number: int, index: int) -> None:
    assert tx_location_rlp(block_hash, number, index) == rlp.encode([block_hash, number, index])


def test_rocks_unsynced_writes_then_one_wal_fsync_persist(tmp_path: Path) -> None:
    kv = RocksKV(tmp_path / "db")
    kv.write_many({b"a": b"1", b"b": b"2"}, sync=False)
    Overlay(kv).write_many({b"c": b"3"})  # buffered only
    ov = Overlay(kv)
    ov[b"c"] = b"3"
    ov.flush(sync=False)
    kv.sync_wal()
    kv.close()
    again = RocksKV(tmp_path / "db")
    assert (again[b"a"], again[b"b"], again[b"c"]) == (b"1", b"2", b"3")
    again.close()


class _GenericRocksKV(RocksKV):
    """RocksDB reached through ``write_many`` as any other store (the path ``Overlay.flush`` took before)."""


_overlay_op = st.one_of(
    st.tuples(st.just("set"), st.binary(min_size=1, max_size=3), st.binary(max_size=5)),
    st.tuples(st.just("del"), st.binary(min_size=1, max_size=3)),
    st.tuples(st.just("batch"), st.binary(min_size=1, max_size=3), st.one_of(st.none(), st.binary(max_size=5))),
    st.tuples(st.just("flush"), st.booleans()),
)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.binary(min_size=1, max_size=3), st.binary(max_size=5), max_size=8),
       st.lists(_overlay_op, max_size=30))
def test_overlay_flush_into_rocks_equals_the_generic_write(tmp_path_factory: pytest.TempPathFactory,
                                                           initial: dict, ops: list) -> None:
    """``Overlay.flush`` hands its buffer straight to RocksDB (delete marker included); the stored result
    equals the same operations flushed through ``write_many`` and through a memory store."""
    root = tmp_path_factory.mktemp("flush")
    stores = [RocksKV(root / "direct"), _GenericRocksKV(root / "generic"), MemoryKV()]
    try:
        for s in stores:
            s.write_many(initial)
        overlays = [Overlay(s) for s in stores]
        for op in ops:
            for ov in overlays:
                if op[0] == "set":
                    ov[op[1]] = op[2]
                elif op[0] == "del":
                    with contextlib.suppress(KeyError):
                        del ov[op[1]]
                elif op[0] == "batch":
                    ov.write_many({op[1]: op[2]})
                else:
                    ov.flush(sync=op[1])
        for ov in overlays:
            ov.flush()
            assert ov.pending() == {}
        keys = set(initial) | {op[1] for op in ops if op[0] != "flush"}
        contents = [{k: s.get(k) for k in keys} for s in stores]
        assert contents[0] == contents[1] == contents[2]
    finally:
        for s in stores:
            s.close()
