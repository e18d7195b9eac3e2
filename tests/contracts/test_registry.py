"""CitizenRegistry: registrar-only registration, one identity per address, expiry, revocation, past counts."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from web3 import Web3

from co3chain.privacy.revocation import RevocationReason
from tests.contracts.suite_helpers import (
    ADMIN_ROLE,
    events,
    latest_time,
    next_block_at,
    reverts,
    role,
    send,
)

REGISTRAR = role("REGISTRAR_ROLE")
YEAR = 365 * 24 * 3600


def ident(n: int) -> bytes:
    return bytes(Web3.keccak(text=f"identity-{n}"))


@pytest.fixture
def env(w3: Web3, accounts: list[Any], deploy: Any) -> dict[str, Any]:
    admin, registrar = accounts[0], accounts[1]
    registry = deploy("CitizenRegistry", admin.address, sender=admin)
    send(registry.functions.grantRole(REGISTRAR, registrar.address), admin)
    send(registry.functions.setAccountPa(registrar.address, 1), admin)
    return {"registry": registry, "admin": admin, "registrar": registrar, "citizens": accounts[3:]}


def test_constructor_rejects_zero_admin(deploy: Any) -> None:
    with reverts("ZeroAddress()"):
        deploy("CitizenRegistry", "0x" + "00" * 20)


def test_clock_is_timestamp(w3: Web3, env: dict[str, Any]) -> None:
    reg = env["registry"]
    assert reg.functions.CLOCK_MODE().call() == "mode=timestamp"
    assert reg.functions.clock().call() == latest_time(w3)


def test_register_requires_registrar_role(w3: Web3, env: dict[str, Any]) -> None:
    reg, outsider, alice = env["registry"], env["citizens"][0], env["citizens"][1]
    expires = latest_time(w3) + YEAR
    with reverts("AccessControlUnauthorizedAccount(address,bytes32)", outsider.address, REGISTRAR):
        reg.functions.register(alice.address, ident(1), expires).transact({"from": outsider.address})
    # The admin itself is not a registrar either: roles are explicit.
    with reverts("AccessControlUnauthorizedAccount(address,bytes32)", env["admin"].address, REGISTRAR):
        reg.functions.register(alice.address, ident(1), expires).transact({"from": env["admin"].address})


def test_register_validates_input(w3: Web3, env: dict[str, Any]) -> None:
    reg, registrar, alice = env["registry"], env["registrar"], env["citizens"][0]
    now = latest_time(w3)
    with reverts("ZeroAddress()"):
        reg.functions.register("0x" + "00" * 20, ident(1), now + YEAR).transact({"from": registrar.address})
    with reverts("InvalidIdentityHash()"):
        reg.functions.register(alice.address, b"\x00" * 32, now + YEAR).transact({"from": registrar.address})
    with reverts("InvalidExpiry(uint64)", now):
        reg.functions.register(alice.address, ident(1), now).transact({"from": registrar.address})


def test_register_and_query(w3: Web3, env: dict[str, Any]) -> None:
    reg, registrar, alice = env["registry"], env["registrar"], env["citizens"][0]
    expires = latest_time(w3) + YEAR
    receipt = send(reg.functions.register(alice.address, ident(1), expires), registrar)
    (ev,) = events(reg, receipt, "CitizenRegistered")
    assert ev.args.citizen == alice.address
    assert ev.args.identityHash == ident(1)
    assert ev.args.expiresAt == expires
    assert ev.args.registrar == registrar.address
    block_time = w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    assert reg.functions.isCitizen(alice.address).call()
    assert reg.functions.registeredAt(alice.address).call() == block_time
    assert reg.functions.citizenCount().call() == 1
    assert reg.functions.addressOfIdentity(ident(1)).call() == alice.address
    assert reg.functions.getCitizen(alice.address).call() == (ident(1), block_time, expires, False)


def test_one_identity_one_address(w3: Web3, env: dict[str, Any]) -> None:
    reg, registrar = env["registry"], env["registrar"]
    alice, bob = env["citizens"][0], env["citizens"][1]
    expires = latest_time(w3) + YEAR
    send(reg.functions.register(alice.address, ident(1), expires), registrar)
    with reverts("AlreadyRegistered(address)", alice.address):
        reg.functions.register(alice.address, ident(2), expires).transact({"from": registrar.address})
    with reverts("IdentityAlreadyBound(bytes32,address)", ident(1), alice.address):
        reg.functions.register(bob.address, ident(1), expires).transact({"from": registrar.address})


def test_revoke_and_reinstate(w3: Web3, env: dict[str, Any]) -> None:
    reg, registrar = env["registry"], env["registrar"]
    alice, bob = env["citizens"][0], env["citizens"][1]
    expires = latest_time(w3) + YEAR
    first = send(reg.functions.register(alice.address, ident(1), expires), registrar)
    receipt = send(reg.functions.revoke(alice.address, RevocationReason.ELIGIBILITY_ENDED), registrar)
    (ev,) = events(reg, receipt, "CitizenRevoked")
    assert (ev.args.citizen, ev.args.identityHash, ev.args.reasonCode) == (alice.address, ident(1), 2)
    assert not reg.functions.isCitizen(alice.address).call()
    assert reg.functions.citizenCount().call() == 0
    with reverts("CitizenIsRevoked(address)", alice.address):
        reg.functions.revoke(alice.address, RevocationReason.UNSPECIFIED).transact({"from": registrar.address})
    with reverts("CitizenIsRevoked(address)", alice.address):
        reg.functions.renew(alice.address, expires + 1).transact({"from": registrar.address})
    # The revoked identity stays bound: it cannot move to a new address, nor the address to a new identity.
    with reverts("IdentityAlreadyBound(bytes32,address)", ident(1), alice.address):
        reg.functions.register(bob.address, ident(1), expires).transact({"from": registrar.address})
    with reverts("IdentityMismatch(address,bytes32)", alice.address, ident(2)):
        reg.functions.register(alice.address, ident(2), expires).transact({"from": registrar.address})
    # Reinstating the same pair is allowed and restarts the registration time.
    again = send(reg.functions.register(alice.address, ident(1), expires), registrar)
    assert reg.functions.isCitizen(alice.address).call()
    assert reg.functions.citizenCount().call() == 1
    assert (
        reg.functions.registeredAt(alice.address).call() > w3.eth.get_block(first["blockNumber"])["timestamp"]
    )
    assert (
        reg.functions.registeredAt(alice.address).call()
        == w3.eth.get_block(again["blockNumber"])["timestamp"]
    )


def test_release_identity(w3: Web3, env: dict[str, Any]) -> None:
    reg, registrar, admin = env["registry"], env["registrar"], env["admin"]
    alice, bob = env["citizens"][0], env["citizens"][1]
    expires = latest_time(w3) + YEAR
    with reverts("IdentityNotBound(bytes32)", ident(1)):
        reg.functions.releaseIdentity(ident(1)).transact({"from": admin.address})
    send(reg.functions.register(alice.address, ident(1), expires), registrar)
    with reverts("IdentityNotRevoked(bytes32)", ident(1)):
        reg.functions.releaseIdentity(ident(1)).transact({"from": admin.address})
    send(reg.functions.revoke(alice.address, RevocationReason.KEY_COMPROMISED), registrar)
    with reverts("AccessControlUnauthorizedAccount(address,bytes32)", registrar.address, ADMIN_ROLE):
        reg.functions.releaseIdentity(ident(1)).transact({"from": registrar.address})
    receipt = send(reg.functions.releaseIdentity(ident(1)), admin)
    (ev,) = events(reg, receipt, "IdentityReleased")
    assert (ev.args.identityHash, ev.args.previousCitizen, ev.args.admin) == (
        ident(1),
        alice.address,
        admin.address,
    )
    assert reg.functions.addressOfIdentity(ident(1)).call() == "0x" + "00" * 20
    assert reg.functions.registeredAt(alice.address).call() == 0
    send(reg.functions.register(bob.address, ident(1), expires), registrar)
    assert reg.functions.isCitizen(bob.address).call()
    assert reg.functions.citizenCount().call() == 1


def test_expiry_and_renew(w3: Web3, tester: Any, env: dict[str, Any]) -> None:
    reg, registrar, alice = env["registry"], env["registrar"], env["citizens"][0]
    with reverts("NotRegistered(address)", alice.address):
        reg.functions.renew(alice.address, latest_time(w3) + YEAR).transact({"from": registrar.address})
    with reverts("NotRegistered(address)", alice.address):
        reg.functions.revoke(alice.address, RevocationReason.UNSPECIFIED).transact({"from": registrar.address})
    expires = latest_time(w3) + 100
    send(reg.functions.register(alice.address, ident(1), expires), registrar)
    next_block_at(tester, expires + 1)  # latest block is now exactly at expiresAt: still valid
    assert latest_time(w3) == expires
    assert reg.functions.isCitizen(alice.address).call()
    next_block_at(tester, expires + 2)
    assert not reg.functions.isCitizen(alice.address).call()
    assert not reg.functions.isEligibleAt(alice.address, expires - 50).call()
    # Expired citizens stay counted until revoked (documented: expiry is passive).
    assert reg.functions.citizenCount().call() == 1
    now = latest_time(w3)
    with reverts("InvalidExpiry(uint64)"):
        reg.functions.renew(alice.address, now).transact({"from": registrar.address})
    receipt = send(reg.functions.renew(alice.address, now + YEAR), registrar)
    (ev,) = events(reg, receipt, "CitizenRenewed")
    assert ev.args.expiresAt == now + YEAR
    assert reg.functions.isCitizen(alice.address).call()


def test_is_eligible_at(w3: Web3, env: dict[str, Any]) -> None:
    reg, registrar, alice, bob = env["registry"], env["registrar"], env["citizens"][0], env["citizens"][1]
    expires = latest_time(w3) + YEAR
    receipt = send(reg.functions.register(alice.address, ident(1), expires), registrar)
    t = w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    assert not reg.functions.isEligibleAt(alice.address, t - 1).call()
    assert reg.functions.isEligibleAt(alice.address, t).call()
    assert reg.functions.isEligibleAt(alice.address, t + 1000).call()
    assert not reg.functions.isEligibleAt(bob.address, t).call()
    send(reg.functions.revoke(alice.address, RevocationReason.UNSPECIFIED), registrar)
    assert not reg.functions.isEligibleAt(alice.address, t).call()


def test_past_citizen_count(w3: Web3, tester: Any, env: dict[str, Any]) -> None:
    reg, registrar, citizens = env["registry"], env["registrar"], env["citizens"]
    start = latest_time(w3)
    expires = start + YEAR
    times = []
    for i, t in enumerate((start + 100, start + 200, start + 300)):
        next_block_at(tester, t)
        send(reg.functions.register(citizens[i].address, ident(i), expires), registrar)
        times.append(t)
    next_block_at(tester, start + 400)
    send(reg.functions.revoke(citizens[0].address, RevocationReason.ELIGIBILITY_ENDED), registrar)
    with reverts("FutureLookup(uint256,uint48)"):
        reg.functions.getPastCitizenCount(latest_time(w3) + 1).call()
    with reverts("FutureLookup(uint256,uint48)", start + 400, start + 400):
        reg.functions.getPastCitizenCount(start + 400).call()
    next_block_at(tester, start + 500)
    expected = {start + 99: 0, start + 100: 1, start + 199: 1, start + 200: 2, start + 300: 3, start + 400: 2}
    for timepoint, count in expected.items():
        assert reg.functions.getPastCitizenCount(timepoint).call() == count, timepoint


def test_every_registrar_function_is_role_gated(w3: Web3, env: dict[str, Any]) -> None:
    reg, registrar, alice, outsider = (
        env["registry"],
        env["registrar"],
        env["citizens"][0],
        env["citizens"][1],
    )
    send(reg.functions.register(alice.address, ident(1), latest_time(w3) + YEAR), registrar)
    for fn in (
        reg.functions.register(outsider.address, ident(2), latest_time(w3) + YEAR),
        reg.functions.renew(alice.address, latest_time(w3) + 2 * YEAR),
        reg.functions.revoke(alice.address, RevocationReason.UNSPECIFIED),
    ):
        with reverts("AccessControlUnauthorizedAccount(address,bytes32)", outsider.address, REGISTRAR):
            fn.transact({"from": outsider.address})
    with reverts("AccessControlUnauthorizedAccount(address,bytes32)", registrar.address, ADMIN_ROLE):
        reg.functions.grantRole(REGISTRAR, outsider.address).transact({"from": registrar.address})
    # Revoking the role takes effect immediately.
    send(reg.functions.revokeRole(REGISTRAR, registrar.address), env["admin"])
    with reverts("AccessControlUnauthorizedAccount(address,bytes32)", registrar.address, REGISTRAR):
        reg.functions.revoke(alice.address, RevocationReason.UNSPECIFIED).transact({"from": registrar.address})


# No shrinking: each example replays transactions on a chain, shrinking would take minutes.
@settings(
    max_examples=10,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(ops=st.lists(st.tuples(st.integers(0, 4), st.booleans(), st.integers(1, 50)), min_size=1, max_size=12))
def test_past_count_matches_model(
    w3: Web3, tester: Any, env: dict[str, Any], ops: list[tuple[int, bool, int]]
) -> None:
    """Random register/revoke sequences: every past count equals a replay of the successful operations."""
    reg, registrar, citizens = env["registry"], env["registrar"], env["citizens"][:5]
    active = {c.address: reg.functions.getCitizen(c.address).call() for c in citizens}
    live = {a for a, rec in active.items() if rec[1] != 0 and not rec[3]}
    base_count = reg.functions.citizenCount().call()
    assert base_count == len(live)
    t = latest_time(w3) + 1
    history: list[tuple[int, int]] = []
    for who, do_register, gap in ops:
        t += gap
        next_block_at(tester, t)
        addr = citizens[who].address
        if do_register and addr not in live:
            rec = reg.functions.getCitizen(addr).call()
            identity = rec[0] if rec[1] != 0 else bytes(Web3.keccak(text=f"model-{addr}"))
            send(reg.functions.register(addr, identity, t + YEAR), registrar)
            live.add(addr)
        elif not do_register and addr in live:
            send(reg.functions.revoke(addr, RevocationReason.UNSPECIFIED), registrar)
            live.discard(addr)
        else:
            continue
        history.append((t, len(live)))
    next_block_at(tester, t + 11)  # latest block at t + 10: t + 9 is in the past
    if history:
        assert reg.functions.getPastCitizenCount(history[0][0] - 1).call() == base_count
    for i, (when, expected) in enumerate(history):
        assert reg.functions.getPastCitizenCount(when).call() == expected
        end = history[i + 1][0] - 1 if i + 1 < len(history) else t + 9
        assert reg.functions.getPastCitizenCount(end).call() == expected
    assert reg.functions.citizenCount().call() == len(live)


DAY = 24 * 3600


def test_past_eligible_count_follows_expiry_renewal_and_revocation(w3: Web3, tester: Any,
                                                                   env: dict[str, Any]) -> None:
    """getPastEligibleCount: expired citizens leave the count at the end of their expiry day (UTC), and
    renewals or revocations after that never rewrite the past."""
    reg, registrar = env["registry"], env["registrar"]
    a, b, c = env["citizens"][:3]
    day0 = (latest_time(w3) // DAY + 1) * DAY  # next UTC midnight
    next_block_at(tester, day0 + 100)
    for n, who in enumerate((a, b, c)):
        send(reg.functions.register(who.address, ident(n), day0 + 3600 if who != c else day0 + 10 * DAY), registrar)
    # a and b expire at day0 + 1 h: counted until day0 + 1 day, excluded from then on.
    next_block_at(tester, day0 + 2 * DAY)
    send(reg.functions.renew(a.address, day0 + 20 * DAY), registrar)  # renewed after its expiry day ended
    next_block_at(tester, day0 + 3 * DAY)
    send(reg.functions.revoke(b.address, RevocationReason.ELIGIBILITY_ENDED), registrar)  # revoked after its expiry day ended
    next_block_at(tester, day0 + 4 * DAY)
    send(reg.functions.renew(c.address, day0 + 30 * DAY), registrar)  # renewed before expiry: no gap
    next_block_at(tester, day0 + 6 * DAY)
    tester.mine_blocks(1)
    past = reg.functions.getPastEligibleCount
    assert past(day0 + 200).call() == 3
    assert past(day0 + DAY - 1).call() == 3  # a and b expired during the day: still counted (errs high)
    assert past(day0 + DAY).call() == 1
    assert past(day0 + 2 * DAY - 1).call() == 1
    assert past(day0 + 2 * DAY).call() == 2  # a renewed
    assert past(day0 + 3 * DAY).call() == 2  # b revoked: it was already out
    assert past(day0 + 4 * DAY).call() == 2
    assert past(day0 + 5 * DAY).call() == 2
    assert reg.functions.getPastCitizenCount(day0 + 5 * DAY).call() == 2
    with reverts("FutureLookup(uint256,uint48)"):
        past(latest_time(w3) + 10).call()
