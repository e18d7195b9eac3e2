"""State queries with the ``pending`` tag read the pending state (head + the pool's executable transactions),
as geth and anvil answer them, consistent with the pending block; side by side with anvil (``--no-mining``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import rlp
from eth_account import Account
from eth_utils import keccak, to_checksum_address

from tests.anvil import require_anvil, running_anvil
from tests.rpc.conftest import USER_KEYS, USERS, Node
from tests.rpc.contract import COUNTER_BYTECODE

COUNT = "0x" + keccak(text="count()")[:4].hex()
FRESH = "0x" + "5e" * 20


def _inc(by: int) -> bytes:
    return keccak(text="increment(uint256)")[:4] + by.to_bytes(32, "big")


def _send(call: Callable[..., Any], chain_id: int, nonce: int, **fields: Any) -> str:
    tx = {"gas": 300_000, "value": 0, "chainId": chain_id, "nonce": nonce, "gasPrice": 0, **fields}
    if "to" in tx:
        tx["to"] = to_checksum_address(tx["to"])
    raw = Account.from_key(USER_KEYS[0]).sign_transaction(tx).raw_transaction
    return call("eth_sendRawTransaction", "0x" + bytes(raw).hex())


def scenario(call: Callable[..., Any], mine: Callable[[], None]) -> dict[str, Any]:
    """Deploy Counter (mined); then leave three transactions pending and read both states."""
    me = "0x" + USERS[0].hex()
    chain_id = int(call("eth_chainId"), 16)
    nonce = int(call("eth_getTransactionCount", me, "latest"), 16)
    h = _send(call, chain_id, nonce, data=bytes.fromhex(COUNTER_BYTECODE[2:]))
    mine()
    counter = call("eth_getTransactionReceipt", h)["contractAddress"]
    # pending, not mined: an increment, a transfer to a fresh account, a second deployment
    _send(call, chain_id, nonce + 1, to=counter, data=_inc(5))
    _send(call, chain_id, nonce + 2, to=FRESH, value=1234, gas=21_000)
    _send(call, chain_id, nonce + 3, data=bytes.fromhex(COUNTER_BYTECODE[2:]))
    second = "0x" + keccak(rlp.encode([USERS[0], nonce + 3]))[12:].hex()  # its CREATE address
    out: dict[str, Any] = {}
    for tag in ("latest", "pending"):
        out[tag] = {
            "balance": call("eth_getBalance", FRESH, tag),
            "nonce": int(call("eth_getTransactionCount", me, tag), 16) - nonce,
            "count": call("eth_call", {"to": counter, "data": COUNT}, tag),
            "slot0": call("eth_getStorageAt", counter, "0x0", tag),
            "code": call("eth_getCode", second, tag) != "0x",
            "proofBalance": call("eth_getProof", FRESH, [], tag)["balance"],
            "estimate": int(call("eth_estimateGas", {"from": me, "to": counter, "data": "0x" + _inc(1).hex()},
                                 tag), 16),
        }
    return out


def _rpc(url: str) -> Callable[..., Any]:
    def call(method: str, *params: Any) -> Any:
        body = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)},
                          timeout=30).json()
        assert "error" not in body, (method, body)
        return body["result"]

    return call


@pytest.fixture
def anvil_url() -> Iterator[str]:
    require_anvil()
    with running_anvil("--no-mining", "--block-base-fee-per-gas", "0", "--gas-price", "0") as url:
        call = _rpc(url)
        for u in USERS:
            call("anvil_setBalance", "0x" + u.hex(), hex(10**24))
        yield url


def _check(result: dict[str, Any]) -> None:
    latest, pending = result["latest"], result["pending"]
    assert latest["balance"] == "0x0" and pending["balance"] == hex(1234)
    assert latest["proofBalance"] == "0x0" and pending["proofBalance"] == hex(1234)
    assert latest["nonce"] == 1 and pending["nonce"] == 4  # the deployment mined, three pending
    assert int(latest["count"], 16) == 0 and int(pending["count"], 16) == 5
    assert int(latest["slot0"], 16) == 0 and int(pending["slot0"], 16) == 5
    assert latest["code"] is False and pending["code"] is True
    # from a non-zero count, increment writes a dirty slot: cheaper than the first write
    assert pending["estimate"] < latest["estimate"]


def test_pending_state_queries_read_head_plus_pool(node: Node) -> None:
    result = scenario(node.call, node.seal)
    _check(result)
    block = node.call("eth_getBlockByNumber", "pending", False)
    assert len(block["transactions"]) == 3  # the same transactions the pending state executed
    node.seal()  # once mined, latest answers what pending answered
    me = "0x" + USERS[0].hex()
    assert node.call("eth_getBalance", FRESH, "latest") == hex(1234)
    assert node.call("eth_getTransactionCount", me, "latest") == node.call("eth_getTransactionCount", me, "pending")


def test_empty_pool_pending_is_latest(node: Node) -> None:
    me = "0x" + USERS[0].hex()
    for method, params in (("eth_getBalance", [me]), ("eth_getTransactionCount", [me]), ("eth_getCode", [me])):
        assert node.call(method, *params, "pending") == node.call(method, *params, "latest")


@pytest.mark.anvil
def test_pending_state_matches_anvil(node: Node, anvil_url: str) -> None:
    anvil_call = _rpc(anvil_url)
    ours = scenario(node.call, node.seal)
    theirs = scenario(anvil_call, lambda: anvil_call("evm_mine"))
    _check(theirs)  # the reference answers the way the checks say
    for tag in ("latest", "pending"):
        for key in ("balance", "nonce", "count", "slot0", "code", "proofBalance"):
            assert ours[tag][key] == theirs[tag][key], (tag, key, ours[tag][key], theirs[tag][key])
