"""Every method of the execution-apis specification against our node and anvil, results validated
against the spec's schemas (:mod:`tests.rpc.spec_schemas`).

One node and one anvil per module, seeded the same way (a contract, one transaction of each type, filters
installed before the blocks they must report). Methods anvil does not serve (-32601) are counted as such;
the test requires every spec method to validate on our node and the count to be at least anvil's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_utils import function_signature_to_4byte_selector as selector
from eth_utils import to_checksum_address

from tests.anvil import ANVIL_KEY, ZERO_FEE_FLAGS, require_anvil, running_anvil
from tests.rpc.conftest import USER_KEYS, VALIDATOR, start_node
from tests.rpc.contract import COUNTER_BYTECODE
from tests.rpc.spec_schemas import RESULTS, validate

INCREMENT = "0x" + selector("increment(uint256)").hex()
COUNT = "0x" + selector("count()").hex()
OTHER = "0x" + "ab" * 20
#: spec methods this chain cannot serve, with the reason (none today)
NOT_APPLICABLE: dict[str, str] = {}


def inc(n: int) -> str:
    return INCREMENT + abi_encode(["uint256"], [n]).hex()


@dataclass
class Target:
    """A node under test: its URL, a funded key, the dev (unlocked) account and how to mine a block."""

    name: str
    url: str
    key: str
    dev_account: str
    mine: Callable[[], None]
    ctx: dict[str, Any] = field(default_factory=dict)

    def rpc(self, method: str, *params: Any) -> dict[str, Any]:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
        return httpx.post(self.url, json=body, timeout=30).json()

    def call(self, method: str, *params: Any) -> Any:
        resp = self.rpc(method, *params)
        assert "error" not in resp, (self.name, method, resp)
        return resp["result"]

    @property
    def address(self) -> str:
        return Account.from_key(self.key).address.lower()

    def send(self, **fields: Any) -> str:
        nonce = int(self.call("eth_getTransactionCount", self.address, "pending"), 16)
        return self.call("eth_sendRawTransaction", self.sign(nonce, **fields))

    def sign(self, nonce: int, **fields: Any) -> str:
        chain_id = int(self.call("eth_chainId"), 16)
        tx = {"chainId": chain_id, "nonce": nonce, "value": 0, "gas": 300_000, **fields}
        if "maxFeePerGas" not in tx:
            tx.setdefault("gasPrice", 0)
        if isinstance(tx.get("to"), str):
            tx["to"] = to_checksum_address(tx["to"])
        return "0x" + bytes(Account.sign_transaction(tx, self.key).raw_transaction).hex()


def seed(t: Target) -> None:
    """A contract, filters, then one transaction of each type in separate blocks."""
    c = t.ctx
    deploy = t.send(data=COUNTER_BYTECODE, gas=500_000)
    t.mine()
    c["contract"] = t.call("eth_getTransactionReceipt", deploy)["contractAddress"]
    c["log_filter"] = t.call("eth_newFilter", {"address": c["contract"]})
    c["block_filter"] = t.call("eth_newBlockFilter")
    c["pending_filter"] = t.call("eth_newPendingTransactionFilter")
    c["legacy"] = t.send(to=c["contract"], data=inc(1))
    t.mine()
    c["type1"] = t.send(to=c["contract"], data=inc(2), type=1, accessList=[{"address": OTHER, "storageKeys": []}])
    t.mine()
    c["type2"] = t.send(to=c["contract"], data=inc(3), maxFeePerGas=0, maxPriorityFeePerGas=0)
    t.mine()
    receipt = t.call("eth_getTransactionReceipt", c["type2"])
    c["block_hash"], c["block_number"] = receipt["blockHash"], receipt["blockNumber"]
    c["raw"] = t.sign(int(t.call("eth_getTransactionCount", t.address, "pending"), 16), to=OTHER, value=1)


def cases(t: Target) -> list[tuple[str, list[Any]]]:
    """(method, params) in call order; a method may appear several times (all must validate)."""
    c, me, dev = t.ctx, t.address, t.dev_account
    call = {"from": me, "to": c["contract"], "data": inc(5)}
    out: list[tuple[str, list[Any]]] = [
        ("eth_getBlockByHash", [c["block_hash"], True]),
        ("eth_getBlockByHash", [c["block_hash"], False]),
        ("eth_getBlockByNumber", ["latest", True]),
        ("eth_getBlockByNumber", ["pending", False]),
        ("eth_getBlockByNumber", ["0x0", False]),
        ("eth_getBlockTransactionCountByHash", [c["block_hash"]]),
        ("eth_getBlockTransactionCountByNumber", [c["block_number"]]),
        ("eth_getBlockReceipts", [c["block_number"]]),
        ("eth_getBlockAccessList", ["latest"]),
        ("eth_capabilities", []),
        ("eth_chainId", []),
        ("eth_syncing", []),
        ("eth_coinbase", []),
        ("eth_accounts", []),
        ("eth_blockNumber", []),
        ("eth_config", []),
        ("net_version", []),
        ("eth_call", [{"to": c["contract"], "data": COUNT}, "latest"]),
        ("eth_estimateGas", [call]),
        ("eth_estimateGas", [{**call, "accessList": [{"address": OTHER, "storageKeys": []}]}]),
        ("eth_createAccessList", [call, "latest"]),
        ("eth_simulateV1", [{"blockStateCalls": [{"calls": [call, {**call, "data": inc(6)}]}]}, "latest"]),
        ("eth_gasPrice", []),
        ("eth_baseFee", []),
        ("eth_blobBaseFee", []),
        ("eth_maxPriorityFeePerGas", []),
        ("eth_feeHistory", ["0x3", "latest", [25, 75]]),
        ("eth_fillTransaction", [{"from": me, "to": OTHER, "value": "0x1"}]),
        ("eth_getFilterChanges", [c["log_filter"]]),
        ("eth_getFilterChanges", [c["block_filter"]]),
        ("eth_getFilterChanges", [c["pending_filter"]]),
        ("eth_getFilterLogs", [c["log_filter"]]),
        ("eth_getLogs", [{"fromBlock": "0x0", "toBlock": "latest", "address": c["contract"]}]),
        ("eth_newFilter", [{"fromBlock": "latest"}]),
        ("eth_newBlockFilter", []),
        ("eth_newPendingTransactionFilter", []),
        ("eth_uninstallFilter", [c["block_filter"]]),
        ("eth_sign", [dev, "0xdeadbeef"]),
        ("eth_signTransaction", [{"from": dev, "to": OTHER, "value": "0x1", "gas": "0x5208"}]),
        ("eth_getBalance", [me, "latest"]),
        ("eth_getStorageAt", [c["contract"], "0x0", "latest"]),
        ("eth_getStorageValues", [{c["contract"]: ["0x" + "00" * 32, "0x" + "00" * 31 + "01"]}, "latest"]),
        ("eth_getTransactionCount", [me, "latest"]),
        ("eth_getCode", [c["contract"], "latest"]),
        ("eth_getProof", [c["contract"], ["0x" + "00" * 32], "latest"]),
    ]
    for kind in ("legacy", "type1", "type2"):
        out += [("eth_getTransactionByHash", [c[kind]]), ("eth_getTransactionReceipt", [c[kind]])]
    out += [
        ("eth_getTransactionByBlockHashAndIndex", [c["block_hash"], "0x0"]),
        ("eth_getTransactionByBlockNumberAndIndex", [c["block_number"], "0x0"]),
        ("eth_sendRawTransaction", [c["raw"]]),
        ("eth_sendTransaction", [{"from": dev, "to": OTHER, "value": "0x1"}]),
        ("txpool_status", []),
        ("txpool_content", []),
        ("txpool_contentFrom", [dev]),
    ]
    return out


def run(t: Target) -> dict[str, str]:
    """method -> "valid" | "unsupported" | "error: ..." | "invalid: ..." (first failing case wins)."""
    verdicts: dict[str, str] = {}
    for method, params in cases(t):
        resp = t.rpc(method, *params)
        if "error" in resp:
            code = resp["error"].get("code")
            verdict = "unsupported" if code == -32601 else f"error: {code} {resp['error'].get('message')}"
        else:
            errors = validate(RESULTS[method], resp["result"])
            verdict = "valid" if not errors else "invalid: " + "; ".join(errors[:3])
        if verdicts.get(method, "valid") == "valid":
            verdicts[method] = verdict
        if method in ("eth_sendTransaction", "eth_sendRawTransaction"):
            t.mine()
    return verdicts


@pytest.fixture(scope="module")
def ours() -> Iterator[Target]:
    node, stop = start_node(dev=True)
    t = Target("co3chain", node.url, "0x" + USER_KEYS[0].hex(), "0x" + VALIDATOR.hex(), lambda: node.seal())
    seed(t)
    yield t
    stop()


@pytest.fixture(scope="module")
def our_verdicts(ours: Target) -> dict[str, str]:
    return run(ours)


@pytest.fixture(scope="module")
def anvil() -> Iterator[Target]:
    require_anvil()
    with running_anvil(*ZERO_FEE_FLAGS) as url:
        dev = Account.from_key(ANVIL_KEY).address.lower()
        t = Target("anvil", url, ANVIL_KEY, dev, lambda: None)  # anvil mines each transaction
        seed(t)
        yield t


def _report(name: str, verdicts: dict[str, str]) -> int:
    valid = sum(v == "valid" for v in verdicts.values())
    print(f"\n{name}: {valid}/{len(RESULTS)} spec methods schema-valid")
    for method, verdict in sorted(verdicts.items()):
        if verdict != "valid":
            print(f"  {method}: {verdict}")
    return valid


def test_every_method_is_covered() -> None:
    dummy = Target("x", "", ANVIL_KEY, "0x" + "00" * 20, lambda: None)
    dummy.ctx = {k: "0x0" for k in ("contract", "log_filter", "block_filter", "pending_filter", "legacy", "type1",
                                     "type2", "block_hash", "block_number", "raw")}
    assert {m for m, _ in cases(dummy)} == set(RESULTS)


def test_our_node_conforms(our_verdicts: dict[str, str]) -> None:
    verdicts = our_verdicts
    _report("co3chain", verdicts)
    bad = {m: v for m, v in verdicts.items() if v != "valid" and m not in NOT_APPLICABLE}
    assert not bad, bad


@pytest.mark.anvil
def test_anvil_reference_and_parity(our_verdicts: dict[str, str], anvil: Target) -> None:
    theirs = run(anvil)
    anvil_valid = _report("anvil", theirs)
    ours_again = our_verdicts
    ours_valid = sum(v == "valid" for v in ours_again.values())
    # every method anvil answers validly, we answer validly too
    regressions = [m for m, v in theirs.items() if v == "valid" and ours_again[m] != "valid"]
    assert not regressions, regressions
    assert ours_valid >= anvil_valid
