"""eth_simulateV1 ``traceTransfers`` (execution-apis): every value transfer, top level and internal, shows up
as an ERC-7528 ``Transfer(from, to, value)`` log from 0xeeee…eeee, in execution order with the real logs;
a reverted frame's transfers vanish with its logs; receipts and the block bloom leave them out. Also the
spec's ``maxUsedGas`` (gas before the refund) and the fixed base fee in simulated headers."""

from __future__ import annotations

from typing import Any

from eth_utils import keccak

from tests.rpc.conftest import Node

EMITTER = "0x" + "ee" * 20
TRANSFER = "0x" + keccak(text="Transfer(address,address,uint256)").hex()
SENDER = "0xc000000000000000000000000000000000000000"
FORWARDER = "0xc100000000000000000000000000000000000000"
SINK = "0xc200000000000000000000000000000000000000"
REVERTER = "0xc300000000000000000000000000000000000000"
#: call(gas, calldataload(0), callvalue, 0, 0, 0, 0); pop; log0(mstore(0, 42), 32 bytes); stop
FORWARDER_CODE = "0x" + "6000600060006000346000355af150" + "602a60005260206000a000"
#: revert(0, 0)
REVERTER_CODE = "0x60006000fd"
DESTRUCTOR = "0xc400000000000000000000000000000000000000"
#: selfdestruct(SINK)
DESTRUCTOR_CODE = "0x73" + SINK[2:] + "ff"


def _word(address: str) -> str:
    return "0x" + address[2:].rjust(64, "0")


def _simulate(node: Node, to: str, value: int, data: str = "0x", trace: bool = True) -> dict[str, Any]:
    payload = {
        "blockStateCalls": [{
            "stateOverrides": {SENDER: {"balance": hex(10**18)}, FORWARDER: {"code": FORWARDER_CODE},
                               REVERTER: {"code": REVERTER_CODE},
                               DESTRUCTOR: {"code": DESTRUCTOR_CODE, "balance": "0x64"}},
            "calls": [{"from": SENDER, "to": to, "value": hex(value), "input": data}],
        }],
        "traceTransfers": trace,
    }
    (block,) = node.call("eth_simulateV1", payload, "latest")
    return block


def _transfer(frm: str, to: str, value: int) -> tuple[str, list[str], str]:
    return EMITTER, [TRANSFER, _word(frm), _word(to)], "0x" + value.to_bytes(32, "big").hex()


def _logs(block: dict[str, Any]) -> list[tuple[str, list[str], str]]:
    (call,) = block["calls"]
    assert call["status"] == "0x1", call
    assert [int(lg["logIndex"], 16) for lg in call["logs"]] == list(range(len(call["logs"])))
    return [(lg["address"], lg["topics"], lg["data"]) for lg in call["logs"]]


def test_forwarded_value_gives_two_transfer_logs_around_the_real_one(node: Node) -> None:
    block = _simulate(node, FORWARDER, 1000, _word(SINK))
    real = (FORWARDER, [], _word("0x2a"))
    assert _logs(block) == [_transfer(SENDER, FORWARDER, 1000), _transfer(FORWARDER, SINK, 1000), real]
    bloom = int(block["logsBloom"], 16)
    untraced = _simulate(node, FORWARDER, 1000, _word(SINK), trace=False)
    assert _logs(untraced) == [real]
    # the pseudo-logs are not part of the receipts: same bloom and receipts root as without tracing
    assert bloom == int(untraced["logsBloom"], 16) and block["receiptsRoot"] == untraced["receiptsRoot"]


def test_a_reverted_inner_transfer_leaves_no_log(node: Node) -> None:
    block = _simulate(node, FORWARDER, 7, _word(REVERTER))
    assert _logs(block) == [_transfer(SENDER, FORWARDER, 7), (FORWARDER, [], _word("0x2a"))]


def test_plain_transfer_and_zero_value(node: Node) -> None:
    assert _logs(_simulate(node, SINK, 5)) == [_transfer(SENDER, SINK, 5)]
    assert _logs(_simulate(node, SINK, 0)) == []


def test_selfdestruct_moves_the_whole_balance_with_a_log(node: Node) -> None:
    # the value sent in arrives first, then SELFDESTRUCT sends everything (100 + 5) to the beneficiary
    assert _logs(_simulate(node, DESTRUCTOR, 5)) == [_transfer(SENDER, DESTRUCTOR, 5),
                                                     _transfer(DESTRUCTOR, SINK, 105)]


def test_max_used_gas_and_base_fee(node: Node) -> None:
    (call,) = _simulate(node, FORWARDER, 1, _word(SINK))["calls"]
    assert int(call["maxUsedGas"], 16) >= int(call["gasUsed"], 16) > 21_000


def test_simulated_block_carries_the_fixed_base_fee_when_validating() -> None:
    from tests.rpc.conftest import start_node

    node, stop = start_node(base_fee=1000)
    try:
        payload: dict[str, Any] = {"blockStateCalls": [{"calls": []}]}
        (plain,) = node.call("eth_simulateV1", payload, "latest")
        assert plain["baseFeePerGas"] == "0x0"  # without validation: base fee 0, so unpriced calls are valid
        (validated,) = node.call("eth_simulateV1", {**payload, "validation": True}, "latest")
        assert validated["baseFeePerGas"] == hex(1000)
        override = {"blockStateCalls": [{"blockOverrides": {"baseFeePerGas": "0x7"}, "calls": []}]}
        assert node.call("eth_simulateV1", override, "latest")[0]["baseFeePerGas"] == "0x7"
    finally:
        stop()


def _error(node: Node, calls: list[dict[str, Any]], validation: bool = False, **block: Any) -> dict[str, Any]:
    payload = {"blockStateCalls": [{"stateOverrides": {SENDER: {"balance": hex(10**6)}}, "calls": calls,
                                    **block}], "validation": validation}
    body = node.rpc("eth_simulateV1", payload, "latest")
    assert "error" in body, body
    return body["error"]


def test_spec_error_codes(node: Node) -> None:
    call = {"from": SENDER, "to": SINK}
    assert _error(node, [{**call, "nonce": "0x5"}], validation=True)["code"] == -38011  # nonce too high
    assert _error(node, [{**call, "value": hex(10**7)}])["code"] == -38014  # value beyond the balance
    # with validation the gas is paid for: 21,000 × 100 wei is more than the balance
    assert _error(node, [{**call, "gas": "0x5208", "gasPrice": "0x64"}], validation=True)["code"] == -38014
    assert _error(node, [{**call, "gas": "0x100"}])["code"] == -38013  # intrinsic gas
    assert _error(node, [{**call, "gas": hex(10**9)}], blockOverrides={"gasLimit": hex(10**6)})["code"] == -38015
    ok = {"blockStateCalls": [{"calls": [{**call, "nonce": "0x0"}]}], "validation": True}
    assert node.call("eth_simulateV1", ok, "latest")[0]["calls"][0]["status"] == "0x1"


def test_base_fee_too_low_with_validation() -> None:
    from tests.rpc.conftest import start_node

    node, stop = start_node(base_fee=1000)
    try:
        call = {"from": SENDER, "to": SINK, "maxFeePerGas": "0x1"}
        assert _error(node, [call], validation=True)["code"] == -38012
        payload = {"blockStateCalls": [{"calls": [call]}]}  # without validation the base fee is 0
        assert node.call("eth_simulateV1", payload, "latest")[0]["calls"][0]["status"] == "0x1"
    finally:
        stop()
