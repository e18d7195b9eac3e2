"""Liquid delegation: relay signed delegations, read a citizen's delegations and a proposal's delegated
weight, and trigger the (permissionless) counting of delegations on a proposal.

Reads of current state are live contract calls; the list of countings comes from the indexer. The routes
answer 404 ``delegation_not_deployed`` when the manifest has no ``LiquidDelegation``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from co3chain.api import convert as cv
from co3chain.api import models as m
from co3chain.api.errors import ApiError
from co3chain.api.routes.relay import _check_deadline, _check_nonce, _check_signer
from co3chain.api.state import ApiState, get_state, limit_relay_client
from co3chain.contracts.typed_data import TypedDataError
from co3chain.delegation import models as dm
from co3chain.delegation.counter import DelegationCounter
from co3chain.delegation.rule import MAX_DEPTH
from co3chain.delegation.typed_data import delegate_typed_data, undelegate_typed_data

router = APIRouter(prefix="/v1/delegation", tags=["delegation"])
relay_router = APIRouter(prefix="/v1/relay", tags=["relay"], dependencies=[Depends(limit_relay_client)])
State = Annotated[ApiState, Depends(get_state)]
AddressPath = Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{40}$")]
ProposalIdPath = Annotated[str, Path(pattern=r"^[0-9]{1,78}$", description="proposal id (decimal)")]
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": m.ErrorResponse} for code in (400, 404, 409, 413, 422, 429, 502, 503)
}
ZERO = "0x" + "00" * 20
TOKEN_WEIGHTED = 1


def _ld(state: ApiState) -> Any:
    contract = state.chain.contracts.get("LiquidDelegation")
    if contract is None:
        raise ApiError(404, "delegation_not_deployed", "this deployment has no LiquidDelegation contract")
    return contract


def _proposal(state: ApiState, pid: int) -> Any:
    return state.chain.read(state.chain.governance.functions.getProposal(pid),
                            not_found={"UnknownProposal": f"no proposal with id {pid}"})


# ------------------------------------------------------------------ relay


@relay_router.post("/delegation", response_model=m.TxAccepted, status_code=202, responses=ERRORS)
def relay_delegation(state: State, body: dm.DelegationRelay) -> m.TxAccepted:
    """Relay a signed liquid delegation (``Delegate``) to ``LiquidDelegation.delegateBySig``."""
    ld, c = _ld(state), state.chain
    delegator, delegatee = cv.address(body.delegator, "delegator"), cv.address(body.delegatee, "delegatee")
    scope, nonce, expiry = cv.uint(body.scope, "scope"), cv.uint(body.nonce, "nonce"), cv.uint(body.expiry, "expiry")
    signature = cv.sig(body.signature)
    try:
        typed = delegate_typed_data(c.chain_id, ld.address, delegator=delegator, scope=scope, delegatee=delegatee,
                                    nonce=nonce, expiry=expiry)
    except TypedDataError as exc:
        raise ApiError(422, "validation_error", str(exc)) from None
    _check_signer(typed, signature, delegator, "delegator")
    _check_nonce(nonce, int(c.call(ld.functions.nonces(delegator))))
    _check_deadline(state, expiry, "expiry")
    fn = ld.functions.delegateBySig(delegator, scope, delegatee, nonce, expiry, signature)
    return m.TxAccepted(txHash=state.relay(fn, ("liquid-delegation", delegator, nonce)))


@relay_router.post("/undelegation", response_model=m.TxAccepted, status_code=202, responses=ERRORS)
def relay_undelegation(state: State, body: dm.UndelegationRelay) -> m.TxAccepted:
    """Relay a signed revocation (``Undelegate``) to ``LiquidDelegation.undelegateBySig``."""
    ld, c = _ld(state), state.chain
    delegator = cv.address(body.delegator, "delegator")
    scope, nonce, expiry = cv.uint(body.scope, "scope"), cv.uint(body.nonce, "nonce"), cv.uint(body.expiry, "expiry")
    signature = cv.sig(body.signature)
    typed = undelegate_typed_data(c.chain_id, ld.address, delegator=delegator, scope=scope, nonce=nonce, expiry=expiry)
    _check_signer(typed, signature, delegator, "delegator")
    _check_nonce(nonce, int(c.call(ld.functions.nonces(delegator))))
    _check_deadline(state, expiry, "expiry")
    fn = ld.functions.undelegateBySig(delegator, scope, nonce, expiry, signature)
    return m.TxAccepted(txHash=state.relay(fn, ("liquid-delegation", delegator, nonce)))


# ------------------------------------------------------------------ reads


@router.get("/citizens/{address}", response_model=dm.CitizenDelegation, responses=ERRORS)
def citizen_delegation(state: State, address: AddressPath,
                       area_id: Annotated[int, Query(alias="areaId", ge=0, lt=2**63)] = 0) -> dm.CitizenDelegation:
    """A citizen's global delegation, its delegation in ``areaId`` (if given) and the chain followed now."""
    ld, c = _ld(state).functions, state.chain
    who = cv.address(address)
    scopes = [0] if area_id == 0 else [0, area_id]
    delegations = []
    for scope in scopes:
        d = c.read(ld.delegateOf(who, scope))
        delegations.append(dm.ScopeDelegation(scope=str(scope), delegate=None if d == ZERO else d))
    chain = list(c.read(ld.chainAt(who, area_id, c.timestamp())))
    return dm.CitizenDelegation(citizen=who, areaId=str(area_id), delegations=delegations, chain=chain,
                                nonce=str(c.read(ld.nonces(who))), maxDepth=MAX_DEPTH)


@router.get("/proposals/{proposal_id}", response_model=dm.ProposalDelegation, responses=ERRORS)
def proposal_delegation(state: State, proposal_id: ProposalIdPath) -> dm.ProposalDelegation:
    """Delegated weight on a proposal: what each direct voter carries now, and every counting so far."""
    ld, c = _ld(state).functions, state.chain
    pid = cv.uint(proposal_id, "proposalId")
    p = _proposal(state, pid)
    applicable = int(p[4]) != TOKEN_WEIGHTED and not p[5]
    voters = []
    for row in state.store.query("SELECT DISTINCT voter FROM votes WHERE proposal_id = ? AND type = 'cast'",
                                 (str(pid),)):
        w = int(c.read(ld.delegatedWeight(pid, row["voter"])))
        if w:
            voters.append(dm.DelegatedVoter(voter=row["voter"], delegatedWeight=str(w)))
    counted = [dm.CountedDelegation(delegator=r["citizen"], representative=r["representative"], weight=r["weight"],
                                    hops=int(r["hops"]))
               for r in state.store.query("SELECT * FROM delegation_weights WHERE proposal_id = ? AND kind = 'counted'"
                                          " ORDER BY block, log_index", (str(pid),))]
    total = sum(int(v.delegatedWeight) for v in voters)
    return dm.ProposalDelegation(proposalId=str(pid), applicable=applicable, totalDelegated=str(total), voters=voters,
                                 counted=counted)


@router.get("/proposals/{proposal_id}/citizens/{address}", response_model=dm.DelegatorStatus, responses=ERRORS)
def delegator_status(state: State, proposal_id: ProposalIdPath, address: AddressPath) -> dm.DelegatorStatus:
    """Where a citizen's weight goes on a proposal: counted weight, representative now, chain at the snapshot."""
    ld, c = _ld(state).functions, state.chain
    pid, who = cv.uint(proposal_id, "proposalId"), cv.address(address)
    p = _proposal(state, pid)
    rep = c.read(ld.representativeOf(pid, who))
    return dm.DelegatorStatus(proposalId=str(pid), citizen=who, countedWeight=str(c.read(ld.countedWeight(pid, who))),
                              representative=None if rep == ZERO else rep,
                              chain=list(c.read(ld.chainAt(who, int(p[7]), int(p[1])))))


@relay_router.post("/delegation/count/{proposal_id}", response_model=dm.CountAccepted, status_code=202,
                   responses=ERRORS)
def count_delegations(state: State, proposal_id: ProposalIdPath, body: dm.CountRequest) -> dm.CountAccepted:
    """Count delegations on an Active proposal from the relayer (anyone may also call the contract directly).
    Without ``delegators``: every delegator the indexer knows whose chain reaches a direct voter."""
    _ld(state)
    pid = cv.uint(proposal_id, "proposalId")
    _proposal(state, pid)
    counter = DelegationCounter(state.chain, state.store, state.relayer)
    if body.delegators is not None:
        delegators = [cv.address(d, "delegator") for d in body.delegators]
    else:
        pending: dict[str, None] = {}  # insertion-ordered set: first voter's order, each delegator once
        for row in state.store.query("SELECT DISTINCT voter FROM votes WHERE proposal_id = ? AND type = 'cast'",
                                     (str(pid),)):
            pending.update(dict.fromkeys(counter.pending(pid, row["voter"])))
        delegators = list(pending)
    if not delegators:
        return dm.CountAccepted(proposalId=str(pid), delegators=[], txHashes=[])
    if state.relayer is None:
        raise ApiError(503, "relayer_unavailable", "this API has no relayer key configured")
    try:
        hashes = counter.count(pid, delegators)
    except Exception as exc:
        from co3chain.api.chain import Reverted
        from co3chain.api.state import revert_error

        if isinstance(exc, Reverted):
            raise revert_error(exc) from None
        raise
    return dm.CountAccepted(proposalId=str(pid), delegators=delegators, txHashes=hashes)
