"""Foundry ``cast`` against our node and anvil, default settings: deploy, call, estimate, each tx type,
receipts, logs, blocks, proofs, access lists, fee history, WebSocket log subscription.

One test per endpoint runs the steps in order and reports how many pass (anvil's own gaps are measured,
not failed on).
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.clients.conftest import Endpoint
from tests.rpc.contract import COUNTER_BYTECODE

pytestmark = pytest.mark.slow
CAST = Path(__file__).resolve().parents[2] / "node_modules" / ".bin" / "cast"
OTHER = "0x" + "ab" * 20


class Cast:
    def __init__(self, ep: Endpoint) -> None:
        self.ep = ep

    def __call__(self, *args: str, rpc: bool = True, timeout: float = 60) -> str:
        # options before positionals: ``send --create CODE`` takes everything after CODE as arguments
        cmd = [str(CAST), args[0], *(["--rpc-url", self.ep.url] if rpc else []), *args[1:]]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise AssertionError(f"cast {args[0]}: {proc.stderr.strip()[-400:]}")
        return proc.stdout.strip()

    def send(self, *args: str) -> dict[str, Any]:
        out = self("send", "--private-key", self.ep.key, "--json", *args)
        receipt = json.loads(out)
        assert receipt["status"] == "0x1", receipt
        return receipt


def steps(cast: Cast, ctx: dict[str, Any]) -> list[tuple[str, Callable[[], None]]]:
    me = cast.ep.address

    def deploy() -> None:
        receipt = cast.send("--create", COUNTER_BYTECODE)
        ctx["addr"] = receipt["contractAddress"]
        assert receipt["type"] == "0x2"  # cast's default: EIP-1559

    def call() -> None:
        assert cast("call", ctx["addr"], "count()(uint256)") == "0"

    def estimate() -> None:
        assert int(cast("estimate", "--from", me, ctx["addr"], "increment(uint256)", "1")) > 21000

    def send_default() -> None:
        receipt = cast.send(ctx["addr"], "increment(uint256)", "1")
        assert receipt["type"] == "0x2"
        ctx["tx"] = receipt["transactionHash"]

    def send_value() -> None:  # a plain transfer without fee flags: type 2, paying the base fee
        receipt = cast.send("0x" + "ab" * 20, "--value", "1")
        assert receipt["type"] == "0x2" and receipt["status"] == "0x1"
        assert int(receipt["effectiveGasPrice"], 16) >= int(cast("base-fee")) > 0

    def send_legacy() -> None:
        assert cast.send("--legacy", ctx["addr"], "increment(uint256)", "1")["type"] == "0x0"

    def send_access_list() -> None:  # cast asks the node for the list (eth_createAccessList)
        assert cast.send("--access-list", "--", ctx["addr"], "increment(uint256)", "1")["type"] == "0x2"

    def send_type1() -> None:
        al = json.dumps([{"address": OTHER, "storageKeys": ["0x" + "00" * 32]}])
        assert cast.send("--legacy", "--access-list", al, ctx["addr"], "increment(uint256)", "1")["type"] == "0x1"

    def receipt() -> None:
        r = json.loads(cast("receipt", ctx["tx"], "--json"))
        assert r["transactionHash"] == ctx["tx"] and len(r["logs"]) == 1

    def tx() -> None:
        t = json.loads(cast("tx", ctx["tx"], "--json"))
        assert t["hash"] == ctx["tx"]
        raw = cast("tx", ctx["tx"], "--raw")
        assert cast("keccak", raw, rpc=False) == ctx["tx"]

    def logs() -> None:
        out = cast("logs", "--from-block", "0", "--address", ctx["addr"], "--json",
                   "Incremented(address indexed,uint256)")
        assert len(json.loads(out)) >= 4

    def blocks() -> None:
        latest = json.loads(cast("block", "latest", "--json"))
        assert int(latest["number"], 16) == int(cast("block-number"))
        pending = json.loads(cast("block", "pending", "--json"))
        assert int(pending["number"], 16) == int(latest["number"], 16) + 1

    def storage_and_proof() -> None:
        count = int(cast("call", ctx["addr"], "count()(uint256)").split()[0])
        assert int(cast("storage", ctx["addr"], "0"), 16) == count
        proof = json.loads(cast("proof", "--json", ctx["addr"], "0"))
        assert int(proof["storageProof"][0]["value"], 16) == count

    def access_list() -> None:
        out = json.loads(cast("access-list", "--from", me, "--json", ctx["addr"], "increment(uint256)", "1"))
        assert int(str(out.get("gasUsed", out.get("gas_used"))), 0) > 21000

    def fees() -> None:
        int(cast("gas-price"))
        int(cast("base-fee"))
        hist = json.loads(cast("rpc", "eth_feeHistory", "0x3", "latest", "[25,75]"))
        assert len(hist["baseFeePerGas"]) == len(hist["gasUsedRatio"]) + 1

    def chain_info() -> None:
        assert int(cast("chain-id")) > 0
        assert int(cast("nonce", me)) >= 5
        assert int(cast("balance", me)) > 0
        assert cast("code", ctx["addr"]).startswith("0x60")

    def ws_subscribe() -> None:
        ws = cast.ep.ws_url
        proc = subprocess.Popen(  # cast buffers its output on a pipe: read it after stopping cast
            [str(CAST), "logs", "--subscribe", "--address", ctx["addr"], "--rpc-url", ws],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            time.sleep(1.5)
            tx_hash = cast.send(ctx["addr"], "increment(uint256)", "7")["transactionHash"]
            time.sleep(2.0)
        finally:
            proc.terminate()
            out, _ = proc.communicate(timeout=10)
        assert tx_hash in out and ctx["addr"].lower() in out.lower(), out[-500:]

    return [
        ("deploy", deploy), ("call", call), ("estimate", estimate), ("send default", send_default), ("send value", send_value),
        ("send legacy", send_legacy), ("send --access-list", send_access_list), ("send type 1", send_type1),
        ("receipt", receipt), ("tx and raw tx", tx), ("logs", logs), ("blocks incl. pending", blocks),
        ("storage and proof", storage_and_proof), ("access-list", access_list), ("fees", fees),
        ("chain info", chain_info), ("WebSocket log subscription", ws_subscribe),
    ]


def test_cast_workflow(endpoint: Endpoint) -> None:
    if not CAST.exists():
        pytest.skip("cast not installed (run `npm ci`)")
    cast, ctx = Cast(endpoint), {}
    failures = []
    all_steps = steps(cast, ctx)
    for name, step in all_steps:
        try:
            step()
        except Exception as exc:  # noqa: BLE001 -- each step is reported, the test fails below
            failures.append(f"{name}: {exc}")
    passed = len(all_steps) - len(failures)
    print(f"\ncast on {endpoint.name}: {passed}/{len(all_steps)} steps passed")
    if endpoint.name == "anvil" and failures and passed:
        pytest.xfail(f"anvil passes {passed}/{len(all_steps)}: {'; '.join(failures)}")
    assert not failures, failures
