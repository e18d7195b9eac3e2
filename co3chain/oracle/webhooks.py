"""HTTP surface of the oracle: webhooks for sources, the co-sign endpoint, status and (authenticated) listings.

Mounting: the module-level :data:`router` finds its :class:`OracleOperator` at ``request.app.state.co3_oracle``
so the API service can ``app.include_router(router)`` after setting that attribute; :func:`create_app` builds a
stand-alone app (what ``co3chain oracle run`` serves), with ``/metrics``.

Responses: ``202`` with the attestation id once the event is durably committed; ``200`` with the existing
state when the same (source, event id) is delivered again (replays and retries are idempotent); ``409`` when
an event id is reused with different content; ``401`` for authentication failures; ``422`` for malformed
bodies; on ``/sign`` ``409`` when this co-signer derives another ``observedAt`` than the lead (different
``[privacy] time_resolution``: the lead retries, the event is not rejected); ``413`` for bodies over 64 KiB (refused on ``Content-Length`` or while streaming, never read
whole). Webhook source headers (known source, fresh timestamp) are checked before the body is read.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from co3chain.errors import Co3Error
from co3chain.oracle.auth import SIGNATURE_HEADER, SOURCE_HEADER, TIMESTAMP_HEADER, AuthError
from co3chain.oracle.events import PayloadError
from co3chain.oracle.operator import OracleOperator
from co3chain.oracle.signing import CosignMismatch, CosignRefused, parse_forwarded
from co3chain.oracle.status import status_report
from co3chain.oracle.store import STATES

MAX_BODY_BYTES = 64 * 1024

router = APIRouter(prefix="/oracle/v1", tags=["oracle"])
#: The event listings: who (citizen address) was where (area, activity) and when. Personal data, so the host
#: app mounts them behind its own authentication: a bearer read token here (``[oracle] read_token_env``),
#: the PA API key in the API service. Without a token configured the stand-alone listings stay closed; the
#: operator reads its own queue with ``co3chain oracle events --config``.
listing_router = APIRouter(prefix="/oracle/v1", tags=["oracle"])
READ_TOKEN_STATE = "co3_oracle_read_token"


def _operator(request: Request) -> OracleOperator:
    op = getattr(request.app.state, "co3_oracle", None)
    if op is None:
        raise HTTPException(503, "oracle not configured on this server")
    return op


def _clock(request: Request) -> Callable[[], float]:
    return getattr(request.app.state, "co3_oracle_clock", time.time)


async def _body(request: Request) -> bytes:
    """The request body, refused with 413 *before* it is read when ``Content-Length`` is too big and while
    it streams in otherwise (chunked uploads): a 200 MB body used to be read whole (RSS +400 MB) and only
    then measured."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise HTTPException(400, "invalid Content-Length")
        if int(declared) > MAX_BODY_BYTES:
            raise HTTPException(413, f"body larger than {MAX_BODY_BYTES} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise HTTPException(413, f"body larger than {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _preauthenticate(op: OracleOperator, request: Request, now: float) -> None:
    """Everything of the source's authentication that does not need the body (known source, fresh
    timestamp, a signature header): strangers are refused before a byte of their body is read."""
    headers = request.headers
    name = headers.get(SOURCE_HEADER)
    ts = headers.get(TIMESTAMP_HEADER)
    if name is None or ts is None or headers.get(SIGNATURE_HEADER) is None:
        raise HTTPException(401, f"missing {SOURCE_HEADER} / {TIMESTAMP_HEADER} / {SIGNATURE_HEADER} header")
    if name not in op.auth.sources:
        raise HTTPException(401, f"unknown source {name!r}")
    if not ts.isdigit() or len(ts) > 12:
        raise HTTPException(401, "timestamp header must be unix seconds")
    try:
        op.auth.check_fresh(int(ts), now)
    except AuthError as exc:
        raise HTTPException(401, str(exc)) from None


async def _ingest(request: Request, kind: str) -> JSONResponse:
    op = _operator(request)
    now = _clock(request)()
    try:
        _preauthenticate(op, request, now)
    except HTTPException:
        op.metrics.auth_failures.inc()
        raise
    body = await _body(request)
    headers = dict(request.headers)
    try:
        item, created = await run_in_threadpool(op.ingest, headers, body, now, expected_kind=kind)
    except AuthError as exc:
        raise HTTPException(401, str(exc)) from None
    except PayloadError as exc:
        raise HTTPException(422, str(exc)) from None
    if not created and item.body != body:
        raise HTTPException(409, f"event id {item.event_id!r} of {item.source!r} was already received with "
                                 "different content")
    payload = {"attestation_id": item.attestation_id, "state": item.state, "duplicate": not created}
    return JSONResponse(payload, status_code=202 if created else 200)


@router.post("/webhooks/ar/checkin", status_code=202)
async def ar_checkin(request: Request) -> JSONResponse:
    """AR-app check-in (see :class:`co3chain.oracle.events.CheckIn`)."""
    return await _ingest(request, "ar")


@router.post("/webhooks/social/event", status_code=202)
async def social_event(request: Request) -> JSONResponse:
    """Geolocated social-network event (see :class:`co3chain.oracle.events.SocialEvent`)."""
    return await _ingest(request, "social")


@router.post("/sign")
async def sign(request: Request) -> dict[str, Any]:
    """Co-sign request from a lead operator: ``{"headers": {...source HMAC headers}, "body": base64}``."""
    op = _operator(request)
    raw = await _body(request)
    try:
        forwarded = parse_forwarded(json.loads(raw))
    except (ValueError, Co3Error) as exc:
        raise HTTPException(400, str(exc)) from None
    try:
        share = await run_in_threadpool(op.cosign, forwarded.headers, forwarded.body, _clock(request)(),
                                        forwarded.version, forwarded.observed_at)
    except AuthError as exc:
        raise HTTPException(401, str(exc)) from None
    except (PayloadError, CosignRefused) as exc:
        raise HTTPException(422, str(exc)) from None
    except CosignMismatch as exc:  # operators' settings differ: the lead retries, the event is not rejected
        raise HTTPException(409, str(exc)) from None
    except Co3Error as exc:  # chain unreadable, or this operator's key is not a current signer
        raise HTTPException(503, str(exc)) from None
    return share.to_json()


@router.get("/status")
async def status(request: Request) -> dict[str, Any]:
    """Queue depth per state, accepted/rejected counts, last confirmed block."""
    return await run_in_threadpool(status_report, _operator(request).store)


@router.get("/events/{attestation_id}/status")
async def event_status(request: Request, attestation_id: str) -> dict[str, Any]:
    """Where one event stands (received → … → confirmed or rejected, with the reason): open to the app that
    sent it, which holds the attestation id from the webhook's answer. It names no citizen, area or time; the
    full row is in the authenticated listings."""
    item = await run_in_threadpool(_operator(request).store.get, attestation_id.lower())
    if item is None:
        raise HTTPException(404, "unknown attestation id")
    row = item.public()
    return {k: row[k] for k in ("attestation_id", "state", "reason", "tx_hash", "block", "updated_at")}


@listing_router.get("/events")
async def list_events(request: Request, state: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Newest events, optionally of one state (``rejected`` lists reasons)."""
    if state is not None and state not in STATES:
        raise HTTPException(400, f"state must be one of {', '.join(STATES)}")
    items = await run_in_threadpool(_operator(request).store.list_items, state, max(1, min(limit, 1000)))
    return [i.public() for i in items]


@listing_router.get("/events/{attestation_id}")
async def get_event(request: Request, attestation_id: str) -> dict[str, Any]:
    item = await run_in_threadpool(_operator(request).store.get, attestation_id.lower())
    if item is None:
        raise HTTPException(404, "unknown attestation id")
    return item.public()


def require_read_token(request: Request) -> None:
    """``Authorization: Bearer <token>`` matching the configured read token (compared in constant time)."""
    expected: str | None = getattr(request.app.state, READ_TOKEN_STATE, None)
    if not expected:
        raise HTTPException(403, "event listings are closed on this oracle: set [oracle] read_token_env, or use "
                                 "`co3chain oracle events --config` on the operator's machine")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise HTTPException(401, "event listings need 'Authorization: Bearer <read token>'",
                            headers={"WWW-Authenticate": "Bearer"})


def create_app(operator: OracleOperator, clock: Callable[[], float] = time.time,
               read_token: str | None = None) -> FastAPI:
    """Stand-alone oracle app: the router, the listings behind ``read_token``, ``/metrics`` and ``/health``."""
    app = FastAPI(title="co3chain oracle", version="1")
    app.state.co3_oracle = operator
    app.state.co3_oracle_clock = clock
    setattr(app.state, READ_TOKEN_STATE, read_token)
    app.include_router(router)
    app.include_router(listing_router, dependencies=[Depends(require_read_token)])

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(operator.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "signer": operator.key.address}

    return app
