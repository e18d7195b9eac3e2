"""``co3chain deploy`` against our own node (one QBFT validator): zero gas price, QBFT extraData, validators
taken from ``qbft_getValidatorsByBlockNumber``."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from eth_utils import keccak
from web3 import HTTPProvider, Web3

from co3chain.cli import cli
from co3chain.contracts import deploy as dep
from tests.anvil import free_port

pytestmark = [pytest.mark.slow]


@pytest.fixture
def co3_node(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A one-validator co3chain network on free ports; yields (rpc url, validator address)."""
    pytest.importorskip("co3chain.node.cli", reason="the co3chain node is not part of this build")
    from co3chain.node.cli import init_network

    rpc_port, p2p_port = free_port(), free_port()
    summary = init_network(tmp_path / "net", 1, 1337, rpc_port=rpc_port, p2p_port=p2p_port)
    node = summary["nodes"][0]
    log = (tmp_path / "node.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "co3chain.cli", "node", "start", "--config", node["config"],
         "--password-file", str(Path(node["config"]).parent / "password")],
        stdout=log, stderr=subprocess.STDOUT,
    )
    w3 = dep.qbft_compatible(Web3(HTTPProvider(node["rpc"])))
    try:
        for _ in range(300):
            if proc.poll() is not None:
                pytest.fail(f"node exited with {proc.returncode}: {(tmp_path / 'node.log').read_text()[-2000:]}")
            try:
                if w3.eth.block_number >= 1:
                    break
            except Exception:
                pass
            time.sleep(0.1)
        else:
            pytest.fail("the node did not seal a block within 30 s")
        yield node["rpc"], node["address"]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_deploy_on_our_node_with_an_unfunded_key(co3_node: tuple[str, str], tmp_path: Path, use_suite_artifacts):
    rpc, validator = co3_node
    key = "0x" + keccak(text="a PA officer on a zero-gas chain").hex()
    out = tmp_path / "deployment.json"
    result = CliRunner().invoke(cli, ["deploy", "--rpc", rpc, "--dev-key", key, "--out", str(out)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    manifest = dep.load_manifest(out)
    assert manifest["chainId"] == 1337
    assert manifest["network"].startswith("co3chain/")
    w3 = dep.qbft_compatible(Web3(HTTPProvider(rpc)))
    assert w3.eth.get_balance(manifest["deployer"]) == 0  # zero gas price: no Ether needed
    for entry in manifest["contracts"].values():
        assert bytes(w3.eth.get_code(entry["address"]))
    contracts = dep.contracts_from_manifest(w3, manifest)
    # the consortium contract starts with the validator set that seals the chain
    assert contracts["ConsortiumValidators"].functions.getValidators().call() == [Web3.to_checksum_address(validator)]
