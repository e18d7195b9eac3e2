"""Genesis audit: the auditor's genesis.json is rebuilt into block 0 and compared with the node's block 0.

Forged files (an extra pre-funded account, another chain id, other validators) are each reported with the
field that differs; the honest file passes and its hash equals the node's own genesis hash.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from co3chain.audit.chain_audit import ChainAuditOptions, audit_chain
from co3chain.audit.chainverify import ChainParams
from co3chain.audit.genesis_check import genesis_hash
from co3chain.audit.rpc import RpcClient
from co3chain.chain.genesis import make_genesis, parse_genesis
from tests.audit.devnet import VALIDATOR_KEYS, Devnet, addr

ATTACKER = "0x" + "a7" * 20


@pytest.fixture(scope="module")
def net() -> Iterator[Devnet]:
    d = Devnet(n_validators=4, epoch=100)
    d.produce_empty(3)
    yield d
    d.close()


def _audit(net: Devnet, genesis_dict: dict[str, Any]) -> Any:
    g = parse_genesis(genesis_dict)
    params = ChainParams(epoch_length=g.epoch_length, block_period=g.block_period, genesis_extra_data=g.extra_data,
                         clock=lambda: 2**40)
    return audit_chain(RpcClient(net.transport), g, ChainAuditOptions(progress=False), params)


def _genesis_findings(report: Any) -> list[Any]:
    return [f for f in report.findings if f.kind.startswith("genesis")]


def test_honest_genesis_file_gives_the_nodes_block_0(net: Devnet) -> None:
    assert genesis_hash(net.genesis) == net.chain.genesis_header.hash
    report = _audit(net, net.genesis_dict)
    assert report.passed, [f.line() for f in report.findings]
    assert report.stats["genesisMatches"] is True
    assert report.stats["genesisHashExpected"] == "0x" + net.chain.genesis_header.hash.hex()


def test_forged_alloc_is_named(net: Devnet) -> None:
    forged = copy.deepcopy(net.genesis_dict)
    forged["alloc"][ATTACKER[2:]] = {"balance": hex(10**27)}
    report = _audit(net, forged)
    assert not report.passed
    errors = [f for f in report.errors if f.kind == "genesis-mismatch"]
    assert [f.details["headerField"] for f in errors] == ["stateRoot"]
    assert errors[0].details["field"] == "alloc"
    assert "genesis file" in errors[0].details["authoritative"]
    hints = [f for f in report.findings if f.kind == "genesis-alloc"]
    assert len(hints) == 1 and ATTACKER in hints[0].message and str(10**27) in hints[0].message
    assert hints[0].details["field"] == f"alloc.{ATTACKER}.balance"


def test_forged_storage_in_alloc_is_named(net: Devnet) -> None:
    """A pre-set storage slot (say, an allow-list entry) changes the state root; the hint names the slot."""
    forged = copy.deepcopy(net.genesis_dict)
    key = next(iter(forged["alloc"]))
    forged["alloc"][key]["storage"] = {"0x01": "0x2a"}
    report = _audit(net, forged)
    assert [f.details["headerField"] for f in report.errors] == ["stateRoot"]
    (hint,) = [f for f in report.findings if f.kind == "genesis-alloc"]
    assert hint.details["field"] == f"alloc.0x{key}.storage[0x1]" and hint.details["expected"] == "42"


def test_forged_chain_id_is_caught(net: Devnet) -> None:
    forged = copy.deepcopy(net.genesis_dict)
    forged["config"]["chainId"] = 4242
    report = _audit(net, forged)
    assert report.kinds() == {"genesis-chain-id"}
    (f,) = report.errors
    assert f.details["expected"] == 4242 and f.details["actual"] == net.genesis.chain_id


def test_forged_validators_in_extradata_are_caught(net: Devnet) -> None:
    vals = [addr(k) for k in VALIDATOR_KEYS[1:5]]  # one validator swapped for an outsider
    other = make_genesis(vals, net.genesis.chain_id, block_period=1, epoch=100, timestamp=net.genesis.timestamp,
                         gas_limit=net.genesis.gas_limit)
    forged = copy.deepcopy(net.genesis_dict)
    forged["extraData"] = other["extraData"]
    report = _audit(net, forged)
    fields = {f.details.get("headerField") for f in _genesis_findings(report) if f.severity == "error"}
    assert fields == {"extraData"}


def test_forged_timestamp_and_gas_limit_are_named(net: Devnet) -> None:
    forged = copy.deepcopy(net.genesis_dict)
    forged["timestamp"] = hex(net.genesis.timestamp + 1)
    forged["gasLimit"] = hex(net.genesis.gas_limit * 2)
    report = _audit(net, forged)
    fields = {f.details.get("headerField") for f in _genesis_findings(report) if f.severity == "error"}
    assert fields == {"timestamp", "gasLimit"}
