"""The oracle's HTTP surface re-mounted under ``/v1/oracle`` plus a read-only list of rejected events.

Why re-mount the routes instead of including the router: the oracle's router carries its own
``/oracle/v1`` prefix (for its stand-alone server); the API's paths are versioned first (``/v1/...``).
The endpoints look up the operator at ``request.app.state.co3_oracle``, which the API sets.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute

from co3chain.api.errors import ApiError
from co3chain.api.state import ApiState, get_state, require_pa


def oracle_router() -> APIRouter:
    """A router with the oracle's webhook, co-sign, status and event routes under ``/v1/oracle``; the event
    listings (citizen, area, time: personal data) need a PA API key, as ``/v1/oracle/rejected`` does."""
    from co3chain.oracle.webhooks import listing_router
    from co3chain.oracle.webhooks import router as source

    router = APIRouter(prefix="/v1/oracle", tags=["oracle"])
    for origin, dependencies in ((source, []), (listing_router, [Depends(require_pa)])):
        for route in origin.routes:
            if isinstance(route, APIRoute):
                extra = {"openapi_extra": {"security": [{"ApiKey": []}]}} if dependencies else {}
                router.add_api_route(route.path.removeprefix(origin.prefix) or "/", route.endpoint,
                                     methods=list(route.methods), status_code=route.status_code,
                                     name=f"oracle_{route.name}", summary=route.summary,
                                     description=route.description, dependencies=dependencies, **extra)
    return router


rejected_router = APIRouter(prefix="/v1/oracle", tags=["oracle"])


@rejected_router.get("/rejected", dependencies=[Depends(require_pa)], openapi_extra={"security": [{"ApiKey": []}]})
async def rejected(state: Annotated[ApiState, Depends(get_state)],
                   limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    """Off-chain events the oracle rejected, newest first, with the reason (read-only; PA API key: the rows
    name citizens, areas and times)."""
    if state.oracle is None:
        raise ApiError(404, "oracle_not_configured", "this API runs without an oracle ([oracle] in api.toml)")
    items = await run_in_threadpool(state.oracle.store.list_items, "rejected", limit)
    return [i.public() for i in items]
