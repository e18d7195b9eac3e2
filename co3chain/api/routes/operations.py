"""Daily operations of PA officers and merchants: revoke/renew citizens, cancel proposals, close areas and
activities, service (merchant) status, council proposals for service changes, and merchant statements.

Who may do what (docs/app-developers.md): the operations here are those PA officers keep under the trust
model — registrar (revoke, renew), area manager (close areas and activities), proposer (cancel its own
pending proposal). Accepting or removing a service is a rule change held by the council's timelock executor:
the API does not send it, it returns the call the council must schedule (``to``, ``data``, a description),
so a PA submits it through the council like any other rule change and the change leaves the timelock's events.

Merchant statements come from the API's spend index (:mod:`co3chain.api.spends`: every ``Spent`` with its block
timestamp); each row names its transaction and log, so anyone can recompute a settlement from the chain.
"""

from __future__ import annotations

import csv
import io
from enum import StrEnum
from typing import Annotated, Any

from eth_utils import keccak
from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import Field

from co3chain.api import convert as cv
from co3chain.api import models as m
from co3chain.api.auth import PrincipalPA
from co3chain.api.errors import ApiError
from co3chain.api.state import ApiState, get_state, require_pa
from co3chain.privacy.revocation import RevocationReason

router = APIRouter(prefix="/v1", tags=["operations"])
State = Annotated[ApiState, Depends(get_state)]
PA = Annotated[PrincipalPA, Depends(require_pa)]
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": m.ErrorResponse} for code in (400, 401, 403, 404, 409, 422, 429, 502, 503)
}
SECURITY = {"openapi_extra": {"security": [{"ApiKey": []}]}}
AddressPath = Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{40}$")]
IdPath = Annotated[int, Path(ge=1, lt=2**63)]


class RevokeBody(m.Model):
    reasonCode: Annotated[int, Field(ge=0, le=int(max(RevocationReason)),
                                     description="0 unspecified, 1 key compromised, 2 eligibility ended, "
                                                 "3 citizen request, 4 registration error")]


class RenewBody(m.Model):
    expiresAt: m.Uint64


class ServiceStatus(m.Model):
    service: m.Address
    accepted: bool
    burnOnSpend: bool


class ServiceChange(m.Model):
    accepted: bool
    burnOnSpend: bool = True


class CouncilCall(m.Model):
    """A call only the council's timelock executor may make: submit it as a council proposal."""

    to: m.Address
    value: str = "0"
    data: str
    function: str
    description: str
    requiredRole: str


class SignerSetChange(m.Model):
    signers: Annotated[list[m.Address], Field(min_length=1, max_length=64)]
    threshold: Annotated[int, Field(ge=1)]


class SpendEntry(m.Model):
    blockNumber: int
    timestamp: int
    txHash: m.Bytes32
    logIndex: int
    owner: m.Address
    amount: m.Uint256
    ref: m.Bytes32
    burned: bool


class Statement(m.Model):
    service: m.Address
    fromTimestamp: int
    toTimestamp: int
    count: int
    total: m.Uint256
    burned: m.Uint256
    indexedBlock: int | None = Field(None, description="last block the spend index covers (later spends are "
                                                          "not in this statement yet)")
    entries: list[SpendEntry]


class StatementFormat(StrEnum):
    json = "json"
    csv = "csv"


def _require_role(state: ApiState, contract: Any, role: str, pa: PrincipalPA) -> None:
    if not state.chain.read(contract.functions.hasRole(keccak(text=role), pa.address)):
        raise ApiError(403, "missing_role", f"the account {pa.address} of {pa.name!r} lacks {role} on "
                                            f"{contract.address}")


def _require_manager(state: ApiState, area_id: int, pa: PrincipalPA) -> None:
    areas = state.chain.areas.functions
    if not state.chain.read(areas.areaExists(area_id)):
        raise ApiError(404, "unknown_area", f"no area with id {area_id}")
    manager = str(state.chain.read(areas.managerOf(area_id)))
    if manager != pa.address:
        raise ApiError(403, "not_area_manager", f"area {area_id} is managed by {manager}, not by {pa.name!r} "
                                                f"({pa.address})")


# ---------------------------------------------------------------------------------------------- registrar
@router.post("/citizens/{address}/revoke", response_model=m.TxAccepted, status_code=202, responses=ERRORS,
             **SECURITY)
def revoke_citizen(state: State, pa: PA, address: AddressPath, body: RevokeBody) -> m.TxAccepted:
    """Revoke a citizen (REGISTRAR_ROLE); only a reason code goes on chain, never free text about a person."""
    registry = state.chain.registry
    _require_role(state, registry, "REGISTRAR_ROLE", pa)
    return m.TxAccepted(txHash=state.send_as(pa, registry.functions.revoke(cv.address(address), body.reasonCode)))


@router.post("/citizens/{address}/renew", response_model=m.TxAccepted, status_code=202, responses=ERRORS,
             **SECURITY)
def renew_citizen(state: State, pa: PA, address: AddressPath, body: RenewBody) -> m.TxAccepted:
    """Extend a citizen's registration to ``expiresAt`` (REGISTRAR_ROLE; not for revoked citizens)."""
    registry = state.chain.registry
    _require_role(state, registry, "REGISTRAR_ROLE", pa)
    return m.TxAccepted(txHash=state.send_as(pa, registry.functions.renew(cv.address(address), body.expiresAt)))


# ---------------------------------------------------------------------------------------------- area manager
@router.post("/areas/{area_id}/close", response_model=m.TxAccepted, status_code=202, responses=ERRORS, **SECURITY)
def close_area(state: State, pa: PA, area_id: IdPath) -> m.TxAccepted:
    """Close an area now (its managing PA); its activities stop rewarding from this block on."""
    _require_manager(state, area_id, pa)
    return m.TxAccepted(txHash=state.send_as(pa, state.chain.areas.functions.closeArea(area_id)))


@router.post("/activities/{activity_id}/close", response_model=m.TxAccepted, status_code=202, responses=ERRORS,
             **SECURITY)
def close_activity(state: State, pa: PA, activity_id: IdPath) -> m.TxAccepted:
    """Close an activity now (the managing PA of its area)."""
    activity = state.chain.read(state.chain.areas.functions.getActivity(activity_id),
                                not_found={"UnknownActivity": f"no activity with id {activity_id}"})
    _require_manager(state, int(activity[1]), pa)  # (id, areaId, kind, ...)
    return m.TxAccepted(txHash=state.send_as(pa, state.chain.areas.functions.closeActivity(activity_id)))


# ---------------------------------------------------------------------------------------------- proposer
@router.post("/proposals/{proposal_id}/cancel", response_model=m.TxAccepted, status_code=202, responses=ERRORS,
             **SECURITY)
def cancel_proposal(state: State, pa: PA,
                    proposal_id: Annotated[str, Path(pattern=r"^[0-9]{1,78}$")]) -> m.TxAccepted:
    """Cancel a proposal that has not started; only its proposer (the PA that created it)."""
    gov = state.chain.governance
    pid = int(proposal_id)
    proposal = state.chain.read(gov.functions.getProposal(pid),
                                not_found={"UnknownProposal": f"no proposal with id {proposal_id}"})
    proposer = str(proposal[0])
    if proposer != pa.address:
        raise ApiError(403, "not_proposer", f"proposal {proposal_id} was made by {proposer}, not by {pa.name!r}")
    return m.TxAccepted(txHash=state.send_as(pa, gov.functions.cancel(pid)))


# ---------------------------------------------------------------------------------------------- merchants
@router.get("/services/{address}", response_model=ServiceStatus, responses=ERRORS)
def service_status(state: State, address: AddressPath) -> ServiceStatus:
    """Whether a service (merchant) accepts commons tokens, and whether spends there are burned."""
    accepted, burn = state.chain.read(state.chain.token.functions.services(cv.address(address)))
    return ServiceStatus(service=cv.address(address), accepted=bool(accepted), burnOnSpend=bool(burn))


@router.post("/services/{address}/council-call", response_model=CouncilCall, responses=ERRORS)
def service_council_call(state: State, address: AddressPath, body: ServiceChange) -> CouncilCall:
    """The council proposal that accepts or removes a service: nothing is sent (``setService`` is a rule change
    held by the timelock executor); submit ``to``/``data`` through the council."""
    token = state.chain.token
    service = cv.address(address)
    data = token.encode_abi("setService", [service, body.accepted, body.burnOnSpend])
    verb = "Accept" if body.accepted else "Remove"
    return CouncilCall(to=token.address, data=data, function="setService(address,bool,bool)",
                       description=f"{verb} service {service} for commons tokens (burnOnSpend={body.burnOnSpend})",
                       requiredRole="DEFAULT_ADMIN_ROLE on CommonsToken (the council's timelock executor)")


@router.post("/oracle-signers/council-call", response_model=CouncilCall, responses=ERRORS, tags=["operations"])
def oracle_signers_council_call(state: State, body: SignerSetChange) -> CouncilCall:
    """The council proposal that rotates the oracle signer set (nothing is sent: ``setSigners`` belongs to the
    council's timelock executor). Signers are sorted ascending and must be distinct; threshold ≤ signers."""
    signers = sorted({cv.address(a) for a in body.signers}, key=lambda a: int(a, 16))
    if len(signers) != len(body.signers):
        raise ApiError(422, "validation_error", "signers must be distinct")
    if body.threshold > len(signers) or body.threshold * 2 <= len(signers):
        raise ApiError(422, "validation_error", f"threshold must be a majority of the {len(signers)} signers "
                                                f"and at most their number (got {body.threshold})")
    hub = state.chain.hub
    version = int(state.chain.read(hub.functions.signerSetVersion()))
    return CouncilCall(to=hub.address, data=hub.encode_abi("setSigners", [signers, body.threshold]),
                       function="setSigners(address[],uint256)",
                       description=f"Rotate the oracle signer set to {body.threshold}-of-{len(signers)} "
                                   f"({', '.join(signers)}); signer-set version {version} -> {version + 1}",
                       requiredRole="DEFAULT_ADMIN_ROLE on AttestationHub (the council's timelock executor)")


def spends_of(state: ApiState, service: str, from_ts: int, to_ts: int) -> tuple[list[SpendEntry], int | None]:
    """Indexed spends at ``service`` in ``[from_ts, to_ts)`` and the last block the spend index covers."""
    rows = state.indexer.spends.statement(service, from_ts, to_ts)
    entries = [SpendEntry(blockNumber=r["block"], timestamp=r["timestamp"], txHash=r["tx_hash"],
                          logIndex=r["log_index"], owner=r["owner"], amount=r["amount"], ref=r["ref"],
                          burned=bool(r["burned"])) for r in rows]
    return entries, state.indexer.spends.indexed_block()


@router.get("/services/{address}/statement", response_model=Statement, responses={**ERRORS, 200: {
    "content": {"text/csv": {}}, "description": "JSON statement, or CSV with format=csv"}})
def service_statement(state: State, address: AddressPath,
                      from_: Annotated[int, Query(alias="from", ge=0, description="period start, unix seconds")] = 0,
                      to: Annotated[int, Query(ge=0, description="period end (exclusive), unix seconds")] = 2**63 - 1,
                      format: StatementFormat = StatementFormat.json) -> Any:  # noqa: A002 (query name)
    """A merchant's statement/settlement report for a period: every spend at the service, totals, burned part."""
    if to <= from_:
        raise ApiError(422, "validation_error", "to must be after from")
    service = cv.address(address)
    entries, indexed = spends_of(state, service, from_, to)
    total = sum(int(e.amount) for e in entries)
    burned = sum(int(e.amount) for e in entries if e.burned)
    statement = Statement(service=service, fromTimestamp=from_, toTimestamp=to, count=len(entries), total=str(total),
                          burned=str(burned), indexedBlock=indexed, entries=entries)
    if format is StatementFormat.csv:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["block", "timestamp", "tx_hash", "log_index", "owner", "amount", "ref", "burned"])
        for e in entries:
            writer.writerow([e.blockNumber, e.timestamp, e.txHash, e.logIndex, e.owner, e.amount, e.ref,
                             str(e.burned).lower()])
        writer.writerow(["total", "", "", "", "", str(total), "", ""])
        name = f"statement-{service}-{from_}-{to}.csv"
        return Response(buf.getvalue(), media_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return statement
