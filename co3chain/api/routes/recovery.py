"""Lost-key recovery (KeyRecovery, docs/recovery.md): a registrar initiates, the old key cancels without ETH,
anyone finalizes after the delay, everyone can follow.

Who may do what:
- ``POST /v1/recoveries`` — a PA officer with REGISTRAR_ROLE (API key), for a citizen of its own PA;
- ``POST /v1/recoveries/{id}/cancel`` — open relay of the old key's EIP-712 ``CancelRecovery`` signature
  (the citizen holds no ETH; the API relayer pays); checked here first (signer, nonce, deadline, status) so a
  bad signature costs no gas;
- ``POST /v1/recoveries/{id}/finalize`` — open relay, once the delay has passed;
- ``POST /v1/recoveries/{id}/council-call`` — the council motion (guardian cancel): nothing is sent.
Reads: the live request (``GET /v1/recoveries/{id}``), the typed data to sign, and the indexed history of an
account (``GET /v1/recoveries?account=``); every initiation is also an ``/v1/events`` ``recovery`` event so an
app can warn the citizen at once (the defence against a rogue registrar is that the old key hears of it).
"""

from __future__ import annotations

from typing import Annotated, Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak
from fastapi import APIRouter, Depends, Path, Query

from co3chain.api import convert as cv
from co3chain.api import models as m
from co3chain.api.auth import PrincipalPA
from co3chain.api.errors import ApiError
from co3chain.api.routes.operations import CouncilCall
from co3chain.api.state import ApiState, get_state, limit_relay_client, require_pa
from co3chain.contracts.typed_data import TypedDataError
from co3chain.recovery import models as rm
from co3chain.recovery.typed_data import cancel_typed_data

router = APIRouter(prefix="/v1", tags=["recovery"])
relay_router = APIRouter(prefix="/v1", tags=["recovery"], dependencies=[Depends(limit_relay_client)])
State = Annotated[ApiState, Depends(get_state)]
PA = Annotated[PrincipalPA, Depends(require_pa)]
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": m.ErrorResponse} for code in (400, 401, 403, 404, 409, 422, 429, 502, 503)
}
SECURITY = {"openapi_extra": {"security": [{"ApiKey": []}]}}
IdPath = Annotated[int, Path(ge=1, lt=2**63, description="recovery id (1, 2, …)")]
ZERO = "0x" + "00" * 20


def _contract(state: ApiState) -> Any:
    contract = state.chain.contracts.get("KeyRecovery")
    if contract is None:
        raise ApiError(503, "recovery_unavailable", "this deployment has no KeyRecovery contract")
    return contract


def _recovery(state: ApiState, recovery_id: int) -> rm.Recovery:
    kr = _contract(state)
    old, new, registrar, initiated, executable, _stored = state.chain.read(kr.functions.getRecovery(recovery_id))
    if old == ZERO:
        raise ApiError(404, "unknown_recovery", f"no recovery with id {recovery_id}")
    status = rm.STATUS_NAMES[int(state.chain.read(kr.functions.state(recovery_id)))]
    window = int(state.chain.read(kr.functions.FINALIZE_WINDOW()))
    nonce = int(state.chain.read(kr.functions.nonces(old)))
    now = state.chain.timestamp()
    return rm.Recovery(recoveryId=recovery_id, oldAccount=old, newAccount=new, registrar=registrar,
                       initiatedAt=int(initiated), executableAt=int(executable),
                       finalizableUntil=int(executable) + window, status=status, cancelNonce=str(nonce),
                       secondsUntilExecutable=max(0, int(executable) - now))


def _require_pending(rec: rm.Recovery) -> None:
    if rec.status != "Pending":
        raise ApiError(409, "recovery_not_pending", f"recovery {rec.recoveryId} is {rec.status}, not Pending")


# ---------------------------------------------------------------------------------------------- reads
@router.get("/recovery/settings", response_model=rm.RecoverySettings, responses=ERRORS)
def recovery_settings(state: State) -> rm.RecoverySettings:
    """The delay the council set, its bounds, the finalize window and the number of requests so far."""
    f = _contract(state).functions
    read = state.chain.read
    return rm.RecoverySettings(contract=_contract(state).address, delaySeconds=int(read(f.recoveryDelay())),
                               minDelaySeconds=int(read(f.MIN_DELAY())), maxDelaySeconds=int(read(f.MAX_DELAY())),
                               finalizeWindowSeconds=int(read(f.FINALIZE_WINDOW())),
                               recoveryCount=int(read(f.recoveryCount())))


@router.get("/recoveries", response_model=rm.RecoveryList, responses=ERRORS)
def list_recoveries(state: State,
                    account: Annotated[str | None, Query(pattern=r"^0x[0-9a-fA-F]{40}$",
                                                         description="old or new key")] = None,
                    limit: Annotated[int, Query(ge=1, le=500)] = 100) -> rm.RecoveryList:
    """Indexed recovery events (newest first), optionally those concerning ``account`` as old or new key."""
    _contract(state)
    rows = state.indexer.recovery_events(cv.address(account) if account else None, limit)
    return rm.RecoveryList(items=[rm.RecoveryEvent(**row) for row in rows])


@router.get("/recoveries/{recovery_id}", response_model=rm.Recovery, responses=ERRORS)
def recovery_status(state: State, recovery_id: IdPath) -> rm.Recovery:
    """The request as the contract holds it now, with its status (Pending, Cancelled, Finalized, Expired)."""
    return _recovery(state, recovery_id)


@router.get("/recoveries/{recovery_id}/cancel-typed-data", response_model=rm.CancelTypedData, responses=ERRORS)
def cancel_message(state: State, recovery_id: IdPath,
                   deadline: Annotated[int, Query(ge=0, lt=2**63, description="unix seconds")]) -> rm.CancelTypedData:
    """The EIP-712 ``CancelRecovery`` message for the old key to sign (``eth_signTypedData_v4``)."""
    rec = _recovery(state, recovery_id)
    typed = cancel_typed_data(state.chain.chain_id, _contract(state).address, recovery_id=recovery_id,
                              old_account=rec.oldAccount, nonce=int(rec.cancelNonce), deadline=deadline)
    return rm.CancelTypedData(typedData=typed)


# ---------------------------------------------------------------------------------------------- registrar
@router.post("/recoveries", response_model=m.TxAccepted, status_code=202, responses=ERRORS, **SECURITY)
def initiate_recovery(state: State, pa: PA, body: rm.RecoveryInitiate) -> m.TxAccepted:
    """Start moving a citizen who lost a key to a new key (REGISTRAR_ROLE of the citizen's PA).

    The request waits the council's delay in public; the old key or the council can cancel meanwhile."""
    kr = _contract(state)
    registry = state.chain.registry
    if not state.chain.read(registry.functions.hasRole(keccak(text="REGISTRAR_ROLE"), pa.address)):
        raise ApiError(403, "missing_role", f"the account {pa.address} of {pa.name!r} lacks REGISTRAR_ROLE on "
                                            f"{registry.address}")
    old, new = cv.address(body.oldAccount, "oldAccount"), cv.address(body.newAccount, "newAccount")
    return m.TxAccepted(txHash=state.send_as(pa, kr.functions.initiate(old, new)))


# ---------------------------------------------------------------------------------------------- open relays
@relay_router.post("/recoveries/{recovery_id}/cancel", response_model=m.TxAccepted, status_code=202,
                   responses=ERRORS)
def cancel_recovery(state: State, recovery_id: IdPath, body: rm.RecoveryCancelRelay) -> m.TxAccepted:
    """Relay the old key's signed ``CancelRecovery``: the recovery stops and nothing moves."""
    kr = _contract(state)
    rec = _recovery(state, recovery_id)
    _require_pending(rec)
    nonce, deadline = cv.uint(body.nonce, "nonce"), cv.uint(body.deadline, "deadline")
    signature = cv.sig(body.signature)
    try:
        typed = cancel_typed_data(state.chain.chain_id, kr.address, recovery_id=recovery_id,
                                  old_account=rec.oldAccount, nonce=nonce, deadline=deadline)
        signer = str(Account.recover_message(encode_typed_data(full_message=typed), signature=signature))
    except TypedDataError as exc:
        raise ApiError(422, "validation_error", str(exc)) from None
    except Exception as exc:  # malformed v/r/s
        raise ApiError(400, "invalid_signature", f"signature cannot be verified: {exc}") from None
    if signer != rec.oldAccount:
        raise ApiError(400, "invalid_signature",
                       f"the signature was not made by the old key {rec.oldAccount} of recovery {recovery_id} "
                       f"(recovered {signer}; wrong chain, contract, nonce or recovery id?)")
    if nonce != int(rec.cancelNonce):
        raise ApiError(409, "wrong_nonce", f"nonce {nonce} is not the current nonce {rec.cancelNonce}"
                                           " (already used, or signed too early)")
    now = state.chain.timestamp()
    if deadline < now:
        raise ApiError(400, "signature_expired", f"deadline {deadline} has passed (chain time {now})")
    fn = kr.functions.cancelBySig(recovery_id, deadline, signature)
    return m.TxAccepted(txHash=state.relay(fn, ("recovery-cancel", rec.oldAccount, nonce)))


@relay_router.post("/recoveries/{recovery_id}/finalize", response_model=m.TxAccepted, status_code=202,
                   responses=ERRORS)
def finalize_recovery(state: State, recovery_id: IdPath) -> m.TxAccepted:
    """Finalize once the delay has passed (anyone; the relayer pays): identity, tokens and reputation move."""
    rec = _recovery(state, recovery_id)
    _require_pending(rec)
    if rec.secondsUntilExecutable > 0:
        raise ApiError(409, "recovery_not_ready", f"recovery {recovery_id} can be finalized from {rec.executableAt} "
                                                  f"({rec.secondsUntilExecutable} s from now)")
    fn = _contract(state).functions.finalize(recovery_id)
    return m.TxAccepted(txHash=state.relay(fn, ("recovery-finalize", recovery_id)))


@router.post("/recoveries/{recovery_id}/council-call", response_model=CouncilCall, responses=ERRORS)
def council_cancel_call(state: State, recovery_id: IdPath) -> CouncilCall:
    """The council motion that cancels a suspicious recovery (nothing is sent). The council holds
    GUARDIAN_ROLE itself, so the motion calls KeyRecovery directly — no timelock wait."""
    kr = _contract(state)
    rec = _recovery(state, recovery_id)
    _require_pending(rec)
    return CouncilCall(to=kr.address, data=kr.encode_abi("cancel", [recovery_id]), function="cancel(uint256)",
                       description=f"Cancel key recovery {recovery_id} of {rec.oldAccount} to {rec.newAccount} "
                                   f"(initiated by registrar {rec.registrar})",
                       requiredRole="GUARDIAN_ROLE on KeyRecovery (the council contract, by a motion)")
