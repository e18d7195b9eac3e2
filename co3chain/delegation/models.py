"""Request and response bodies of the liquid-delegation API (shared by the server and the SDK).

Conventions as in :mod:`co3chain.api.models`: addresses checksummed, weights and ids decimal strings, scope
``"0"`` = global delegation, else a commoning-area id.
"""

from __future__ import annotations

from pydantic import Field

from co3chain.api.models import Address, Model, Signature, Uint256


class DelegationRelay(Model):
    """A signed ``Delegate(delegator, scope, delegatee, nonce, expiry)`` for ``delegateBySig``."""

    delegator: Address
    scope: Uint256 = Field(description="0 = global delegation, else a commoning-area id")
    delegatee: Address
    nonce: Uint256
    expiry: Uint256
    signature: Signature


class UndelegationRelay(Model):
    """A signed ``Undelegate(delegator, scope, nonce, expiry)`` for ``undelegateBySig``."""

    delegator: Address
    scope: Uint256
    nonce: Uint256
    expiry: Uint256
    signature: Signature


class ScopeDelegation(Model):
    scope: str
    delegate: Address | None = Field(description="current delegate in this scope (null: none)")


class CitizenDelegation(Model):
    """A citizen's delegations now, and the chain a proposal in ``areaId`` would follow now."""

    citizen: Address
    areaId: str
    delegations: list[ScopeDelegation]
    chain: list[Address] = Field(description="effective chain for areaId (area delegation, else global), ≤ maxDepth")
    nonce: str = Field(description="next nonce to sign for delegate/undelegate")
    maxDepth: int


class DelegatedVoter(Model):
    voter: Address
    delegatedWeight: str


class CountedDelegation(Model):
    delegator: Address
    representative: Address = Field(description="direct voter the weight was added to when counted")
    weight: str
    hops: int


class ProposalDelegation(Model):
    """Delegated weight on a proposal: per direct voter (live) and every counting (indexed events)."""

    proposalId: str
    applicable: bool = Field(description="false for token-weighted and commit–reveal proposals")
    totalDelegated: str
    voters: list[DelegatedVoter]
    counted: list[CountedDelegation]


class DelegatorStatus(Model):
    proposalId: str
    citizen: Address
    countedWeight: str = Field(description="weight counted for this citizen as a delegator (0: not counted)")
    representative: Address | None = Field(description="direct voter its weight reaches now (null: none)")
    chain: list[Address] = Field(description="its chain at the proposal's snapshot")


class CountRequest(Model):
    delegators: list[Address] | None = Field(
        None, max_length=200, description="delegators to count; omitted: every pending one the indexer knows")


class CountAccepted(Model):
    proposalId: str
    delegators: list[Address]
    txHashes: list[str]
