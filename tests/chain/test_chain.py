"""NodeChain: genesis, build → seal → import → query, rejection rules, persistence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import rlp
from eth_hash.auto import keccak
from trie import HexaryTrie

from co3chain.chain.chain import BlockImportError, CallFailed, CallReverted, NodeChain
from co3chain.chain.genesis import GenesisError, load_genesis, make_genesis, parse_genesis
from co3chain.chain.storage import StorageError
from co3chain.consensus.qbft.extradata import QbftExtraData
from tests.chain.helpers import (
    PROBE_ADDR,
    PROBE_RUNTIME,
    USER_KEYS,
    USERS,
    VALIDATOR_KEYS,
    addr,
    decode_tx,
    make_test_genesis,
    probe_initcode,
    produce,
    seal_block,
    sign_tx,
    sorted_validator_keys,
)
from tests.chain.test_extradata import GENESIS_2

WORD = (0x2A).to_bytes(32, "big")


@pytest.fixture
def chain() -> NodeChain:
    return NodeChain.open(None, make_test_genesis(1))


def _besu_genesis_json() -> dict:
    return {
        "config": {
            "chainId": 1337,
            "berlinBlock": 0,
            "londonBlock": 0,
            "shanghaiTime": 0,
            "cancunTime": 0,
            "zeroBaseFee": True,
            "qbft": {"blockperiodseconds": 2, "epochlength": 30000, "requesttimeoutseconds": 4},
        },
        "nonce": "0x0",
        "timestamp": "0x58ee40ba",
        "gasLimit": "0x1fffffffffffff",
        "difficulty": "0x1",
        "mixHash": "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365",
        "coinbase": "0x0000000000000000000000000000000000000000",
        "alloc": {
            "fe3b557e8fb62b89f4916b721be55ceb828dbd73": {"balance": "0xad78ebc5ac6200000"},
            "627306090abaB3A6e1400e9345bC60c78a8BEf57": {"balance": "90000000000000000000000"},
        },
        "extraData": "0x" + GENESIS_2.hex(),
    }


# -- genesis -------------------------------------------------------------------------------------------
def test_besu_genesis_two_validators(tmp_path: Path) -> None:
    p = tmp_path / "genesis.json"
    p.write_text(json.dumps(_besu_genesis_json()))
    g = load_genesis(p)
    assert (g.chain_id, g.block_period, g.epoch_length, g.request_timeout) == (1337, 2, 30000, 4)
    assert [v.hex() for v in g.validators] == [
        "be068f726a13c8d46c44be6ce9d275600e1735a4",
        "5ff6f4b66a46a2b2310a6f3a93aaddc0d9a1c193",
    ]
    c = NodeChain.open(None, g)
    gh = c.genesis_header
    assert gh.extra_data == GENESIS_2 and gh.difficulty == 1 and gh.block_number == 0
    assert gh.hash == keccak(rlp.encode(gh))  # genesis: raw extraData in the hash
    assert (
        c.state_at().get_balance(bytes.fromhex("fe3b557e8fb62b89f4916b721be55ceb828dbd73"))
        == 0xAD78EBC5AC6200000
    )
    assert c.state_at().get_balance(bytes.fromhex("627306090abab3a6e1400e9345bc60c78a8bef57")) == 9 * 10**22
    assert c.validators_at(0) == g.validators
    # deterministic across instances
    assert NodeChain.open(None, g).genesis_header.hash == gh.hash


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda d: d.pop("config"), "config"),
        (lambda d: d["config"].pop("qbft"), "qbft"),
        (lambda d: d["config"].update(chainId="x"), "chainId"),
        (lambda d: d.update(extraData="0x1234"), "extraData"),
        (lambda d: d.update(gasLimit="0xzz"), "gasLimit"),
        (lambda d: d["alloc"].update({"0x12": {"balance": "1"}}), "alloc"),
        (lambda d: d["config"].update(zeroBaseFee=False), "zeroBaseFee"),
        (lambda d: d["config"]["qbft"].update(blockperiodseconds=0), "blockperiodseconds"),
        (lambda d: d["config"].update(cancunTime=100), "cancunTime"),
        (lambda d: d["config"].update(pragueTime=0), "pragueTime"),
    ],
)
def test_bad_genesis_clear_errors(mutate, needle: str) -> None:
    d = _besu_genesis_json()
    mutate(d)
    with pytest.raises(GenesisError, match=needle):
        parse_genesis(d)


def test_load_genesis_file_errors(tmp_path: Path) -> None:
    with pytest.raises(GenesisError, match="cannot read"):
        load_genesis(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(GenesisError, match="not valid JSON"):
        load_genesis(tmp_path / "bad.json")


def test_make_genesis_sorts_validators_and_allowlist() -> None:
    vals = [addr(k) for k in VALIDATOR_KEYS]
    d = make_genesis(
        vals,
        99,
        {USERS[0]: 5, USERS[1]: {"balance": 7, "code": b"\x60\x00", "storage": {1: 2}}},
        block_period=3,
        account_allowlist=[USERS[0]],
    )
    g = parse_genesis(d)
    assert g.alloc[USERS[1]].code == b"\x60\x00" and g.alloc[USERS[1]].storage == {1: 2}
    assert g.validators == sorted(vals)
    assert g.block_period == 3 and g.chain_id == 99
    assert g.alloc[USERS[0]].balance == 5
    assert g.account_allowlist == (USERS[0],)


# -- build / import / query ----------------------------------------------------------------------------
def test_single_validator_build_seal_import_query(chain: NodeChain) -> None:
    raw_call = sign_tx(USER_KEYS[0], chain, to=PROBE_ADDR, data=WORD)
    raw_deploy = sign_tx(USER_KEYS[1], chain, data=probe_initcode(), gas=200_000)
    raw_1559 = sign_tx(
        USER_KEYS[2], chain, to=USERS[3], value=12345, maxFeePerGas=0, maxPriorityFeePerGas=0, gas=21000
    )
    block, res = produce(chain, [raw_call, raw_deploy, raw_1559])
    assert res.rejected == [] and len(res.included) == 3
    head = chain.head
    assert head.block_number == 1 and head.hash == block.hash
    assert chain.get_header_by_number(1).hash == head.hash
    assert chain.get_block_by_hash(head.hash).transactions[1].hash == decode_tx(chain, raw_deploy).hash
    assert chain.get_block_by_number(2) is None and chain.get_header_by_hash(b"\x00" * 32) is None
    # stored header keeps its seals
    assert len(QbftExtraData.decode(chain.get_header_by_number(1).extra_data).seals) == 1

    st = chain.state_at()
    assert st.get_storage(PROBE_ADDR, 0) == 0x2A
    assert st.get_balance(USERS[3]) == 10**24 + 12345
    tx_hash = decode_tx(chain, raw_deploy).hash
    assert chain.get_transaction_location(tx_hash) == (head.hash, 1, 1)
    r = chain.get_transaction_receipt(tx_hash)
    assert r.status == 1 and r.contract_address is not None and r.gas_used > 21000
    assert st.get_code(r.contract_address) == PROBE_RUNTIME
    assert len(chain.get_receipts(head.hash)) == 3
    assert chain.get_transaction_receipt(decode_tx(chain, raw_1559).hash).type == 2

    logs = chain.get_logs(0, 10)
    assert (
        len(logs) == 1
        and logs[0].address == PROBE_ADDR
        and logs[0].topics == (WORD,)
        and logs[0].data == WORD
    )
    assert chain.get_logs(0, 10, addresses=[USERS[0]]) == []
    assert len(chain.get_logs(0, 10, topics=[[b"\x01" * 32, WORD]])) == 1
    assert chain.get_logs(0, 10, topics=[b"\x01" * 32]) == []
    assert chain.get_logs(0, 10, topics=[None, WORD]) == []  # log has one topic only
    assert chain.get_logs(0, 0) == []


def test_call_estimate_and_revert(chain: NodeChain) -> None:
    assert chain.call({"to": PROBE_ADDR, "data": WORD}) == WORD
    assert chain.call({"to": "0x" + PROBE_ADDR.hex(), "input": "0x" + WORD.hex()}) == WORD
    with pytest.raises(CallReverted) as ei:
        chain.call({"to": PROBE_ADDR, "data": b""})
    assert ei.value.data == bytes.fromhex("deadbeef")
    with pytest.raises(CallReverted):
        chain.estimate_gas({"to": PROBE_ADDR, "data": b"", "from": USERS[0]})
    with pytest.raises(CallFailed):
        chain.call({"to": PROBE_ADDR, "data": WORD, "gas": 21_100})  # out of gas
    est = chain.estimate_gas({"from": USERS[0], "to": PROBE_ADDR, "data": WORD})
    # the estimate is sufficient and tight
    assert chain.call({"from": USERS[0], "to": PROBE_ADDR, "data": WORD, "gas": est}) == WORD
    with pytest.raises(CallFailed):
        chain.call({"from": USERS[0], "to": PROBE_ADDR, "data": WORD, "gas": est - 1})
    assert chain.estimate_gas({"from": USERS[0], "to": USERS[1], "value": 1}) == 21000
    # state override
    out = chain.call({"to": USERS[0], "data": WORD}, state_override={USERS[0]: {"code": PROBE_RUNTIME}})
    assert out == WORD


def test_get_proof_verifies(chain: NodeChain) -> None:
    produce(chain, [sign_tx(USER_KEYS[0], chain, to=PROBE_ADDR, data=WORD)])
    head = chain.head
    p = chain.get_proof(PROBE_ADDR, [0, 5], head)
    acct = HexaryTrie.get_from_proof(
        head.state_root, keccak(PROBE_ADDR), [rlp.decode(n) for n in p["accountProof"]]
    )
    nonce, balance, storage_root, code_hash = rlp.decode(acct)
    assert storage_root == p["storageHash"] and code_hash == keccak(PROBE_RUNTIME) == p["codeHash"]
    sp0, sp5 = p["storageProof"]
    assert sp0["value"] == 0x2A and sp5["value"] == 0
    v = HexaryTrie.get_from_proof(
        storage_root, keccak((0).to_bytes(32, "big")), [rlp.decode(n) for n in sp0["proof"]]
    )
    assert rlp.decode(v, sedes=rlp.sedes.big_endian_int) == 0x2A
    missing = chain.get_proof(b"\x99" * 20, [], head)
    assert missing["balance"] == 0 and missing["nonce"] == 0


def test_build_rejects_invalid_txs(chain: NodeChain) -> None:
    good = sign_tx(USER_KEYS[0], chain, to=USERS[1], value=1, gas=21000)
    gap = sign_tx(USER_KEYS[1], chain, nonce=5, to=USERS[1], gas=21000)
    poor = sign_tx(b"\x77" * 32, chain, to=USERS[1], value=1, gas=21000)
    dup = good
    _, res = produce(chain, [good, gap, poor, dup])
    assert [t.hash for t in res.included] == [decode_tx(chain, good).hash]
    assert len(res.rejected) == 3
    assert any("nonce" in reason.lower() for _, reason in res.rejected)
    assert any("balance" in reason.lower() for _, reason in res.rejected)


def test_peer_import_reexecutes_and_reimport_is_noop() -> None:
    g = make_test_genesis(1)
    a, b = NodeChain.open(None, g), NodeChain.open(None, g)
    blk, _ = produce(a, [sign_tx(USER_KEYS[0], a, to=PROBE_ADDR, data=WORD)])
    b.import_block(blk)
    assert b.head.hash == a.head.hash and b.head.state_root == a.head.state_root
    assert b.import_block(blk).hash == blk.hash  # idempotent
    assert b.head.block_number == 1


def _fresh_pair(n_validators: int) -> tuple[NodeChain, NodeChain]:
    g = make_test_genesis(n_validators)
    return NodeChain.open(None, g), NodeChain.open(None, g)


def _built_block(chain: NodeChain, raw_txs: list[bytes] = ()):
    vals = chain.validators_for_child(chain.head)
    extra = QbftExtraData(validators=vals).encode()
    return chain.build_block(
        [decode_tx(chain, r) for r in raw_txs], vals[0], chain.head.timestamp + 1, extra
    ).block


def test_seals_below_quorum_rejected() -> None:
    a, _ = _fresh_pair(4)
    keys4 = sorted_validator_keys(4)
    blk = _built_block(a)
    with pytest.raises(BlockImportError, match="quorum is 3 of 4"):
        a.import_block(seal_block(blk, keys4[:2]))
    with pytest.raises(BlockImportError, match="quorum"):
        a.import_block(seal_block(blk, []))
    with pytest.raises(BlockImportError, match="duplicate"):
        a.import_block(seal_block(blk, [keys4[0], keys4[0], keys4[1]]))
    with pytest.raises(BlockImportError, match="non-validator"):
        a.import_block(seal_block(blk, keys4[:3] + [USER_KEYS[0]]))
    assert a.head.block_number == 0
    a.import_block(seal_block(blk, keys4[1:]))
    assert a.head.block_number == 1
    # verify_seals=False is for trusted replays only
    blk2 = _built_block(a)
    a.import_block(blk2, verify_seals=False)
    assert a.head.block_number == 2


def test_seals_for_wrong_round_rejected() -> None:
    a, _ = _fresh_pair(1)
    blk = _built_block(a)
    sealed = seal_block(blk, VALIDATOR_KEYS[:1], round_=0)
    extra = QbftExtraData.decode(sealed.header.extra_data).with_round(1)  # claims round 1, seals for round 0
    with pytest.raises(BlockImportError, match="non-validator"):
        a.import_block(sealed.copy(header=sealed.header.copy(extra_data=extra.encode())))


def test_wrong_state_root_rejected() -> None:
    a, b = _fresh_pair(1)
    blk = _built_block(a, [sign_tx(USER_KEYS[0], a, to=PROBE_ADDR, data=WORD)])
    forged = blk.copy(header=blk.header.copy(state_root=b"\x12" * 32))
    with pytest.raises(BlockImportError, match="state_root mismatch"):
        b.import_block(seal_block(forged, VALIDATOR_KEYS[:1]))
    assert b.head.block_number == 0
    assert b.get_header_by_hash(forged.header.hash) is None
    b.import_block(seal_block(blk, VALIDATOR_KEYS[:1]))
    assert b.head.block_number == 1


def test_header_rules_rejected() -> None:
    a, b = _fresh_pair(1)
    blk = _built_block(a)
    cases = {
        "timestamp": blk.header.copy(timestamp=a.head.timestamp),
        "future": blk.header.copy(timestamp=int(b.clock()) + 30),
        "difficulty": blk.header.copy(difficulty=0),
        "base fee": blk.header.copy(base_fee_per_gas=7),
        "validator list": blk.header.copy(extra_data=QbftExtraData(validators=[USERS[0]]).encode()),
        "extraData": blk.header.copy(extra_data=b"\x00" * 32),
        "does not extend": blk.header.copy(parent_hash=b"\x01" * 32),
    }
    for needle, header in cases.items():
        bad = blk.copy(header=header)
        if needle != "extraData":
            bad = seal_block(bad, VALIDATOR_KEYS[:1])
        with pytest.raises(BlockImportError, match=needle):
            b.import_block(bad, verify_seals=needle != "extraData")
    assert b.head.block_number == 0


def test_tx_root_mismatch_rejected() -> None:
    a, b = _fresh_pair(1)
    blk = _built_block(a, [sign_tx(USER_KEYS[0], a, to=USERS[1], gas=21000)])
    other = decode_tx(a, sign_tx(USER_KEYS[1], a, to=USERS[1], gas=21000))
    with pytest.raises(BlockImportError, match="transaction_root"):
        b.import_block(seal_block(blk.copy(transactions=[other]), VALIDATOR_KEYS[:1]))


def test_conflicting_block_after_finality_rejected() -> None:
    a, b = _fresh_pair(1)
    produce(a, [])
    blk_b = _built_block(b, [sign_tx(USER_KEYS[0], b, to=USERS[1], gas=21000)])
    with pytest.raises(BlockImportError, match="conflicts"):
        a.import_block(seal_block(blk_b, VALIDATOR_KEYS[:1]))


def test_validator_provider_hook() -> None:
    a, _ = _fresh_pair(1)
    new_val = addr(VALIDATOR_KEYS[1])
    a.validator_provider = lambda parent: sorted([addr(VALIDATOR_KEYS[0]), new_val])
    assert a.validators_for_child(a.head) == sorted([addr(VALIDATOR_KEYS[0]), new_val])
    produce(a, [], signer_keys=VALIDATOR_KEYS[:2])
    assert a.validators_at(1) == sorted([addr(VALIDATOR_KEYS[0]), new_val])


# -- persistence ---------------------------------------------------------------------------------------
def test_persistence_reopen(tmp_path: Path) -> None:
    g = make_test_genesis(1)
    c = NodeChain.open(tmp_path, g)
    seen = []
    c.add_import_listener(lambda block, receipts: seen.append(block.number))
    for i in range(5):
        produce(c, [sign_tx(USER_KEYS[0], c, nonce=i, to=PROBE_ADDR, data=(i + 1).to_bytes(32, "big"))])
    head = c.head
    c.close()
    assert seen == [1, 2, 3, 4, 5]
    c2 = NodeChain.open(tmp_path, g)
    assert c2.head.hash == head.hash and c2.head.block_number == 5
    assert c2.state_at().get_storage(PROBE_ADDR, 0) == 5
    assert len(c2.get_logs(0, 5, addresses=[PROBE_ADDR])) == 5
    for n in range(6):
        assert c2.get_block_by_number(n) is not None
    produce(c2, [sign_tx(USER_KEYS[0], c2, nonce=5, to=PROBE_ADDR, data=WORD)])
    assert c2.head.block_number == 6
    c2.close()
    with pytest.raises(StorageError, match="another network"):
        NodeChain.open(tmp_path, make_test_genesis(2))
    other_id = parse_genesis({**g.raw, "config": {**g.raw["config"], "chainId": 4242}})
    with pytest.raises(StorageError, match="chain id"):
        NodeChain.open(tmp_path, other_id)


def test_build_time_budget_leaves_rest_unprocessed(chain: NodeChain) -> None:
    txs = [decode_tx(chain, sign_tx(USER_KEYS[0], chain, nonce=i, to=USERS[1], gas=21000)) for i in range(5)]
    extra = QbftExtraData(validators=chain.validators_for_child(chain.head)).encode()
    res = chain.build_block(
        txs, USERS[0], chain.head.timestamp + 1, extra, max_seconds=-1.0
    )  # already expired
    assert res.included == [] and res.rejected == []
    res = chain.build_block(txs, USERS[0], chain.head.timestamp + 1, extra, max_seconds=60.0)
    assert len(res.included) == 5


def test_default_gas_limit_is_bounded() -> None:
    assert make_test_genesis(1).gas_limit == 100_000_000


def test_failing_listener_does_not_fail_import(chain: NodeChain) -> None:
    calls = []

    def boom(block, receipts):
        raise RuntimeError("listener bug")

    chain.add_import_listener(boom)
    chain.add_import_listener(lambda block, receipts: calls.append(block.number))
    produce(chain, [])
    assert chain.head.block_number == 1 and calls == [1]


def test_verify_proposal_executes_once() -> None:
    a, b = _fresh_pair(1)
    blk = _built_block(a, [sign_tx(USER_KEYS[0], a, to=PROBE_ADDR, data=WORD)])
    runs = []
    original = b._execute
    b._execute = lambda *args, **kw: runs.append(1) or original(*args, **kw)
    b.verify_proposal(blk)
    assert len(runs) == 1 and b.head.block_number == 0  # verified, not imported
    b.import_block(seal_block(blk, VALIDATOR_KEYS[:1]))
    assert len(runs) == 1 and b.head.hash == blk.hash
    assert b.state_at().get_storage(PROBE_ADDR, 0) == 0x2A


def test_verify_proposal_rejects_bad_block() -> None:
    a, b = _fresh_pair(1)
    blk = _built_block(a, [sign_tx(USER_KEYS[0], a, to=PROBE_ADDR, data=WORD)])
    with pytest.raises(BlockImportError, match="state_root"):
        b.verify_proposal(blk.copy(header=blk.header.copy(state_root=b"\x01" * 32)))
    with pytest.raises(BlockImportError, match="timestamp"):
        b.verify_proposal(blk.copy(header=blk.header.copy(timestamp=0)))


def test_reverting_tx_is_included_with_status_0(chain: NodeChain) -> None:
    raw = sign_tx(USER_KEYS[0], chain, to=PROBE_ADDR, data=b"\x00" * 32, gasPrice=0, accessList=[])
    _, res = produce(chain, [raw])
    assert len(res.included) == 1
    r = chain.get_transaction_receipt(decode_tx(chain, raw).hash)
    assert r.status == 0 and r.logs == () and r.type == 1
    assert chain.state_at().get_nonce(USERS[0]) == 1
    assert chain.state_at().get_storage(PROBE_ADDR, 0) == 7  # unchanged genesis value


def test_reopen_skips_genesis_rebuild_but_detects_a_changed_genesis(tmp_path: Path, monkeypatch) -> None:
    """The genesis state is built once per data directory; an edited genesis is still refused."""
    from co3chain.chain.storage import StorageError
    from tests.chain.helpers import make_test_genesis

    genesis = make_test_genesis()
    chain = NodeChain.open(tmp_path / "d", genesis)
    head = chain.head
    chain.close()
    calls = []
    real = NodeChain._build_genesis
    monkeypatch.setattr(NodeChain, "_build_genesis", lambda self, db: calls.append(1) or real(self, db))
    chain = NodeChain.open(tmp_path / "d", genesis)
    assert chain.head == head and calls == []
    chain.close()
    other = make_test_genesis(timestamp=5)
    with pytest.raises(StorageError, match="another network"):
        NodeChain.open(tmp_path / "d", other)
    assert calls == [1]
