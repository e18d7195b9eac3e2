"""py-evm's account database with the state-root commit done by :func:`~co3chain.chain.batchtrie.batch_update`.

Why: py-evm applies every changed storage slot and account to its ``HexaryTrie`` one key at a time;
with revm executing, that commit was about half of a block's work. These subclasses change only *how*
the tries are updated (all of a trie's pending keys at once, each node hashed once per block), not what
is stored: the node format, the roots and the journal/revert behaviour are py-evm's. The chain's state
(genesis, ``state_at``, ``eth_getProof``) keeps reading the same trie nodes with ``HexaryTrie``.
"""

from __future__ import annotations

from typing import Any

from eth.constants import BLANK_ROOT_HASH
from eth.db.accesslog import KeyAccessLoggerDB
from eth.db.account import AccountDB
from eth.db.cache import CacheDB
from eth.db.hash_trie import HashTrie
from eth.db.journal import JournalDB
from eth.db.storage import AccountStorageDB, StorageLookup
from eth_hash.auto import keccak
from trie import HexaryTrie

from co3chain.chain.batchtrie import batch_update, trie_get

#: Decoded trie nodes by hash. Nodes are content-addressed (a hash always names the same node), so
#: entries never go stale; the bound only limits memory (~100 bytes of RLP each, a few hundred MiB
#: worst case). Why: every state read walks from the root, and the top levels are the same nodes.
_NODE_CACHE: dict[bytes, Any] = {}
NODE_CACHE_SIZE = 200_000


class CachedHexaryTrie(HexaryTrie):
    """``HexaryTrie`` whose reads go through caches of decoded nodes: :meth:`get` is
    :func:`~co3chain.chain.batchtrie.trie_get`, node lookups use :data:`_NODE_CACHE` (reads only: writes
    go through :func:`batch_update`, which never mutates a loaded node)."""

    def get(self, key: bytes) -> bytes:
        return trie_get(self.db, self.root_hash, key)

    def get_node(self, node_hash: Any) -> Any:
        if len(node_hash) == 32:
            node = _NODE_CACHE.get(node_hash)
            if node is None:
                node = super().get_node(node_hash)
                if len(_NODE_CACHE) >= NODE_CACHE_SIZE:
                    _NODE_CACHE.clear()
                _NODE_CACHE[node_hash] = node
            return node
        return super().get_node(node_hash)


class BatchedStorageLookup(StorageLookup):
    """Buffer slot writes until a root is needed, then apply them in one :func:`batch_update`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._pending: dict[bytes, bytes | None] = {}
        super().__init__(*args, **kwargs)

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._pending[self._decode_key(key)] = value

    def __delitem__(self, key: bytes) -> None:
        self._pending[self._decode_key(key)] = None

    def __getitem__(self, key: bytes) -> bytes:
        hashed = self._decode_key(key)
        if hashed in self._pending:
            value = self._pending[hashed]
            if value is None:
                raise KeyError(key)
            return value
        return super().__getitem__(key)

    def _exists(self, key: bytes) -> bool:
        hashed = self._decode_key(key)
        if hashed in self._pending:
            return self._pending[hashed] is not None
        return super()._exists(key)

    def _get_read_trie(self) -> HexaryTrie:
        if self._write_trie is not None:
            return CachedHexaryTrie(self._trie_nodes_batch, self._write_trie.root_hash)
        return CachedHexaryTrie(self._db, self._starting_root_hash)

    def _flush(self) -> None:
        if not self._pending:
            return
        trie = self._get_write_trie()
        trie.root_hash = batch_update(trie.db, trie.db, trie.root_hash, self._pending)
        self._pending = {}

    @property
    def has_changed_root(self) -> bool:
        return bool(self._pending) or super().has_changed_root

    def get_changed_root(self) -> Any:
        self._flush()
        return super().get_changed_root()

    def commit_to(self, db: Any) -> None:
        self._flush()
        super().commit_to(db)

    def new_trie(self) -> int:
        self._flush()  # writes so far belong to the trie being set aside (revivable by rollback)
        return super().new_trie()

    def rollback_trie(self, trie_index: int) -> None:
        self._pending = {}  # pending writes belong to the trie that is being discarded
        super().rollback_trie(trie_index)


class BatchedAccountStorageDB(AccountStorageDB):
    """py-evm's per-account storage over a :class:`BatchedStorageLookup`."""

    def __init__(self, db: Any, storage_root: bytes, address: bytes) -> None:
        super().__init__(db, storage_root, address)
        self._storage_lookup = BatchedStorageLookup(db, storage_root, address)
        self._storage_cache = CacheDB(self._storage_lookup)
        self._locked_changes = JournalDB(self._storage_cache)
        self._journal_storage = JournalDB(self._locked_changes)


class BatchedAccountDB(AccountDB):
    """py-evm's ``AccountDB`` whose account and storage tries are updated in batches."""

    def __init__(self, db: Any, state_root: bytes = BLANK_ROOT_HASH) -> None:
        super().__init__(db, state_root)
        # same layering as py-evm's, over a trie that caches decoded nodes
        self._trie = HashTrie(CachedHexaryTrie(self._batchtrie, state_root, prune=True))
        self._trie_logger = KeyAccessLoggerDB(self._trie, log_missing_keys=False)
        self._trie_cache = CacheDB(self._trie_logger)
        self._journaltrie = JournalDB(self._trie_cache)

    def _get_address_store(self, address: Any) -> Any:
        store = self._account_stores.get(address)
        if store is None:
            store = BatchedAccountStorageDB(self._raw_store_db, self._get_storage_root(address), address)
            self._account_stores[address] = store
        return store

    def _apply_account_diff_without_proof(self, diff: Any, trie: Any) -> None:
        changes: dict[bytes, bytes | None] = {keccak(k): None for k in diff.deleted_keys()}
        for k, v in diff.pending_items():
            changes[keccak(k)] = v
        hexary = trie._db  # HashTrie (keccak keys) over the HexaryTrie being squashed
        hexary.root_hash = batch_update(hexary.db, hexary.db, hexary.root_hash, changes)
