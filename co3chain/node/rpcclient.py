"""One JSON-RPC call from an operator's shell to a node: the client the CLI commands and the local-network
tooling share.

Why one module: ``node status``, ``validators``, ``accounts`` and ``network up`` each had their own copy, and
the copies disagreed on what a refusal keeps. A node's error object carries ``data`` — for a reverted
``eth_call``/``eth_estimateGas`` the revert bytes, which name a contract's custom error — so
:class:`RpcCallError` keeps ``code`` and ``data`` for callers that explain refusals, and its message is one
readable line for the ones that only print it.
"""

from __future__ import annotations

from typing import Any

import httpx

from co3chain.errors import Co3Error


class RpcCallError(Co3Error):
    """A JSON-RPC call failed: the node was unreachable, did not answer JSON-RPC, or returned an error
    object (then ``code``, ``rpc_message`` and ``data`` are that object's fields)."""

    def __init__(self, message: str, *, code: int | None = None, rpc_message: str | None = None,
                 data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.rpc_message = rpc_message
        self.data = data


def rpc_call(url: str, method: str, *params: Any, timeout: float = 10.0) -> Any:
    """``method(*params)`` at the node's JSON-RPC ``url``; its ``result``, or :class:`RpcCallError`."""
    try:
        reply = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)},
                           timeout=timeout)
    except httpx.HTTPError as exc:
        raise RpcCallError(f"cannot reach node RPC at {url}: {exc}") from None
    if reply.status_code != 200:
        raise RpcCallError(f"node RPC at {url} answered HTTP {reply.status_code}: {reply.text[:200]}")
    try:
        body = reply.json()
    except ValueError:
        raise RpcCallError(f"node RPC at {url} did not answer JSON") from None
    if not isinstance(body, dict):
        raise RpcCallError(f"node RPC at {url} did not answer a JSON-RPC object")
    error = body.get("error")
    if error is not None:
        error = error if isinstance(error, dict) else {"message": str(error)}
        raise RpcCallError(f"{method} failed: {error.get('message')} (code {error.get('code')})",
                           code=error.get("code"), rpc_message=error.get("message"), data=error.get("data"))
    return body.get("result")
