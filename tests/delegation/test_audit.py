"""``co3chain audit proposal`` with liquid delegation, on the audit devnet (QBFT-sealed blocks, proofs):
a clean vote with transitive delegations and a direct override passes and reports the delegated weight; an
uncounted delegation is a warning; a node that hides a counting is caught."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account import Account
from eth_utils import keccak, to_checksum_address
from web3 import Web3

from co3chain.audit.delegation import COUNTED
from co3chain.audit.proposal import ProposalAuditOptions, audit_proposal
from co3chain.audit.rpc import RpcClient
from co3chain.contracts.deploy import ArtifactSet, deploy_suite
from tests.audit.devnet import USER_KEYS, VALIDATOR_KEYS, Devnet, DevnetProvider, addr, lying
from tests.audit.governance import build_artifacts, transact


@dataclass
class Scenario:
    devnet: Devnet
    manifest: dict[str, Any]
    pid: int


def _a(key: bytes) -> str:
    return to_checksum_address(addr(key))


@pytest.fixture(scope="module")
def scenario() -> Iterator[Scenario]:
    arts: ArtifactSet = build_artifacts()
    d = Devnet(n_validators=4)
    w3 = Web3(DevnetProvider(d))
    deployer, c = USER_KEYS[0], USER_KEYS[1:8]
    manifest = deploy_suite(w3, Account.from_key(deployer), oracle_signers=[_a(USER_KEYS[11])], oracle_threshold=1,
                            validators=[_a(k) for k in VALIDATOR_KEYS[:4]], artifacts=arts, handover=False,
                            voting_bounds=(0, 2**40, 1, 2**40))
    k = {name: w3.eth.contract(address=e["address"], abi=arts.artifact(name)["abi"])
         for name, e in manifest["contracts"].items()}
    gov, ld = k["CO3Governance"], k["LiquidDelegation"]
    for i, key in enumerate(c):
        transact(w3, k["CitizenRegistry"].functions.register(_a(key), keccak(text=f"dlg-{i}"), d.now + 10**8), deployer)
    # c0 → c1 → c2, c3 → c2, c4 → c0 (three hops to c2), c5 → c2 (never counted)
    for x, y in ((0, 1), (1, 2), (3, 2), (4, 0), (5, 2)):
        transact(w3, ld.functions.delegate(0, _a(c[y])), c[x])
    vs, ve = d.now + 20, d.now + 200
    receipt = transact(w3, gov.functions.propose(0, 0, False, vs, ve, 0, "delegated vote"), deployer)
    pid = gov.events.ProposalCreated().process_receipt(receipt)[0]["args"]["proposalId"]
    d.time_travel(vs + 1)
    transact(w3, gov.functions.castVote(pid, 1), c[2])
    transact(w3, ld.functions.countDelegations(pid, [_a(c[0]), _a(c[1]), _a(c[3]), _a(c[4])]), deployer)
    transact(w3, gov.functions.castVote(pid, 0), c[1])  # moves c1, c0 and c4 from c2 to c1
    transact(w3, gov.functions.castVote(pid, 1), c[6])
    d.time_travel(ve + 1)
    assert gov.functions.proposalVotes(pid).call() == [3, 3, 0]
    yield Scenario(d, manifest, pid)
    d.close()


def _run(s: Scenario, transport: Any = None) -> Any:
    return audit_proposal(RpcClient(transport or s.devnet.transport), s.manifest, s.pid,
                          ProposalAuditOptions(progress=False))


def test_clean_delegated_vote_passes(scenario: Scenario) -> None:
    report = _run(scenario)
    assert report.passed, [f.line() for f in report.findings]
    assert report.stats["tally"] == {"against": "3", "for": "3", "abstain": "0"}
    assert report.stats["provenTally"] == report.stats["tally"]
    d = report.stats["delegation"]
    assert d["delegatedWeight"] == "3" and d["countedDelegators"] == 4
    assert [f.kind for f in report.findings if f.severity == "warning"].count("uncounted-delegation") == 1


def test_hidden_counting_is_caught(scenario: Scenario) -> None:
    def hide(req: dict[str, Any], resp: dict[str, Any]) -> None:
        if req["method"] == "eth_getLogs" and isinstance(resp.get("result"), list):
            hits = [lg for lg in resp["result"] if lg["topics"][0] == "0x" + COUNTED.hex()]
            if hits:
                resp["result"].remove(hits[0])

    report = _run(scenario, lying(scenario.devnet.transport, hide))
    assert not report.passed
    assert {"tally-mismatch", "storage-mismatch"} <= report.kinds()
