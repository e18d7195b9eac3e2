"""Typed request and response bodies of ``/v1`` (shared by the server and the SDK).

Conventions: addresses are checksummed strings; ``bytes32`` values are ``0x`` + 64 hex digits; integers that
may exceed 2^53 (proposal ids, token amounts, weights) are decimal strings so JavaScript clients keep them
exact; timestamps are Unix seconds.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Address = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{40}$", examples=["0x5B38Da6a701c568545dCfcB03FcB875f56beddC4"])]
Bytes32 = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{64}$")]
Signature = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{130}$", description="65-byte r||s||v signature")]
Uint256 = Annotated[str, Field(pattern=r"^[0-9]{1,78}$", description="unsigned integer as decimal string")]
Uint64 = Annotated[int, Field(ge=0, lt=2**64)]
Support = Annotated[int, Field(ge=0, le=2, description="0 against, 1 for, 2 abstain")]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ErrorDetail(Model):
    code: str
    message: str


class ErrorResponse(Model):
    error: ErrorDetail


# ---------------------------------------------------------------------- health, deployment, tx
class Health(Model):
    status: Literal["ok", "degraded"]
    chainId: int
    chainHead: int | None
    nodeReachable: bool
    indexedBlock: int | None
    indexerLag: int | None
    lastError: str | None = None


class TxAccepted(Model):
    txHash: Bytes32


class TxStatus(Model):
    txHash: Bytes32
    status: Literal["pending", "success", "failed"]
    blockNumber: int | None = None
    gasUsed: int | None = None
    error: str | None = Field(None, description="decoded revert reason of a failed transaction")


# ---------------------------------------------------------------------- areas and activities
class Activity(Model):
    id: int
    areaId: int
    kind: int
    tokenReward: Uint256
    reputationReward: Uint256
    startsAt: int
    endsAt: int
    maxClaimsPerCitizen: int
    closedAt: int


class Area(Model):
    id: int
    managingPA: Address
    geometryHash: Bytes32
    metadataURI: str
    closedAt: int
    createdAt: int | None = None
    geometry: dict[str, Any] | None = Field(None, description="GeoJSON stored off-chain, present only when its "
                                                               "hash equals the on-chain geometryHash")
    geometryVerified: bool = False


class AreaList(Model):
    items: list[Area]


class ActivityList(Model):
    items: list[Activity]


class AreaCreate(Model):
    geometry: dict[str, Any] = Field(..., description="GeoJSON Polygon/MultiPolygon (or a Feature holding one)")
    metadataURI: str = Field("", max_length=2048)
    managingPA: Address | None = Field(None, description="default: the calling PA's account")


class AreaCreated(Model):
    txHash: Bytes32
    geometryHash: Bytes32


class GeometryUpload(Model):
    geometry: dict[str, Any]


class ActivityCreate(Model):
    kind: int = Field(..., ge=0, le=3, description="0 AR check-in, 1 social post, 2 initiative joined, 3 event")
    tokenReward: Uint256 = "0"
    reputationReward: Uint256 = "0"
    startsAt: Uint64
    endsAt: Uint64
    maxClaimsPerCitizen: int = Field(0, ge=0, lt=2**32)


# ---------------------------------------------------------------------- citizens
class Reputation(Model):
    global_: Uint256 = Field(..., alias="global")
    areas: dict[str, Uint256] = Field(default_factory=dict, description="area id → decayed score")


class Citizen(Model):
    address: Address
    isCitizen: bool
    registeredAt: int
    expiresAt: int
    revoked: bool
    balance: Uint256
    votingPower: Uint256
    delegate: Address | None
    tokenNonce: Uint256 = Field(..., description="CommonsToken.nonces(address): for spend/delegate signatures")
    reputation: Reputation


class CitizenCreate(Model):
    """A registration: the citizen's address and either a ready ``identityHash`` (HMAC computed by the office)
    or the raw ``identityReference``, hashed by the API with the consortium identity key (``[privacy]`` in
    api.toml), so the key never has to sit on an officer's computer. Exactly one of the two."""

    address: Address
    identityHash: Bytes32 | None = None
    identityReference: str | None = Field(None, min_length=1, max_length=128,
                                          description="e.g. a fiscal code; hashed by the API, never stored or logged")
    referenceKind: str = Field("fiscal-code", min_length=1, max_length=32,
                               description="kind of identityReference (fiscal-code, amka, passport, …)")
    expiresAt: Uint64

    @model_validator(mode="after")
    def _one_identity(self) -> CitizenCreate:
        if (self.identityHash is None) == (self.identityReference is None):
            raise ValueError("give exactly one of identityHash or identityReference")
        return self


# ---------------------------------------------------------------------- proposals and votes
class Results(Model):
    against: Uint256
    for_: Uint256 = Field(..., alias="for")
    abstain: Uint256


class Proposal(Model):
    id: Uint256
    proposer: Address
    areaId: int
    mode: Literal["OneCitizenOneVote", "TokenWeighted", "ReputationWeighted"]
    commitReveal: bool
    voteStart: int
    voteEnd: int
    revealEnd: int
    description: str
    state: Literal["Pending", "Active", "Revealing", "Succeeded", "Defeated", "Canceled", "Queued", "Expired",
                   "Executed"]
    quorum: Uint256 | None = Field(None, description="null before the snapshot (voteStart) has passed")
    actionsHash: Bytes32 | None = Field(None, description="hash of the calls the timelock makes if it succeeds; "
                                                          "null for a signal-only proposal")
    timelockOperation: Bytes32 | None = Field(None, description="timelock operation id once queued")
    unrevealed: Uint256 | None = Field(None, description="committed weight not revealed (counts against)")
    results: Results | None = Field(None, description="null while a commit-reveal ballot is before its reveal phase")
    resultsHidden: bool
    blockNumber: int | None = None
    txHash: str | None = None


class ProposalList(Model):
    items: list[Proposal]


class ProposalCreate(Model):
    areaId: int = Field(0, ge=0, lt=2**63, description="0 = consortium-wide")
    mode: int = Field(0, ge=0, le=2, description="0 one-citizen-one-vote, 1 token-weighted, 2 reputation-weighted")
    commitReveal: bool = False
    voteStart: Uint64
    voteEnd: Uint64
    revealEnd: Uint64 = 0
    description: str = Field(..., min_length=1, max_length=10_000)


class ProposalCreated(Model):
    txHash: Bytes32
    proposalId: Uint256


class Vote(Model):
    proposalId: Uint256
    voter: Address
    type: Literal["cast", "committed", "revealed"]
    support: int | None = None
    weight: Uint256 | None = None
    commitment: Bytes32 | None = None
    blockNumber: int
    txHash: str


class VoteList(Model):
    items: list[Vote]


class VoterStatus(Model):
    proposalId: Uint256
    voter: Address
    nonce: Uint256 = Field(..., description="CO3Governance.nonces(voter, proposalId): sign this in Ballot/Commitment")
    hasVoted: bool
    hasRevealed: bool
    commitment: Bytes32 | None


# ---------------------------------------------------------------------- attestations
class Attestation(Model):
    id: Bytes32
    subject: Address
    activityId: int
    kind: int
    evidenceHash: Bytes32
    tokenReward: Uint256
    reputationReward: Uint256
    blockNumber: int
    txHash: str


class AttestationList(Model):
    items: list[Attestation]


# ---------------------------------------------------------------------- relay bodies
class VoteRelay(Model):
    proposalId: Uint256
    support: Support
    voter: Address
    nonce: Uint256
    signature: Signature


class CommitRelay(Model):
    proposalId: Uint256
    commitment: Bytes32
    voter: Address
    nonce: Uint256
    signature: Signature


class RevealRelay(Model):
    proposalId: Uint256
    voter: Address
    support: Support
    salt: Bytes32


class DelegateRelay(Model):
    delegator: Address
    delegatee: Address
    nonce: Uint256
    expiry: Uint256
    signature: Signature


class SpendRelay(Model):
    owner: Address
    service: Address
    amount: Uint256
    ref: Bytes32
    nonce: Uint256
    deadline: Uint256
    signature: Signature
