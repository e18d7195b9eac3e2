"""SenderCache: one signature recovery per tx per node, keyed by the full tx hash, bad signatures never cached."""

from __future__ import annotations

from typing import Any

import pytest
from eth.vm.forks.cancun import CancunVM
from eth_account import Account
from eth_keys.exceptions import BadSignature
from eth_utils import ValidationError, to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from co3chain.chain.chain import NodeChain
from co3chain.chain.senders import SECP256K1_N, SenderCache, _legacy_signing_message, recover_sender
from co3chain.chain.vm import decode_block, encode_block
from co3chain.consensus.qbft.extradata import QbftExtraData
from co3chain.node.txpool import TxPool, TxPoolError
from tests.chain.helpers import (
    PROBE_ADDR,
    USER_KEYS,
    USERS,
    VALIDATOR_KEYS,
    decode_tx,
    make_test_genesis,
    produce,
    seal_block,
    sign_tx,
)


@pytest.fixture
def chain() -> NodeChain:
    return NodeChain.open(None, make_test_genesis(1))


def _legacy(chain: NodeChain, nonce: int = 0, key: bytes = USER_KEYS[0]) -> bytes:
    return sign_tx(key, chain, nonce=nonce, to=USERS[3], gas=21000)


def _typed(chain: NodeChain, nonce: int = 0) -> bytes:
    return sign_tx(USER_KEYS[0], chain, nonce=nonce, to=USERS[3], gas=21000, maxFeePerGas=0, maxPriorityFeePerGas=0)


@pytest.mark.parametrize("make", [_legacy, _typed])
def test_recovered_once_per_hash_and_objects_primed(chain: NodeChain, make) -> None:
    raw = make(chain)
    cache = SenderCache()
    first, second = decode_tx(chain, raw), decode_tx(chain, raw)
    assert cache.sender(first) == USERS[0]
    assert cache.sender(second) == USERS[0]
    assert cache.recoveries == 1 and len(cache) == 1
    # the primed copy still passes every field rule and reports the same sender to py-evm
    second.validate()
    second.check_signature_validity()
    assert second.sender == USERS[0]


def test_tampered_signature_is_another_entry(chain: NodeChain) -> None:
    cache = SenderCache()
    tx = decode_tx(chain, _legacy(chain))
    assert cache.sender(tx) == USERS[0]
    recovered_other = False
    for delta in range(1, 40):
        forged = tx.copy(r=tx.r + delta)
        assert forged.hash != tx.hash  # the key commits to the signature
        try:
            sender = cache.sender(forged)
        except (BadSignature, ValidationError, ValueError):
            continue
        assert sender != USERS[0]
        recovered_other = True
        break
    assert recovered_other


def test_bad_signature_not_cached_and_still_rejected(chain: NodeChain) -> None:
    cache = SenderCache()
    bad = decode_tx(chain, _legacy(chain)).copy(r=0)
    with pytest.raises((BadSignature, ValidationError)):
        cache.sender(bad)
    assert cache.prime(bad) is None
    assert len(cache) == 0 and "check_signature_validity" not in bad.__dict__
    with pytest.raises(ValidationError):
        bad.validate()  # py-evm's own signature check still runs
    extra = QbftExtraData(validators=chain.validators_for_child(chain.head)).encode()
    result = chain.build_block([bad], USERS[0], chain.head.timestamp + 1, extra)
    assert result.included == [] and len(result.rejected) == 1


@pytest.mark.parametrize(("make", "needle"), [(_legacy, "invalid transaction"), (_typed, "invalid sender")])
def test_pool_refuses_bad_signatures_as_before(chain: NodeChain, make, needle: str) -> None:
    pool = TxPool(chain)
    bad = decode_tx(chain, make(chain)).copy(r=0)
    with pytest.raises(TxPoolError) as ei:
        pool.add(bad.encode())
    assert ei.value.code == -32000 and needle in ei.value.message
    assert len(pool) == 0 and len(chain.senders) == 0


def _blocking_recovery(monkeypatch: Any, started: Any, release: Any) -> None:
    """Make the cache's signature recovery signal ``started`` and wait for ``release`` (deterministic race)."""
    import co3chain.chain.senders as senders_module

    real = senders_module.recover_sender

    def slow(tx: Any) -> bytes | None:
        started.set()
        assert release.wait(10)
        return real(tx)

    monkeypatch.setattr(senders_module, "recover_sender", slow)


def test_concurrent_callers_recover_a_sender_once(chain: NodeChain, monkeypatch: Any) -> None:
    """A worker recovering ahead and the main thread meeting the same transaction pay one recovery: the second
    caller waits for the first one's answer (the audit replay failed CI when both recovered in lockstep)."""
    import threading

    started, release = threading.Event(), threading.Event()
    _blocking_recovery(monkeypatch, started, release)
    cache = SenderCache()
    raw = _legacy(chain)
    results: list[bytes] = []
    worker = threading.Thread(target=lambda: results.append(cache.sender(decode_tx(chain, raw))))
    worker.start()
    assert started.wait(10)
    late = threading.Thread(target=lambda: results.append(cache.sender(decode_tx(chain, raw))))
    late.start()
    late.join(0.2)
    assert late.is_alive()  # waiting for the worker's answer, not recovering on its own
    release.set()
    worker.join(10)
    late.join(10)
    assert results == [USERS[0], USERS[0]]
    assert cache.recoveries == 1 and not cache._in_flight


def test_waiter_of_a_failed_recovery_reports_the_bad_signature(chain: NodeChain, monkeypatch: Any) -> None:
    """If the first thread's recovery raises, the waiting thread is released and meets the same error."""
    import threading

    started, release = threading.Event(), threading.Event()
    _blocking_recovery(monkeypatch, started, release)
    cache = SenderCache()
    bad_raw = decode_tx(chain, _legacy(chain)).copy(r=0).encode()
    errors: list[BaseException] = []

    def call() -> None:
        try:
            cache.sender(decode_tx(chain, bad_raw))
        except (BadSignature, ValidationError, ValueError) as exc:
            errors.append(exc)

    first = threading.Thread(target=call)
    first.start()
    assert started.wait(10)
    second = threading.Thread(target=call)
    second.start()
    release.set()
    first.join(10)
    second.join(10)
    assert len(errors) == 2 and len(cache) == 0 and not cache._in_flight


def test_lru_bound() -> None:
    with pytest.raises(ValueError):
        SenderCache(0)
    chain = NodeChain.open(None, make_test_genesis(1))
    cache = SenderCache(max_entries=2)
    txs = [decode_tx(chain, _legacy(chain, key=k)) for k in USER_KEYS[:3]]
    assert [cache.sender(t) for t in txs] == USERS[:3]
    assert len(cache) == 2
    assert cache.sender(decode_tx(chain, txs[0].encode())) == USERS[0]  # evicted: recovered again
    assert cache.recoveries == 4


def test_one_recovery_per_tx_on_each_node() -> None:
    genesis = make_test_genesis(1)
    proposer, follower = NodeChain.open(None, genesis), NodeChain.open(None, genesis)
    pool = TxPool(proposer)
    proposer.add_import_listener(pool.on_block_imported)
    raws = [_legacy(proposer, key=k) for k in USER_KEYS[:3]]
    for raw in raws:
        pool.add(raw)
    assert proposer.senders.recoveries == 3
    extra = QbftExtraData(validators=proposer.validators_for_child(proposer.head)).encode()
    built = proposer.build_block(pool.select_for_block(10**9), USERS[0], proposer.head.timestamp + 1, extra)
    assert len(built.included) == 3
    sealed = seal_block(built.block, VALIDATOR_KEYS[:1])
    proposer.import_block(sealed)
    assert len(pool) == 0
    assert proposer.senders.recoveries == 3  # building, import and pool eviction reused them

    # a node that never saw the txs derives each sender from its signature once, then reuses it
    wire = encode_block(sealed)
    follower.verify_proposal(decode_block(wire))
    assert follower.senders.recoveries == 3
    follower.import_block(decode_block(wire))
    infos = follower.block_receipt_infos(follower.get_block_by_number(1))
    assert [i.sender for i in infos] == USERS[:3]
    assert follower.senders.recoveries == 3


def test_single_receipt_matches_block_receipts(chain: NodeChain) -> None:
    raws = [
        sign_tx(USER_KEYS[0], chain, nonce=0, to=PROBE_ADDR, data=(5).to_bytes(32, "big")),
        sign_tx(USER_KEYS[0], chain, nonce=1, to=USERS[2], gas=21000),
        sign_tx(USER_KEYS[1], chain, nonce=0, to=PROBE_ADDR, data=(9).to_bytes(32, "big")),
        sign_tx(USER_KEYS[2], chain, nonce=0, to=PROBE_ADDR, data=(11).to_bytes(32, "big")),
    ]
    sealed, res = produce(chain, raws)
    assert len(res.included) == 4
    fresh = NodeChain.open(None, make_test_genesis(1))
    fresh.import_block(decode_block(encode_block(sealed)))
    for c in (chain, fresh):
        infos = c.block_receipt_infos(c.get_block_by_number(1))
        assert [lg.log_index for info in infos for lg in info.logs] == [0, 1, 2]
        for tx, info in zip(sealed.transactions, infos, strict=True):
            assert c.get_transaction_receipt(tx.hash) == info
            found = c.get_transaction(tx.hash)
            assert found is not None and found[0].sender == info.sender


# -- the direct coincurve recovery equals py-evm's own ----------------------------------------------------
_fields = st.fixed_dictionaries(
    {
        "nonce": st.integers(0, 2**64 - 2),
        "gas": st.integers(21_000, 2**63),
        "value": st.integers(0, 2**256 - 1),
        "data": st.binary(max_size=300),
        "to": st.one_of(st.just(b""), st.binary(min_size=20, max_size=20)),
        "key": st.binary(min_size=32, max_size=32).filter(lambda k: 0 < int.from_bytes(k, "big") < SECP256K1_N),
        "kind": st.sampled_from(["pre155", "155", "2930", "1559"]),
        "chain_id": st.integers(1, 2**40),
        "price": st.integers(0, 2**128),
    }
)


def _random_tx(f: dict) -> Any:
    tx: dict[str, Any] = {"nonce": f["nonce"], "gas": f["gas"], "value": f["value"], "data": f["data"]}
    if f["to"]:
        tx["to"] = to_checksum_address(f["to"])
    if f["kind"] in ("pre155", "155", "2930"):
        tx["gasPrice"] = f["price"]
    else:
        tx["maxFeePerGas"] = f["price"]
        tx["maxPriorityFeePerGas"] = f["price"] // 3
    if f["kind"] != "pre155":
        tx["chainId"] = f["chain_id"]
    if f["kind"] in ("2930", "1559"):
        tx["accessList"] = [{"address": "0x" + "22" * 20, "storageKeys": ["0x" + "00" * 31 + "07"]}]
    raw = bytes(Account.from_key(f["key"]).sign_transaction(tx).raw_transaction)
    return CancunVM.get_transaction_builder().decode(raw)


@settings(max_examples=150, deadline=None)
@given(_fields)
def test_direct_recovery_equals_py_evm(f: dict) -> None:
    tx = _random_tx(f)
    expected = bytes(_random_tx(f).get_sender())  # a separate object: nothing cached between the two
    assert recover_sender(tx) == expected == bytes.fromhex(Account.from_key(f["key"]).address[2:])
    if f["kind"] in ("pre155", "155"):
        message, recid = _legacy_signing_message(tx)
        assert message == tx.get_message_for_signing()


def test_direct_recovery_leaves_odd_signatures_to_py_evm(chain: NodeChain) -> None:
    tx = decode_tx(chain, _legacy(chain))
    for odd in (tx.copy(r=0), tx.copy(s=0), tx.copy(s=SECP256K1_N), tx.copy(v=30), tx.copy(v=35)):
        assert recover_sender(odd) is None
    typed = decode_tx(chain, _typed(chain))
    assert recover_sender(typed) == USERS[0]


@settings(max_examples=300, deadline=None)
@given(
    st.binary(min_size=32, max_size=32).filter(lambda k: 0 < int.from_bytes(k, "big") < SECP256K1_N),
    st.binary(min_size=32, max_size=32),
    st.one_of(st.none(), st.binary(min_size=65, max_size=65)),
    st.integers(0, 3),
)
def test_direct_libsecp256k1_recovery_equals_coincurve(key: bytes, msg_hash: bytes, garbage, recid: int) -> None:
    """``_recover_public_key`` (three libsecp256k1 calls) against coincurve's public API, on real
    signatures and on arbitrary 64 bytes + recovery id 0..3: same key, or both refuse."""
    from coincurve import PrivateKey, PublicKey

    from co3chain.chain.senders import _recover_public_key

    signature = PrivateKey(key).sign_recoverable(msg_hash, hasher=None) if garbage is None else garbage[:64] + bytes((recid,))
    try:
        expected = PublicKey.from_signature_and_message(signature, msg_hash, hasher=None).format(compressed=False)
    except ValueError:
        expected = None
    try:
        got = _recover_public_key(signature, msg_hash)
    except ValueError:
        got = None
    assert got == expected
    if garbage is None:
        assert got == PrivateKey(key).public_key.format(compressed=False)


def test_stored_blocks_come_back_with_the_senders_this_node_recovered() -> None:
    """``get_block_by_hash`` primes only senders the cache knows (no recovery), and they are the right ones."""
    from co3chain.chain.chain import NodeChain
    from tests.chain.helpers import USERS, make_test_genesis, produce_mixed_transfers

    chain = NodeChain.open(None, make_test_genesis(1))
    sealed, _ = produce_mixed_transfers(chain)
    before = chain.senders.recoveries
    block = chain.get_block_by_hash(sealed.hash)
    assert chain.senders.recoveries == before
    assert [tx.__dict__.get("sender") for tx in block.transactions] == [USERS[0]] * 3 + [USERS[1]]
    assert [tx.sender for tx in block.transactions] == [USERS[0]] * 3 + [USERS[1]]
    fresh = NodeChain.open(None, make_test_genesis(1))  # a cache that knows nothing: nothing primed
    for tx in block.transactions:
        tx.__dict__.pop("sender"), tx.__dict__.pop("check_signature_validity")
        assert not fresh.senders.prime_known(tx) and "sender" not in tx.__dict__
