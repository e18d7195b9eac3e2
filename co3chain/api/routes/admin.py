"""PA-only writes: register citizens, create areas (GeoJSON kept off-chain), activities and proposals.

Each write is sent from the calling PA's own on-chain account. The API checks the role on chain first
(403 with the missing role named) so a PA learns what is wrong without paying for a reverted transaction;
the contract remains the authority (the pre-flight ``eth_call`` repeats the check at the latest state).
"""

from __future__ import annotations

from typing import Annotated, Any

from eth_utils import keccak
from fastapi import APIRouter, Depends, Path

from co3chain.api import convert as cv
from co3chain.api import models as m
from co3chain.api.auth import PrincipalPA
from co3chain.api.errors import ApiError
from co3chain.api.state import ApiState, get_state, require_pa
from co3chain.contracts.governance_typed_data import proposal_id as compute_proposal_id
from co3chain.oracle.geometry import AreaGeometry, GeometryError, geometry_hash

router = APIRouter(prefix="/v1", tags=["pa"])
State = Annotated[ApiState, Depends(get_state)]
PA = Annotated[PrincipalPA, Depends(require_pa)]
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": m.ErrorResponse} for code in (401, 403, 404, 409, 413, 422, 429, 502, 503)
}
SECURITY = {"openapi_extra": {"security": [{"ApiKey": []}]}}


def _require_role(state: ApiState, contract: Any, role: str, pa: PrincipalPA) -> None:
    role_id = keccak(text=role)
    if not state.chain.read(contract.functions.hasRole(role_id, pa.address)):
        raise ApiError(403, "missing_role", f"the account {pa.address} of {pa.name!r} lacks {role} on "
                                            f"{contract.address}")


def _require_area(state: ApiState, area_id: int) -> str:
    """Managing PA of an existing area (404 otherwise)."""
    areas = state.chain.areas.functions
    if not state.chain.read(areas.areaExists(area_id)):
        raise ApiError(404, "unknown_area", f"no area with id {area_id}")
    return str(state.chain.read(areas.managerOf(area_id)))


def _geometry(geojson: dict[str, Any]) -> str:
    try:
        AreaGeometry.from_geojson(0, geojson)
        return "0x" + geometry_hash(geojson).hex()
    except GeometryError as exc:
        raise ApiError(422, "invalid_geometry", str(exc)) from None
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise ApiError(422, "invalid_geometry", f"GeoJSON is not a valid polygon: {exc}") from None


@router.post("/citizens", response_model=m.TxAccepted, status_code=202, responses=ERRORS, **SECURITY)
def register_citizen(state: State, pa: PA, body: m.CitizenCreate) -> m.TxAccepted:
    """Register a citizen's pseudonymous address (REGISTRAR_ROLE on CitizenRegistry).

    With ``identityReference`` the API computes the keyed ``identityHash`` itself (HMAC with the consortium
    identity key of ``[privacy]``): the reference is used for that one computation and is never stored,
    indexed or logged."""
    registry = state.chain.registry
    _require_role(state, registry, "REGISTRAR_ROLE", pa)
    fn = registry.functions.register(cv.address(body.address), _identity_hash(state, body), body.expiresAt)
    return m.TxAccepted(txHash=state.send_as(pa, fn))


def _identity_hash(state: ApiState, body: m.CitizenCreate) -> bytes:
    """The 32-byte ``identityHash`` of a registration: as given, or keyed from the raw reference."""
    if body.identityReference is None:
        return cv.b32(body.identityHash, "identityHash")
    if state.identity_key is None:
        raise ApiError(503, "identity_key_unavailable",
                       "this API has no [privacy] identity_key_file: send identityHash (computed with "
                       "`co3chain privacy identity-hash`) instead of identityReference")
    from co3chain.privacy.identity import IdentityError, identity_hash

    try:
        return identity_hash(state.identity_key, body.identityReference, body.referenceKind)
    except IdentityError as exc:
        raise ApiError(422, "invalid_identity_reference", str(exc)) from None


@router.post("/areas", response_model=m.AreaCreated, status_code=202, responses=ERRORS, **SECURITY)
def create_area(state: State, pa: PA, body: m.AreaCreate) -> m.AreaCreated:
    """Create a commoning area; its GeoJSON is stored off-chain under its keccak hash (the on-chain
    ``geometryHash``), so the area resource shows it once the transaction is indexed."""
    areas = state.chain.areas
    _require_role(state, areas, "AREA_MANAGER_ROLE", pa)
    ghash = _geometry(body.geometry)
    manager = cv.address(body.managingPA, "managingPA") if body.managingPA else pa.address
    state.store.put_geometry(ghash, body.geometry)
    fn = areas.functions.createArea(manager, bytes.fromhex(ghash[2:]), body.metadataURI)
    return m.AreaCreated(txHash=state.send_as(pa, fn), geometryHash=ghash)


@router.put("/areas/{area_id}/geometry", response_model=m.Area, responses=ERRORS, **SECURITY)
def upload_geometry(state: State, pa: PA, body: m.GeometryUpload,
                    area_id: Annotated[int, Path(ge=1, lt=2**63)]) -> m.Area:
    """Store the GeoJSON of an existing area; refused (409) unless it hashes to the on-chain geometryHash."""
    t = state.chain.read(state.chain.areas.functions.getArea(area_id),
                         not_found={"UnknownArea": f"no area with id {area_id}"})
    ghash, onchain = _geometry(body.geometry), cv.hex32(t[2])
    if ghash != onchain:
        raise ApiError(409, "geometry_mismatch", f"the GeoJSON hashes to {ghash}, the area's geometryHash is {onchain}")
    state.store.put_geometry(ghash, body.geometry)
    from co3chain.api.routes.read import get_area

    return get_area(state, area_id)


@router.post("/areas/{area_id}/activities", response_model=m.TxAccepted, status_code=202, responses=ERRORS,
             **SECURITY)
def create_activity(state: State, pa: PA, body: m.ActivityCreate,
                    area_id: Annotated[int, Path(ge=1, lt=2**63)]) -> m.TxAccepted:
    """Create a rewarded activity in an area managed by the calling PA."""
    manager = _require_area(state, area_id)
    if manager != pa.address:
        raise ApiError(403, "not_area_manager", f"area {area_id} is managed by {manager}, not by {pa.name!r}"
                                                f" ({pa.address})")
    if body.startsAt > body.endsAt:
        raise ApiError(422, "validation_error", "startsAt must not be after endsAt")
    fn = state.chain.areas.functions.createActivity(
        area_id, body.kind, cv.uint(body.tokenReward, "tokenReward"), cv.uint(body.reputationReward, "reputationReward"),
        body.startsAt, body.endsAt, body.maxClaimsPerCitizen)
    return m.TxAccepted(txHash=state.send_as(pa, fn))


@router.post("/proposals", response_model=m.ProposalCreated, status_code=202, responses=ERRORS, **SECURITY)
def create_proposal(state: State, pa: PA, body: m.ProposalCreate) -> m.ProposalCreated:
    """Create a proposal (PROPOSER_ROLE, or the area's managing PA for area proposals)."""
    gov = state.chain.governance
    if body.areaId != 0:
        manager = _require_area(state, body.areaId)
        if manager != pa.address:
            _require_role(state, gov, "PROPOSER_ROLE", pa)
    else:
        _require_role(state, gov, "PROPOSER_ROLE", pa)
    pid = compute_proposal_id(pa.address, body.areaId, body.mode, body.commitReveal, body.voteStart, body.voteEnd,
                              body.revealEnd, body.description)
    fn = gov.functions.propose(body.areaId, body.mode, body.commitReveal, body.voteStart, body.voteEnd,
                               body.revealEnd, body.description)
    return m.ProposalCreated(txHash=state.send_as(pa, fn), proposalId=str(pid))

