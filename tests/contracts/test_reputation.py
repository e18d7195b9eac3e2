"""Reputation: rewarder-only awards, no transfers, per-domain scores, deterministic decay at past timepoints.

The precision contract tested here is the one stated in Reputation.sol:
``|decayed(v, dt) - v * 2^(-dt/halfLife)| <= 1 + v * 2^-63`` and monotone non-increasing in ``dt``; a stored
score accumulates at most one unit of rounding per award.
"""

from __future__ import annotations

import itertools
from decimal import Decimal, getcontext
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from web3 import Web3

from tests.contracts.suite_helpers import events, latest_time, next_block_at, reverts, role, send

getcontext().prec = 100

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


def exact_decay(value: int, elapsed: int, half_life: int) -> Decimal:
    return Decimal(value) * (Decimal(2) ** (Decimal(-elapsed) / Decimal(half_life)))


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
    with reverts("SafeCastOverflowedUintDowncast(uint8,uint256)", 208, 2**208):
        rep.functions.award(alice.address, area(1), 2**208).transact({"from": env["rewarder"].address})


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
    assert abs(total_global - parts) <= 3


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
    assert get(alice.address, area(7), t0 + HALF_LIFE // 2).call() == int(
        exact_decay(1_000_000, HALF_LIFE // 2, HALF_LIFE)
    )
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
    assert abs(Decimal(after) - expected) <= 2 + expected * Decimal(2) ** -60


@pytest.fixture
def odd_rep(accounts: list[Any], deploy: Any) -> Any:
    return deploy("Reputation", accounts[0].address, ODD_HALF_LIFE, sender=accounts[0])


@settings(max_examples=150, deadline=None, suppress_health_check=FIXTURE_HC)
@given(
    value=st.one_of(st.integers(0, 10**24), st.integers(0, 2**208 - 1)),
    elapsed=st.integers(0, 300 * ODD_HALF_LIFE),
    step=st.integers(1, 5 * ODD_HALF_LIFE),
)
def test_decay_function_precision_and_monotonicity(odd_rep: Any, value: int, elapsed: int, step: int) -> None:
    got = odd_rep.functions.decayed(value, elapsed).call()
    exact = exact_decay(value, elapsed, ODD_HALF_LIFE)
    assert abs(Decimal(got) - exact) <= 1 + Decimal(value) * Decimal(2) ** -63
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
            exact = sum((exact_decay(a, tp - ht, HALF_LIFE) for ht, a in mine), Decimal(0))
            assert abs(Decimal(got) - exact) <= len(mine) + 1 + exact * Decimal(2) ** -60
            last_award = max((ht for ht, _ in mine), default=None)
            if who.address in previous and previous[who.address][0] == last_award:
                assert got <= previous[who.address][1], "score increased without an award"
            previous[who.address] = (last_award, got)
        # The domain total decays like its parts, up to the documented decay precision: each decayed value is
        # within 1 + v * 2^-63 of exact (one unit of rounding per award plus the factor's relative error), so
        # the total and the sum of parts may differ by those units plus twice the relative term used above.
        assert abs(Decimal(total - parts)) <= len(history) + 2 + 2 * Decimal(parts) * Decimal(2) ** -60
