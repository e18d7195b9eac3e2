"""The revm engine's direct reads and writes of the chain's account database equal py-evm's state calls.

Why: :func:`~co3chain.chain.revm_engine._account_fields`, :func:`_balance_nonce`, the slot reads of
``_execute`` and :func:`_write_storage` skip ``BaseState``'s wrappers and checks. Random operation
sequences (the ones ``test_statedb`` runs: writes, deletions, touches, snapshots, reverts, roots,
persists) leave the database in every state a block can reach; at each step the direct reads must give
what ``account_exists`` / ``get_balance`` / ``get_nonce`` / ``get_code_hash`` / ``get_storage`` give, and
the direct slot writes must give the same reads, roots and stored nodes as ``set_storage``.
"""

from __future__ import annotations

import random

import pytest
from eth.db.atomic import AtomicDB
from eth.db.storage import StorageLookup
from eth_utils import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from co3chain.chain.revm_engine import _account_fields, _balance_nonce, _direct_db, _Touched, _write_storage
from co3chain.chain.statedb import BatchedAccountDB, BatchedStorageLookup
from tests.chain.test_statedb import ADDRS, _apply, _random_step

SLOTS = range(7)


class _State:
    """The part of py-evm's ``BaseState`` the helpers use: the account database and its wrappers."""

    def __init__(self, adb: object) -> None:
        self._account_db = adb

    def __getattr__(self, name: str) -> object:
        return getattr(self._account_db, name)


def _reference(adb: BatchedAccountDB, a: bytes) -> tuple:
    fields = (adb.get_balance(a), adb.get_nonce(a), adb.get_code_hash(a)) if adb.account_exists(a) else None
    return fields, (adb.get_balance(a), adb.get_nonce(a)), tuple(adb.get_storage(a, k) for k in SLOTS)


def _direct(state: _State, a: bytes) -> tuple:
    adb = _direct_db(state)
    assert adb is state._account_db
    slots = tuple(adb._get_address_store(a).get(k) for k in SLOTS)
    return _account_fields(state, adb, a), _balance_nonce(state, adb, a), slots


def test_direct_reads_equal_state_calls_on_random_states() -> None:
    rng = random.Random(1818)
    for _ in range(30):
        adb = BatchedAccountDB(AtomicDB())
        state = _State(adb)
        checkpoints: list = []
        for _ in range(200):
            try:
                _apply(adb, _random_step(rng), checkpoints)
            except ValidationError:
                break  # py-evm's own consistency refusals: the sequence ends there
            for a in ADDRS:
                assert _direct(state, a) == _reference(adb, a)
                # the generic path (any other database) answers the same
                assert _account_fields(state, None, a) == _reference(adb, a)[0]


def test_direct_reads_check_addresses_like_py_evm() -> None:
    adb = BatchedAccountDB(AtomicDB())
    state = _State(adb)
    for bad in (b"\x01" * 19, "0x" + "01" * 20, bytearray(20)):
        with pytest.raises(ValidationError):
            _account_fields(state, adb, bad)  # type: ignore[arg-type]
        with pytest.raises(ValidationError):
            _balance_nonce(state, adb, bad)  # type: ignore[arg-type]


def _touched(address: bytes, storage: dict[int, tuple[int, int]]) -> _Touched:
    return _Touched(address, 0, 0, b"\0" * 32, "", None, storage, "Touched")


@given(
    st.lists(
        st.tuples(
            st.sampled_from(ADDRS),
            st.dictionaries(
                st.one_of(st.integers(0, 6), st.integers(0, 2**256 - 1)),
                st.tuples(st.integers(0, 3), st.one_of(st.integers(0, 3), st.integers(0, 2**256 - 1))),
                max_size=5,
            ),
        ),
        max_size=12,
    ),
    st.integers(0, 3),
)
def test_write_storage_equals_set_storage(writes: list, persist_every: int) -> None:
    """Same reads after every write, same roots and the same stored nodes as ``state.set_storage``."""
    db_ref, db_new = AtomicDB(), AtomicDB()
    ref, new = BatchedAccountDB(db_ref), BatchedAccountDB(db_new)
    for i, (address, storage) in enumerate(writes):
        acct = _touched(address, storage)
        for k, (orig, present) in storage.items():
            if orig != present:
                ref.set_storage(address, k, present)
        _write_storage(_State(new), new, acct)
        assert ref._dirty_accounts == new._dirty_accounts
        for k in storage:
            assert new.get_storage(address, k) == ref.get_storage(address, k)
        if persist_every and i % persist_every == 0:
            assert new.make_state_root() == ref.make_state_root()
    ref.persist()
    new.persist()
    assert new.state_root == ref.state_root
    ref_kv, new_kv = db_ref.wrapped_db.kv_store, db_new.wrapped_db.kv_store
    assert new_kv == ref_kv


def test_write_storage_refuses_what_set_storage_refuses() -> None:
    adb = BatchedAccountDB(AtomicDB())
    with pytest.raises(ValidationError):
        _write_storage(_State(adb), adb, _touched(ADDRS[0], {1: (0, 2**256)}))
    with pytest.raises(ValidationError):
        _write_storage(_State(adb), adb, _touched(ADDRS[0], {2**256: (0, 1)}))
    assert adb.get_storage(ADDRS[0], 1) == 0
    # another database: py-evm's own calls
    with pytest.raises(ValidationError):
        _write_storage(_State(adb), None, _touched(b"\x01" * 19, {1: (0, 1)}))


@given(st.binary(max_size=33))
def test_slot_key_hash_equals_py_evm(key: bytes) -> None:
    lookup = BatchedStorageLookup(AtomicDB(), b"\0" * 32, ADDRS[0])
    expected = StorageLookup._decode_key(lookup, key)
    assert lookup._decode_key(key) == expected
    assert lookup._decode_key(key) == expected  # the remembered value
