"""Gas estimates for transactions about to be sent: on the pending block, where they will run.

Why not the head (what ``eth_estimateGas`` uses without a block): a transaction sent now runs in a later
block, and its gas can depend on that. A checkpoint written at ``block.timestamp`` (electorates, votes,
reputation) is an in-place rewrite in the head's second but a new storage slot in the next block: ~20,000
gas per checkpoint, more than a 25 % margin. Some nodes (eth-tester) cannot estimate on ``pending``; they
answer -32601 once and are asked on the head from then on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def not_implemented(exc: Exception) -> bool:
    """Whether a node refused a request as not implemented (JSON-RPC -32601), not for its content."""
    error = exc.args[0] if exc.args else None
    if isinstance(error, dict) and error.get("code") == -32601:
        return True
    return "-32601" in str(exc) or "not been implemented" in str(exc).lower()


class PendingEstimates:
    """Calls ``estimate(block)`` with ``"pending"``, or with ``None`` (the node's default, the head) once
    the node showed it cannot estimate on the pending block. One instance per node connection."""

    def __init__(self) -> None:
        self.on_pending = True

    def __call__(self, estimate: Callable[[Any], Any]) -> int:
        if self.on_pending:
            try:
                return int(estimate("pending"))
            except Exception as exc:
                if not not_implemented(exc):
                    raise
                self.on_pending = False
        return int(estimate(None))
