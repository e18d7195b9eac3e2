"""CitizenInitiatives on the deployed suite: versions, signed supports, eligibility, thresholds, windows and the
automatic proposal to CO3Governance."""

from __future__ import annotations

from eth_utils import keccak

from co3chain.contracts.artifacts_dev import artifact
from co3chain.initiative import typed_data as itd
from co3chain.initiative.content import Action, proposal_description
from tests.contracts.suite_helpers import events, reverts, role, send
from tests.initiative.conftest import (
    CITIZENS,
    DAY,
    DEPLOYER,
    ELECTORATE_A,
    ELECTORATE_B,
    RELAYER,
    Chain,
)

A = CITIZENS[:6]  # citizens of PA 1
B = CITIZENS[6:]  # citizens of PA 2
COLLECTING, EXPIRED, QUALIFIED, PROPOSED = 1, 2, 3, 4


def _info(chain: Chain, iid: int) -> dict:
    names = ("author", "version", "status", "mode", "snapshot", "votingPeriod", "openedAt", "deadline",
             "supportCount", "required", "areaId", "electorate", "electorateSize", "textHash", "actionsHash",
             "versionHash", "proposalId")
    return dict(zip(names, chain.ci.functions.getInitiative(iid).call(), strict=True))


def test_content_hash_matches_python_and_versions_are_recorded(chain: Chain) -> None:
    v1 = chain.content("Shed on Sundays", actions=(Action(chain.gov.address, 0, b"\x12\x34"),), electorate=0)
    assert bytes(chain.ci.functions.contentHash(v1.as_tuple()).call()) == v1.content_hash()
    assert bytes(chain.ci.functions.hashActions(v1.targets, v1.values, v1.calldatas).call()) == v1.actions_hash()
    iid = chain.draft(A[0], v1)
    v2 = chain.content("Shed on Sundays and Saturdays", electorate=ELECTORATE_A)
    receipt = send(chain.ci.functions.amend(iid, v2.as_tuple()), A[0])
    versioned = events(chain.ci, receipt, "InitiativeVersioned")
    assert [e["args"]["version"] for e in versioned] == [2]
    assert bytes(versioned[0]["args"]["versionHash"]) == v2.content_hash()
    assert bytes(chain.ci.functions.versionHashOf(iid, 1).call()) == v1.content_hash()
    assert bytes(chain.ci.functions.versionHashOf(iid, 2).call()) == v2.content_hash()
    info = _info(chain, iid)
    assert (info["version"], info["electorate"], bytes(info["versionHash"])) == (2, ELECTORATE_A, v2.content_hash())
    assert chain.ci.functions.actionsOf(iid).call() == [[], [], []]  # v2 dropped v1's action
    assert chain.ci.functions.titleOf(iid).call() == "Shed on Sundays and Saturdays"
    # Only the author amends, and only a draft.
    with reverts("NotAuthor(address,uint256)", A[1].address, iid):
        send(chain.ci.functions.amend(iid, v1.as_tuple()), A[1])
    chain.open(A[0], iid)
    with reverts("UnexpectedStatus(uint256,uint8)", iid, COLLECTING):
        send(chain.ci.functions.amend(iid, v1.as_tuple()), A[0])


def test_drafts_are_checked(chain: Chain) -> None:
    # A citizen of PA 2 cannot start an initiative for PA 1's citizens.
    with reverts("NotEligible(address,uint256)", B[0].address, ELECTORATE_A):
        send(chain.ci.functions.draft(chain.content().as_tuple()), B[0])
    with reverts("UnknownElectorate(uint256)", ELECTORATE_A + 40):
        send(chain.ci.functions.draft(chain.content(electorate=ELECTORATE_A + 40).as_tuple()), A[0])
    good = list(chain.content().as_tuple())
    for index, bad, error in [(0, b"\x00" * 32, "InvalidTextHash()"), (1, "", "InvalidTitle(uint256)"),
                              (1, "x" * 201, "InvalidTitle(uint256)"), (4, 3, "InvalidCountingMode(uint8)"),
                              (5, 0, "InvalidVotingPeriod(uint64)"), (6, [A[0].address], "InvalidActions()"),
                              (6, ["0x" + "00" * 20], "InvalidActions()")]:
        wrong = list(good)
        wrong[index] = bad
        if index == 6:  # one target: values and calldatas to match (only the zero target is wrong then)
            wrong[7], wrong[8] = ([0], [b""]) if int(bad[0], 16) == 0 else ([], [])
        with reverts(error):
            send(chain.ci.functions.draft(tuple(wrong)), A[0])
    # Opening needs the current version's hash.
    iid = chain.draft(A[0], chain.content())
    with reverts("VersionMismatch(uint256,bytes32)"):
        send(chain.ci.functions.open(iid, b"\x01" * 32), A[0])


def test_percentage_threshold_sends_the_initiative_to_vote(chain: Chain) -> None:
    content = chain.content("Free tool library", period=2 * DAY)
    iid = chain.draft(A[0], content)
    chain.open(A[0], iid)
    info = _info(chain, iid)
    # Default threshold: 50 % of PA 1's 6 citizens = 3, fixed into the initiative at opening.
    assert (info["electorateSize"], info["required"], info["status"]) == (6, 3, COLLECTING)
    assert info["deadline"] == info["openedAt"] + 10 * DAY and info["snapshot"] == info["openedAt"] - 1
    chain.support_by_sig(A[1], iid)
    send(chain.ci.functions.support(iid), A[2])  # a citizen with ETH may support directly
    receipt = chain.support_by_sig(A[3], iid)
    proposed = events(chain.ci, receipt, "InitiativeProposed")
    assert len(proposed) == 1 and len(events(chain.ci, receipt, "InitiativeQualified")) == 1
    pid = int(proposed[0]["args"]["proposalId"])
    info = _info(chain, iid)
    assert (info["status"], info["supportCount"], info["proposalId"]) == (PROPOSED, 3, pid)
    # The proposal: made by the initiatives contract, same electorate, starts after the minimum delay.
    created = events(chain.gov, receipt, "ProposalCreated")[0]["args"]
    block_time = int(chain.w3.eth.get_block(receipt["blockNumber"])["timestamp"])
    assert created["proposer"] == chain.ci.address
    assert created["description"] == proposal_description(iid, 1, content.text_hash, content.title)
    assert (created["voteStart"], created["voteEnd"] - created["voteStart"]) == (block_time + 60, 2 * DAY)
    assert chain.gov.functions.proposalElectorate(pid).call() == ELECTORATE_A
    # Qualified: no more supports.
    with reverts("UnexpectedStatus(uint256,uint8)", iid, PROPOSED):
        chain.support_by_sig(A[4], iid)


def test_absolute_threshold_per_electorate_is_fixed_at_opening(chain: Chain) -> None:
    send(chain.ci.functions.setElectorateThreshold(ELECTORATE_B, (0, 2, DAY)), DEPLOYER)
    assert chain.ci.functions.thresholdOf(ELECTORATE_B).call() == [(0, 2, DAY), True]
    assert chain.ci.functions.thresholdOf(ELECTORATE_A).call()[1] is False
    iid = chain.draft(B[0], chain.content(electorate=ELECTORATE_B, period=1))  # period clamped up to 1 hour
    chain.open(B[0], iid)
    assert _info(chain, iid)["required"] == 2
    # A later rule change does not apply to the open initiative.
    send(chain.ci.functions.setElectorateThreshold(ELECTORATE_B, (0, 1, DAY)), DEPLOYER)
    assert chain.support_by_sig(B[0], iid) and _info(chain, iid)["status"] == COLLECTING
    receipt = chain.support_by_sig(B[1], iid)
    created = events(chain.gov, receipt, "ProposalCreated")[0]["args"]
    assert created["voteEnd"] - created["voteStart"] == 3600
    send(chain.ci.functions.clearElectorateThreshold(ELECTORATE_B), DEPLOYER)
    assert chain.ci.functions.thresholdOf(ELECTORATE_B).call() == [(1, 5000, 10 * DAY), False]


def test_supports_are_signed_once_by_eligible_citizens(chain: Chain) -> None:
    iid = chain.draft(A[0], chain.content())
    with reverts("UnexpectedStatus(uint256,uint8)", iid, 0):  # a draft takes no supports
        chain.support_by_sig(A[1], iid)
    chain.open(A[0], iid)
    nonce, deadline, sig = chain.sign_support(A[1], iid)
    send(chain.ci.functions.supportBySig(iid, A[1].address, nonce, deadline, sig), RELAYER)
    # Replay of the same signature: its nonce is used.
    with reverts("InvalidNonce(address,uint256,uint256)", A[1].address, iid, 1):
        send(chain.ci.functions.supportBySig(iid, A[1].address, nonce, deadline, sig), RELAYER)
    # A fresh signature of a citizen who already supported.
    with reverts("AlreadySupported(address,uint256)", A[1].address, iid):
        chain.support_by_sig(A[1], iid)
    # Someone else's signature, another version's hash, an expired deadline, a non-relayer.
    _n, dl, other = chain.sign_support(A[3], iid, nonce=0)
    with reverts("InvalidSignature(address)", A[2].address):
        send(chain.ci.functions.supportBySig(iid, A[2].address, 0, dl, other), RELAYER)
    _n, dl, wrong_version = chain.sign_support(A[2], iid, version=keccak(text="another text"))
    with reverts("InvalidSignature(address)", A[2].address):
        send(chain.ci.functions.supportBySig(iid, A[2].address, 0, dl, wrong_version), RELAYER)
    past = chain.now() - 1
    _n, _dl, expired = chain.sign_support(A[2], iid, deadline=past)
    with reverts("ExpiredSignature(uint256)", past):
        send(chain.ci.functions.supportBySig(iid, A[2].address, 0, past, expired), RELAYER)
    nonce, deadline, sig = chain.sign_support(A[2], iid)
    with reverts("AccessControlUnauthorizedAccount(address,bytes32)", A[2].address, role("RELAYER_ROLE")):
        send(chain.ci.functions.supportBySig(iid, A[2].address, nonce, deadline, sig), A[2])
    # A signature for this contract is worthless on another chain id (domain binding).
    typed = itd.support_typed_data(chain.chain_id + 1, chain.ci.address, initiative_id=iid,
                                   version_hash=bytes(_info(chain, iid)["versionHash"]), supporter=A[2].address,
                                   nonce=0, deadline=deadline)
    with reverts("InvalidSignature(address)", A[2].address):
        send(chain.ci.functions.supportBySig(iid, A[2].address, 0, deadline, itd.sign(A[2].key, typed)), RELAYER)
    # Citizens of another PA are not in the electorate.
    with reverts("NotEligible(address,uint256)", B[0].address, ELECTORATE_A):
        chain.support_by_sig(B[0], iid)
    assert chain.ci.functions.isEligibleSupporter(iid, B[0].address).call() is False
    assert chain.ci.functions.isEligibleSupporter(iid, A[4].address).call() is True
    assert _info(chain, iid)["supportCount"] == 1


def test_citizen_registered_after_the_snapshot_cannot_support(chain: Chain) -> None:
    from eth_account import Account

    iid = chain.draft(A[0], chain.content())
    chain.open(A[0], iid)
    late = Account.from_key(keccak(text="initiative test late citizen"))
    send(chain.registry.functions.register(late.address, keccak(text="late"), chain.now() + DAY * 100), DEPLOYER)
    with reverts("NotEligible(address,uint256)", late.address, ELECTORATE_A):
        chain.support_by_sig(late, iid)


def test_expired_initiative_cannot_go_to_vote(chain: Chain) -> None:
    iid = chain.draft(A[0], chain.content())
    chain.open(A[0], iid)
    chain.support_by_sig(A[1], iid)
    chain.support_by_sig(A[2], iid)
    chain.travel(_info(chain, iid)["deadline"] + 2)  # views read the latest block: mined at t - 1
    assert chain.ci.functions.status(iid).call() == EXPIRED
    with reverts("UnexpectedStatus(uint256,uint8)", iid, EXPIRED):
        chain.support_by_sig(A[3], iid)
    with reverts("UnexpectedStatus(uint256,uint8)", iid, EXPIRED):
        send(chain.ci.functions.submitToVote(iid), A[0])


def test_initiative_with_actions_is_proposed_with_them(chain: Chain) -> None:
    call = bytes.fromhex(chain.gov.encode_abi("setQuorumNumerator", args=[20])[2:])
    content = chain.content("Raise the quorum", electorate=0, actions=(Action(chain.gov.address, 0, call),))
    send(chain.ci.functions.setDefaultThreshold((0, 2, DAY)), DEPLOYER)
    iid = chain.draft(A[0], content)
    chain.open(A[0], iid)
    chain.support_by_sig(B[0], iid)  # the consortium electorate: both PAs' citizens
    receipt = chain.support_by_sig(A[1], iid)
    pid = int(events(chain.ci, receipt, "InitiativeProposed")[0]["args"]["proposalId"])
    actions = events(chain.gov, receipt, "ProposalActions")[0]["args"]
    assert (actions["targets"], actions["values"], [bytes(c) for c in actions["calldatas"]]) == (
        [chain.gov.address], [0], [call])
    assert bytes(chain.gov.functions.proposalActions(pid).call()[0]) == content.actions_hash()


def test_refused_proposal_keeps_the_initiative_qualified_until_a_retry(chain: Chain) -> None:
    area_contract = chain.w3.eth.contract(address=chain.manifest["contracts"]["CommoningAreas"]["address"],
                                          abi=artifact("CommoningAreas")["abi"])
    next_area = int(area_contract.functions.areaCount().call()) + 1
    send(chain.ci.functions.setDefaultThreshold((0, 1, DAY)), DEPLOYER)
    iid = chain.draft(A[0], chain.content(area=next_area))  # that area does not exist yet
    chain.open(A[0], iid)
    receipt = chain.support_by_sig(A[1], iid)
    failed = events(chain.ci, receipt, "InitiativeProposalFailed")
    assert failed and not events(chain.ci, receipt, "InitiativeProposed")
    assert chain.ci.functions.status(iid).call() == QUALIFIED
    # The area is created; anyone retries and the initiative goes to vote.
    send(area_contract.functions.createArea(DEPLOYER.address, b"\x01" * 32, "ipfs://area"), DEPLOYER)
    receipt = send(chain.ci.functions.submitToVote(iid), B[0])
    assert events(chain.ci, receipt, "InitiativeProposed")
    assert chain.ci.functions.status(iid).call() == PROPOSED


def test_thresholds_are_the_admins_and_checked(chain: Chain) -> None:
    with reverts("AccessControlUnauthorizedAccount(address,bytes32)", A[0].address, b"\x00" * 32):
        send(chain.ci.functions.setDefaultThreshold((0, 1, DAY)), A[0])
    for bad in [(0, 0, DAY), (1, 10_001, DAY), (1, 100, 59), (0, 1, 366 * DAY)]:
        with reverts("InvalidThreshold()"):
            send(chain.ci.functions.setDefaultThreshold(bad), DEPLOYER)


def test_author_steps_by_signature(chain: Chain) -> None:
    author = A[0]
    content = chain.content("Signed draft")
    deadline = chain.now() + 3600
    typed = itd.draft_typed_data(chain.chain_id, chain.ci.address, content_hash=content.content_hash(),
                                 author=author.address, nonce=0, deadline=deadline)
    receipt = send(chain.ci.functions.draftBySig(content.as_tuple(), author.address, 0, deadline,
                                                 itd.sign(author.key, typed)), RELAYER)
    iid = int(events(chain.ci, receipt, "InitiativeDrafted")[0]["args"]["initiativeId"])
    assert _info(chain, iid)["author"] == author.address
    # The relayer cannot change the content the author signed.
    other = chain.content("Tampered draft")
    typed = itd.draft_typed_data(chain.chain_id, chain.ci.address, content_hash=content.content_hash(),
                                 author=author.address, nonce=1, deadline=deadline)
    with reverts("InvalidSignature(address)", author.address):
        send(chain.ci.functions.draftBySig(other.as_tuple(), author.address, 1, deadline, itd.sign(author.key, typed)),
             RELAYER)
    v2 = chain.content("Signed amendment")
    typed = itd.amend_typed_data(chain.chain_id, chain.ci.address, initiative_id=iid, content_hash=v2.content_hash(),
                                 author=author.address, nonce=0, deadline=deadline)
    send(chain.ci.functions.amendBySig(iid, v2.as_tuple(), author.address, 0, deadline, itd.sign(author.key, typed)),
         RELAYER)
    typed = itd.open_typed_data(chain.chain_id, chain.ci.address, initiative_id=iid, version_hash=v2.content_hash(),
                                author=author.address, nonce=1, deadline=deadline)
    send(chain.ci.functions.openBySig(iid, v2.content_hash(), author.address, 1, deadline,
                                      itd.sign(author.key, typed)), RELAYER)
    assert chain.ci.functions.status(iid).call() == COLLECTING
    # The support digest the contract exposes equals the Python one.
    version = bytes(_info(chain, iid)["versionHash"])
    typed = itd.support_typed_data(chain.chain_id, chain.ci.address, initiative_id=iid, version_hash=version,
                                   supporter=A[1].address, nonce=0, deadline=deadline)
    assert bytes(chain.ci.functions.supportDigest(iid, A[1].address, 0, deadline).call()) == itd.digest(typed)


def test_too_little_gas_cannot_leave_the_initiative_qualified_without_a_proposal(chain: Chain) -> None:
    """EIP-150 griefing: the qualifying support's sender picks a gas limit at which the inner proposeFor call would
    run out of gas while the support succeeds. The contract checks the gas it forwards first, so such a
    transaction reverts as a whole (nothing recorded) and the next support with enough gas proposes."""
    send(chain.ci.functions.setDefaultThreshold((0, 1, DAY)), DEPLOYER)
    iid = chain.draft(A[0], chain.content())
    chain.open(A[0], iid)
    fn = chain.ci.functions.support(iid)
    enough = fn.estimate_gas({"from": A[1].address})
    assert enough > int(chain.ci.functions.PROPOSE_GAS().call())
    for gas in (enough * 2 // 3, enough - 50_000):
        tx_hash = fn.transact({"from": A[1].address, "gas": gas})
        assert chain.w3.eth.wait_for_transaction_receipt(tx_hash)["status"] == 0
        assert (chain.ci.functions.status(iid).call(), _info(chain, iid)["supportCount"]) == (COLLECTING, 0)
    receipt = chain.w3.eth.wait_for_transaction_receipt(fn.transact({"from": A[1].address, "gas": enough}))
    assert receipt["status"] == 1 and chain.ci.functions.status(iid).call() == PROPOSED
