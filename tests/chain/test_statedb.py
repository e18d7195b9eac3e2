"""``BatchedAccountDB`` (decoded accounts in the journal, batched trie commits) behaves exactly like
py-evm's ``AccountDB``.

Why: every node's state root depends on it, with either engine. Random operation sequences (account
and storage writes, deletions, snapshots with commit/revert, transaction boundaries, roots, persists)
run on both databases side by side; every read, every root and the persisted key/value store must match.
"""

from __future__ import annotations

import random

import pytest
import rlp
from eth.db.account import AccountDB
from eth.db.atomic import AtomicDB
from eth.rlp.accounts import Account
from eth_utils import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rlp.sedes import big_endian_int

from co3chain.chain.statedb import BatchedAccountDB, decode_slot_value, encode_account, new_account

ADDRS = [bytes([i]) * 20 for i in range(1, 6)]
addr = st.sampled_from(ADDRS)
uint256 = st.one_of(st.integers(0, 300), st.integers(0, 2**256 - 1))
op = st.one_of(
    st.tuples(st.just("balance"), addr, uint256),
    st.tuples(st.just("delta"), addr, st.integers(-(10**6), 10**6)),
    st.tuples(st.just("nonce"), addr, st.integers(0, 2**64 - 1)),
    st.tuples(st.just("incnonce"), addr),
    st.tuples(st.just("code"), addr, st.binary(max_size=40)),
    st.tuples(st.just("delcode"), addr),
    st.tuples(st.just("touch"), addr),
    st.tuples(st.just("delete"), addr),
    st.tuples(st.just("store"), addr, st.integers(0, 6), st.integers(0, 3)),
    st.tuples(st.just("store"), addr, st.integers(0, 6), uint256),
    st.tuples(st.just("both"), addr, uint256, st.integers(0, 2**64 - 1)),
    st.tuples(st.just("record")),
    st.tuples(st.just("commit")),
    st.tuples(st.just("discard")),
    st.tuples(st.just("lock")),
    st.tuples(st.just("root")),
    st.tuples(st.just("persist")),
)


def _read_all(adb: AccountDB) -> list:
    out = []
    for a in ADDRS:
        out.append(
            (
                adb.account_exists(a),
                adb.account_is_empty(a),
                adb.account_has_code_or_nonce(a),
                adb.get_balance(a),
                adb.get_nonce(a),
                adb.get_code_hash(a),
                adb.get_code(a),
                tuple(adb.get_storage(a, k) for k in range(7)),
                tuple(adb.get_storage(a, k, from_journal=False) for k in range(7)),  # the locked (original) values
            )
        )
    return out


def _apply(adb: AccountDB, step: tuple, checkpoints: list) -> object:
    kind = step[0]
    if kind == "balance":
        adb.set_balance(step[1], step[2])
    elif kind == "delta":
        new = adb.get_balance(step[1]) + step[2]
        if new >= 0:
            adb.set_balance(step[1], new)
    elif kind == "nonce":
        adb.set_nonce(step[1], step[2])
    elif kind == "incnonce":
        if adb.get_nonce(step[1]) < 2**64 - 1:
            adb.increment_nonce(step[1])
    elif kind == "code":
        adb.set_code(step[1], step[2])
    elif kind == "delcode":
        adb.delete_code(step[1])
    elif kind == "touch":
        adb.touch_account(step[1])
    elif kind == "delete":
        adb.delete_account(step[1])
    elif kind == "store":
        adb.set_storage(step[1], step[2], step[3])
    elif kind == "both":
        if isinstance(adb, BatchedAccountDB):
            adb.set_balance_and_nonce(step[1], step[2], step[3])
        else:
            adb.set_balance(step[1], step[2])
            adb.set_nonce(step[1], step[3])
    elif kind == "record":
        checkpoints.append(adb.record())
    elif kind == "commit":
        if checkpoints:
            adb.commit(checkpoints.pop())
    elif kind == "discard":
        if checkpoints:
            adb.discard(checkpoints.pop())
    elif kind == "lock":
        if not checkpoints:
            adb.lock_changes()
    elif kind == "root":
        if not checkpoints:
            return adb.make_state_root()
    elif kind == "persist" and not checkpoints:
        adb.persist()
        return adb.state_root
    return None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(op, min_size=5, max_size=80))
def test_batched_account_db_equals_py_evm(steps: list) -> None:
    _run_both(steps)


def _random_step(rng: random.Random) -> tuple:
    a = rng.choice(ADDRS)
    return rng.choice(
        [
            ("balance", a, rng.choice([0, rng.getrandbits(8), rng.getrandbits(256)])),
            ("delta", a, rng.randint(-1000, 1000)),
            ("nonce", a, rng.choice([0, rng.getrandbits(64)])),
            ("incnonce", a),
            ("code", a, rng.randbytes(rng.randint(0, 30))),
            ("delcode", a),
            ("touch", a),
            ("delete", a),
            ("store", a, rng.randint(0, 6), rng.randint(0, 3)),
            ("store", a, rng.randint(0, 6), rng.getrandbits(rng.choice([7, 8, 64, 256]))),
            ("both", a, rng.getrandbits(100), rng.getrandbits(10)),
            ("record",),
            ("record",),
            ("commit",),
            ("discard",),
            ("lock",),
            ("root",),
            ("persist",),
        ]
    )


def test_long_random_sequences_equal_py_evm() -> None:
    """Longer sequences than hypothesis tends to draw (blocks of many transactions)."""
    rng = random.Random(18)
    for _ in range(40):
        _run_both([_random_step(rng) for _ in range(250)])


def _run_both(steps: list) -> None:
    db_ref, db_new = AtomicDB(), AtomicDB()
    ref, new = AccountDB(db_ref), BatchedAccountDB(db_new)
    cps_ref: list = []
    cps_new: list = []
    for step in [*steps, *[("discard",)] * len(steps)]:
        try:
            expected = _apply(ref, step, cps_ref)
        except ValidationError as exc:  # py-evm's own consistency checks (storage clears in a revert)
            with pytest.raises(type(exc)):
                _apply(new, step, cps_new)
            return
        assert expected == _apply(new, step, cps_new), steps
        assert _read_all(ref) == _read_all(new), steps
    ref.persist()
    new.persist()
    assert ref.state_root == new.state_root
    assert _read_all(ref) == _read_all(new)
    # the same trie nodes, account encodings and code reach the database
    ref_kv, new_kv = db_ref.wrapped_db.kv_store, db_new.wrapped_db.kv_store
    assert {k: new_kv.get(k) for k in ref_kv} == ref_kv, steps


@given(
    st.integers(0, 2**64 - 1),
    st.integers(0, 2**256 - 1),
    st.binary(min_size=32, max_size=32),
    st.binary(min_size=32, max_size=32),
)
def test_encode_account_equals_rlp(nonce: int, balance: int, root: bytes, code_hash: bytes) -> None:
    ours = new_account(nonce, balance, root, code_hash)
    theirs = Account(nonce, balance, root, code_hash)
    assert ours == theirs and tuple(ours) == tuple(theirs)
    assert encode_account(ours) == rlp.encode(theirs, sedes=Account) == rlp.encode(ours)
    assert rlp.decode(encode_account(ours), sedes=Account) == theirs


@given(st.one_of(st.integers(0, 2**256 - 1).map(rlp.encode), st.binary(max_size=40)))
def test_decode_slot_value_equals_pyrlp(encoded: bytes) -> None:
    """Same value for canonical encodings, an error wherever pyrlp refuses (non-canonical, too long)."""
    try:
        expected = rlp.decode(encoded, sedes=big_endian_int)
    except Exception as exc:  # noqa: BLE001 -- pyrlp's own error types
        with pytest.raises(type(exc)):
            decode_slot_value(encoded)
    else:
        assert decode_slot_value(encoded) == expected
    for edge in (b"\x00", b"\x81\x05", b"\x81\x80", b"\x82\x00\x01", b"\x80", b"\x7f", b"\xa1" + b"\x01" * 33):
        try:
            want = rlp.decode(edge, sedes=big_endian_int)
        except Exception as exc:  # noqa: BLE001
            with pytest.raises(type(exc)):
                decode_slot_value(edge)
        else:
            assert decode_slot_value(edge) == want


def _witness_view(w: object) -> tuple:
    return (w.hashes, w.accounts_queried, w.account_bytecodes_queried, w.total_slots_queried,  # type: ignore[attr-defined]
            {a: w.get_slots_queried(a) for a in ADDRS})  # type: ignore[attr-defined]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(op.filter(lambda s: s[0] != "persist"), min_size=1, max_size=60),
       st.lists(op.filter(lambda s: s[0] != "persist"), max_size=30))
def test_deferred_meta_witness_equals_py_evm_s_eager_one(before: list, after: list) -> None:
    """``persist``'s witness, built late, equals py-evm's built at ``persist`` -- even after the database
    goes on reading and writing the same accounts and slots (the next block)."""
    lazy_db, eager_db = BatchedAccountDB(AtomicDB()), BatchedAccountDB(AtomicDB())
    eager_db._get_meta_witness = lambda: AccountDB._get_meta_witness(eager_db)  # type: ignore[method-assign]
    witnesses = []
    for adb in (lazy_db, eager_db):
        cps: list = []
        try:
            for step in before:
                _apply(adb, step, cps)
            while cps:
                adb.discard(cps.pop())
        except ValidationError:
            return  # py-evm's own consistency checks (tested above); nothing to persist
        if len(before) % 2:  # half of the cases also read every account and slot (all trackers filled)
            _read_all(adb)
        witnesses.append(adb.persist())
    lazy, eager = witnesses
    assert type(eager) is not type(lazy)
    expected = _witness_view(eager)
    for adb in (lazy_db, eager_db):  # the next block touches the same accounts and slots
        cps = []
        try:
            for step in after:
                _apply(adb, step, cps)
        except ValidationError:
            pass
        _read_all(adb)
    assert _witness_view(lazy) == expected == _witness_view(eager)
    assert lazy.accounts_queried or len(before) % 2 == 0  # not vacuous when everything was read


def test_a_missing_account_trie_node_raises_as_in_py_evm() -> None:
    """A pruned or damaged database stops the read (``MissingAccountTrieNode``), never reads as empty."""
    from eth.vm.interrupt import MissingAccountTrieNode

    db = AtomicDB()
    adb = AccountDB(db)  # py-evm's: no node of this trie enters the decoded-node caches
    for i, a in enumerate(ADDRS):
        adb.set_balance(a, 10**30 + 7 * i)
    adb.persist()
    root = adb.state_root
    del db[root]  # the root node is gone
    for cls in (AccountDB, BatchedAccountDB):
        with pytest.raises(MissingAccountTrieNode):
            cls(db, root).get_balance(ADDRS[0])
