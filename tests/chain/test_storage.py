"""KV stores behind py-evm's AtomicDatabaseAPI: memory, RocksDB, overlay."""

from __future__ import annotations

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
