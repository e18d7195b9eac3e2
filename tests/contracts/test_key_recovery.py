"""KeyRecovery: registrar-attested, delayed, cancellable moves of a citizen's identity, tokens and reputation.

The suite is the governance test suite (registry, token, reputation, governance) plus KeyRecovery wired the
way deploy.py wires it: RECOVERY_ROLE on the three contracts, GUARDIAN_ROLE to the PA council (here an
account standing for it). Every revert names its custom error and arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from eth_account import Account
from web3 import Web3
from web3.contract import Contract

from co3chain.contracts.governance_typed_data import Support
from co3chain.privacy.revocation import RevocationReason
from co3chain.recovery.typed_data import cancel_digest, cancel_typed_data, sign_cancel
from tests.contracts.suite_helpers import ADMIN_ROLE, events, reverts, role, send
from tests.contracts.test_governance import OCOV, TOKEN, Gov, area_domain, build_gov

RECOVERY = role("RECOVERY_ROLE")
GUARDIAN = role("GUARDIAN_ROLE")
UNAUTHORIZED = "AccessControlUnauthorizedAccount(address,bytes32)"
DELAY = 3600
WINDOW = 30 * 24 * 3600
PENDING, CANCELLED, FINALIZED, EXPIRED = 1, 2, 3, 4
OLD_KEY, OLD_KEY_SIGNATURE, GUARDIAN_CANCEL, REGISTRAR_CANCEL = 0, 1, 2, 3
STATUS_ERROR = "UnexpectedStatus(uint256,uint8)"


def new_key(tag: str) -> Any:
    """An unfunded fresh key (a citizen's replacement key never needs ETH)."""
    return Account.from_key(Web3.keccak(text=f"co3-recovery-new-key-{tag}"))


@dataclass
class Env:
    g: Gov
    recovery: Contract
    guardian: Any

    def initiate(self, old: str, new: str, sender: Any = None) -> int:
        receipt = send(self.recovery.functions.initiate(old, new), sender or self.g.registrar)
        (ev,) = events(self.recovery, receipt, "RecoveryInitiated")
        return int(ev.args.recoveryId)

    def finalize(self, rid: int) -> dict[str, Any]:
        return send(self.recovery.functions.finalize(rid), self.g.relayer)

    def status(self, rid: int) -> int:
        return int(self.recovery.functions.state(rid).call())

    def signed_cancel(self, key: Any, rid: int, *, nonce: int | None = None, deadline: int | None = None,
                      chain_id: int | None = None, contract: str | None = None) -> tuple[int, bytes]:
        old = self.recovery.functions.getRecovery(rid).call()[0]
        nonce = self.recovery.functions.nonces(old).call() if nonce is None else nonce
        deadline = self.g.now() + 600 if deadline is None else deadline
        typed = cancel_typed_data(chain_id or self.g.chain_id, contract or self.recovery.address, recovery_id=rid,
                                  old_account=old, nonce=nonce, deadline=deadline)
        return deadline, sign_cancel(key, typed)


def deploy_recovery(g: Gov, deploy: Any, guardian: Any, delay: int = DELAY) -> Contract:
    recovery = deploy("KeyRecovery", g.admin.address, g.registry.address, g.token.address, g.reputation.address,
                      delay, sender=g.admin)
    for target in (g.registry, g.token, g.reputation):
        send(target.functions.grantRole(RECOVERY, recovery.address), g.admin)
    send(recovery.functions.grantRole(GUARDIAN, guardian.address), g.admin)
    return recovery


@pytest.fixture
def env(w3: Web3, tester: Any, accounts: list[Any], deploy: Any) -> Env:
    g = build_gov(w3, tester, accounts, deploy)
    guardian = g.pa  # stands for the PA council contract
    return Env(g, deploy_recovery(g, deploy, guardian), guardian)


def _earn(g: Gov, who: str, tokens: int, scores: dict[int, int]) -> None:
    send(g.token.functions.mint(who, tokens), g.admin)
    for area, amount in scores.items():
        send(g.reputation.functions.award(who, area_domain(area), amount), g.admin)


# ---------------------------------------------------------------------------------------------- finalize
def test_finalized_recovery_moves_identity_tokens_and_reputation(env: Env) -> None:
    g, alice = env.g, env.g.citizens[0]
    _earn(g, alice.address, 500, {1: 40, 7: 2})
    record = g.registry.functions.getCitizen(alice.address).call()
    count = g.registry.functions.citizenCount().call()
    fresh = new_key("alice")
    rid = env.initiate(alice.address, fresh.address)
    assert env.status(rid) == PENDING
    stored = env.recovery.functions.getRecovery(rid).call()
    assert list(stored[:3]) == [alice.address, fresh.address, g.registrar.address]
    assert stored[4] == stored[3] + DELAY
    before_move = g.now()
    g.goto(stored[4])
    receipt = env.finalize(rid)
    moved_at = g.now()
    (ev,) = events(env.recovery, receipt, "RecoveryFinalized")
    assert (ev.args.recoveryId, ev.args.oldAccount, ev.args.newAccount, ev.args.tokens, ev.args.areaDomains) == (
        rid, alice.address, fresh.address, 500, 2)
    assert ev.args.reputation == g.reputation.functions.scoreOf(fresh.address, b"\x00" * 32).call() > 0
    assert env.status(rid) == FINALIZED
    # Identity: the binding and expiry moved; the old key is retired for good.
    new_record = g.registry.functions.getCitizen(fresh.address).call()
    assert tuple(new_record) == (record[0], moved_at, record[2], False)
    assert g.registry.functions.addressOfIdentity(record[0]).call() == fresh.address
    assert g.registry.functions.isCitizen(fresh.address).call()
    assert not g.registry.functions.isCitizen(alice.address).call()
    assert g.registry.functions.getCitizen(alice.address).call()[0] == b"\x00" * 32
    assert g.registry.functions.citizenCount().call() == count
    (moved,) = events(g.registry, receipt, "CitizenRecovered")
    assert (moved.args["from"], moved.args.to, moved.args.identityHash) == (alice.address, fresh.address, record[0])
    with reverts("IdentityMismatch(address,bytes32)"):
        g.registry.functions.register(alice.address, record[0], g.now() + 1000).transact(
            {"from": g.registrar.address})
    # Tokens and delegation.
    assert g.token.functions.balanceOf(alice.address).call() == 0
    assert g.token.functions.balanceOf(fresh.address).call() == 500
    assert g.token.functions.delegates(fresh.address).call() == fresh.address
    assert g.token.functions.getVotes(fresh.address).call() == 500
    assert g.token.functions.getVotes(alice.address).call() == 0
    (bal,) = events(g.token, receipt, "BalanceRecovered")
    assert (bal.args["from"], bal.args.to, bal.args.amount, bal.args.delegatee) == (
        alice.address, fresh.address, 500, fresh.address)
    # Reputation: every area and the global domain; the old key's past stays auditable.
    rep = g.reputation.functions
    for domain in (area_domain(1), area_domain(7), b"\x00" * 32):
        assert rep.scoreOf(alice.address, domain).call() == 0
        assert rep.scoreOf(fresh.address, domain).call() > 0
        assert rep.getPastScore(alice.address, domain, before_move).call() > 0
        assert rep.getPastScore(fresh.address, domain, before_move).call() == 0
    assert rep.domainsOf(fresh.address).call() == [area_domain(1), area_domain(7)]
    assert rep.domainsOf(alice.address).call() == []
    recovered = {e.args.domain: e.args.amount for e in events(g.reputation, receipt, "ReputationRecovered")}
    assert set(recovered) == {area_domain(1), area_domain(7), b"\x00" * 32}
    assert recovered[area_domain(1)] == rep.scoreOf(fresh.address, area_domain(1)).call()
    # Finalizing again is refused.
    with reverts(STATUS_ERROR, rid, FINALIZED):
        env.recovery.functions.finalize(rid).transact({"from": g.relayer.address})


def test_delegation_choice_moves_with_the_balance(env: Env) -> None:
    g, alice, bob = env.g, env.g.citizens[0], env.g.citizens[1]
    _earn(g, alice.address, 300, {})
    _earn(g, bob.address, 10, {})
    send(g.token.functions.delegate(bob.address), alice)
    fresh = new_key("delegating")
    rid = env.initiate(alice.address, fresh.address)
    g.goto(g.now() + DELAY)
    env.finalize(rid)
    assert g.token.functions.delegates(fresh.address).call() == bob.address
    assert g.token.functions.getVotes(bob.address).call() == 310


def test_finalize_too_early_and_after_the_window(env: Env) -> None:
    g = env.g
    rid = env.initiate(g.citizens[0].address, new_key("early").address)
    executable_at = env.recovery.functions.getRecovery(rid).call()[4]
    with reverts("RecoveryNotReady(uint256,uint48)", rid, executable_at):
        env.recovery.functions.finalize(rid).transact({"from": g.relayer.address})
    g.goto(executable_at + WINDOW + 1)
    assert env.status(rid) == EXPIRED
    with reverts(STATUS_ERROR, rid, EXPIRED):
        env.recovery.functions.finalize(rid).transact({"from": g.relayer.address})
    # An expired request no longer blocks a new one.
    env.initiate(g.citizens[0].address, new_key("early-2").address)


def test_finalize_refused_when_the_new_key_was_registered_meanwhile(env: Env) -> None:
    g = env.g
    fresh = new_key("taken")
    rid = env.initiate(g.citizens[0].address, fresh.address)
    g.register(fresh.address, 99)
    g.goto(g.now() + DELAY)
    with reverts("AlreadyRegistered(address)", fresh.address):
        env.recovery.functions.finalize(rid).transact({"from": g.relayer.address})


# ---------------------------------------------------------------------------------------------- cancel
def test_old_key_cancels_by_relayed_signature_without_replay(env: Env, deploy: Any) -> None:
    g, alice = env.g, env.g.citizens[0]
    _earn(g, alice.address, 100, {2: 5})
    rogue = new_key("rogue-registrar-target")
    rid = env.initiate(alice.address, rogue.address)
    deadline, sig = env.signed_cancel(alice.key, rid)
    # The digest the SDKs build is the one the contract verifies.
    typed = cancel_typed_data(g.chain_id, env.recovery.address, recovery_id=rid, old_account=alice.address,
                              nonce=0, deadline=deadline)
    assert env.recovery.functions.cancelDigest(rid, 0, deadline).call() == cancel_digest(typed)
    # Someone else's signature, a signature for another chain or contract, an expired one: refused.
    _, wrong_signer = env.signed_cancel(g.citizens[1].key, rid)
    _, other_chain = env.signed_cancel(alice.key, rid, chain_id=g.chain_id + 1)
    _, other_contract = env.signed_cancel(alice.key, rid, contract=g.gov.address)
    for bad in (wrong_signer, other_chain, other_contract):
        with reverts("CancelInvalidSigner(uint256,address)", rid, alice.address):
            env.recovery.functions.cancelBySig(rid, deadline, bad).transact({"from": g.relayer.address})
    with reverts("CancelExpiredSignature(uint256)", g.now() - 1):
        env.recovery.functions.cancelBySig(rid, g.now() - 1, sig).transact({"from": g.relayer.address})
    receipt = send(env.recovery.functions.cancelBySig(rid, deadline, sig), g.relayer)  # relayed: alice pays nothing
    (ev,) = events(env.recovery, receipt, "RecoveryCancelled")
    assert (ev.args.recoveryId, ev.args.oldAccount, ev.args.by, ev.args.canceller) == (
        rid, alice.address, alice.address, OLD_KEY_SIGNATURE)
    assert env.status(rid) == CANCELLED
    assert env.recovery.functions.nonces(alice.address).call() == 1
    # Replays: the same signature again, or a signature made for the used nonce on a new request.
    with reverts(STATUS_ERROR, rid, CANCELLED):
        env.recovery.functions.cancelBySig(rid, deadline, sig).transact({"from": g.relayer.address})
    rid2 = env.initiate(alice.address, rogue.address)
    _, stale = env.signed_cancel(alice.key, rid2, nonce=0, deadline=deadline)
    with reverts("CancelInvalidSigner(uint256,address)", rid2, alice.address):
        env.recovery.functions.cancelBySig(rid2, deadline, stale).transact({"from": g.relayer.address})
    with reverts(STATUS_ERROR, rid, CANCELLED):
        env.recovery.functions.finalize(rid).transact({"from": g.relayer.address})
    # Nothing moved.
    assert g.token.functions.balanceOf(alice.address).call() == 100
    assert g.registry.functions.isCitizen(alice.address).call()


def test_guardian_old_key_and_registrar_cancel_others_cannot(env: Env) -> None:
    g, alice = env.g, env.g.citizens[0]
    outsider = g.citizens[2]
    who = [(env.guardian, GUARDIAN_CANCEL), (alice, OLD_KEY), (g.registrar, REGISTRAR_CANCEL)]
    for n, (canceller, code) in enumerate(who):
        rid = env.initiate(alice.address, new_key(f"cancel-{n}").address)
        with reverts("NotAllowedToCancel(uint256,address)", rid, outsider.address):
            env.recovery.functions.cancel(rid).transact({"from": outsider.address})
        receipt = send(env.recovery.functions.cancel(rid), canceller)
        (ev,) = events(env.recovery, receipt, "RecoveryCancelled")
        assert (ev.args.by, ev.args.canceller) == (canceller.address, code)
        assert env.status(rid) == CANCELLED
    g.goto(g.now() + DELAY)
    with reverts(STATUS_ERROR, rid, CANCELLED):
        env.recovery.functions.finalize(rid).transact({"from": g.relayer.address})
    assert g.registry.functions.isCitizen(alice.address).call()


# ---------------------------------------------------------------------------------------------- initiate
def test_initiate_checks(env: Env) -> None:
    g = env.g
    alice, bob, carol = g.citizens[:3]
    with reverts("NotRegistrar(address)", alice.address):
        env.recovery.functions.initiate(alice.address, new_key("x").address).transact({"from": alice.address})
    stranger = new_key("never-registered")
    with reverts("NotRecoverable(address)", stranger.address):
        env.recovery.functions.initiate(stranger.address, new_key("y").address).transact(
            {"from": g.registrar.address})
    send(g.registry.functions.revoke(carol.address, RevocationReason.ELIGIBILITY_ENDED), g.registrar)
    with reverts("NotRecoverable(address)", carol.address):
        env.recovery.functions.initiate(carol.address, new_key("z").address).transact({"from": g.registrar.address})
    for target in ("0x" + "00" * 20, alice.address, bob.address):  # zero, itself, a registered citizen
        with reverts("InvalidNewAccount(address)", target):
            env.recovery.functions.initiate(alice.address, target).transact({"from": g.registrar.address})
    fresh = new_key("pending")
    rid = env.initiate(alice.address, fresh.address)
    with reverts("RecoveryAlreadyPending(address,uint256)", alice.address, rid):
        env.recovery.functions.initiate(alice.address, new_key("other").address).transact(
            {"from": g.registrar.address})
    with reverts("InvalidNewAccount(address)", fresh.address):  # already the target of a pending request
        env.recovery.functions.initiate(bob.address, fresh.address).transact({"from": g.registrar.address})
    assert env.recovery.functions.latestRecoveryOf(alice.address).call() == rid
    assert env.recovery.functions.recoveryCount().call() == 1


# ---------------------------------------------------------------------------------------------- double voting
@pytest.mark.parametrize("mode", [OCOV, TOKEN])
def test_recovered_citizen_cannot_vote_twice_on_a_running_proposal(env: Env, mode: int) -> None:
    g, alice = env.g, env.g.citizens[0]
    _earn(g, alice.address, 50, {})
    pid, start, _, _ = g.propose(mode=mode)
    g.goto(start + 1)
    send(g.gov.functions.castVote(pid, Support.FOR), alice)
    fresh = new_key(f"double-{mode}")
    rid = env.initiate(alice.address, fresh.address)
    g.goto(g.now() + DELAY)
    env.finalize(rid)
    assert g.gov.functions.getVotes(pid, fresh.address).call() == 0
    with reverts("NoVotingWeight(address,uint256)", fresh.address, pid):
        g.vote_by_sig(bytes(fresh.key), pid, Support.AGAINST)
    # The new key votes on proposals created after the move, with the moved weight.
    pid2, start2, _, _ = g.propose(mode=mode)
    g.goto(start2 + 1)
    receipt = g.vote_by_sig(bytes(fresh.key), pid2, Support.FOR)
    assert events(g.gov, receipt, "VoteCast")[0].args.weight == (1 if mode == OCOV else 50)


def test_old_key_loses_its_vote_on_running_proposals_after_the_move(env: Env) -> None:
    g, alice = env.g, env.g.citizens[0]
    pid, start, _, _ = g.propose()
    fresh = new_key("old-key-vote")
    rid = env.initiate(alice.address, fresh.address)
    g.goto(max(start, g.now() + DELAY) + 1)
    env.finalize(rid)
    with reverts("NoVotingWeight(address,uint256)", alice.address, pid):
        g.gov.functions.castVote(pid, Support.FOR).transact({"from": alice.address})


# ---------------------------------------------------------------------------------------------- powers
def test_only_key_recovery_moves_and_only_the_admin_sets_the_delay(env: Env) -> None:
    g, alice = env.g, env.g.citizens[0]
    for fn in (g.registry.functions.recoverCitizen, g.token.functions.recoverBalance,
               g.reputation.functions.recoverScores):
        with reverts(UNAUTHORIZED, g.admin.address, RECOVERY):
            fn(alice.address, g.citizens[1].address).transact({"from": g.admin.address})
    with reverts(UNAUTHORIZED, alice.address, ADMIN_ROLE):
        env.recovery.functions.setRecoveryDelay(7200).transact({"from": alice.address})
    for bad in (9, 60 * 24 * 3600 + 1):
        with reverts("InvalidDelay(uint48)", bad):
            env.recovery.functions.setRecoveryDelay(bad).transact({"from": g.admin.address})
    receipt = send(env.recovery.functions.setRecoveryDelay(7200), g.admin)
    (ev,) = events(env.recovery, receipt, "RecoveryDelayChanged")
    assert (ev.args.oldDelay, ev.args.newDelay) == (DELAY, 7200)
    rid = env.initiate(alice.address, new_key("delay").address)
    stored = env.recovery.functions.getRecovery(rid).call()
    assert stored[4] - stored[3] == 7200


def test_constructor_checks(env: Env, deploy: Any) -> None:
    g = env.g
    zero = "0x" + "00" * 20
    with reverts("ZeroAddress()"):
        deploy("KeyRecovery", zero, g.registry.address, g.token.address, g.reputation.address, DELAY)
    with reverts("InvalidDelay(uint48)", 5):
        deploy("KeyRecovery", g.admin.address, g.registry.address, g.token.address, g.reputation.address, 5)


def test_reputation_tracks_a_bounded_number_of_domains(env: Env) -> None:
    g, alice = env.g, env.g.citizens[0]
    cap = g.reputation.functions.MAX_TRACKED_DOMAINS().call()
    assert cap == 64
    for area in range(1, cap + 1):
        send(g.reputation.functions.award(alice.address, area_domain(area), 1000), g.admin)
    send(g.reputation.functions.award(alice.address, area_domain(1), 1000), g.admin)  # known domain: no event
    receipt = send(g.reputation.functions.award(alice.address, area_domain(cap + 1), 3000), g.admin)
    (ev,) = events(g.reputation, receipt, "DomainNotTracked")
    assert (ev.args.account, ev.args.domain) == (alice.address, area_domain(cap + 1))
    assert len(g.reputation.functions.domainsOf(alice.address).call()) == cap
    fresh = new_key("many-areas")
    rid = env.initiate(alice.address, fresh.address)
    g.goto(g.now() + DELAY)
    receipt = env.finalize(rid)
    assert events(env.recovery, receipt, "RecoveryFinalized")[0].args.areaDomains == cap
    assert g.reputation.functions.scoreOf(fresh.address, area_domain(cap)).call() > 990
    # The untracked domain stays at the old key (documented); the global score moved whole.
    assert g.reputation.functions.scoreOf(alice.address, area_domain(cap + 1)).call() > 2990
    assert g.reputation.functions.scoreOf(alice.address, b"\x00" * 32).call() == 0
    assert receipt["gasUsed"] < 10_000_000


# ---------------------------------------------------------------------------------------------- PAs and groups
def test_registrar_of_another_pa_or_of_none_is_refused(env: Env) -> None:
    g, alice = env.g, env.g.citizens[0]
    assert g.registry.functions.citizenPa(alice.address).call() == 1
    other, unbound = g.pa2, g.admin  # pa2 acts for PA 2; the admin is bound to no PA
    for officer, officer_pa in ((other, 2), (unbound, 0)):
        send(g.registry.functions.grantRole(role("REGISTRAR_ROLE"), officer.address), g.admin)
        with reverts("WrongPa(address,uint256,uint256)", officer.address, officer_pa, 1):
            env.recovery.functions.initiate(alice.address, new_key("wrong-pa").address).transact(
                {"from": officer.address})


def test_pa_and_group_memberships_move_without_changing_any_count(env: Env) -> None:
    g, alice = env.g, env.g.citizens[0]
    receipt = send(g.registry.functions.createGroup(0, b"\x42" * 32), g.registrar)  # a district of PA 1
    group_id = events(g.registry, receipt, "GroupCreated")[0].args.groupId
    send(g.registry.functions.addToGroup(group_id, alice.address), g.registrar)
    group_electorate = (2 << 248) | group_id
    pa_electorate = (1 << 248) | 1
    fresh = new_key("grouped")
    rid = env.initiate(alice.address, fresh.address)
    g.goto(g.now() + DELAY)
    before = g.now()
    sizes = [g.registry.functions.getPastElectorateSize(e, before - 1).call() for e in (0, pa_electorate,
                                                                                         group_electorate)]
    receipt = env.finalize(rid)
    g.goto(g.now() + 10)
    after = g.now() - 1
    reg = g.registry.functions
    assert [reg.getPastElectorateSize(e, after).call() for e in (0, pa_electorate, group_electorate)] == sizes
    assert reg.groupsOf(fresh.address).call() == [group_id] and reg.groupsOf(alice.address).call() == []
    assert reg.citizenPa(fresh.address).call() == 1 and reg.citizenPa(alice.address).call() == 0
    assert reg.isGroupMemberAt(fresh.address, group_id, after).call()
    assert not reg.isGroupMemberAt(fresh.address, group_id, before).call()
    assert not reg.isGroupMemberAt(alice.address, group_id, after).call()
    # Eligible in its PA and group from the move on, never at a snapshot before it.
    for electorate in (pa_electorate, group_electorate):
        assert reg.isEligibleVoterAt(fresh.address, electorate, after).call()
        assert not reg.isEligibleVoterAt(fresh.address, electorate, before).call()
    assert [(e.args.groupId, e.args.citizen) for e in events(g.registry, receipt, "GroupMemberRemoved")] == [
        (group_id, alice.address)]
    assert [(e.args.groupId, e.args.citizen) for e in events(g.registry, receipt, "GroupMemberAdded")] == [
        (group_id, fresh.address)]
    assert [(e.args.citizen, e.args.paId) for e in events(g.registry, receipt, "CitizenPaSet")] == [(fresh.address, 1)]
    # The new key is an ordinary citizen of PA 1: its registrar can renew and revoke it.
    send(reg.renew(fresh.address, g.now() + 10**6), g.registrar)
    send(reg.revoke(fresh.address, RevocationReason.CITIZEN_REQUEST), g.registrar)
    assert reg.groupsOf(fresh.address).call() == []
