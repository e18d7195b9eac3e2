"""JSON-RPC error codes and the exception handlers raise.

Codes follow JSON-RPC 2.0 and geth: -32700 parse error, -32600 invalid request, -32601 method not found,
-32602 invalid params, -32603 internal error, -32000 generic server/transaction error (geth uses it for
"nonce too low", "already known", ...), 3 = execution reverted with ``data`` = the revert bytes.
Why mirror geth exactly: web3.py, ethers and cast decode reverts and tx errors from these fields.
"""

from __future__ import annotations

from typing import Any

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
#: Besu's code for a method that exists but whose namespace this interface does not serve ([rpc] apis).
METHOD_NOT_ENABLED = -32604
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
SERVER_ERROR = -32000
#: geth's code for a request body or batch over the limit.
LIMIT_EXCEEDED = -32005
EXECUTION_REVERTED = 3


class RpcError(Exception):
    """An error that becomes the ``error`` member of a JSON-RPC response."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_dict(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            err["data"] = self.data
        return err


class InvalidParams(RpcError):
    """-32602: a parameter is missing, of the wrong type or out of range."""

    def __init__(self, message: str) -> None:
        super().__init__(INVALID_PARAMS, message)


class MethodNotFound(RpcError):
    """-32601: unknown or disabled method."""

    def __init__(self, method: str) -> None:
        super().__init__(METHOD_NOT_FOUND, f"the method {method} does not exist/is not available")


class ServerError(RpcError):
    """-32000: a well-formed request the node refuses (tx pool errors, unknown block, ...)."""

    def __init__(self, message: str, data: Any = None) -> None:
        super().__init__(SERVER_ERROR, message, data)


class ExecutionReverted(RpcError):
    """Code 3 with ``data`` = revert bytes (hex), as geth returns for eth_call/eth_estimateGas."""

    def __init__(self, revert_data: bytes, reason: str | None = None) -> None:
        message = "execution reverted" + (f": {reason}" if reason else "")
        super().__init__(EXECUTION_REVERTED, message, "0x" + revert_data.hex())


class MethodNotEnabled(RpcError):
    """-32604: the method exists, but its namespace is not enabled on this RPC interface (``[rpc] apis``)."""

    def __init__(self, method: str) -> None:
        namespace = method.partition("_")[0]
        super().__init__(METHOD_NOT_ENABLED, f"method not enabled: {method} (the {namespace!r} namespace is not in "
                                             "this node's [rpc] apis)")
