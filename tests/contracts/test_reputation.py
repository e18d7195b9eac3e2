"""Reputation: rewarder-only awards, no transfers, per-domain scores, deterministic decay at past timepoints.

The precision contract tested here is the one stated in Reputation.sol: a read is the exact decayed score
rounded to the nearest point (halves up), or one less when the exact value lies within the documented drift
``(n + 1) * (V + 1) * 2^-64`` above a half, never more; ``decayed`` is monotone non-increasing in ``dt``. The
exact values come from tests/contracts/decay_reference.py (integer series, not the contract's constants).
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from web3 import Web3

from tests.contracts.decay_reference import (
    assert_rounded,
    drift_bound,
    exact_decay,
    round_half_up,
    round_half_up_exact,
)
from tests.contracts.suite_helpers import events, latest_time, next_block_at, reverts, role, send

REWARDER = role("REWARDER_ROLE")
GLOBAL = b"\x00" * 32
ZERO = "0x" + "00" * 20
HALF_LIFE = 1000
ODD_HALF_LIFE = 86_413
FIXTURE_HC = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
NO_SHRINK = [Phase.explicit, Phase.reuse, Phase.generate]
_domains = itertools.count(1000)


def area(n: int) -> bytes:
    return n.to_bytes(32, "big")


@pytest.fixture
def env(w3: Web3, accounts: list[Any], deploy: Any) -> dict[str, Any]:
    admin, rewarder = accounts[0], accounts[1]
    rep = deploy("Reputation", admin.address, HALF_LIFE, sender=admin)
    send(rep.functions.grantRole(REWARDER, rewarder.address), admin)
    return {"rep": rep, "admin": admin, "rewarder": rewarder, "alice": accounts[3], "bob": accounts[4]}


def test_constructor_validation(deploy: Any, accounts: list[Any]) -> None:
    with reverts("ZeroAddress()"):
        deploy("Reputation", ZERO, HALF_LIFE)
    with reverts("InvalidHalfLife()"):
        deploy("Reputation", accounts[0].address, 0)


def test_is_not_transferable(env: dict[str, Any]) -> None:
    names = {item.get("name") for item in env["rep"].abi if item["type"] == "function"}
    for forbidden in ("transfer", "transferFrom", "approve", "delegate", "delegateBySig", "safeTransferFrom"):
        assert forbidden not in names


def test_metadata(w3: Web3, env: dict[str, Any]) -> None:
    rep = env["rep"]
    assert rep.functions.halfLife().call() == HALF_LIFE
    assert rep.functions.CLOCK_MODE().call() == "mode=timestamp"
    assert rep.functions.clock().call() == latest_time(w3)
    assert rep.functions.GLOBAL_DOMAIN().call() == GLOBAL


def test_award_access_and_validation(env: dict[str, Any]) -> None:
    rep, alice = env["rep"], env["alice"]
    for caller in (alice, env["admin"]):
        with reverts("AccessControlUnauthorizedAccount(address,bytes32)", caller.address, REWARDER):
            rep.functions.award(alice.address, area(1), 5).transact({"from": caller.address})
    with reverts("ZeroAddress()"):
        rep.functions.award(ZERO, area(1), 5).transact({"from": env["rewarder"].address})
    with reverts("ZeroAmount()"):
        rep.functions.award(alice.address, area(1), 0).transact({"from": env["rewarder"].address})
    # Scores are kept with 64 fractional bits in a checkpoint's 208: one award is at most 2^144 - 1 points.
    with reverts("SafeCastOverflowedUintDowncast(uint8,uint256)", 144, 2**144):
        rep.functions.award(alice.address, area(1), 2**144).transact({"from": env["rewarder"].address})
    send(rep.functions.award(alice.address, area(1), 2**144 - 1), env["rewarder"])
    with reverts("SafeCastOverflowedUintDowncast(uint8,uint256)"):
        rep.functions.award(alice.address, area(1), 2**143).transact({"from": env["rewarder"].address})


def test_award_domains_and_global(env: dict[str, Any]) -> None:
    rep, rewarder, alice, bob = env["rep"], env["rewarder"], env["alice"], env["bob"]
    receipt = send(rep.functions.award(alice.address, area(1), 10**18), rewarder)
    (ev,) = events(rep, receipt, "ReputationAwarded")
    assert (ev.args.account, ev.args.domain, ev.args.amount, ev.args.newScore, ev.args.rewarder) == (
        alice.address,
        area(1),
        10**18,
        10**18,
        rewarder.address,
    )
    send(rep.functions.award(bob.address, area(2), 3 * 10**18), rewarder)
    send(rep.functions.award(bob.address, GLOBAL, 5), rewarder)
    # Views run at the latest block's timestamp, where the last award happened: little or no decay yet.
    assert rep.functions.scoreOf(bob.address, GLOBAL).call() >= 3 * 10**18 * 0.99
    assert rep.functions.scoreOf(alice.address, area(2)).call() == 0
    assert rep.functions.scoreOf(bob.address, area(1)).call() == 0
    assert rep.functions.numCheckpoints(bob.address, GLOBAL).call() == 2
    total_global = rep.functions.totalScore(GLOBAL).call()
    parts = (
        rep.functions.scoreOf(alice.address, GLOBAL).call()
        + rep.functions.scoreOf(bob.address, GLOBAL).call()
    )
    assert abs(total_global - parts) <= 1  # two parts, each rounded: (2 + 1) / 2 points at most


def test_exact_halvings_and_future_lookup(w3: Web3, tester: Any, env: dict[str, Any]) -> None:
    rep, rewarder, alice = env["rep"], env["rewarder"], env["alice"]
    t0 = latest_time(w3) + 10
    next_block_at(tester, t0)
    send(rep.functions.award(alice.address, area(7), 1_000_000), rewarder)
    with reverts("FutureLookup(uint256,uint48)", t0, t0):
        rep.functions.getPastScore(alice.address, area(7), t0).call()
    with reverts("FutureLookup(uint256,uint48)", t0, t0):
        rep.functions.getPastTotalScore(area(7), t0).call()
    next_block_at(tester, t0 + 3 * HALF_LIFE + 1)
    get = rep.functions.getPastScore
    assert get(alice.address, area(7), t0 - 1).call() == 0
    assert get(alice.address, area(7), t0).call() == 1_000_000
    assert get(alice.address, area(7), t0 + HALF_LIFE).call() == 500_000
    assert get(alice.address, area(7), t0 + 2 * HALF_LIFE).call() == 250_000
    # 1e6 / sqrt(2) = 707106.78...: rounded to nearest, where flooring read 707106.
    assert get(alice.address, area(7), t0 + HALF_LIFE // 2).call() == 707_107
    assert round_half_up_exact(1_000_000, HALF_LIFE // 2, HALF_LIFE) == 707_107
    assert rep.functions.getPastTotalScore(area(7), t0 + HALF_LIFE).call() == 500_000
    assert rep.functions.getPastTotalScore(GLOBAL, t0 + 2 * HALF_LIFE).call() == 250_000
    assert rep.functions.scoreOf(alice.address, area(7)).call() == 125_000


def test_past_values_do_not_change_after_later_awards(w3: Web3, tester: Any, env: dict[str, Any]) -> None:
    rep, rewarder, alice = env["rep"], env["rewarder"], env["alice"]
    t0 = latest_time(w3) + 10
    next_block_at(tester, t0)
    send(rep.functions.award(alice.address, area(3), 10**20), rewarder)
    next_block_at(tester, t0 + 700)
    before = rep.functions.getPastScore(alice.address, area(3), t0 + 500).call()
    total_before = rep.functions.getPastTotalScore(area(3), t0 + 500).call()
    send(rep.functions.award(alice.address, area(3), 10**20), rewarder)
    next_block_at(tester, t0 + 900)
    assert rep.functions.getPastScore(alice.address, area(3), t0 + 500).call() == before
    assert rep.functions.getPastTotalScore(area(3), t0 + 500).call() == total_before
    after = rep.functions.getPastScore(alice.address, area(3), t0 + 701).call()
    expected = exact_decay(10**20, 701, HALF_LIFE) + exact_decay(10**20, 1, HALF_LIFE)
    assert_rounded(after, expected, drift_bound(2, 2 * 10**20))


@pytest.fixture
def odd_rep(accounts: list[Any], deploy: Any) -> Any:
    return deploy("Reputation", accounts[0].address, ODD_HALF_LIFE, sender=accounts[0])


@settings(max_examples=150, deadline=None, suppress_health_check=FIXTURE_HC)
@given(
    value=st.one_of(st.integers(0, 10**24), st.integers(0, 2**208 - 1), st.integers(2**255, 2**256 - 1)),
    elapsed=st.integers(0, 300 * ODD_HALF_LIFE),
    step=st.integers(1, 5 * ODD_HALF_LIFE),
)
def test_decay_function_precision_and_monotonicity(odd_rep: Any, value: int, elapsed: int, step: int) -> None:
    got = odd_rep.functions.decayed(value, elapsed).call()
    assert_rounded(got, exact_decay(value, elapsed, ODD_HALF_LIFE), drift_bound(0, value))
    assert odd_rep.functions.decayed(value, elapsed + step).call() <= got


@settings(max_examples=200, deadline=None, suppress_health_check=FIXTURE_HC)
@given(value=st.integers(1, 2**208 - 1), elapsed=st.integers(0, 4 * ODD_HALF_LIFE))
def test_decay_is_monotone_for_adjacent_seconds(odd_rep: Any, value: int, elapsed: int) -> None:
    assert (
        odd_rep.functions.decayed(value, elapsed + 1).call()
        <= odd_rep.functions.decayed(value, elapsed).call()
    )


# No shrinking: each example sends transactions, shrinking would take minutes.
@settings(max_examples=20, deadline=None, phases=NO_SHRINK, suppress_health_check=FIXTURE_HC)
@given(
    awards=st.lists(
        st.tuples(st.integers(1, 3 * HALF_LIFE), st.integers(1, 10**24), st.booleans()),
        min_size=1,
        max_size=4,
    ),
    probes=st.lists(st.integers(0, 10**6), min_size=3, max_size=8),
)
def test_past_scores_follow_closed_form(
    w3: Web3, tester: Any, env: dict[str, Any], awards: list[tuple[int, int, bool]], probes: list[int]
) -> None:
    """Between awards getPastScore never increases, and it matches the exact sum of decayed awards."""
    rep, rewarder, alice, bob = env["rep"], env["rewarder"], env["alice"], env["bob"]
    domain = area(next(_domains))
    t = latest_time(w3) + 1
    history: list[tuple[int, int, Any]] = []
    for gap, amount, to_bob in awards:
        t += gap
        who = bob if to_bob else alice
        next_block_at(tester, t)
        send(rep.functions.award(who.address, domain, amount), rewarder)
        history.append((t, amount, who))
    start = history[0][0]
    end = t + 2 * HALF_LIFE
    # time_travel(x) mines a block at x - 1: make the latest block strictly later than every probe (≤ end),
    # since past lookups require timepoint < clock().
    next_block_at(tester, end + 2)

    timepoints = sorted({start + p * (end - start) // 10**6 for p in probes} | {h[0] for h in history})
    previous: dict[str, tuple[int, int]] = {}
    for tp in timepoints:
        total = rep.functions.getPastTotalScore(domain, tp).call()
        parts = 0
        for who in (alice, bob):
            got = rep.functions.getPastScore(who.address, domain, tp).call()
            parts += got
            mine = [(ht, a) for ht, a, w in history if w == who and ht <= tp]
            exact = sum((exact_decay(a, tp - ht, HALF_LIFE) for ht, a in mine), Fraction(0))
            assert_rounded(got, exact, drift_bound(len(mine), sum(a for _, a in mine)))
            last_award = max((ht for ht, _ in mine), default=None)
            if who.address in previous and previous[who.address][0] == last_award:
                assert got <= previous[who.address][1], "score increased without an award"
            previous[who.address] = (last_award, got)
        # The exact total is the sum of the exact parts; the total and the two parts are each rounded once, so
        # they differ by at most (2 + 1) / 2 points plus the drifts (far below a point here): at most 1.
        mine = [(ht, a) for ht, a, _ in history if ht <= tp]
        exact_total = sum((exact_decay(a, tp - ht, HALF_LIFE) for ht, a in mine), Fraction(0))
        assert_rounded(total, exact_total, drift_bound(len(mine), sum(a for _, a in mine)), "total")
        assert abs(total - parts) <= 1


# ------------------------------------------------------------------------ rounding as citizens see it
DAY = 86_400
DEPLOYED_HALF_LIFE = 180 * DAY  # the deployments' half-life (co3chain.contracts.deploy)


def test_reward_of_five_reads_five_until_half_a_point_has_decayed(
    w3: Web3, tester: Any, accounts: list[Any], deploy: Any
) -> None:
    """A reward of 5 reads 5 in the award's block, one second and one day later, still 5 after 27 days
    (4.506 exactly), 4 from day 28 (4.489) and then falls by halves: 3, 1, 1, 0 after 1 to 4 half-lives.
    Flooring read 4 from the very next second on."""
    admin, rewarder, citizen = accounts[0], accounts[1], accounts[3]
    rep = deploy("Reputation", admin.address, DEPLOYED_HALF_LIFE, sender=admin)
    send(rep.functions.grantRole(REWARDER, rewarder.address), admin)
    t0 = latest_time(w3) + 10
    next_block_at(tester, t0)
    receipt = send(rep.functions.award(citizen.address, area(1), 5), rewarder)
    assert events(rep, receipt, "ReputationAwarded")[0].args.newScore == 5
    assert rep.functions.scoreOf(citizen.address, area(1)).call() == 5  # the award's block
    next_block_at(tester, t0 + 2)  # mines a block at t0 + 1
    assert latest_time(w3) == t0 + 1
    assert rep.functions.scoreOf(citizen.address, area(1)).call() == 5  # one block (second) later
    assert rep.functions.scoreOf(citizen.address, GLOBAL).call() == 5
    assert rep.functions.totalScore(area(1)).call() == 5

    expected = {1: 5, DAY: 5, 27 * DAY: 5, 28 * DAY: 4, DEPLOYED_HALF_LIFE: 3, 2 * DEPLOYED_HALF_LIFE: 1,
                3 * DEPLOYED_HALF_LIFE: 1, 4 * DEPLOYED_HALF_LIFE: 0}
    next_block_at(tester, t0 + 4 * DEPLOYED_HALF_LIFE + 2)
    for elapsed, points in expected.items():
        reference = round_half_up(exact_decay(5, elapsed, DEPLOYED_HALF_LIFE))
        assert reference == points, (elapsed, float(exact_decay(5, elapsed, DEPLOYED_HALF_LIFE)))
        if elapsed != 1:  # 1/15552000 would need 5^15552000: the series reference covers it
            assert round_half_up_exact(5, elapsed, DEPLOYED_HALF_LIFE) == points
        assert rep.functions.decayed(5, elapsed).call() == points, elapsed
        for fn in (rep.functions.getPastScore(citizen.address, area(1), t0 + elapsed),
                   rep.functions.getPastScore(citizen.address, GLOBAL, t0 + elapsed),
                   rep.functions.getPastTotalScore(area(1), t0 + elapsed)):
            assert fn.call() == points, (fn.fn_name, elapsed)


def test_frequent_small_updates_follow_exact_decay(w3: Web3, tester: Any, env: dict[str, Any]) -> None:
    """Attacker's view: every award re-checkpoints `decay(stored) + amount`. Rounding that to whole points would
    let frequent updates freeze a score (500 loses 0.35 a second here, less than half a point) or, floored, drain
    it by up to a point each. One-point awards every second to alice and bob (each also re-checkpoints the other's
    domain total and the global total: zero-point updates for the other's share) must keep every read at the
    exact value rounded, never above it."""
    rep, rewarder, alice, bob = env["rep"], env["rewarder"], env["alice"], env["bob"]
    domain = area(next(_domains))
    t0 = latest_time(w3) + 10
    next_block_at(tester, t0)
    send(rep.functions.award(alice.address, domain, 500), rewarder)
    history: list[tuple[int, int, Any]] = [(t0, 500, alice)]
    for i in range(1, 61):
        who = alice if i % 2 else bob
        next_block_at(tester, t0 + i)
        send(rep.functions.award(who.address, domain, 1), rewarder)
        history.append((t0 + i, 1, who))
    end = t0 + 61
    next_block_at(tester, end + 1)

    def exact_at(tp: int, who: Any | None) -> Fraction:
        return sum((exact_decay(a, tp - ht, HALF_LIFE) for ht, a, w in history
                    if ht <= tp and (who is None or w == who)), Fraction(0))

    drift = drift_bound(len(history), 600)
    for tp in (t0 + 10, t0 + 31, end, end + HALF_LIFE // 3):
        if tp >= latest_time(w3):
            next_block_at(tester, tp + 2)
        for who in (alice, bob):
            for d in (domain, GLOBAL):
                assert_rounded(rep.functions.getPastScore(who.address, d, tp).call(), exact_at(tp, who), drift)
        for d in (domain, GLOBAL):
            assert_rounded(rep.functions.getPastTotalScore(d, tp).call(), exact_at(tp, None), drift, "total")
    # 500 at t0 alone has lost more than 20 points by the end: a frozen score would be far above this.
    assert rep.functions.getPastScore(alice.address, domain, end).call() < 500 + 30 - 20


def test_repeated_key_recoveries_neither_mint_nor_erase(w3: Web3, tester: Any, env: dict[str, Any]) -> None:
    """Moving a score back and forth every second (the recovery role moves the exact fixed-point value) gives the
    same score as leaving it alone: rounded moves would have frozen 500 points (or floored them away)."""
    rep, admin, rewarder, alice, bob = env["rep"], env["admin"], env["rewarder"], env["alice"], env["bob"]
    mover = env["rewarder"]
    send(rep.functions.grantRole(role("RECOVERY_ROLE"), mover.address), admin)
    domain = area(next(_domains))
    t0 = latest_time(w3) + 10
    next_block_at(tester, t0)
    send(rep.functions.award(alice.address, domain, 500), rewarder)
    holder, other = alice, bob
    moved: list[int] = []
    for i in range(1, 41):
        next_block_at(tester, t0 + i)
        receipt = send(rep.functions.recoverScores(holder.address, other.address), mover)
        moved += [ev.args.amount for ev in events(rep, receipt, "ReputationRecovered") if ev.args.domain == domain]
        holder, other = other, holder
    end = t0 + 40
    next_block_at(tester, end + 2)
    # Each event reports the score read at its block: exact decay of the one award, rounded.
    assert len(moved) == 40
    for i, amount in enumerate(moved, 1):
        assert_rounded(amount, exact_decay(500, i, HALF_LIFE), drift_bound(i, 500), f"move {i}")
    for tp in (t0 + 7, end):
        exact = exact_decay(500, tp - t0, HALF_LIFE)
        held = sum(rep.functions.getPastScore(w.address, d, tp).call() for w in (alice, bob) for d in (domain,))
        assert_rounded(held, exact, drift_bound(41, 500))
        assert_rounded(rep.functions.getPastTotalScore(domain, tp).call(), exact, drift_bound(1, 500), "total")
    assert rep.functions.getPastScore(holder.address, GLOBAL, end).call() == round_half_up(
        exact_decay(500, end - t0, HALF_LIFE))
