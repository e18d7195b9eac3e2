"""The trustee and registrar commands end to end against anvil (a node we did not write): key ceremony,
credentials, a vote, decryption by 2 of 3 trustees, the tally and the audit, all through ``co3chain``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from eth_account import Account
from web3 import HTTPProvider, Web3

from co3chain.ballot.client import deploy_secret_ballot, send_as
from co3chain.ballot.credential import PublicKey, blind, finalize
from co3chain.cli import cli
from co3chain.keys import create_keystore
from tests.anvil import ANVIL_KEY, require_anvil, running_anvil


def _run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_trustee_cli_flow_on_anvil(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_anvil()
    monkeypatch.setenv("CO3CHAIN_PASSWORD", "trustee-pw")
    with running_anvil() as url:
        w3 = Web3(HTTPProvider(url))
        funder = Account.from_key(ANVIL_KEY)
        admin = Account.create()
        trustees = [Account.create() for _ in range(3)]
        for a in [admin, *trustees]:
            tx = funder.sign_transaction({"to": a.address, "value": 10**20, "gas": 21000, "gasPrice": w3.eth.gas_price,
                                          "chainId": w3.eth.chain_id,
                                          "nonce": w3.eth.get_transaction_count(funder.address)})
            w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(tx.raw_transaction))
        sb, _ = deploy_secret_ballot(w3, admin, admin)
        address = sb.address
        f = sb.contract.functions
        send_as(w3, f.openCeremony([t.address for t in trustees], 2), admin)
        conn = ["--rpc", url, "--contract", address]
        stores = []
        for i, t in enumerate(trustees, start=1):
            ks = tmp_path / f"officer{i}.json"
            create_keystore(ks, "trustee-pw", bytes(t.key), scrypt_n=2**10)
            stores.append(ks)
            assert "transport key posted" in _run("trustee", "keygen", *conn, "--account-keystore", str(ks),
                                                  "--ceremony", "1", "--out", str(tmp_path / f"t{i}"))
        for ks in stores:
            _run("trustee", "deal", *conn, "--account-keystore", str(ks), "--ceremony", "1")
        for i in (1, 2, 3):
            _run("trustee", "share", *conn, "--account-keystore", str(stores[i - 1]), "--transport-keystore", str(tmp_path / f"t{i}" / f"transport-1-{i}.json"),
                 "--out", str(tmp_path / f"t{i}"))

        out = _run("ballot", "registrar-keygen", "--out", str(tmp_path / "registrar.pem"))
        modulus = bytes.fromhex(out.split("modulus  0x")[1].split()[0])
        exponent = bytes.fromhex(out.split("exponent 0x")[1].split()[0])
        send_as(w3, f.addRegistrarKey(modulus, exponent), admin)
        now = w3.eth.get_block("latest")["timestamp"]
        send_as(w3, f.createElection(1, 1, 0, 2, now, now + 100), admin)

        pub = PublicKey(int.from_bytes(modulus, "big"), int.from_bytes(exponent, "big"))
        log = tmp_path / "issued.jsonl"
        for k, choice in enumerate((1, 1, 0)):
            voter = Account.create()
            blinded, state = blind(pub, sb.credential_message(1, voter.address))
            issue = ["ballot", "issue", "--registrar-key", str(tmp_path / "registrar.pem"), "--election", "1",
                     "--citizen", f"CF-{k}", "--blinded", blinded.hex(), "--log", str(log)]
            sig_hex = _run(*issue).split()[0]
            again = CliRunner().invoke(cli, issue)
            assert again.exit_code == 1 and "already received" in again.output
            cred = finalize(pub, state, bytes.fromhex(sig_hex[2:]))
            sb.relay(admin, sb.prepare_ballot(1, voter, choice), cred)

        w3.provider.make_request("evm_increaseTime", [200])
        w3.provider.make_request("evm_mine", [])
        for i in (1, 3):
            _run("trustee", "decrypt", *conn, "--account-keystore", str(stores[i - 1]), "--election", "1",
                 "--share-keystore", str(tmp_path / f"t{i}" / f"share-1-{i}.json"))
        assert "[1, 2]" in _run("ballot", "tally", *conn, "--account-keystore", str(stores[1]), "--election", "1")
        report = json.loads(_run("ballot", "audit", *conn, "--election", "1", "--json"))
        assert report["ok"] and report["counts"] == [1, 2] and report["ballotsVerified"] == 3
