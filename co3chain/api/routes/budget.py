"""Participatory budgeting: rounds, projects, results, treasury balances, signed budget ballots.

Reads are served from contract state (a round has at most 32 projects, so one round is a handful of calls).
Writes follow the other PA routes (sent from the calling PA's account after an on-chain role check) and the
relay routes (signature, nonce and eligibility checked before the relayer pays for the transaction).
The routes answer 404 ``budget_not_deployed`` when the manifest lacks the budget contracts.
"""

from __future__ import annotations

from typing import Annotated, Any

from eth_utils import keccak
from fastapi import APIRouter, Depends, Path, Query

from co3chain import electorates
from co3chain.api import convert as cv
from co3chain.api import models as m
from co3chain.api.auth import PrincipalPA
from co3chain.api.errors import ApiError
from co3chain.api.state import ApiState, get_state, limit_relay_client, require_pa
from co3chain.budget import models as bm
from co3chain.budget.rule import compute_outcome, mask_indices
from co3chain.budget.typed_data import BudgetBallotError, ballot_typed_data, recover_voter

router = APIRouter(prefix="/v1/budget", tags=["budget"])
relay_router = APIRouter(prefix="/v1/relay", tags=["relay"], dependencies=[Depends(limit_relay_client)])
State = Annotated[ApiState, Depends(get_state)]
PA = Annotated[PrincipalPA, Depends(require_pa)]
RoundId = Annotated[int, Path(ge=1, lt=2**63)]
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": m.ErrorResponse} for code in (400, 401, 403, 404, 409, 413, 422, 429, 502, 503)
}
SECURITY = {"openapi_extra": {"security": [{"ApiKey": []}]}}
KINDS = ("approval", "knapsack")
STATES = ("Proposed", "NotFunded", "Funded", "InProgress", "Delivered", "Cancelled")


def _contract(state: ApiState, name: str) -> Any:
    contract = state.chain.contracts.get(name)
    if contract is None:
        raise ApiError(404, "budget_not_deployed", f"this deployment has no {name} (run `co3chain budget deploy`)")
    return contract


def _round(state: ApiState, round_id: int) -> tuple[Any, bm.Round]:
    pb = _contract(state, "ParticipatoryBudget")
    t = state.chain.read(pb.functions.getRound(round_id), not_found={"UnknownRound": f"no budget round {round_id}"})
    area, budget, spent, manager, snapshot, start, end, kind, max_choices, count, finalized, cancelled, ballots, meta = t
    now = state.chain.timestamp()
    status = "cancelled" if cancelled else "finalized" if finalized else "pending" if now < start else \
        "voting" if now <= end else "closed"
    electorate = int(state.chain.read(pb.functions.roundElectorate(round_id)))
    size = str(state.chain.read(pb.functions.electorateSize(round_id))) if snapshot < now else None
    return t, bm.Round(roundId=round_id, areaId=str(area), budget=str(budget), spent=str(spent), manager=manager,
                       snapshot=snapshot, voteStart=start, voteEnd=end, kind=KINDS[kind], maxChoices=max_choices,
                       projectCount=count, ballots=ballots, finalized=finalized, cancelled=cancelled, metadataHash=cv.hex32(meta),
                       status=status, electorate=str(electorate), electorateSize=size)


def _project(state: ApiState, round_id: int, index: int) -> bm.Project:
    pb = _contract(state, "ParticipatoryBudget")
    cost, payee, st, approvals, paid, details = state.chain.read(
        pb.functions.getProject(round_id, index),
        not_found={"UnknownRound": f"no budget round {round_id}",
                   "UnknownProject": f"round {round_id} has no project {index}"})
    return bm.Project(index=index, cost=str(cost), payee=payee, state=STATES[st], approvals=approvals, paid=str(paid),
                      detailsHash=cv.hex32(details))


@router.get("/rounds", response_model=bm.RoundList, responses=ERRORS)
def list_rounds(state: State, limit: Annotated[int, Query(ge=1, le=100)] = 20,
                offset: Annotated[int, Query(ge=0)] = 0) -> bm.RoundList:
    """Budget rounds, newest first."""
    total = int(state.chain.read(_contract(state, "ParticipatoryBudget").functions.roundCount()))
    ids = range(total - offset, max(total - offset - limit, 0), -1)
    return bm.RoundList(items=[_round(state, rid)[1] for rid in ids], total=total)


@router.get("/rounds/{round_id}", response_model=bm.RoundDetail, responses=ERRORS)
def get_round(state: State, round_id: RoundId) -> bm.RoundDetail:
    """A round with its projects and its result (provisional until finalized)."""
    _t, info = _round(state, round_id)
    projects = [_project(state, round_id, i) for i in range(info.projectCount)]
    outcome = compute_outcome(int(info.budget), [p.approvals for p in projects], [int(p.cost) for p in projects])
    if info.cancelled:
        result = bm.RoundResult(provisional=False, ranking=list(outcome.ranking), funded=[], spent="0")
    elif info.finalized:
        funded = [p.index for p in projects if p.state in ("Funded", "InProgress", "Delivered", "Cancelled")]
        result = bm.RoundResult(provisional=False, ranking=list(outcome.ranking), funded=funded,
                                spent=str(sum(int(projects[i].cost) for i in funded)))
    else:
        result = bm.RoundResult(provisional=True, ranking=list(outcome.ranking), funded=mask_indices(outcome.funded_mask),
                                spent=str(outcome.spent))
    return bm.RoundDetail(**info.model_dump(), projects=projects, result=result)


@router.get("/rounds/{round_id}/history", response_model=bm.RoundHistory, responses=ERRORS)
def round_history(state: State, round_id: RoundId, limit: Annotated[int, Query(ge=1, le=500)] = 100,
                  offset: Annotated[int, Query(ge=0)] = 0) -> bm.RoundHistory:
    """A round's history from the index, in chain order: opening, projects, ballots, outcome, tranches paid
    (with the evidence hash of each project step) and the treasury's reservations and payments for it."""
    _round(state, round_id)  # 404 for an unknown round or a deployment without the budget contracts
    items, total = state.indexer.budget.history(round_id, limit, offset)
    return bm.RoundHistory(roundId=round_id, items=[bm.BudgetEvent(**i) for i in items], total=total,
                           indexedBlock=state.indexer.budget.indexed_block())


@router.get("/rounds/{round_id}/projects/{index}", response_model=bm.Project, responses=ERRORS)
def get_project(state: State, round_id: RoundId, index: Annotated[int, Path(ge=0, lt=32)]) -> bm.Project:
    """One project: cost, payee, approvals, state (Funded → InProgress → Delivered) and amount paid."""
    return _project(state, round_id, index)


@router.get("/rounds/{round_id}/voters/{voter}", response_model=bm.VoterStatus, responses=ERRORS)
def voter_status(state: State, round_id: RoundId, voter: str) -> bm.VoterStatus:
    """Whether ``voter`` may vote in the round, has voted, and the nonce to sign next."""
    who = cv.address(voter, "voter")
    _round(state, round_id)
    pb = _contract(state, "ParticipatoryBudget").functions
    return bm.VoterStatus(roundId=round_id, voter=who, eligible=bool(state.chain.read(pb.isEligible(who, round_id))),
                          hasVoted=bool(state.chain.read(pb.hasVoted(round_id, who))),
                          nonce=str(state.chain.read(pb.nonces(who, round_id))))


@router.get("/treasury", response_model=bm.Treasury, responses=ERRORS)
def treasury(state: State, area: Annotated[list[int], Query(description="area ids to report")] = [0]) -> bm.Treasury:  # noqa: B006
    """The treasury's token balance, unassigned pool and the budgets of the requested areas."""
    tr = _contract(state, "CommonsTreasury")
    pb = _contract(state, "ParticipatoryBudget")
    token = state.chain.read(tr.functions.token())
    balance = state.chain.read(state.chain.token.functions.balanceOf(tr.address)) if token == state.chain.token.address \
        else None
    areas = [bm.AreaBudget(areaId=str(a), budget=str(state.chain.read(tr.functions.budgetOf(cv.uint(a, "area")))),
                           reservedByRounds=str(state.chain.read(tr.functions.reservedOf(pb.address, a))))
             for a in area[:50]]
    unassigned = int(state.chain.read(tr.functions.unassigned()))
    if balance is None:
        budgets, reserved = state.chain.read(tr.functions.committed())
        balance = unassigned + budgets + reserved
    return bm.Treasury(address=tr.address, token=token, balance=str(balance), unassigned=str(unassigned), areas=areas)


def _require_role(state: ApiState, contract: Any, role: str, pa: PrincipalPA) -> None:
    if not state.chain.read(contract.functions.hasRole(keccak(text=role), pa.address)):
        raise ApiError(403, "missing_role", f"the account {pa.address} of {pa.name!r} lacks {role} on {contract.address}")


@router.post("/rounds", response_model=bm.RoundCreated, status_code=202, responses=ERRORS, **SECURITY)
def create_round(state: State, pa: PA, body: bm.RoundCreate) -> bm.RoundCreated:
    """Open a round (PROPOSER_ROLE): the budget is reserved from the area's treasury budget at once."""
    pb = _contract(state, "ParticipatoryBudget")
    _require_role(state, pb, "PROPOSER_ROLE", pa)
    if body.voteEnd <= body.voteStart:
        raise ApiError(422, "validation_error", "voteEnd must be after voteStart")
    projects = [(cv.uint(p.cost, "cost"), cv.address(p.payee, "payee"), cv.b32(p.detailsHash, "detailsHash"))
                for p in body.projects]
    spec = (cv.uint(body.areaId, "areaId"), cv.uint(body.budget, "budget"), body.voteStart, body.voteEnd,
            KINDS.index(body.kind), body.maxChoices, cv.b32(body.metadataHash, "metadataHash"))
    if body.electorate is None:
        fn = pb.functions.createRound(*spec, projects)
    else:
        try:
            electorate = electorates.parse(body.electorate)
        except ValueError as exc:
            raise ApiError(422, "validation_error", str(exc)) from None
        fn = pb.functions.createRoundFor(electorate, spec, projects)
    return bm.RoundCreated(txHash=state.send_as(pa, fn))


@router.post("/rounds/{round_id}/finalize", response_model=m.TxAccepted, status_code=202, responses=ERRORS,
             **SECURITY)
def finalize_round(state: State, pa: PA, round_id: RoundId) -> m.TxAccepted:
    """Compute and record the outcome after the vote window (anyone may do it on-chain; here a PA pays)."""
    info = _round(state, round_id)[1]
    if info.finalized:
        raise ApiError(409, "already_finalized", f"round {round_id} is already finalized")
    fn = _contract(state, "ParticipatoryBudget").functions.finalize(round_id)
    return m.TxAccepted(txHash=state.send_as(pa, fn))


@router.post("/rounds/{round_id}/projects/{index}/status", response_model=m.TxAccepted, status_code=202,
             responses=ERRORS, **SECURITY)
def update_project(state: State, pa: PA, round_id: RoundId, index: Annotated[int, Path(ge=0, lt=32)],
                   body: bm.ProjectStatusUpdate) -> m.TxAccepted:
    """The managing PA reports progress with an evidence hash; each step pays its tranche to the payee."""
    info = _round(state, round_id)[1]
    if info.manager != pa.address:
        raise ApiError(403, "not_round_manager", f"round {round_id} is managed by {info.manager}, not by {pa.name!r}")
    pb = _contract(state, "ParticipatoryBudget").functions
    evidence = cv.b32(body.evidenceHash, "evidenceHash")
    fn = pb.startProject(round_id, index, evidence) if body.state == "InProgress" else \
        pb.deliverProject(round_id, index, evidence)
    return m.TxAccepted(txHash=state.send_as(pa, fn))


@relay_router.post("/budget-ballot", response_model=m.TxAccepted, status_code=202, responses=ERRORS)
def relay_ballot(state: State, body: bm.BallotRelay) -> m.TxAccepted:
    """Relay a citizen's signed ``BudgetBallot`` to ``ParticipatoryBudget.castBallotBySig``."""
    pb = _contract(state, "ParticipatoryBudget")
    rid, nonce = cv.uint(body.roundId, "roundId"), cv.uint(body.nonce, "nonce")
    selection, signature, voter = cv.uint(body.selection, "selection"), cv.sig(body.signature), cv.address(body.voter)
    try:
        typed = ballot_typed_data(state.chain.chain_id, pb.address, round_id=rid, selection=selection, voter=voter,
                                  nonce=nonce)
        signer = recover_voter(typed, signature)
    except BudgetBallotError as exc:
        raise ApiError(422, "validation_error", str(exc)) from None
    except Exception as exc:  # malformed r/s/v
        raise ApiError(400, "invalid_signature", f"signature cannot be verified: {exc}") from None
    if signer != voter:
        raise ApiError(400, "invalid_signature", f"the signature was not made by the voter {voter} over this ballot "
                                                 f"(recovered {signer}; wrong chain, contract, nonce or selection?)")
    _round(state, rid)
    f = pb.functions
    current = int(state.chain.read(f.nonces(voter, rid)))
    if nonce != current:
        raise ApiError(409, "wrong_nonce", f"nonce {nonce} is not the current nonce {current}")
    if not state.chain.read(f.isEligible(voter, rid)):
        raise ApiError(403, "not_eligible", f"{voter} was not an eligible citizen at round {rid}'s snapshot")
    if state.chain.read(f.hasVoted(rid, voter)):
        raise ApiError(409, "already_voted", f"{voter} has already voted in round {rid}")
    fn = f.castBallotBySig(rid, selection, voter, nonce, signature)
    return m.TxAccepted(txHash=state.relay(fn, ("budget-ballot", voter, rid, nonce)))
