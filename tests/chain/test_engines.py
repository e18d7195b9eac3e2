"""revm vs py-evm: pyrevm's gaps shown, the engine's answers to them, and hand-written state-test-style
cases (each block executed by both engines, which must agree byte for byte)."""

from __future__ import annotations

import pytest
from eth_utils import to_checksum_address
from pyrevm import EVM, AccountInfo

from co3chain.chain.chain import NodeChain
from co3chain.chain.engine import EngineDivergence, PyEvmEngine, make_engine
from co3chain.chain.revm_engine import RevmEngine, code_reads_blockhash
from tests.chain.engine_contracts import CLOCK_INITCODE, FUZZ_INITCODE
from tests.chain.engine_harness import MARK_SELECTOR, EnginePair, created_address, op_call
from tests.chain.helpers import (
    PROBE_ADDR,
    USER_KEYS,
    USERS,
    addr,
    make_test_genesis,
    produce,
    sign_tx,
)

SSTORE_INC = bytes.fromhex("60005460010160005500")  # slot0 += 1


# -- pyrevm 0.3.7 facts the engine is built around ----------------------------------------------------
def test_pyrevm_keeps_slots_warm_across_calls_so_a_fresh_evm_per_tx_is_needed():
    a, c = "0x" + "11" * 20, "0x" + "22" * 20
    evm = EVM(spec_id="CANCUN")
    evm.insert_account_info(a, AccountInfo(balance=10**20))
    evm.insert_account_info(c, AccountInfo(code=SSTORE_INC))
    evm.message_call(a, c, b"", gas=100_000)
    assert evm.result.gas_used == 43_112  # cold SLOAD + fresh SSTORE: correct
    evm.message_call(a, c, b"", gas=100_000)
    assert evm.result.gas_used == 21_212  # warm slot, stale original value: not what a new tx costs
    assert evm.basic(a).nonce == 0  # message_call does not bump the nonce
    fresh = EVM(spec_id="CANCUN")
    fresh.insert_account_info(a, AccountInfo(balance=10**20))
    fresh.insert_account_info(c, AccountInfo(code=SSTORE_INC))
    cp = fresh.snapshot()  # the engine's trick: value stays in the database, account stays cold
    fresh.insert_account_storage(c, 0, 1)
    fresh.revert(cp)
    fresh.message_call(a, c, b"", gas=100_000)
    assert fresh.result.gas_used == 26_012  # cold SLOAD 2100 + SSTORE dirty 2900: the real cost


def test_pyrevm_blockhash_is_not_the_chain_block_hash():
    evm = EVM(spec_id="CANCUN")
    from eth_hash.auto import keccak

    assert evm.block_hash(5) == keccak(b"5")


def test_blockhash_scan_skips_push_data_and_dead_code():
    assert code_reads_blockhash(bytes.fromhex("6001 40 00".replace(" ", "")))
    assert not code_reads_blockhash(bytes.fromhex("6040 00"))  # PUSH1 0x40
    assert not code_reads_blockhash(bytes.fromhex("00 40".replace(" ", "")))  # unreachable after STOP
    assert code_reads_blockhash(bytes.fromhex("00 5b 40".replace(" ", "")))  # reachable via JUMPDEST
    assert not code_reads_blockhash(bytes.fromhex("7f" + "40" * 32))
    assert code_reads_blockhash(CLOCK_INITCODE)
    assert not code_reads_blockhash(FUZZ_INITCODE)


def test_make_engine_names():
    assert isinstance(make_engine("revm"), RevmEngine)
    assert isinstance(make_engine("py-evm"), PyEvmEngine)
    with pytest.raises(ValueError, match="unknown execution engine"):
        make_engine("geth")


def test_revm_is_the_default_engine():
    chain = NodeChain.open(None, make_test_genesis())
    assert chain.engine.name == "revm"


# -- state-test-style cases: both engines, identical blocks ----------------------------------------
@pytest.fixture
def pair():
    p = EnginePair(make_test_genesis())
    yield p
    p.close()


def _deploy(pair: EnginePair, key_i: int, nonce: int, initcode: bytes) -> bytes:
    pair.block([sign_tx(USER_KEYS[key_i], pair.main, nonce=nonce, gas=1_500_000, data=initcode)])
    return created_address(USERS[key_i], nonce)


def test_transfers_to_new_and_existing_accounts_and_coinbase(pair):
    new = b"\x99" * 20
    raws = [
        sign_tx(USER_KEYS[0], pair.main, nonce=0, to=new, value=5, gas=21_000),
        sign_tx(USER_KEYS[0], pair.main, nonce=1, to=USERS[1], value=7, gas=21_000),
        sign_tx(USER_KEYS[1], pair.main, nonce=0, to=b"\x77" * 20, value=0, gas=21_000),  # touch empty
        sign_tx(USER_KEYS[2], pair.main, nonce=0, to=USERS[3], value=1, gas=30_000, gasPrice=3),
        sign_tx(
            USER_KEYS[3],
            pair.main,
            nonce=0,
            to=new,
            value=1,
            gas=25_000,
            maxFeePerGas=9,
            maxPriorityFeePerGas=2,
        ),
    ]
    out = pair.block(raws)
    assert len(out.included) == 5
    state = pair.main.state_at()
    assert state.get_balance(new) == 6
    assert not state.account_exists(b"\x77" * 20)  # EIP-161: touched empty account not created


def test_invalid_transactions_rejected_identically(pair):
    raws = [
        sign_tx(USER_KEYS[0], pair.main, nonce=5, to=USERS[1], value=1, gas=21_000),  # nonce gap
        sign_tx(USER_KEYS[1], pair.main, nonce=0, to=USERS[1], value=10**30, gas=21_000),  # no funds
        sign_tx(USER_KEYS[2], pair.main, nonce=0, to=USERS[1], value=1, gas=20_000),  # below intrinsic
        sign_tx(USER_KEYS[3], pair.main, nonce=0, data=b"\x00" * 50_000, gas=15_000_000),  # initcode > 49152
    ]
    out = pair.block(raws)
    assert out.included == [] and len(out.rejected) == 4


def test_contract_lifecycle_storage_logs_reverts_selfcalls_precompiles(pair):
    fuzz = _deploy(pair, 0, 0, FUZZ_INITCODE)
    assert pair.main.state_at().get_code(fuzz)
    cases = [
        (0, 3, 11),  # sstore
        (0, 4, 12),
        (1, 3, 4),  # clear two slots (refunds)
        (2, 1, 2),  # log
        (3, 9, 0),  # custom-error revert
        (4, 5, (99 << 8) | 0),  # self-call that stores
        (4, 5, (1 << 8) | 3),  # self-call that reverts, caught
        (5, 1, 2),  # sha256 precompile
        (6, 7, 8),  # identity precompile
        (7, 1, 2),  # ecrecover
        (8, 42, 0),  # CREATE child
        (10, 0, 39),  # many SLOADs
        (11, 5, 6),  # transient storage
        (12, int.from_bytes(USERS[2], "big"), 0),  # BALANCE / EXTCODESIZE of an account not pre-loaded
        (13, int.from_bytes(USERS[3], "big"), 0),  # SELFDESTRUCT of an older contract (Cancun: no deletion)
        (14, 77, int.from_bytes(b"\x55" * 20, "big")),  # create + selfdestruct in one tx (deleted)
        (15, 0, 0),  # INVALID: all gas
        (16, 3, 5),  # modexp
        (9, int.from_bytes(b"\x66" * 20, "big"), 0),  # value forwarding
    ]
    raws = []
    for i, (kind, a, b) in enumerate(cases):
        value = 1000 if kind in (8, 9, 14) else 0
        raws.append(
            sign_tx(
                USER_KEYS[1], pair.main, nonce=i, to=fuzz, data=op_call(kind, a, b), gas=400_000, value=value
            )
        )
    out = pair.block(raws)
    assert len(out.included) == len(cases)
    # same again in a second block: warm/cold and original values start over for every tx
    raws = [
        sign_tx(USER_KEYS[1], pair.main, nonce=len(cases) + i, to=fuzz, data=op_call(k, a, b), gas=400_000)
        for i, (k, a, b) in enumerate([(0, 3, 1), (0, 3, 2), (0, 3, 0), (1, 4, 4), (10, 0, 25)])
    ]
    pair.block(raws)
    # an out-of-gas call and a call with a gas price (py-evm handles this one; fees must match)
    pair.block(
        [
            sign_tx(USER_KEYS[2], pair.main, nonce=0, to=fuzz, data=op_call(10, 0, 39), gas=30_000),
            sign_tx(USER_KEYS[2], pair.main, nonce=1, to=fuzz, data=op_call(0, 1, 1), gas=90_000, gasPrice=5),
            sign_tx(
                USER_KEYS[2],
                pair.main,
                nonce=2,
                to=fuzz,
                data=op_call(0, 2, 2),
                gas=90_000,
                maxFeePerGas=5,
                maxPriorityFeePerGas=1,
                accessList=[{"address": to_checksum_address(fuzz), "storageKeys": ["0x" + "00" * 31 + "01"]}],
            ),
        ]
    )


def test_precompiles_called_directly(pair):
    raws = [
        sign_tx(USER_KEYS[0], pair.main, nonce=i, to=bytes(19) + bytes([p]), data=b"\x01" * 64, gas=200_000)
        for i, p in enumerate(range(1, 10))
    ]
    pair.block(raws)


def test_blockhash_runs_on_py_evm_and_matches(pair):
    clock = _deploy(pair, 0, 0, CLOCK_INITCODE)
    pair.block([])
    revm = pair.main.engine
    before = revm.stats["py-evm:blockhash"]
    pair.block([sign_tx(USER_KEYS[1], pair.main, nonce=0, to=clock, data=MARK_SELECTOR, gas=100_000)])
    assert revm.stats["py-evm:blockhash"] == before + 1
    parent = pair.main.get_header_by_number(pair.main.head.block_number - 1)
    seen = pair.main.state_at().get_storage(clock, 0)
    assert seen.to_bytes(32, "big") == parent.hash


def test_contract_code_size_limit(pair):
    # initcode returning 24,577 zero bytes: over EIP-170's 24,576 -> creation fails, all gas spent
    too_big = bytes.fromhex("620060015f" + "f3")  # PUSH3 0x006001 PUSH0 RETURN
    ok = bytes.fromhex("620060005f" + "f3")  # exactly 24,576
    out = pair.block(
        [
            sign_tx(USER_KEYS[0], pair.main, nonce=0, data=too_big, gas=6_000_000),
            sign_tx(USER_KEYS[0], pair.main, nonce=1, data=ok, gas=6_000_000),
        ]
    )
    assert len(out.included) == 2
    state = pair.main.state_at()
    assert state.get_code(created_address(USERS[0], 0)) == b""
    assert len(state.get_code(created_address(USERS[0], 1))) == 24_576


# -- eth_call / estimateGas through the engine ------------------------------------------------------
def test_call_and_estimate_agree_between_engines():
    genesis = make_test_genesis()
    chains = [NodeChain.open(None, genesis, engine=e) for e in ("revm", "py-evm")]
    results = []
    for chain in chains:
        x = (5).to_bytes(32, "big")
        out = chain.call({"from": USERS[0], "to": PROBE_ADDR, "data": x})
        gas = chain.estimate_gas({"from": USERS[0], "to": PROBE_ADDR, "data": x})
        with pytest.raises(Exception) as info:
            chain.call({"from": USERS[0], "to": PROBE_ADDR, "data": bytes(32)})
        over = chain.call(
            {"from": USERS[0], "to": PROBE_ADDR, "data": x},
            state_override={PROBE_ADDR: {"stateDiff": {0: 9}}},
        )
        results.append((out, gas, type(info.value).__name__, getattr(info.value, "data", None), over))
    assert results[0] == results[1]
    assert results[0][3] == bytes.fromhex("deadbeef")


# -- cross-check mode -----------------------------------------------------------------------------------
def test_cross_check_accepts_agreeing_blocks_and_halts_on_divergence(monkeypatch):
    genesis = make_test_genesis()
    chain = NodeChain.open(None, genesis, cross_check=True)
    produce(chain, [sign_tx(USER_KEYS[0], chain, nonce=0, to=PROBE_ADDR, data=(3).to_bytes(32, "big"))])
    assert chain.head.block_number == 1
    real = PyEvmEngine.apply_transaction

    def corrupt(self, vm, header, tx):  # a py-evm that "disagrees" on the sender's balance
        receipt = real(self, vm, header, tx)
        vm.state.delta_balance(tx.sender, 1)
        return receipt

    monkeypatch.setattr(PyEvmEngine, "apply_transaction", corrupt)
    with pytest.raises(EngineDivergence, match="state_root differs"):
        produce(chain, [sign_tx(USER_KEYS[0], chain, nonce=1, to=PROBE_ADDR, data=(4).to_bytes(32, "big"))])
    assert chain.head.block_number == 1  # nothing imported


# -- [chain] config ------------------------------------------------------------------------------------
def test_chain_config_section(tmp_path):
    from co3chain.node.config import ConfigError, parse_config

    base = {"node": {"genesis": "g.json"}}
    cfg = parse_config(base, tmp_path)
    assert (cfg.chain.engine, cfg.chain.cross_check) == ("revm", False)
    cfg = parse_config({**base, "chain": {"engine": "py-evm", "cross_check": True}}, tmp_path)
    assert (cfg.chain.engine, cfg.chain.cross_check) == ("py-evm", True)
    with pytest.raises(ConfigError, match='engine must be "revm" or "py-evm"'):
        parse_config({**base, "chain": {"engine": "evmone"}}, tmp_path)
    with pytest.raises(ConfigError, match="cross_check"):
        parse_config({**base, "chain": {"cross_check": "yes"}}, tmp_path)


def test_block_and_tx_environment_opcodes_match():
    """NUMBER, TIMESTAMP, COINBASE, PREVRANDAO, GASLIMIT, BASEFEE, CHAINID, BLOBBASEFEE, GASPRICE, ORIGIN,
    SELFBALANCE, CALLER, CALLVALUE, GAS, MSIZE stored to slots, in a call and in a creation."""
    from co3chain.chain.genesis import make_genesis, parse_genesis
    from tests.chain.helpers import CHAIN_ID, VALIDATOR_KEYS, addr

    ops = [0x43, 0x42, 0x41, 0x44, 0x45, 0x48, 0x46, 0x4A, 0x3A, 0x32, 0x47, 0x33, 0x34, 0x5A, 0x59]
    code = b"".join(bytes([op, 0x60, i, 0x55]) for i, op in enumerate(ops)) + b"\x00"
    env_addr = b"\xe0" * 20
    alloc = {u: 10**24 for u in USERS}
    alloc[env_addr] = {"balance": 5, "code": "0x" + code.hex()}
    genesis = parse_genesis(make_genesis([addr(VALIDATOR_KEYS[0])], CHAIN_ID, alloc, block_period=1))
    pair = EnginePair(genesis)
    try:
        pair.block(
            [
                sign_tx(USER_KEYS[0], pair.main, nonce=0, to=env_addr, value=3, gas=500_000, gasPrice=0),
                sign_tx(USER_KEYS[0], pair.main, nonce=1, data=code, value=2, gas=500_000),
                sign_tx(USER_KEYS[1], pair.main, nonce=0, data=code, gas=500_000, gasPrice=7),
            ]
        )
        state = pair.main.state_at()
        assert state.get_storage(env_addr, 0) == pair.main.head.block_number
        assert state.get_storage(env_addr, 6) == CHAIN_ID
        assert state.get_storage(created_address(USERS[1], 0), 8) == 7  # GASPRICE in a creation
    finally:
        pair.close()


def test_fast_keccak_is_installed_and_exact():
    from eth_hash.auto import keccak

    from co3chain.chain import fasthash

    assert fasthash.INSTALLED
    assert keccak(b"") == bytes.fromhex("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")
    from Crypto.Hash import keccak as reference

    for data in (b"abc", b"\x00" * 135, b"\x01" * 136, b"\x02" * 1000):
        assert keccak(data) == reference.new(digest_bits=256, data=data).digest()


def test_unparseable_pyrevm_dump_falls_back_to_py_evm(monkeypatch):
    """If a pyrevm upgrade changed its debug format, transactions must run on py-evm, not on half-read state."""
    import co3chain.chain.revm_engine as revm_engine

    monkeypatch.setattr(revm_engine, "_reads", lambda evm: {})
    monkeypatch.setattr(revm_engine, "_parse_journal", lambda text: [])
    pair = EnginePair(make_test_genesis())
    try:
        pair.block([sign_tx(USER_KEYS[0], pair.main, nonce=0, to=PROBE_ADDR, data=(5).to_bytes(32, "big"))])
        stats = pair.main.engine.stats
        assert stats["py-evm:unreadable pyrevm database dump"] + stats["py-evm:unreadable pyrevm journal dump"] == 1
        assert stats["revm"] == 0
    finally:
        pair.close()


def test_unparseable_journal_dump_falls_back_to_py_evm(monkeypatch):
    """The journal-only path (code that cannot open a call frame) has the same guard."""
    import co3chain.chain.revm_engine as revm_engine

    monkeypatch.setattr(revm_engine, "_parse_journal", lambda text: [])
    pair = EnginePair(make_test_genesis())
    try:
        pair.block([sign_tx(USER_KEYS[0], pair.main, nonce=0, to=PROBE_ADDR, data=(5).to_bytes(32, "big"))])
        stats = pair.main.engine.stats
        assert stats["py-evm:unreadable pyrevm journal dump"] + stats["py-evm:unreadable pyrevm database dump"] == 1
        assert stats["revm"] == 0
    finally:
        pair.close()


def test_journal_only_path_is_taken_for_single_frame_code_and_not_for_calling_code():
    """Code without reachable CALL/CREATE opcodes is read from the journal dump alone; code that can call
    another contract still gets the whole-EVM dump (reverted frames' reads are only in the database)."""
    from co3chain.chain.revm_engine import FLAG_OPENS_FRAMES, code_flags

    assert not code_flags(bytes.fromhex("600054600155")) & FLAG_OPENS_FRAMES  # SLOAD/SSTORE only
    assert code_flags(bytes.fromhex("5f5f5f5f5f335af1")) & FLAG_OPENS_FRAMES  # CALL
    assert code_flags(bytes.fromhex("5f5f5f335afa")) & FLAG_OPENS_FRAMES  # STATICCALL
    assert not code_flags(bytes.fromhex("00f1")) & FLAG_OPENS_FRAMES  # unreachable after STOP
    assert not code_flags(bytes.fromhex("60f1")) & FLAG_OPENS_FRAMES  # PUSH1 data
    assert code_flags(bytes.fromhex("005bf0")) & FLAG_OPENS_FRAMES  # reachable CREATE via JUMPDEST
    pair = EnginePair(make_test_genesis())
    try:
        pair.block([sign_tx(USER_KEYS[0], pair.main, nonce=0, to=PROBE_ADDR, data=(5).to_bytes(32, "big"))])
        assert pair.main.engine.stats["journal-only"] >= 1
    finally:
        pair.close()


def test_cross_check_can_be_forced_by_environment(monkeypatch):
    monkeypatch.setenv("CO3CHAIN_CROSS_CHECK", "1")
    chain = NodeChain.open(None, make_test_genesis())
    assert chain.cross_check
    produce(chain, [sign_tx(USER_KEYS[0], chain, nonce=0, to=PROBE_ADDR, data=(3).to_bytes(32, "big"))])
    assert chain.head.block_number == 1


def test_factory_creating_from_calldata_init_code_with_blockhash_matches(pair):
    """Init code passed in calldata (invisible to the BLOCKHASH scan) that reads BLOCKHASH: the factory's
    CREATE sends the transaction to py-evm, so both engines store the real parent hash."""
    # factory runtime: calldatacopy(0, 0, calldatasize); create(0, 0, calldatasize); sstore(0, address)
    factory = bytes.fromhex("366000600037" + "366000" + "6000" + "f0" + "600055" + "00")
    factory_init = (
        bytes([0x60, len(factory), 0x60, 0x0C, 0x60, 0x00, 0x39, 0x60, len(factory), 0x60, 0x00, 0xF3])
        + factory
    )
    fac = _deploy(pair, 0, 0, factory_init)
    pair.block([])
    child_init = bytes.fromhex("600143034060005500")  # sstore(0, blockhash(number - 1)); stop
    pair.block([sign_tx(USER_KEYS[1], pair.main, nonce=0, to=fac, data=child_init, gas=300_000)])
    assert pair.main.engine.stats["py-evm:contract creation from contract code"] >= 1
    child = created_address(fac, 1)
    parent = pair.main.get_header_by_number(pair.main.head.block_number - 1)
    assert pair.main.state_at().get_storage(child, 0).to_bytes(32, "big") == parent.hash


def test_absent_coinbase_and_codeful_empty_contract_left_alone_like_py_evm(pair):
    """The revm write-back skips the EIP-161 lookups for an account absent before the transaction that
    nothing wrote (the coinbase of fee-free calls) and for a touched account with code (a contract with
    no balance and nonce 0, like a genesis token): both engines must still agree byte for byte, before
    and after a fee creates the coinbase."""
    coinbase = addr(pair.key)
    assert not pair.main.state_at().account_exists(coinbase)
    raws = [
        sign_tx(USER_KEYS[0], pair.main, nonce=0, to=PROBE_ADDR, data=(11).to_bytes(32, "big")),
        sign_tx(USER_KEYS[1], pair.main, nonce=0, to=PROBE_ADDR, data=(0).to_bytes(32, "big")),  # reverts
        sign_tx(USER_KEYS[2], pair.main, nonce=0, to=b"\x55" * 20, value=0, gas=21_000),  # touch empty
    ]
    pair.block(raws)
    state = pair.main.state_at()
    assert not state.account_exists(coinbase) and not state.account_exists(b"\x55" * 20)
    assert state.account_exists(PROBE_ADDR) and state.get_storage(PROBE_ADDR, 0) == 11
    pair.block(
        [
            sign_tx(USER_KEYS[0], pair.main, nonce=1, to=PROBE_ADDR, data=(12).to_bytes(32, "big"), gasPrice=2),
            sign_tx(USER_KEYS[1], pair.main, nonce=1, to=PROBE_ADDR, data=(13).to_bytes(32, "big")),
        ]
    )
    state = pair.main.state_at()
    assert state.get_balance(coinbase) > 0 and state.get_storage(PROBE_ADDR, 0) == 13
