"""PA-only data-subject requests: export and erase what the system holds about one citizen address.

Who may ask: a PA officer with an API key whose on-chain account holds REGISTRAR_ROLE on the registry — the
office that registered citizens answers their requests — and, for a citizen the index knows, only an officer
of the PA that registered that citizen (the same account, or another account the timelock bound to that PA).  Every request is logged (``co3chain.privacy`` logger; the API key's PA is the actor).
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from eth_utils import keccak
from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool

from co3chain.api.auth import PrincipalPA
from co3chain.api.errors import ApiError
from co3chain.api.state import ApiState, get_state, require_pa
from co3chain.privacy.log import record_request
from co3chain.privacy.rights import PrivacyError, checked_address, erase_citizen, export_citizen

router = APIRouter(prefix="/v1/privacy", tags=["privacy"])
State = Annotated[ApiState, Depends(get_state)]
PA = Annotated[PrincipalPA, Depends(require_pa)]
SECURITY: dict[str, Any] = {"openapi_extra": {"security": [{"ApiKey": []}]}}
REGISTRAR_ROLE = keccak(text="REGISTRAR_ROLE")


def _authorize(state: ApiState, pa: PrincipalPA, citizen: str) -> str:
    """The checksummed address once ``pa`` may act on it (400/403 otherwise)."""
    try:
        address = checked_address(citizen)
    except PrivacyError as exc:
        raise ApiError(400, "invalid_address", str(exc)) from None
    if not state.chain.read(state.chain.registry.functions.hasRole(REGISTRAR_ROLE, pa.address)):
        raise ApiError(403, "missing_role", f"the account {pa.address} of {pa.name!r} lacks REGISTRAR_ROLE: "
                                            "only a registrar office answers data-subject requests")
    rows = state.store.query("SELECT registrar FROM citizens WHERE lower(address) = ?", (address.lower(),))
    if rows and rows[0]["registrar"].lower() != pa.address.lower() and not _same_pa(state, rows[0]["registrar"],
                                                                                    pa.address):
        raise ApiError(403, "other_pa", f"{address} was registered by another PA ({rows[0]['registrar']})")
    return address


def _same_pa(state: ApiState, registrar: str, officer: str) -> bool:
    """Whether two registrar accounts are bound to the same PA on chain (``paOf``, set by the timelock).

    Why: a PA has several registry officers; the one answering a data-subject request need not be the one
    who registered the citizen. An account bound to no PA (id 0) matches nobody."""
    registry = state.chain.registry.functions
    ours = state.chain.read(registry.paOf(state.chain.w3.to_checksum_address(officer)))
    return ours != 0 and state.chain.read(registry.paOf(state.chain.w3.to_checksum_address(registrar))) == ours


def _oracle_store(state: ApiState) -> Any | None:
    return state.oracle.store if state.oracle is not None else None


@router.get("/export", responses={400: {}, 401: {}, 403: {}}, **SECURITY)
def export(state: State, pa: PA, citizen: Annotated[str, Query(description="citizen address 0x…")]
           ) -> dict[str, Any]:
    """Everything this API's oracle queue, index and the chain hold about ``citizen`` (JSON, nothing of others)."""
    address = _authorize(state, pa, citizen)
    data = export_citizen(address, oracle_store=_oracle_store(state), api_store=state.store, w3=state.chain.w3,
                          contracts=state.chain.contracts, from_block=state.indexer.start_block())
    record_request("export", address, f"{pa.name} ({pa.address})", {"sources": data["sources"]})
    return data


@router.post("/erase", responses={400: {}, 401: {}, 403: {}, 503: {}}, **SECURITY)
async def erase(state: State, pa: PA, citizen: Annotated[str, Query(description="citizen address 0x…")]
                ) -> dict[str, Any]:
    """Erase the citizen's off-chain evidence (bodies, salts, coordinates) from this API's oracle queue.

    On-chain records stay (public, append-only) but no longer link to any evidence.  Run it on every oracle
    operator (``co3chain privacy erase``); this route covers the oracle mounted in this API.
    """
    address = await run_in_threadpool(_authorize, state, pa, citizen)
    store = _oracle_store(state)
    if store is None:
        raise ApiError(503, "oracle_unavailable", "this API has no oracle queue mounted; run `co3chain privacy "
                                                  "erase` on each oracle operator")
    outcome = await run_in_threadpool(lambda: erase_citizen(address, oracle_store=store, now=time.time()))
    record_request("erase", address, f"{pa.name} ({pa.address})",
                   {k: outcome[k] for k in ("erased", "complete")})
    return outcome
