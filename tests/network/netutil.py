"""Helpers for tests that run real ``co3chain node start`` processes on loopback."""

from __future__ import annotations

import random
import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from co3chain.chain.vm import QbftBlockHeader
from co3chain.consensus.qbft.extradata import QbftExtraData
from co3chain.consensus.qbft.hashing import quorum, recover_seal_signers
from co3chain.consensus.qbft.votes import HeaderVote, recompute_validator_sets
from co3chain.node import localnet
from co3chain.node.localnet import LocalnetError, LocalNode, rpc_call

#: Hard cap for any wait in these tests (seconds).
WAIT = 60.0


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_block(count: int) -> int:
    """A base port with ``count`` consecutive free ports (init_network numbers nodes consecutively)."""
    for _ in range(200):
        base = random.randrange(20000, 60000)
        if all(_port_free(base + i) for i in range(count)):
            return base
    raise RuntimeError("no block of free ports found")


def wait_until(predicate: Callable[[], Any], timeout: float = WAIT, what: str = "condition",
               interval: float = 0.3) -> Any:
    deadline = time.monotonic() + timeout
    last_exc: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except LocalnetError as exc:
            last_exc = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} ({last_exc})")


class Network:
    """A local network of node processes (started with :mod:`co3chain.node.localnet`)."""

    def __init__(self, root: Path, validators: int) -> None:
        self.root = root
        self.rpc_base = free_port_block(validators + 2)
        self.p2p_base = free_port_block(validators + 2)
        self.nodes: list[LocalNode] = localnet.create_network(
            root, validators, chain_id=4242, rpc_port=self.rpc_base, p2p_port=self.p2p_base
        )

    def start(self, i: int) -> None:
        localnet.start_node(self.nodes[i])

    def start_all(self) -> None:
        for i, n in enumerate(self.nodes):
            if not n.alive():
                self.start(i)

    def kill(self, i: int) -> None:
        localnet.stop_node(self.nodes[i], hard=True)

    def stop_all(self) -> None:
        for n in self.nodes:
            localnet.stop_node(n, timeout=10)

    def wipe(self, i: int) -> None:
        localnet.stop_node(self.nodes[i], timeout=10)
        shutil.rmtree(self.nodes[i].dir / "data")

    def add_node(self) -> LocalNode:
        k = len(self.nodes)
        node = localnet.add_node(self.root, rpc_port=self.rpc_base + k, p2p_port=self.p2p_base + k)
        self.nodes.append(node)
        return node

    def height(self, i: int) -> int:
        return localnet.block_number(self.nodes[i])

    def call(self, i: int, method: str, *params: Any) -> Any:
        return rpc_call(self.nodes[i].rpc, method, *params)

    def block(self, i: int, number: int) -> dict[str, Any] | None:
        return self.call(i, "eth_getBlockByNumber", hex(number), False)

    def wait_height(self, indices: list[int], height: int, timeout: float = WAIT) -> None:
        wait_until(lambda: all(self.height(i) >= height for i in indices), timeout,
                   f"nodes {indices} to reach block {height}")

    def log_tail(self, i: int, chars: int = 3000) -> str:
        f = self.nodes[i].log_file
        return f.read_text(errors="replace")[-chars:] if f.exists() else ""


def header_from_json(block: dict[str, Any]) -> QbftBlockHeader:
    """Rebuild a header from ``eth_getBlockByNumber`` and check it hashes to the reported hash."""

    def b(key: str) -> bytes:
        return bytes.fromhex(block[key][2:])

    def q(key: str) -> int:
        return int(block[key], 16)

    header = QbftBlockHeader(
        parent_hash=b("parentHash"), uncles_hash=b("sha3Uncles"), coinbase=b("miner"), state_root=b("stateRoot"),
        transaction_root=b("transactionsRoot"), receipt_root=b("receiptsRoot"), bloom=q("logsBloom"),
        difficulty=q("difficulty"), block_number=q("number"), gas_limit=q("gasLimit"), gas_used=q("gasUsed"),
        timestamp=q("timestamp"), extra_data=b("extraData"), mix_hash=b("mixHash"), nonce=b("nonce"),
        base_fee_per_gas=q("baseFeePerGas"), withdrawals_root=b("withdrawalsRoot"),
        blob_gas_used=q("blobGasUsed"), excess_blob_gas=q("excessBlobGas"),
        parent_beacon_block_root=b("parentBeaconBlockRoot"),
    )
    assert "0x" + header.hash.hex() == block["hash"], "header rebuilt from JSON does not hash to the block hash"
    return header


def audit_chain(net: Network, i: int, last: int) -> int:
    """Auditor check over RPC: every block 1..last is sealed by a quorum of the set its votes imply."""
    genesis = net.block(i, 0)
    assert genesis is not None
    genesis_validators = QbftExtraData.decode(bytes.fromhex(genesis["extraData"][2:])).validators
    headers = [header_from_json(net.block(i, n)) for n in range(1, last + 1)]  # type: ignore[arg-type]
    votes = [
        HeaderVote(h.block_number, bytes(h.coinbase), QbftExtraData.decode(h.extra_data).vote) for h in headers
    ]
    epoch = 30000
    checked = 0
    for header, (number, validators) in zip(headers, recompute_validator_sets(genesis_validators, epoch, votes),
                                            strict=True):
        assert number == header.block_number
        extra = QbftExtraData.decode(header.extra_data)
        assert list(extra.validators) == sorted(validators), f"block {number}: extraData validator list"
        signers = recover_seal_signers(header)
        assert len(set(signers)) == len(signers), f"block {number}: duplicate seal"
        assert set(signers) <= set(validators), f"block {number}: seal by a non-validator"
        assert len(signers) >= quorum(len(validators)), f"block {number}: {len(signers)} seals < quorum"
        assert bytes(header.coinbase) in validators, f"block {number}: proposer is not a validator"
        checked += 1
    return checked
