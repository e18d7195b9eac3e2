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

from co3chain.chain.builder import BlockBuilder
from co3chain.chain.chain import NodeChain
from co3chain.consensus.qbft.extradata import QbftExtraData
from co3chain.consensus.qbft.hashing import sign_commit_seal
from co3chain.errors import Co3Error
from co3chain.node.block_filler import FILL_POLL_SECONDS, FINAL_FILL_SHARE, BlockFiller

log = logging.getLogger("co3chain.node")

#: How often an idle producer (no pending txs, empty blocks off) re-checks the pool.
IDLE_POLL_SECONDS = 0.05


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

    During the period, transactions are executed into the open next block as they reach the pool
    (:class:`~co3chain.node.block_filler.BlockFiller`, in worker threads so RPC stays responsive). At the
    slot the last arrivals are added, the state is committed, the round-0 commit seal is signed and the
    block is imported: submit→included latency is the wait for the slot plus that short remainder.
    """

    kind = "single-validator"

    def __init__(
        self,
        chain: NodeChain,
        txpool: Any,
        private_key: bytes,
        *,
        empty_blocks: bool = True,
        max_block_txs: int = 10_000,
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
        self.filler = BlockFiller(chain, txpool, self.address, max_txs=max_block_txs)
        self.on_sealed = on_sealed
        self.clock = clock
        self._stop = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.last: SealedBlockInfo | None = None
        #: the block being filled during the current period (``None`` between blocks or when idle)
        self.open: BlockBuilder | None = None
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
            "maxBlockTxs": self.max_block_txs,
            "openBlockTxs": 0 if self.open is None else len(self.open.included),
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
        running = lambda: not self._stop.is_set()  # noqa: E731
        while running():
            target = self.chain.head.timestamp + self.block_period
            try:
                while running() and self.clock() < target:  # the period: execute arrivals as they come
                    if self.open is None and self._pending() == 0:
                        await self._sleep(min(FILL_POLL_SECONDS, target - self.clock()))
                        continue
                    if self.open is None:
                        self.open = self.open_block(target)
                    await self.filler.fill_until(self.open, target, self.clock, running)
                if not running():
                    break
                if self.open is None:
                    if not self.empty_blocks and self._pending() == 0:
                        await self._sleep(IDLE_POLL_SECONDS)
                        continue
                    self.open = self.open_block(max(target, int(self.clock())))
                info = await asyncio.to_thread(self.seal, self.open, FINAL_FILL_SHARE * self.block_period)
            except Exception:
                log.exception("block production failed; retrying next period")
                if await self._sleep(self.block_period):
                    break
                continue
            finally:
                self.open = None
            self.last = info
            if self.on_sealed is not None:
                self.on_sealed(info)

    def open_block(self, timestamp: int) -> BlockBuilder:
        """The next block, open on the head (QBFT format: validator list, round 0, no seal yet)."""
        self.check_validator()
        extra = QbftExtraData(validators=self.chain.validators_for_child(self.chain.head), round=0)
        return self.filler.open(timestamp, extra.encode())

    def produce_one(self, timestamp: int) -> SealedBlockInfo:
        """Build from everything the pool offers, seal and import one block now (blocking)."""
        return self.seal(self.open_block(timestamp), None)

    def seal(self, builder: BlockBuilder, budget: float | None) -> SealedBlockInfo:
        """Add the last arrivals (≤ ``budget`` s), commit, sign the commit seal and import (blocking)."""
        started = time.perf_counter()
        parent = builder.parent
        result = self.filler.finish(builder, budget)
        header = result.block.header
        seal = sign_commit_seal(self._key, header, 0)
        extra = QbftExtraData.decode(header.extra_data)
        sealed_header = header.copy(extra_data=extra.with_seals([seal]).encode())
        self.chain.import_block(result.block.with_header(sealed_header))
        for tx, reason in result.rejected[:5]:
            log.warning("tx 0x%s rejected from block %d: %s", tx.hash.hex(), header.block_number, reason)
        elapsed = time.perf_counter() - started
        info = SealedBlockInfo(
            number=header.block_number,
            txs=len(result.included),
            gas_used=header.gas_used,
            rejected=len(result.rejected),
            build_seconds=elapsed,
            timestamp=header.timestamp,
            interval=header.timestamp - parent.timestamp,
        )
        log.info(
            "block %d sealed txs=%d gas=%d slot-work=%.3fs hash=0x%s",
            info.number,
            info.txs,
            info.gas_used,
            elapsed,
            sealed_header.hash.hex()[:16],
        )
        return info
