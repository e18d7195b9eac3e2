"""Read endpoints: health, deployment, areas, activities, citizens, proposals, votes, attestations, tx status.

Single objects are read live from the contracts (the chain is the truth); lists come from the indexer's
SQLite tables, with live proposal state, so they stay fast as the chain grows.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from web3.exceptions import TransactionNotFound

from co3chain.api import convert as cv
from co3chain.api import models as m
from co3chain.api.chain import Reverted
from co3chain.api.errors import ApiError
from co3chain.api.state import ApiState, get_state
from co3chain.oracle.geometry import geometry_hash

router = APIRouter(prefix="/v1")
State = Annotated[ApiState, Depends(get_state)]
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": m.ErrorResponse} for code in (404, 422, 502, 503)
}
ProposalIdPath = Annotated[str, Path(pattern=r"^[0-9]{1,78}$", description="proposal id (decimal)")]
AddressPath = Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{40}$")]
IdPath = Annotated[int, Path(ge=1, lt=2**63)]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, lt=2**62)]


@router.get("/health", response_model=m.Health, tags=["meta"])
def health(state: State) -> m.Health:
    """Node reachability, chain head and indexer progress; ``degraded`` when the node or indexer lag."""
    head: int | None
    reachable = True
    error = None
    try:
        head = int(state.chain.w3.eth.block_number)
    except Exception as exc:
        head, reachable = None, False
        error = f"node unreachable: {exc.__class__.__name__}"
    indexed = state.store.last_block()
    status = state.indexer.status
    if status.last_error and not error:
        error = f"indexer: {status.last_error}"
    lag = head - indexed if head is not None and indexed is not None else None
    ok = reachable and status.node_reachable
    return m.Health(status="ok" if ok else "degraded", chainId=state.chain.chain_id, chainHead=head,
                    nodeReachable=reachable, indexedBlock=indexed, indexerLag=lag, lastError=error)


@router.get("/deployment", tags=["meta"])
def deployment(state: State) -> dict[str, Any]:
    """The deployment manifest (addresses, tx hashes, compiler settings, source hashes)."""
    return dict(state.chain.manifest)


@router.get("/tx/{tx_hash}", response_model=m.TxStatus, responses=ERRORS, tags=["meta"])
def tx_status(state: State, tx_hash: Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$")]) -> m.TxStatus:
    """Status of a relayed transaction: pending, success or failed (with the decoded revert reason)."""
    w3 = state.chain.w3
    try:
        receipt = w3.eth.get_transaction_receipt(tx_hash)
    except TransactionNotFound:
        receipt = None
    except Exception as exc:
        raise state.chain.translate(exc) from None
    if receipt is None:
        try:
            w3.eth.get_transaction(tx_hash)
        except TransactionNotFound:
            raise ApiError(404, "unknown_transaction", f"transaction {tx_hash} is unknown to the node") from None
        except Exception as exc:
            raise state.chain.translate(exc) from None
        return m.TxStatus(txHash=tx_hash.lower(), status="pending")
    ok = int(receipt["status"]) == 1
    error = None if ok else _replay_reason(state, tx_hash)
    return m.TxStatus(txHash=tx_hash.lower(), status="success" if ok else "failed",
                      blockNumber=int(receipt["blockNumber"]), gasUsed=int(receipt["gasUsed"]), error=error)


def _replay_reason(state: ApiState, tx_hash: str) -> str:
    """Re-run a failed transaction with eth_call on its parent block to recover the custom error."""
    try:
        tx = state.chain.w3.eth.get_transaction(tx_hash)
        call = {"from": tx["from"], "to": tx.get("to"), "data": tx["input"], "value": tx["value"], "gas": tx["gas"]}
        state.chain.w3.eth.call(call, int(tx["blockNumber"]) - 1)
    except Exception as exc:
        translated = state.chain.translate(exc)
        if isinstance(translated, Reverted):
            return translated.reason
        return "reason unavailable"
    return "reason unavailable (out of gas?)"


# ---------------------------------------------------------------------- areas and activities
def _area(state: ApiState, area_id: int) -> m.Area:
    t = state.chain.read(state.chain.areas.functions.getArea(area_id),
                         not_found={"UnknownArea": f"no area with id {area_id}"})
    onchain_hash = cv.hex32(t[2])
    geometry = state.store.geometry(onchain_hash)
    verified = geometry is not None and "0x" + geometry_hash(geometry).hex() == onchain_hash
    return m.Area(id=int(t[0]), managingPA=t[1], geometryHash=onchain_hash, metadataURI=t[3], createdAt=int(t[4]),
                  closedAt=int(t[5]), geometry=geometry if verified else None, geometryVerified=verified)


@router.get("/areas", response_model=m.AreaList, tags=["areas"])
def list_areas(state: State, managingPA: Annotated[str | None, Query(pattern=r"^0x[0-9a-fA-F]{40}$")] = None,
               open: bool | None = None, limit: Limit = 100, offset: Offset = 0) -> m.AreaList:
    """Indexed areas, optionally of one managing PA or only open/closed ones."""
    sql, params = "SELECT * FROM areas WHERE 1=1", []
    if managingPA:
        sql += " AND managing_pa = ?"
        params.append(cv.address(managingPA, "managingPA"))
    if open is not None:
        sql += " AND closed_at = 0" if open else " AND closed_at != 0"
    rows = state.store.query(sql + " ORDER BY id LIMIT ? OFFSET ?", [*params, limit, offset])
    items = []
    for r in rows:
        geometry = state.store.geometry(r["geometry_hash"])
        items.append(m.Area(id=r["id"], managingPA=r["managing_pa"], geometryHash=r["geometry_hash"],
                            metadataURI=r["metadata_uri"], closedAt=r["closed_at"], geometry=geometry,
                            geometryVerified=geometry is not None))
    return m.AreaList(items=items)


@router.get("/areas/{area_id}", response_model=m.Area, responses=ERRORS, tags=["areas"])
def get_area(state: State, area_id: IdPath) -> m.Area:
    """One area, live from the chain, with its GeoJSON when the stored copy matches ``geometryHash``."""
    return _area(state, area_id)


@router.get("/areas/{area_id}/activities", response_model=m.ActivityList, responses=ERRORS, tags=["areas"])
def area_activities(state: State, area_id: IdPath, limit: Limit = 100, offset: Offset = 0) -> m.ActivityList:
    if not state.chain.read(state.chain.areas.functions.areaExists(area_id)):
        raise ApiError(404, "unknown_area", f"no area with id {area_id}")
    rows = state.store.query("SELECT * FROM activities WHERE area_id = ? ORDER BY id LIMIT ? OFFSET ?",
                             (area_id, limit, offset))
    return m.ActivityList(items=[cv.activity_row(r) for r in rows])


@router.get("/activities/{activity_id}", response_model=m.Activity, responses=ERRORS, tags=["areas"])
def get_activity(state: State, activity_id: IdPath) -> m.Activity:
    t = state.chain.read(state.chain.areas.functions.getActivity(activity_id),
                         not_found={"UnknownActivity": f"no activity with id {activity_id}"})
    return cv.activity(t)


# ---------------------------------------------------------------------- citizens
@router.get("/citizens/{address}", response_model=m.Citizen, responses=ERRORS, tags=["citizens"])
def get_citizen(state: State, address: AddressPath) -> m.Citizen:
    """Citizenship, token balance and voting power, reputation (global and per area the citizen earned in)."""
    who = cv.address(address)
    c = state.chain
    record = c.read(c.registry.functions.getCitizen(who))
    delegate = c.read(c.token.functions.delegates(who))
    area_rows = state.store.query(
        "SELECT DISTINCT a.area_id FROM attestations t JOIN activities a ON a.id = t.activity_id"
        " WHERE t.subject = ? ORDER BY a.area_id", (who,))
    area_ids = {int(r["area_id"]) for r in area_rows}
    # Areas the Reputation contract tracks for the address (also those a key recovery moved to it).
    area_ids |= {int.from_bytes(bytes(d), "big") for d in c.read(c.reputation.functions.domainsOf(who))}
    areas = {str(a): str(c.read(c.reputation.functions.scoreOf(who, a.to_bytes(32, "big")))) for a in sorted(area_ids)}
    return m.Citizen(
        address=who,
        isCitizen=bool(c.read(c.registry.functions.isCitizen(who))),
        registeredAt=int(record[1]), expiresAt=int(record[2]), revoked=bool(record[3]),
        balance=str(c.read(c.token.functions.balanceOf(who))),
        votingPower=str(c.read(c.token.functions.getVotes(who))),
        delegate=None if delegate == cv.ZERO else delegate,
        tokenNonce=str(c.read(c.token.functions.nonces(who))),
        reputation=m.Reputation(**{"global": str(c.read(c.reputation.functions.scoreOf(who, bytes(32)))),
                                   "areas": areas}),
    )


@router.get("/citizens/{address}/attestations", response_model=m.AttestationList, tags=["citizens"])
def citizen_attestations(state: State, address: AddressPath, limit: Limit = 100, offset: Offset = 0) -> m.AttestationList:
    rows = state.store.query("SELECT * FROM attestations WHERE subject = ? ORDER BY block DESC LIMIT ? OFFSET ?",
                             (cv.address(address), limit, offset))
    return m.AttestationList(items=[cv.attestation_row(r) for r in rows])


# ---------------------------------------------------------------------- proposals and votes
def proposal_model(state: ApiState, pid: int, row: Any | None = None) -> m.Proposal:
    """Live state, quorum and results of proposal ``pid`` (results hidden before a reveal phase)."""
    c = state.chain
    gov = c.governance.functions
    not_found = {"UnknownProposal": f"no proposal with id {pid}"}
    p = c.read(gov.getProposal(pid), not_found=not_found)
    st = cv.STATES[int(c.read(gov.state(pid), not_found=not_found))]
    try:
        quorum: str | None = str(c.call(gov.quorum(pid)))
    except Reverted:
        quorum = None  # snapshot not reached yet
    commit_reveal = bool(p[5])
    hidden = commit_reveal and st in ("Pending", "Active")
    actions_hash, operation = c.read(gov.proposalActions(pid), not_found=not_found)
    unrevealed = str(c.read(gov.unrevealedVotes(pid), not_found=not_found)) if commit_reveal else None
    results = None
    if not hidden:
        against, for_, abstain = c.read(gov.proposalVotes(pid), not_found=not_found)
        results = m.Results(**{"against": str(against), "for": str(for_), "abstain": str(abstain)})
    if row is None:
        rows = state.store.query("SELECT description, block, tx_hash FROM proposals WHERE id = ?", (str(pid),))
        row = rows[0] if rows else None
    return m.Proposal(
        id=str(pid), proposer=p[0], voteStart=int(p[1]), voteEnd=int(p[2]), revealEnd=int(p[3]),
        mode=cv.MODES[int(p[4])], commitReveal=commit_reveal, areaId=int(p[7]),
        description=row["description"] if row else "", state=st, quorum=quorum, results=results,
        resultsHidden=hidden, blockNumber=row["block"] if row else None, txHash=row["tx_hash"] if row else None,
        actionsHash=None if int.from_bytes(actions_hash, "big") == 0 else cv.hex32(actions_hash),
        timelockOperation=None if int.from_bytes(operation, "big") == 0 else cv.hex32(operation),
        unrevealed=unrevealed,
    )


#: Clock slack (s) around vote-window edges when pre-filtering by state from indexed rows: the contract
#: compares with the timestamp of the block an ``eth_call`` runs in, which may be a block ahead of the head.
STATE_PREFILTER_SLACK = 60
_PHASES = ("Pending", "Active", "Revealing", "Final")
#: States a proposal can be in once its vote is over (queueing and execution are not indexed: read live).
_FINAL_STATES = ("Succeeded", "Defeated", "Queued", "Expired", "Executed")


def _phase(row: Any, t: int) -> int:
    """Index in :data:`_PHASES` of the time-determined phase of the indexed proposal ``row`` at ``t``
    (the same comparisons as ``CO3Governance.state``)."""
    if t <= int(row["vote_start"]):
        return 0
    if t <= int(row["vote_end"]):
        return 1
    if row["commit_reveal"] and t <= int(row["reveal_end"]):
        return 2
    return 3


def possible_states(row: Any, now: int) -> set[str]:
    """States the indexed proposal ``row`` can be in around ``now``, from its stored vote windows.

    Why: a ``status`` filter otherwise reads every proposal's live state from the chain (several calls
    each). Rows that cannot match are skipped; the ones kept still get their live state, so the answer
    does not depend on this estimate. A cancel the indexer has not seen yet keeps ``Canceled`` possible.
    """
    if row["canceled"]:
        return {"Canceled"}
    lo, hi = _phase(row, now - STATE_PREFILTER_SLACK), _phase(row, now + STATE_PREFILTER_SLACK)
    states = {"Canceled"}
    for phase in _PHASES[lo:hi + 1]:
        states.update(_FINAL_STATES if phase == "Final" else (phase,))
    return states


@router.get("/proposals", response_model=m.ProposalList, tags=["proposals"])
def list_proposals(state: State, areaId: Annotated[int | None, Query(ge=0, lt=2**63)] = None,
                   proposer: Annotated[str | None, Query(pattern=r"^0x[0-9a-fA-F]{40}$")] = None,
                   status: Annotated[str | None, Query(pattern="^(" + "|".join(cv.STATES) + ")$")] = None,
                   limit: Annotated[int, Query(ge=1, le=100)] = 20, offset: Offset = 0) -> m.ProposalList:
    """Indexed proposals, newest first, with live state and results; filter by area, proposer or state."""
    sql, params = "SELECT * FROM proposals WHERE 1=1", []
    if areaId is not None:
        sql += " AND area_id = ?"
        params.append(areaId)
    if proposer:
        sql += " AND proposer = ?"
        params.append(cv.address(proposer, "proposer"))
    rows = state.store.query(sql + " ORDER BY block DESC, id", params)
    if status:
        now = state.chain.timestamp()
        rows = [r for r in rows if status in possible_states(r, now)]
    items: list[m.Proposal] = []
    skipped = 0
    for r in rows:
        item = proposal_model(state, int(r["id"]), r)
        if status and item.state != status:
            continue
        if skipped < offset:
            skipped += 1
            continue
        items.append(item)
        if len(items) >= limit:
            break
    return m.ProposalList(items=items)


@router.get("/proposals/{proposal_id}", response_model=m.Proposal, responses=ERRORS, tags=["proposals"])
def get_proposal(state: State, proposal_id: ProposalIdPath) -> m.Proposal:
    return proposal_model(state, cv.uint(proposal_id, "proposal_id"))


@router.get("/proposals/{proposal_id}/votes", response_model=m.VoteList, responses=ERRORS, tags=["proposals"])
def proposal_votes(state: State, proposal_id: ProposalIdPath, limit: Limit = 100, offset: Offset = 0) -> m.VoteList:
    """Indexed votes: open votes, commitments (no support shown) and reveals, in chain order."""
    pid = cv.uint(proposal_id, "proposal_id")
    rows = state.store.query("SELECT * FROM votes WHERE proposal_id = ? ORDER BY block, log_index LIMIT ? OFFSET ?",
                             (str(pid), limit, offset))
    if not rows:
        state.chain.read(state.chain.governance.functions.getProposal(pid),
                         not_found={"UnknownProposal": f"no proposal with id {pid}"})
    return m.VoteList(items=[cv.vote_row(r) for r in rows])


@router.get("/proposals/{proposal_id}/voters/{address}", response_model=m.VoterStatus, responses=ERRORS,
            tags=["proposals"])
def voter_status(state: State, proposal_id: ProposalIdPath, address: AddressPath) -> m.VoterStatus:
    """The voter's signing nonce for this proposal and whether they voted, committed, revealed."""
    pid, who = cv.uint(proposal_id, "proposal_id"), cv.address(address)
    gov = state.chain.governance.functions
    not_found = {"UnknownProposal": f"no proposal with id {pid}"}
    state.chain.read(gov.getProposal(pid), not_found=not_found)
    commitment = cv.hex32(state.chain.read(gov.commitmentOf(pid, who), not_found=not_found))
    return m.VoterStatus(proposalId=str(pid), voter=who, nonce=str(state.chain.read(gov.nonces(who, pid))),
                         hasVoted=bool(state.chain.read(gov.hasVoted(pid, who), not_found=not_found)),
                         hasRevealed=bool(state.chain.read(gov.hasRevealed(pid, who), not_found=not_found)),
                         commitment=None if int(commitment, 16) == 0 else commitment)


# ---------------------------------------------------------------------- attestations
@router.get("/attestations", response_model=m.AttestationList, tags=["attestations"])
def list_attestations(state: State, subject: Annotated[str | None, Query(pattern=r"^0x[0-9a-fA-F]{40}$")] = None,
                      activityId: Annotated[int | None, Query(ge=0, lt=2**63)] = None,
                      limit: Limit = 100, offset: Offset = 0) -> m.AttestationList:
    """Accepted attestations (rewards), newest first."""
    sql, params = "SELECT * FROM attestations WHERE 1=1", []
    if subject:
        sql += " AND subject = ?"
        params.append(cv.address(subject, "subject"))
    if activityId is not None:
        sql += " AND activity_id = ?"
        params.append(activityId)
    rows = state.store.query(sql + " ORDER BY block DESC LIMIT ? OFFSET ?", [*params, limit, offset])
    return m.AttestationList(items=[cv.attestation_row(r) for r in rows])


@router.get("/attestations/{attestation_id}", response_model=m.Attestation, responses=ERRORS, tags=["attestations"])
def get_attestation(state: State, attestation_id: Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$")]) -> m.Attestation:
    rows = state.store.query("SELECT * FROM attestations WHERE id = ?", (attestation_id.lower(),))
    if not rows:
        raise ApiError(404, "unknown_attestation", f"no accepted attestation {attestation_id} (yet)")
    return cv.attestation_row(rows[0])
