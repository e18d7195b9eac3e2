"""Four validator processes saturated with ERC-20 transfers finalize everything with no round change.

Why this test: a proposer that packs its block with whatever the pool holds hands the other validators a
block they cannot re-execute within the round timer, and the network falls into round changes exactly when
it is busiest (issue 18: 8 round changes in one saturated run). The proposer's block is bounded by what the
validators can verify in time (:mod:`co3chain.node.build_budget`). The nodes run the py-evm engine here,
so each transaction costs enough that the pool (2,400 token transfers pushed in a few seconds) holds several
blocks' worth; the assertion is on the nodes' own ``co3chain_consensus_round_changes`` metric, not on time.
"""

from __future__ import annotations

import json
import re
import time
import tomllib
from pathlib import Path

import httpx
import pytest
import tomli_w
from eth_account import Account
from eth_hash.auto import keccak

from co3chain.node import localnet
from tests.chain.bench_erc20 import TOKEN, TOKEN_RUNTIME
from tests.network.netutil import free_port_block, wait_until

pytestmark = pytest.mark.slow

CHAIN_ID = 4244
SENDERS = 60
TXS = 2400
SELECTOR = keccak(b"transfer(address,uint256)")[:4]


def _prepare(net_dir: Path, nodes: list[localnet.LocalNode], keys: list, metrics_base: int) -> None:
    """Token with a balance per sender in the genesis; py-evm engine and a metrics port per node."""
    storage = {"0x" + keccak(bytes.fromhex(k.address[2:]).rjust(32, b"\0") + bytes(32)).hex(): hex(10**24)
               for k in keys}
    for path in [net_dir / "genesis.json", *net_dir.glob("*/genesis.json")]:
        doc = json.loads(path.read_text(encoding="utf-8"))
        doc["alloc"][TOKEN.hex()] = {"balance": "0x0", "code": "0x" + TOKEN_RUNTIME.hex(), "storage": storage}
        path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    for i, node in enumerate(nodes):
        cfg_path = node.dir / "config.toml"
        cfg = tomllib.loads(cfg_path.read_text(encoding="utf-8"))
        cfg["metrics"] = {"host": "127.0.0.1", "port": metrics_base + i}
        cfg["chain"] = {"engine": "py-evm"}
        cfg_path.write_text(tomli_w.dumps(cfg), encoding="utf-8")


def _round_changes(port: int) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    m = re.search(r"^co3chain_consensus_round_changes(?:\{[^}]*\})? (\S+)$", text, re.M)
    assert m, "round-change metric missing"
    return float(m.group(1))


def test_saturated_validators_finalize_without_round_changes(tmp_path: Path) -> None:
    keys = [Account.from_key(keccak(b"saturation" + bytes([i]))) for i in range(SENDERS)]
    net_dir = tmp_path / "net"
    nodes = localnet.create_network(net_dir, 4, chain_id=CHAIN_ID, rpc_port=free_port_block(4),
                                    p2p_port=free_port_block(4), request_timeout=3, base_fee=0)
    metrics_base = free_port_block(4)
    _prepare(net_dir, nodes, keys, metrics_base)
    raws = []
    for i in range(TXS):
        s = i % SENDERS
        tx = {"to": "0x" + TOKEN.hex(), "value": 0, "gas": 60_000, "gasPrice": 0, "nonce": i // SENDERS,
              "chainId": CHAIN_ID, "data": SELECTOR + (0x9000 + i).to_bytes(32, "big") + (1).to_bytes(32, "big")}
        raws.append("0x" + bytes(keys[s].sign_transaction(tx).raw_transaction).hex())
    try:
        for n in nodes:
            localnet.start_node(n)
        localnet.wait_for_blocks(nodes, 2, 120)
        start = localnet.block_number(nodes[0])
        before = [_round_changes(metrics_base + i) for i in range(4)]
        with httpx.Client(timeout=60) as client:
            for j in range(0, TXS, 50):
                body = [{"jsonrpc": "2.0", "id": k, "method": "eth_sendRawTransaction", "params": [r]}
                        for k, r in enumerate(raws[j:j + 50])]
                answers = client.post(nodes[(j // 50) % 4].rpc, json=body).json()
                assert all("error" not in a for a in answers), [a for a in answers if "error" in a][:2]
        last = keys[-1].address

        def all_final() -> bool:
            return int(localnet.rpc_call(nodes[0].rpc, "eth_getTransactionCount", last, "latest"), 16) == TXS // SENDERS
        wait_until(all_final, 240, "every transfer to be finalized")
        head = localnet.block_number(nodes[0])
        blocks = [localnet.rpc_call(nodes[0].rpc, "eth_getBlockByNumber", hex(n), False) for n in range(start + 1, head + 1)]
        loaded = [b for b in blocks if b["transactions"]]
        assert sum(len(b["transactions"]) for b in loaded) == TXS
        assert len(loaded) >= 3, "the load fit in fewer blocks than the cap allows: not a saturation test"
        after = [_round_changes(metrics_base + i) for i in range(4)]
        budgets = [localnet.rpc_call(n.rpc, "qbft_getConsensusStatus").get("buildBudget", {}) for n in nodes]
        print("txs per block:", [len(b["transactions"]) for b in loaded], "budgets:", budgets,
              "round changes:", [a - b for a, b in zip(after, before, strict=True)])
        assert after == before, f"round changes under saturation: before {before}, after {after}"
        assert sum(b["samples"] for b in budgets) > 0, budgets
        assert int(loaded[0]["gasLimit"], 16) > max(int(b["gasUsed"], 16) for b in loaded)
    finally:
        for n in nodes:
            localnet.stop_node(n, timeout=15)
        time.sleep(0.1)
