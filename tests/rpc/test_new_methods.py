"""Methods added for issue 15 (clients call them): each checked against an independent computation."""

from __future__ import annotations

import zlib

from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
from eth_hash.auto import keccak

from tests.rpc.conftest import CHAIN_ID, USER_KEYS, VALIDATOR, Node
from tests.rpc.test_methods import A0, A1, COUNT, deploy_counter, err, inc_data

V = "0x" + VALIDATOR.hex()


def test_client_and_fee_methods(node: Node) -> None:
    assert node.call("eth_coinbase") == V
    assert node.call("eth_baseFee") == "0x0"
    assert node.call("eth_blobBaseFee") == "0x1"  # no blobs on this chain: excess blob gas stays 0
    node.seal()
    hist = node.call("eth_feeHistory", "0x2", "latest", [50])
    assert hist["baseFeePerBlobGas"] == ["0x1"] * 3 and hist["blobGasUsedRatio"] == [0.0, 0.0]
    cfg = node.call("eth_config")
    assert cfg["next"] is None and cfg["last"] is None
    cur = cfg["current"]
    genesis = node.call("eth_getBlockByNumber", "0x0", False)["hash"]
    assert cur["chainId"] == hex(CHAIN_ID)
    assert cur["forkId"] == "0x" + zlib.crc32(bytes.fromhex(genesis[2:])).to_bytes(4, "big").hex()
    assert cur["precompiles"]["ECREC"] == "0x" + "00" * 19 + "01"
    assert cur["precompiles"]["KZG_POINT_EVALUATION"] == "0x" + "00" * 19 + "0a"
    assert cur["blobSchedule"]["max"] == 0


def test_raw_transactions_and_block_timestamp(node: Node) -> None:
    raws = [
        node.sign(USER_KEYS[0], to=A1, value=1, gas=21000, nonce=0),
        node.sign(USER_KEYS[0], to=A1, value=1, gas=30000, nonce=1, type=1, accessList=[]),
        node.sign(USER_KEYS[0], to=A1, value=1, gas=21000, nonce=2, maxFeePerGas=0, maxPriorityFeePerGas=0),
    ]
    hashes = [node.call("eth_sendRawTransaction", r) for r in raws]
    assert node.call("eth_getRawTransactionByHash", hashes[2]) == raws[2]  # from the pool
    node.seal()
    block = node.call("eth_getBlockByNumber", "latest", True)
    for i, (raw, h) in enumerate(zip(raws, hashes, strict=True)):
        assert "0x" + keccak(bytes.fromhex(raw[2:])).hex() == h
        assert node.call("eth_getRawTransactionByHash", h) == raw
        assert node.call("eth_getRawTransactionByBlockHashAndIndex", block["hash"], hex(i)) == raw
        assert node.call("eth_getRawTransactionByBlockNumberAndIndex", block["number"], hex(i)) == raw
        assert block["transactions"][i]["blockTimestamp"] == block["timestamp"]
        assert node.call("eth_getTransactionByHash", h)["blockTimestamp"] == block["timestamp"]
    assert node.call("eth_getRawTransactionByHash", "0x" + "11" * 32) is None
    assert node.call("eth_getRawTransactionByBlockNumberAndIndex", "latest", "0x9") is None


def test_txpool_content_and_inspect(node: Node) -> None:
    h0 = node.call("eth_sendRawTransaction", node.sign(USER_KEYS[1], to=A0, value=5, gas=21000, nonce=0))
    h2 = node.call("eth_sendRawTransaction", node.sign(USER_KEYS[1], to=A0, value=7, gas=21000, nonce=2))
    sender = Account.from_key(USER_KEYS[1]).address  # checksummed, as geth keys it
    content = node.call("txpool_content")
    assert content["pending"][sender]["0"]["hash"] == h0
    assert content["queued"][sender]["2"]["hash"] == h2
    assert content["pending"][sender]["0"]["blockHash"] is None
    mine = node.call("txpool_contentFrom", sender)
    assert mine["pending"]["0"]["hash"] == h0 and list(mine["queued"]) == ["2"]
    inspect = node.call("txpool_inspect")
    to = Account.from_key(USER_KEYS[0]).address
    assert inspect["pending"][sender]["0"] == f"{to}: 5 wei + 21000 gas × 0 wei"
    assert node.call("txpool_status") == {"pending": "0x1", "queued": "0x1"}


def test_pending_block_holds_executable_pool_transactions(node: Node) -> None:
    node.seal()
    head = node.call("eth_getBlockByNumber", "latest", False)
    h = node.call("eth_sendRawTransaction", node.sign(USER_KEYS[2], to=A0, value=3, gas=21000, nonce=0))
    node.call("eth_sendRawTransaction", node.sign(USER_KEYS[2], to=A0, value=3, gas=21000, nonce=5))  # gap
    pending = node.call("eth_getBlockByNumber", "pending", True)
    assert pending["number"] == hex(int(head["number"], 16) + 1) and pending["parentHash"] == head["hash"]
    assert [tx["hash"] for tx in pending["transactions"]] == [h]
    assert pending["gasUsed"] == hex(21000)
    assert node.call("eth_getBlockTransactionCountByNumber", "pending") == "0x1"
    node.seal()
    assert node.call("eth_getBlockByNumber", "pending", False)["transactions"] == []


def test_storage_values_and_create_access_list(node: Node) -> None:
    addr = deploy_counter(node)
    node.call("eth_sendRawTransaction", node.sign(USER_KEYS[0], to=addr, data=bytes.fromhex(inc_data(9)[2:])))
    node.seal()
    got = node.call("eth_getStorageValues", {addr: ["0x0", "0x" + "00" * 32, "0x01"]}, "latest")
    assert got == {addr: ["0x" + f"{9:064x}", "0x" + f"{9:064x}", "0x" + "00" * 32]}
    assert err(node.rpc("eth_getStorageValues", {addr: "0x0"}))["code"] == -32602

    call = {"from": A0, "to": addr, "data": inc_data(4)}
    result = node.call("eth_createAccessList", call)
    assert result["accessList"] == [{"address": addr, "storageKeys": ["0x" + "00" * 32]}]
    assert "error" not in result
    raw = node.sign(
        USER_KEYS[0], to=addr, data=bytes.fromhex(inc_data(4)[2:]), type=1, accessList=result["accessList"],
        gas=int(result["gasUsed"], 16),
    )
    h = node.call("eth_sendRawTransaction", raw)
    node.seal()
    receipt = node.call("eth_getTransactionReceipt", h)
    assert receipt["status"] == "0x1" and receipt["gasUsed"] == result["gasUsed"]
    reverted = node.call("eth_createAccessList", {**call, "data": inc_data(0)})
    assert reverted["error"].startswith("execution reverted")


def test_fill_transaction(node: Node) -> None:
    filled = node.call("eth_fillTransaction", {"from": A0, "to": A1, "value": "0x1"})["tx"]
    assert filled["type"] == "0x2" and filled["nonce"] == "0x0" and filled["gas"] == hex(21000)
    assert filled["chainId"] == hex(CHAIN_ID) and filled["to"] == A1
    assert filled["maxFeePerGas"] == "0x0" and filled["maxPriorityFeePerGas"] == "0x0"
    legacy = node.call("eth_fillTransaction", {"from": A0, "to": A1, "gasPrice": "0x0"})["tx"]
    assert legacy["type"] == "0x0" and "maxFeePerGas" not in legacy


def test_dev_signing(dev_node: Node) -> None:
    node = dev_node
    sig = node.call("eth_sign", V, "0xdeadbeef")
    assert Account.recover_message(encode_defunct(primitive=bytes.fromhex("deadbeef")), signature=sig) == (
        Account.from_key(bytes([7]) * 32).address
    )
    typed = {
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "chainId", "type": "uint256"}],
            "Vote": [{"name": "proposal", "type": "uint256"}, {"name": "support", "type": "bool"}],
        },
        "primaryType": "Vote",
        "domain": {"name": "co3", "chainId": CHAIN_ID},
        "message": {"proposal": 7, "support": True},
    }
    sig712 = node.call("eth_signTypedData_v4", V, typed)
    assert Account.recover_message(encode_typed_data(full_message=typed), signature=sig712).lower() == V
    signed = node.call("eth_signTransaction", {"from": V, "to": A1, "value": "0x2"})
    assert signed["tx"]["from"] == V and signed["tx"]["type"] == "0x2"
    h = node.call("eth_sendRawTransaction", signed["raw"])
    assert h == signed["tx"]["hash"]
    assert err(node.rpc("eth_sign", A0, "0x00"))["message"] == "unknown account"


def test_signing_methods_absent_outside_dev_mode(node: Node) -> None:
    for method in ("eth_sign", "eth_signTransaction", "eth_signTypedData_v4"):
        assert err(node.rpc(method))["code"] == -32601


def test_simulate_v1_carries_state_across_calls_and_blocks(node: Node) -> None:
    addr = deploy_counter(node)
    head = node.call("eth_getBlockByNumber", "latest", False)
    call = {"from": A0, "to": addr}
    payload = {
        "blockStateCalls": [
            {"calls": [{**call, "data": inc_data(5)}, {**call, "data": inc_data(6)}]},
            {
                "blockOverrides": {"number": hex(int(head["number"], 16) + 5), "time": hex(int(head["timestamp"], 16) + 99)},
                "stateOverrides": {A1: {"balance": "0x7"}},
                "calls": [{**call, "data": inc_data(0)}, {**call, "data": inc_data(1)}],
            },
        ],
        "returnFullTransactions": True,
    }
    b1, b2 = node.call("eth_simulateV1", payload, "latest")
    assert b1["number"] == hex(int(head["number"], 16) + 1) and b1["parentHash"] == head["hash"]
    assert [int(c["returnData"], 16) for c in b1["calls"]] == [5, 11]  # the second call sees the first
    assert all(c["status"] == "0x1" and len(c["logs"]) == 1 for c in b1["calls"])
    assert b1["calls"][1]["logs"][0]["logIndex"] == "0x1"
    assert int(b1["gasUsed"], 16) == sum(int(c["gasUsed"], 16) for c in b1["calls"])
    assert [tx["nonce"] for tx in b1["transactions"]] == ["0x1", "0x2"]  # consecutive nonces
    assert b2["parentHash"] == b1["hash"] and b2["number"] == hex(int(head["number"], 16) + 5)
    assert b2["timestamp"] == hex(int(head["timestamp"], 16) + 99)
    failed, ok = b2["calls"]
    assert failed["status"] == "0x0" and failed["error"]["code"] == 3 and failed["error"]["message"].endswith("zero")
    assert int(ok["returnData"], 16) == 12  # state carried from block 1; the reverted call changed nothing
    assert b1["stateRoot"] != b2["stateRoot"] != head["stateRoot"]
    assert node.call("eth_call", {**call, "data": COUNT}) == "0x" + "00" * 32  # nothing persisted
    bad = {"blockStateCalls": [{"blockOverrides": {"number": head["number"]}, "calls": []}]}
    assert err(node.rpc("eth_simulateV1", bad, "latest"))["code"] == -38020  # the spec's code


def test_simulate_v1_honours_access_lists(node: Node) -> None:
    addr = deploy_counter(node)
    call = {"from": A0, "to": addr, "data": COUNT}  # a read: both calls cost the same but for the list
    access_list = [{"address": "0x" + "ab" * 20, "storageKeys": ["0x" + "00" * 32]}]
    payload = {
        "blockStateCalls": [{"calls": [call, {**call, "accessList": access_list}]}],
        "returnFullTransactions": True,
    }
    (block,) = node.call("eth_simulateV1", payload)
    plain, listed = (int(c["gasUsed"], 16) for c in block["calls"])
    assert listed == plain + 2400 + 1900  # EIP-2930 intrinsic gas of one address and one key
    assert [tx["type"] for tx in block["transactions"]] == ["0x0", "0x1"]
    assert block["transactions"][1]["accessList"] == access_list
