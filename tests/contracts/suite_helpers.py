"""Helpers shared by the CO3 suite contract tests: revert decoding, time control, suite wiring.

Why: eth-tester reports a revert as ``TransactionFailed("execution reverted: b'...'")`` rather than web3's
``ContractCustomError``, so asserting a specific custom error needs the revert bytes back out of the
message. Every revert assertion in these tests compares the full revert data (selector and arguments)
when arguments are given, so a test fails if the contract reverts for a different reason.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from eth_abi import encode
from eth_tester.exceptions import TransactionFailed
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError
from web3.logs import DISCARD

_REVERT_PREFIX = "execution reverted: "

ADMIN_ROLE = b"\x00" * 32


def role(name: str) -> bytes:
    """``keccak256(name)``, the way the suite defines its AccessControl roles."""
    return bytes(Web3.keccak(text=name))


def selector(signature: str) -> bytes:
    """4-byte selector of an error signature such as ``"ZeroAddress()"``."""
    return bytes(Web3.keccak(text=signature)[:4])


def encode_error(signature: str, *args: Any) -> bytes:
    """Full revert data of custom error ``signature`` with ``args``."""
    types = signature[signature.index("(") + 1 : -1]
    type_list = [t for t in types.split(",") if t] if types else []
    if len(type_list) != len(args):
        raise ValueError(f"{signature} takes {len(type_list)} arguments, got {len(args)}")
    return selector(signature) + (encode(type_list, list(args)) if type_list else b"")


def revert_data(exc: BaseException) -> bytes:
    """The raw revert bytes carried by an eth-tester or web3 revert exception."""
    if isinstance(exc, ContractLogicError) and exc.data:
        data = exc.data
        return bytes.fromhex(data[2:] if isinstance(data, str) and data.startswith("0x") else str(data))
    message = str(exc.args[0]) if exc.args else ""
    if not message.startswith(_REVERT_PREFIX):
        raise AssertionError(f"not a revert with data: {exc!r}")
    payload = ast.literal_eval(message[len(_REVERT_PREFIX) :])
    if not isinstance(payload, bytes):
        raise AssertionError(f"unexpected revert payload: {payload!r}")
    return payload


@contextmanager
def reverts(signature: str, *args: Any) -> Iterator[None]:
    """Assert the block reverts with custom error ``signature`` (and exactly ``args`` when given)."""
    with pytest.raises((TransactionFailed, ContractLogicError)) as info:
        yield
    data = revert_data(info.value)
    if args:
        assert data == encode_error(signature, *args), f"expected {signature}{args}, got 0x{data.hex()}"
    else:
        assert data[:4] == selector(signature), f"expected {signature}, got 0x{data.hex()}"


def send(fn: Any, sender: Any) -> dict[str, Any]:
    """Transact ``fn`` from ``sender`` (LocalAccount or address) and return the successful receipt."""
    frm = sender.address if hasattr(sender, "address") else sender
    tx_hash = fn.transact({"from": frm})
    receipt = fn.w3.eth.wait_for_transaction_receipt(tx_hash)
    assert receipt["status"] == 1
    return receipt


def events(contract: Contract, receipt: dict[str, Any], name: str) -> list[Any]:
    """Decoded ``name`` events emitted by ``contract`` in ``receipt``."""
    return list(getattr(contract.events, name)().process_receipt(receipt, errors=DISCARD))


def latest_time(w3: Web3) -> int:
    """Timestamp of the latest block: what view calls see as ``block.timestamp``."""
    return int(w3.eth.get_block("latest")["timestamp"])


def next_block_at(tester: Any, timestamp: int) -> None:
    """Make the next mined transaction run with ``block.timestamp == timestamp``.

    eth-tester's ``time_travel(t)`` mines a block at ``t - 1`` and leaves the pending block at ``t``.
    """
    tester.time_travel(timestamp)


@dataclass
class Suite:
    """The deployed, wired reward suite (no governance) and its actors."""

    w3: Web3
    admin: Any
    registrar: Any
    pa: Any
    registry: Contract
    areas: Contract
    token: Contract
    reputation: Contract
    hub: Contract
    oracle_keys: list[bytes]

    @property
    def chain_id(self) -> int:
        return int(self.w3.eth.chain_id)


HALF_LIFE = 30 * 24 * 3600


def oracle_keys(n: int) -> list[bytes]:
    """Deterministic oracle private keys, distinct from the funded test accounts."""
    return [bytes(Web3.keccak(text=f"co3-oracle-{i}")) for i in range(n)]


def build_suite(
    w3: Web3,
    accounts: list[Any],
    deploy: Callable[..., Contract],
    *,
    n_oracles: int = 3,
    threshold: int = 2,
    half_life: int = HALF_LIFE,
) -> Suite:
    """Deploy registry, areas, token, reputation and hub with the roles the deploy script grants."""
    from eth_account import Account

    admin, registrar, pa = accounts[0], accounts[1], accounts[2]
    registry = deploy("CitizenRegistry", admin.address, sender=admin)
    areas = deploy("CommoningAreas", admin.address, sender=admin)
    token = deploy("CommonsToken", admin.address, sender=admin)
    reputation = deploy("Reputation", admin.address, half_life, sender=admin)
    keys = oracle_keys(n_oracles)
    signers = [Account.from_key(k).address for k in keys]
    hub = deploy(
        "AttestationHub",
        admin.address,
        registry.address,
        areas.address,
        token.address,
        reputation.address,
        signers,
        threshold,
        sender=admin,
    )
    send(registry.functions.grantRole(role("REGISTRAR_ROLE"), registrar.address), admin)
    send(registry.functions.setAccountPa(registrar.address, 1), admin)
    send(registry.functions.setAccountPa(pa.address, 1), admin)
    send(areas.functions.grantRole(role("AREA_MANAGER_ROLE"), pa.address), admin)
    send(token.functions.grantRole(role("MINTER_ROLE"), hub.address), admin)
    send(reputation.functions.grantRole(role("REWARDER_ROLE"), hub.address), admin)
    return Suite(w3, admin, registrar, pa, registry, areas, token, reputation, hub, keys)
