"""Contracts audit against anvil (a foreign node): full match for the deployed suite, and a lying HTTP proxy
in front of anvil that serves altered runtime code is caught by the bytecode comparison and the code proof."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from eth_account import Account
from web3 import HTTPProvider, Web3

from co3chain.audit.contracts import audit_contracts
from co3chain.audit.rpc import RpcClient
from co3chain.contracts.deploy import SUITE, ArtifactSet, deploy_suite
from tests.anvil import ANVIL_KEY, require_anvil, running_anvil
from tests.audit.devnet import lying_proxy

pytestmark = [pytest.mark.anvil, pytest.mark.slow]



@pytest.fixture(scope="module")
def anvil_url() -> Iterator[str]:
    require_anvil()
    with running_anvil() as url:
        yield url


@pytest.fixture(scope="module")
def anvil_manifest(anvil_url: str, suite_artifacts: ArtifactSet) -> dict[str, Any]:
    w3 = Web3(HTTPProvider(anvil_url))
    deployer = Account.from_key(ANVIL_KEY)
    return deploy_suite(w3, deployer, oracle_signers=[deployer.address], oracle_threshold=1,
                        validators=[deployer.address], artifacts=suite_artifacts, handover=False,
                        voting_bounds=(0, 2**40, 1, 2**40))


def test_anvil_suite_full_match(anvil_url: str, anvil_manifest: dict[str, Any]) -> None:
    report = audit_contracts(RpcClient(anvil_url), anvil_manifest)
    assert report.stats["fullMatches"] == len(SUITE)  # every contract of the suite (13 today)
    # This fixture deploys without the handover (it configures the suite directly), so the deployer EOA is
    # still admin: anvil's own eth_getLogs/hasRole/eth_getCode show it, and the powers audit flags it.
    assert report.kinds() == {"eoa-power"}
    assert {f.details["role"] for f in report.errors} == {"DEFAULT_ADMIN_ROLE"}
    # anvil headers carry no QBFT seals: the report says the state root was not seal-checked.
    assert {f.kind for f in report.findings} == {"unsealed-anchor", "eoa-power"}


def test_anvil_behind_lying_proxy(anvil_url: str, anvil_manifest: dict[str, Any]) -> None:
    target = anvil_manifest["contracts"]["CommonsToken"]["address"].lower()

    def alter_code(req: dict[str, Any], resp: dict[str, Any]) -> None:
        if req["method"] == "eth_getCode" and req["params"][0].lower() == target:
            code = bytearray(bytes.fromhex(resp["result"][2:]))
            code[len(code) // 2] ^= 0xFF
            resp["result"] = "0x" + code.hex()

    with lying_proxy(anvil_url, alter_code) as url:
        report = audit_contracts(RpcClient(url), anvil_manifest, powers=False)
    assert report.kinds() == {"code-proof", "bytecode-mismatch"}
    assert all("CommonsToken" in f.message for f in report.errors)


def test_anvil_headers_rebuild_to_the_reported_hash(anvil_url: str, anvil_manifest: dict[str, Any]) -> None:
    """The header field list (with fork-dependent trailing fields) matches a third-party client's hashing."""
    from co3chain.audit.headers import header_from_json

    client = RpcClient(anvil_url)
    head = int(client.call("eth_blockNumber"), 16)
    blocks = client.batch([("eth_getBlockByNumber", (hex(n), False)) for n in range(head + 1)])
    for b in blocks:
        h = header_from_json(b)
        assert h.plain_hash() == h.reported_hash == h.computed_hash()


def test_anvil_proposal_audit(anvil_url: str, anvil_manifest: dict[str, Any], suite_artifacts: ArtifactSet) -> None:
    """A token-weighted proposal on anvil: the audit passes, and an omitted vote log is caught via receipts."""
    from eth_utils import keccak

    from co3chain.audit.events import VOTE_CAST
    from co3chain.audit.proposal import ProposalAuditOptions, audit_proposal

    w3 = Web3(HTTPProvider(anvil_url))
    admin = Account.from_key(ANVIL_KEY)
    c = {n: w3.eth.contract(address=e["address"], abi=suite_artifacts.artifact(n)["abi"])
         for n, e in anvil_manifest["contracts"].items()}

    def send(fn: Any, acct: Any) -> Any:
        # A fixed gas limit: web3's estimate runs in the latest block's second, the tx may land in the next one,
        # where ERC20Votes pushes a new checkpoint instead of updating one (20k gas more: out of gas).
        tx = fn.build_transaction({"from": acct.address, "nonce": w3.eth.get_transaction_count(acct.address),
                                   "gas": 1_000_000})
        receipt = w3.eth.wait_for_transaction_receipt(
            w3.eth.send_raw_transaction(acct.sign_transaction(tx).raw_transaction))
        assert receipt["status"] == 1
        return receipt

    voters = [Account.from_key(keccak(text=f"anvil-voter-{i}")) for i in range(3)]
    send(c["CommonsToken"].functions.grantRole(keccak(text="MINTER_ROLE"), admin.address), admin)
    for i, v in enumerate(voters):
        # every counting mode requires a registered citizen (issue 10, defect 4)
        send(c["CitizenRegistry"].functions.register(v.address, keccak(text=f"anvil-id-{i}"), 2**40), admin)
        send(c["CommonsToken"].functions.mint(v.address, 10 * (i + 1)), admin)
        w3.provider.make_request("anvil_setBalance", [v.address, hex(10**18)])
    now = w3.eth.get_block("latest")["timestamp"]
    receipt = send(c["CO3Governance"].functions.propose(0, 1, False, now + 600, now + 7200, 0, "anvil vote"), admin)
    pid = c["CO3Governance"].events.ProposalCreated().process_receipt(receipt)[0]["args"]["proposalId"]
    # Generous windows: on a loaded machine seconds of wall clock pass between these calls (anvil follows it).
    w3.provider.make_request("evm_increaseTime", [700])
    w3.provider.make_request("evm_mine", [])
    for v, support in zip(voters, [1, 1, 0], strict=True):
        send(c["CO3Governance"].functions.castVote(pid, support), v)
    w3.provider.make_request("evm_increaseTime", [8000])
    w3.provider.make_request("evm_mine", [])

    report = audit_proposal(RpcClient(anvil_url), anvil_manifest, pid, ProposalAuditOptions(progress=False))
    assert report.passed, [f.line() for f in report.findings]
    assert report.stats["tally"] == {"against": "30", "for": "30", "abstain": "0"}
    assert report.stats["declaredState"] == "Defeated"

    def omit(req: dict[str, Any], resp: dict[str, Any]) -> None:
        if req["method"] == "eth_getLogs" and isinstance(resp.get("result"), list):
            hits = [lg for lg in resp["result"] if lg["topics"][0] == "0x" + VOTE_CAST.hex()]
            if hits:
                resp["result"].remove(hits[0])

    with lying_proxy(anvil_url, omit) as url:
        report = audit_proposal(RpcClient(url), anvil_manifest, pid, ProposalAuditOptions(progress=False))
    assert report.kinds() == {"omitted-log"}
