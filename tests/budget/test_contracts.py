"""ParticipatoryBudget and CommonsTreasury on eth-tester: the happy path and every revert path."""

from __future__ import annotations

from eth_account import Account
from web3 import Web3

from co3chain.budget.rule import compute_outcome, selection_mask
from co3chain.budget.typed_data import ballot_digest, ballot_typed_data, sign_ballot
from tests.budget.helpers import AREA, DAY, FUNDING, BudgetSuite
from tests.contracts.suite_helpers import events, reverts, role, send

APPROVAL, KNAPSACK = 0, 1
FUNDED, NOT_FUNDED, IN_PROGRESS, DELIVERED, CANCELLED = 2, 1, 3, 4, 5


def _key(account) -> bytes:  # noqa: ANN001
    return bytes(account.key)


def test_round_lifecycle_pays_funded_projects_in_two_tranches(suite: BudgetSuite) -> None:
    pb, treasury, token = suite.pb, suite.treasury, suite.token
    costs = [600, 300, 250, 100]
    rid, start, end = suite.create_round(costs, budget=1000)
    assert treasury.functions.budgetOf(AREA).call() == FUNDING // 2 - 1000
    assert treasury.functions.reservedOf(pb.address, AREA).call() == 1000
    suite.travel(start)
    c = suite.citizens
    send(pb.functions.castBallot(rid, selection_mask([0, 1])), c[0])
    send(pb.functions.castBallot(rid, selection_mask([0, 2])), c[1])
    send(pb.functions.castBallot(rid, selection_mask([2, 3])), c[2])
    send(pb.functions.castBallot(rid, selection_mask([1])), c[3])
    # approvals 2,2,2,1 -> ranking 0,1,2,3: 600 fits, 300 fits (900), 250 skipped, 100 fits (1000)
    suite.travel(end + 1)
    receipt = send(pb.functions.finalize(rid), suite.payee)
    expected = compute_outcome(1000, [2, 2, 2, 1], costs)
    assert expected.funded == (0, 1, 3)
    (fin,) = events(pb, receipt, "RoundFinalized")
    assert fin.args.fundedMask == expected.funded_mask and fin.args.spent == 1000 and fin.args.released == 0
    states = [pb.functions.getProject(rid, i).call()[2] for i in range(4)]
    assert states == [FUNDED, FUNDED, NOT_FUNDED, FUNDED]

    officer = suite.officer
    before = token.functions.balanceOf(suite.payee.address).call()
    send(pb.functions.startProject(rid, 0, b"\x01" * 32), officer)
    assert token.functions.balanceOf(suite.payee.address).call() == before + 300
    receipt = send(pb.functions.deliverProject(rid, 0, b"\x02" * 32), officer)
    assert token.functions.balanceOf(suite.payee.address).call() == before + 600
    (change,) = events(pb, receipt, "ProjectStateChanged")
    assert change.args.state == DELIVERED and change.args.payment == 300
    assert change.args.evidenceHash == b"\x02" * 32
    with reverts("InvalidTransition(uint256,uint256,uint8,uint8)", rid, 0, DELIVERED, DELIVERED):
        send(pb.functions.deliverProject(rid, 0, b"\x03" * 32), officer)
    with reverts("InvalidTransition(uint256,uint256,uint8,uint8)", rid, 2, NOT_FUNDED, IN_PROGRESS):
        send(pb.functions.startProject(rid, 2, b"\x03" * 32), officer)
    with reverts("NotManager(address,uint256)", suite.admin.address, rid):
        send(pb.functions.startProject(rid, 1, b"\x03" * 32), suite.admin)

    # cancelling an in-progress project returns its unpaid half to the area budget
    send(pb.functions.startProject(rid, 1, b"\x04" * 32), officer)
    budget_before = treasury.functions.budgetOf(AREA).call()
    send(pb.functions.cancelProject(rid, 1, b"\x05" * 32), suite.admin)
    assert treasury.functions.budgetOf(AREA).call() == budget_before + 150
    assert pb.functions.getRound(rid).call()[2] == 1000 - 150  # spent
    with reverts("AccessControlUnauthorizedAccount(address,bytes32)"):
        send(pb.functions.cancelProject(rid, 3, b"\x05" * 32), officer)


def test_unspent_budget_is_released_and_zero_approval_projects_are_never_funded(suite: BudgetSuite) -> None:
    pb, treasury = suite.pb, suite.treasury
    rid, start, end = suite.create_round([400, 100, 50], budget=1000)
    suite.travel(start)
    send(pb.functions.castBallot(rid, selection_mask([0])), suite.citizens[0])
    suite.travel(end + 1)
    receipt = send(pb.functions.finalize(rid), suite.admin)
    (fin,) = events(pb, receipt, "RoundFinalized")
    assert (fin.args.fundedMask, fin.args.spent, fin.args.released) == (1, 400, 600)
    assert treasury.functions.budgetOf(AREA).call() == FUNDING // 2 - 400
    assert treasury.functions.reservedOf(pb.address, AREA).call() == 400


def test_signed_ballot_is_relayed_once(suite: BudgetSuite) -> None:
    pb = suite.pb
    rid, start, _ = suite.create_round([10, 20, 30], budget=100)
    suite.travel(start)
    voter = suite.citizens[0]
    sel = selection_mask([0, 2])
    data = ballot_typed_data(suite.chain_id, pb.address, round_id=rid, selection=sel, voter=voter.address, nonce=0)
    assert ballot_digest(data) == pb.functions.ballotDigest(rid, sel, voter.address, 0).call()
    sig = sign_ballot(_key(voter), suite.chain_id, pb.address, round_id=rid, selection=sel, nonce=0)
    with reverts("AccessControlUnauthorizedAccount(address,bytes32)"):
        send(pb.functions.castBallotBySig(rid, sel, voter.address, 0, sig), voter)
    # a signature for another selection, another voter or another contract does not verify
    with reverts("InvalidSignature(address)", voter.address):
        send(pb.functions.castBallotBySig(rid, selection_mask([1]), voter.address, 0, sig), suite.relayer)
    with reverts("InvalidSignature(address)", suite.citizens[1].address):
        send(pb.functions.castBallotBySig(rid, sel, suite.citizens[1].address, 0, sig), suite.relayer)
    other = sign_ballot(_key(voter), suite.chain_id, suite.treasury.address, round_id=rid, selection=sel, nonce=0)
    with reverts("InvalidSignature(address)", voter.address):
        send(pb.functions.castBallotBySig(rid, sel, voter.address, 0, other), suite.relayer)
    with reverts("InvalidNonce(address,uint256,uint256)", voter.address, rid, 0):
        send(pb.functions.castBallotBySig(rid, sel, voter.address, 1, sig), suite.relayer)
    receipt = send(pb.functions.castBallotBySig(rid, sel, voter.address, 0, sig), suite.relayer)
    (cast,) = events(pb, receipt, "BudgetBallotCast")
    assert cast.args.voter == voter.address and cast.args.selection == sel and cast.args.bySignature
    with reverts("InvalidNonce(address,uint256,uint256)", voter.address, rid, 1):
        send(pb.functions.castBallotBySig(rid, sel, voter.address, 0, sig), suite.relayer)
    assert [pb.functions.getProject(rid, i).call()[3] for i in range(3)] == [1, 0, 1]


def test_only_citizens_eligible_at_the_snapshot_vote(suite: BudgetSuite) -> None:
    pb, registry, registrar = suite.pb, suite.registry, suite.registrar
    stranger = Account.from_key(b"\x00" * 31 + b"\x02")  # funded account, never registered (accounts[1])
    late = suite.payee  # registered after the snapshot
    revoked, short = suite.citizens[3], suite.citizens[4]
    send(registry.functions.renew(short.address, suite.now() + 20), registrar)  # expires before the snapshot
    suite.travel(suite.now() + 30)
    rid, start, _ = suite.create_round([10, 20], budget=100)
    send(registry.functions.register(late.address, Web3.keccak(text="late"), suite.now() + 365 * DAY), registrar)
    send(registry.functions.revoke(revoked.address, 1), registrar)
    suite.travel(start)
    assert pb.functions.isEligible(suite.citizens[0].address, rid).call()
    for account in (stranger, late, revoked, short):
        assert not pb.functions.isEligible(account.address, rid).call()
        with reverts("NotEligible(address,uint256)", account.address, rid):
            send(pb.functions.castBallot(rid, 1), account)
    with reverts("UnknownRound(uint256)", 99):
        send(pb.functions.castBallot(99, 1), suite.citizens[0])


def test_ballot_rules(suite: BudgetSuite) -> None:
    pb = suite.pb
    c = suite.citizens
    rid, start, end = suite.create_round([10, 20, 30], budget=100, max_choices=2)
    with reverts("VotingClosed(uint256)", rid):
        send(pb.functions.castBallot(rid, 1), c[0])
    suite.travel(start)
    for bad in (0, 1 << 3, 0b1001):
        with reverts("InvalidSelection(uint256)", bad):
            send(pb.functions.castBallot(rid, bad), c[0])
    with reverts("TooManyChoices(uint256,uint8)", 3, 2):
        send(pb.functions.castBallot(rid, 0b111), c[0])
    send(pb.functions.castBallot(rid, 0b011), c[0])
    with reverts("AlreadyVoted(address,uint256)", c[0].address, rid):
        send(pb.functions.castBallot(rid, 0b100), c[0])
    with reverts("VotingNotOver(uint256)", rid):
        send(pb.functions.finalize(rid), c[1])
    suite.travel(end + 1)
    with reverts("VotingClosed(uint256)", rid):
        send(pb.functions.castBallot(rid, 0b100), c[1])
    send(pb.functions.finalize(rid), c[1])
    with reverts("AlreadyFinalized(uint256)", rid):
        send(pb.functions.finalize(rid), c[1])


def test_knapsack_ballot_must_fit_the_budget(suite: BudgetSuite) -> None:
    pb = suite.pb
    rid, start, _ = suite.create_round([60, 50, 40], budget=100, kind=KNAPSACK)
    suite.travel(start)
    with reverts("OverBudget(uint256,uint256)", 110, 100):
        send(pb.functions.castBallot(rid, 0b011), suite.citizens[0])
    send(pb.functions.castBallot(rid, 0b101), suite.citizens[0])  # 60 + 40 = 100 fits exactly
    assert [pb.functions.getProject(rid, i).call()[3] for i in range(3)] == [1, 0, 1]


def test_round_creation_checks(suite: BudgetSuite) -> None:
    pb, officer = suite.pb, suite.officer
    now = suite.now()
    start = now + 100
    p = [(10, suite.payee.address, b"\x00" * 32)]
    with reverts("AccessControlUnauthorizedAccount(address,bytes32)"):
        send(pb.functions.createRound(AREA, 100, start, start + DAY, 0, 0, b"\x00" * 32, p), suite.citizens[0])
    with reverts("InvalidWindow(uint64,uint64)", start, start + DAY - 1):
        send(pb.functions.createRound(AREA, 100, start, start + DAY - 1, 0, 0, b"\x00" * 32, p), officer)
    with reverts("InvalidWindow(uint64,uint64)", now - 5, now - 5 + DAY):
        send(pb.functions.createRound(AREA, 100, now - 5, now - 5 + DAY, 0, 0, b"\x00" * 32, p), officer)
    with reverts("InvalidProjectCount(uint256)", 0):
        send(pb.functions.createRound(AREA, 100, start, start + DAY, 0, 0, b"\x00" * 32, []), officer)
    with reverts("InvalidProjectCount(uint256)", 33):
        send(pb.functions.createRound(AREA, 10**6, start, start + DAY, 0, 0, b"\x00" * 32, p * 33), officer)
    with reverts("InvalidProject(uint256)", 1):
        over = p + [(101, suite.payee.address, b"\x00" * 32)]
        send(pb.functions.createRound(AREA, 100, start, start + DAY, 0, 0, b"\x00" * 32, over), officer)
    with reverts("InvalidMaxChoices(uint8,uint256)", 2, 1):
        send(pb.functions.createRound(AREA, 100, start, start + DAY, 0, 2, b"\x00" * 32, p), officer)
    with reverts("InvalidBudget()"):
        send(pb.functions.createRound(AREA, 0, start, start + DAY, 0, 0, b"\x00" * 32, p), officer)
    # area 0 (consortium-wide) has no budget assigned in this suite
    with reverts("InsufficientFunds(uint256,uint256)", 100, 0):
        send(pb.functions.createRound(0, 100, start, start + DAY, 0, 0, b"\x00" * 32, p), officer)
    # one PA cannot open a round on another PA's area, nor on an area that does not exist
    with reverts("NotAreaManager(address,uint256)", officer.address, 2):
        send(pb.functions.createRound(2, 100, start, start + DAY, 0, 0, b"\x00" * 32, p), officer)
    with reverts("UnknownArea(uint256)", 9):
        send(pb.functions.createRound(9, 100, start, start + DAY, 0, 0, b"\x00" * 32, p), officer)
    assert pb.functions.roundCount().call() == 0


def test_treasury_moves_money_only_through_its_roles(suite: BudgetSuite) -> None:
    treasury, admin, officer = suite.treasury, suite.admin, suite.officer
    payer = role("PAYER_ROLE")
    with reverts("AccessControlUnauthorizedAccount(address,bytes32)", officer.address, payer):
        send(treasury.functions.reserve(AREA, 1, b"\x00" * 32), officer)
    with reverts("AccessControlUnauthorizedAccount(address,bytes32)", officer.address, payer):
        send(treasury.functions.pay(AREA, officer.address, 1, b"\x00" * 32), officer)
    with reverts("AccessControlUnauthorizedAccount(address,bytes32)", officer.address, b"\x00" * 32):
        send(treasury.functions.withdraw(officer.address, 1, b"\x00" * 32), officer)
    with reverts("AccessControlUnauthorizedAccount(address,bytes32)", officer.address, b"\x00" * 32):
        send(treasury.functions.assignBudget(1, 1), officer)
    free = treasury.functions.unassigned().call()
    assert free == FUNDING // 2
    with reverts("InsufficientFunds(uint256,uint256)", free + 1, free):
        send(treasury.functions.assignBudget(1, free + 1), admin)
    with reverts("InsufficientFunds(uint256,uint256)", 1, 0):
        send(treasury.functions.withdrawBudget(2, 1), admin)
    with reverts("TreasuryZeroAmount()"):
        send(treasury.functions.assignBudget(1, 0), admin)
    receipt = send(treasury.functions.withdrawBudget(AREA, 5), admin)
    assert events(treasury, receipt, "BudgetWithdrawn")[0].args.newBudget == FUNDING // 2 - 5
    receipt = send(treasury.functions.withdraw(officer.address, 5, b"\x07" * 32), admin)
    assert events(treasury, receipt, "Withdrawn")[0].args.amount == 5
    assert suite.token.functions.balanceOf(officer.address).call() == 5
    # a payer cannot pay beyond its own reservation
    send(treasury.functions.grantRole(payer, officer.address), admin)
    with reverts("InsufficientFunds(uint256,uint256)", 1, 0):
        send(treasury.functions.pay(AREA, officer.address, 1, b"\x00" * 32), officer)


def test_executor_cancels_a_round_and_starts_are_bounded(suite: BudgetSuite) -> None:
    pb, treasury = suite.pb, suite.treasury
    now = suite.now()
    p = [(10, suite.payee.address, b"\x00" * 32)]
    far = now + 61 * DAY
    with reverts("InvalidWindow(uint64,uint64)", far, far + DAY):
        send(pb.functions.createRound(AREA, 100, far, far + DAY, 0, 0, b"\x00" * 32, p), suite.officer)
    rid, start, _ = suite.create_round([10, 20], budget=100)
    with reverts("AccessControlUnauthorizedAccount(address,bytes32)"):
        send(pb.functions.cancelRound(rid, b"\x09" * 32), suite.officer)
    receipt = send(pb.functions.cancelRound(rid, b"\x09" * 32), suite.admin)
    assert events(pb, receipt, "RoundCancelled")[0].args.reasonHash == b"\x09" * 32
    assert treasury.functions.budgetOf(AREA).call() == FUNDING // 2
    assert treasury.functions.reservedOf(pb.address, AREA).call() == 0
    suite.travel(start)
    with reverts("VotingClosed(uint256)", rid):
        send(pb.functions.castBallot(rid, 1), suite.citizens[0])
    with reverts("AlreadyFinalized(uint256)", rid):
        send(pb.functions.finalize(rid), suite.citizens[0])
    with reverts("AlreadyFinalized(uint256)", rid):
        send(pb.functions.cancelRound(rid, b"\x09" * 32), suite.admin)


def test_minimum_window_is_fixed_at_deploy_within_bounds(suite: BudgetSuite, deploy) -> None:  # noqa: ANN001
    assert suite.pb.functions.minVotingPeriod().call() == DAY
    args = (suite.admin.address, suite.registry.address, suite.registry.address, suite.treasury.address)
    for bad in (59, 90 * DAY + 1):
        with reverts("InvalidWindow(uint64,uint64)", 0, bad):
            deploy("ParticipatoryBudget", *args, bad, sender=suite.admin)
    short = deploy("ParticipatoryBudget", *args, 60, sender=suite.admin)
    assert short.functions.minVotingPeriod().call() == 60
