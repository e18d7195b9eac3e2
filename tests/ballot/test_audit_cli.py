"""``co3chain audit ballot`` against anvil (a node we did not write): exit 0 with the plain verdict on an
honest secret election, exit 2 when a lying node alters one ballot event, exit 1 when it cannot run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from eth_account import Account
from web3 import HTTPProvider, Web3

from co3chain.ballot.client import deploy_secret_ballot
from co3chain.ballot.demo import run_secret_election
from co3chain.cli import cli
from tests.anvil import ANVIL_KEY, require_anvil, running_anvil
from tests.audit.devnet import lying_proxy


def _audit(*args: str) -> Any:
    return CliRunner().invoke(cli, ["audit", "ballot", *args], catch_exceptions=False)


def test_audit_ballot_cli_honest_and_tampered(tmp_path: Path) -> None:
    require_anvil()
    with running_anvil() as url:
        w3 = Web3(HTTPProvider(url))
        funder = Account.from_key(ANVIL_KEY)
        people = [Account.create() for _ in range(7)]
        for p in people:
            tx = funder.sign_transaction({"to": p.address, "value": 10**20, "gas": 21000, "gasPrice": w3.eth.gas_price,
                                          "chainId": w3.eth.chain_id,
                                          "nonce": w3.eth.get_transaction_count(funder.address)})
            w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(tx.raw_transaction))
        admin, manager, relayer, *trustees = people
        client, _ = deploy_secret_ballot(w3, admin, manager)

        def advance(ts: int) -> None:
            w3.provider.make_request("evm_setNextBlockTimestamp", [ts + 1])
            w3.provider.make_request("evm_mine", [])

        outcome = run_secret_election(w3, client, admin, manager, relayer, trustees, advance, citizens=3,
                                      say=lambda _: None)
        manifest = tmp_path / "deployment.json"
        manifest.write_text(json.dumps({  # the fields load_manifest requires; the audit reads only the address
            "chainId": w3.eth.chain_id, "deployer": admin.address, "network": "anvil", "deployedAt": 0, "roles": {},
            "compiler": {}, "sources": {}, "contracts": {"SecretBallot": {"address": client.address}}}))

        res = _audit(str(outcome.election_id), "--rpc", url, "--manifest", str(manifest),
                     "--json", str(tmp_path / "b.json"), "--html", str(tmp_path / "b.html"))
        assert res.exit_code == 0, res.output
        assert res.output.startswith(f"Audit passed: secret election {outcome.election_id} was counted correctly")
        report = json.loads((tmp_path / "b.json").read_text())
        assert report["audit"] == "ballot" and report["passed"]
        assert report["stats"]["counts"] == outcome.expected and report["stats"]["ballotsVerified"] == 4
        assert "Audit of a secret election" in (tmp_path / "b.html").read_text()

        def alter_first_ballot(req: dict[str, Any], resp: dict[str, Any]) -> None:
            if req["method"] == "eth_getLogs" and resp.get("result"):
                log = resp["result"][0]
                data = bytes.fromhex(log["data"][2:])
                if len(data) > 600:  # a BallotCast: its last word is the last bit proof's z1
                    log["data"] = "0x" + (data[:-1] + bytes([data[-1] ^ 1])).hex()

        with lying_proxy(url, alter_first_ballot) as bad:
            res = _audit(str(outcome.election_id), "--rpc", bad, "--manifest", str(manifest), "--html",
                         str(tmp_path / "bad.html"))
        assert res.exit_code == 2, res.output
        assert "bad-ballot-proof" in res.output
        assert "Audit failed" in (tmp_path / "bad.html").read_text()

        res = _audit("99", "--rpc", url, "--manifest", str(manifest))
        assert res.exit_code == 1 and "election 99 does not exist" in res.output
