"""CommonsToken: minter-only supply, auto self-delegation, timestamp clock, spending (burn/transfer), spendBySig."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account
from web3 import Web3

from co3chain.contracts.typed_data import sign_spend, spend_typed_data
from tests.contracts.suite_helpers import (
    ADMIN_ROLE,
    events,
    latest_time,
    next_block_at,
    reverts,
    role,
    send,
)

MINTER = role("MINTER_ROLE")
ZERO = "0x" + "00" * 20
REF = bytes(Web3.keccak(text="coffee-order-42"))


@pytest.fixture
def env(w3: Web3, accounts: list[Any], deploy: Any) -> dict[str, Any]:
    admin, minter = accounts[0], accounts[1]
    token = deploy("CommonsToken", admin.address, sender=admin)
    send(token.functions.grantRole(MINTER, minter.address), admin)
    burner, shop = accounts[8], accounts[9]
    send(token.functions.setService(burner.address, True, True), admin)
    send(token.functions.setService(shop.address, True, False), admin)
    return {
        "token": token,
        "admin": admin,
        "minter": minter,
        "alice": accounts[3],
        "bob": accounts[4],
        "relayer": accounts[5],
        "burner": burner,
        "shop": shop,
    }


def test_metadata_and_clock(w3: Web3, env: dict[str, Any]) -> None:
    token = env["token"]
    assert token.functions.name().call() == "CO3 Commons"
    assert token.functions.symbol().call() == "CO3"
    assert token.functions.decimals().call() == 18
    assert token.functions.CLOCK_MODE().call() == "mode=timestamp"
    assert token.functions.clock().call() == latest_time(w3)


def test_constructor_rejects_zero_admin(deploy: Any) -> None:
    with reverts("ZeroAddress()"):
        deploy("CommonsToken", ZERO)


def test_mint_requires_minter_role(env: dict[str, Any]) -> None:
    token, alice = env["token"], env["alice"]
    for caller in (alice, env["admin"]):
        with reverts("AccessControlUnauthorizedAccount(address,bytes32)", caller.address, MINTER):
            token.functions.mint(alice.address, 1).transact({"from": caller.address})
    with reverts("ZeroAddress()"):
        token.functions.mint(ZERO, 1).transact({"from": env["minter"].address})


def test_first_mint_self_delegates_once(env: dict[str, Any]) -> None:
    token, minter, alice = env["token"], env["minter"], env["alice"]
    receipt = send(token.functions.mint(alice.address, 100), minter)
    assert [e.args.account for e in events(token, receipt, "AutoDelegated")] == [alice.address]
    assert token.functions.delegates(alice.address).call() == alice.address
    assert token.functions.getVotes(alice.address).call() == 100
    receipt = send(token.functions.mint(alice.address, 50), minter)
    assert events(token, receipt, "AutoDelegated") == []
    assert token.functions.getVotes(alice.address).call() == 150
    # An explicit opt-out is respected by later mints.
    send(token.functions.delegate(ZERO), alice)
    send(token.functions.mint(alice.address, 10), minter)
    assert token.functions.delegates(alice.address).call() == ZERO
    assert token.functions.getVotes(alice.address).call() == 0


def test_existing_delegation_is_kept_on_first_mint(env: dict[str, Any]) -> None:
    token, minter, alice, bob = env["token"], env["minter"], env["alice"], env["bob"]
    send(token.functions.delegate(bob.address), alice)
    receipt = send(token.functions.mint(alice.address, 70), minter)
    assert events(token, receipt, "AutoDelegated") == []
    assert token.functions.delegates(alice.address).call() == bob.address
    assert token.functions.getVotes(bob.address).call() == 70
    assert token.functions.getVotes(alice.address).call() == 0


def test_past_votes_use_timestamps(w3: Web3, tester: Any, env: dict[str, Any]) -> None:
    token, minter, alice = env["token"], env["minter"], env["alice"]
    t0 = latest_time(w3) + 1000
    next_block_at(tester, t0)
    send(token.functions.mint(alice.address, 100), minter)
    next_block_at(tester, t0 + 500)
    send(token.functions.mint(alice.address, 20), minter)
    next_block_at(tester, t0 + 600)
    assert token.functions.getPastVotes(alice.address, t0 - 1).call() == 0
    assert token.functions.getPastVotes(alice.address, t0).call() == 100
    assert token.functions.getPastVotes(alice.address, t0 + 499).call() == 100
    assert token.functions.getPastVotes(alice.address, t0 + 500).call() == 120
    assert token.functions.getPastTotalSupply(t0 + 250).call() == 100
    now = latest_time(w3)
    with reverts("ERC5805FutureLookup(uint256,uint48)", now, now):
        token.functions.getPastVotes(alice.address, now).call()


def test_set_service_is_admin_only(env: dict[str, Any]) -> None:
    token, admin, alice = env["token"], env["admin"], env["alice"]
    with reverts("AccessControlUnauthorizedAccount(address,bytes32)", alice.address, ADMIN_ROLE):
        token.functions.setService(alice.address, True, False).transact({"from": alice.address})
    with reverts("ZeroAddress()"):
        token.functions.setService(ZERO, True, False).transact({"from": admin.address})
    receipt = send(token.functions.setService(alice.address, True, True), admin)
    (ev,) = events(token, receipt, "ServiceUpdated")
    assert (ev.args.service, ev.args.accepted, ev.args.burnOnSpend) == (alice.address, True, True)
    assert token.functions.services(alice.address).call() == [True, True]
    send(token.functions.setService(alice.address, False, False), admin)
    assert token.functions.services(alice.address).call() == [False, False]


def test_spend_burn_mode(env: dict[str, Any]) -> None:
    token, alice, burner = env["token"], env["alice"], env["burner"]
    send(token.functions.mint(alice.address, 100), env["minter"])
    receipt = send(token.functions.spend(burner.address, 40, REF), alice)
    (ev,) = events(token, receipt, "Spent")
    assert (ev.args.owner, ev.args.service, ev.args.amount, ev.args.ref, ev.args.burned) == (
        alice.address,
        burner.address,
        40,
        REF,
        True,
    )
    assert token.functions.balanceOf(alice.address).call() == 60
    assert token.functions.balanceOf(burner.address).call() == 0
    assert token.functions.totalSupply().call() == 60
    assert token.functions.getVotes(alice.address).call() == 60


def test_spend_transfer_mode(env: dict[str, Any]) -> None:
    token, alice, shop = env["token"], env["alice"], env["shop"]
    send(token.functions.mint(alice.address, 100), env["minter"])
    receipt = send(token.functions.spend(shop.address, 30, REF), alice)
    (ev,) = events(token, receipt, "Spent")
    assert ev.args.burned is False
    assert token.functions.balanceOf(shop.address).call() == 30
    assert token.functions.totalSupply().call() == 100


def test_spend_reverts(env: dict[str, Any]) -> None:
    token, alice, bob, shop = env["token"], env["alice"], env["bob"], env["shop"]
    send(token.functions.mint(alice.address, 10), env["minter"])
    with reverts("ServiceNotAccepted(address)", bob.address):
        token.functions.spend(bob.address, 1, REF).transact({"from": alice.address})
    with reverts("ZeroAmount()"):
        token.functions.spend(shop.address, 0, REF).transact({"from": alice.address})
    with reverts("ERC20InsufficientBalance(address,uint256,uint256)", alice.address, 10, 11):
        token.functions.spend(shop.address, 11, REF).transact({"from": alice.address})
    send(token.functions.setService(shop.address, False, False), env["admin"])
    with reverts("ServiceNotAccepted(address)", shop.address):
        token.functions.spend(shop.address, 1, REF).transact({"from": alice.address})


def _spend_sig(
    w3: Web3, token: Any, owner: Any, service: str, amount: int, deadline: int, **over: Any
) -> bytes:
    nonce = over.pop("nonce", token.functions.nonces(owner.address).call())
    data = spend_typed_data(
        w3.eth.chain_id,
        token.address,
        owner=owner.address,
        service=service,
        amount=amount,
        ref=REF,
        nonce=nonce,
        deadline=deadline,
    )
    return sign_spend(over.pop("key", owner.key), data)


def test_spend_by_sig_and_replay(w3: Web3, env: dict[str, Any]) -> None:
    token, alice, relayer, burner = env["token"], env["alice"], env["relayer"], env["burner"]
    send(token.functions.mint(alice.address, 100), env["minter"])
    deadline = latest_time(w3) + 3600
    sig = _spend_sig(w3, token, alice, burner.address, 25, deadline)
    call = token.functions.spendBySig(alice.address, burner.address, 25, REF, deadline, sig)
    receipt = send(call, relayer)
    (ev,) = events(token, receipt, "Spent")
    assert (ev.args.owner, ev.args.amount, ev.args.burned) == (alice.address, 25, True)
    assert token.functions.balanceOf(alice.address).call() == 75
    assert token.functions.nonces(alice.address).call() == 1
    # Replaying the same signature fails: the nonce it signed is used.
    with reverts("SpendInvalidSigner(address)", alice.address):
        call.transact({"from": relayer.address})
    assert token.functions.balanceOf(alice.address).call() == 75


def test_spend_by_sig_rejections(w3: Web3, tester: Any, env: dict[str, Any]) -> None:
    token, alice, bob, relayer, shop = env["token"], env["alice"], env["bob"], env["relayer"], env["shop"]
    send(token.functions.mint(alice.address, 100), env["minter"])
    deadline = latest_time(w3) + 100
    sig = _spend_sig(w3, token, alice, shop.address, 10, deadline)
    # Tampered amount, wrong service, wrong owner, signature by someone else, future nonce: all invalid.
    for owner, service, amount, signature in (
        (alice.address, shop.address, 11, sig),
        (alice.address, env["burner"].address, 10, sig),
        (bob.address, shop.address, 10, sig),
        (
            alice.address,
            shop.address,
            10,
            _spend_sig(w3, token, alice, shop.address, 10, deadline, key=bob.key),
        ),
        (alice.address, shop.address, 10, _spend_sig(w3, token, alice, shop.address, 10, deadline, nonce=1)),
        (alice.address, shop.address, 10, b"\x01" * 65),
        (alice.address, shop.address, 10, sig[:64]),
    ):
        with reverts("SpendInvalidSigner(address)", owner):
            token.functions.spendBySig(owner, service, amount, REF, deadline, signature).transact(
                {"from": relayer.address}
            )
    # Expired: block.timestamp > deadline.
    next_block_at(tester, deadline + 1)
    with reverts("SpendExpiredSignature(uint256)", deadline):
        token.functions.spendBySig(alice.address, shop.address, 10, REF, deadline, sig).transact(
            {"from": relayer.address}
        )
    assert token.functions.balanceOf(alice.address).call() == 100
    assert token.functions.nonces(alice.address).call() == 0


def test_spend_by_sig_at_deadline_is_valid(w3: Web3, tester: Any, env: dict[str, Any]) -> None:
    token, alice, shop = env["token"], env["alice"], env["shop"]
    send(token.functions.mint(alice.address, 100), env["minter"])
    deadline = latest_time(w3) + 100
    sig = _spend_sig(w3, token, alice, shop.address, 10, deadline)
    next_block_at(tester, deadline)
    send(token.functions.spendBySig(alice.address, shop.address, 10, REF, deadline, sig), env["relayer"])
    assert token.functions.balanceOf(shop.address).call() == 10


def test_malleable_signature_is_rejected(w3: Web3, env: dict[str, Any]) -> None:
    """The high-s twin of a valid signature recovers the same address but must be refused."""
    token, alice, shop = env["token"], env["alice"], env["shop"]
    send(token.functions.mint(alice.address, 100), env["minter"])
    deadline = latest_time(w3) + 100
    sig = _spend_sig(w3, token, alice, shop.address, 10, deadline)
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    r, s, v = sig[:32], int.from_bytes(sig[32:64], "big"), sig[64]
    twin = r + (n - s).to_bytes(32, "big") + bytes([55 - v])
    with reverts("SpendInvalidSigner(address)", alice.address):
        token.functions.spendBySig(alice.address, shop.address, 10, REF, deadline, twin).transact(
            {"from": env["relayer"].address}
        )


def test_permit_shares_the_nonce(w3: Web3, env: dict[str, Any]) -> None:
    token, alice, bob = env["token"], env["alice"], env["bob"]
    deadline = latest_time(w3) + 100
    permit = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Permit": [
                {"name": "owner", "type": "address"},
                {"name": "spender", "type": "address"},
                {"name": "value", "type": "uint256"},
                {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint256"},
            ],
        },
        "primaryType": "Permit",
        "domain": {
            "name": "CO3 Commons",
            "version": "1",
            "chainId": w3.eth.chain_id,
            "verifyingContract": token.address,
        },
        "message": {
            "owner": alice.address,
            "spender": bob.address,
            "value": 5,
            "nonce": 0,
            "deadline": deadline,
        },
    }
    signed = Account.sign_typed_data(alice.key, full_message=permit)
    send(
        token.functions.permit(
            alice.address,
            bob.address,
            5,
            deadline,
            signed.v,
            signed.r.to_bytes(32, "big"),
            signed.s.to_bytes(32, "big"),
        ),
        bob,
    )
    assert token.functions.allowance(alice.address, bob.address).call() == 5
    assert token.functions.nonces(alice.address).call() == 1
