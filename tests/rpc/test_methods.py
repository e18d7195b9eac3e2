"""Every JSON-RPC method against an in-memory chain, over real HTTP (blocks are sealed explicitly)."""

from __future__ import annotations

from typing import Any

import pytest
import rlp
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_hash.auto import keccak
from eth_utils import function_signature_to_4byte_selector as selector

from tests.rpc.conftest import CHAIN_ID, USER_KEYS, USERS, VALIDATOR, Node
from tests.rpc.contract import COUNTER_BYTECODE, INCREMENTED_TOPIC

A0, A1 = "0x" + USERS[0].hex(), "0x" + USERS[1].hex()
INCREMENT = "0x" + selector("increment(uint256)").hex()
COUNT = "0x" + selector("count()").hex()


def inc_data(n: int) -> str:
    return INCREMENT + abi_encode(["uint256"], [n]).hex()


def deploy_counter(node: Node) -> str:
    h = node.call(
        "eth_sendRawTransaction",
        node.sign(USER_KEYS[0], data=bytes.fromhex(COUNTER_BYTECODE[2:]), gas=500_000),
    )
    node.seal()
    receipt = node.call("eth_getTransactionReceipt", h)
    assert receipt["status"] == "0x1"
    return receipt["contractAddress"]


def err(resp: dict[str, Any]) -> dict[str, Any]:
    assert "error" in resp, resp
    return resp["error"]


def test_chain_info(node: Node) -> None:
    assert node.call("web3_clientVersion").startswith("co3chain/v")
    assert node.call("web3_sha3", "0x68656c6c6f") == "0x" + keccak(b"hello").hex()
    assert node.call("net_version") == str(CHAIN_ID)
    assert node.call("net_listening") is True
    assert node.call("net_peerCount") == "0x0"
    assert node.call("eth_chainId") == hex(CHAIN_ID)
    assert node.call("eth_blockNumber") == "0x0"
    assert node.call("eth_syncing") is False
    assert node.call("eth_gasPrice") == "0x0"
    assert node.call("eth_maxPriorityFeePerGas") == "0x0"
    node.seal()
    node.seal()
    fh = node.call("eth_feeHistory", "0x2", "latest", [25, 75])
    assert fh["oldestBlock"] == "0x1"
    assert fh["baseFeePerGas"] == ["0x0", "0x0", "0x0"]
    assert len(fh["gasUsedRatio"]) == 2 and fh["reward"] == [["0x0", "0x0"], ["0x0", "0x0"]]
    assert err(node.rpc("eth_feeHistory", "0x2", "latest", [75, 25]))["code"] == -32602
    assert node.call("eth_blockNumber") == "0x2"


def test_value_transfer_lifecycle(node: Node) -> None:
    raw = node.sign(USER_KEYS[0], to=A1, value=12345, gas=21000)
    h = node.call("eth_sendRawTransaction", raw)
    pending = node.call("eth_getTransactionByHash", h)
    assert (
        pending["blockHash"] is None
        and pending["blockNumber"] is None
        and pending["transactionIndex"] is None
    )
    assert pending["from"] == A0 and pending["value"] == hex(12345)
    assert node.call("eth_getTransactionReceipt", h) is None
    assert node.call("eth_getTransactionCount", A0, "pending") == "0x1"
    assert node.call("eth_getTransactionCount", A0, "latest") == "0x0"
    assert node.call("txpool_status") == {"pending": "0x1", "queued": "0x0"}
    before = int(node.call("eth_getBalance", A1, "latest"), 16)

    node.seal()
    assert node.call("txpool_status") == {"pending": "0x0", "queued": "0x0"}
    tx = node.call("eth_getTransactionByHash", h)
    assert tx["blockNumber"] == "0x1" and tx["transactionIndex"] == "0x0" and tx["type"] == "0x0"
    assert tx["chainId"] == hex(CHAIN_ID)
    receipt = node.call("eth_getTransactionReceipt", h)
    assert receipt["status"] == "0x1" and receipt["gasUsed"] == hex(21000) and receipt["to"] == A1
    assert receipt["contractAddress"] is None and receipt["blockHash"] == tx["blockHash"]
    assert int(node.call("eth_getBalance", A1, "latest"), 16) == before + 12345
    assert int(node.call("eth_getBalance", A1, "0x0"), 16) == before
    assert node.call("eth_getTransactionCount", A0, "latest") == "0x1"
    assert node.call("eth_getTransactionByBlockNumberAndIndex", "0x1", "0x0")["hash"] == h
    assert node.call("eth_getTransactionByBlockHashAndIndex", tx["blockHash"], "0x0")["hash"] == h
    assert node.call("eth_getTransactionByBlockNumberAndIndex", "0x1", "0x5") is None
    assert node.call("eth_getBlockReceipts", "latest")[0]["transactionHash"] == h


def test_eip1559_transaction_fields(node: Node) -> None:
    raw = node.sign(USER_KEYS[1], to=A0, value=1, gas=21000, maxFeePerGas=0, maxPriorityFeePerGas=0, type=2)
    h = node.call("eth_sendRawTransaction", raw)
    node.seal()
    tx = node.call("eth_getTransactionByHash", h)
    assert tx["type"] == "0x2" and tx["maxFeePerGas"] == "0x0" and tx["accessList"] == []
    assert tx["yParity"] in ("0x0", "0x1") and tx["v"] == tx["yParity"]
    assert node.call("eth_getTransactionReceipt", h)["type"] == "0x2"


def test_blocks(node: Node) -> None:
    h = node.call("eth_sendRawTransaction", node.sign(USER_KEYS[0], to=A1, value=1, gas=21000))
    node.seal()
    full = node.call("eth_getBlockByNumber", "0x1", True)
    hashes = node.call("eth_getBlockByNumber", "latest", False)
    assert hashes["transactions"] == [h] and full["transactions"][0]["hash"] == h
    assert full["hash"] == hashes["hash"] and full["miner"] == "0x" + VALIDATOR.hex()
    assert full["difficulty"] == "0x1" and full["baseFeePerGas"] == "0x0" and full["uncles"] == []
    assert full["mixHash"] == "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365"
    by_hash = node.call("eth_getBlockByHash", full["hash"], False)
    assert by_hash == hashes
    genesis = node.call("eth_getBlockByNumber", "earliest", False)
    assert genesis["number"] == "0x0" and full["parentHash"] == genesis["hash"]
    for tag in ("safe", "finalized"):
        assert node.call("eth_getBlockByNumber", tag, False)["hash"] == full["hash"]
    pending = node.call("eth_getBlockByNumber", "pending", False)  # head + 1, as geth and anvil
    assert pending["number"] == hex(int(full["number"], 16) + 1) and pending["parentHash"] == full["hash"]
    assert node.call("eth_getBlockByNumber", "0x99", False) is None
    assert node.call("eth_getBlockByHash", "0x" + "11" * 32, False) is None
    assert node.call("eth_getBlockTransactionCountByNumber", "0x1") == "0x1"
    assert node.call("eth_getBlockTransactionCountByHash", full["hash"]) == "0x1"
    assert node.call("eth_getBlockTransactionCountByNumber", "0x99") is None
    assert node.call("eth_getUncleCountByBlockNumber", "0x1") == "0x0"
    # the block hash is the QBFT on-chain hash and the RLP size matches
    assert int(full["size"], 16) > 500
    assert err(node.rpc("eth_getBalance", A0, "0x99"))["message"] == "header not found"


def test_contract_calls_reverts_and_overrides(node: Node) -> None:
    addr = deploy_counter(node)
    code = node.call("eth_getCode", addr, "latest")
    assert len(code) > 100
    assert node.call("eth_getCode", addr, "0x0") == "0x"
    h = node.call(
        "eth_sendRawTransaction", node.sign(USER_KEYS[0], to=addr, data=bytes.fromhex(inc_data(7)[2:]))
    )
    node.seal()
    assert node.call("eth_getTransactionReceipt", h)["status"] == "0x1"
    assert node.call("eth_getStorageAt", addr, "0x0", "latest") == "0x" + (7).to_bytes(32, "big").hex()
    assert node.call("eth_getStorageAt", addr, "0x" + "00" * 32) == "0x" + (7).to_bytes(32, "big").hex()
    out = node.call("eth_call", {"to": addr, "data": COUNT}, "latest")
    assert int(out, 16) == 7
    assert int(node.call("eth_call", {"to": addr, "input": COUNT}, "0x1"), 16) == 0
    # state override: stateDiff on slot 0
    ov = {addr: {"stateDiff": {"0x" + "00" * 32: "0x" + (99).to_bytes(32, "big").hex()}}}
    assert int(node.call("eth_call", {"to": addr, "data": COUNT}, "latest", ov), 16) == 99
    ov_bal = {A1: {"balance": "0x1"}}
    node.call("eth_call", {"from": A1, "to": addr, "data": COUNT}, "latest", ov_bal)
    # Error(string) revert: code 3, data = revert bytes, message carries the reason (geth)
    e = err(node.rpc("eth_call", {"from": A0, "to": addr, "data": inc_data(0)}, "latest"))
    assert e["code"] == 3 and e["message"] == "execution reverted: zero"
    assert e["data"].startswith("0x08c379a0")
    assert abi_decode(["string"], bytes.fromhex(e["data"][10:]))[0] == "zero"
    # custom error: code 3, data = selector + args
    e = err(node.rpc("eth_call", {"from": A0, "to": addr, "data": inc_data(5000)}, "latest"))
    assert e["code"] == 3 and e["message"] == "execution reverted"
    assert e["data"] == "0x" + selector("TooLarge(uint256)").hex() + abi_encode(["uint256"], [5000]).hex()
    gas = int(node.call("eth_estimateGas", {"from": A0, "to": addr, "data": inc_data(3)}), 16)
    assert 25_000 < gas < 100_000
    assert err(node.rpc("eth_estimateGas", {"from": A0, "to": addr, "data": inc_data(0)}))["code"] == 3
    assert int(node.call("eth_estimateGas", {"from": A0, "to": A1, "value": "0x1"}), 16) == 21000
    # state override (geth's third parameter): an unfunded sender, then the counter's code at a new address
    pauper = "0x" + "ab" * 20
    transfer = {"from": pauper, "to": A1, "value": "0x10"}
    assert "insufficient funds" in err(node.rpc("eth_estimateGas", transfer))["message"]
    rich = {pauper: {"balance": "0x100"}}
    assert int(node.call("eth_estimateGas", transfer, "latest", rich), 16) == 21000
    elsewhere = "0x" + "cd" * 20
    moved = {elsewhere: {"code": code}}
    gas_moved = int(node.call("eth_estimateGas", {"from": A0, "to": elsewhere, "data": inc_data(3)}, "latest", moved), 16)
    assert 25_000 < gas_moved < 100_000
    assert err(node.rpc("eth_estimateGas", {"to": elsewhere}, "latest", {elsewhere: {"nonce": "x"}}))["code"] == -32602
    # "pending" runs in the next block's context even with an empty pool (as eth_getBlockByNumber reports
    # it): NUMBER PUSH1 0 MSTORE TIMESTAMP PUSH1 32 MSTORE PUSH1 64 PUSH1 0 RETURN
    clock = {elsewhere: {"code": "0x4360005242602052604060" + "00f3"}}
    head = node.call("eth_getBlockByNumber", "latest", False)
    assert node.call("txpool_status")["pending"] == "0x0"
    seen = {tag: node.call("eth_call", {"to": elsewhere}, tag, clock) for tag in ("latest", "pending")}
    assert abi_decode(["uint256", "uint256"], bytes.fromhex(seen["latest"][2:])) == (
        int(head["number"], 16), int(head["timestamp"], 16))
    number, timestamp = abi_decode(["uint256", "uint256"], bytes.fromhex(seen["pending"][2:]))
    assert number == int(head["number"], 16) + 1 and timestamp > int(head["timestamp"], 16)
    # ... so a gas estimate for a transaction about to be sent counts what the next block costs: a
    # checkpoint at block.timestamp (PUSH1 1 TIMESTAMP SSTORE STOP) already written in the head's second
    # is a cheap rewrite there, a new slot in the next block
    stamp = {elsewhere: {"code": "0x6001425500",
                         "stateDiff": {"0x" + int(head["timestamp"], 16).to_bytes(32, "big").hex(): "0x" + "00" * 31 + "01"}}}
    on = {tag: int(node.call("eth_estimateGas", {"from": A0, "to": elsewhere}, tag, stamp), 16)
          for tag in ("latest", "pending")}
    assert on["pending"] - on["latest"] >= 19_000, on
    # a failing transaction is still mined, with status 0
    h = node.call(
        "eth_sendRawTransaction",
        node.sign(USER_KEYS[0], to=addr, data=bytes.fromhex(inc_data(0)[2:]), gas=100_000),
    )
    node.seal()
    assert node.call("eth_getTransactionReceipt", h)["status"] == "0x0"


def test_logs_and_filters(node: Node) -> None:
    addr = deploy_counter(node)
    block_filter = node.call("eth_newBlockFilter")
    log_filter = node.call("eth_newFilter", {"address": addr, "topics": [INCREMENTED_TOPIC]})
    pending_filter = node.call("eth_newPendingTransactionFilter")
    h = node.call(
        "eth_sendRawTransaction", node.sign(USER_KEYS[0], to=addr, data=bytes.fromhex(inc_data(2)[2:]))
    )
    assert node.call("eth_getFilterChanges", pending_filter) == [h]
    assert node.call("eth_getFilterChanges", pending_filter) == []
    node.seal()
    block = node.call("eth_getBlockByNumber", "latest", False)
    assert node.call("eth_getFilterChanges", block_filter) == [block["hash"]]
    assert node.call("eth_getFilterChanges", block_filter) == []
    changes = node.call("eth_getFilterChanges", log_filter)
    assert len(changes) == 1
    lg = changes[0]
    assert lg["address"] == addr and lg["topics"][0] == INCREMENTED_TOPIC
    assert lg["topics"][1] == "0x" + "00" * 12 + USERS[0].hex()
    assert int(lg["data"], 16) == 2 and lg["transactionHash"] == h and lg["removed"] is False
    assert lg["blockHash"] == block["hash"] and lg["logIndex"] == "0x0"
    assert node.call("eth_getFilterChanges", log_filter) == []
    assert node.call("eth_getFilterLogs", log_filter) == [lg]

    assert node.call("eth_getLogs", {"fromBlock": "earliest", "toBlock": "latest", "address": addr}) == [lg]
    assert node.call("eth_getLogs", {"blockHash": block["hash"]}) == [lg]
    assert node.call("eth_getLogs", {"fromBlock": "0x0", "topics": [None, lg["topics"][1]]}) == [lg]
    assert node.call(
        "eth_getLogs", {"fromBlock": "0x0", "topics": [[INCREMENTED_TOPIC, "0x" + "22" * 32]]}
    ) == [lg]
    assert node.call("eth_getLogs", {"fromBlock": "0x0", "topics": ["0x" + "22" * 32]}) == []
    assert node.call("eth_getLogs", {"fromBlock": "0x0", "address": A1}) == []
    assert node.call("eth_getLogs", {"fromBlock": "0x0", "topics": [None, None, None]}) == []
    assert err(node.rpc("eth_getLogs", {"fromBlock": "0x5", "toBlock": "0x1"}))["code"] == -32602
    both = {"blockHash": block["hash"], "fromBlock": "0x1"}
    assert err(node.rpc("eth_getLogs", both))["code"] == -32602
    assert node.call("eth_getTransactionReceipt", h)["logs"] == [lg]

    assert node.call("eth_uninstallFilter", log_filter) is True
    assert node.call("eth_uninstallFilter", log_filter) is False
    e = err(node.rpc("eth_getFilterChanges", log_filter))
    assert e["code"] == -32000 and e["message"] == "filter not found"


def test_get_proof_matches_state_root(node: Node) -> None:
    addr = deploy_counter(node)
    node.call("eth_sendRawTransaction", node.sign(USER_KEYS[0], to=addr, data=bytes.fromhex(inc_data(9)[2:])))
    node.seal()
    block = node.call("eth_getBlockByNumber", "latest", False)
    proof = node.call("eth_getProof", addr, ["0x0", "0x" + "00" * 31 + "01"], "latest")
    assert proof["address"] == addr and proof["nonce"] == "0x1"
    root = bytes.fromhex(proof["accountProof"][0][2:])
    assert "0x" + keccak(root).hex() == block["stateRoot"]
    account_leaf = rlp.decode(bytes.fromhex(proof["accountProof"][-1][2:]))
    nonce, balance, storage_root, code_hash = rlp.decode(account_leaf[-1])
    assert "0x" + storage_root.hex() == proof["storageHash"]
    assert "0x" + code_hash.hex() == proof["codeHash"]
    assert proof["storageProof"][0]["key"] == "0x0" and proof["storageProof"][0]["value"] == "0x9"
    assert proof["storageProof"][1]["value"] == "0x0"
    assert (
        "0x" + keccak(bytes.fromhex(proof["storageProof"][0]["proof"][0][2:])).hex() == proof["storageHash"]
    )
    empty = node.call("eth_getProof", "0x" + "ab" * 20, [], "latest")
    assert empty["balance"] == "0x0" and empty["storageProof"] == []


def test_qbft_validators(node: Node) -> None:
    node.seal()
    assert node.call("qbft_getValidatorsByBlockNumber", "latest") == ["0x" + VALIDATOR.hex()]
    assert node.call("qbft_getValidatorsByBlockNumber", "0x0") == ["0x" + VALIDATOR.hex()]
    bh = node.call("eth_getBlockByNumber", "0x1", False)["hash"]
    assert node.call("qbft_getValidatorsByBlockHash", bh) == ["0x" + VALIDATOR.hex()]
    assert err(node.rpc("qbft_getValidatorsByBlockNumber", "0x77"))["code"] == -32000
    # no consensus engine attached: vote methods are not available
    assert err(node.rpc("qbft_proposeValidatorVote", A0, True))["code"] == -32601


def test_transaction_errors(node: Node) -> None:
    raw = node.sign(USER_KEYS[0], to=A1, value=1, gas=21000, nonce=0)
    node.call("eth_sendRawTransaction", raw)
    e = err(node.rpc("eth_sendRawTransaction", raw))
    assert e == {"code": -32000, "message": "already known"}
    node.seal()
    e = err(node.rpc("eth_sendRawTransaction", raw))
    assert e["code"] == -32000 and e["message"].startswith("nonce too low")
    poor = bytes([0x99]) * 32
    e = err(node.rpc("eth_sendRawTransaction", node.sign(poor, to=A1, value=1, gas=21000, nonce=0)))
    assert e["code"] == -32000 and "insufficient funds" in e["message"]
    e = err(node.rpc("eth_sendRawTransaction", node.sign(USER_KEYS[0], to=A1, gas=21000, chainId=1)))
    assert e["code"] == -32000 and "chain id" in e["message"]
    assert err(node.rpc("eth_sendRawTransaction", "0xdeadbeef"))["code"] == -32602
    assert err(node.rpc("eth_sendRawTransaction", "0x"))["code"] == -32602
    assert err(node.rpc("eth_sendRawTransaction", "nothex"))["code"] == -32602


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("eth_getBalance", ["0x1234"]),
        ("eth_getBalance", ["0x" + "00" * 20, "0xzz"]),
        ("eth_getBalance", []),
        ("eth_getBlockByNumber", ["latest", "yes"]),
        ("eth_getBlockByNumber", ["0x" + "00" * 32, False]),
        ("eth_getTransactionByHash", ["0x12"]),
        ("eth_call", ["not an object"]),
        ("eth_call", [{"data": "0x01", "input": "0x02"}]),
        ("eth_getLogs", [{"topics": [[], [], [], [], []]}]),
        ("eth_getStorageAt", ["0x" + "00" * 20, "12"]),
        ("eth_chainId", ["extra"]),
        ("eth_getBlockByNumber", {"block": "latest"}),
    ],
)
def test_invalid_params(node: Node, method: str, params: Any) -> None:
    resp = node.rpc(method, *params) if isinstance(params, list) else _raw(node, method, params)
    assert err(resp)["code"] == -32602


def _raw(node: Node, method: str, params: Any) -> dict[str, Any]:
    import httpx

    return httpx.post(node.url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).json()


def test_dev_accounts(dev_node: Node) -> None:
    assert dev_node.call("eth_accounts") == ["0x" + VALIDATOR.hex()]
    h = dev_node.call("eth_sendTransaction", {"from": "0x" + VALIDATOR.hex(), "to": A1, "value": "0x5"})
    dev_node.seal()
    receipt = dev_node.call("eth_getTransactionReceipt", h)
    assert receipt["status"] == "0x1" and receipt["from"] == "0x" + VALIDATOR.hex()
    assert dev_node.call("eth_getTransactionByHash", h)["type"] == "0x2"
    e = err(dev_node.rpc("eth_sendTransaction", {"from": A0, "to": A1}))
    assert e == {"code": -32000, "message": "unknown account"}


def test_dev_methods_absent_outside_dev_mode(node: Node) -> None:
    assert node.call("eth_accounts") == []
    assert err(node.rpc("eth_sendTransaction", {"from": A0, "to": A1}))["code"] == -32601
