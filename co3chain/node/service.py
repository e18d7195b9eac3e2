"""Node assembly and lifecycle: chain + tx pool + block producer + JSON-RPC + metrics, in one asyncio loop.

Threads: the event loop serves RPC; block building/import runs in a worker thread (``asyncio.to_thread``
in the producer). The loop's default executor is a :class:`LaneExecutor`: work started by an RPC request
runs in a small bounded pool with a time limit, everything else on the node's own threads, so no RPC
load can take the capacity consensus and import need. The chain's import listener runs on that worker thread, so everything it touches is
thread-safe (tx pool) or bounced to the loop (subscriptions, metrics are thread-safe).

Shutdown (SIGTERM/SIGINT): stop the producer (the block in progress finishes: an import is one atomic
RocksDB write, so even ``kill -9`` leaves the last committed block), stop RPC, close the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eth_keys import keys

from co3chain.chain.chain import NodeChain
from co3chain.chain.genesis import Genesis, load_genesis
from co3chain.keys import load_private_key, read_password
from co3chain.node.config import NodeConfig, is_loopback_host
from co3chain.node.metrics import NodeMetrics
from co3chain.node.permissioning import AccountPermissioning
from co3chain.node.producer import BlockProducer, SealedBlockInfo, SingleValidatorProducer
from co3chain.node.threadnames import name_os_threads
from co3chain.node.txjournal import TxJournal
from co3chain.node.txpool import ProtectedSenders, TxPool
from co3chain.rpc.backend import RpcBackend
from co3chain.rpc.intake import IntakeLane
from co3chain.rpc.methods import EthApi, build_dispatcher
from co3chain.rpc.server import RpcApp, RpcServer
from co3chain.rpc.workpool import LaneExecutor, RpcWorkPool

log = logging.getLogger("co3chain.node")


#: Allocations between young-generation garbage collections (CPython's default: 700). See :func:`tune_gc`.
GC_GEN0_THRESHOLD = 20_000
#: Middle-generation passes before a full one is considered (CPython's default: 10).
GC_GEN2_THRESHOLD = 100


def tune_gc() -> None:
    """Make Python's cyclic garbage collector cheap for a long-running node (once, after start-up).

    Why: measured under ``bench/rpc_throughput.py`` the collector took ~50-65 µs of node CPU per
    transaction, mostly in full (generation 2) collections of ~65 ms each that re-scanned every object
    made at start-up (modules, py-evm's classes, the opened chain) while holding the GIL, so RPC and block
    building stalled meanwhile. ``gc.freeze()`` moves what exists after start-up out of the collector's
    sight (it is never garbage: it lives as long as the node), a higher first threshold runs the
    young-generation pass less often and a higher last one makes full passes ~10x rarer (measured: 0.66 s
    of collector CPU per 10,000 transfers before, 0.27 s with the first two changes, 0.10 s with all
    three). Reference counting still frees almost everything at once; only reference cycles wait longer
    (a full pass still runs every ~100 middle passes). ``CO3CHAIN_GC=default`` keeps CPython's settings.
    """
    if os.environ.get("CO3CHAIN_GC") == "default":
        return
    gc.collect()
    gc.freeze()
    _, gen1, _ = gc.get_threshold()
    gc.set_threshold(GC_GEN0_THRESHOLD, gen1, GC_GEN2_THRESHOLD)


def _no_peers() -> int:
    return 0


#: A producer that also has these methods backs qbft_proposeValidatorVote & co. (the QBFT driver).
_VOTE_METHODS = ("propose_vote", "discard_vote", "pending_votes")

#: ``make_producer(service) -> BlockProducer | None``: how the service chooses block production.
ProducerFactory = Callable[["NodeService"], "BlockProducer | None"]


def default_producer_factory(service: NodeService) -> BlockProducer | None:
    """How this node takes part in block production, from its key and the validator set.

    * its key is the only validator and ``producer.empty_blocks`` is off: :class:`SingleValidatorProducer`
      (seals alone, only when transactions wait — a mode QBFT's round timers do not have);
    * otherwise (one or several validators, or a key not yet in the set):
      :func:`co3chain.node.qbft_driver.qbft_producer_factory` (QBFT over the p2p transport, with sync and
      validator votes, so a one-validator network can vote in a second validator);
    * no key: none (an RPC-only node).
    """
    if service.private_key is None or service.address is None:
        return None
    cfg = service.config
    validators = service.chain.validators_for_child(service.chain.head)
    if validators == [service.address] and not cfg.producer.empty_blocks:
        return SingleValidatorProducer(
            service.chain,
            service.txpool,
            service.private_key,
            empty_blocks=cfg.producer.empty_blocks,
            max_block_txs=cfg.producer.max_block_txs,
            on_sealed=service.on_sealed,
        )
    # several validators, or a key that is not (yet) a validator: the QBFT driver over p2p
    from co3chain.node.qbft_driver import qbft_producer_factory

    return qbft_producer_factory(service)


@dataclass
class NodeService:
    """One running node. ``await start()`` … ``await stop()``, or ``await run()`` until a signal."""

    config: NodeConfig
    password: str | None = None
    producer_factory: ProducerFactory = default_producer_factory
    chain: NodeChain = field(init=False)
    genesis: Genesis = field(init=False)
    txpool: TxPool = field(init=False)
    metrics: NodeMetrics = field(init=False)
    #: Account allow-list (genesis/config lists, on-chain contract); ``None`` on an open network.
    permissioning: AccountPermissioning | None = field(init=False, default=None)
    api: EthApi = field(init=False)
    producer: BlockProducer | None = field(init=False, default=None)
    private_key: bytes | None = field(init=False, default=None)
    address: bytes | None = field(init=False, default=None)
    rpc_port: int = field(init=False, default=0)
    metrics_port: int = field(init=False, default=0)
    _rpc: RpcServer | None = field(init=False, default=None)
    _producer_task: asyncio.Task[None] | None = field(init=False, default=None)
    _stopped: asyncio.Event = field(init=False, default_factory=asyncio.Event)
    _loop: asyncio.AbstractEventLoop | None = field(init=False, default=None)
    _last_timestamp: int | None = field(init=False, default=None)
    _closed: bool = field(init=False, default=False)
    _journal: TxJournal | None = field(init=False, default=None)
    _intake: IntakeLane | None = field(init=False, default=None)
    _namer_task: asyncio.Task[None] | None = field(init=False, default=None)
    #: Connected peers (net_peerCount, metrics); the p2p layer replaces it when it is wired in.
    peer_count: Callable[[], int] = field(init=False, default_factory=lambda: _no_peers)

    # -- assembly ------------------------------------------------------------------------------------
    def _load_key(self) -> None:
        cfg = self.config
        if cfg.keystore is None:
            return
        password = self.password if self.password is not None else read_password(cfg.password_file)
        self.private_key = load_private_key(cfg.keystore, password)
        self.address = keys.PrivateKey(self.private_key).public_key.to_canonical_address()

    async def start(self) -> None:
        """Open the chain and start every component; raises ``Co3Error`` on bad config/keys."""
        self._loop = asyncio.get_running_loop()
        cfg = self.config
        self._install_executor()
        self.genesis = load_genesis(cfg.genesis)
        self._load_key()
        if cfg.data_dir is not None:
            cfg.data_dir.mkdir(parents=True, exist_ok=True)
        self.chain = NodeChain.open(cfg.data_dir, self.genesis, cfg.chain.engine, cfg.chain.cross_check)
        self.genesis = self.chain.release_genesis_alloc()  # block 0 is in the store: keep no parsed alloc
        try:
            await self._start_components()
        except BaseException:
            await self.stop()
            raise

    async def _start_components(self) -> None:
        cfg = self.config
        self.permissioning = AccountPermissioning.from_config(self.chain, self.genesis, cfg)
        protected = [*cfg.txpool.protected, *cfg.allowed_accounts, *(self.genesis.account_allowlist or ())]
        self.txpool = TxPool(
            self.chain,
            max_per_sender=cfg.txpool.max_per_sender,
            max_total=cfg.txpool.max_total,
            allowlist=self.permissioning,
            max_bytes=cfg.txpool.max_bytes,
            max_queued_per_sender=cfg.txpool.max_queued_per_sender,
            queued_lifetime=cfg.txpool.queued_lifetime,
            protected=ProtectedSenders(self.chain, protected),
        )
        if self.permissioning is not None:
            self.permissioning.attach_pool(self.txpool)
        self._open_journal()
        self.metrics = NodeMetrics()
        head = self.chain.head
        self.metrics.height.set(head.block_number)
        self._last_timestamp = head.timestamp
        dev_keys = {self.address: self.private_key} if cfg.dev and self.private_key and self.address else {}
        # The producer is built before RPC so a consensus driver can expose the qbft_ vote methods.
        self.producer = self.producer_factory(self)
        consensus = self.producer if all(hasattr(self.producer, m) for m in _VOTE_METHODS) else None
        peers = getattr(self.producer, "peer_count", None)
        if callable(peers):
            self.peer_count = peers
        backend = RpcBackend(
            chain=self.chain,
            txpool=self.txpool,
            dev_keys=dev_keys,
            peer_count=lambda: self.peer_count(),
            consensus=consensus,
            coinbase=self.address,
        )
        dispatcher, self.api = build_dispatcher(backend)
        # transaction intake off the event loop, bounded ("busy" beyond 4,096 waiting), never interrupted
        self._intake = IntakeLane(max_pending=4096, name="tx-intake")
        if self._journal is not None:  # the intake's journal records go out in one write per batch
            self._journal.defer_on(self._intake.thread_id)
            self._intake.before_answer = self._journal.flush_deferred
        dispatcher.offload["eth_sendRawTransaction"] = self._intake
        attach = getattr(self.producer, "attach_rpc", None)
        if attach is not None:  # the QBFT driver adds votes, sync state, tx gossip and its qbft_ methods
            attach(backend, dispatcher)
        dispatcher.namespaces = cfg.rpc.enabled_namespaces()
        if dispatcher.namespaces is not None:
            log.info("RPC on %s serves only: %s", cfg.rpc.host, ", ".join(sorted(dispatcher.namespaces)))
            if not is_loopback_host(cfg.rpc.host) and dispatcher.namespaces & {"admin", "qbft"}:
                log.warning("RPC on %s serves admin/qbft methods (peers, validator votes) to whoever reaches it",
                            cfg.rpc.host)
        self.chain.add_import_listener(self.txpool.on_block_imported)
        if self.permissioning is not None:  # after the pool: evicts what the block did not remove
            self.chain.add_import_listener(self.permissioning.on_block_imported)
        self.chain.add_import_listener(self._on_import)
        self.api.subscriptions.start()
        if cfg.rpc.enabled:
            app = RpcApp(
                dispatcher,
                max_body=cfg.rpc.max_body_bytes,
                cors_origins=list(cfg.rpc.cors_origins),
                on_ws_close=self.api.subscriptions.drop_connection,
            )
            self._rpc = RpcServer(app, cfg.rpc.host, cfg.rpc.port)
            await self._rpc.start()
            self.rpc_port = self._rpc.port
        self.metrics.bind_node(self)
        self.metrics_port = self.metrics.serve(cfg.metrics.host, cfg.metrics.port)
        if self.producer is not None:
            self._producer_task = asyncio.create_task(self.producer.run(), name="block-producer")
        self._namer_task = asyncio.create_task(self._name_threads(), name="thread-namer")
        log.info(
            "node started chain_id=%d head=%d validator=%s rpc=%s:%d metrics=%d producer=%s",
            self.chain.chain_id,
            head.block_number,
            "0x" + self.address.hex() if self.address else "none",
            cfg.rpc.host,
            self.rpc_port,
            self.metrics_port,
            type(self.producer).__name__ if self.producer else "none",
        )

    def _install_executor(self) -> None:
        """Make the loop's default executor a :class:`LaneExecutor` (once per loop: several services may
        share a loop in tests). It belongs to the loop, not to this service: ``asyncio.run`` shuts it
        down with the loop, so stopping one service never takes the threads another one uses."""
        assert self._loop is not None
        if isinstance(getattr(self._loop, "_default_executor", None), LaneExecutor):
            return
        rpc = self.config.rpc
        self._loop.set_default_executor(LaneExecutor(RpcWorkPool(rpc.workers, rpc.max_pending, rpc.evm_timeout)))

    def _open_journal(self) -> None:
        """Re-admit the transactions accepted before a crash, then journal every new one."""
        if self.config.data_dir is None:
            return
        journal = TxJournal(self.config.data_dir / "txpool.journal")
        # holding gaps: the journal lists transactions in acceptance order, and one accepted while held (a
        # validator's nonce-gap overflow) may come before the nonces that fill its gap
        ok, refused = journal.restore(self.txpool.add_holding_gaps)
        if ok or refused:
            log.info("tx journal: %d transactions re-admitted, %d no longer valid", ok, refused)
        journal.attach(self.txpool.raw_transactions, lambda: len(self.txpool))
        journal.compact()
        self.txpool.journal = journal
        self._journal = journal

    @staticmethod
    async def _name_threads() -> None:
        """Keep OS thread names equal to Python's (``top -H`` shows "tx-intake-0", "node-worker_1"...);
        executor threads appear on demand, so look again now and then."""
        while True:
            name_os_threads()
            await asyncio.sleep(5.0)

    # -- events --------------------------------------------------------------------------------------
    def _on_import(self, block: Any, receipts: Any) -> None:
        """Chain import listener (worker thread)."""
        header = block.header
        interval = None if self._last_timestamp is None else header.timestamp - self._last_timestamp
        self._last_timestamp = header.timestamp
        self.metrics.on_block(header.block_number, len(block.transactions), header.gas_used, interval)
        self.metrics.peers.set(self.peer_count())
        self.api.subscriptions.notify_block_threadsafe(block, receipts)

    def on_sealed(self, info: SealedBlockInfo) -> None:
        self.metrics.build_seconds.observe(info.build_seconds)
        status = self.txpool.status()
        self.metrics.txpool_pending.set(status["pending"])
        self.metrics.txpool_queued.set(status["queued"])

    # -- lifecycle -----------------------------------------------------------------------------------
    async def stop(self) -> None:
        """Stop producing, stop serving, close the database (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._namer_task is not None:
            self._namer_task.cancel()
        if self.producer is not None:
            self.producer.stop()
        if self._producer_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._producer_task
            self._producer_task = None
        if self._rpc is not None:
            await self._rpc.stop()
            self._rpc = None
        if hasattr(self, "api"):
            await self.api.subscriptions.stop()
        if hasattr(self, "metrics"):
            self.metrics.stop()
        if self._intake is not None:
            self._intake.shutdown(wait=True)
            if self._journal is not None:
                self._journal.stop_deferring(self._intake.thread_id)
        if self._journal is not None:
            self._journal.close()
        if hasattr(self, "chain"):
            self.chain.close()
        self._stopped.set()

    def request_stop(self) -> None:
        """Thread/signal-safe: make :meth:`run` shut down."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)

    async def run(self) -> None:
        """Start, wait for SIGTERM/SIGINT (or :meth:`request_stop`), shut down gracefully.

        The node process (``co3chain node start``) runs this: the collector is tuned here, not in
        :meth:`start`, because tests start many services in one process and must not freeze each other's
        garbage.
        """
        await self.start()
        tune_gc()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self._stopped.set)
        try:
            await self._stopped.wait()
        finally:
            log.info("shutting down")
            await self.stop()
            log.info("node stopped at block %d", self._last_block_number())

    def _last_block_number(self) -> int:
        try:
            return self.chain.head.block_number
        except Exception:
            return -1
