"""JSON-RPC 2.0 framing over HTTP and WebSocket: errors, batches, limits, subscriptions."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import websockets
from eth_utils import function_signature_to_4byte_selector

from tests.rpc.conftest import USER_KEYS, Node
from tests.rpc.contract import COUNTER_BYTECODE, INCREMENTED_TOPIC
from tests.rpc.test_methods import deploy_counter, inc_data


def post(node: Node, body: Any, **kw: Any) -> httpx.Response:
    content = body if isinstance(body, bytes | str) else json.dumps(body)
    return httpx.post(node.url, content=content, headers={"content-type": "application/json"}, **kw)


def test_parse_error_and_invalid_requests(node: Node) -> None:
    r = post(node, b"{not json")
    assert r.status_code == 200
    assert r.json() == {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}}
    assert post(node, {"id": 1, "method": "eth_chainId"}).json()["error"]["code"] == -32600  # no jsonrpc
    assert post(node, {"jsonrpc": "2.0", "id": 1, "method": 5}).json()["error"]["code"] == -32600
    assert (
        post(node, {"jsonrpc": "2.0", "id": [1], "method": "eth_chainId"}).json()["error"]["code"] == -32600
    )
    assert post(node, 42).json()["error"]["code"] == -32600
    assert post(node, []).json()["error"]["code"] == -32600
    resp = post(node, {"jsonrpc": "2.0", "id": "abc", "method": "eth_nope"}).json()
    assert resp["id"] == "abc" and resp["error"]["code"] == -32601
    assert "eth_nope" in resp["error"]["message"]


def test_batch_mixed_and_notifications(node: Node) -> None:
    batch = [
        {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"},
        {"jsonrpc": "2.0", "method": "eth_blockNumber"},  # notification: no response
        {"jsonrpc": "2.0", "id": 2, "method": "eth_nope"},
        {"jsonrpc": "2.0", "id": 3, "method": "eth_getBalance", "params": ["0xbad"]},
        7,
    ]
    out = post(node, batch).json()
    assert [o.get("id") for o in out] == [1, 2, 3, None]
    assert out[0]["result"] == node.call("eth_chainId")
    assert [o["error"]["code"] for o in out[1:]] == [-32601, -32602, -32600]
    # a batch of notifications only: empty body, as the spec requires
    r = post(node, [{"jsonrpc": "2.0", "method": "eth_chainId"}])
    assert r.status_code == 200 and r.content == b""


def test_body_limit_and_http_methods(node: Node) -> None:
    big = {"jsonrpc": "2.0", "id": 1, "method": "eth_sendRawTransaction", "params": ["0x" + "00" * 70_000]}
    r = post(node, big)
    assert r.status_code == 413 and r.json()["error"]["code"] == -32005
    too_many = [{"jsonrpc": "2.0", "id": i, "method": "eth_chainId"} for i in range(1001)]
    assert post(node, too_many).json()["error"]["code"] == -32005
    assert httpx.get(node.url).status_code == 405
    assert httpx.request("OPTIONS", node.url).status_code == 204


def test_subscribe_requires_websocket(node: Node) -> None:
    err = node.rpc("eth_subscribe", "newHeads")["error"]
    assert err["code"] == -32601 and "notifications not supported" in err["message"]


async def _recv(ws: Any) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout=10))


def test_websocket_calls_and_subscriptions(node: Node) -> None:
    addr = deploy_counter(node)

    async def scenario() -> None:
        async with websockets.connect(node.ws_url) as ws:
            await ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}))
            assert (await _recv(ws))["result"] == node.call("eth_chainId")
            await ws.send(json.dumps([{"jsonrpc": "2.0", "id": 2, "method": "eth_blockNumber"}]))
            assert (await _recv(ws))[0]["id"] == 2
            await ws.send("{oops")
            assert (await _recv(ws))["error"]["code"] == -32700

            await ws.send(
                json.dumps({"jsonrpc": "2.0", "id": 3, "method": "eth_subscribe", "params": ["newHeads"]})
            )
            heads = (await _recv(ws))["result"]
            logs_req = {"address": addr, "topics": [INCREMENTED_TOPIC]}
            await ws.send(
                json.dumps(
                    {"jsonrpc": "2.0", "id": 4, "method": "eth_subscribe", "params": ["logs", logs_req]}
                )
            )
            logs_sub = (await _recv(ws))["result"]
            await ws.send(
                json.dumps({"jsonrpc": "2.0", "id": 5, "method": "eth_subscribe", "params": ["bogus"]})
            )
            assert (await _recv(ws))["error"]["code"] == -32602

            raw = node.sign(USER_KEYS[0], to=addr, data=bytes.fromhex(inc_data(4)[2:]))
            tx_hash = node.call("eth_sendRawTransaction", raw)
            await asyncio.to_thread(node.seal)
            got: dict[str, Any] = {}
            while len(got) < 2:
                msg = await _recv(ws)
                assert msg["method"] == "eth_subscription"
                got[msg["params"]["subscription"]] = msg["params"]["result"]
            head = got[heads]
            block = node.call("eth_getBlockByNumber", "latest", False)
            assert head["hash"] == block["hash"] and head["number"] == block["number"]
            assert head["stateRoot"] == block["stateRoot"]
            assert got[logs_sub]["transactionHash"] == tx_hash and int(got[logs_sub]["data"], 16) == 4

            await ws.send(
                json.dumps({"jsonrpc": "2.0", "id": 6, "method": "eth_unsubscribe", "params": [heads]})
            )
            assert (await _recv(ws))["result"] is True
            await ws.send(
                json.dumps({"jsonrpc": "2.0", "id": 7, "method": "eth_unsubscribe", "params": [heads]})
            )
            assert (await _recv(ws))["result"] is False
            # only the logs subscription remains: a block without matching logs produces nothing
            await asyncio.to_thread(node.seal)
            await ws.send(json.dumps({"jsonrpc": "2.0", "id": 8, "method": "eth_blockNumber"}))
            assert (await _recv(ws))["id"] == 8

    asyncio.run(scenario())
    # connection closed: its subscriptions are gone
    assert not node.api.subscriptions._subs


def test_web3py_contract_roundtrip(node: Node) -> None:
    """web3.py decodes our blocks, receipts, logs and revert errors unmodified."""
    from eth_account import Account
    from web3 import Web3
    from web3.exceptions import ContractCustomError, ContractLogicError
    from web3.middleware import ExtraDataToPOAMiddleware

    from tests.rpc.contract import COUNTER_ABI

    w3 = Web3(Web3.HTTPProvider(node.url))
    # As with Besu/GoQuorum QBFT chains: extraData (validators + seals) is longer than 32 bytes.
    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    acct = Account.from_key(USER_KEYS[2])
    assert w3.is_connected() and w3.eth.chain_id == int(node.call("eth_chainId"), 16)
    counter = w3.eth.contract(abi=COUNTER_ABI, bytecode=COUNTER_BYTECODE)
    tx = counter.constructor().build_transaction({"from": acct.address, "nonce": 0, "gasPrice": 0})
    h = w3.eth.send_raw_transaction(acct.sign_transaction(tx).raw_transaction)
    node.seal()
    receipt = w3.eth.get_transaction_receipt(h)
    assert receipt.status == 1
    c = w3.eth.contract(address=receipt.contractAddress, abi=COUNTER_ABI)
    tx = c.functions.increment(11).build_transaction({"from": acct.address, "nonce": 1, "gasPrice": 0})
    h = w3.eth.send_raw_transaction(acct.sign_transaction(tx).raw_transaction)
    node.seal()
    receipt = w3.eth.get_transaction_receipt(h)
    events = c.events.Incremented().process_receipt(receipt)
    assert events[0].args.by == acct.address and events[0].args.value == 11
    assert c.functions.count().call() == 11
    assert w3.eth.get_block("latest", full_transactions=True).transactions[0]["hash"] == h
    try:
        c.functions.increment(0).call({"from": acct.address})
        raise AssertionError("revert expected")
    except ContractLogicError as exc:
        assert "zero" in str(exc)
    try:
        c.functions.increment(5000).call({"from": acct.address})
        raise AssertionError("custom error expected")
    except ContractCustomError as exc:
        assert exc.data.startswith("0x" + function_signature_to_4byte_selector("TooLarge(uint256)").hex())


def test_pending_transaction_subscription(node: Node) -> None:
    async def scenario() -> None:
        async with websockets.connect(node.ws_url) as ws:
            req = {"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newPendingTransactions"]}
            await ws.send(json.dumps(req))
            sub = (await _recv(ws))["result"]
            raw = node.sign(USER_KEYS[3], to="0x" + "00" * 19 + "01", gas=21000)
            tx_hash = await asyncio.to_thread(node.call, "eth_sendRawTransaction", raw)
            note = await _recv(ws)
            assert note["params"] == {"subscription": sub, "result": tx_hash}

    asyncio.run(scenario())


def test_cors_headers(node: Node) -> None:
    from co3chain.rpc.dispatch import Dispatcher
    from co3chain.rpc.server import RpcApp

    d = Dispatcher()
    d.register("eth_chainId", lambda: "0x1")
    app = RpcApp(d, cors_origins=["https://portal.example"])

    async def scenario() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://node") as c:
            body = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}
            ok = await c.post("/", json=body, headers={"origin": "https://portal.example"})
            assert ok.json()["result"] == "0x1"
            assert ok.headers["access-control-allow-origin"] == "https://portal.example"
            other = await c.post("/", json=body, headers={"origin": "https://evil.example"})
            assert "access-control-allow-origin" not in other.headers
            pre = await c.options("/", headers={"origin": "https://portal.example"})
            assert pre.status_code == 204 and "POST" in pre.headers["access-control-allow-methods"]

    asyncio.run(scenario())
    # the running node has CORS off: no header even when an Origin is sent
    r = httpx.post(node.url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}, headers={"origin": "https://x"})
    assert "access-control-allow-origin" not in r.headers


def test_log_range_limit_and_filter_expiry(node: Node) -> None:
    node.api.b.max_log_range = 2
    for _ in range(3):
        node.seal()
    e = node.rpc("eth_getLogs", {"fromBlock": "0x0", "toBlock": "latest"})["error"]
    assert e["code"] == -32005 and "max block range" in e["message"]
    assert node.call("eth_getLogs", {"fromBlock": "0x2", "toBlock": "latest"}) == []
    fid = node.call("eth_newBlockFilter")
    node.api.filters.expire(now=time.monotonic() + 301)
    assert node.rpc("eth_getFilterChanges", fid)["error"]["message"] == "filter not found"
