"""Block production behind a small interface, and the single-validator implementation.

Why an interface: a one-PA network (dev, tests, a pilot) seals its own blocks every block period;
a consortium runs the QBFT engine over p2p. The node service only needs ``run()``/``stop()``/
``status()`` from either, so the QBFT driver can replace :class:`SingleValidatorProducer` without
touching RPC, metrics or lifecycle code.

Blocks are QBFT-format (coinbase = proposer, extraData with the validator list, round 0 and the
proposer's own commit seal): the same chain data a multi-validator network would produce, so a
network can grow from one validator to many without re-genesis.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from eth_keys import keys

from co3chain.chain.chain import NodeChain
from co3chain.consensus.qbft.extradata import QbftExtraData
from co3chain.consensus.qbft.hashing import sign_commit_seal
from co3chain.errors import Co3Error

log = logging.getLogger("co3chain.node")

#: How often an idle producer (no pending txs, empty blocks off) re-checks the pool.
IDLE_POLL_SECONDS = 0.05
#: Fraction of the block period one block's execution may fill: under a backlog, blocks follow each other
#: back to back, each about one period of work (full utilisation, latency about two periods).
BUILD_BUDGET = 1.0
#: Starting estimate of execution seconds per transaction (an ERC-20 transfer on py-evm is 1.5-5 ms),
#: replaced by measurements after the first busy blocks.
INITIAL_SECONDS_PER_TX = 0.002
#: Never cap a block below this many transactions (the per-tx estimate is noisy on small blocks).
MIN_BLOCK_TXS = 100


class ProducerError(Co3Error):
    """The producer cannot run with this chain/key (e.g. the key is not the sole validator)."""


class BlockProducer(Protocol):
    """What the node service needs from a block producer / consensus driver."""

    async def run(self) -> None:
        """Produce or agree on blocks until :meth:`stop`; return after the current block is done."""

    def stop(self) -> None:
        """Ask :meth:`run` to return (thread-safe, idempotent)."""

    def status(self) -> dict[str, Any]:
        """Small JSON-able status (kind, round, last block time) for logs and ``node status``."""


@dataclass
class SealedBlockInfo:
    number: int
    txs: int
    gas_used: int
    rejected: int
    build_seconds: float
    timestamp: int
    interval: int


class SingleValidatorProducer:
    """Seals a block every ``block_period`` seconds when this node's key is the only validator.

    Each block: take executable txs from the pool, execute them on the head (``NodeChain.build_block``,
    in a worker thread so RPC stays responsive), sign the commit seal for round 0 and import.
    """

    kind = "single-validator"

    def __init__(
        self,
        chain: NodeChain,
        txpool: Any,
        private_key: bytes,
        *,
        empty_blocks: bool = True,
        max_block_txs: int = 2000,
        on_sealed: Callable[[SealedBlockInfo], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.chain = chain
        self.txpool = txpool
        self._key = private_key
        self.address = keys.PrivateKey(private_key).public_key.to_canonical_address()
        self.block_period = chain.genesis.block_period
        self.empty_blocks = empty_blocks
        self.max_block_txs = max_block_txs
        self.on_sealed = on_sealed
        self.clock = clock
        self._stop = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.last: SealedBlockInfo | None = None
        #: Moving estimate of build seconds per transaction, to size blocks to the period.
        self.seconds_per_tx: float | None = INITIAL_SECONDS_PER_TX
        self.check_validator()

    def check_validator(self) -> None:
        validators = self.chain.validators_for_child(self.chain.head)
        if validators != [self.address]:
            raise ProducerError(
                f"single-validator production needs this node's key 0x{self.address.hex()} to be the only "
                f"validator; the next block's validator set has {len(validators)} member(s). "
                "Multi-validator networks need the QBFT engine."
            )

    def stop(self) -> None:
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._stop.set)
        else:
            self._stop.set()

    def status(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "validator": "0x" + self.address.hex(),
            "round": 0,
            "lastBlock": None if self.last is None else self.last.number,
            "lastBuildSeconds": None if self.last is None else round(self.last.build_seconds, 4),
            "blockTxCap": self.block_tx_cap(),
        }

    def _pending(self) -> int:
        status = self.txpool.status()
        value = status.get("pending", 0) if isinstance(status, dict) else getattr(status, "pending", 0)
        return int(value, 16) if isinstance(value, str) else int(value)

    async def _sleep(self, seconds: float) -> bool:
        """Sleep unless stopped; True when stopped."""
        if seconds <= 0:
            return self._stop.is_set()
        try:
            await asyncio.wait_for(self._stop.wait(), timeout=seconds)
        except TimeoutError:
            return False
        return True

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        while not self._stop.is_set():
            parent = self.chain.head
            target = parent.timestamp + self.block_period
            if await self._sleep(target - self.clock()):
                break
            if not self.empty_blocks and self._pending() == 0:
                if await self._sleep(IDLE_POLL_SECONDS):
                    break
                continue
            timestamp = max(target, int(self.clock()))
            try:
                info = await asyncio.to_thread(self.produce_one, timestamp)
            except Exception:
                log.exception("block production failed; retrying next period")
                if await self._sleep(self.block_period):
                    break
                continue
            self.last = info
            if self.on_sealed is not None:
                self.on_sealed(info)

    def block_tx_cap(self) -> int:
        """Transactions to take for the next block: as many as execute in ``BUILD_BUDGET`` of a period.

        Why: a backlog drained into one huge block delays every transaction in it by the whole build
        time; blocks sized to the period keep submit→included latency near one period at the same
        throughput.
        """
        if self.seconds_per_tx is None or self.seconds_per_tx <= 0:
            return self.max_block_txs
        fit = int(BUILD_BUDGET * self.block_period / self.seconds_per_tx)
        return max(MIN_BLOCK_TXS, min(self.max_block_txs, fit))

    def _learn(self, txs: int, seconds: float) -> None:
        if txs < 20:
            return
        sample = seconds / txs
        prev = self.seconds_per_tx
        self.seconds_per_tx = sample if prev is None else 0.7 * prev + 0.3 * sample

    def produce_one(self, timestamp: int) -> SealedBlockInfo:
        """Build, seal and import one block on the current head (blocking; worker thread)."""
        started = time.perf_counter()
        parent = self.chain.head
        self.check_validator()
        txs = self.txpool.select_for_block(parent.gas_limit, self.block_tx_cap())
        extra = QbftExtraData(validators=self.chain.validators_for_child(parent), round=0)
        result = self.chain.build_block(txs, self.address, timestamp, extra.encode())
        header = result.block.header
        seal = sign_commit_seal(self._key, header, 0)
        sealed_header = header.copy(extra_data=extra.with_seals([seal]).encode())
        sealed = result.block.copy(header=sealed_header)
        self.chain.import_block(sealed)
        if result.rejected:
            drop = getattr(self.txpool, "drop_rejected", None)
            if drop is not None:
                drop(result.rejected)
            for tx, reason in result.rejected[:5]:
                log.warning("tx 0x%s rejected from block %d: %s", tx.hash.hex(), header.block_number, reason)
        elapsed = time.perf_counter() - started
        self._learn(len(result.included), elapsed)
        info = SealedBlockInfo(
            number=header.block_number,
            txs=len(result.included),
            gas_used=header.gas_used,
            rejected=len(result.rejected),
            build_seconds=elapsed,
            timestamp=timestamp,
            interval=timestamp - parent.timestamp,
        )
        log.info(
            "block %d sealed txs=%d gas=%d time=%.3fs hash=0x%s",
            info.number,
            info.txs,
            info.gas_used,
            elapsed,
            sealed_header.hash.hex()[:16],
        )
        return info
