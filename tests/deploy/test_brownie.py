"""scripts/deploy.py and scripts/demo.py through ``brownie run`` against anvil.

Runs brownie from ``.venv-brownie`` (scripts/setup_brownie.sh) with HOME pointed at a temporary directory,
so the test registers its own network (the anvil port) without touching the user's ~/.brownie.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from web3 import HTTPProvider, Web3

from co3chain.contracts import deploy as dep
from co3chain.contracts.deploy import ArtifactSet
from tests.anvil import ANVIL_KEY, REPO

BROWNIE = REPO / ".venv-brownie" / "bin" / "brownie"

pytestmark = [
    pytest.mark.brownie,
    pytest.mark.slow,
    pytest.mark.anvil,
    pytest.mark.skipif(not BROWNIE.exists(), reason="no .venv-brownie: run scripts/setup_brownie.sh to test the brownie path"),
]


def _brownie(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BROWNIE), *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
                          check=False)


def test_brownie_deploy_and_demo(anvil_url: str, tmp_path: Path, suite_artifacts: ArtifactSet, artifacts_dir: Path):
    manifest_path = tmp_path / "deployment.json"
    home = tmp_path / "home"
    home.mkdir()
    env = {
        **os.environ,
        "HOME": str(home),
        "CO3CHAIN_ARTIFACTS": str(artifacts_dir),
        "CO3CHAIN_DEV_KEY": ANVIL_KEY,
        "CO3CHAIN_MANIFEST": str(manifest_path),
        "COLUMNS": "200",
    }
    added = _brownie(["networks", "add", "Ethereum", "co3-test", f"host={anvil_url}", "chainid=31337"], env)
    assert added.returncode == 0, added.stdout + added.stderr

    deployed = _brownie(["run", "scripts/deploy.py", "--network", "co3-test"], env)
    assert deployed.returncode == 0, deployed.stdout[-3000:] + deployed.stderr[-3000:]
    assert f"deployed {len(dep.SUITE)} contracts with brownie" in deployed.stdout
    manifest = dep.load_manifest(manifest_path)
    assert manifest["network"] == "brownie:co3-test"
    assert manifest["sources"] == suite_artifacts.build_info["sources"]

    w3 = Web3(HTTPProvider(anvil_url))
    contracts = dep.contracts_from_manifest(w3, manifest, suite_artifacts)
    for name, entry in manifest["contracts"].items():
        assert bytes(w3.eth.get_code(entry["address"])), name
        tx = w3.eth.get_transaction(entry["txHash"])
        art = suite_artifacts.artifact(name)
        assert bytes(tx["input"]) == bytes.fromhex(art["bytecode"][2:] + entry["constructorArgs"]["encoded"][2:])
    hub = contracts["AttestationHub"].address
    assert contracts["CommonsToken"].functions.hasRole(dep.role_id("MINTER_ROLE"), hub).call()
    assert contracts["Reputation"].functions.hasRole(dep.role_id("REWARDER_ROLE"), hub).call()
    for record in manifest["roles"]:
        assert contracts[record["contract"]].functions.hasRole(record["roleId"], record["account"]).call()

    demo = _brownie(["run", "scripts/demo.py", "--network", "co3-test"], env)
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "9 AR check-ins attested by 2-of-3 oracles" in demo.stdout
    assert "Succeeded" in demo.stdout and "Defeated" in demo.stdout
    # rewards, plus the park's budget the council appropriated into the treasury through the timelock
    assert contracts["CommonsToken"].functions.totalSupply().call() == (45 + 10_000) * 10**18
