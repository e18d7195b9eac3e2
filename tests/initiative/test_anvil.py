"""On anvil (a node we did not write): a production deploy (timelock admin), the demo's initiative step through
raw signed transactions, then ``co3chain audit initiative`` over plain JSON-RPC."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from eth_account import Account
from eth_utils import keccak
from web3 import HTTPProvider, Web3

from co3chain.audit.rpc import RpcClient
from co3chain.contracts.demo_initiative import initiative_step
from co3chain.contracts.deploy import (
    ArtifactSet,
    TxSender,
    check_handover,
    contracts_from_manifest,
    deploy_suite,
)
from co3chain.initiative.audit import audit_initiative
from tests.anvil import ANVIL_KEY, running_anvil

pytestmark = pytest.mark.anvil


def test_initiative_on_anvil_goes_to_vote_and_audits(suite_artifacts: ArtifactSet) -> None:
    with running_anvil() as url:
        w3 = Web3(HTTPProvider(url))
        officer = Account.from_key(ANVIL_KEY)
        manifest = deploy_suite(w3, officer, oracle_signers=[officer.address], oracle_threshold=1,
                                validators=[officer.address], relayer=officer.address, artifacts=suite_artifacts,
                                voting_bounds=(0, 86_400, 60, 86_400), initiative_threshold=(0, 2, 3600))
        c = contracts_from_manifest(w3, manifest, suite_artifacts)
        sender = TxSender(w3, officer)
        citizens = [Account.from_key(keccak(text=f"anvil initiative citizen {i}")) for i in range(3)]
        for i, citizen in enumerate(citizens):
            sender.call_fn(c["CitizenRegistry"], "register", [citizen.address, keccak(text=f"anvil id {i}"),
                                                              w3.eth.get_block("latest")["timestamp"] + 10**7], "reg")
        w3.provider.make_request("evm_increaseTime", [5])
        w3.provider.make_request("evm_mine", [])
        runner = SimpleNamespace(
            c=c, sender=sender, officer=officer, citizens=citizens, chain_id=int(w3.eth.chain_id),
            names={a.address: f"citizen {i}" for i, a in enumerate(citizens)}, say=lambda _m: None,
            clock=SimpleNamespace(now=lambda: int(w3.eth.get_block("latest")["timestamp"])),
            through_council=lambda *_a: pytest.fail("the relayer role was granted at deploy"))
        result = initiative_step(runner)
        assert result["required"] == 2 and result["supporters"] == ["citizen 0", "citizen 1"]
        assert result["proposalId"] is not None
        report = audit_initiative(RpcClient(url), manifest, result["initiativeId"])
        assert report.passed, [f.line() for f in report.findings]
        abis = {n: suite_artifacts.artifact(n)["abi"] for n in manifest["contracts"]}
        addresses = {n: e["address"] for n, e in manifest["contracts"].items()}
        assert check_handover(w3, addresses, abis, [officer.address]) == []
