"""``GET /v1/events``: Server-Sent Events of new proposals, votes, rewards, areas and citizen initiatives, from
the indexer.

Why read the feed table rather than the node: every API replica serves the same sequence numbers, a client
resumes with ``Last-Event-ID`` (or ``?since=``) after a disconnect without missing events, and slow clients
cost one SQLite query per poll instead of node subscriptions.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse

from co3chain.api.state import ApiState, get_state

router = APIRouter(prefix="/v1", tags=["events"])
KEEPALIVE_SECONDS = 15.0
TYPES = ("proposal", "vote", "reward", "area", "recovery", "initiative")


def format_event(seq: int, kind: str, data: str) -> str:
    return f"id: {seq}\nevent: {kind}\ndata: {data}\n\n"


@router.get("/events", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}, "description": "SSE stream"}})
async def events(
    request: Request,
    state: Annotated[ApiState, Depends(get_state)],
    since: Annotated[int | None, Query(ge=0, lt=2**62, description="resume after this event id")] = None,
    types: Annotated[str | None, Query(
        pattern=r"^(proposal|vote|reward|area|recovery|initiative)(,(proposal|vote|reward|area|recovery|initiative))*$",
        description="comma-separated subset of proposal,vote,reward,area,recovery,initiative")] = None,
    limit: Annotated[int | None, Query(ge=1, le=100_000, description="close the stream after this many events")] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    """Stream indexed events as SSE (``id``, ``event`` = type, ``data`` = JSON). Without ``since`` or
    ``Last-Event-ID`` only events indexed after connecting are sent."""
    wanted = set(types.split(",")) if types else set(TYPES)
    if since is None and last_event_id and last_event_id.isdigit():
        since = int(last_event_id)
    cursor = since if since is not None else await asyncio.to_thread(state.store.feed_head)

    async def stream() -> AsyncIterator[str]:
        nonlocal cursor
        sent = 0
        idle = 0.0
        yield ": co3chain event stream\n\n"
        while True:
            rows = await asyncio.to_thread(state.store.feed_after, cursor, 100)
            for row in rows:
                cursor = int(row["seq"])
                if row["type"] not in wanted:
                    continue
                data = json.loads(row["data"])
                data["blockNumber"] = row["block"]
                yield format_event(cursor, row["type"], json.dumps(data, separators=(",", ":")))
                sent += 1
                if limit is not None and sent >= limit:
                    return
            if rows:
                idle = 0.0
                continue
            if await request.is_disconnected():
                return
            await asyncio.sleep(state.sse_poll_interval)
            idle += state.sse_poll_interval
            if idle >= KEEPALIVE_SECONDS:
                idle = 0.0
                yield ": keepalive\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
