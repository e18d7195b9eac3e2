"""JSON-RPC 2.0 request handling: method registry, single and batch requests, error mapping.

Why a hand-written dispatcher (no framework): this sits on the hot path of eth_sendRawTransaction
(hundreds of calls per second on two cores), so a call is one dict lookup, one arity check and the
handler; JSON is (de)serialised once with orjson.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import functools
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from co3chain.rpc.errors import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    LIMIT_EXCEEDED,
    PARSE_ERROR,
    MethodNotEnabled,
    MethodNotFound,
    RpcError,
)
from co3chain.rpc.intake import IntakeLane
from co3chain.rpc.workpool import RPC_LANE

log = logging.getLogger(__name__)

DEFAULT_MAX_BATCH = 1000


@dataclass
class CallContext:
    """Per-connection information handed to methods registered with ``with_context=True``.

    ``send`` pushes a notification to the client (WebSocket only; ``None`` over HTTP).
    """

    transport: str  # "http" | "ws"
    send: Callable[[bytes], Awaitable[None]] | None = None
    subscriptions: set[str] | None = None
    #: eth_subscribe refuses more than this many live subscriptions on the connection.
    max_subscriptions: int | None = None


@dataclass(frozen=True)
class Method:
    func: Callable[..., Any]
    min_args: int
    max_args: int  # -1 = unbounded
    is_async: bool
    with_context: bool


def _arity(func: Callable[..., Any], with_context: bool) -> tuple[int, int]:
    sig = inspect.signature(func)
    min_args = max_args = 0
    for p in sig.parameters.values():
        if with_context and p.name == "ctx":
            continue
        if p.kind is p.VAR_POSITIONAL:
            return min_args, -1
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            max_args += 1
            if p.default is p.empty:
                min_args += 1
    return min_args, max_args


def _error(id_: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        err["data"] = data
    return {"jsonrpc": "2.0", "id": id_, "error": err}


class Dispatcher:
    """Registry of JSON-RPC methods and the request handler used by every transport."""

    def __init__(self, *, max_batch: int = DEFAULT_MAX_BATCH) -> None:
        self._methods: dict[str, Method] = {}
        #: namespaces (``eth``, ``admin``, ...) this interface serves; ``None`` = every registered method.
        #: Why: admin, vote and debug methods must not be reachable where a node's RPC faces apps or the
        #: network (Besu's ``--rpc-http-api``); see :meth:`co3chain.node.config.RpcConfig.enabled_namespaces`.
        self.namespaces: frozenset[str] | None = None
        self.max_batch = max_batch
        #: Synchronous methods run on an executor instead of the event loop (the node sends
        #: eth_sendRawTransaction to its bounded tx-intake threads: decoding, signature recovery and the
        #: pool lock never stall the loop that carries p2p and consensus).
        self.offload: dict[str, cf.Executor | IntakeLane] = {}

    def register(self, name: str, func: Callable[..., Any], *, with_context: bool = False) -> None:
        """Add ``name``; positional JSON params map to the function's positional parameters."""
        if name in self._methods:
            raise ValueError(f"RPC method {name} registered twice")
        lo, hi = _arity(func, with_context)
        self._methods[name] = Method(func, lo, hi, inspect.iscoroutinefunction(func), with_context)

    def method(
        self, name: str, *, with_context: bool = False
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator form of :meth:`register`."""

        def deco(func: Callable[..., Any]) -> Callable[..., Any]:
            self.register(name, func, with_context=with_context)
            return func

        return deco

    @property
    def methods(self) -> list[str]:
        return sorted(self._methods)

    async def handle_bytes(self, body: bytes, ctx: CallContext) -> bytes | None:
        """Handle one HTTP body / WebSocket message; ``None`` when every request was a notification."""
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return orjson.dumps(_error(None, PARSE_ERROR, "parse error"))
        # a single request (the usual eth_sendRawTransaction) skips the batch logic's coroutine
        result = await (self.handle_one(payload, ctx) if type(payload) is dict else self.handle_payload(payload, ctx))
        return None if result is None else orjson.dumps(result)

    async def handle_payload(self, payload: Any, ctx: CallContext) -> Any:
        if isinstance(payload, list):
            if not payload:
                return _error(None, INVALID_REQUEST, "empty batch")
            if len(payload) > self.max_batch:
                return _error(None, LIMIT_EXCEEDED, f"batch too large: {len(payload)} > {self.max_batch}")
            responses = []
            i = 0
            while i < len(payload):
                j = i
                while j < len(payload) and self._on_intake_lane(payload[j]):
                    j += 1
                if j > i:
                    # a run of intake-lane calls (eth_sendRawTransaction): queued together, in order,
                    # so the intake thread takes the whole run in one wake-up
                    outs = await asyncio.gather(*(self.handle_one(item, ctx) for item in payload[i:j]))
                    responses.extend(r for r in outs if r is not None)
                    i = j
                    continue
                resp = await self.handle_one(payload[i], ctx)
                if resp is not None:
                    responses.append(resp)
                i += 1
            return responses or None
        return await self.handle_one(payload, ctx)

    def _on_intake_lane(self, req: Any) -> bool:
        """Whether batch item ``req`` is a call the dispatcher hands to an :class:`IntakeLane`."""
        if not isinstance(req, dict):
            return False
        name = req.get("method")
        m = self._methods.get(name) if isinstance(name, str) else None
        return m is not None and not m.is_async and isinstance(self.offload.get(name), IntakeLane)

    async def handle_one(self, req: Any, ctx: CallContext) -> dict[str, Any] | None:
        if not isinstance(req, dict):
            return _error(None, INVALID_REQUEST, "invalid request")
        id_ = req.get("id")
        is_notification = "id" not in req
        if (
            req.get("jsonrpc") != "2.0"
            or not isinstance(req.get("method"), str)
            or not (id_ is None or isinstance(id_, str | int | float))
        ):
            return _error(id_, INVALID_REQUEST, "invalid request")
        try:
            result = await self.call(req["method"], req.get("params"), ctx)
        except RpcError as exc:
            if is_notification:
                return None
            return {"jsonrpc": "2.0", "id": id_, "error": exc.to_dict()}
        except Exception as exc:  # a bug in a handler must not kill the connection
            log.exception("RPC method %s failed", req["method"])
            if is_notification:
                return None
            return _error(id_, INTERNAL_ERROR, f"internal error: {exc}")
        if is_notification:
            return None
        return {"jsonrpc": "2.0", "id": id_, "result": result}

    async def call(self, name: str, params: Any, ctx: CallContext) -> Any:
        """Invoke ``name`` with JSON ``params`` (list or absent); raises :class:`RpcError`.

        Marks the serving task as RPC work: anything it hands to the loop's default executor runs in the
        bounded RPC pool, never on the threads consensus and block import use (:mod:`.workpool`).
        """
        RPC_LANE.set(True)
        m = self._methods.get(name)
        if m is None:
            raise MethodNotFound(name)
        if self.namespaces is not None and name.partition("_")[0] not in self.namespaces:
            raise MethodNotEnabled(name)
        if (
            name == "eth_subscribe"
            and ctx.max_subscriptions is not None
            and ctx.subscriptions is not None
            and len(ctx.subscriptions) >= ctx.max_subscriptions
        ):
            raise RpcError(LIMIT_EXCEEDED, f"too many subscriptions on this connection (max {ctx.max_subscriptions})")
        if params is None:
            params = []
        elif not isinstance(params, list):
            raise RpcError(INVALID_PARAMS, "non-array args")
        n = len(params)
        if n < m.min_args:
            raise RpcError(INVALID_PARAMS, f"missing value for required argument {n}")
        if m.max_args >= 0 and n > m.max_args:
            raise RpcError(INVALID_PARAMS, f"too many arguments, want at most {m.max_args}")
        executor = self.offload.get(name)
        if executor is not None and not m.is_async:
            call = functools.partial(m.func, *params, ctx=ctx) if m.with_context else functools.partial(m.func, *params)
            if isinstance(executor, IntakeLane):
                return await executor.run(call)
            return await asyncio.get_running_loop().run_in_executor(executor, call)
        out = m.func(*params, ctx=ctx) if m.with_context else m.func(*params)
        if m.is_async:
            out = await out
        return out
