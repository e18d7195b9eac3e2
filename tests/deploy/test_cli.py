"""``co3chain deploy`` / ``co3chain demo`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from eth_account import Account
from eth_utils import keccak
from web3 import HTTPProvider, Web3

from co3chain.cli import cli
from co3chain.contracts import deploy as dep
from co3chain.contracts.demo import dev_oracle_accounts
from tests.anvil import ANVIL_KEY, free_port


def _run(args: list[str]):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def test_deploy_and_demo_are_registered():
    result = _run(["--help"])
    assert result.exit_code == 0
    assert "deploy" in result.output and "demo" in result.output


def test_deploy_unreachable_node_is_one_line_error(tmp_path: Path, use_suite_artifacts):
    port = free_port()  # nothing listens there
    result = _run(["deploy", "--rpc", f"http://127.0.0.1:{port}", "--dev-key", ANVIL_KEY,
                   "--out", str(tmp_path / "m.json")])
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "cannot reach the node" in errors[0]
    assert not (tmp_path / "m.json").exists()


def test_deploy_needs_a_key(tmp_path: Path):
    result = _run(["deploy", "--rpc", "http://127.0.0.1:1", "--out", str(tmp_path / "m.json")])
    assert result.exit_code == 1
    assert "no signing key" in result.stderr


def test_deploy_rejects_bad_addresses(tmp_path: Path):
    result = _run(["deploy", "--dev-key", ANVIL_KEY, "--oracle-signer", "0x1234", "--out", str(tmp_path / "m.json")])
    assert result.exit_code == 1
    assert "not an address: '0x1234'" in result.stderr


@pytest.mark.anvil
@pytest.mark.slow
def test_deploy_cli_against_anvil(anvil_url: str, tmp_path: Path, use_suite_artifacts):
    out = tmp_path / "deployment.json"
    oracles = [Account.from_key(keccak(text=f"cli oracle {i}")).address for i in range(3)]
    args = ["deploy", "--rpc", anvil_url, "--dev-key", ANVIL_KEY, "--threshold", "2", "--out", str(out), "--json",
            "--network", "anvil-test"]
    for o in oracles:
        args += ["--oracle-signer", o]
    result = _run(args)
    assert result.exit_code == 0, result.stderr
    printed = json.loads(result.stdout)
    manifest = dep.load_manifest(out)
    assert printed == manifest
    assert manifest["chainId"] == 31337
    assert manifest["network"] == "anvil-test"
    assert manifest["deployer"] == Account.from_key(ANVIL_KEY).address
    # progress: one line per contract on stderr (stdout is the JSON)
    for name in dep.SUITE:
        assert any(line.strip().startswith(name) for line in result.stderr.splitlines()), name
    w3 = Web3(HTTPProvider(anvil_url))
    contracts = dep.contracts_from_manifest(w3, manifest)
    hub = contracts["AttestationHub"]
    assert sorted(hub.functions.getSigners().call()) == sorted(oracles)
    assert hub.functions.threshold().call() == 2
    # no --validator and anvil has no qbft_ API: the deployer is the one consortium validator
    assert contracts["ConsortiumValidators"].functions.getValidators().call() == [manifest["deployer"]]


@pytest.mark.anvil
@pytest.mark.slow
def test_deploy_cli_insufficient_funds(anvil_url: str, tmp_path: Path, use_suite_artifacts):
    poor = "0x" + keccak(text="an unfunded key").hex()
    result = _run(["deploy", "--rpc", anvil_url, "--dev-key", poor, "--out", str(tmp_path / "m.json")])
    assert result.exit_code == 1
    assert "no funds" in result.stderr
    # the default oracle set of a development deployment was announced
    assert "development oracle keys" in result.stderr
    assert len(dev_oracle_accounts()) == 3


def test_deploy_keystore_wrong_password_and_missing_oracles(tmp_path: Path):
    from co3chain.keys import create_keystore

    keystore = tmp_path / "deployer.json"
    create_keystore(keystore, "right horse", bytes.fromhex(ANVIL_KEY[2:]))
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("battery staple\n")
    result = _run(["deploy", "--key-file", str(keystore), "--password-file", str(wrong),
                   "--oracle-signer", Account.from_key(keccak(text="o")).address, "--out", str(tmp_path / "m.json")])
    assert result.exit_code == 1
    assert "wrong password" in result.stderr
    right = tmp_path / "right.txt"
    right.write_text("right horse\n")
    result = _run(["deploy", "--key-file", str(keystore), "--password-file", str(right), "--out",
                   str(tmp_path / "m.json")])
    assert result.exit_code == 1
    assert "--oracle-signer is required with a keystore deployer" in result.stderr


@pytest.mark.anvil
@pytest.mark.slow
def test_deploy_cli_with_keystore(anvil_url: str, tmp_path: Path, use_suite_artifacts):
    from co3chain.keys import create_keystore

    keystore = tmp_path / "deployer.json"
    create_keystore(keystore, "right horse", bytes.fromhex(ANVIL_KEY[2:]))
    password = tmp_path / "pw.txt"
    password.write_text("right horse\n")
    oracle = Account.from_key(keccak(text="single oracle")).address
    relayer = Account.from_key(keccak(text="api relayer")).address
    out = tmp_path / "m.json"
    result = _run(["deploy", "--rpc", anvil_url, "--key-file", str(keystore), "--password-file", str(password),
                   "--oracle-signer", oracle, "--relayer", relayer, "--validator", oracle, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr  # no development key, no development oracles
    assert f"manifest: {out}" in result.stdout
    manifest = dep.load_manifest(out)
    contracts = dep.contracts_from_manifest(Web3(HTTPProvider(anvil_url)), manifest)
    assert contracts["AttestationHub"].functions.threshold().call() == 1  # majority of one signer
    assert contracts["CO3Governance"].functions.hasRole(dep.role_id("RELAYER_ROLE"), relayer).call()
    assert contracts["ConsortiumValidators"].functions.getValidators().call() == [oracle]


def test_deploy_rejects_zero_half_life_and_bad_threshold(tmp_path: Path, use_suite_artifacts):
    base = ["deploy", "--rpc", f"http://127.0.0.1:{free_port()}", "--dev-key", ANVIL_KEY, "--out",
            str(tmp_path / "m.json")]
    result = _run([*base, "--half-life", "0"])
    assert result.exit_code == 1 and "half-life must be a positive" in result.stderr
    result = _run([*base, "--threshold", "4"])
    assert result.exit_code == 1 and "threshold must be between 1 and 3" in result.stderr


@pytest.mark.anvil
@pytest.mark.slow
def test_plain_python_scripts(anvil_url: str, tmp_path: Path, artifacts_dir: Path):
    """scripts/deploy.py and scripts/demo.py without brownie: the co3chain commands, in a subprocess."""
    import os
    import subprocess
    import sys

    from .conftest import REPO

    env = {**os.environ, "CO3CHAIN_ARTIFACTS": str(artifacts_dir), "COLUMNS": "200"}
    out = tmp_path / "deployment.json"
    deployed = subprocess.run(
        [sys.executable, "scripts/deploy.py", "--rpc", anvil_url, "--dev-key", ANVIL_KEY, "--out", str(out)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert deployed.returncode == 0, deployed.stderr
    assert f"manifest: {out}" in deployed.stdout
    demo = subprocess.run(
        [sys.executable, "scripts/demo.py", "--rpc", anvil_url, "--dev-key", ANVIL_KEY, "--manifest", str(out)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert demo.returncode == 0, demo.stderr
    assert "Renovate the playground of Parco del Valentino" in demo.stdout
    bad = subprocess.run([sys.executable, "scripts/deploy.py", "--rpc", anvil_url, "--dev-key", "0x01"],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines()[-1].startswith("error: --dev-key is not a valid private key")
