"""ConsortiumCouncil + ConsortiumTimelock: the PA council's M-of-N motions, its only powers (schedule in the
timelock, cancel its own operations, guardian veto) and its membership, changed only through the timelock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from eth_utils import keccak
from web3 import Web3
from web3.contract import Contract

from co3chain.contracts.governance_typed_data import ProposalState
from tests.contracts.suite_helpers import ADMIN_ROLE, events, reverts, role, send
from tests.contracts.test_governance import DAY, FOR, OCOV, TIMELOCK_DELAY, ZERO, Gov, build_gov

PROPOSER = role("PROPOSER_ROLE")
CANCELLER = role("CANCELLER_ROLE")
EXECUTOR = role("EXECUTOR_ROLE")
GUARDIAN = role("GUARDIAN_ROLE")
NO_SALT = b"\x00" * 32


@dataclass
class Council:
    g: Gov
    council: Contract
    members: list[Any]

    @property
    def timelock(self) -> Contract:
        return self.g.timelock

    def calldata(self, contract: Contract, fn: str, *args: Any) -> bytes:
        return bytes.fromhex(contract.encode_abi(fn, args=list(args))[2:])

    def motion(self, targets: list[str], calldatas: list[bytes], description: str, *, by: Any = None,
               approvers: tuple[Any, ...] = ()) -> int:
        values = [0] * len(targets)
        receipt = send(self.council.functions.propose(targets, values, calldatas, description), by or self.members[0])
        motion_id = events(self.council, receipt, "MotionProposed")[0].args.motionId
        for who in approvers:
            send(self.council.functions.approve(motion_id), who)
        return motion_id

    def execute(self, targets: list[str], calldatas: list[bytes], description: str, sender: Any) -> dict[str, Any]:
        return send(self.council.functions.execute(targets, [0] * len(targets), calldatas,
                                                   keccak(text=description)), sender)

    def schedule_call(self, target: str, data: bytes, salt: bytes) -> bytes:
        """Calldata of timelock.schedule(target, 0, data, 0, salt, delay)."""
        return self.calldata(self.timelock, "schedule", target, 0, data, NO_SALT, salt, TIMELOCK_DELAY)

    def pass_through_timelock(self, target: str, data: bytes, description: str,
                              approvers: tuple[Any, ...] = ()) -> None:
        """Council motion (by member 0 and `approvers`, default member 1) scheduling `data` on `target`, then
        the delay, then execution by anyone."""
        salt = keccak(text=description)
        call = self.schedule_call(target, data, salt)
        self.motion([self.timelock.address], [call], description, approvers=approvers or (self.members[1],))
        self.execute([self.timelock.address], [call], description, self.g.citizens[0])
        self.g.goto(self.g.now() + TIMELOCK_DELAY + 1)
        send(self.timelock.functions.execute(target, 0, data, NO_SALT, salt), self.g.citizens[1])


@pytest.fixture
def c(w3: Web3, tester: Any, accounts: list[Any], deploy: Any) -> Council:
    g = build_gov(w3, tester, accounts, deploy)
    members = [g.pa, g.pa2, g.registrar]
    council = deploy("ConsortiumCouncil", g.timelock.address, [m.address for m in members], 0, sender=g.admin)
    tl = g.timelock
    for r in (PROPOSER, CANCELLER):
        send(tl.functions.grantRole(r, council.address), g.admin)
    send(tl.functions.grantRole(EXECUTOR, ZERO), g.admin)
    send(g.gov.functions.grantRole(GUARDIAN, council.address), g.admin)
    for contract in (g.gov, g.registry):
        send(contract.functions.grantRole(ADMIN_ROLE, tl.address), g.admin)
        send(contract.functions.renounceRole(ADMIN_ROLE, g.admin.address), g.admin)
    send(tl.functions.renounceRole(ADMIN_ROLE, g.admin.address), g.admin)
    return Council(g, council, members)


def test_constructor_and_majority_threshold(c: Council, deploy: Any) -> None:
    council = c.council
    assert council.functions.members().call() == [m.address for m in c.members]
    assert council.functions.threshold().call() == 2  # ⌊3/2⌋+1
    assert council.functions.thresholdSetting().call() == 0
    assert council.functions.timelock().call() == c.timelock.address
    # The timelock administers itself; nobody else holds its admin role.
    assert c.timelock.functions.hasRole(ADMIN_ROLE, c.timelock.address).call()
    assert not c.timelock.functions.hasRole(ADMIN_ROLE, c.g.admin.address).call()
    admin = c.g.admin
    for args, err in (
        ((ZERO, [admin.address], 0), "ZeroAddress()"),
        ((c.timelock.address, [], 0), "InvalidMemberCount(uint256)"),
        ((c.timelock.address, [admin.address, admin.address], 0), "AlreadyMember(address)"),
        ((c.timelock.address, [admin.address], 2), "InvalidThreshold(uint256,uint256)"),
        ((c.timelock.address, [Web3.to_checksum_address(f"0x{i + 1:040x}") for i in range(33)], 0),
         "InvalidMemberCount(uint256)"),
    ):
        with reverts(err):
            deploy("ConsortiumCouncil", *args, sender=admin)


def test_motion_needs_a_majority_and_schedules_through_the_timelock(c: Council) -> None:
    g, council = c.g, c.council
    data = c.calldata(g.gov, "setQuorumNumerator", 30)
    salt = keccak(text="q30")
    call = c.schedule_call(g.gov.address, data, salt)
    targets = [c.timelock.address]
    # Only members propose and approve.
    with reverts("NotMember(address)", g.citizens[0].address):
        council.functions.propose(targets, [0], [call], "quorum 30").transact({"from": g.citizens[0].address})
    motion = c.motion(targets, [call], "quorum 30")
    assert council.functions.approvals(motion).call() == 1
    with reverts("NotEnoughApprovals(uint256,uint256,uint256)", motion, 1, 2):
        council.functions.execute(targets, [0], [call], keccak(text="quorum 30")).transact(
            {"from": g.citizens[0].address})
    with reverts("ApprovalUnchanged(uint256,address)", motion, c.members[0].address):
        council.functions.approve(motion).transact({"from": c.members[0].address})
    with reverts("NotMember(address)", g.citizens[0].address):
        council.functions.approve(motion).transact({"from": g.citizens[0].address})
    receipt = send(council.functions.approve(motion), c.members[1])
    assert events(council, receipt, "MotionApproved")[0].args.approvals == 2
    receipt = c.execute(targets, [call], "quorum 30", g.citizens[0])  # anyone executes an approved motion
    assert [e.args.motionId for e in events(council, receipt, "MotionExecuted")] == [motion]
    (scheduled,) = events(c.timelock, receipt, "CallScheduled")
    op = scheduled.args.id
    assert council.functions.scheduledByCouncil(op).call()
    assert council.functions.motionState(motion).call() == 2  # Executed
    with reverts("MotionNotOpen(uint256,uint8)", motion, 2):
        c.execute(targets, [call], "quorum 30", g.citizens[0])
    # The change waits the delay in public, then anyone executes it.
    with reverts("TimelockUnexpectedOperationState(bytes32,bytes32)"):
        c.timelock.functions.execute(g.gov.address, 0, data, NO_SALT, salt).transact({"from": g.citizens[1].address})
    g.goto(g.now() + TIMELOCK_DELAY + 1)
    receipt = send(c.timelock.functions.execute(g.gov.address, 0, data, NO_SALT, salt), g.citizens[1])
    assert events(g.gov, receipt, "QuorumNumeratorUpdated")[0].args.newNumerator == 30
    assert g.gov.functions.quorumNumerator().call() == 30


def test_council_is_the_guardian_and_nobody_else(c: Council) -> None:
    g = c.g
    pid, start, _, _ = g.propose(description="Close the public library on Sundays without notice")
    g.goto(start + 1)
    send(g.gov.functions.castVote(pid, FOR), g.citizens[0])
    # A single member cannot veto: the council acts by majority.
    reason = "unlawful: the opening hours are set by regional law"
    call = c.calldata(g.gov, "guardianCancel", pid, reason)
    with reverts("AccessControlUnauthorizedAccount(address,bytes32)", c.members[0].address, GUARDIAN):
        g.gov.functions.guardianCancel(pid, reason).transact({"from": c.members[0].address})
    c.motion([g.gov.address], [call], "veto library", approvers=(c.members[2],))
    receipt = c.execute([g.gov.address], [call], "veto library", c.members[2])
    (vetoed,) = events(g.gov, receipt, "ProposalVetoed")
    assert (vetoed.args.proposalId, vetoed.args.guardian, vetoed.args.reason) == (pid, c.council.address, reason)
    assert g.state(pid) == ProposalState.CANCELED


def test_council_cannot_cancel_an_operation_queued_by_a_vote(c: Council) -> None:
    g = c.g
    targets, values = [g.gov.address], [0]
    calldatas = [c.calldata(g.gov, "setQuorumNumerator", 20)]
    start, end = g.now() + 100, g.now() + 100 + DAY
    receipt = send(g.gov.functions.proposeWithActions((OCOV, False, start, end, 0), targets, values, calldatas,
                                                      "quorum 20"), g.pa2)
    pid = events(g.gov, receipt, "ProposalCreated")[0].args.proposalId
    g.goto(start + 1)
    send(g.gov.functions.castVote(pid, FOR), g.citizens[0])
    g.goto(end + 1)
    receipt = send(g.gov.functions.queue(pid, targets, values, calldatas), g.citizens[0])
    op = events(g.gov, receipt, "ProposalQueued")[0].args.operationId
    cancel = c.calldata(c.timelock, "cancel", op)
    c.motion([c.timelock.address], [cancel], "cancel the citizens' decision", approvers=(c.members[1],))
    with reverts("NotCouncilOperation(bytes32)", op):
        c.execute([c.timelock.address], [cancel], "cancel the citizens' decision", c.members[0])
    assert g.state(pid) == ProposalState.QUEUED
    # Its own scheduled operation the council can cancel (e.g. a mistake), by majority.
    salt = keccak(text="oops")
    sched = c.schedule_call(g.gov.address, c.calldata(g.gov, "setQuorumNumerator", 99), salt)
    c.motion([c.timelock.address], [sched], "oops", approvers=(c.members[1],))
    receipt = c.execute([c.timelock.address], [sched], "oops", c.members[0])
    own = events(c.timelock, receipt, "CallScheduled")[0].args.id
    undo = c.calldata(c.timelock, "cancel", own)
    c.motion([c.timelock.address], [undo], "undo oops", approvers=(c.members[2],))
    receipt = c.execute([c.timelock.address], [undo], "undo oops", c.members[0])
    assert [e.args.id for e in events(c.timelock, receipt, "Cancelled")] == [own]
    # Members cannot cancel directly either.
    with reverts("AccessControlUnauthorizedAccount(address,bytes32)", c.members[0].address, CANCELLER):
        c.timelock.functions.cancel(op).transact({"from": c.members[0].address})


def test_membership_changes_only_through_the_timelock(c: Council) -> None:
    g, council = c.g, c.council
    newcomer = g.citizens[4]
    with reverts("OnlyTimelock(address)", c.members[0].address):
        council.functions.addMember(newcomer.address).transact({"from": c.members[0].address})
    # A motion that was approved by a member who is then removed loses that approval.
    pending = c.motion([g.gov.address], [c.calldata(g.gov, "guardianCancel", 1, "x")], "pending",
                       by=c.members[2])
    c.pass_through_timelock(council.address, c.calldata(council, "addMember", newcomer.address), "add PA 4")
    assert council.functions.isMember(newcomer.address).call()
    assert council.functions.threshold().call() == 3  # ⌊4/2⌋+1
    assert council.functions.approvals(pending).call() == 1
    c.pass_through_timelock(council.address, c.calldata(council, "removeMember", c.members[2].address),
                            "remove PA 3", approvers=(c.members[1], newcomer))
    assert not council.functions.isMember(c.members[2].address).call()
    assert council.functions.approvals(pending).call() == 0
    assert council.functions.threshold().call() == 2  # ⌊3/2⌋+1
    c.pass_through_timelock(council.address, c.calldata(council, "setThreshold", 3), "unanimity")
    assert council.functions.threshold().call() == 3
    with reverts("NotMember(address)", c.members[2].address):
        council.functions.approve(pending).transact({"from": c.members[2].address})


def test_revoke_withdraw_and_expiry(c: Council) -> None:
    g, council = c.g, c.council
    call = c.calldata(g.gov, "guardianCancel", 1, "x")
    motion = c.motion([g.gov.address], [call], "m", approvers=(c.members[1],))
    receipt = send(council.functions.revokeApproval(motion), c.members[1])
    assert events(council, receipt, "ApprovalRevoked")[0].args.member == c.members[1].address
    assert council.functions.approvals(motion).call() == 1
    with reverts("NotProposer(address,uint256)", c.members[1].address, motion):
        council.functions.withdraw(motion).transact({"from": c.members[1].address})
    send(council.functions.withdraw(motion), c.members[0])
    assert council.functions.motionState(motion).call() == 3  # Withdrawn
    other = c.motion([g.gov.address], [call], "m2", approvers=(c.members[1],))
    g.goto(g.now() + council.functions.MOTION_LIFETIME().call() + 1)
    assert council.functions.motionState(other).call() == 4  # Expired
    with reverts("MotionNotOpen(uint256,uint8)", other, 4):
        c.execute([g.gov.address], [call], "m2", c.members[0])
