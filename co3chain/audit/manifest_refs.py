"""What an audit reads from a deployment manifest before it asks the node anything: a contract's address, the
block it was deployed in (where its event scans start), and that the node serves the manifest's chain.

Why one module: every per-subject audit (budget rounds, initiatives, recoveries) starts the same way, and a
manifest that names no such contract, or a node of another chain, must give the same readable one-line error
whichever audit the clerk runs — each audit passes its own error class so its CLI reports it as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from co3chain.audit.rpc import RpcClient, RpcError, hex_bytes, hex_int


def contract_address(manifest: Mapping[str, Any], name: str, error: type[Exception], hint: str = "") -> bytes:
    """The 20-byte address of ``name``; ``error`` (with ``hint`` appended) when the manifest lacks it."""
    entry = (manifest.get("contracts") or {}).get(name)
    if not isinstance(entry, Mapping):
        raise error(f"the manifest has no {name} contract{hint}")
    try:
        return hex_bytes(entry.get("address"), f"{name} address", 20)
    except RpcError as exc:
        raise error(str(exc)) from None


def deployment_block(manifest: Mapping[str, Any], name: str) -> int:
    """The block ``name`` was deployed in (0 when the manifest does not say): event scans start there."""
    value = (manifest.get("contracts") or {}).get(name, {}).get("blockNumber", 0)
    return int(value) if isinstance(value, int) and value >= 0 else 0


def address_text(raw: bytes) -> str:
    """``0x`` + the last 20 bytes of an address or a 32-byte log topic, lower case."""
    return "0x" + raw[-20:].hex()


def check_chain(client: RpcClient, manifest: Mapping[str, Any], error: type[Exception]) -> int:
    """The node's chain id; ``error`` when the manifest is for another chain."""
    chain_id = hex_int(client.call("eth_chainId"), "eth_chainId")
    if manifest.get("chainId") is not None and int(manifest["chainId"]) != chain_id:
        raise error(f"the manifest is for chain {manifest['chainId']}, the node serves chain {chain_id}")
    return chain_id


@dataclass(frozen=True)
class AuditScope:
    """Where a per-subject audit reads: the contracts' addresses, the head block and the first block to scan."""

    addresses: dict[str, bytes]
    chain_id: int
    head: int
    start: int


def open_audit(client: RpcClient, manifest: Mapping[str, Any], report: Any, subject: str, error: type[Exception],
               others: tuple[str, ...] = (), hint: str = "") -> AuditScope:
    """The common opening of every per-subject audit: the node serves the manifest's chain, every named contract
    is in the manifest, the head block is fixed for the whole audit (so every read sees one state), event scans
    start at ``subject``'s deployment block; ``report.subject`` gets the contract and block."""
    chain_id = check_chain(client, manifest, error)
    addresses = {name: contract_address(manifest, name, error, hint) for name in (subject, *others)}
    head = hex_int(client.call("eth_blockNumber"), "eth_blockNumber")
    report.subject.update({"contract": address_text(addresses[subject]), "block": head})
    return AuditScope(addresses, chain_id, head, deployment_block(manifest, subject))
