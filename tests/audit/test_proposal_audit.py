"""Proposal audit: clean tallies pass; a node that lies about state, proofs or logs is caught."""

from __future__ import annotations

from typing import Any

from co3chain.audit.events import VOTE_CAST, VOTE_REVEALED
from co3chain.audit.proposal import ProposalAuditOptions, audit_proposal
from co3chain.audit.rpc import RpcClient
from tests.audit.devnet import lying
from tests.audit.governance import GovScenario


def run(s: GovScenario, pid: int, transport: Any = None, **kw: Any) -> Any:
    client = RpcClient(transport or s.devnet.transport)
    return audit_proposal(client, s.manifest, pid, ProposalAuditOptions(progress=False, **kw))


def test_token_weighted_clean(gov: GovScenario) -> None:
    report = run(gov, gov.token_proposal)
    assert report.passed, [f.line() for f in report.findings]
    assert report.stats["tally"] == {"against": "250", "for": "240", "abstain": "0"}
    assert report.stats["provenTally"] == report.stats["tally"]
    assert report.stats["recomputedState"] == report.stats["declaredState"]
    assert report.stats["votes"] == 4


def test_commit_reveal_clean(gov: GovScenario) -> None:
    report = run(gov, gov.cr_proposal)
    assert report.passed, [f.line() for f in report.findings]
    assert report.stats["tally"] == {"against": "1", "for": "1", "abstain": "0"}
    assert report.stats["votes"] == 3  # three commitments, two revealed


def test_unknown_proposal(gov: GovScenario) -> None:
    report = run(gov, 12345)
    assert report.kinds() == {"missing-proposal"}


def test_lying_proposal_votes_is_caught(gov: GovScenario) -> None:
    def lie(req: dict[str, Any], resp: dict[str, Any]) -> None:
        if req["method"] == "eth_call" and req["params"][0]["data"].startswith("0x544ffc9c"):  # proposalVotes
            raw = bytearray(bytes.fromhex(resp["result"][2:]))
            raw[63] ^= 0x01  # flip the low bit of "for"
            resp["result"] = "0x" + raw.hex()

    report = run(gov, gov.token_proposal, lying(gov.devnet.transport, lie))
    assert {"tally-mismatch", "storage-mismatch"} <= report.kinds()


def test_lying_storage_proof_is_caught(gov: GovScenario) -> None:
    def lie(req: dict[str, Any], resp: dict[str, Any]) -> None:
        if req["method"] == "eth_getProof" and resp.get("result", {}).get("storageProof"):
            entry = resp["result"]["storageProof"][1]
            entry["value"] = hex(int(entry["value"], 16) + 1)

    report = run(gov, gov.token_proposal, lying(gov.devnet.transport, lie))
    assert "proof-invalid" in report.kinds()


def _omit_last(topic: bytes) -> Any:
    def omit(req: dict[str, Any], resp: dict[str, Any]) -> None:
        if req["method"] == "eth_getLogs" and isinstance(resp.get("result"), list):
            hits = [lg for lg in resp["result"] if lg["topics"][0] == "0x" + topic.hex()]
            if hits:
                resp["result"].remove(hits[-1])

    return omit


def test_omitted_log_alone_in_its_block_is_caught(gov: GovScenario) -> None:
    """The bloom of a block with no returned vote log matches: its proven receipts expose the omission."""
    report = run(gov, gov.cr_proposal, lying(gov.devnet.transport, _omit_last(VOTE_REVEALED)))
    assert report.kinds() == {"omitted-log"}
    assert report.stats["tally"] == {"against": "1", "for": "1", "abstain": "0"}  # receipts restored the vote


def test_omitted_log_among_others_is_caught(gov: GovScenario) -> None:
    """All votes share one block, so the bloom is explained: the proven tally disagrees, and the receipts
    of the bloom-matching blocks then locate the omitted log."""
    report = run(gov, gov.token_proposal, lying(gov.devnet.transport, _omit_last(VOTE_CAST)))
    assert {"storage-mismatch", "tally-mismatch", "omitted-log"} <= report.kinds()
    omitted = [f for f in report.errors if f.kind == "omitted-log"]
    assert len(omitted) == 1 and "receipts root" in omitted[0].message


def test_lying_snapshot_weights_are_caught(gov: GovScenario) -> None:
    """The node inflates getPastVotes for every voter: the DelegateVotesChanged replay disagrees."""

    def lie(req: dict[str, Any], resp: dict[str, Any]) -> None:
        if req["method"] == "eth_call" and req["params"][0]["data"].startswith("0x3a46b1a8"):  # getPastVotes
            resp["result"] = "0x" + (int(resp["result"], 16) + 5).to_bytes(32, "big").hex()

    report = run(gov, gov.token_proposal, lying(gov.devnet.transport, lie))
    assert {"weight-mismatch", "delegation-mismatch", "tally-mismatch"} <= report.kinds()


def test_omitted_log_with_doctored_receipts_is_caught(gov: GovScenario) -> None:
    """The liar also strips the log from the block's receipts: they no longer hash to the sealed receiptsRoot."""
    omit = _omit_last(VOTE_REVEALED)

    def lie(req: dict[str, Any], resp: dict[str, Any]) -> None:
        omit(req, resp)
        if req["method"] == "eth_getBlockReceipts" and resp.get("result"):
            for r in resp["result"]:
                r["logs"] = [lg for lg in r["logs"] if lg["topics"][0] != "0x" + VOTE_REVEALED.hex()]

    report = run(gov, gov.cr_proposal, lying(gov.devnet.transport, lie))
    bad = [f for f in report.errors if f.kind == "omitted-log"]
    assert bad and "do not verify" in bad[0].message


def _claim_state(index: int) -> Any:
    def lie(req: dict[str, Any], resp: dict[str, Any]) -> None:
        if req["method"] == "eth_call" and req["params"][0]["data"].startswith("0x3e4f49e6"):  # state(uint256)
            resp["result"] = "0x" + index.to_bytes(32, "big").hex()
    return lie


def test_unknown_state_is_a_warning_not_a_crash(gov: GovScenario) -> None:
    """Governance gains states (Queued, Executed, Expired) in parallel: an index the sources do not name is
    reported as unknown, the tally audit still runs."""
    report = run(gov, gov.token_proposal, lying(gov.devnet.transport, _claim_state(9)), proofs=False)
    assert report.passed
    assert any(f.kind == "unknown-state" and "State9" in f.message for f in report.findings)


def test_states_are_named_from_the_sources(gov: GovScenario, tmp_path: Any) -> None:
    import shutil

    from co3chain.contracts import compiler

    root = tmp_path / "src"
    shutil.copytree(compiler.REPO_ROOT / "contracts", root / "contracts")
    path = root / "contracts" / "CO3Governance.sol"
    text = path.read_text()
    path.write_text(text.replace("enum ProposalState {", "enum ProposalState {\n        Queued, Executed,", 1))
    # index 1 is now "Executed": a defeated vote cannot have been executed.
    report = run(gov, gov.token_proposal, lying(gov.devnet.transport, _claim_state(1)), proofs=False, source_root=root)
    assert report.kinds() == {"outcome-mismatch"}
    assert "Executed" in report.errors[0].message


def test_altered_ballot_log_is_named_as_the_cause(gov: GovScenario) -> None:
    """The node inflates a ballot's weight in eth_getLogs: the sealed receipts name the altered log as the cause,
    the original ballot is counted, and the audit does not blame the voter (no weight-mismatch left)."""
    def inflate(req: dict[str, Any], resp: dict[str, Any]) -> None:
        if req["method"] == "eth_getLogs" and isinstance(resp.get("result"), list):
            for lg in resp["result"]:
                if lg["topics"][0] == "0x" + VOTE_CAST.hex():
                    support = lg["data"][2:66]
                    lg["data"] = "0x" + support + (10**6).to_bytes(32, "big").hex()
                    return

    report = run(gov, gov.token_proposal, lying(gov.devnet.transport, inflate))
    assert report.kinds() == {"altered-log"}
    assert report.stats["tally"] == {"against": "250", "for": "240", "abstain": "0"}
    from co3chain.audit.plain import build_verdict

    (cause,) = build_verdict(report).causes
    assert cause.kind == "altered-log" and "sealed receipts" in cause.authoritative


# ---------------------------------------------------------------------------------------------- electorates


def test_electorate_proposal_clean(gov: GovScenario) -> None:
    report = run(gov, gov.electorate_proposal)
    assert report.passed, [f.line() for f in report.findings]
    assert report.subject["electorate"] == f"group:{gov.electorate & ((1 << 248) - 1)}"
    assert report.stats["electorateChecks"] == {"ballots": 2, "outside": 0}
    assert report.stats["electorateSizeAtSnapshot"] == 3
    assert report.stats["quorumBasis"] == "headcount"
    assert report.stats["quorum"] == "1"  # ceil(10 % of the 3 district members)
    assert report.stats["tally"] == {"against": "0", "for": "2", "abstain": "0"}
    assert report.stats["recomputedState"] == report.stats["declaredState"] == "Succeeded"


def _answer_eth_call(selector: str, value: int) -> Any:
    def lie(req: dict[str, Any], resp: dict[str, Any]) -> None:
        if req["method"] == "eth_call" and req["params"][0]["data"].startswith(selector):
            resp["result"] = "0x" + value.to_bytes(32, "big").hex()

    return lie


def test_ballot_outside_the_electorate_is_caught(gov: GovScenario) -> None:
    """A node (or a contract) that counted a ballot from outside the electorate: isEligibleVoterAt says no."""
    from eth_utils import keccak

    sel = "0x" + keccak(text="isEligibleVoterAt(address,uint256,uint48)")[:4].hex()
    report = run(gov, gov.electorate_proposal, lying(gov.devnet.transport, _answer_eth_call(sel, 0)))
    assert "ineligible-voter" in report.kinds()
    assert report.stats["electorateChecks"]["outside"] == 2


def test_lying_electorate_and_size_are_caught(gov: GovScenario) -> None:
    from eth_utils import keccak

    sel = "0x" + keccak(text="proposalElectorate(uint256)")[:4].hex()
    report = run(gov, gov.electorate_proposal, lying(gov.devnet.transport, _answer_eth_call(sel, 0)))
    assert "electorate-mismatch" in report.kinds()
    size = "0x" + keccak(text="getPastElectorateSize(uint256,uint48)")[:4].hex()
    report = run(gov, gov.electorate_proposal, lying(gov.devnet.transport, _answer_eth_call(size, 40)))
    assert "quorum-mismatch" in report.kinds()  # quorum() says 1, recomputed ceil(10 % of 40) = 4
