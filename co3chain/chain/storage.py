"""Key-value storage behind py-evm's ``AtomicDatabaseAPI``: RocksDB (rocksdict) on disk, dict in memory.

Durability model: every block import is staged in an :class:`Overlay` (state trie nodes, code, header,
body, receipts, tx index, canonical number→hash and the head pointer) and then flushed with
:meth:`KVStore.write_many` as ONE RocksDB ``WriteBatch`` written with ``sync=True`` (WAL fsync'd). RocksDB
applies a write batch atomically, so a ``kill -9`` or power loss leaves the database at either the old or
the new head, never in between. Writes outside a batch (none in normal operation) are not synced.

One exception, for catching up from peers (``NodeChain.deferred_fsync``): the blocks of a sync batch are
written with ``sync=False`` and the WAL is fsync'd once at the end of the batch (:meth:`KVStore.sync_wal`).
Each write still reaches the operating system before the import returns (RocksDB hands the WAL record to
the kernel on every write unless ``manual_wal_flush`` is set, which it is not here), so a ``kill -9`` of
the node loses nothing; a power loss may lose the batch's last blocks, never a block's half, and those
blocks are final on the network and simply fetched again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path

from eth.abc import AtomicWriteBatchAPI
from eth.db.backends.base import BaseAtomicDB, BaseDB

from co3chain.errors import Co3Error

_DELETED = object()


class StorageError(Co3Error):
    """The data directory cannot be opened or is corrupt."""


class KVStore(BaseAtomicDB):
    """Base for the concrete stores: adds :meth:`write_many` (one atomic, durable write)."""

    def write_many(self, changes: Mapping[bytes, bytes | None], sync: bool = True) -> None:  # pragma: no cover
        """Apply ``changes`` (``None`` deletes) atomically; ``sync`` fsyncs the write-ahead log first."""
        raise NotImplementedError

    def sync_wal(self) -> None:
        """Make every earlier write durable against power loss (fsync the write-ahead log)."""

    def atomic_batch(self) -> contextlib.AbstractContextManager[AtomicWriteBatchAPI]:
        return _batch_context(self)

    def close(self) -> None:
        """Release resources (no-op for memory)."""


class MemoryKV(KVStore):
    """In-memory store with the same semantics as :class:`RocksKV` (tests, ``data_dir=None``)."""

    def __init__(self) -> None:
        self._data: dict[bytes, bytes] = {}

    def __getitem__(self, key: bytes) -> bytes:
        return self._data[key]

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._data[bytes(key)] = bytes(value)

    def __delitem__(self, key: bytes) -> None:
        del self._data[key]

    def _exists(self, key: bytes) -> bool:
        return key in self._data

    def write_many(self, changes: Mapping[bytes, bytes | None], sync: bool = True) -> None:
        for k, v in changes.items():
            if v is None:
                self._data.pop(k, None)
            else:
                self._data[k] = v


class RocksKV(KVStore):
    """RocksDB store in ``path`` (created if missing). One process at a time may open it."""

    def __init__(self, path: Path) -> None:
        from rocksdict import Options, Rdict, WriteOptions

        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        opts = Options(raw_mode=True)
        opts.create_if_missing(True)
        try:
            self._db = Rdict(str(self.path), opts)
        except Exception as exc:  # rocksdict raises plain Exception for lock/corruption errors
            raise StorageError(f"cannot open database at {self.path}: {exc}") from exc
        self._sync = WriteOptions()
        self._sync.sync = True

    def __getitem__(self, key: bytes) -> bytes:
        value = self._db.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._db.put(bytes(key), bytes(value))

    def __delitem__(self, key: bytes) -> None:
        if self._db.get(key) is None:
            raise KeyError(key)
        self._db.delete(key)

    def _exists(self, key: bytes) -> bool:
        return self._db.get(key) is not None

    def write_many(self, changes: Mapping[bytes, bytes | None], sync: bool = True) -> None:
        self._write(changes, None, sync)

    def _write(self, changes: Mapping[bytes, object], deleted: object, sync: bool) -> None:
        """One atomic write of ``changes``, where a value that ``is deleted`` deletes its key.

        Why the marker: :meth:`Overlay.flush` hands its own buffer over (its delete marker), saving the
        per-key copy into ``None``-for-delete form on every block."""
        from rocksdict import WriteBatch

        wb = WriteBatch(raw_mode=True)
        put, delete = wb.put, wb.delete
        for k, v in changes.items():
            if v is deleted:
                delete(k)
            else:
                put(k, v)
        if sync:
            self._db.write(wb, self._sync)
        else:
            self._db.write(wb)

    def sync_wal(self) -> None:
        self._db.flush_wal(True)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._db.close()


class Overlay(KVStore):
    """Write-buffer over a base store: reads fall through, writes stay here until :meth:`flush`.

    Why: block execution and indexing write thousands of keys; buffering them lets the whole import be
    committed as one atomic write, and lets a block built by the proposer be imported without executing
    it a second time (its overlay is kept and flushed when the sealed block comes back).
    """

    def __init__(self, base: BaseDB) -> None:
        self.base = base
        self.changes: dict[bytes, object] = {}

    def __getitem__(self, key: bytes) -> bytes:
        v = self.changes.get(key)
        if v is None:
            return self.base[key]
        if v is _DELETED:
            raise KeyError(key)
        return v  # type: ignore[return-value]

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.changes[bytes(key)] = bytes(value)

    def __delitem__(self, key: bytes) -> None:
        if not self._exists(key):
            raise KeyError(key)
        self.changes[key] = _DELETED

    def _exists(self, key: bytes) -> bool:
        v = self.changes.get(key)
        if v is None:
            return key in self.base
        return v is not _DELETED

    def write_many(self, changes: Mapping[bytes, bytes | None], sync: bool = True) -> None:
        for k, v in changes.items():
            self.changes[k] = _DELETED if v is None else v

    def pending(self) -> dict[bytes, bytes | None]:
        """The buffered changes (``None`` = delete)."""
        return {k: (None if v is _DELETED else v) for k, v in self.changes.items()}  # type: ignore[misc]

    def flush(self, sync: bool = True) -> None:
        """Write every buffered change to the base in one atomic write, then clear the buffer.

        ``sync=False`` leaves the fsync to a later :meth:`KVStore.sync_wal` (see the module docstring)."""
        if type(self.base) is RocksKV:  # exactly RocksDB: hand the buffer over as it is (see RocksKV._write)
            self.base._write(self.changes, _DELETED, sync)
        elif isinstance(self.base, KVStore):
            self.base.write_many(self.pending(), sync)
        else:
            with self.base.atomic_batch() as batch:  # type: ignore[attr-defined]
                for k, v in self.pending().items():
                    if v is None:
                        batch.delete(k)
                    else:
                        batch[k] = v
        self.changes.clear()


class _Batch(BaseDB, AtomicWriteBatchAPI):
    """A pending atomic batch over a :class:`KVStore` (py-evm's ``atomic_batch()`` contract)."""

    def __init__(self, store: KVStore) -> None:
        self._store = store
        self._changes: dict[bytes, bytes | None] = {}

    def __getitem__(self, key: bytes) -> bytes:
        if key in self._changes:
            v = self._changes[key]
            if v is None:
                raise KeyError(key)
            return v
        return self._store[key]

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._changes[bytes(key)] = bytes(value)

    def __delitem__(self, key: bytes) -> None:
        if not self._exists(key):
            raise KeyError(key)
        self._changes[key] = None

    def _exists(self, key: bytes) -> bool:
        if key in self._changes:
            return self._changes[key] is not None
        return key in self._store


@contextlib.contextmanager
def _batch_context(store: KVStore) -> Iterator[_Batch]:
    batch = _Batch(store)
    yield batch
    # Only reached when the with-block did not raise: commit everything at once.
    store.write_many(batch._changes)


def open_store(data_dir: Path | None) -> KVStore:
    """RocksDB under ``data_dir/chaindb`` or a fresh in-memory store when ``data_dir`` is ``None``."""
    if data_dir is None:
        return MemoryKV()
    return RocksKV(Path(data_dir) / "chaindb")
