"""CO3Governance: proposals, roles, counting modes, signed votes, quorum checkpoints and commit–reveal.

Every revert assertion names the custom error (and its arguments where they are deterministic), so a test
fails if the contract rejects a call for another reason than the one under test. Time is moved with
eth-tester's ``time_travel``; voting opens strictly after ``voteStart`` (the snapshot).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from eth_abi import encode as abi_encode
from eth_account import Account
from web3 import Web3
from web3.contract import Contract

from co3chain.contracts import compiler
from co3chain.contracts.artifacts_dev import artifact
from co3chain.contracts.governance_typed_data import (
    CountingMode,
    ProposalState,
    Support,
    TypedDataError,
    ballot_typed_data,
    commitment_typed_data,
    proposal_id,
    recover_signer,
    sign_ballot,
    sign_commitment,
    sign_typed,
    typed_data_digest,
    vote_commitment,
)
from co3chain.privacy.revocation import RevocationReason
from tests.contracts.suite_helpers import (
    ADMIN_ROLE,
    events,
    latest_time,
    reverts,
    role,
    send,
)

PROPOSER = role("PROPOSER_ROLE")
RELAYER = role("RELAYER_ROLE")
HALF_LIFE = 30 * 24 * 3600
YEAR = 365 * 24 * 3600
DAY = 24 * 3600
ZERO = "0x" + "00" * 20
UNAUTHORIZED = "AccessControlUnauthorizedAccount(address,bytes32)"
STATE_ERROR = "UnexpectedProposalState(uint256,uint8)"

OCOV = CountingMode.ONE_CITIZEN_ONE_VOTE
TOKEN = CountingMode.TOKEN_WEIGHTED
REPUTATION = CountingMode.REPUTATION_WEIGHTED
AGAINST, FOR, ABSTAIN = Support.AGAINST, Support.FOR, Support.ABSTAIN


def voter_key(tag: str, n: int) -> bytes:
    """Deterministic private key of an unfunded voter (voters only sign; the relayer pays gas)."""
    return bytes(Web3.keccak(text=f"co3-gov-voter-{tag}-{n}"))


def area_domain(area_id: int) -> bytes:
    return area_id.to_bytes(32, "big")


@dataclass
class Gov:
    """Deployed suite plus governance, with actors and small helpers to move time and vote."""

    w3: Web3
    tester: Any
    admin: Any
    registrar: Any
    pa: Any  # managing PA of area 1 (no PROPOSER_ROLE)
    pa2: Any  # consortium PA holding PROPOSER_ROLE
    relayer: Any
    citizens: list[Any]  # funded accounts, registered citizens
    registry: Contract
    areas: Contract
    token: Contract
    reputation: Contract
    gov: Contract
    area_id: int
    timelock: Contract

    @property
    def chain_id(self) -> int:
        return int(self.w3.eth.chain_id)

    def now(self) -> int:
        return latest_time(self.w3)

    def goto(self, timestamp: int) -> None:
        """Mine a block at ``timestamp``: views then see it, the next transaction runs just after it."""
        self.tester.time_travel(timestamp)
        self.tester.mine_blocks(1)
        assert self.now() == timestamp

    def register(self, address: str, n: int) -> None:
        ident = bytes(Web3.keccak(text=f"gov-identity-{address}-{n}"))
        send(self.registry.functions.register(address, ident, self.now() + YEAR), self.registrar)

    def propose(
        self,
        *,
        area_id: int = 0,
        mode: int = OCOV,
        commit_reveal: bool = False,
        start_in: int = 100,
        duration: int = DAY,
        reveal: int = DAY,
        description: str = "proposal",
        sender: Any = None,
    ) -> tuple[int, int, int, int]:
        """Create a proposal; returns (id, voteStart, voteEnd, revealEnd)."""
        sender = sender or self.pa2
        start = self.now() + start_in
        end = start + duration
        reveal_end = end + reveal if commit_reveal else 0
        fn = self.gov.functions.propose(area_id, mode, commit_reveal, start, end, reveal_end, description)
        receipt = send(fn, sender)
        (ev,) = events(self.gov, receipt, "ProposalCreated")
        return ev.args.proposalId, start, end, reveal_end

    def vote_by_sig(self, key: bytes, pid: int, support: int, nonce: int | None = None) -> dict[str, Any]:
        voter = Account.from_key(key).address
        nonce = self.gov.functions.nonces(voter, pid).call() if nonce is None else nonce
        sig = sign_ballot(key, self.chain_id, self.gov.address, proposal_id=pid, support=support, nonce=nonce)
        return send(self.gov.functions.castVoteBySig(pid, support, voter, nonce, sig), self.relayer)

    def votes(self, pid: int) -> tuple[int, int, int]:
        return tuple(self.gov.functions.proposalVotes(pid).call())

    def state(self, pid: int) -> ProposalState:
        return ProposalState(self.gov.functions.state(pid).call())


TIMELOCK_DELAY = 2 * DAY


def _constructor_arity(name: str) -> int:
    return next(len(i["inputs"]) for i in artifact(name)["abi"] if i["type"] == "constructor")


def build_gov(w3: Web3, tester: Any, accounts: list[Any], deploy: Any) -> Gov:
    """Deploy registry, areas, token, reputation and governance with the roles the tests need."""
    admin, registrar, pa, pa2, relayer = accounts[:5]
    registry = deploy("CitizenRegistry", admin.address, sender=admin)
    areas = deploy("CommoningAreas", admin.address, sender=admin)
    token = deploy("CommonsToken", admin.address, sender=admin)
    reputation = deploy("Reputation", admin.address, HALF_LIFE, sender=admin)
    timelock = deploy("ConsortiumTimelock", TIMELOCK_DELAY, [], [ZERO], admin.address, sender=admin)
    gov_args = [admin.address, registry.address, token.address, reputation.address, areas.address]
    if _constructor_arity("CO3Governance") == 6:  # (lets the defect tests run against the pre-timelock contract)
        gov_args.append(timelock.address)
    gov = deploy("CO3Governance", *gov_args, sender=admin)
    if _constructor_arity("CO3Governance") == 6:
        send(timelock.functions.grantRole(role("PROPOSER_ROLE"), gov.address), admin)
        # Tests pick their own windows; the bounds have their own tests.
        send(gov.functions.setVotingBounds((0, 2**40, 1, 2**40)), admin)
    send(registry.functions.grantRole(role("REGISTRAR_ROLE"), registrar.address), admin)
    if "setAccountPa" in {i.get("name") for i in artifact("CitizenRegistry")["abi"]}:
        # PA 1: the registrar's and the area manager's; pa2's own PA is 2 (a consortium proposer).
        for account, pa_id in ((registrar, 1), (pa, 1), (pa2, 2)):
            send(registry.functions.setAccountPa(account.address, pa_id), admin)
    send(areas.functions.grantRole(role("AREA_MANAGER_ROLE"), admin.address), admin)
    send(token.functions.grantRole(role("MINTER_ROLE"), admin.address), admin)
    send(reputation.functions.grantRole(role("REWARDER_ROLE"), admin.address), admin)
    send(gov.functions.grantRole(PROPOSER, pa2.address), admin)
    send(gov.functions.grantRole(RELAYER, relayer.address), admin)
    receipt = send(areas.functions.createArea(pa.address, b"\x11" * 32, "ipfs://area-1"), admin)
    area_id = areas.events.AreaCreated().process_receipt(receipt)[0].args.areaId
    env = Gov(
        w3,
        tester,
        admin,
        registrar,
        pa,
        pa2,
        relayer,
        list(accounts[5:]),
        registry,
        areas,
        token,
        reputation,
        gov,
        area_id,
        timelock,
    )
    for i, citizen in enumerate(env.citizens):
        env.register(citizen.address, i)
    return env


@pytest.fixture
def g(w3: Web3, tester: Any, accounts: list[Any], deploy: Any) -> Gov:
    return build_gov(w3, tester, accounts, deploy)


# ---------------------------------------------------------------------------------------------- deployment


def test_metadata_and_initial_quorum(g: Gov) -> None:
    gov = g.gov
    assert gov.functions.CLOCK_MODE().call() == "mode=timestamp"
    assert gov.functions.clock().call() == g.now()
    assert gov.functions.quorumNumerator().call() == 10
    assert gov.functions.QUORUM_DENOMINATOR().call() == 100
    assert gov.functions.hasRole(ADMIN_ROLE, g.admin.address).call()
    assert gov.functions.registry().call() == g.registry.address
    assert gov.functions.token().call() == g.token.address
    assert gov.functions.reputation().call() == g.reputation.address
    assert gov.functions.areas().call() == g.areas.address
    assert gov.functions.BALLOT_TYPEHASH().call() == Web3.keccak(
        text="Ballot(uint256 proposalId,uint8 support,address voter,uint256 nonce)"
    )
    assert gov.functions.COMMITMENT_TYPEHASH().call() == Web3.keccak(
        text="Commitment(uint256 proposalId,bytes32 commitment,address voter,uint256 nonce)"
    )
    domain = ballot_typed_data(g.chain_id, gov.address, proposal_id=1, support=1, voter=ZERO, nonce=0)[
        "domain"
    ]
    fields = gov.functions.eip712Domain().call()
    assert (fields[1], fields[2], fields[3], fields[4]) == (
        domain["name"],
        domain["version"],
        domain["chainId"],
        domain["verifyingContract"],
    )


def test_constructor_rejects_zero_addresses(g: Gov, deploy: Any) -> None:
    args = [g.admin.address, g.registry.address, g.token.address, g.reputation.address, g.areas.address,
            g.timelock.address]
    for i in range(len(args)):
        bad = list(args)
        bad[i] = ZERO
        with reverts("ZeroAddress()"):
            deploy("CO3Governance", *bad, sender=g.admin)


_MOCKS_SOURCE = """// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// A source of weights on the block-number clock (the ERC-6372 default), which governance must refuse.
contract BlockNumberClock {
    function CLOCK_MODE() external pure returns (string memory) { return "mode=blocknumber&from=default"; }
}

/// A minimal ERC-1271 smart wallet: valid signatures are the owner's ECDSA signatures over the hash.
contract OwnerWallet {
    address public immutable owner;
    constructor(address owner_) { owner = owner_; }
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        if (signature.length != 65) return 0xffffffff;
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        return ecrecover(hash, v, r, s) == owner ? bytes4(0x1626ba7e) : bytes4(0xffffffff);
    }
}
"""


def deploy_mock(w3: Web3, name: str, *args: Any, sender: Any) -> str:
    """Compile the inline test mocks with the project's pinned solcjs and deploy ``name``; returns its address."""
    output = compiler.run_solcjs(compiler.standard_json_input({"GovernanceMocks.sol": _MOCKS_SOURCE}))
    out = output["contracts"]["GovernanceMocks.sol"][name]
    factory = w3.eth.contract(abi=out["abi"], bytecode=out["evm"]["bytecode"]["object"])
    tx = factory.constructor(*args).transact({"from": sender.address})
    receipt = w3.eth.wait_for_transaction_receipt(tx)
    assert receipt["status"] == 1
    return receipt["contractAddress"]


def test_constructor_rejects_sources_on_another_clock(w3: Web3, g: Gov) -> None:
    """OZ #5346: a governor and a token on different clocks read weights at meaningless timepoints."""
    other = deploy_mock(w3, "BlockNumberClock", sender=g.admin)
    factory = w3.eth.contract(abi=g.gov.abi, bytecode=artifact("CO3Governance")["bytecode"])
    for position in (1, 2, 3):
        args = [g.admin.address, g.registry.address, g.token.address, g.reputation.address, g.areas.address,
                g.timelock.address]
        args[position] = other
        with reverts("ClockModeMismatch(address)", other):
            factory.constructor(*args).transact({"from": g.admin.address})


# ---------------------------------------------------------------------------------------------- proposing


def test_propose_emits_event_and_binds_proposer(g: Gov) -> None:
    start, end = g.now() + 50, g.now() + 50 + DAY
    fn = g.gov.functions.propose(0, TOKEN, False, start, end, 0, "Fund the community garden")
    receipt = send(fn, g.pa2)
    (ev,) = events(g.gov, receipt, "ProposalCreated")
    expected_id = proposal_id(g.pa2.address, 0, TOKEN, False, start, end, 0, "Fund the community garden")
    assert ev.args.proposalId == expected_id
    assert dict(ev.args) == {
        "proposalId": expected_id,
        "proposer": g.pa2.address,
        "areaId": 0,
        "mode": TOKEN,
        "commitReveal": False,
        "voteStart": start,
        "voteEnd": end,
        "revealEnd": 0,
        "quorumNumerator": 10,
        "description": "Fund the community garden",
    }
    assert (
        g.gov.functions.hashProposal(
            g.pa2.address, 0, TOKEN, False, start, end, 0, "Fund the community garden"
        ).call()
        == expected_id
    )
    stored = g.gov.functions.getProposal(expected_id).call()
    assert tuple(stored) == (g.pa2.address, start, end, 0, TOKEN, False, False, 0)
    assert g.state(expected_id) == ProposalState.PENDING
    # Same parameters from the same proposer: rejected; from another proposer: a different id (no front-run).
    with reverts("ProposalExists(uint256)", expected_id):
        fn.transact({"from": g.pa2.address})
    send(g.gov.functions.grantRole(PROPOSER, g.citizens[0].address), g.admin)
    receipt = send(fn, g.citizens[0])
    (other,) = events(g.gov, receipt, "ProposalCreated")
    assert other.args.proposalId != expected_id
    assert other.args.proposalId == proposal_id(
        g.citizens[0].address, 0, TOKEN, False, start, end, 0, "Fund the community garden"
    )


def test_propose_roles(g: Gov) -> None:
    start, end = g.now() + 50, g.now() + 50 + DAY
    # Consortium-wide needs PROPOSER_ROLE: the area manager and the admin do not have it.
    for account in (g.pa, g.admin, g.citizens[0]):
        with reverts("UnauthorizedProposer(address,uint256)", account.address, 0):
            g.gov.functions.propose(0, OCOV, False, start, end, 0, "x").transact({"from": account.address})
    # An area proposal: its managing PA may propose, as may a PROPOSER_ROLE holder; others may not.
    send(g.gov.functions.propose(g.area_id, OCOV, False, start, end, 0, "by manager"), g.pa)
    send(g.gov.functions.propose(g.area_id, OCOV, False, start, end, 0, "by consortium PA"), g.pa2)
    with reverts("UnauthorizedProposer(address,uint256)", g.citizens[0].address, g.area_id):
        g.gov.functions.propose(g.area_id, OCOV, False, start, end, 0, "x").transact(
            {"from": g.citizens[0].address}
        )
    # The manager of area 1 is not the manager of area 2.
    receipt = send(g.areas.functions.createArea(g.pa2.address, b"\x22" * 32, "ipfs://area-2"), g.admin)
    area2 = g.areas.events.AreaCreated().process_receipt(receipt)[0].args.areaId
    with reverts("UnauthorizedProposer(address,uint256)", g.pa.address, area2):
        g.gov.functions.propose(area2, OCOV, False, start, end, 0, "x").transact({"from": g.pa.address})


def test_propose_area_checks(g: Gov) -> None:
    start, end = g.now() + 50, g.now() + 50 + DAY
    with reverts("UnknownArea(uint256)", 99):
        g.gov.functions.propose(99, OCOV, False, start, end, 0, "x").transact({"from": g.pa2.address})
    send(g.areas.functions.closeArea(g.area_id), g.pa)
    with reverts("AreaClosed(uint256)", g.area_id):
        g.gov.functions.propose(g.area_id, OCOV, False, start, end, 0, "x").transact({"from": g.pa.address})


def test_propose_validates_mode_and_windows(g: Gov) -> None:
    now = g.now()
    propose = g.gov.functions.propose

    def bad_window(cr: bool, start: int, end: int, reveal_end: int) -> None:
        with reverts("InvalidVotingWindow(uint64,uint64,uint64)", start, end, reveal_end):
            propose(0, OCOV, cr, start, end, reveal_end, "x").transact({"from": g.pa2.address})

    with reverts("InvalidCountingMode(uint8)", 3):
        propose(0, 3, False, now + 10, now + 20, 0, "x").transact({"from": g.pa2.address})
    # The next transaction runs at now + 1: a start at `now` is in the past.
    bad_window(False, now, now + 20, 0)
    bad_window(False, now + 10, now + 10, 0)  # empty voting window
    bad_window(False, now + 10, now + 5, 0)
    bad_window(False, now + 10, now + 20, now + 30)  # revealEnd only with commit–reveal
    bad_window(True, now + 10, now + 20, now + 20)  # empty reveal window
    bad_window(True, now + 10, now + 20, 0)
    bad_window(False, now + 10, 2**48, 0)  # beyond the uint48 clock
    bad_window(True, now + 10, now + 20, 2**48)
    # The boundary that is allowed: voteStart equal to the block timestamp of the proposing transaction.
    g.tester.time_travel(now + 100)
    send(propose(0, OCOV, False, now + 100, now + 200, 0, "x"), g.pa2)


def test_unknown_proposal(g: Gov) -> None:
    for call in (
        g.gov.functions.state(123),
        g.gov.functions.proposalVotes(123),
        g.gov.functions.quorum(123),
        g.gov.functions.getProposal(123),
    ):
        with reverts("UnknownProposal(uint256)", 123):
            call.call()
    with reverts("UnknownProposal(uint256)", 123):
        g.gov.functions.castVote(123, FOR).transact({"from": g.citizens[0].address})
    with reverts("UnknownProposal(uint256)", 123):
        g.gov.functions.cancel(123).transact({"from": g.admin.address})


# ---------------------------------------------------------------------------------------------- cancel


def test_cancel_by_proposer_only_before_start(g: Gov) -> None:
    pid, start, _, _ = g.propose(description="a")
    with reverts("UnauthorizedCanceler(address,uint256)", g.citizens[0].address, pid):
        g.gov.functions.cancel(pid).transact({"from": g.citizens[0].address})
    # Another PROPOSER_ROLE holder is not the proposer.
    send(g.gov.functions.grantRole(PROPOSER, g.pa.address), g.admin)
    with reverts("UnauthorizedCanceler(address,uint256)", g.pa.address, pid):
        g.gov.functions.cancel(pid).transact({"from": g.pa.address})
    receipt = send(g.gov.functions.cancel(pid), g.pa2)
    assert [e.args.proposalId for e in events(g.gov, receipt, "ProposalCanceled")] == [pid]
    assert g.state(pid) == ProposalState.CANCELED
    with reverts(STATE_ERROR, pid, ProposalState.CANCELED):
        g.gov.functions.cancel(pid).transact({"from": g.pa2.address})
    g.goto(start + 1)
    with reverts(STATE_ERROR, pid, ProposalState.CANCELED):
        g.gov.functions.castVote(pid, FOR).transact({"from": g.citizens[0].address})

    # The admin (the timelock after deploy) cannot cancel: only the proposer, or the guardian with a reason.
    pid2, start2, _, _ = g.propose(description="b")
    with reverts("UnauthorizedCanceler(address,uint256)", g.admin.address, pid2):
        g.gov.functions.cancel(pid2).transact({"from": g.admin.address})

    pid3, start3, _, _ = g.propose(description="c")
    g.goto(start3 + 1)
    with reverts(STATE_ERROR, pid3, ProposalState.ACTIVE):
        g.gov.functions.cancel(pid3).transact({"from": g.pa2.address})


# ---------------------------------------------------------------------------------------------- one citizen one vote


def test_one_citizen_one_vote_lifecycle(g: Gov) -> None:
    alice, bob, carol, dave, outsider = g.citizens
    pid, start, end, _ = g.propose()
    with reverts(STATE_ERROR, pid, ProposalState.PENDING):
        g.gov.functions.castVote(pid, FOR).transact({"from": alice.address})
    with reverts("SnapshotNotReached(uint256,uint64)", pid, start):
        g.gov.functions.quorum(pid).call()
    # Registered before the proposal, revoked before voting: not eligible any more.
    send(g.registry.functions.revoke(dave.address, RevocationReason.ELIGIBILITY_ENDED), g.registrar)
    g.goto(start + 1)
    assert g.state(pid) == ProposalState.ACTIVE
    receipt = send(g.gov.functions.castVote(pid, FOR), alice)
    (ev,) = events(g.gov, receipt, "VoteCast")
    assert (ev.args.voter, ev.args.proposalId, ev.args.support, ev.args.weight) == (
        alice.address,
        pid,
        FOR,
        1,
    )
    assert g.gov.functions.hasVoted(pid, alice.address).call()
    assert not g.gov.functions.hasVoted(pid, bob.address).call()
    send(g.gov.functions.castVote(pid, AGAINST), bob)
    send(g.gov.functions.castVote(pid, ABSTAIN), carol)
    assert g.votes(pid) == (1, 1, 1)
    with reverts("AlreadyVoted(address,uint256)", alice.address, pid):
        g.gov.functions.castVote(pid, AGAINST).transact({"from": alice.address})
    with reverts("InvalidSupport(uint8)", 3):
        g.gov.functions.castVote(pid, 3).transact({"from": outsider.address})
    with reverts("NoVotingWeight(address,uint256)", dave.address, pid):
        g.gov.functions.castVote(pid, FOR).transact({"from": dave.address})
    with reverts("NoVotingWeight(address,uint256)", g.admin.address, pid):
        g.gov.functions.castVote(pid, FOR).transact({"from": g.admin.address})
    with reverts("WrongVotingMethod(uint256,bool)", pid, False):
        g.gov.functions.commitVote(pid, b"\x01" * 32).transact({"from": outsider.address})
    # Citizens at the snapshot: 5 registered, dave revoked → 4; quorum = ceil(10% of 4) = 1.
    assert g.gov.functions.quorum(pid).call() == 1
    g.goto(end)
    assert g.state(pid) == ProposalState.ACTIVE  # voteEnd is the last voting second
    g.goto(end + 1)
    with reverts(STATE_ERROR, pid, ProposalState.DEFEATED):
        g.gov.functions.castVote(pid, FOR).transact({"from": outsider.address})
    assert g.state(pid) == ProposalState.DEFEATED  # quorum reached but For == Against


def test_citizen_registered_after_snapshot_cannot_vote(g: Gov) -> None:
    pid, start, _, _ = g.propose()
    with reverts("SnapshotNotReached(uint256,uint64)", pid, start):
        g.gov.functions.getVotes(pid, g.citizens[0].address).call()
    g.goto(start + 1)
    late = Account.from_key(voter_key("late", 0))
    g.register(late.address, 0)
    assert g.gov.functions.getVotes(pid, late.address).call() == 0
    assert g.gov.functions.getVotes(pid, g.citizens[0].address).call() == 1
    with reverts("NoVotingWeight(address,uint256)", late.address, pid):
        g.vote_by_sig(voter_key("late", 0), pid, FOR)


def test_citizen_expired_after_snapshot_cannot_vote(g: Gov) -> None:
    key = voter_key("expiring", 0)
    voter = Account.from_key(key).address
    ident = bytes(Web3.keccak(text="expiring identity"))
    send(g.registry.functions.register(voter, ident, g.now() + 150), g.registrar)
    pid, start, _, _ = g.propose()
    assert start < g.now() + 150
    g.goto(g.now() + 151)
    assert not g.registry.functions.isCitizen(voter).call()
    with reverts("NoVotingWeight(address,uint256)", voter, pid):
        g.vote_by_sig(key, pid, FOR)


def test_revoked_then_reregistered_citizen_is_not_eligible_for_older_snapshots(g: Gov) -> None:
    alice = g.citizens[0]
    pid, start, _, _ = g.propose()
    record = g.registry.functions.getCitizen(alice.address).call()
    g.goto(start + 1)
    send(g.registry.functions.revoke(alice.address, RevocationReason.REGISTRATION_ERROR), g.registrar)
    send(g.registry.functions.register(alice.address, record[0], g.now() + YEAR), g.registrar)
    assert g.registry.functions.isCitizen(alice.address).call()
    with reverts("NoVotingWeight(address,uint256)", alice.address, pid):
        g.gov.functions.castVote(pid, FOR).transact({"from": alice.address})


# ---------------------------------------------------------------------------------------------- signed votes


def test_cast_vote_by_sig_requires_relayer(g: Gov) -> None:
    key = voter_key("sig", 0)
    voter = Account.from_key(key).address
    g.register(voter, 0)
    pid, start, _, _ = g.propose()
    g.goto(start + 1)
    sig = sign_ballot(key, g.chain_id, g.gov.address, proposal_id=pid, support=FOR, nonce=0)
    for caller in (g.citizens[0], g.admin):
        with reverts(UNAUTHORIZED, caller.address, RELAYER):
            g.gov.functions.castVoteBySig(pid, FOR, voter, 0, sig).transact({"from": caller.address})
    receipt = send(g.gov.functions.castVoteBySig(pid, FOR, voter, 0, sig), g.relayer)
    (ev,) = events(g.gov, receipt, "VoteCast")
    assert (ev.args.voter, ev.args.support, ev.args.weight) == (voter, FOR, 1)
    assert g.gov.functions.nonces(voter, pid).call() == 1


def test_signature_replay_and_tampering(g: Gov, deploy: Any) -> None:
    key = voter_key("replay", 0)
    voter = Account.from_key(key).address
    g.register(voter, 0)
    pid_a, _, _, _ = g.propose(description="A")
    pid_b, start, _, _ = g.propose(description="B")
    g.goto(start + 1)
    sig_a = sign_ballot(key, g.chain_id, g.gov.address, proposal_id=pid_a, support=FOR, nonce=0)
    relay = g.gov.functions.castVoteBySig

    # Tampered fields: support or voter changed → the signature no longer matches.
    with reverts("InvalidSignature(address)", voter):
        relay(pid_a, AGAINST, voter, 0, sig_a).transact({"from": g.relayer.address})
    other = g.citizens[0].address
    with reverts("InvalidSignature(address)", other):
        relay(pid_a, FOR, other, 0, sig_a).transact({"from": g.relayer.address})
    # Signature for proposal A replayed on proposal B (same nonce 0).
    with reverts("InvalidSignature(address)", voter):
        relay(pid_b, FOR, voter, 0, sig_a).transact({"from": g.relayer.address})
    # Signatures bound to another chain id or another governance contract.
    for chain_id, contract in ((g.chain_id + 1, g.gov.address), (g.chain_id, g.registry.address)):
        sig = sign_ballot(key, chain_id, contract, proposal_id=pid_a, support=FOR, nonce=0)
        with reverts("InvalidSignature(address)", voter):
            relay(pid_a, FOR, voter, 0, sig).transact({"from": g.relayer.address})
    # Garbage and malleable (high-s) signatures.
    with reverts("InvalidSignature(address)", voter):
        relay(pid_a, FOR, voter, 0, b"\x01" * 65).transact({"from": g.relayer.address})
    r, s, v = sig_a[:32], int.from_bytes(sig_a[32:64], "big"), sig_a[64]
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    malleable = r + (n - s).to_bytes(32, "big") + bytes([55 - v])
    with reverts("InvalidSignature(address)", voter):
        relay(pid_a, FOR, voter, 0, malleable).transact({"from": g.relayer.address})
    # Future nonce.
    sig_n1 = sign_ballot(key, g.chain_id, g.gov.address, proposal_id=pid_a, support=FOR, nonce=1)
    with reverts("InvalidNonce(address,uint256,uint256)", voter, pid_a, 0):
        relay(pid_a, FOR, voter, 1, sig_n1).transact({"from": g.relayer.address})

    send(relay(pid_a, FOR, voter, 0, sig_a), g.relayer)
    # Replay of the same signature after its nonce was used.
    with reverts("InvalidNonce(address,uint256,uint256)", voter, pid_a, 1):
        relay(pid_a, FOR, voter, 0, sig_a).transact({"from": g.relayer.address})
    # Even with a fresh nonce the voter cannot vote twice.
    with reverts("AlreadyVoted(address,uint256)", voter, pid_a):
        relay(
            pid_a,
            AGAINST,
            voter,
            1,
            sign_ballot(key, g.chain_id, g.gov.address, proposal_id=pid_a, support=AGAINST, nonce=1),
        ).transact({"from": g.relayer.address})
    assert g.votes(pid_a) == (0, 1, 0)


def test_relayer_role_can_be_revoked(g: Gov) -> None:
    key = voter_key("revoked-relayer", 0)
    voter = Account.from_key(key).address
    g.register(voter, 0)
    pid, start, _, _ = g.propose()
    g.goto(start + 1)
    send(g.gov.functions.revokeRole(RELAYER, g.relayer.address), g.admin)
    sig = sign_ballot(key, g.chain_id, g.gov.address, proposal_id=pid, support=FOR, nonce=0)
    with reverts(UNAUTHORIZED, g.relayer.address, RELAYER):
        g.gov.functions.castVoteBySig(pid, FOR, voter, 0, sig).transact({"from": g.relayer.address})
    # The signature is still usable by another relayer the admin appoints.
    send(g.gov.functions.grantRole(RELAYER, g.pa2.address), g.admin)
    send(g.gov.functions.castVoteBySig(pid, FOR, voter, 0, sig), g.pa2)
    assert g.votes(pid) == (0, 1, 0)


def test_smart_wallet_voter_signs_with_erc1271(w3: Web3, g: Gov) -> None:
    """Citizens holding a contract wallet vote by signature too (SignatureChecker falls back to ERC-1271)."""
    owner_key = voter_key("wallet-owner", 0)
    wallet = deploy_mock(w3, "OwnerWallet", Account.from_key(owner_key).address, sender=g.admin)
    g.register(wallet, 0)
    pid, start, _, _ = g.propose()
    g.goto(start + 1)
    data = ballot_typed_data(
        g.chain_id, g.gov.address, proposal_id=pid, support=ABSTAIN, voter=wallet, nonce=0
    )
    stranger_sig = sign_typed(voter_key("not-the-owner", 0), data)
    with reverts("InvalidSignature(address)", wallet):
        g.gov.functions.castVoteBySig(pid, ABSTAIN, wallet, 0, stranger_sig).transact(
            {"from": g.relayer.address}
        )
    receipt = send(
        g.gov.functions.castVoteBySig(pid, ABSTAIN, wallet, 0, sign_typed(owner_key, data)), g.relayer
    )
    assert events(g.gov, receipt, "VoteCast")[0].args.voter == wallet
    assert g.votes(pid) == (0, 0, 1)


def test_pending_signatures_on_other_proposals_stay_valid(g: Gov) -> None:
    """OZ #5565: with one sequential nonce, relaying one ballot would invalidate every other pending one."""
    key = voter_key("pending", 0)
    voter = Account.from_key(key).address
    g.register(voter, 0)
    pids = [g.propose(description=f"p{i}")[0] for i in range(3)]
    start = g.gov.functions.getProposal(pids[-1]).call()[1]
    # All three ballots are signed up front, each with nonce 0 of its own proposal.
    sigs = [sign_ballot(key, g.chain_id, g.gov.address, proposal_id=p, support=FOR, nonce=0) for p in pids]
    g.goto(start + 1)
    for p, sig in reversed(list(zip(pids, sigs, strict=True))):
        send(g.gov.functions.castVoteBySig(p, FOR, voter, 0, sig), g.relayer)
    assert [g.votes(p) for p in pids] == [(0, 1, 0)] * 3
    assert [g.gov.functions.nonces(voter, p).call() for p in pids] == [1, 1, 1]


def test_python_digest_matches_contract_domain_and_type_hash(g: Gov) -> None:
    """The digest built by the Python module equals 0x1901 ‖ DOMAIN_SEPARATOR ‖ hashStruct (by hand)."""
    voter = g.citizens[0].address
    data = ballot_typed_data(
        g.chain_id, g.gov.address, proposal_id=2**255 + 5, support=FOR, voter=voter, nonce=9
    )
    struct_hash = Web3.keccak(
        abi_encode(
            ["bytes32", "uint256", "uint8", "address", "uint256"],
            [g.gov.functions.BALLOT_TYPEHASH().call(), 2**255 + 5, FOR, voter, 9],
        )
    )
    separator = g.gov.functions.DOMAIN_SEPARATOR().call()
    assert typed_data_digest(data) == Web3.keccak(b"\x19\x01" + separator + struct_hash)
    commitment = vote_commitment(1, voter, AGAINST, b"\x44" * 32)
    cdata = commitment_typed_data(
        g.chain_id, g.gov.address, proposal_id=1, commitment=commitment, voter=voter, nonce=0
    )
    struct_hash = Web3.keccak(
        abi_encode(
            ["bytes32", "uint256", "bytes32", "address", "uint256"],
            [g.gov.functions.COMMITMENT_TYPEHASH().call(), 1, commitment, voter, 0],
        )
    )
    assert typed_data_digest(cdata) == Web3.keccak(b"\x19\x01" + separator + struct_hash)


def test_python_digest_matches_signature_recovery(g: Gov) -> None:
    key = voter_key("digest", 0)
    data = ballot_typed_data(
        g.chain_id,
        g.gov.address,
        proposal_id=7,
        support=ABSTAIN,
        voter=Account.from_key(key).address,
        nonce=3,
    )
    sig = sign_ballot(key, g.chain_id, g.gov.address, proposal_id=7, support=ABSTAIN, nonce=3)
    assert recover_signer(data, sig) == Account.from_key(key).address
    assert len(typed_data_digest(data)) == 32
    with pytest.raises(TypedDataError):
        ballot_typed_data(g.chain_id, g.gov.address, proposal_id=7, support=3, voter=ZERO, nonce=0)
    with pytest.raises(TypedDataError):
        ballot_typed_data(g.chain_id, "0x1234", proposal_id=7, support=1, voter=ZERO, nonce=0)
    with pytest.raises(TypedDataError):
        vote_commitment(1, ZERO, 1, b"short")


# ---------------------------------------------------------------------------------------------- token-weighted


def test_token_weighted_uses_past_votes_and_one_hop_delegation(g: Gov) -> None:
    alice, bob, carol, dave, _ = g.citizens
    mint = g.token.functions.mint
    for who, amount in ((alice, 100), (bob, 20), (carol, 7), (dave, 1000)):
        send(mint(who.address, amount), g.admin)  # first mint self-delegates
    send(g.token.functions.delegate(bob.address), alice)  # alice → bob
    send(g.token.functions.delegate(alice.address), carol)  # carol → alice (not forwarded to bob)
    pid, start, end, _ = g.propose(mode=TOKEN)
    # After the snapshot: transfers and new mints do not change weights.
    g.goto(start + 1)
    send(g.token.functions.transfer(bob.address, 500), dave)
    send(mint(carol.address, 10**6), g.admin)
    assert g.gov.functions.getVotes(pid, bob.address).call() == 120
    assert g.gov.functions.getVotes(pid, alice.address).call() == 7
    assert g.gov.functions.getVotes(pid, carol.address).call() == 0
    weights = {}
    for who, support in ((bob, FOR), (alice, AGAINST), (dave, ABSTAIN)):
        receipt = send(g.gov.functions.castVote(pid, support), who)
        weights[who.address] = events(g.gov, receipt, "VoteCast")[0].args.weight
    assert weights == {bob.address: 120, alice.address: 7, dave.address: 1000}
    with reverts("NoVotingWeight(address,uint256)", carol.address, pid):
        g.gov.functions.castVote(pid, FOR).transact({"from": carol.address})
    assert g.votes(pid) == (7, 120, 1000)
    # Total supply at the snapshot: 1127 → quorum ceil(10% × 1127) = 113.
    assert g.gov.functions.quorum(pid).call() == 113
    g.goto(end + 1)
    assert g.state(pid) == ProposalState.SUCCEEDED


def test_token_weighted_delegate_by_sig_before_snapshot(g: Gov) -> None:
    """A citizen without gas delegates with a signature; the delegatee votes with the combined power."""
    from eth_account.messages import encode_typed_data

    key = voter_key("deleg", 0)
    holder = Account.from_key(key).address
    alice = g.citizens[0]
    send(g.token.functions.mint(holder, 40), g.admin)
    send(g.token.functions.mint(alice.address, 2), g.admin)
    expiry = g.now() + 3600
    nonce = g.token.functions.nonces(holder).call()
    data = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Delegation": [
                {"name": "delegatee", "type": "address"},
                {"name": "nonce", "type": "uint256"},
                {"name": "expiry", "type": "uint256"},
            ],
        },
        "primaryType": "Delegation",
        "domain": {
            "name": "CO3 Commons",
            "version": "1",
            "chainId": g.chain_id,
            "verifyingContract": g.token.address,
        },
        "message": {"delegatee": alice.address, "nonce": nonce, "expiry": expiry},
    }
    signed = Account.sign_message(encode_typed_data(full_message=data), key)
    send(
        g.token.functions.delegateBySig(
            alice.address, nonce, expiry, signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")
        ),
        g.relayer,
    )
    pid, start, _, _ = g.propose(mode=TOKEN)
    g.goto(start + 1)
    receipt = send(g.gov.functions.castVote(pid, FOR), alice)
    assert events(g.gov, receipt, "VoteCast")[0].args.weight == 42
    with reverts("NoVotingWeight(address,uint256)", holder, pid):
        g.vote_by_sig(key, pid, FOR)


# ---------------------------------------------------------------------------------------------- reputation-weighted


def test_reputation_weight_is_decayed_score_at_snapshot(g: Gov) -> None:
    alice, bob, carol = g.citizens[:3]
    domain = area_domain(g.area_id)
    award = g.reputation.functions.award
    t0 = g.now() + 10
    g.tester.time_travel(t0)
    send(award(alice.address, domain, 1_000_000), g.admin)  # at t0
    g.tester.time_travel(t0 + HALF_LIFE)
    send(award(bob.address, domain, 1_000_000), g.admin)  # at t0 + H
    send(award(carol.address, area_domain(g.area_id + 1), 5_000_000), g.admin)  # another area
    # Snapshot exactly one half-life after bob's award (two after alice's).
    g.tester.time_travel(t0 + 2 * HALF_LIFE)
    pid, start, end, _ = g.propose(
        area_id=g.area_id, mode=REPUTATION, start_in=1, duration=DAY, description="snapshot at t0+2H"
    )
    assert start == t0 + 2 * HALF_LIFE
    g.goto(start + 1)
    assert g.gov.functions.getVotes(pid, alice.address).call() == 250_000
    assert g.gov.functions.getVotes(pid, bob.address).call() == 500_000
    receipt = send(g.gov.functions.castVote(pid, AGAINST), alice)
    assert events(g.gov, receipt, "VoteCast")[0].args.weight == 250_000
    receipt = send(g.gov.functions.castVote(pid, FOR), bob)
    assert events(g.gov, receipt, "VoteCast")[0].args.weight == 500_000
    # Reputation in another area gives no weight in this one.
    with reverts("NoVotingWeight(address,uint256)", carol.address, pid):
        g.gov.functions.castVote(pid, FOR).transact({"from": carol.address})
    # Later awards do not change weights read at the snapshot.
    send(award(alice.address, domain, 10**9), g.admin)
    assert g.gov.functions.getVotes(pid, alice.address).call() == 250_000
    assert g.votes(pid) == (250_000, 500_000, 0)
    # An area proposal is voted by the managing PA's citizens (electorate pa:1): its quorum is a head count,
    # ceil(10 % of the 5 eligible citizens of PA 1) = 1 For/Abstain voter (docs/electorates.md).
    assert g.gov.functions.quorum(pid).call() == 1
    g.goto(end + 1)
    assert g.state(pid) == ProposalState.SUCCEEDED


def test_consortium_wide_reputation_uses_global_domain(g: Gov) -> None:
    alice = g.citizens[0]
    send(g.reputation.functions.award(alice.address, area_domain(g.area_id), 300), g.admin)
    pid, start, _, _ = g.propose(mode=REPUTATION)  # area 0 → GLOBAL_DOMAIN accumulates every award
    g.goto(start + 1)
    receipt = send(g.gov.functions.castVote(pid, FOR), alice)
    weight = events(g.gov, receipt, "VoteCast")[0].args.weight
    assert 0 < weight <= 300
    assert weight == g.reputation.functions.getPastScore(alice.address, b"\x00" * 32, start).call()


# ---------------------------------------------------------------------------------------------- quorum


def _citizen_keys(g: Gov, tag: str, n: int) -> list[bytes]:
    keys = [voter_key(tag, i) for i in range(n)]
    for i, key in enumerate(keys):
        g.register(Account.from_key(key).address, i)
    return keys


def test_quorum_exactly_at_and_one_below(g: Gov) -> None:
    keys = _citizen_keys(g, "q", 5)  # 5 funded + 5 = 10 citizens
    send(g.gov.functions.setQuorumNumerator(30), g.admin)
    pid_at, _, _, _ = g.propose(description="at quorum")
    pid_below, start, end, _ = g.propose(description="below quorum")
    g.goto(start + 1)
    assert g.gov.functions.quorum(pid_at).call() == 3
    # At quorum: For 2 + Abstain 1 = 3 (abstain counts towards quorum), For > Against.
    g.vote_by_sig(keys[0], pid_at, FOR)
    g.vote_by_sig(keys[1], pid_at, FOR)
    g.vote_by_sig(keys[2], pid_at, ABSTAIN)
    g.vote_by_sig(keys[3], pid_at, AGAINST)
    # One below: For 2 + Abstain 0 = 2 < 3; Against does not count towards quorum.
    g.vote_by_sig(keys[0], pid_below, FOR)
    g.vote_by_sig(keys[1], pid_below, FOR)
    g.vote_by_sig(keys[3], pid_below, AGAINST)
    g.goto(end + 1)
    assert g.state(pid_at) == ProposalState.SUCCEEDED
    assert g.state(pid_below) == ProposalState.DEFEATED


def test_quorum_rounds_up_and_ties_fail(g: Gov) -> None:
    keys = _citizen_keys(g, "r", 5)
    send(g.gov.functions.setQuorumNumerator(15), g.admin)  # 15% of 10 = 1.5 → 2
    pid_one, _, _, _ = g.propose(description="one vote")
    pid_tie, start, end, _ = g.propose(description="tie")
    g.goto(start + 1)
    assert g.gov.functions.quorum(pid_one).call() == 2
    g.vote_by_sig(keys[0], pid_one, FOR)
    for key, support in zip(keys, (FOR, FOR, AGAINST, AGAINST), strict=False):
        g.vote_by_sig(key, pid_tie, support)
    g.goto(end + 1)
    assert g.state(pid_one) == ProposalState.DEFEATED
    assert g.state(pid_tie) == ProposalState.DEFEATED


def test_quorum_numerator_access_and_bounds(g: Gov) -> None:
    with reverts(UNAUTHORIZED, g.pa2.address, ADMIN_ROLE):
        g.gov.functions.setQuorumNumerator(5).transact({"from": g.pa2.address})
    with reverts("InvalidQuorumNumerator(uint256)", 101):
        g.gov.functions.setQuorumNumerator(101).transact({"from": g.admin.address})
    receipt = send(g.gov.functions.setQuorumNumerator(100), g.admin)
    (ev,) = events(g.gov, receipt, "QuorumNumeratorUpdated")
    assert (ev.args.oldNumerator, ev.args.newNumerator) == (10, 100)
    assert g.gov.functions.quorumNumerator().call() == 100


def test_quorum_numerator_is_fixed_at_creation(g: Gov) -> None:
    """CVE-2022-31198: changing the quorum later must not revive (or kill) an existing proposal; and (issue 10,
    defect 8) the numerator ``ProposalCreated`` reports is the one that applies, even if the quorum changes
    between creation and voteStart."""
    keys = _citizen_keys(g, "cve", 5)
    before = g.now()
    send(g.gov.functions.setQuorumNumerator(50), g.admin)
    old_pid, old_start, old_end, _ = g.propose(description="old")
    pending_pid, pending_start, pending_end, _ = g.propose(description="pending", start_in=5 * DAY)
    created = g.gov.events.ProposalCreated().get_logs(from_block=0, argument_filters={"proposalId": pending_pid})
    assert created[0].args.quorumNumerator == 50
    g.goto(old_start + 1)
    g.vote_by_sig(keys[0], old_pid, FOR)  # 1 of 10 < 50%
    g.goto(old_end + 1)
    assert g.state(old_pid) == ProposalState.DEFEATED
    send(g.gov.functions.setQuorumNumerator(10), g.admin)  # before pending's voteStart
    assert g.state(old_pid) == ProposalState.DEFEATED
    assert g.gov.functions.quorum(old_pid).call() == 5
    assert g.gov.functions.quorumNumeratorAt(before).call() == 10
    g.goto(pending_start + 1)
    assert g.gov.functions.proposalQuorumNumerator(pending_pid).call() == 50
    assert g.gov.functions.quorum(pending_pid).call() == 5  # the reported 50 %, not the later 10 %
    g.vote_by_sig(keys[0], pending_pid, FOR)
    g.goto(pending_end + 1)
    assert g.state(pending_pid) == ProposalState.DEFEATED
    # A proposal created after the change gets the new numerator.
    new_pid, new_start, new_end, _ = g.propose(description="new")
    g.goto(new_start + 1)
    assert g.gov.functions.quorum(new_pid).call() == 1
    g.vote_by_sig(keys[0], new_pid, FOR)
    g.goto(new_end + 1)
    assert g.state(new_pid) == ProposalState.SUCCEEDED


# ---------------------------------------------------------------------------------------------- commit–reveal


def test_commit_reveal_flow(g: Gov) -> None:
    alice, bob, carol, dave, _ = g.citizens
    pid, start, end, reveal_end = g.propose(commit_reveal=True)
    salts = {who.address: bytes(Web3.keccak(text=f"salt-{who.address}")) for who in g.citizens}
    choice = {alice.address: FOR, bob.address: AGAINST, carol.address: FOR, dave.address: ABSTAIN}

    def commitment(who: Any) -> bytes:
        return vote_commitment(pid, who.address, choice[who.address], salts[who.address])

    assert g.gov.functions.voteCommitment(pid, alice.address, FOR, salts[alice.address]).call() == commitment(
        alice
    )
    with reverts(STATE_ERROR, pid, ProposalState.PENDING):
        g.gov.functions.commitVote(pid, commitment(alice)).transact({"from": alice.address})
    g.goto(start + 1)
    with reverts("WrongVotingMethod(uint256,bool)", pid, True):
        g.gov.functions.castVote(pid, FOR).transact({"from": alice.address})
    with reverts("EmptyCommitment()"):
        g.gov.functions.commitVote(pid, b"\x00" * 32).transact({"from": alice.address})
    for who in (alice, bob, carol, dave):
        receipt = send(g.gov.functions.commitVote(pid, commitment(who)), who)
        (ev,) = events(g.gov, receipt, "VoteCommitted")
        assert (ev.args.voter, ev.args.proposalId, ev.args.commitment) == (who.address, pid, commitment(who))
    with reverts("AlreadyVoted(address,uint256)", alice.address, pid):
        g.gov.functions.commitVote(pid, b"\x02" * 32).transact({"from": alice.address})
    # Hidden: tallies stay zero while commitments come in, and no reveal before voteEnd.
    assert g.votes(pid) == (0, 0, 0)
    assert g.gov.functions.hasVoted(pid, alice.address).call()
    with reverts(STATE_ERROR, pid, ProposalState.ACTIVE):
        g.gov.functions.revealVote(pid, alice.address, FOR, salts[alice.address]).transact(
            {"from": alice.address}
        )
    g.goto(end + 1)
    assert g.state(pid) == ProposalState.REVEALING
    with reverts(STATE_ERROR, pid, ProposalState.REVEALING):
        g.gov.functions.commitVote(pid, b"\x03" * 32).transact({"from": g.citizens[4].address})
    reveal = g.gov.functions.revealVote
    # Wrong salt, wrong support, wrong voter: mismatch.
    with reverts("CommitmentMismatch(address,uint256)", alice.address, pid):
        reveal(pid, alice.address, FOR, salts[bob.address]).transact({"from": alice.address})
    with reverts("CommitmentMismatch(address,uint256)", alice.address, pid):
        reveal(pid, alice.address, AGAINST, salts[alice.address]).transact({"from": alice.address})
    with reverts("NoCommitment(address,uint256)", g.citizens[4].address, pid):
        reveal(pid, g.citizens[4].address, FOR, salts[alice.address]).transact({"from": alice.address})
    # Anyone holding the salt may reveal (here the relayer reveals alice's vote).
    receipt = send(reveal(pid, alice.address, FOR, salts[alice.address]), g.relayer)
    (ev,) = events(g.gov, receipt, "VoteRevealed")
    assert (ev.args.voter, ev.args.proposalId, ev.args.support, ev.args.weight) == (
        alice.address,
        pid,
        FOR,
        1,
    )
    assert g.gov.functions.hasRevealed(pid, alice.address).call()
    with reverts("NoCommitment(address,uint256)", alice.address, pid):
        reveal(pid, alice.address, FOR, salts[alice.address]).transact({"from": alice.address})
    send(reveal(pid, bob.address, AGAINST, salts[bob.address]), bob)
    assert g.votes(pid) == (1, 1, 0)
    send(reveal(pid, carol.address, FOR, salts[carol.address]), carol)
    # dave never reveals: his commitment is not in the tally but its weight counts against (2 > 1 + 1 fails).
    assert g.gov.functions.unrevealedVotes(pid).call() == 1
    g.goto(reveal_end + 1)
    with reverts(STATE_ERROR, pid, ProposalState.DEFEATED):
        reveal(pid, dave.address, ABSTAIN, salts[dave.address]).transact({"from": dave.address})
    assert g.votes(pid) == (1, 2, 0)
    assert g.state(pid) == ProposalState.DEFEATED


def test_commitment_with_invalid_support_cannot_be_revealed(g: Gov) -> None:
    alice = g.citizens[0]
    pid, start, end, _ = g.propose(commit_reveal=True)
    salt = b"\x05" * 32
    bad = g.gov.functions.voteCommitment(pid, alice.address, 7, salt).call()
    g.goto(start + 1)
    send(g.gov.functions.commitVote(pid, bad), alice)
    g.goto(end + 1)
    with reverts("InvalidSupport(uint8)", 7):
        g.gov.functions.revealVote(pid, alice.address, 7, salt).transact({"from": alice.address})


def test_commit_by_sig_and_weight_fixed_at_commit(g: Gov) -> None:
    key = voter_key("commit", 0)
    voter = Account.from_key(key).address
    g.register(voter, 0)
    pid, start, end, _ = g.propose(commit_reveal=True)
    salt = b"\x09" * 32
    commitment = vote_commitment(pid, voter, FOR, salt)
    sig = sign_commitment(key, g.chain_id, g.gov.address, proposal_id=pid, commitment=commitment, nonce=0)
    g.goto(start + 1)
    relay = g.gov.functions.commitVoteBySig
    with reverts(UNAUTHORIZED, g.citizens[0].address, RELAYER):
        relay(pid, commitment, voter, 0, sig).transact({"from": g.citizens[0].address})
    with reverts("InvalidSignature(address)", voter):
        relay(pid, b"\x07" * 32, voter, 0, sig).transact({"from": g.relayer.address})
    # A Ballot signature is not a Commitment signature (distinct type hashes).
    ballot_sig = sign_ballot(key, g.chain_id, g.gov.address, proposal_id=pid, support=FOR, nonce=0)
    with reverts("InvalidSignature(address)", voter):
        relay(pid, commitment, voter, 0, ballot_sig).transact({"from": g.relayer.address})
    receipt = send(relay(pid, commitment, voter, 0, sig), g.relayer)
    assert events(g.gov, receipt, "VoteCommitted")[0].args.voter == voter
    with reverts("InvalidNonce(address,uint256,uint256)", voter, pid, 1):
        relay(pid, commitment, voter, 0, sig).transact({"from": g.relayer.address})
    assert g.votes(pid) == (0, 0, 0)
    # Revoked after committing: the vote was cast while eligible, so its weight still counts when revealed.
    send(g.registry.functions.revoke(voter, RevocationReason.UNSPECIFIED), g.registrar)
    g.goto(end + 1)
    receipt = send(g.gov.functions.revealVote(pid, voter, FOR, salt), g.citizens[1])
    assert events(g.gov, receipt, "VoteRevealed")[0].args.weight == 1
    assert g.votes(pid) == (0, 1, 0)


def test_commit_reveal_token_weighted_snapshot(g: Gov) -> None:
    alice, bob = g.citizens[:2]
    send(g.token.functions.mint(alice.address, 70), g.admin)
    send(g.token.functions.mint(bob.address, 30), g.admin)
    pid, start, end, reveal_end = g.propose(mode=TOKEN, commit_reveal=True)
    g.goto(start + 1)
    send(g.gov.functions.commitVote(pid, vote_commitment(pid, alice.address, AGAINST, b"\x01" * 32)), alice)
    send(g.gov.functions.commitVote(pid, vote_commitment(pid, bob.address, FOR, b"\x02" * 32)), bob)
    send(g.token.functions.transfer(bob.address, 70), alice)  # after the snapshot: irrelevant
    g.goto(end + 1)
    send(g.gov.functions.revealVote(pid, bob.address, FOR, b"\x02" * 32), bob)
    send(g.gov.functions.revealVote(pid, alice.address, AGAINST, b"\x01" * 32), bob)
    assert g.votes(pid) == (70, 30, 0)
    g.goto(reveal_end + 1)
    assert g.state(pid) == ProposalState.DEFEATED
