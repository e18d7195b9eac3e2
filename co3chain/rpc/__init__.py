"""Ethereum JSON-RPC 2.0 for co3chain: HTTP and WebSocket on one port.

Layers (one job each): :mod:`errors` (codes), :mod:`params` (argument decoding), :mod:`dispatch`
(method registry, single/batch requests), :mod:`formatters` (geth-shaped result objects),
:mod:`filters` (polling filters and subscriptions), :mod:`methods` (the eth_/net_/web3_/qbft_/txpool_
namespaces over a :class:`co3chain.rpc.backend.RpcBackend`) and :mod:`server` (the ASGI app + uvicorn).
"""

from co3chain.rpc.dispatch import Dispatcher
from co3chain.rpc.errors import RpcError

__all__ = ["Dispatcher", "RpcError"]
