"""What the RPC layer needs from the node, as one object (so tests can build it around an in-memory chain).

Why an explicit backend: the RPC methods must not know how the node is assembled (single-validator
producer today, QBFT engine + p2p later); they only see the chain, the tx pool and a few callables.
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from co3chain import __version__
from co3chain.chain.chain import NodeChain


class TxPoolLike(Protocol):
    """The tx-pool surface RPC uses (``co3chain.node.txpool.TxPool``)."""

    def add(self, raw: bytes) -> bytes: ...

    def status(self) -> Any: ...

    def pending_nonce(self, address: bytes) -> int: ...


def default_client_version() -> str:
    return f"co3chain/v{__version__}/{platform.system().lower()}-{platform.machine()}/python{platform.python_version()}"


@dataclass
class RpcBackend:
    """Node services visible to RPC methods.

    ``dev_keys`` (address → private key) enables eth_accounts/eth_sendTransaction: dev mode only.
    ``consensus`` optionally exposes ``propose_vote(address, add)``, ``discard_vote(address)``,
    ``pending_votes() -> dict[bytes, bool]`` for the qbft_ vote methods (QBFT engine).
    """

    chain: NodeChain
    txpool: TxPoolLike
    client_version: str = field(default_factory=default_client_version)
    network_id: int | None = None
    peer_count: Callable[[], int] = lambda: 0
    syncing: Callable[[], Any] = lambda: False
    dev_keys: dict[bytes, bytes] = field(default_factory=dict)
    consensus: Any = None
    #: eth_coinbase: this node's validator address (header coinbase of the blocks it proposes), if any
    coinbase: bytes | None = None
    #: eth_getLogs / filter range cap (blocks); -32005 beyond it.
    max_log_range: int = 10_000
    max_log_results: int = 20_000
