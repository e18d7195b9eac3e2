"""``Dispatcher.handle_bytes`` sends a single (non-batch) request straight to ``handle_one`` (one coroutine
fewer per eth_sendRawTransaction); the answer must be exactly what the general ``handle_payload`` path gives,
for well-formed and malformed requests alike (JSON-RPC 2.0 §4-5 error shapes and codes)."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from co3chain.rpc.dispatch import CallContext, Dispatcher
from co3chain.rpc.errors import InvalidParams


def _dispatcher() -> Dispatcher:
    d = Dispatcher()
    d.register("eth_chainId", lambda: "0x539")
    d.register("echo_two", lambda a, b=None: [a, b])

    def refuse(x: Any) -> None:
        raise InvalidParams(f"bad value {x!r}")

    d.register("eth_refuse", refuse)

    async def later(x: Any) -> Any:
        return {"got": x}

    d.register("eth_later", later)
    return d


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)
_requests = st.fixed_dictionaries(
    {},
    optional={
        "jsonrpc": st.sampled_from(["2.0", "1.0", 2]),
        "id": st.none() | st.integers(-5, 5) | st.text(max_size=4) | st.lists(st.integers(0, 9), max_size=1),
        "method": st.sampled_from(["eth_chainId", "echo_two", "eth_refuse", "eth_later", "nope", 7]),
        "params": st.none() | st.lists(_json, max_size=3) | _json,
    },
)


@settings(max_examples=300, deadline=None)
@given(req=_requests)
def test_single_request_fast_path_answers_like_the_general_path(req: dict[str, Any]) -> None:
    d = _dispatcher()

    async def both() -> tuple[bytes | None, bytes | None]:
        fast = await d.handle_bytes(orjson.dumps(req), CallContext("http"))
        general = await d.handle_payload(orjson.loads(orjson.dumps(req)), CallContext("http"))
        return fast, None if general is None else orjson.dumps(general)

    fast, general = asyncio.run(both())
    assert fast == general
