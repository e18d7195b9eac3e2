"""Citizen initiatives: read drafts, their versions and supports; relay the author's and citizens' signed steps.

Reads come from contract state (an initiative is a handful of calls) except the list of supports, which the
indexer stores from ``InitiativeSupported`` events (what the audit recounts). The relay routes check what can
be checked before the relayer pays: the content's hash, the EIP-712 signature (400), the nonce (409), the
deadline (400), the initiative's status and the supporter's eligibility at the snapshot (403), then an
``eth_call`` pre-flight. The routes answer 404 ``initiatives_not_deployed`` when the manifest lacks the
contract.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from web3.exceptions import TransactionNotFound
from web3.logs import DISCARD

from co3chain.api import convert as cv
from co3chain.api import models as m
from co3chain.api.errors import ApiError
from co3chain.api.state import ApiState, get_state, limit_relay_client
from co3chain.contracts.typed_data import TypedDataError
from co3chain.initiative import index
from co3chain.initiative import models as im
from co3chain.initiative import typed_data as itd
from co3chain.initiative.content import (
    Action,
    Content,
    describe_electorate,
    required_supports,
)
from co3chain.initiative.reader import InitiativeView, read_initiative, read_threshold

router = APIRouter(prefix="/v1/initiatives", tags=["initiatives"])
relay_router = APIRouter(prefix="/v1/relay", tags=["relay"], dependencies=[Depends(limit_relay_client)])
State = Annotated[ApiState, Depends(get_state)]
InitiativeId = Annotated[int, Path(ge=1, lt=2**63)]
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": m.ErrorResponse} for code in (400, 403, 404, 409, 413, 422, 429, 502, 503)
}


def _contract(state: ApiState) -> Any:
    contract = state.chain.contracts.get(index.CONTRACT)
    if contract is None:
        raise ApiError(404, "initiatives_not_deployed", "this deployment has no CitizenInitiatives contract")
    return contract


def _reader(state: ApiState, initiative_id: int) -> Any:
    return lambda fn: state.chain.read(fn, not_found={"UnknownInitiative": f"no initiative {initiative_id}"})


def _view(state: ApiState, initiative_id: int, *, full: bool) -> InitiativeView:
    return read_initiative(_contract(state), initiative_id, _reader(state, initiative_id), full=full)


def _summary(view: InitiativeView) -> im.Initiative:
    data = view.to_json()
    return im.Initiative(**{k: v for k, v in data.items() if k in im.Initiative.model_fields})


# ---------------------------------------------------------------------- reads (fixed paths first)
@router.get("/thresholds/{electorate}", response_model=im.InitiativeThreshold, responses=ERRORS)
def threshold(state: State, electorate: str) -> im.InitiativeThreshold:
    """The support threshold in force for ``electorate`` and what an initiative opened now would need."""
    eid = cv.uint(electorate, "electorate")
    contract = _contract(state)
    t = read_threshold(contract, eid, state.chain.read)
    registry = state.chain.registry.functions
    if not state.chain.read(registry.electorateExists(eid)):
        raise ApiError(404, "unknown_electorate", f"electorate {describe_electorate(eid)} is not defined")
    size = int(state.chain.read(registry.getPastElectorateSize(eid, state.chain.timestamp() - 1)))
    kind = 0 if t["kind"] == "absolute" else 1
    return im.InitiativeThreshold(electorate=str(eid), electorateSize=size, required=required_supports(kind, t["value"], size),
                        **t)


@router.get("/nonces/{account}", response_model=im.InitiativeNonce, responses=ERRORS)
def nonce(state: State, account: str,
          key: Annotated[int, Query(ge=0, lt=2**63, description="0 for a draft, else the initiative id")] = 0) -> im.InitiativeNonce:
    """The nonce ``account`` must sign next for a draft (key 0) or a step on initiative ``key``."""
    who = cv.address(account, "account")
    value = state.chain.read(_contract(state).functions.nonces(who, key))
    return im.InitiativeNonce(account=who, key=str(key), nonce=str(value), chainTime=state.chain.timestamp())


@router.get("/tx/{tx_hash}", response_model=im.InitiativeTx, responses=ERRORS)
def initiative_tx(state: State, tx_hash: Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$")]) -> im.InitiativeTx:
    """What a relayed initiative transaction did: the drafted initiative's id, the proposal it created."""
    contract = _contract(state)
    try:
        receipt = state.chain.w3.eth.get_transaction_receipt(tx_hash)
    except TransactionNotFound:
        receipt = None
    except Exception as exc:
        raise state.chain.translate(exc) from None
    if receipt is None:
        return im.InitiativeTx(txHash=tx_hash.lower(), status="pending")
    if int(receipt["status"]) != 1:
        return im.InitiativeTx(txHash=tx_hash.lower(), status="failed")
    drafted = contract.events.InitiativeDrafted().process_receipt(receipt, errors=DISCARD)
    proposed = contract.events.InitiativeProposed().process_receipt(receipt, errors=DISCARD)
    return im.InitiativeTx(txHash=tx_hash.lower(), status="success",
                           initiativeId=int(drafted[0]["args"]["initiativeId"]) if drafted else None,
                           proposalId=str(proposed[0]["args"]["proposalId"]) if proposed else None)


@router.get("", response_model=im.InitiativeList, responses=ERRORS)
def list_initiatives(state: State, limit: Annotated[int, Query(ge=1, le=100)] = 20,
                     offset: Annotated[int, Query(ge=0)] = 0) -> im.InitiativeList:
    """Initiatives, newest first."""
    total = int(state.chain.read(_contract(state).functions.initiativeCount()))
    ids = range(total - offset, max(total - offset - limit, 0), -1)
    return im.InitiativeList(items=[_summary(_view(state, i, full=False)) for i in ids], total=total)


@router.get("/{initiative_id}", response_model=im.InitiativeDetail, responses=ERRORS)
def get_initiative(state: State, initiative_id: InitiativeId) -> im.InitiativeDetail:
    """One initiative: its current version, every version's hash, actions, supports so far and threshold."""
    return im.InitiativeDetail(**_view(state, initiative_id, full=True).to_json())


@router.get("/{initiative_id}/supports", response_model=im.InitiativeSupportList, responses=ERRORS)
def list_supports(state: State, initiative_id: InitiativeId, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                  offset: Annotated[int, Query(ge=0)] = 0) -> im.InitiativeSupportList:
    """The supports indexed from ``InitiativeSupported`` events, in chain order."""
    _view(state, initiative_id, full=False)
    rows, total = index.supports(state.store, initiative_id, limit, offset)
    items = [im.InitiativeSupport(supporter=r["supporter"], supportCount=r["support_count"], bySignature=bool(r["by_signature"]),
                        blockNumber=r["block"], txHash=r["tx_hash"]) for r in rows]
    return im.InitiativeSupportList(initiativeId=initiative_id, items=items, total=total)


@router.get("/{initiative_id}/supporters/{supporter}", response_model=im.InitiativeSupporterStatus, responses=ERRORS)
def supporter_status(state: State, initiative_id: InitiativeId, supporter: str) -> im.InitiativeSupporterStatus:
    """Whether ``supporter`` may support the initiative, already did, and the nonce to sign next."""
    who = cv.address(supporter, "supporter")
    f = _contract(state).functions
    read = _reader(state, initiative_id)
    return im.InitiativeSupporterStatus(initiativeId=initiative_id, supporter=who,
                              eligible=bool(read(f.isEligibleSupporter(initiative_id, who))),
                              hasSupported=bool(read(f.hasSupported(initiative_id, who))),
                              nonce=str(read(f.nonces(who, initiative_id))), chainTime=state.chain.timestamp())


# ---------------------------------------------------------------------- relayed steps
def content_of(body: im.InitiativeContent) -> Content:
    """The checked :class:`Content` of a request body (422 on a bad field)."""
    try:
        actions = [Action(a.target, int(a.value), bytes.fromhex(a.calldata[2:])) for a in body.actions]
        return Content.build(text_hash=body.textHash, title=body.title, area_id=int(body.areaId),
                             electorate=int(body.electorate), mode=body.mode, voting_period=body.votingPeriod,
                             actions=actions)
    except (TypedDataError, ValueError) as exc:
        raise ApiError(422, "validation_error", str(exc)) from None


def _check(state: ApiState, typed: dict[str, Any], signature: bytes, signer: str, who: str, deadline: int,
           nonce: int, key: int) -> None:
    try:
        recovered = itd.recover(typed, signature)
    except Exception as exc:  # malformed r/s/v
        raise ApiError(400, "invalid_signature", f"signature cannot be verified: {exc}") from None
    if recovered != signer:
        raise ApiError(400, "invalid_signature", f"the signature was not made by the {who} {signer} over this message "
                                                 f"(recovered {recovered}; wrong chain, contract, nonce or fields?)")
    now = state.chain.timestamp()
    if deadline < now:
        raise ApiError(400, "signature_expired", f"deadline {deadline} has passed (chain time {now})")
    current = int(state.chain.read(_contract(state).functions.nonces(signer, key)))
    if nonce != current:
        raise ApiError(409, "wrong_nonce", f"nonce {nonce} is not the current nonce {current}")


def _typed(builder: Any, state: ApiState, **fields: Any) -> dict[str, Any]:
    try:
        return builder(state.chain.chain_id, _contract(state).address, **fields)
    except TypedDataError as exc:
        raise ApiError(422, "validation_error", str(exc)) from None


def _require_status(view: InitiativeView, wanted: str) -> None:
    if view.status != wanted:
        raise ApiError(409, "wrong_status", f"initiative {view.initiative_id} is {view.status}, not {wanted}")


@relay_router.post("/initiative-draft", response_model=im.InitiativeRelayAccepted, status_code=202, responses=ERRORS)
def relay_draft(state: State, body: im.InitiativeDraftRelay) -> im.InitiativeRelayAccepted:
    """Relay an author's signed draft (``DraftInitiative``) to ``draftBySig``; find its id with
    ``GET /v1/initiatives/tx/{txHash}`` once mined."""
    content = content_of(body)
    author, nonce, signature = cv.address(body.author, "author"), cv.uint(body.nonce, "nonce"), cv.sig(body.signature)
    digest_hash = content.content_hash()
    typed = _typed(itd.draft_typed_data, state, content_hash=digest_hash, author=author, nonce=nonce,
                   deadline=body.deadline)
    _check(state, typed, signature, author, "author", body.deadline, nonce, 0)
    fn = _contract(state).functions.draftBySig(content.as_tuple(), author, nonce, body.deadline, signature)
    return im.InitiativeRelayAccepted(txHash=state.relay(fn, ("initiative-draft", author, 0, nonce)),
                            contentHash="0x" + digest_hash.hex())


@relay_router.post("/initiative-amend", response_model=im.InitiativeRelayAccepted, status_code=202, responses=ERRORS)
def relay_amend(state: State, body: im.InitiativeAmendRelay) -> im.InitiativeRelayAccepted:
    """Relay the author's signed amendment (``AmendInitiative``) of a draft to ``amendBySig``."""
    content = content_of(body)
    iid = cv.uint(body.initiativeId, "initiativeId")
    author, nonce, signature = cv.address(body.author, "author"), cv.uint(body.nonce, "nonce"), cv.sig(body.signature)
    view = _view(state, iid, full=False)
    if view.author != author:
        raise ApiError(403, "not_author", f"initiative {iid} was drafted by {view.author}, not {author}")
    _require_status(view, "Draft")
    digest_hash = content.content_hash()
    typed = _typed(itd.amend_typed_data, state, initiative_id=iid, content_hash=digest_hash, author=author,
                   nonce=nonce, deadline=body.deadline)
    _check(state, typed, signature, author, "author", body.deadline, nonce, iid)
    fn = _contract(state).functions.amendBySig(iid, content.as_tuple(), author, nonce, body.deadline, signature)
    return im.InitiativeRelayAccepted(txHash=state.relay(fn, ("initiative-amend", author, iid, nonce)),
                            contentHash="0x" + digest_hash.hex())


@relay_router.post("/initiative-open", response_model=im.InitiativeRelayAccepted, status_code=202, responses=ERRORS)
def relay_open(state: State, body: im.InitiativeOpenRelay) -> im.InitiativeRelayAccepted:
    """Relay the author's signed opening for supports (``OpenInitiative``) to ``openBySig``."""
    iid = cv.uint(body.initiativeId, "initiativeId")
    author, nonce, signature = cv.address(body.author, "author"), cv.uint(body.nonce, "nonce"), cv.sig(body.signature)
    version = cv.b32(body.versionHash, "versionHash")
    view = _view(state, iid, full=False)
    if view.author != author:
        raise ApiError(403, "not_author", f"initiative {iid} was drafted by {view.author}, not {author}")
    _require_status(view, "Draft")
    if version != view.version_hash:
        raise ApiError(409, "version_mismatch", f"initiative {iid} is at version {view.version} "
                                                f"(0x{view.version_hash.hex()}), not the signed one")
    typed = _typed(itd.open_typed_data, state, initiative_id=iid, version_hash=version, author=author, nonce=nonce,
                   deadline=body.deadline)
    _check(state, typed, signature, author, "author", body.deadline, nonce, iid)
    fn = _contract(state).functions.openBySig(iid, version, author, nonce, body.deadline, signature)
    return im.InitiativeRelayAccepted(txHash=state.relay(fn, ("initiative-open", author, iid, nonce)))


@relay_router.post("/initiative-support", response_model=im.InitiativeRelayAccepted, status_code=202, responses=ERRORS)
def relay_support(state: State, body: im.InitiativeSupportRelay) -> im.InitiativeRelayAccepted:
    """Relay a citizen's signed support (``SupportInitiative``) to ``supportBySig``. The support that reaches
    the threshold also creates the governance proposal (``GET /v1/initiatives/tx/{txHash}`` tells its id)."""
    iid = cv.uint(body.initiativeId, "initiativeId")
    who, nonce, signature = cv.address(body.supporter, "supporter"), cv.uint(body.nonce, "nonce"), cv.sig(body.signature)
    version = cv.b32(body.versionHash, "versionHash")
    view = _view(state, iid, full=False)
    typed = _typed(itd.support_typed_data, state, initiative_id=iid, version_hash=version, supporter=who, nonce=nonce,
                   deadline=body.deadline)
    _check(state, typed, signature, who, "supporter", body.deadline, nonce, iid)
    if version != view.version_hash:
        raise ApiError(409, "version_mismatch", f"the signed version is not initiative {iid}'s "
                                                f"(0x{view.version_hash.hex()})")
    _require_status(view, "Collecting")
    f = _contract(state).functions
    if state.chain.read(f.hasSupported(iid, who)):
        raise ApiError(409, "already_supported", f"{who} has already supported initiative {iid}")
    if not state.chain.read(f.isEligibleSupporter(iid, who)):
        raise ApiError(403, "not_eligible", f"{who} was not an eligible citizen of {view.electorate_name} at "
                                            f"initiative {iid}'s snapshot")
    fn = f.supportBySig(iid, who, nonce, body.deadline, signature)
    return im.InitiativeRelayAccepted(txHash=state.relay(fn, ("initiative-support", who, iid, nonce)))
