"""``BlockFiller``: keeps the next block open and executes pool transactions into it while the slot nears.

Why: submit→included latency is the wait for the slot plus whatever work is left at the slot. Executing
each transaction soon after it reaches the pool, and folding the changes into the state tries shortly
before the slot, leaves only the newest arrivals for the slot instead of the whole block. Both block
producers (the single validator and the QBFT proposer) use this, so "select from the pool, filter,
execute, drop the rejected" lives in one place.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

from co3chain.chain.builder import MIN_TX_GAS, BlockBuilder
from co3chain.chain.chain import BuildResult, NodeChain

#: How long one worker-thread call may execute before yielding (keeps stop/abort checks responsive).
FILL_SLICE_SECONDS = 0.1
#: Pause between pool polls when nothing new arrived.
FILL_POLL_SECONDS = 0.02
#: At the slot, transactions that arrived in the last instant still go into a block that was filled during
#: the period, for at most this share of the block period (under a backlog the rest waits for the next one).
FINAL_FILL_SHARE = 0.25
#: Transactions taken from the pool per selection (a slice executes a few dozen to a few hundred).
SELECT_BATCH = 256
#: Within this many seconds of the slot, fold executed changes into the state tries ...
STATE_COMMIT_LEAD = 0.35
#: ... at most this often (each fold re-hashes the paths it touches, so frequent folds repeat work).
STATE_COMMIT_INTERVAL = 0.1


class BlockFiller:
    """Fills blocks from ``txpool`` for ``coinbase``.

    ``tx_filter`` (optional, blocking) returns the transactions allowed into a block (account
    permissioning); the ones it leaves out are not offered again for the same block.
    ``max_exec_seconds`` caps the execution time one block may hold (``None``: only ``max_txs`` and gas).
    ``gas_cap`` (optional) returns the gas one block may hold now, below the block gas limit (a QBFT
    proposer's :class:`~co3chain.node.build_budget.BuildBudget`: what the validators can verify in time).
    """

    def __init__(
        self,
        chain: NodeChain,
        txpool: Any,
        coinbase: bytes,
        *,
        max_txs: int,
        tx_filter: Callable[[Sequence[Any]], Sequence[Any]] | None = None,
        max_exec_seconds: float | None = None,
        gas_cap: Callable[[int], int] | None = None,
    ) -> None:
        self.chain = chain
        self.txpool = txpool
        self.coinbase = bytes(coinbase)
        self.max_txs = max_txs
        self.tx_filter = tx_filter
        self.max_exec_seconds = max_exec_seconds
        self.gas_cap = gas_cap

    def open(self, timestamp: int, extra_data: bytes) -> BlockBuilder:
        """A new, empty block on the current head."""
        return self.chain.open_block(self.coinbase, timestamp, extra_data)

    def fill(self, builder: BlockBuilder, deadline: float | None = None) -> int:
        """Execute what the pool offers beyond what ``builder`` has seen (blocking; worker thread).

        Returns how many transactions were processed (0: nothing new, or the block is full). ``deadline``
        is a ``time.monotonic()`` value; transactions not reached by then stay in the pool. Selection goes
        in batches of :data:`SELECT_BATCH`, so a deep pool is not sorted again for every slice.
        """
        if self.max_exec_seconds is not None:
            left = self.max_exec_seconds - builder.exec_seconds
            if left <= 0:
                return 0
            cap = time.monotonic() + left
            deadline = cap if deadline is None else min(deadline, cap)
        processed = 0
        while True:
            room = min(self.max_txs - len(builder.included), SELECT_BATCH)
            gas_room = self.gas_room(builder)
            if room <= 0 or gas_room < MIN_TX_GAS:
                return processed
            txs = self.txpool.select_for_block(
                gas_room, room, exclude=builder.seen, next_nonces=builder.next_nonces
            )
            if not txs:
                return processed
            if self.tx_filter is not None:
                allowed = list(self.tx_filter(txs))
                kept = {tx.hash for tx in allowed}
                builder.seen.update(tx.hash for tx in txs if tx.hash not in kept)
                txs = allowed
            done = builder.add(txs, deadline)
            processed += done
            if done < len(txs) or (deadline is not None and time.monotonic() > deadline):
                return processed

    def gas_room(self, builder: BlockBuilder) -> int:
        """Gas still available in ``builder``: the block gas limit's rest, or less under :attr:`gas_cap`."""
        room = builder.gas_remaining
        if self.gas_cap is not None:
            room = min(room, self.gas_cap(builder.header.gas_limit) - builder.header.gas_used)
        return room

    async def fill_until(
        self,
        builder: BlockBuilder,
        until: float,
        clock: Callable[[], float],
        keep_going: Callable[[], bool] = lambda: True,
    ) -> None:
        """Fill ``builder`` in short worker-thread slices until the wall clock reaches ``until``.

        Returns early when ``keep_going()`` turns false (stop requested, round abandoned).
        """
        while keep_going():
            left = until - clock()
            if left <= 0:
                return
            slice_end = time.monotonic() + min(left, FILL_SLICE_SECONDS)
            processed = await asyncio.to_thread(self._fill_slice, builder, slice_end, left)
            if processed == 0:
                await asyncio.sleep(min(FILL_POLL_SECONDS, max(0.0, until - clock())))

    def _fill_slice(self, builder: BlockBuilder, deadline: float, slot_in: float) -> int:
        """:meth:`fill`, then fold the state changes into the tries if the slot is near (``slot_in``
        seconds away when the slice began), the block has caught up with the pool, and the last fold is
        old enough.

        Why only near the slot: each fold re-hashes the trie paths of every account and slot changed
        since the last one, so folding all period long repeats that work for hot keys (a busy sender's
        nonce, a token's balances) and costs throughput; folding in the last :data:`STATE_COMMIT_LEAD`
        seconds leaves the slot at most one :data:`STATE_COMMIT_INTERVAL` of changes. Under a backlog
        (the slice ran to its deadline) the slot commits everything once.
        """
        processed = self.fill(builder, deadline)
        now = time.monotonic()
        if (now < deadline and slot_in <= STATE_COMMIT_LEAD and builder.uncommitted
                and now - builder.committed_at >= STATE_COMMIT_INTERVAL):
            builder.commit_state()
        return processed

    def finish(self, builder: BlockBuilder, budget: float | None, extra_data: bytes | None = None) -> BuildResult:
        """Take the last arrivals (for at most ``budget`` seconds), commit and return the block (blocking).

        Raises :class:`~co3chain.chain.chain.StaleBlockError` when the head moved meanwhile. Rejected
        transactions are dropped from the pool (they would fail the same way in the next block).
        """
        self.fill(builder, None if budget is None else time.monotonic() + budget)
        result = self.chain.finish_block(builder, extra_data)
        if result.rejected:
            self.txpool.drop_rejected(result.rejected)
        return result
