"""ConsortiumValidators: QBFT-like validator votes (floor(n/2)+1), withdrawal, last validator, allow-list."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from web3 import Web3

from tests.contracts.suite_helpers import events, revert_data, reverts, send

ZERO = "0x" + "00" * 20


@pytest.fixture
def four(accounts: list[Any], deploy: Any) -> tuple[Any, list[Any], list[Any]]:
    """A contract with validators accounts[0..3] and outsiders accounts[4..]."""
    vals = accounts[:4]
    contract = deploy("ConsortiumValidators", [a.address for a in vals], sender=vals[0])
    return contract, vals, accounts[4:]


def test_constructor_validation(deploy: Any, accounts: list[Any]) -> None:
    with reverts("NoValidators()"):
        deploy("ConsortiumValidators", [])
    with reverts("ZeroAddress()"):
        deploy("ConsortiumValidators", [accounts[0].address, ZERO])
    with reverts("AlreadyValidator(address)", accounts[0].address):
        deploy("ConsortiumValidators", [accounts[0].address, accounts[0].address])


def test_initial_state(four: Any) -> None:
    cv, vals, outs = four
    assert cv.functions.getValidators().call() == [v.address for v in vals]
    assert cv.functions.voteThreshold().call() == 3
    assert cv.functions.isValidator(vals[2].address).call()
    assert not cv.functions.isValidator(outs[0].address).call()
    assert cv.functions.getPendingCandidates().call() == []


def test_only_validators_vote(four: Any) -> None:
    cv, vals, outs = four
    for fn in (
        cv.functions.voteAdd(outs[1].address),
        cv.functions.voteRemove(vals[0].address),
        cv.functions.withdrawVote(outs[1].address),
        cv.functions.allowAccount(outs[1].address, True),
    ):
        with reverts("NotValidator(address)", outs[0].address):
            fn.transact({"from": outs[0].address})


def test_vote_target_validation(four: Any) -> None:
    cv, vals, outs = four
    with reverts("AlreadyValidator(address)", vals[1].address):
        cv.functions.voteAdd(vals[1].address).transact({"from": vals[0].address})
    with reverts("ZeroAddress()"):
        cv.functions.voteAdd(ZERO).transact({"from": vals[0].address})
    with reverts("NotValidator(address)", outs[0].address):
        cv.functions.voteRemove(outs[0].address).transact({"from": vals[0].address})
    send(cv.functions.voteAdd(outs[0].address), vals[0])
    with reverts("AlreadyVoted(address,address)", vals[0].address, outs[0].address):
        cv.functions.voteAdd(outs[0].address).transact({"from": vals[0].address})
    with reverts("NoVote(address,address)", vals[1].address, outs[0].address):
        cv.functions.withdrawVote(outs[0].address).transact({"from": vals[1].address})


def test_add_applies_at_majority_and_clears_votes(four: Any) -> None:
    cv, vals, outs = four
    new = outs[0].address
    for voter in vals[:2]:
        receipt = send(cv.functions.voteAdd(new), voter)
        (ev,) = events(cv, receipt, "VoteCast")
        assert (ev.args.voter, ev.args.candidate, ev.args.add) == (voter.address, new, True)
        assert events(cv, receipt, "ValidatorAdded") == []
    assert cv.functions.votesFor(new).call() == 2
    assert cv.functions.getPendingCandidates().call() == [new]
    receipt = send(cv.functions.voteAdd(new), vals[2])
    assert [e.args.validator for e in events(cv, receipt, "ValidatorAdded")] == [new]
    assert cv.functions.isValidator(new).call()
    assert cv.functions.votesFor(new).call() == 0
    assert not cv.functions.hasVoted(vals[0].address, new).call()
    assert cv.functions.getPendingCandidates().call() == []
    assert cv.functions.voteThreshold().call() == 3  # n = 5


def test_withdrawn_vote_does_not_count(four: Any) -> None:
    cv, vals, outs = four
    new = outs[0].address
    send(cv.functions.voteAdd(new), vals[0])
    send(cv.functions.voteAdd(new), vals[1])
    receipt = send(cv.functions.withdrawVote(new), vals[1])
    (ev,) = events(cv, receipt, "VoteWithdrawn")
    assert (ev.args.voter, ev.args.candidate) == (vals[1].address, new)
    send(cv.functions.voteAdd(new), vals[2])
    assert not cv.functions.isValidator(new).call()
    assert cv.functions.votesFor(new).call() == 2
    send(cv.functions.withdrawVote(new), vals[0])
    send(cv.functions.withdrawVote(new), vals[2])
    assert cv.functions.getPendingCandidates().call() == []


def test_remove_drops_votes_of_removed_validator(four: Any) -> None:
    cv, vals, outs = four
    target, new = vals[3], outs[0].address
    send(cv.functions.voteAdd(new), target)  # pending vote by the validator about to be removed
    for voter in vals[:2]:
        send(cv.functions.voteRemove(target.address), voter)
    receipt = send(cv.functions.voteRemove(target.address), vals[2])
    assert [e.args.validator for e in events(cv, receipt, "ValidatorRemoved")] == [target.address]
    dropped = [(e.args.voter, e.args.candidate) for e in events(cv, receipt, "VoteWithdrawn")]
    assert dropped == [(target.address, new)]
    assert cv.functions.getValidators().call() == [v.address for v in vals[:3]]
    assert cv.functions.votesFor(new).call() == 0
    assert cv.functions.voteThreshold().call() == 2
    with reverts("NotValidator(address)", target.address):
        cv.functions.voteAdd(new).transact({"from": target.address})
    # Re-adding the removed validator does not resurrect its old vote.
    send(cv.functions.voteAdd(target.address), vals[0])
    send(cv.functions.voteAdd(target.address), vals[1])
    assert cv.functions.isValidator(target.address).call()
    assert not cv.functions.hasVoted(target.address, new).call()


def test_self_removal(four: Any) -> None:
    cv, vals, _ = four
    for voter in (vals[1], vals[2], vals[0]):
        send(cv.functions.voteRemove(vals[0].address), voter)
    assert not cv.functions.isValidator(vals[0].address).call()


def test_single_validator_network(accounts: list[Any], deploy: Any) -> None:
    solo, newcomer = accounts[0], accounts[1]
    cv = deploy("ConsortiumValidators", [solo.address], sender=solo)
    with reverts("CannotRemoveLastValidator()"):
        cv.functions.voteRemove(solo.address).transact({"from": solo.address})
    assert cv.functions.votesFor(solo.address).call() == 0  # the failed vote left nothing behind
    # Adding to a one-validator network applies immediately (1 = floor(1/2)+1).
    send(cv.functions.voteAdd(newcomer.address), solo)
    assert cv.functions.getValidators().call() == [solo.address, newcomer.address]
    assert cv.functions.voteThreshold().call() == 2
    send(cv.functions.voteRemove(solo.address), solo)
    send(cv.functions.voteRemove(solo.address), newcomer)
    assert cv.functions.getValidators().call() == [newcomer.address]
    with reverts("CannotRemoveLastValidator()"):
        cv.functions.voteRemove(newcomer.address).transact({"from": newcomer.address})


def test_account_allow_list_needs_a_majority(four: Any) -> None:
    """Issue 10, defect 3: one validator alone can neither admit an account nor cut one off."""
    cv, vals, outs = four
    user = outs[0].address
    assert cv.functions.isAccountAllowed(vals[1].address).call()  # validators always allowed
    assert not cv.functions.isAccountAllowed(user).call()
    with reverts("ZeroAddress()"):
        cv.functions.allowAccount(ZERO, True).transact({"from": vals[0].address})
    with reverts("NotValidator(address)", outs[1].address):
        cv.functions.allowAccount(user, True).transact({"from": outs[1].address})
    with reverts("AccountAlreadyInState(address,bool)", user, False):
        cv.functions.allowAccount(user, False).transact({"from": vals[0].address})

    receipt = send(cv.functions.allowAccount(user, True), vals[0])
    (ev,) = events(cv, receipt, "AccountVoteCast")
    assert (ev.args.voter, ev.args.account, ev.args.allowed) == (vals[0].address, user, True)
    assert events(cv, receipt, "AccountAllowed") == []
    assert not cv.functions.isAccountAllowed(user).call()  # one PA's vote is not enough
    assert cv.functions.accountVotesFor(user, True).call() == 1
    assert cv.functions.hasVotedAccount(vals[0].address, user, True).call()
    assert cv.functions.getPendingAccountChanges().call() == [[user], [True]]
    with reverts("AlreadyVoted(address,address)", vals[0].address, user):
        cv.functions.allowAccount(user, True).transact({"from": vals[0].address})
    send(cv.functions.allowAccount(user, True), vals[1])
    assert not cv.functions.isAccountAllowed(user).call()
    receipt = send(cv.functions.allowAccount(user, True), vals[2])  # 3 of 4: the majority
    (ev,) = events(cv, receipt, "AccountAllowed")
    assert (ev.args.account, ev.args.allowed, ev.args.by) == (user, True, vals[2].address)
    assert cv.functions.isAccountAllowed(user).call()
    assert cv.functions.getAllowedAccounts().call() == [user]
    assert cv.functions.accountVotesFor(user, True).call() == 0
    assert cv.functions.getPendingAccountChanges().call() == [[], []]
    assert [cv.functions.pendingVotesOf(v.address).call() for v in vals] == [0, 0, 0, 0]

    # Cutting the account (e.g. the relayer) off needs the same majority; votes can be withdrawn.
    send(cv.functions.allowAccount(user, False), vals[3])
    assert cv.functions.isAccountAllowed(user).call()
    receipt = send(cv.functions.withdrawAccountVote(user, False), vals[3])
    (ev,) = events(cv, receipt, "AccountVoteWithdrawn")
    assert (ev.args.voter, ev.args.account, ev.args.allowed) == (vals[3].address, user, False)
    with reverts("NoAccountVote(address,address,bool)", vals[3].address, user, False):
        cv.functions.withdrawAccountVote(user, False).transact({"from": vals[3].address})
    for v in vals[:3]:
        send(cv.functions.allowAccount(user, False), v)
    assert not cv.functions.isAccountAllowed(user).call()
    assert cv.functions.getAllowedAccounts().call() == []


def test_removed_validator_loses_its_allow_list_votes(four: Any) -> None:
    cv, vals, outs = four
    target, user = vals[3], outs[0].address
    send(cv.functions.allowAccount(user, True), target)
    for v in vals[:2]:
        send(cv.functions.voteRemove(target.address), v)
    receipt = send(cv.functions.voteRemove(target.address), vals[2])
    (ev,) = events(cv, receipt, "AccountVoteWithdrawn")
    assert (ev.args.voter, ev.args.account, ev.args.allowed) == (target.address, user, True)
    assert cv.functions.accountVotesFor(user, True).call() == 0
    assert cv.functions.getPendingAccountChanges().call() == [[], []]


def test_single_validator_decides_the_allow_list_alone(accounts: list[Any], deploy: Any) -> None:
    """With one validator its vote is the majority (development networks keep working in one step)."""
    solo, user = accounts[0], accounts[5].address
    cv = deploy("ConsortiumValidators", [solo.address], sender=solo)
    send(cv.functions.allowAccount(user, True), solo)
    assert cv.functions.isAccountAllowed(user).call()


def test_spamming_validator_is_still_removed_within_normal_gas(four: Any, w3: Web3) -> None:
    """Issue 10, defect 2: pending votes per validator are bounded and removal drops them in bounded work."""
    cv, vals, _ = four
    spammer = vals[3]
    cap = cv.functions.MAX_PENDING_VOTES().call()
    assert cap == 16
    fakes = [Web3.to_checksum_address(Web3.keccak(text=f"spam-{i}")[:20]) for i in range(cap + 1)]
    for fake in fakes[:cap - 1]:
        send(cv.functions.voteAdd(fake), spammer)
    send(cv.functions.allowAccount(fakes[cap - 1], True), spammer)  # allow-list votes count too
    assert cv.functions.pendingVotesOf(spammer.address).call() == cap
    with reverts("TooManyPendingVotes(address,uint256)", spammer.address, cap):
        cv.functions.voteAdd(fakes[cap]).transact({"from": spammer.address})
    with reverts("TooManyPendingVotes(address,uint256)", spammer.address, cap):
        cv.functions.allowAccount(fakes[cap], True).transact({"from": spammer.address})
    assert len(cv.functions.getPendingCandidates().call()) == cap - 1

    # At the bound, a vote that completes a majority is still possible (it does not stay pending).
    newcomer = fakes[cap]
    for v in vals[:2]:
        send(cv.functions.voteAdd(newcomer), v)
    send(cv.functions.voteAdd(newcomer), spammer)
    assert cv.functions.isValidator(newcomer).call()  # five validators now, threshold 3

    for v in vals[:2]:
        send(cv.functions.voteRemove(spammer.address), v)
    receipt = send(cv.functions.voteRemove(spammer.address), vals[2])
    assert not cv.functions.isValidator(spammer.address).call()
    assert len(events(cv, receipt, "VoteWithdrawn")) == cap - 1
    assert len(events(cv, receipt, "AccountVoteWithdrawn")) == 1
    assert cv.functions.getPendingCandidates().call() == []
    assert cv.functions.pendingVotesOf(spammer.address).call() == 0
    assert receipt["gasUsed"] < 1_000_000, receipt["gasUsed"]  # bounded whatever the spammer did


def test_two_validators_each_need_the_others_consent(accounts: list[Any], deploy: Any) -> None:
    """Issue 10, defect 8 (documented choice): with two validators a change needs both votes, so neither
    PA can eject the other alone; a PA leaves by voting for its own removal."""
    a, b = accounts[0], accounts[1]
    cv = deploy("ConsortiumValidators", [a.address, b.address], sender=a)
    assert cv.functions.voteThreshold().call() == 2
    send(cv.functions.voteRemove(b.address), a)
    assert cv.functions.isValidator(b.address).call()  # one of two: not a majority
    send(cv.functions.voteRemove(a.address), b)
    assert cv.functions.isValidator(a.address).call()  # and the other way round
    receipt = send(cv.functions.voteRemove(b.address), b)  # b consents to leave
    assert [e.args.validator for e in events(cv, receipt, "ValidatorRemoved")] == [b.address]
    assert cv.functions.getValidators().call() == [a.address]
    assert cv.functions.votesFor(a.address).call() == 0  # b's vote against a left with b
    assert cv.functions.pendingVotesOf(b.address).call() == 0


class Model:
    """Reference model of the voting rules, checked against the contract after every action."""

    def __init__(self, validators: list[str]) -> None:
        self.validators = list(validators)
        self.votes: dict[str, set[str]] = {}

    def expect(self, voter: str, candidate: str, action: str) -> str | None:
        """Apply an action to the model; return the expected error name or None."""
        if voter not in self.validators:
            return "NotValidator"
        if action == "withdraw":
            if voter not in self.votes.get(candidate, set()):
                return "NoVote"
            self.votes[candidate].discard(voter)
            return None
        add = action == "add"
        if add and candidate in self.validators:
            return "AlreadyValidator"
        if not add and candidate not in self.validators:
            return "NotValidator"
        if voter in self.votes.get(candidate, set()):
            return "AlreadyVoted"
        voters = self.votes.get(candidate, set()) | {voter}
        if len(voters) < len(self.validators) // 2 + 1:
            self.votes[candidate] = voters
            return None
        if not add and len(self.validators) == 1:
            return "CannotRemoveLastValidator"
        self.votes.pop(candidate, None)
        if add:
            self.validators.append(candidate)
        else:
            self.validators.remove(candidate)
            for vs in self.votes.values():
                vs.discard(candidate)
        return None


# No shrinking: each example sends transactions, shrinking would take minutes.
@settings(
    max_examples=12,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    actions=st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 5), st.sampled_from(["add", "remove", "withdraw"])),
        min_size=5,
        max_size=25,
    )
)
def test_matches_reference_model(
    accounts: list[Any], deploy: Any, actions: list[tuple[int, int, str]]
) -> None:
    people = [a.address for a in accounts[:6]]
    cv = deploy("ConsortiumValidators", people[:3], sender=accounts[0])
    model = Model(people[:3])
    for voter_i, cand_i, action in actions:
        voter, candidate = people[voter_i], people[cand_i]
        fn = {
            "add": cv.functions.voteAdd,
            "remove": cv.functions.voteRemove,
            "withdraw": cv.functions.withdrawVote,
        }[action](candidate)
        error = model.expect(voter, candidate, action)
        if error is None:
            send(fn, voter)
        else:
            with pytest.raises(Exception) as info:
                fn.transact({"from": voter})
            assert _error_name(cv, info.value) == error
        assert sorted(cv.functions.getValidators().call()) == sorted(model.validators)
        for cand in people:
            assert cv.functions.votesFor(cand).call() == len(model.votes.get(cand, set()))


def _error_name(contract: Any, exc: BaseException) -> str:
    data = revert_data(exc)
    for item in contract.abi:
        if item["type"] == "error":
            sig = f"{item['name']}({','.join(i['type'] for i in item['inputs'])})"
            if Web3.keccak(text=sig)[:4] == data[:4]:
                return str(item["name"])
    raise AssertionError(f"unknown revert 0x{data.hex()}")
