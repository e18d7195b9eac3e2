"""Liquid-delegation methods of the Python SDK: ``DelegationClient(client)`` around a :class:`Client`.

Why a separate class: it keeps the core client small and shares its transport and cached deployment.
``delegate`` / ``undelegate`` sign the EIP-712 ``Delegate`` / ``Undelegate`` messages locally (the API never
sees the citizen's key) for the deployment's chain id and LiquidDelegation address, then post them to the
relay routes.
"""

from __future__ import annotations

from typing import Any

from co3chain.api import models as m
from co3chain.delegation import models as dm
from co3chain.delegation.typed_data import delegate_typed_data, sign_typed, undelegate_typed_data
from co3chain.sdk.client import Client

#: Default validity of a signed delegation (seconds from now).
DEFAULT_TTL = 3600


class DelegationClient:
    """``DelegationClient(Client(url))``: delegate, undelegate, read delegations and delegated weight."""

    def __init__(self, client: Client) -> None:
        self.client = client

    # ------------------------------------------------------------------ reads
    def of(self, citizen: str, area_id: int = 0) -> dm.CitizenDelegation:
        """``citizen``'s delegations (global, and in ``area_id``) and the chain followed now."""
        return self.client._get(f"/v1/delegation/citizens/{citizen}", dm.CitizenDelegation, areaId=area_id)

    def proposal(self, proposal_id: int | str) -> dm.ProposalDelegation:
        """Delegated weight per direct voter and every counting on a proposal."""
        return self.client._get(f"/v1/delegation/proposals/{proposal_id}", dm.ProposalDelegation)

    def delegator(self, proposal_id: int | str, citizen: str) -> dm.DelegatorStatus:
        return self.client._get(f"/v1/delegation/proposals/{proposal_id}/citizens/{citizen}", dm.DelegatorStatus)

    # ------------------------------------------------------------------ signed writes (gasless)
    def sign_delegation(self, account: Any, scope: int, delegatee: str, *, expiry: int,
                        nonce: int | None = None) -> dm.DelegationRelay:
        chain_id, address = self.client._chain("LiquidDelegation")
        if nonce is None:
            nonce = int(self.of(account.address).nonce)
        typed = delegate_typed_data(chain_id, address, delegator=account.address, scope=scope, delegatee=delegatee,
                                    nonce=nonce, expiry=expiry)
        return dm.DelegationRelay(delegator=account.address, scope=str(scope), delegatee=typed["message"]["delegatee"],
                                  nonce=str(nonce), expiry=str(expiry), signature="0x" + sign_typed(account.key, typed).hex())

    def sign_undelegation(self, account: Any, scope: int, *, expiry: int,
                          nonce: int | None = None) -> dm.UndelegationRelay:
        chain_id, address = self.client._chain("LiquidDelegation")
        if nonce is None:
            nonce = int(self.of(account.address).nonce)
        typed = undelegate_typed_data(chain_id, address, delegator=account.address, scope=scope, nonce=nonce,
                                      expiry=expiry)
        return dm.UndelegationRelay(delegator=account.address, scope=str(scope), nonce=str(nonce), expiry=str(expiry),
                                    signature="0x" + sign_typed(account.key, typed).hex())

    def relay_delegation(self, body: dm.DelegationRelay) -> m.TxAccepted:
        return self.client._post("/v1/relay/delegation", body, m.TxAccepted)

    def relay_undelegation(self, body: dm.UndelegationRelay) -> m.TxAccepted:
        return self.client._post("/v1/relay/undelegation", body, m.TxAccepted)

    def delegate(self, account: Any, delegatee: str, *, scope: int = 0, expiry: int) -> m.TxAccepted:
        """Sign and relay ``account``'s delegation to ``delegatee`` (scope 0 = global, else an area id)."""
        return self.relay_delegation(self.sign_delegation(account, scope, delegatee, expiry=expiry))

    def undelegate(self, account: Any, *, scope: int = 0, expiry: int) -> m.TxAccepted:
        """Sign and relay the revocation of ``account``'s delegation in ``scope``."""
        return self.relay_undelegation(self.sign_undelegation(account, scope, expiry=expiry))

    def count(self, proposal_id: int | str, delegators: list[str] | None = None) -> dm.CountAccepted:
        """Ask the API's relayer to count delegations on an Active proposal now."""
        body = dm.CountRequest(delegators=delegators)
        return self.client._post(f"/v1/relay/delegation/count/{proposal_id}", body, dm.CountAccepted)
