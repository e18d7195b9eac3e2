"""py-evm's account database with the state-root commit done by :func:`~co3chain.chain.batchtrie.batch_update`
and accounts kept decoded until the trie needs their bytes.

Why: py-evm applies every changed storage slot and account to its ``HexaryTrie`` one key at a time;
with revm executing, that commit was about half of a block's work. These subclasses change only *how*
the tries are updated (all of a trie's pending keys at once, each node hashed once per block), not what
is stored: the node format, the roots and the journal/revert behaviour are py-evm's. The chain's state
(genesis, ``state_at``, ``eth_getProof``) keeps reading the same trie nodes with ``HexaryTrie``.

Second, py-evm's ``AccountDB`` RLP-encodes the whole account on *every* field change (a transfer sets the
sender's nonce, balance twice and the coinbase's balance: four encodings) through ``Account.copy``, which
re-validates all four fields, and every read validates the address again. :class:`BatchedAccountDB`
keeps the decoded ``Account`` objects in the account journal (py-evm's own ``JournalDB``, so
snapshots, reverts and commits are unchanged) and encodes each changed account once, when a state root is
made. ``tests/chain/test_statedb.py`` runs random operation sequences against py-evm's ``AccountDB`` and
compares every read, every root and the persisted database.
"""

from __future__ import annotations

from typing import Any

import rlp
from eth.constants import BLANK_ROOT_HASH
from eth.db.accesslog import KeyAccessLoggerDB
from eth.db.account import AccountDB
from eth.db.cache import CacheDB
from eth.db.hash_trie import HashTrie
from eth.db.journal import DELETE_WRAPPED as _DELETE
from eth.db.journal import REVERT_TO_WRAPPED as _REVERT
from eth.db.journal import Journal, JournalDB
from eth.db.storage import AccountStorageDB, StorageLookup
from eth.db.witness import AccountQueryTracker, MetaWitness
from eth.rlp.accounts import Account
from eth.validation import validate_canonical_address, validate_uint64, validate_uint256
from eth.vm.interrupt import MissingAccountTrieNode, MissingStorageTrieNode
from eth_hash.auto import keccak
from rlp.sedes import big_endian_int
from trie import HexaryTrie
from trie.exceptions import MissingTrieNode

from co3chain.chain.batchtrie import batch_update, trie_get
from co3chain.chain.rlpwrite import rlp_uint

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


#: ``keccak(pad32(slot))`` by slot key bytes (:meth:`BatchedStorageLookup._decode_key`): a transfer reads
#: and then writes the same two slots, and a hash never changes, so the bound only limits memory.
_SLOT_KEYS: dict[bytes, bytes] = {}
SLOT_KEYS_SIZE = 100_000


class BatchedStorageLookup(StorageLookup):
    """Buffer slot writes until a root is needed, then apply them in one :func:`batch_update`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._pending: dict[bytes, bytes | None] = {}
        super().__init__(*args, **kwargs)

    def _decode_key(self, key: bytes) -> bytes:
        """py-evm's ``keccak(pad32(key))`` (the trie key of a slot), remembered in :data:`_SLOT_KEYS`."""
        hashed = _SLOT_KEYS.get(key)
        if hashed is None:
            hashed = keccak(key.rjust(32, b"\0"))
            if len(_SLOT_KEYS) >= SLOT_KEYS_SIZE:
                _SLOT_KEYS.clear()
            _SLOT_KEYS[key] = hashed
        return hashed

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
        # py-evm's ``StorageLookup.__getitem__`` on the trie ``_get_read_trie`` names, without hashing the
        # key a second time or building a trie object per read (a follower reads ~3 slots per transfer)
        if self._write_trie is not None:
            db, root = self._trie_nodes_batch, self._write_trie.root_hash
        else:
            db, root = self._db, self._starting_root_hash
        try:
            return trie_get(db, root, hashed)
        except MissingTrieNode as exc:
            raise MissingStorageTrieNode(
                exc.missing_node_hash, self._starting_root_hash, exc.requested_key, exc.prefix, self._address
            ) from exc

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


def decode_slot_value(encoded: bytes) -> int:
    """``rlp.decode(encoded, sedes=big_endian_int)``: canonical encodings of up to 32 bytes are read
    directly, anything else (including the non-canonical ones pyrlp refuses) goes through pyrlp."""
    n = len(encoded)
    if n == 1:
        b0 = encoded[0]
        if 0 < b0 < 0x80:
            return b0
    elif 2 <= n <= 33 and encoded[0] == 0x7F + n and encoded[1] != 0 and (n > 2 or encoded[1] >= 0x80):
        return int.from_bytes(encoded[1:], "big")
    return rlp.decode(encoded, sedes=big_endian_int)


class BatchedAccountStorageDB(AccountStorageDB):
    """py-evm's per-account storage over a :class:`BatchedStorageLookup`; slot reads decode values
    without pyrlp's generic machinery (:func:`decode_slot_value`)."""

    def get(self, slot: int, from_journal: bool = True) -> int:
        """py-evm's read through its layers (pending journal, locked changes, read cache, trie), with
        the ``JournalDB``/``Journal``/``CacheDB`` lookups of py-evm done inline.

        Why: a follower reads ~3 slots per transfer, and the five nested ``__getitem__`` calls cost more
        than the answer. Each step is py-evm's (a journal's current value, its clear flag, the delete
        markers, the read cache's same ``in``/get/set sequence); proven equal to py-evm's ``AccountDB``
        on random operation sequences in ``tests/chain/test_statedb.py``."""
        self._accessed_slots.add(slot)
        key = slot.to_bytes((slot.bit_length() + 7) // 8 or 1, "big")
        encoded = None
        for layer in (self._journal_storage, self._locked_changes) if from_journal else (self._locked_changes,):
            journal = layer._journal
            encoded = journal._current_values.get(key, _REVERT if journal._ignore_wrapped_db else None)
            if encoded is not None:
                if encoded is _REVERT or encoded is _DELETE:
                    return 0  # py-evm's KeyError: deleted in the journal
                break
        if encoded is None:
            cached = self._storage_cache._cached_values
            if key in cached:
                encoded = cached[key]
            else:
                try:
                    encoded = self._storage_lookup[key]
                except KeyError:  # MissingStorageTrieNode is not a KeyError: it propagates, as in py-evm
                    return 0
                cached[key] = encoded
        if not encoded:
            return 0
        return decode_slot_value(encoded)

    def set(self, slot: int, value: int) -> None:
        key = slot.to_bytes((slot.bit_length() + 7) // 8 or 1, "big")
        if value:
            self._journal_storage[key] = rlp_uint(value)
            return
        try:
            current = self._journal_storage[key]
        except KeyError:  # deleting an empty key has no effect
            return
        if current != b"":
            del self._journal_storage[key]

    def __init__(self, db: Any, storage_root: bytes, address: bytes) -> None:
        super().__init__(db, storage_root, address)
        self._storage_lookup = BatchedStorageLookup(db, storage_root, address)
        self._storage_cache = CacheDB(self._storage_lookup)
        self._locked_changes = JournalDB(self._storage_cache)
        self._journal_storage = JournalDB(self._locked_changes)


#: ``Account``'s attribute names for its four fields (pyrlp stores field ``x`` as ``_x``).
_ACCOUNT_ATTRS = Account._meta.field_attrs
if tuple(Account._meta.field_names) != ("nonce", "balance", "storage_root", "code_hash"):
    raise ImportError("unexpected eth.rlp.accounts.Account layout")  # pragma: no cover
_EMPTY_CODE_HASH = keccak(b"")
_UINT256_LIMIT = 1 << 256
_UINT64_LIMIT = 1 << 64


def new_account(nonce: int, balance: int, storage_root: bytes, code_hash: bytes) -> Account:
    """``Account(nonce, balance, storage_root, code_hash)`` without pyrlp's argument merging and checks.

    Why: ``Account.copy`` (py-evm's way to change one field) costs ~15 µs; the callers below validate
    the one value that changes, the others come from an existing account.
    """
    acct = object.__new__(Account)
    d = acct.__dict__
    d[_ACCOUNT_ATTRS[0]] = nonce
    d[_ACCOUNT_ATTRS[1]] = balance
    d[_ACCOUNT_ATTRS[2]] = storage_root
    d[_ACCOUNT_ATTRS[3]] = code_hash
    return acct


def encode_account(acct: Account) -> bytes:
    """``rlp.encode(acct, sedes=Account)`` for a valid account (nonce < 2**64, balance < 2**256, 32-byte
    hashes): the payload is 68..110 bytes, so the list header is always ``0xf8 <length>``."""
    d = acct.__dict__
    payload = (
        rlp_uint(d[_ACCOUNT_ATTRS[0]])
        + rlp_uint(d[_ACCOUNT_ATTRS[1]])
        + b"\xa0"
        + d[_ACCOUNT_ATTRS[2]]
        + b"\xa0"
        + d[_ACCOUNT_ATTRS[3]]
    )
    return b"\xf8" + bytes((len(payload),)) + payload


def _rlp_uint_at(raw: bytes, i: int) -> tuple[int, int]:
    """The integer whose RLP string starts at ``raw[i]`` and the index after it (short strings only; a
    long or list prefix gives -1, which no account field accepts)."""
    b0 = raw[i]
    if b0 < 0x80:
        return b0, i + 1
    if b0 <= 0xB7:
        end = i + 1 + b0 - 0x80
        return int.from_bytes(raw[i + 1:end], "big"), end
    return -1, i + 1


def decode_account(raw: bytes) -> Account:
    """``rlp.decode(raw, sedes=Account)``, read directly for the accounts :func:`encode_account` writes.

    Why: pyrlp's generic decoding of an account costs ~11 µs and a follower reads about one account per
    transaction from the trie. The fields are sliced out and accepted only when :func:`encode_account`
    gives back exactly ``raw`` (so only canonical encodings pass, the inverse of the writer); anything
    else -- short, long, non-canonical, oversized -- goes to pyrlp, which decodes it or raises as before.
    ``tests/chain/test_account_decode.py`` compares both on random and mutated encodings.
    """
    n = len(raw)
    if 70 <= n <= 112 and raw[0] == 0xF8 and raw[1] == n - 2:
        try:
            nonce, i = _rlp_uint_at(raw, 2)
            balance, i = _rlp_uint_at(raw, i)
        except IndexError:  # pragma: no cover - n >= 70 leaves room for both prefixes
            return rlp.decode(raw, sedes=Account)
        if 0 <= nonce < _UINT64_LIMIT and 0 <= balance < _UINT256_LIMIT and i + 66 == n \
                and raw[i] == 0xA0 and raw[i + 33] == 0xA0:
            acct = new_account(nonce, balance, raw[i + 1:i + 33], raw[i + 34:])
            if encode_account(acct) == raw:
                acct.__dict__["_cached_rlp"] = raw
                return acct
    return rlp.decode(raw, sedes=Account)


def _check_address(address: Any) -> None:
    if address.__class__ is not bytes or len(address) != 20:
        validate_canonical_address(address, title="Storage Address")


_BLANK_ACCOUNT = Account()
_BLANK_FIELDS = tuple(_BLANK_ACCOUNT)


class _AccountJournal(Journal):
    """py-evm's ``Journal`` for a journal whose values may be decoded ``Account`` objects.

    py-evm's ``discard`` refuses any rollback value that is not ``bytes``; the accounts about to be
    restored are encoded first (a discard is rare: a failed transaction or sub-call), everything else is
    py-evm's code.
    """

    def discard(self, through_checkpoint_id: Any) -> None:
        for checkpoint in reversed(self._journal_data):
            rollback = self._journal_data[checkpoint]
            for key, value in rollback.items():
                if value.__class__ is Account:
                    rollback[key] = encode_account(value)
            if checkpoint == through_checkpoint_id:
                break
        super().discard(through_checkpoint_id)


class _AccountJournalDB(JournalDB):
    """``JournalDB`` over an :class:`_AccountJournal`."""

    def __init__(self, wrapped_db: Any) -> None:
        super().__init__(wrapped_db)
        self._journal = _AccountJournal()
        self.record = self._journal.record_checkpoint
        self.commit = self._journal.commit_checkpoint
        self.reset()


class BatchedAccountDB(AccountDB):
    """py-evm's ``AccountDB`` whose account and storage tries are updated in batches, and whose account
    journal holds decoded accounts (encoded once per state root, see the module docstring)."""

    def __init__(self, db: Any, state_root: bytes = BLANK_ROOT_HASH) -> None:
        super().__init__(db, state_root)
        # same layering as py-evm's, over a trie that caches decoded nodes
        self._trie = HashTrie(CachedHexaryTrie(self._batchtrie, state_root, prune=True))
        self._trie_logger = KeyAccessLoggerDB(self._trie, log_missing_keys=False)
        self._trie_cache = CacheDB(self._trie_logger)
        #: address -> RLP bytes (as read from the trie) or ``Account`` (as written since the last root)
        self._journaltrie = _AccountJournalDB(self._trie_cache)
        # a plain dict: py-evm clears it on every revert and persist, so it never outgrows a block
        self._account_cache: dict[bytes, Account] = {}  # type: ignore[assignment]

    # -- accounts kept decoded ------------------------------------------------------------------------
    def _get_account(self, address: Any, from_journal: bool = True) -> Account:
        if from_journal:
            acct = self._account_cache.get(address)
            if acct is not None:
                return acct
            value = self._journal_account(address)
        else:
            value = self._get_encoded_account(address, from_journal)
        if value.__class__ is Account:
            acct = value
        elif value:
            acct = decode_account(value)
        else:
            acct = _BLANK_ACCOUNT
        if from_journal:
            self._account_cache[address] = acct
        return acct

    def _journal_account(self, address: Any) -> Any:
        """py-evm's ``_get_encoded_account(address, from_journal=True)`` with the journal and read-cache
        lookups done inline (same steps: the access record, the journal's current value and clear flag,
        its delete markers, the cache's ``in``/get/set, then the trie through the access logger)."""
        self._accessed_accounts.add(address)
        journal = self._journaltrie._journal
        value = journal._current_values.get(address, _REVERT if journal._ignore_wrapped_db else None)
        if value is None:
            cached = self._trie_cache._cached_values
            if address in cached:
                return cached[address]
            try:
                value = self._trie_logger[address]
            except MissingTrieNode as exc:
                raise MissingAccountTrieNode(*exc.args) from exc
            except KeyError:
                return b""
            cached[address] = value
            return value
        if value is _REVERT or value is _DELETE:
            return b""  # deleted in the journal
        return value

    def _set_account(self, address: Any, account: Account) -> None:
        if account is _BLANK_ACCOUNT:  # ``touch_account`` of a missing account: it exists from now on, and
            account = new_account(*_BLANK_FIELDS)  # the cache keeps that object for absent ones only
        self._account_cache[address] = account
        self._journaltrie[address] = account  # encoded in _apply_account_diff_without_proof

    def account_exists(self, address: Any) -> bool:
        """py-evm's check (a non-empty journal or trie entry); an account read since the last revert or
        persist is answered from the decoded-account cache, whose :data:`_BLANK_ACCOUNT` object stands
        for "absent" and only for that (see :meth:`_set_account`). Why: the engine asks for the coinbase
        and the called contract on every transaction, and the journal, cache and access-log layers below
        cost more than the question."""
        if address.__class__ is bytes and len(address) == 20:
            acct = self._account_cache.get(address)
            if acct is not None:
                self._accessed_accounts.add(address)  # as ``_get_encoded_account`` records it
                return acct is not _BLANK_ACCOUNT
        else:
            _check_address(address)
        value = self._get_encoded_account(address, from_journal=True)
        return value.__class__ is Account or value != b""

    def get_balance(self, address: Any) -> int:
        _check_address(address)
        return self._get_account(address).balance

    def get_nonce(self, address: Any) -> int:
        _check_address(address)
        return self._get_account(address).nonce

    def get_code_hash(self, address: Any) -> bytes:
        _check_address(address)
        return self._get_account(address).code_hash

    def set_balance(self, address: Any, balance: int) -> None:
        _check_address(address)
        if balance.__class__ is not int or not 0 <= balance < _UINT256_LIMIT:
            validate_uint256(balance, title="Account Balance")
        a = self._get_account(address)
        self._set_account(address, new_account(a.nonce, balance, a.storage_root, a.code_hash))

    def set_nonce(self, address: Any, nonce: int) -> None:
        _check_address(address)
        if nonce.__class__ is not int or not 0 <= nonce < _UINT64_LIMIT:
            validate_uint64(nonce, title="Nonce")
        a = self._get_account(address)
        self._set_account(address, new_account(nonce, a.balance, a.storage_root, a.code_hash))

    def increment_nonce(self, address: Any) -> None:
        self.set_nonce(address, self.get_nonce(address) + 1)

    def set_balance_and_nonce(self, address: Any, balance: int, nonce: int) -> None:
        """Both fields in one journal write (what ``set_balance`` then ``set_nonce`` leave behind)."""
        _check_address(address)
        if balance.__class__ is not int or not 0 <= balance < _UINT256_LIMIT:
            validate_uint256(balance, title="Account Balance")
        if nonce.__class__ is not int or not 0 <= nonce < _UINT64_LIMIT:
            validate_uint64(nonce, title="Nonce")
        a = self._get_account(address)
        self._set_account(address, new_account(nonce, balance, a.storage_root, a.code_hash))

    def account_has_code_or_nonce(self, address: Any) -> bool:
        a = self._get_account(address)
        return a.nonce != 0 or a.code_hash != _EMPTY_CODE_HASH

    def account_is_empty(self, address: Any) -> bool:
        a = self._get_account(address)
        return a.nonce == 0 and a.balance == 0 and a.code_hash == _EMPTY_CODE_HASH

    def get_storage(self, address: Any, slot: int, from_journal: bool = True) -> int:
        _check_address(address)
        if slot.__class__ is not int or not 0 <= slot < _UINT256_LIMIT:
            validate_uint256(slot, title="Storage Slot")
        return self._get_address_store(address).get(slot, from_journal)

    def set_storage(self, address: Any, slot: int, value: int) -> None:
        if value.__class__ is not int or not 0 <= value < _UINT256_LIMIT:
            validate_uint256(value, title="Storage Value")
        if slot.__class__ is not int or not 0 <= slot < _UINT256_LIMIT:
            validate_uint256(slot, title="Storage Slot")
        _check_address(address)
        store = self._get_address_store(address)
        self._dirty_accounts.add(address)
        store.set(slot, value)

    def _set_storage_root(self, address: Any, new_storage_root: bytes) -> None:
        a = self._get_account(address)
        self._set_account(address, new_account(a.nonce, a.balance, new_storage_root, a.code_hash))

    def _get_address_store(self, address: Any) -> Any:
        store = self._account_stores.get(address)
        if store is None:
            store = BatchedAccountStorageDB(self._raw_store_db, self._get_storage_root(address), address)
            self._account_stores[address] = store
        return store

    def _get_meta_witness(self) -> MetaWitness:
        """py-evm's witness of what this block read, with the per-account part built only when read.

        Why: ``persist`` builds it for every block (an ``AccountQueryTracker`` and a slot-set copy per
        account touched, ~1-2 µs per transfer) and the chain drops it unread. ``persist`` rebinds the
        access trackers right after this call, so the captured ones no longer change and a late read
        gives what py-evm's eager build gives (``tests/chain/test_statedb.py``).
        """
        return _DeferredMetaWitness(self._get_accessed_node_hashes(), self._accessed_accounts,
                                    self._accessed_bytecodes, self._account_stores)

    def _apply_account_diff_without_proof(self, diff: Any, trie: Any) -> None:
        changes: dict[bytes, bytes | None] = {keccak(k): None for k in diff.deleted_keys()}
        for k, v in diff.pending_items():
            changes[keccak(k)] = encode_account(v) if v.__class__ is Account else v
        hexary = trie._db  # HashTrie (keccak keys) over the HexaryTrie being squashed
        hexary.root_hash = batch_update(hexary.db, hexary.db, hexary.root_hash, changes)


class _DeferredMetaWitness(MetaWitness):
    """py-evm's ``MetaWitness`` whose ``address -> AccountQueryTracker`` map is built on first use, from
    the access trackers an :class:`AccountDB` held at ``persist`` (what ``AccountDB._get_access_list``
    reads)."""

    def __init__(self, hashes: Any, accounts: set[bytes], bytecodes: set[bytes], stores: dict[bytes, Any]) -> None:
        self._trie_node_hashes = frozenset(hashes)
        self._sources: tuple[set[bytes], set[bytes], dict[bytes, Any]] | None = (accounts, bytecodes, stores)
        self._queried: dict[bytes, AccountQueryTracker] = {}

    @property  # type: ignore[override]
    def _accounts_metadata_queried(self) -> dict[bytes, AccountQueryTracker]:
        if self._sources is not None:
            accounts, bytecodes, stores = self._sources
            for address in accounts:
                store = stores.get(address)
                slots = store.get_accessed_slots() if store is not None else frozenset()
                self._queried[address] = AccountQueryTracker(address in bytecodes, slots)
            self._sources = None
        return self._queried
