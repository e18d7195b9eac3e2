"""Prometheus metrics of one node, on their own port (``[metrics] port``).

Why a private registry: several nodes (tests, local networks) may live in one process, and the default
global registry would refuse the second set of identical metric names.
"""

from __future__ import annotations

import logging
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

log = logging.getLogger(__name__)


class NodeMetrics:
    """Height, transactions, peers, consensus round, block interval and build time."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.height = Gauge("co3chain_block_height", "Number of the head block", registry=r)
        self.transactions = Counter(
            "co3chain_transactions_total", "Transactions in imported blocks", registry=r
        )
        self.blocks = Counter("co3chain_blocks_total", "Blocks imported since start", registry=r)
        self.gas = Counter("co3chain_gas_used_total", "Gas used by imported blocks", registry=r)
        self.peers = Gauge("co3chain_peers", "Connected peers", registry=r)
        self.round = Gauge("co3chain_consensus_round", "Consensus round of the last sealed block", registry=r)
        self.txpool_pending = Gauge(
            "co3chain_txpool_pending", "Executable transactions in the pool", registry=r
        )
        self.txpool_queued = Gauge(
            "co3chain_txpool_queued", "Future-nonce transactions in the pool", registry=r
        )
        self.block_time = Histogram(
            "co3chain_block_time_seconds",
            "Seconds between consecutive block timestamps",
            buckets=(0.5, 1, 2, 3, 5, 10, 20, 60),
            registry=r,
        )
        self.build_seconds = Histogram(
            "co3chain_block_build_seconds",
            "Wall time from the block's slot to its import (last arrivals, state commit, seal; earlier transactions were executed during the period)",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5),
            registry=r,
        )
        self._server: Any = None

    def on_block(self, number: int, txs: int, gas: int, interval: int | None, round_: int = 0) -> None:
        self.height.set(number)
        self.blocks.inc()
        self.transactions.inc(txs)
        self.gas.inc(gas)
        self.round.set(round_)
        if interval is not None:
            self.block_time.observe(interval)

    def serve(self, host: str, port: int) -> int:
        """Start the HTTP exporter thread; returns the bound port (``port`` 0 = do not serve)."""
        if port == 0:
            return 0
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        self._server = server
        return server.server_port

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
