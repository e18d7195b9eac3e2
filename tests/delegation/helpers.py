"""A governance suite with LiquidDelegation bound, and helpers to make citizens, delegate, vote and count.

Citizens are fresh keys per test (or per Hypothesis example): they only sign (delegations, ballots); the
relayer / admin accounts of the governance test suite pay the gas.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from web3 import Web3
from web3.contract import Contract

from co3chain.delegation.typed_data import delegate_typed_data, sign_typed, undelegate_typed_data
from tests.contracts.suite_helpers import events, role, send
from tests.contracts.test_governance import YEAR, Gov, build_gov

_serial = itertools.count()


@dataclass
class Env:
    """Governance (tests' build) plus a bound LiquidDelegation."""

    g: Gov
    ld: Contract

    @property
    def gov(self) -> Contract:
        return self.g.gov

    def citizen(self, tag: str = "c", *, pa: int = 1) -> bytes:
        """A new citizen's private key, registered by PA ``pa`` (1: the area's PA, "Turin"; 2: another, "Athens")."""
        key = bytes(Web3.keccak(text=f"co3-delegation-{tag}-{next(_serial)}"))
        who = Account.from_key(key).address
        ident = bytes(Web3.keccak(text=f"delegation-identity-{who}"))
        registrar = self.g.registrar if pa == 1 else self.g.pa2
        send(self.g.registry.functions.register(who, ident, self.g.now() + YEAR), registrar)
        return key

    def delegate(self, key: bytes, scope: int, to: str, *, expiry: int | None = None) -> dict[str, Any]:
        """``delegateBySig`` signed by ``key`` and submitted by the admin account (anyone may submit)."""
        who = Account.from_key(key).address
        nonce = self.ld.functions.nonces(who).call()
        expiry = self.g.now() + 3600 if expiry is None else expiry
        td = delegate_typed_data(self.g.chain_id, self.ld.address, delegator=who, scope=scope, delegatee=to,
                                 nonce=nonce, expiry=expiry)
        sig = sign_typed(key, td)
        return send(self.ld.functions.delegateBySig(who, scope, to, nonce, expiry, sig), self.g.admin)

    def undelegate(self, key: bytes, scope: int) -> dict[str, Any]:
        who = Account.from_key(key).address
        nonce = self.ld.functions.nonces(who).call()
        expiry = self.g.now() + 3600
        td = undelegate_typed_data(self.g.chain_id, self.ld.address, delegator=who, scope=scope, nonce=nonce,
                                   expiry=expiry)
        return send(self.ld.functions.undelegateBySig(who, scope, nonce, expiry, sign_typed(key, td)), self.g.admin)

    def count(self, pid: int, addresses: list[str]) -> list[Any]:
        receipt = send(self.ld.functions.countDelegations(pid, addresses), self.g.relayer)
        return events(self.ld, receipt, "DelegatedWeightCounted")

    def vote(self, key: bytes, pid: int, support: int) -> list[Any]:
        receipt = self.g.vote_by_sig(key, pid, support)
        return events(self.ld, receipt, "DelegatedWeightMoved")

    def open_proposal(self, **kwargs: Any) -> tuple[int, int]:
        """Create a proposal and move time just past its snapshot; returns (id, snapshot)."""
        pid, start, _end, _reveal = self.g.propose(start_in=300, **kwargs)  # room for a slow, shared machine
        self.g.goto(start + 1)
        return pid, start


def build_env(w3: Web3, tester: Any, accounts: list[Any], deploy: Any) -> Env:
    g = build_gov(w3, tester, accounts, deploy)
    ld = deploy("LiquidDelegation", g.gov.address, sender=g.admin)
    send(g.gov.functions.bindDelegation(ld.address), g.admin)
    # pa2 (bound to PA 2 by build_gov) also registers citizens: PA 2's citizens are outside area 1's electorate.
    send(g.registry.functions.grantRole(role("REGISTRAR_ROLE"), g.pa2.address), g.admin)
    return Env(g, ld)


def addr(key: bytes) -> str:
    return Account.from_key(key).address


__all__ = ["YEAR", "Env", "addr", "build_env"]
