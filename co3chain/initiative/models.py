"""Request and response bodies of the citizen-initiative API (shared by the server and the SDK).

Conventions as in :mod:`co3chain.api.models`: ids that may exceed 2^53 (electorates, proposal ids) and amounts
are decimal strings, hashes ``0x`` + 64 hex digits, timestamps Unix seconds.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from co3chain.api.models import Address, Bytes32, Model, Signature, Uint64, Uint256

HexData = Annotated[str, Field(pattern=r"^0x([0-9a-fA-F]{2}){0,4096}$", description="0x-prefixed bytes")]
StatusName = Literal["Draft", "Collecting", "Expired", "Qualified", "Proposed"]
ThresholdKindName = Literal["absolute", "percentage"]


class InitiativeAction(Model):
    """A call the timelock makes if the initiative's vote succeeds."""

    target: Address
    value: Uint256 = "0"
    calldata: HexData = "0x"


class InitiativeContent(Model):
    """One version of an initiative."""

    textHash: Bytes32 = Field(description="keccak256 of the initiative's full text (published off-chain)")
    title: str = Field(min_length=1, max_length=200, description="short title (at most 200 bytes of UTF-8)")
    areaId: Uint256 = Field("0", description="commoning area of the resulting proposal (0 = consortium-wide)")
    electorate: Uint256 = Field("0", description="IElectorates id: 0 consortium, (1<<248)|pa, (2<<248)|group, "
                                                 "(3<<248)|union")
    mode: int = Field(0, ge=0, le=2, description="counting mode: 0 one citizen one vote, 1 token, 2 reputation")
    votingPeriod: Uint64 = Field(description="wished vote length in seconds (clamped into the governance's bounds)")
    actions: list[InitiativeAction] = Field(default_factory=list, max_length=10)


class InitiativeDraftRelay(InitiativeContent):
    """A draft signed by its author (EIP-712 ``DraftInitiative`` over ``contentHash``; nonce key 0)."""

    author: Address
    nonce: Uint256
    deadline: Uint64
    signature: Signature


class InitiativeAmendRelay(InitiativeContent):
    """An amendment signed by the author (EIP-712 ``AmendInitiative``)."""

    initiativeId: Uint256
    author: Address
    nonce: Uint256
    deadline: Uint64
    signature: Signature


class InitiativeOpenRelay(Model):
    """The author's signed opening for supports (EIP-712 ``OpenInitiative``)."""

    initiativeId: Uint256
    versionHash: Bytes32
    author: Address
    nonce: Uint256
    deadline: Uint64
    signature: Signature


class InitiativeSupportRelay(Model):
    """A citizen's signed support (EIP-712 ``SupportInitiative``)."""

    initiativeId: Uint256
    versionHash: Bytes32 = Field(description="the version the citizen read (the initiative's current one)")
    supporter: Address
    nonce: Uint256
    deadline: Uint64
    signature: Signature


class InitiativeRelayAccepted(Model):
    txHash: Bytes32
    contentHash: Bytes32 | None = Field(None, description="version hash of a relayed draft or amendment")


class InitiativeVersion(Model):
    version: int
    versionHash: Bytes32


class Initiative(Model):
    initiativeId: int
    author: Address
    status: StatusName
    version: int
    versionHash: Bytes32
    title: str
    textHash: Bytes32
    areaId: Uint256
    electorate: Uint256
    electorateName: str = Field(description="consortium, pa N, group N or union N")
    mode: int
    votingPeriod: int
    actionsHash: Bytes32
    snapshot: int
    openedAt: int
    deadline: int
    supportCount: int
    required: int
    electorateSize: int
    proposalId: Uint256 | None = None


class InitiativeDetail(Initiative):
    actions: list[InitiativeAction]
    versions: list[InitiativeVersion]
    description: str = Field(description="the description its governance proposal gets")


class InitiativeList(Model):
    items: list[Initiative]
    total: int


class InitiativeSupport(Model):
    supporter: Address
    supportCount: int
    bySignature: bool
    blockNumber: int
    txHash: Bytes32


class InitiativeSupportList(Model):
    initiativeId: int
    items: list[InitiativeSupport]
    total: int


class InitiativeSupporterStatus(Model):
    """A citizen facing an initiative: may support (eligible at its snapshot), already did, the nonce to sign."""

    initiativeId: int
    supporter: Address
    eligible: bool
    hasSupported: bool
    nonce: Uint256
    chainTime: int = Field(description="latest block timestamp: signatures' deadlines are checked against chain time")


class InitiativeNonce(Model):
    account: Address
    key: Uint256 = Field(description="0 for drafts, else the initiative id")
    nonce: Uint256
    chainTime: int = Field(description="latest block timestamp: signatures' deadlines are checked against chain time")


class InitiativeThreshold(Model):
    electorate: Uint256
    kind: ThresholdKindName
    value: int = Field(description="supports (absolute) or basis points of the electorate (percentage)")
    collectionWindow: int
    own: bool = Field(description="false: the electorate uses the default threshold")
    electorateSize: int = Field(description="eligible citizens in the electorate now")
    required: int = Field(description="supports an initiative opened now would need")


class InitiativeTx(Model):
    """What a relayed initiative transaction did, once mined."""

    txHash: Bytes32
    status: Literal["pending", "success", "failed"]
    initiativeId: int | None = None
    proposalId: Uint256 | None = None
