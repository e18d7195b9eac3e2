"""Electorates (issue 11, docs/electorates.md): who may vote on a proposal or a budget round.

Reads: an electorate (kind, owning PA, groups, size at a past timepoint), a group and its indexed members, the PA
and groups of a citizen, the electorate of a proposal with its size and quorum base.
Writes (a PA's API key): registrars create groups of their PA and add or remove their own citizens; any account
of a PA defines unions of its groups; PAs propose with an electorate (``proposeFor``). Binding an account to a PA
is a rule change held by the council's timelock executor: the API returns the call for the council, like other
council-gated operations.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from eth_utils import keccak
from fastapi import APIRouter, Depends, Path, Query
from pydantic import Field

from co3chain import electorates as el
from co3chain.api import convert as cv
from co3chain.api import models as m
from co3chain.api.auth import PrincipalPA
from co3chain.api.errors import ApiError
from co3chain.api.routes.operations import CouncilCall
from co3chain.api.state import ApiState, get_state, require_pa

router = APIRouter(prefix="/v1", tags=["electorates"])
State = Annotated[ApiState, Depends(get_state)]
PA = Annotated[PrincipalPA, Depends(require_pa)]
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": m.ErrorResponse} for code in (400, 401, 403, 404, 409, 422, 429, 502, 503)
}
SECURITY = {"openapi_extra": {"security": [{"ApiKey": []}]}}
AddressPath = Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{40}$")]
GroupPath = Annotated[int, Path(ge=1, lt=2**63)]
ElectoratePath = Annotated[str, Path(min_length=1, max_length=80,
                                     description="consortium, pa:N, group:N, union:N, or the id (decimal or 0x hex)")]
Kind = Literal["consortium", "pa", "group", "union", "unknown"]


class ElectorateInfo(m.Model):
    electorate: m.Uint256
    label: str = Field(description="consortium, pa:N, group:N or union:N")
    kind: Kind
    exists: bool
    paId: int = Field(description="PA owning the electorate (0: the consortium)")
    groupIds: list[int] = Field(description="groups of a union (or the one group of a group electorate)")
    timepoint: int | None = Field(None, description="timestamp the size was read at")
    size: int | None = Field(None, description="eligible citizens at `timepoint` (null for an undefined electorate)")


class Group(m.Model):
    id: int
    paId: int
    kind: Literal["district", "area-residence", "association"]
    metadataHash: m.Bytes32
    electorate: m.Uint256
    label: str
    members: list[m.Address] = Field(description="current members, from the index")


class GroupCreate(m.Model):
    kind: Literal["district", "area-residence", "association"]
    metadataHash: m.Bytes32 | None = Field(None, description="hash of the group's public description; "
                                                             "default: keccak of `name`")
    name: str | None = Field(None, max_length=200, description="hashed into metadataHash when that is not given")


class GroupMember(m.Model):
    address: m.Address


class UnionCreate(m.Model):
    groupIds: Annotated[list[int], Field(min_length=2, max_length=16,
                                         description="ascending; one PA and one exclusive kind")]


class CitizenElectorates(m.Model):
    address: m.Address
    paId: int = Field(description="PA that registered the citizen (0: never registered)")
    groupIds: list[int]
    electorates: list[str] = Field(description="labels of the electorates the citizen belongs to now")


class PaBinding(m.Model):
    account: m.Address
    paId: Annotated[int, Field(ge=0, lt=2**32, description="0 unbinds")]


class Action(m.Model):
    target: m.Address
    value: m.Uint256 = "0"
    data: str = Field("0x", pattern=r"^0x([0-9a-fA-F]{2})*$")


class ProposalForCreate(m.Model):
    areaId: int = Field(0, ge=0, lt=2**63, description="0 = consortium-wide")
    electorate: str = Field("consortium", max_length=80,
                            description="consortium, pa:N, group:N, union:N or the id; an area proposal needs an "
                                        "electorate of the area's managing PA")
    mode: int = Field(0, ge=0, le=2, description="0 one-citizen-one-vote, 1 token-weighted, 2 reputation-weighted")
    commitReveal: bool = False
    voteStart: m.Uint64
    voteEnd: m.Uint64
    revealEnd: m.Uint64 = 0
    description: str = Field(..., min_length=1, max_length=10_000)
    actions: Annotated[list[Action], Field(max_length=32, description="calls of a consortium-wide proposal")] = []


class ProposalElectorate(m.Model):
    proposalId: m.Uint256
    electorate: m.Uint256
    label: str
    snapshot: int
    size: int | None = Field(None, description="eligible members at the snapshot; null before it has passed")
    quorum: m.Uint256 | None = Field(None, description="null before the snapshot has passed")
    quorumBasis: Literal["weight", "headcount"] = Field(
        description="weight: the consortium-wide base of the counting mode; headcount: For + Abstain voters over "
                    "the electorate size (every sub-electorate)")


def _electorate(text: str) -> int:
    try:
        return el.parse(text)
    except ValueError as exc:
        raise ApiError(422, "invalid_electorate", str(exc)) from None


def _registrar_pa(state: ApiState, pa: PrincipalPA) -> int:
    """The PA id the calling officer registers for (403 when it is no registrar or bound to no PA)."""
    registry = state.chain.registry
    if not state.chain.read(registry.functions.hasRole(keccak(text="REGISTRAR_ROLE"), pa.address)):
        raise ApiError(403, "missing_role", f"the account {pa.address} of {pa.name!r} lacks REGISTRAR_ROLE on "
                                            f"{registry.address}")
    pa_id = int(state.chain.read(registry.functions.paOf(pa.address)))
    if pa_id == 0:
        raise ApiError(403, "no_pa", f"the account {pa.address} of {pa.name!r} is bound to no PA: the council binds "
                                     "it (POST /v1/pa-accounts/council-call)")
    return pa_id


def _group(state: ApiState, group_id: int) -> tuple[int, int, str]:
    t = state.chain.read(state.chain.registry.functions.getGroup(group_id),
                         not_found={"UnknownGroup": f"no group with id {group_id}"})
    return int(t[0]), int(t[1]), cv.hex32(t[2])


def _own_group(state: ApiState, pa: PrincipalPA, group_id: int) -> None:
    pa_id = _registrar_pa(state, pa)
    owner, _, _ = _group(state, group_id)
    if owner != pa_id:
        raise ApiError(403, "not_own_pa", f"group {group_id} belongs to PA {owner}; {pa.name!r} acts for PA {pa_id}")


def _past(state: ApiState) -> int:
    """The latest timestamp already in the past of the chain's clock (size reads need t < now)."""
    return int(state.chain.w3.eth.get_block("latest")["timestamp"]) - 1


def electorate_info(state: ApiState, electorate: int, at: int | None = None) -> ElectorateInfo:
    reg = state.chain.registry.functions
    d = el.describe(electorate)
    exists = bool(state.chain.read(reg.electorateExists(electorate)))
    groups = [int(g) for g in state.chain.read(reg.electorateGroups(electorate))] if d.kind == "union" else (
        [d.id] if d.kind == "group" else [])
    timepoint = _past(state) if at is None else at
    size = None
    if exists:
        if timepoint > _past(state):
            raise ApiError(422, "future_timepoint", f"timepoint {timepoint} is not in the past yet")
        size = int(state.chain.read(reg.getPastElectorateSize(electorate, timepoint)))
    return ElectorateInfo(electorate=str(electorate), label=str(d), kind=d.kind, exists=exists,  # type: ignore[arg-type]
                          paId=int(state.chain.read(reg.electoratePa(electorate))), groupIds=groups,
                          timepoint=timepoint if exists else None, size=size)


# ---------------------------------------------------------------------------------------------- reads
@router.get("/electorates/{electorate}", response_model=ElectorateInfo, responses=ERRORS)
def get_electorate(state: State, electorate: ElectoratePath,
                   at: Annotated[int | None, Query(ge=0, description="timestamp (default: the latest past second)")]
                   = None) -> ElectorateInfo:
    """An electorate: its kind, owning PA, groups, and eligible size at a past timepoint."""
    return electorate_info(state, _electorate(electorate), at)


@router.get("/groups/{group_id}", response_model=Group, responses=ERRORS)
def get_group(state: State, group_id: GroupPath) -> Group:
    """An electoral group of a PA and its current members (from the index)."""
    pa_id, kind, meta = _group(state, group_id)
    members = [str(r["citizen"]) for r in state.store.query(
        "SELECT citizen FROM group_members WHERE group_id = ? ORDER BY block, citizen", (group_id,))]
    e = el.group_electorate(group_id)
    return Group(id=group_id, paId=pa_id, kind=el.KIND_NAMES[kind], metadataHash=meta,  # type: ignore[arg-type]
                 electorate=str(e), label=str(el.describe(e)), members=members)


@router.get("/citizens/{address}/electorates", response_model=CitizenElectorates, responses=ERRORS)
def citizen_electorates(state: State, address: AddressPath) -> CitizenElectorates:
    """The PA and the groups a citizen belongs to now, and the electorate labels that include it."""
    reg = state.chain.registry.functions
    who = cv.address(address)
    pa_id = int(state.chain.read(reg.citizenPa(who)))
    groups = sorted(int(g) for g in state.chain.read(reg.groupsOf(who)))
    labels = ["consortium"] + ([f"pa:{pa_id}"] if pa_id else []) + [f"group:{g}" for g in groups]
    rows = state.store.query("SELECT electorate, group_ids FROM union_electorates")
    labels += [str(el.describe(int(r["electorate"]))) for r in rows if set(json.loads(r["group_ids"])) & set(groups)]
    return CitizenElectorates(address=who, paId=pa_id, groupIds=groups, electorates=labels)


@router.get("/proposals/{proposal_id}/electorate", response_model=ProposalElectorate, responses=ERRORS)
def proposal_electorate(state: State,
                        proposal_id: Annotated[str, Path(pattern=r"^[0-9]{1,78}$")]) -> ProposalElectorate:
    """The electorate voting on a proposal, its size at the snapshot and the quorum (once the snapshot passed)."""
    gov = state.chain.governance.functions
    pid = int(proposal_id)
    electorate = int(state.chain.read(gov.proposalElectorate(pid),
                                      not_found={"UnknownProposal": f"no proposal with id {proposal_id}"}))
    snapshot = int(state.chain.read(gov.getProposal(pid))[1])
    size = quorum = None
    if snapshot <= _past(state):
        size = int(state.chain.read(state.chain.registry.functions.getPastElectorateSize(electorate, snapshot)))
        quorum = str(int(state.chain.read(gov.quorum(pid))))
    return ProposalElectorate(proposalId=str(pid), electorate=str(electorate), label=str(el.describe(electorate)),
                              snapshot=snapshot, size=size, quorum=quorum,
                              quorumBasis="headcount" if electorate else "weight")


# ---------------------------------------------------------------------------------------------- writes
@router.post("/groups", response_model=m.TxAccepted, status_code=202, responses=ERRORS, **SECURITY)
def create_group(state: State, pa: PA, body: GroupCreate) -> m.TxAccepted:
    """Create an electoral group of the calling registrar's PA (its id comes with the GroupCreated event)."""
    _registrar_pa(state, pa)
    if body.metadataHash is None and not body.name:
        raise ApiError(422, "validation_error", "give metadataHash or name")
    meta = cv.b32(body.metadataHash, "metadataHash") if body.metadataHash else keccak(text=str(body.name))
    fn = state.chain.registry.functions.createGroup(el.GROUP_KINDS[body.kind], meta)
    return m.TxAccepted(txHash=state.send_as(pa, fn))


@router.post("/groups/{group_id}/members", response_model=m.TxAccepted, status_code=202, responses=ERRORS,
             **SECURITY)
def add_member(state: State, pa: PA, group_id: GroupPath, body: GroupMember) -> m.TxAccepted:
    """Add an active citizen of the calling registrar's PA to one of its PA's groups."""
    _own_group(state, pa, group_id)
    fn = state.chain.registry.functions.addToGroup(group_id, cv.address(body.address))
    return m.TxAccepted(txHash=state.send_as(pa, fn))


@router.delete("/groups/{group_id}/members/{address}", response_model=m.TxAccepted, status_code=202,
               responses=ERRORS, **SECURITY)
def remove_member(state: State, pa: PA, group_id: GroupPath, address: AddressPath) -> m.TxAccepted:
    """Remove a citizen of the calling registrar's PA from one of its PA's groups."""
    _own_group(state, pa, group_id)
    fn = state.chain.registry.functions.removeFromGroup(group_id, cv.address(address))
    return m.TxAccepted(txHash=state.send_as(pa, fn))


@router.post("/electorates", response_model=m.TxAccepted, status_code=202, responses=ERRORS, **SECURITY)
def define_union(state: State, pa: PA, body: UnionCreate) -> m.TxAccepted:
    """Define the union of several groups of the caller's PA and one exclusive kind (ElectorateDefined gives its
    id)."""
    fn = state.chain.registry.functions.defineElectorate(body.groupIds)
    return m.TxAccepted(txHash=state.send_as(pa, fn))


@router.post("/pa-accounts/council-call", response_model=CouncilCall, responses=ERRORS)
def pa_binding_council_call(state: State, body: PaBinding) -> CouncilCall:
    """The council proposal that binds an account (registrar officer or area manager) to a PA: nothing is sent
    (``setAccountPa`` belongs to the council's timelock executor)."""
    registry = state.chain.registry
    account = cv.address(body.account)
    what = f"Bind {account} to PA {body.paId}" if body.paId else f"Unbind {account} from its PA"
    return CouncilCall(to=registry.address, data=registry.encode_abi("setAccountPa", [account, body.paId]),
                       function="setAccountPa(address,uint256)", description=what,
                       requiredRole="DEFAULT_ADMIN_ROLE on CitizenRegistry (the council's timelock executor)")


@router.post("/proposals/electorate", response_model=m.ProposalCreated, status_code=202, responses=ERRORS,
             **SECURITY)
def propose_for(state: State, pa: PA, body: ProposalForCreate) -> m.ProposalCreated:
    """Create a proposal voted by a named electorate (``proposeFor``); the contract checks the proposer, the
    window and that an area proposal's electorate belongs to the area's managing PA."""
    gov = state.chain.governance
    electorate = _electorate(body.electorate)
    targets = [cv.address(a.target) for a in body.actions]
    values = [cv.uint(a.value, "value") for a in body.actions]
    calldatas = [bytes.fromhex(a.data[2:]) for a in body.actions]
    window = (body.mode, body.commitReveal, body.voteStart, body.voteEnd, body.revealEnd)
    pid = el.proposal_id_for(pa.address, body.areaId, electorate, body.mode, body.commitReveal, body.voteStart,
                             body.voteEnd, body.revealEnd, body.description, targets, values, calldatas)
    fn = gov.functions.proposeFor(body.areaId, electorate, window, targets, values, calldatas, body.description)
    return m.ProposalCreated(txHash=state.send_as(pa, fn), proposalId=str(pid))
