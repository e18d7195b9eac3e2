"""Block catch-up from peers, and the validator-set index every import is checked against.

Why a node syncs: a validator that was down, lost the COMMIT messages of a height, or starts with an empty
data directory cannot rebuild the missing heights by consensus (the other validators have moved on); it
fetches the sealed blocks and imports them. Nothing is trusted: every block's commit seals must hold a
quorum of the validator set that the *local* replay of extraData votes says must seal that block
(:class:`ValidatorSetIndex` feeds ``NodeChain.validator_provider``), and the block is re-executed.

Triggers (:class:`ChainSync`):
* a peer STATUS whose head is ahead of ours — at once when two or more blocks ahead, after a short grace
  period when one block ahead (the normal race of a validator that finalized a moment earlier);
* a consensus message for a height beyond ``head + 1`` (we missed a block);
* boot (initial sync with an empty data directory: every block from 1).

Sync runs as one task: pick the peer with the highest head, request batches of ``batch_size`` blocks,
verify and import each in a worker thread, repeat until no peer is ahead; then ``on_synced`` lets the
consensus driver restart the engine at ``head + 1``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import rlp

from co3chain.chain.chain import BlockImportError, NodeChain
from co3chain.chain.rawblock import decode_wire_block
from co3chain.chain.recovery_process import RecoveryProcess, block_jobs, feed_senders
from co3chain.chain.vm import QbftBlock, QbftBlockHeader
from co3chain.consensus.qbft.engine import verify_commit_seals
from co3chain.consensus.qbft.evm_block import EvmBlock
from co3chain.consensus.qbft.extradata import ExtraDataError, QbftExtraData
from co3chain.consensus.qbft.votes import ValidatorSetTracker
from co3chain.p2p import P2PError, Peer

log = logging.getLogger("co3chain.node.sync")

#: Blocks asked for in one GET_BLOCKS request.
DEFAULT_BATCH = 64
#: A peer exactly one block ahead triggers a sync only if it stays ahead this long (seconds).
ONE_BEHIND_GRACE = 1.0


class ValidatorSetIndex:
    """Validator set that must seal each block, from genesis and the extraData votes of every block.

    ``for_child(n)`` is the set sealing block ``n + 1``. Built by replaying the stored chain at boot and
    advanced by :meth:`on_block` from the chain's import listener after every import (consensus or sync).
    Thread-safe.
    Memory: one tuple per *change* plus one int per block (identical sets share the tuple).
    """

    def __init__(self, chain: NodeChain) -> None:
        genesis_vals = list(QbftExtraData.decode(chain.genesis_header.extra_data).validators)
        self._lock = threading.Lock()
        self._tracker = ValidatorSetTracker(genesis_vals, chain.genesis.epoch_length)
        self._sets: list[tuple[bytes, ...]] = [self._tracker.validators]
        self._listeners: list[Callable[[tuple[bytes, ...]], None]] = []
        for number in range(1, chain.head.block_number + 1):
            header = chain.get_header_by_number(number)
            if header is None:
                raise BlockImportError(f"stored chain is missing block #{number}")
            self.on_block(header)
        chain.add_import_listener(lambda block, _receipts: self.on_block(block.header))

    def add_listener(self, fn: Callable[[tuple[bytes, ...]], None]) -> None:
        """``fn(new_set)`` after a block changed the set (for the p2p allow-list)."""
        self._listeners.append(fn)

    @property
    def last_block(self) -> int:
        return len(self._sets) - 1

    @property
    def current(self) -> tuple[bytes, ...]:
        """The set that must seal the next block (after the head)."""
        with self._lock:
            return self._sets[-1]

    def for_child(self, number: int) -> tuple[bytes, ...]:
        with self._lock:
            if not 0 <= number < len(self._sets):
                raise KeyError(f"no validator set known after block #{number}")
            return self._sets[number]

    def provider(self, parent: QbftBlockHeader) -> list[bytes]:
        """``NodeChain.validator_provider``: the set that must seal the child of ``parent``."""
        return list(self.for_child(parent.block_number))

    def tally(self) -> dict[bytes, tuple[int, int]]:
        with self._lock:
            return self._tracker.tally()

    def on_block(self, header: Any) -> None:
        """Account an imported block (idempotent for the last one; gaps are an error)."""
        number = int(header.block_number)
        changed: tuple[bytes, ...] | None = None
        with self._lock:
            if number < len(self._sets):
                return
            extra = QbftExtraData.decode(header.extra_data)
            before = self._sets[-1]
            after = self._tracker.apply_block(number, bytes(header.coinbase), extra.vote)
            self._sets.append(before if after == before else after)
            if after != before:
                changed = after
        if changed is not None:
            log.info("validator set changed at block %d: %d validator(s)", number, len(changed))
            for fn in self._listeners:
                try:
                    fn(changed)
                except Exception:
                    log.exception("validator-set listener failed")


def verify_block_seals(block: QbftBlock, validators: Sequence[bytes]) -> bool:
    """Auditor-grade check of a sealed block: a quorum of distinct ``validators`` sealed it."""
    try:
        wrapped = EvmBlock(block)
    except ValueError:
        return False
    return verify_commit_seals(wrapped, wrapped.extra.seals, validators)


def seals_hold(chain: NodeChain, block: QbftBlock, validators: Sequence[bytes]) -> bool:
    """The sync's seal check: ``chain.verify_seals`` (a quorum of distinct ``validators``, no outsider).

    Why the chain's check and not :func:`verify_block_seals`: the chain remembers the recovered signers
    (:meth:`NodeChain.seal_signers`), so the import's own seal check of the same block, and the prefetch
    thread's recovery ahead of it, cost no second recovery of each seal.
    """
    try:
        chain.verify_seals(block.header, validators)
    except BlockImportError as exc:
        log.debug("sync: %s", exc)  # the caller logs the refusal with the peer
        return False
    return True


class ChainSync:
    """Fetch, verify and import blocks that peers have and we lack (see the module docstring)."""

    def __init__(
        self,
        chain: NodeChain,
        sets: ValidatorSetIndex,
        request_blocks: Callable[[Peer, int, int], Awaitable[list[bytes]]],
        peers: Callable[[], list[Peer]],
        import_block: Callable[[QbftBlock], Awaitable[bool]],
        on_synced: Callable[[], Any] | None = None,
        batch_size: int = DEFAULT_BATCH,
        penalize: Callable[[Peer], None] | None = None,
    ) -> None:
        self.chain = chain
        self.sets = sets
        self._request_blocks = request_blocks
        self._peers = peers
        self._import = import_block
        self.on_synced = on_synced
        self.batch_size = batch_size
        #: called with a peer that served an undecodable, out-of-order or badly sealed block
        self.penalize = penalize
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._behind_since: float | None = None
        self.syncing = False
        self.starting_block = 0
        self.highest_seen = 0
        self.imported = 0
        self.rejected_peers = 0

    # -- triggers ------------------------------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="chain-sync")
        self._wake.set()  # initial sync

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def on_peer_status(self, peer: Peer, status: Any) -> None:
        head = self.chain.head.block_number
        self.highest_seen = max(self.highest_seen, int(status.head_number))
        if status.head_number > head:
            self._wake.set()

    def on_future_height(self, height: int) -> None:
        """A consensus message for ``height`` arrived; beyond head + 1 means we missed blocks."""
        self.highest_seen = max(self.highest_seen, height - 1)
        if height > self.chain.head.block_number + 1:
            self._wake.set()

    def status(self) -> dict[str, int] | bool:
        """``eth_syncing`` shape: ``False`` or start/current/highest block."""
        head = self.chain.head.block_number
        if not self.syncing:
            return False
        return {"startingBlock": self.starting_block, "currentBlock": head, "highestBlock": self.highest_seen}

    # -- the loop ------------------------------------------------------------------------------------
    def _best_peer(self) -> tuple[Peer | None, int]:
        head = self.chain.head.block_number
        best: Peer | None = None
        best_head = head
        for peer in self._peers():
            st = peer.status
            if st is not None and st.head_number > best_head:
                best, best_head = peer, int(st.head_number)
        return best, best_head

    def _should_sync(self, best_head: int) -> bool:
        gap = best_head - self.chain.head.block_number
        if gap <= 0:
            self._behind_since = None
            return False
        if gap >= 2:
            return True
        now = time.monotonic()
        if self._behind_since is None:
            self._behind_since = now
        return now - self._behind_since >= ONE_BEHIND_GRACE

    async def _loop(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=ONE_BEHIND_GRACE / 2)
            self._wake.clear()
            peer, best_head = self._best_peer()
            if peer is None:
                self._behind_since = None
                continue
            if not self._should_sync(best_head):
                continue
            try:
                await self.sync_from(peer, best_head)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("sync from peer 0x%s failed", peer.address.hex()[:12])

    async def sync_from(self, peer: Peer, target: int) -> int:
        """Import blocks ``head+1 .. target`` from ``peer``; returns how many were imported."""
        self.syncing = True
        self.starting_block = self.chain.head.block_number
        self.highest_seen = max(self.highest_seen, target)
        imported = 0
        try:
            while self.chain.head.block_number < target and not self._stopping:
                start = self.chain.head.block_number + 1
                count = min(self.batch_size, target - start + 1)
                try:
                    raws = await self._request_blocks(peer, start, count)
                except P2PError as exc:
                    log.warning("sync: block request to 0x%s failed: %s", peer.address.hex()[:12], exc)
                    return imported
                if not raws:
                    return imported
                # decoding a batch is ~25 µs per transaction (64 full blocks: a third of a second): off the
                # event loop, which keeps serving consensus messages and RPC meanwhile
                blocks = await asyncio.to_thread(lambda r=raws: [self._decode(raw) for raw in r])
                # a syncing node never saw these transactions: their senders are recovered ahead by the
                # recovery child process (the other core) while the blocks import one by one
                feed = feed_senders(self.chain.senders, block_jobs(raws, blocks))
                try:
                    # one fsync for the batch instead of one per block (see NodeChain.deferred_fsync)
                    with self.chain.deferred_fsync(fsync_on_exit=False):
                        for position, block in enumerate(blocks):
                            feed.advance(position)
                            outcome = None if block is None else await self._check_and_import(peer, block)
                            if block is None:
                                self._bad_peer(peer)
                            if outcome is False or block is None:
                                return imported
                            if outcome:
                                imported += 1
                finally:
                    feed.close()
                    await asyncio.to_thread(self.chain.sync_wal)
            if imported:
                log.info("sync: imported %d block(s) from 0x%s, head #%d", imported, peer.address.hex()[:12],
                         self.chain.head.block_number)
        finally:
            self.syncing = False
            self.imported += imported
            if imported and self.on_synced is not None:
                self.on_synced()
        return imported

    @staticmethod
    def _decode(raw: bytes) -> QbftBlock | None:
        try:
            return decode_wire_block(raw)
        except (rlp.exceptions.DecodingError, rlp.exceptions.DeserializationError, ExtraDataError, ValueError):
            log.warning("sync: peer sent an undecodable block")
            return None

    async def _check_and_import(self, peer: Peer, block: QbftBlock) -> bool | None:
        """``True`` imported, ``None`` already had it (consensus was faster), ``False`` bad block."""
        number = block.header.block_number
        head = self.chain.head.block_number
        if number <= head:
            return None
        if number != head + 1:
            log.warning("sync: peer sent block #%d, expected #%d", number, head + 1)
            self._bad_peer(peer)
            return False
        validators = self.sets.for_child(head)
        if not seals_hold(self.chain, block, validators):
            log.warning("sync: block #%d from 0x%s has no valid seal quorum; dropped",
                        number, peer.address.hex()[:12])
            self._bad_peer(peer)
            return False
        return await self._import(block)  # a refused import may be our fault (clock): no penalty

    def _bad_peer(self, peer: Peer) -> None:
        self.rejected_peers += 1
        if self.penalize is not None:
            self.penalize(peer)


def import_synced(chain: NodeChain, sets: ValidatorSetIndex, raws: Sequence[bytes],
                  recovery: RecoveryProcess | None = None) -> int:
    """Blocking form of the sync path for a batch of wire blocks on ``chain``'s head (benchmarks, tests):
    decode, senders recovered ahead by the recovery process (``recovery``, else the shared one for a large
    batch), seal quorum, import, one fsync for the batch. Returns how many blocks were imported (stops at
    the first refused one)."""
    blocks = [ChainSync._decode(raw) for raw in raws]
    feed = feed_senders(chain.senders, block_jobs(raws, blocks), recovery)
    imported = 0
    try:
        with chain.deferred_fsync():
            for position, block in enumerate(blocks):
                feed.advance(position)
                if block is None or block.header.block_number != chain.head.block_number + 1:
                    return imported
                if not seals_hold(chain, block, sets.for_child(chain.head.block_number)):
                    return imported
                try:
                    chain.import_block(block, True)
                except BlockImportError:
                    return imported
                imported += 1
    finally:
        feed.close()
    return imported
