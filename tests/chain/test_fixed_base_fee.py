"""Fixed base fee (genesis ``fixedBaseFee``): parsing, the consensus rule, fee burning and tips, both engines.

Why these cases: a non-zero base fee changes who gets what (the base fee part is burned, only the tip goes to
the proposer) and what GASPRICE/BASEFEE read; revm and py-evm must agree byte for byte on all of it.
"""

from __future__ import annotations

import pytest
from eth_utils import ValidationError

from co3chain.chain.chain import BlockImportError
from co3chain.chain.genesis import GenesisError, make_genesis, parse_genesis
from co3chain.chain.vm import validate_qbft_header
from co3chain.node.txpool import TxPool, TxPoolError
from tests.chain.engine_harness import EnginePair, created_address
from tests.chain.helpers import (
    PROBE_ADDR,
    PROBE_RUNTIME,
    USER_KEYS,
    USERS,
    VALIDATOR_KEYS,
    addr,
    make_test_genesis,
    seal_block,
    sign_tx,
)

FEE = 1000
#: runtime: sstore(0, GASPRICE); sstore(1, BASEFEE); stop
ENV_RUNTIME = bytes.fromhex("3a600055" "48600155" "00")
ENV_ADDR = b"\xe0" * 20


def _genesis(base_fee: int = FEE):
    doc = make_genesis(
        [addr(VALIDATOR_KEYS[0])], 1337,
        {**{u: 10**24 for u in USERS}, ENV_ADDR: {"balance": 0, "code": "0x" + ENV_RUNTIME.hex()},
         PROBE_ADDR: {"balance": 0, "code": "0x" + PROBE_RUNTIME.hex()}},
        block_period=1, base_fee=base_fee,
    )
    return doc, parse_genesis(doc)


def test_genesis_fixed_base_fee_is_besu_shaped_and_parsed():
    doc, g = _genesis()
    assert doc["config"]["fixedBaseFee"] is True and "zeroBaseFee" not in doc["config"]
    assert doc["baseFeePerGas"] == hex(FEE)
    assert g.base_fee == FEE and g.fixed_base_fee == FEE
    # the library default stays free gas, byte for byte as before
    free = make_genesis([addr(VALIDATOR_KEYS[0])], 1337)
    assert free["config"]["zeroBaseFee"] is True and free["baseFeePerGas"] == "0x0"
    assert parse_genesis(free).fixed_base_fee == 0


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d["config"].update(zeroBaseFee=True), "exclude each other"),
        (lambda d: d.pop("baseFeePerGas"), "needs baseFeePerGas"),
        (lambda d: d.update(baseFeePerGas="0x0"), "non-zero baseFeePerGas"),
        (lambda d: d["config"].pop("fixedBaseFee"), "baseFeePerGas must be 0"),
        (lambda d: d["config"].update(fixedBaseFee=False), "dynamic EIP-1559"),
        (lambda d: d["config"].update(fixedBaseFee="yes"), "true or false"),
    ],
)
def test_genesis_fee_options_refused_with_a_reason(edit, message):
    doc, _ = _genesis()
    edit(doc)
    if message == "dynamic EIP-1559":
        doc["config"]["zeroBaseFee"] = False
    with pytest.raises(GenesisError, match=message):
        parse_genesis(doc)


def test_every_block_carries_the_fixed_fee_and_other_values_are_refused():
    _, g = _genesis()
    pair = EnginePair(g)
    try:
        out = pair.block([])
        assert out.header.base_fee_per_gas == FEE
        parent = pair.main.get_header_by_number(0)
        validate_qbft_header(out.header, parent, 1, FEE)
        with pytest.raises(ValidationError, match=f"base fee must be {FEE}"):
            validate_qbft_header(out.header.copy(base_fee_per_gas=0), parent, 1, FEE)
        # a block with a zero base fee is refused on import
        chain = pair.main
        res = chain.build_block([], addr(VALIDATOR_KEYS[0]), chain.head.timestamp + 1, chain.head.extra_data)
        bad = res.block.copy(header=res.block.header.copy(base_fee_per_gas=0))
        with pytest.raises(BlockImportError, match="base fee"):
            chain.import_block(seal_block(bad, [VALIDATOR_KEYS[0]]))
    finally:
        pair.close()


def test_base_fee_is_burned_tips_go_to_the_proposer_and_engines_agree():
    _, g = _genesis()
    pair = EnginePair(g)
    try:
        chain = pair.main
        proposer = addr(VALIDATOR_KEYS[0])
        before = {u: chain.state_at().get_balance(u) for u in USERS}
        raws = [
            # type 2, no tip (what ethers/viem/web3.py send here): pays exactly gas used × base fee
            sign_tx(USER_KEYS[0], chain, nonce=0, to=USERS[3], value=5, gas=21_000, maxFeePerGas=2 * FEE,
                    maxPriorityFeePerGas=0),
            # a contract call reading GASPRICE and BASEFEE (runs on py-evm under revm: same result)
            sign_tx(USER_KEYS[1], chain, nonce=0, to=ENV_ADDR, gas=100_000, maxFeePerGas=3 * FEE,
                    maxPriorityFeePerGas=7),
            # legacy at the base fee, calling a contract (revm path with a gas price)
            sign_tx(USER_KEYS[2], chain, nonce=0, to=PROBE_ADDR, data=(5).to_bytes(32, "big"), gas=100_000,
                    gasPrice=FEE),
            # a deployment with a tip (revm deploy: the base fee part must not reach the coinbase)
            sign_tx(USER_KEYS[2], chain, nonce=1, gas=300_000, data=bytes.fromhex("600a600c600039600a6000f3")
                    + ENV_RUNTIME + b"\x00", gasPrice=FEE + 3),
        ]
        out = pair.block(raws)
        assert len(out.included) == 4, out.rejected
        receipts = chain.block_receipt_infos(chain.get_block_by_hash(out.header.hash))
        assert [r.status for r in receipts] == [1, 1, 1, 1]
        assert [r.effective_gas_price for r in receipts] == [FEE, FEE + 7, FEE, FEE + 3]
        state = chain.state_at()
        assert state.get_storage(ENV_ADDR, 0) == FEE + 7  # GASPRICE = effective price
        assert state.get_storage(ENV_ADDR, 1) == FEE  # BASEFEE
        tips = receipts[1].gas_used * 7 + receipts[3].gas_used * 3
        assert state.get_balance(proposer) == tips  # base fee burned, tips to the proposer
        assert before[USERS[0]] - state.get_balance(USERS[0]) == 5 + 21_000 * FEE
        assert state.get_code(created_address(USERS[2], 1))
        assert state.get_storage(PROBE_ADDR, 0) == 5
    finally:
        pair.close()


def test_pool_refuses_fee_caps_below_the_base_fee_and_calls_stay_free():
    _, g = _genesis()
    pair = EnginePair(g, engines=("revm",))
    try:
        chain = pair.main
        pool = TxPool(chain)
        for fields in ({"gasPrice": 0}, {"gasPrice": FEE - 1}, {"maxFeePerGas": FEE - 1, "maxPriorityFeePerGas": 0}):
            raw = sign_tx(USER_KEYS[0], chain, nonce=0, to=USERS[1], gas=21_000, **fields)
            with pytest.raises(TxPoolError, match="max fee per gas less than block base fee"):
                pool.add(raw)
        pool.add(sign_tx(USER_KEYS[0], chain, nonce=0, to=USERS[1], gas=21_000, gasPrice=FEE))
        # eth_call / estimateGas need no fee and no funds (geth's NoBaseFee), also from an empty account
        assert chain.call({"from": b"\x55" * 20, "to": PROBE_ADDR, "data": (3).to_bytes(32, "big")}) == (
            (3).to_bytes(32, "big")
        )
        assert chain.estimate_gas({"from": b"\x55" * 20, "to": PROBE_ADDR,
                                   "data": (3).to_bytes(32, "big")}) > 21_000
        assert chain.estimate_gas({"from": b"\x55" * 20, "to": PROBE_ADDR, "data": (3).to_bytes(32, "big"),
                                   "accessList": [(PROBE_ADDR, [0])]}) > 21_000
    finally:
        pair.close()


def test_zero_fee_genesis_files_keep_their_hash_and_rules():
    g = make_test_genesis()
    assert g.fixed_base_fee == 0
    pair = EnginePair(g, engines=("revm",))
    try:
        assert pair.block([]).header.base_fee_per_gas == 0
    finally:
        pair.close()


def test_fixed_fee_genesis_is_runnable_and_hashes_as_besu_would():
    from co3chain.chain.chain import NodeChain
    from co3chain.chain.genesis_hash import genesis_report

    doc, g = _genesis()
    report = genesis_report(doc)
    assert report["runnable"] is True, report
    chain = NodeChain.open(None, g)
    try:
        assert report["hash"] == "0x" + chain.genesis_header.hash.hex()
        assert chain.genesis_header.base_fee_per_gas == FEE  # block 0 carries the genesis baseFeePerGas
    finally:
        chain.close()
