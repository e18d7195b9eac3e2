"""What the routes share: chain context, store, indexer, relayer, API keys, optional oracle.

Routes receive it through the :func:`get_state` dependency (``request.app.state.co3``), so tests can build
an app around an eth-tester chain exactly as ``co3chain api serve`` builds one around a real node.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from co3chain.api.auth import API_KEY_HEADER, KeyRing, PrincipalPA
from co3chain.api.chain import ChainContext, Reverted
from co3chain.api.errors import ApiError
from co3chain.api.indexer import Indexer
from co3chain.api.sender import TxSender
from co3chain.api.store import ApiStore

#: Custom errors that mean "you sent something wrong" → (status, code).
REVERT_STATUS: dict[str, tuple[int, str]] = {
    "UnknownProposal": (404, "unknown_proposal"),
    "UnknownArea": (404, "unknown_area"),
    "UnknownActivity": (404, "unknown_activity"),
    "InvalidSignature": (400, "invalid_signature"),
    "SpendInvalidSigner": (400, "invalid_signature"),
    "VotesExpiredSignature": (400, "signature_expired"),
    "SpendExpiredSignature": (400, "signature_expired"),
    "InvalidNonce": (409, "wrong_nonce"),
    "InvalidAccountNonce": (409, "wrong_nonce"),
    "AlreadyVoted": (409, "already_voted"),
    "AccessControlUnauthorizedAccount": (403, "missing_role"),
}


def revert_error(exc: Reverted) -> ApiError:
    """The 4xx for a pre-flight revert: the contract's own error, readable."""
    name = exc.reason.split("(", 1)[0]
    status, code = REVERT_STATUS.get(name, (422, "contract_rejected"))
    return ApiError(status, code, f"the contract would reject this: {exc.reason}")


@dataclass
class ApiState:
    chain: ChainContext
    store: ApiStore
    indexer: Indexer
    relayer: TxSender | None
    keys: KeyRing = field(default_factory=KeyRing)
    oracle: Any | None = None  # co3chain.oracle.service.OracleService
    run_indexer: bool = True
    sse_poll_interval: float = 0.5

    def relay(self, fn: Any) -> str:
        """Pre-flight then send ``fn`` from the relayer; contract errors become 4xx."""
        if self.relayer is None:
            raise ApiError(503, "relayer_unavailable", "this API has no relayer key configured")
        try:
            return self.relayer.send_fn(fn)
        except Reverted as exc:
            if exc.reason.startswith("AccessControlUnauthorizedAccount("):
                # The relayer lacks RELAYER_ROLE: an operator problem, not the citizen's.
                raise ApiError(503, "relayer_not_authorized",
                               f"the API's relayer {self.relayer.address} is not authorized: {exc.reason}") from None
            raise revert_error(exc) from None

    def send_as(self, pa: PrincipalPA, fn: Any) -> str:
        try:
            return pa.sender.send_fn(fn)
        except Reverted as exc:
            raise revert_error(exc) from None


def get_state(request: Request) -> ApiState:
    return request.app.state.co3


def require_pa(request: Request) -> PrincipalPA:
    """Dependency of PA-only routes: the authenticated PA (401/429 otherwise)."""
    return get_state(request).keys.authenticate(request.headers.get(API_KEY_HEADER))
