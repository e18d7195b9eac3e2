"""Prometheus metrics of one node, on their own port (``[metrics] port``).

Why a private registry: several nodes (tests, local networks) may live in one process, and the default
global registry would refuse the second set of identical metric names.

Names: where Besu or geth have a standard metric, it is exported under that name too, so existing
dashboards and alerts work unchanged — ``ethereum_blockchain_height`` / ``chain_head_block`` (head),
``ethereum_peer_count`` / ``p2p_peers`` (peers), ``txpool_pending`` / ``txpool_queued`` (geth),
``process_cpu_seconds_total`` / ``process_resident_memory_bytes`` (Prometheus process collector, Linux).
co3chain-specific ones keep the ``co3chain_`` prefix (consensus rounds and round changes, block seal
and import times, block interval). Live values (peers, pool, round changes) are read at scrape time through
:meth:`NodeMetrics.bind_node`, so they are never stale between blocks.
"""

from __future__ import annotations

import logging
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    start_http_server,
)

from co3chain.chain.recovery_process import started_recovery

log = logging.getLogger(__name__)


def _recovery_value(name: str) -> float:
    """An attribute of the sender recovery child, 0 when the node never started one."""
    child = started_recovery()
    return 0.0 if child is None else float(getattr(child, name))


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
        # Besu / geth standard names (same values as the co3chain_ ones above)
        self.besu_height = Gauge("ethereum_blockchain_height", "Height of the chain head (Besu name)", registry=r)
        self.geth_head = Gauge("chain_head_block", "Number of the head block (geth name)", registry=r)
        self.besu_peers = Gauge("ethereum_peer_count", "Connected peers (Besu name)", registry=r)
        self.geth_peers = Gauge("p2p_peers", "Connected peers (geth name)", registry=r)
        self.geth_pending = Gauge("txpool_pending", "Executable transactions in the pool (geth name)", registry=r)
        self.geth_queued = Gauge("txpool_queued", "Future-nonce transactions in the pool (geth name)", registry=r)
        self.round_changes = Gauge(
            "co3chain_consensus_round_changes", "Round changes since the node started (QBFT)", registry=r
        )
        self.finalized = Gauge(
            "co3chain_consensus_finalized_blocks", "Blocks finalized by consensus since start", registry=r
        )
        self.is_validator = Gauge("co3chain_consensus_is_validator", "1 if this node is a validator", registry=r)
        ProcessCollector(registry=r)  # process_cpu_seconds_total, process_resident_memory_bytes, open fds
        PlatformCollector(registry=r)
        self.build_seconds = Histogram(
            "co3chain_block_build_seconds",
            "Wall time from the block's slot to its import (last arrivals, state commit, seal; earlier transactions were executed during the period)",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5),
            registry=r,
        )
        self.import_seconds = Histogram(
            "co3chain_block_import_seconds",
            "Wall time to verify, execute and write one block (how: sealed = finalized here, synced = fetched)",
            ["how"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=r,
        )
        # the sender recovery child process (co3chain.chain.recovery_process): its CPU is not in this
        # process's process_cpu_seconds_total
        self.recovery_running = Gauge(
            "co3chain_sender_recovery_running", "1 while the sender recovery child process runs", registry=r
        )
        self.recovery_cpu = Gauge(
            "co3chain_sender_recovery_cpu_seconds",
            "CPU seconds used by the sender recovery child process(es) since the node started", registry=r
        )
        self.recovery_running.set_function(lambda: float(_recovery_value("alive")))
        self.recovery_cpu.set_function(lambda: float(_recovery_value("cpu_seconds")))
        self._server: Any = None

    def observe_import(self, seconds: float, how: str) -> None:
        self.import_seconds.labels(how if how in ("sealed", "synced") else "other").observe(seconds)

    def on_block(self, number: int, txs: int, gas: int, interval: int | None, round_: int = 0) -> None:
        """Account one imported block; ``interval`` = seconds since the previous block's timestamp.

        Block 1's interval is not observed: genesis carries whatever timestamp its author wrote (often 0,
        i.e. 1970), so "genesis to block 1" is no block time and would drown the histogram.
        """
        for gauge in (self.height, self.besu_height, self.geth_head):
            gauge.set(number)
        self.blocks.inc()
        self.transactions.inc(txs)
        self.gas.inc(gas)
        self.round.set(round_)
        if interval is not None and number > 1:
            self.block_time.observe(interval)

    def bind_node(self, service: Any) -> None:
        """Read peers, pool and consensus counters from ``service`` at every scrape."""

        def peers() -> float:
            return float(service.peer_count())

        def pool(kind: str) -> float:
            try:
                return float(service.txpool.status()[kind])
            except Exception:  # a scrape must never fail because the pool is being rebuilt
                return 0.0

        def producer_attr(name: str) -> float:
            return float(getattr(service.producer, name, 0) or 0)

        def validator() -> float:
            producer = service.producer
            status = producer.status() if producer is not None and hasattr(producer, "status") else {}
            return 1.0 if status.get("isValidator", producer is not None) else 0.0

        for gauge in (self.peers, self.besu_peers, self.geth_peers):
            gauge.set_function(peers)
        for gauge, kind in ((self.txpool_pending, "pending"), (self.geth_pending, "pending"),
                            (self.txpool_queued, "queued"), (self.geth_queued, "queued")):
            gauge.set_function(lambda kind=kind: pool(kind))
        self.round_changes.set_function(lambda: producer_attr("round_changes"))
        self.finalized.set_function(lambda: producer_attr("finalized_blocks"))
        self.is_validator.set_function(validator)

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
