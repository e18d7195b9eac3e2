"""Request and response bodies of the participatory-budget API (shared by the server and the SDK).

Conventions as in :mod:`co3chain.api.models`: amounts are decimal strings, hashes ``0x`` + 64 hex digits,
timestamps Unix seconds, ballots carry a project bitmask (bit i approves project i).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from co3chain.api.models import Address, Bytes32, Model, Signature, Uint64, Uint256

BallotKind = Literal["approval", "knapsack"]
ProjectStateName = Literal["Proposed", "NotFunded", "Funded", "InProgress", "Delivered", "Cancelled"]


class ProjectCreate(Model):
    cost: Uint256
    payee: Address
    detailsHash: Bytes32 = Field(description="keccak of the project's description document (kept off-chain)")


class RoundCreate(Model):
    areaId: Uint256 = Field(description="treasury area budget the round draws from (0 = consortium-wide)")
    budget: Uint256
    voteStart: Uint64
    voteEnd: Uint64
    kind: BallotKind = "approval"
    maxChoices: int = Field(0, ge=0, le=32, description="approval rounds: most projects per ballot (0 = no limit)")
    metadataHash: Bytes32 = "0x" + "00" * 32
    projects: list[ProjectCreate] = Field(min_length=1, max_length=32)
    electorate: str | None = Field(None, description="who may vote: consortium, pa:N, group:N, union:N or the "
                                                     "uint256 id (docs/electorates.md); default: the citizens of "
                                                     "the area's managing PA (everyone for area 0)")


class Project(Model):
    index: int
    cost: Uint256
    payee: Address
    state: ProjectStateName
    approvals: int
    paid: Uint256
    detailsHash: Bytes32


class Round(Model):
    roundId: int
    areaId: Uint256
    budget: Uint256
    spent: Uint256
    manager: Address
    snapshot: int
    voteStart: int
    voteEnd: int
    kind: BallotKind
    maxChoices: int
    projectCount: int
    ballots: int
    finalized: bool
    cancelled: bool
    metadataHash: Bytes32
    status: Literal["pending", "voting", "closed", "finalized", "cancelled"]
    electorate: Uint256 = Field("0", description="the round's electorate id (0 = every citizen)")
    electorateSize: Uint256 | None = Field(None, description="eligible citizens of the electorate at the snapshot "
                                                             "(once the snapshot has passed)")


class RoundResult(Model):
    """The outcome: recorded when finalized, else what the rule gives on the current tally (provisional)."""

    provisional: bool
    ranking: list[int]
    funded: list[int]
    spent: Uint256


class RoundDetail(Round):
    projects: list[Project]
    result: RoundResult


class RoundList(Model):
    items: list[Round]
    total: int


class BudgetVoterStatus(Model):
    """A citizen in a budget round: eligible at the snapshot, already voted, the nonce to sign next."""

    roundId: int
    voter: Address
    eligible: bool
    hasVoted: bool
    nonce: Uint256


#: Old name; the class is named apart from the governance ``VoterStatus`` so OpenAPI keeps short schema names.
VoterStatus = BudgetVoterStatus


class BudgetEvent(Model):
    """One indexed event of a round (the budget contract's, or a treasury move it made for the round)."""

    block: int
    logIndex: int
    timestamp: Uint64
    contract: Literal["ParticipatoryBudget", "CommonsTreasury"]
    event: str = Field(description="RoundCreated, ProjectListed, BudgetBallotCast, RoundFinalized, RoundCancelled, "
                                   "ProjectStateChanged, Reserved, Released or Paid")
    data: dict[str, Any] = Field(description="the event's arguments (amounts as decimal strings, hashes as hex)")
    txHash: Bytes32


class RoundHistory(Model):
    roundId: int
    items: list[BudgetEvent]
    total: int
    indexedBlock: int | None = Field(None, description="last block the budget index covers")


class AreaBudget(Model):
    areaId: Uint256
    budget: Uint256
    reservedByRounds: Uint256


class Treasury(Model):
    address: Address
    token: Address
    balance: Uint256
    unassigned: Uint256
    areas: list[AreaBudget]


class BallotRelay(Model):
    roundId: Uint256
    selection: Uint256 = Field(description="bitmask of approved projects (bit i = project i)")
    voter: Address
    nonce: Uint256
    signature: Signature


class ProjectStatusUpdate(Model):
    state: Literal["InProgress", "Delivered"]
    evidenceHash: Bytes32


class RoundCreated(Model):
    txHash: Bytes32
