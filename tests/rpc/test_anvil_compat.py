"""Side-by-side with anvil: the same calls on both nodes must give objects of the same shape.

Shape = the set of keys, and for every value its kind (quantity / fixed-length data / null / list /
bool / string). Values differ (other chain), shapes must not: that is what clients rely on.
Fields that anvil adds but geth does not document are listed in ``ANVIL_ONLY``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_utils import to_checksum_address

from tests.anvil import require_anvil, running_anvil
from tests.rpc.conftest import USER_KEYS, USERS, Node
from tests.rpc.contract import COUNTER_BYTECODE, INCREMENTED_TOPIC
from tests.rpc.test_methods import COUNT, inc_data

pytestmark = [pytest.mark.anvil, pytest.mark.slow]
#: Fields only anvil/reth emit (not part of geth's object) or that we do not claim.
ANVIL_ONLY = {"blockTimestamp", "requestsHash", "blobGasPrice", "blobGasUsed", "root"}
QUANTITY = re.compile(r"^0x(0|[1-9a-f][0-9a-f]*)$")


#: Fields whose values are DATA (even-length hex); every other hex field must be a minimal QUANTITY.
DATA_FIELDS = {
    "hash",
    "parentHash",
    "sha3Uncles",
    "logsBloom",
    "transactionsRoot",
    "stateRoot",
    "receiptsRoot",
    "miner",
    "extraData",
    "mixHash",
    "withdrawalsRoot",
    "parentBeaconBlockRoot",
    "blockHash",
    "from",
    "to",
    "input",
    "address",
    "data",
    "transactionHash",
    "contractAddress",
    "codeHash",
    "storageHash",
    "key",
}
FIXED = {20, 32, 8, 256}


def kind(key: str, v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, list):
        return "list"
    if isinstance(v, dict):
        return "object"
    if isinstance(v, int | float):
        return "number"
    if isinstance(v, str) and v.startswith("0x"):
        if key in DATA_FIELDS or (key == "nonce" and len(v) == 18):
            assert len(v) % 2 == 0, f"{key}: odd-length data {v}"
            n = (len(v) - 2) // 2
            return f"data{n}" if n in FIXED else "data"
        assert QUANTITY.match(v), f"{key}: not a minimal quantity: {v}"
        return "quantity"
    return "string"


def compatible(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    a = {k: kind(k, v) for k, v in ours.items() if k not in ANVIL_ONLY}
    b = {k: kind(k, v) for k, v in theirs.items() if k not in ANVIL_ONLY}
    assert set(a) == set(b), f"keys differ: ours-only {set(a) - set(b)}, anvil-only {set(b) - set(a)}"
    for k in a:
        assert a[k] == b[k], f"{k}: ours {a[k]} {ours[k]!r}, anvil {b[k]} {theirs[k]!r}"


class Anvil:
    """JSON-RPC calls to a running anvil."""

    def __init__(self, url: str) -> None:
        self.url = url

    def rpc(self, method: str, *params: Any) -> dict[str, Any]:
        return httpx.post(
            self.url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
        ).json()

    def call(self, method: str, *params: Any) -> Any:
        resp = self.rpc(method, *params)
        assert "error" not in resp, resp
        return resp["result"]


@pytest.fixture(scope="module")
def anvil() -> Iterator[Anvil]:
    require_anvil()
    with running_anvil("--base-fee", "0") as url:
        a = Anvil(url)
        for u in USERS:
            a.call("anvil_setBalance", "0x" + u.hex(), hex(10**24))
        yield a


def send(url_call: Any, chain_id: int, nonce: int, **fields: Any) -> str:
    tx = {"gas": 300_000, "value": 0, "chainId": chain_id, "nonce": nonce, "gasPrice": 0, **fields}
    if "to" in tx:
        tx["to"] = to_checksum_address(tx["to"])
    if "maxFeePerGas" in tx:
        tx.pop("gasPrice")
    raw = Account.from_key(USER_KEYS[0]).sign_transaction(tx).raw_transaction
    return url_call("eth_sendRawTransaction", "0x" + bytes(raw).hex())


def scenario(call: Any, rpc: Any, seal: Any) -> dict[str, Any]:
    """Deploy Counter, a legacy call and an EIP-1559 call; return every object to compare."""
    chain_id = int(call("eth_chainId"), 16)
    start = int(call("eth_getTransactionCount", "0x" + USERS[0].hex(), "latest"), 16)
    h0 = send(call, chain_id, start, data=bytes.fromhex(COUNTER_BYTECODE[2:]))
    seal()
    addr = call("eth_getTransactionReceipt", h0)["contractAddress"]
    h1 = send(call, chain_id, start + 1, to=addr, data=bytes.fromhex(inc_data(2)[2:]))
    seal()
    h2 = send(
        call,
        chain_id,
        start + 2,
        to=addr,
        data=bytes.fromhex(inc_data(3)[2:]),
        maxFeePerGas=0,
        maxPriorityFeePerGas=0,
    )
    seal()
    r2 = call("eth_getTransactionReceipt", h2)
    return {
        "block": call("eth_getBlockByNumber", r2["blockNumber"], False),
        "block_full": call("eth_getBlockByNumber", r2["blockNumber"], True),
        "tx_legacy": call("eth_getTransactionByHash", h1),
        "tx_1559": call("eth_getTransactionByHash", h2),
        "receipt_legacy": call("eth_getTransactionReceipt", h1),
        "receipt_1559": r2,
        "receipt_create": call("eth_getTransactionReceipt", h0),
        "log": call("eth_getLogs", {"fromBlock": "0x0", "address": addr, "topics": [INCREMENTED_TOPIC]})[0],
        "proof": call("eth_getProof", addr, ["0x" + "00" * 32], "latest"),
        "fee_history": call("eth_feeHistory", "0x2", "latest", [50]),
        "revert": rpc("eth_call", {"from": "0x" + USERS[0].hex(), "to": addr, "data": inc_data(0)}, "latest")[
            "error"
        ],
        "custom": rpc(
            "eth_call", {"from": "0x" + USERS[0].hex(), "to": addr, "data": inc_data(5000)}, "latest"
        )["error"],
        "call": call("eth_call", {"to": addr, "data": COUNT}, "latest"),
        "estimate": call("eth_estimateGas", {"from": "0x" + USERS[0].hex(), "to": addr, "data": inc_data(1)}),
        "stale": rpc(
            "eth_sendRawTransaction",
            Account.from_key(USER_KEYS[0])
            .sign_transaction(
                {
                    "gas": 21000,
                    "value": 0,
                    "chainId": chain_id,
                    "nonce": start,
                    "gasPrice": 0,
                    "to": to_checksum_address(addr),
                }
            )
            .raw_transaction.to_0x_hex(),
        )["error"],
        "scalars": {
            "net_version": call("net_version"),
            "eth_syncing": call("eth_syncing"),
            "eth_blockNumber": call("eth_blockNumber"),
            "eth_gasPrice": call("eth_gasPrice"),
            "net_listening": call("net_listening"),
            "web3_clientVersion": call("web3_clientVersion"),
        },
    }


def test_response_shapes_match_anvil(node: Node, anvil: Anvil) -> None:
    ours = scenario(node.call, node.rpc, node.seal)
    theirs = scenario(anvil.call, anvil.rpc, lambda: None)  # anvil automines each tx
    for name in (
        "block",
        "tx_legacy",
        "tx_1559",
        "receipt_legacy",
        "receipt_1559",
        "receipt_create",
        "log",
        "proof",
        "scalars",
    ):
        compatible(ours[name], theirs[name])
    compatible(ours["block_full"]["transactions"][0], theirs["block_full"]["transactions"][0])
    compatible(ours["proof"]["storageProof"][0], theirs["proof"]["storageProof"][0])
    compatible(ours["receipt_1559"]["logs"][0], theirs["receipt_1559"]["logs"][0])
    assert set(ours["fee_history"]) >= {"oldestBlock", "baseFeePerGas", "gasUsedRatio", "reward"}
    assert set(theirs["fee_history"]) >= {"oldestBlock", "baseFeePerGas", "gasUsedRatio", "reward"}
    # reverts: same code, same data, same message convention
    for key in ("revert", "custom"):
        assert ours[key]["code"] == theirs[key]["code"] == 3
        assert ours[key]["data"] == theirs[key]["data"]
    assert ours["revert"]["message"] == theirs["revert"]["message"] == "execution reverted: zero"
    assert ours["call"] == theirs["call"]
    assert (
        ours["estimate"] == theirs["estimate"]
        or abs(int(ours["estimate"], 16) - int(theirs["estimate"], 16)) < 3000
    )
    assert (
        "nonce too low" in ours["stale"]["message"] and "nonce too low" in theirs["stale"]["message"].lower()
    )
