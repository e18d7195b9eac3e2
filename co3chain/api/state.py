"""What the routes share: chain context, store, indexer, relayer, API keys, optional oracle.

Routes receive it through the :func:`get_state` dependency (``request.app.state.co3``), so tests can build
an app around an eth-tester chain exactly as ``co3chain api serve`` builds one around a real node.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from web3.exceptions import TransactionNotFound

from co3chain.api.auth import API_KEY_HEADER, ClientLimiter, KeyRing, PrincipalPA
from co3chain.api.chain import ChainContext, Reverted
from co3chain.api.errors import ApiError
from co3chain.api.indexer import Indexer
from co3chain.api.sender import TxSender
from co3chain.api.store import ApiStore

#: How long a relayed-but-unmined signed message blocks a resend of the same message.
INFLIGHT_TTL_SECONDS = 120.0

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
    # CitizenInitiatives
    "UnknownInitiative": (404, "unknown_initiative"),
    "UnknownElectorate": (404, "unknown_electorate"),
    "NotEligible": (403, "not_eligible"),
    "NotAuthor": (403, "not_author"),
    "ExpiredSignature": (400, "signature_expired"),
    "AlreadySupported": (409, "already_supported"),
    "UnexpectedStatus": (409, "wrong_status"),
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
    #: per-client budget of the open relay endpoints (``[relayer] client_rate/client_burst``)
    relay_limiter: ClientLimiter = field(default_factory=lambda: ClientLimiter(5.0, 20))
    oracle: Any | None = None  # co3chain.oracle.service.OracleService
    #: consortium identity key (``[privacy]``): lets POST /v1/citizens hash a raw identity reference
    identity_key: bytes | None = field(default=None, repr=False)
    run_indexer: bool = True
    sse_poll_interval: float = 0.5
    #: Signed messages relayed but not yet mined, by (action, signer, scope, nonce) → tx hash (or "" while
    #: sending). Why: the nonce check reads the latest block, so a second copy sent before the first is mined
    #: would pass it and cost the relayer a transaction that must fail on-chain.
    _inflight: dict[tuple[Any, ...], tuple[str, float]] = field(default_factory=dict, init=False, repr=False)
    _inflight_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def relay(self, fn: Any, message_key: tuple[Any, ...] | None = None) -> str:
        """Pre-flight then send ``fn`` from the relayer; contract errors become 4xx.

        ``message_key`` identifies the signed message (action, signer, scope, nonce): while a transaction
        carrying it is pending, the same message is answered 409 instead of being broadcast again.
        """
        if self.relayer is None:
            raise ApiError(503, "relayer_unavailable", "this API has no relayer key configured")
        if message_key is not None:
            self._reserve(message_key)
        tx_hash = ""
        try:
            tx_hash = self.relayer.send_fn(fn)
            return tx_hash
        except Reverted as exc:
            if exc.reason.startswith("AccessControlUnauthorizedAccount("):
                # The relayer lacks RELAYER_ROLE: an operator problem, not the citizen's.
                raise ApiError(503, "relayer_not_authorized",
                               f"the API's relayer {self.relayer.address} is not authorized: {exc.reason}") from None
            raise revert_error(exc) from None
        finally:
            if message_key is not None:
                with self._inflight_lock:
                    if tx_hash:
                        self._inflight[message_key] = (tx_hash, time.monotonic())
                    else:
                        self._inflight.pop(message_key, None)

    def _reserve(self, key: tuple[Any, ...]) -> None:
        """Claim ``key`` for one relay; 409 while an earlier relay of the same message is still pending."""
        with self._inflight_lock:
            self._forget_mined()
            pending = self._inflight.get(key)
            if pending is not None:
                where = f" in transaction {pending[0]}" if pending[0] else ""
                raise ApiError(409, "already_relayed",
                               f"this signed message is already being relayed{where}; wait for it to be mined")
            self._inflight[key] = ("", time.monotonic())

    def _forget_mined(self) -> None:
        """Drop entries whose transaction was mined, or that are older than :data:`INFLIGHT_TTL_SECONDS`
        (a transaction dropped by the node must not block its message forever). Called under the lock."""
        now = time.monotonic()
        for key, (tx_hash, sent_at) in list(self._inflight.items()):
            if not tx_hash:
                continue  # another request is sending it right now
            if now - sent_at > INFLIGHT_TTL_SECONDS or self._mined(tx_hash):
                del self._inflight[key]

    def _mined(self, tx_hash: str) -> bool:
        try:
            return self.chain.w3.eth.get_transaction_receipt(tx_hash) is not None
        except TransactionNotFound:
            return False

    def send_as(self, pa: PrincipalPA, fn: Any) -> str:
        try:
            return pa.sender.send_fn(fn)
        except Reverted as exc:
            raise revert_error(exc) from None


def get_state(request: Request) -> ApiState:
    return request.app.state.co3


def limit_relay_client(request: Request) -> None:
    """Dependency of the relay routes: charge the request to its client address (429 when over budget)."""
    limiter = get_state(request).relay_limiter
    peer = request.client.host if request.client is not None else None
    limiter.check(limiter.client_of(peer, request.headers.get("X-Forwarded-For")))


def require_pa(request: Request) -> PrincipalPA:
    """Dependency of PA-only routes: the authenticated PA (401/429 otherwise)."""
    return get_state(request).keys.authenticate(request.headers.get(API_KEY_HEADER))
