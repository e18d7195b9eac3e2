"""``BlockBuilder``: one block under construction on a fixed parent, filled transaction by transaction.

Why a separate object: a producer that only executes a block's transactions when its slot comes delays
every transaction by the whole execution time on top of the wait for the slot. Keeping the block open
lets the producer execute transactions as they reach the pool during the block period, so at the slot
only the last arrivals and the state-root commit remain. Proposal verification and import use the
same object in one go (``strict=True``), so producing and checking a block share one execution path.

Nothing here touches the chain's persistent store: writes land in an :class:`Overlay`, which the chain
flushes atomically when the sealed block is imported. Trie nodes are content-addressed and never
deleted, so reading the parent state while another thread imports blocks stays consistent; a builder
whose parent is no longer the head is simply discarded by the chain.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from eth_keys.exceptions import BadSignature
from eth_utils import ValidationError

from co3chain.chain.storage import Overlay
from co3chain.chain.triehash import ordered_trie_root
from co3chain.chain.vm import BLOB_TX_TYPE, QbftBlock, QbftBlockHeader

if TYPE_CHECKING:
    from co3chain.chain.chain import NodeChain
    from co3chain.chain.engine import ExecutionEngine

#: Cheapest possible transaction; a block with less gas left than this is full.
MIN_TX_GAS = 21_000

def header_with_receipt(header: QbftBlockHeader, receipt: Any) -> QbftBlockHeader:
    """``add_receipt_to_header`` (Byzantium+: cumulative gas and OR-ed bloom) without ``header.copy``.

    Why: ``copy`` re-validates and re-wraps all 20 header fields (~45 µs) for each transaction of a
    block, only to change two integers. This copies the field values and replaces those two; caches
    (encoding, block hash, Python hash) are not copied. ``tests/chain/test_fastpaths.py`` proves it equal to
    py-evm's ``add_receipt_to_header``; if pyrlp ever stores fields differently, ``copy`` is used.
    """
    attrs = header.__dict__
    field_attrs = type(header)._meta.field_attrs
    if "_gas_used" not in field_attrs or "_bloom" not in field_attrs:
        return header.copy(bloom=header.bloom | receipt.bloom, gas_used=receipt.gas_used)
    new = object.__new__(type(header))
    # only the field values: every cache (encoding, block hash, Python hash) starts empty again; a header
    # holding nothing else (the previous one made here, nobody hashed it) is copied whole, in C
    if len(attrs) == len(field_attrs):
        new.__dict__.update(attrs)
    else:
        new.__dict__.update({a: attrs[a] for a in field_attrs})
    new.__dict__["_gas_used"] = receipt.gas_used
    new.__dict__["_bloom"] = header.bloom | receipt.bloom
    return new


class BlockBuilder:
    """Execute transactions into an open block on ``parent``; :meth:`finish` computes the roots.

    Not thread-safe: one thread at a time calls :meth:`add` / :meth:`finish` (the producer awaits each
    call). ``strict`` turns an invalid transaction into an exception (verifying someone else's block);
    otherwise it is reported in :attr:`rejected` and skipped (building our own).
    """

    def __init__(
        self,
        chain: NodeChain,
        parent: QbftBlockHeader,
        template: QbftBlockHeader,
        *,
        strict: bool = False,
        engine: ExecutionEngine | None = None,
    ) -> None:
        self.chain = chain
        #: executes the transactions (the chain's engine unless a cross-check asks for another)
        self.engine = engine or chain.engine
        self.parent = parent
        self.strict = strict
        self.overlay = Overlay(chain.store)
        self._vm = chain._vm(template, self.overlay)
        self._state = self._vm.state
        self._vm.block_preprocessing(QbftBlock(template, transactions=[], uncles=[], withdrawals=[]))
        self.header = template.copy(gas_used=0, bloom=0)
        self.receipts: list[Any] = []
        self.included: list[Any] = []
        self.rejected: list[tuple[Any, str]] = []
        #: hashes already included or rejected: the pool is asked again for everything *else* (a producer's
        #: builder only: a strict one checks a given block, no pool offers it anything, and a transaction
        #: hash costs a keccak of its encoding per transaction)
        self.seen: set[bytes] = set()
        #: sender -> nonce after its last transaction in this block (where the pool's offer resumes)
        self.next_nonces: dict[bytes, int] = {}
        #: seconds spent executing transactions so far (a proposer caps it so validators can re-execute
        #: the block within the round timer)
        self.exec_seconds = 0.0
        #: seconds spent folding changes into the state tries (:meth:`commit_state` and :meth:`finish`);
        #: with :attr:`exec_seconds`, what this block cost to build (the proposer's measure of gas cost)
        self.commit_seconds = 0.0
        #: transactions applied since the last :meth:`commit_state`, and when that was (monotonic)
        self.uncommitted = 0
        self.committed_at = time.monotonic()
        self.finished = False

    @property
    def timestamp(self) -> int:
        return self.header.timestamp

    @property
    def gas_remaining(self) -> int:
        return self.header.gas_limit - self.header.gas_used

    @property
    def full(self) -> bool:
        return self.gas_remaining < MIN_TX_GAS

    def add(self, txs: Iterable[Any], deadline: float | None = None) -> int:
        """Apply ``txs`` in order on top of what the block holds; returns how many were processed.

        ``deadline`` (``time.monotonic()`` value) stops early: transactions not reached are neither
        included nor rejected, so they stay in the pool for this block's next :meth:`add` or the next
        block. Invalid transactions (bad nonce, no funds, too much gas...) are rejected unless strict.
        """
        if self.finished:
            raise RuntimeError("block already finished")
        processed = 0
        started = time.perf_counter()
        try:
            for tx in txs:
                if deadline is not None and time.monotonic() > deadline:
                    break
                processed += 1
                self._apply(tx)
        finally:
            self.exec_seconds += time.perf_counter() - started
        return processed

    def _apply(self, tx: Any) -> None:
        if not self.strict:
            self.seen.add(tx.hash)
        try:
            if getattr(tx, "type_id", None) == BLOB_TX_TYPE:
                raise ValidationError("blob transactions are not supported")
            # py-evm finds a gas limit below the intrinsic gas (21,000 + calldata + access list) only when
            # it builds the message, *after* bumping the nonce and buying the gas: a rejected transaction
            # would leave those changes in the block's state (a nonce no transaction of the block explains,
            # which the execution specification refuses). Refuse it before anything is touched.
            if tx.gas < tx.intrinsic_gas:
                raise ValidationError(f"intrinsic gas {tx.intrinsic_gas} exceeds the gas limit {tx.gas}")
            # sender from the node's cache (recovered at pool admission or on first sight of this hash);
            # py-evm then skips its own recovery and signature re-check. A bad signature is left to
            # py-evm, which rejects the tx with its usual error.
            sender = self.chain.senders.prime(tx)
            receipt = self.engine.apply_transaction(self._vm, self.header, tx)
        except (ValidationError, BadSignature, ValueError) as exc:
            if self.strict:
                from co3chain.chain.chain import BlockImportError  # chain imports this module

                raise BlockImportError(f"invalid transaction 0x{tx.hash.hex()}: {exc}") from exc
            self.rejected.append((tx, str(exc)))
            return
        self.header = header_with_receipt(self.header, receipt)
        self.receipts.append(receipt)
        self.included.append(tx)
        if sender is not None:  # always, once py-evm accepted the signature
            self.next_nonces[sender] = tx.nonce + 1
        self.uncommitted += 1

    def commit_state(self) -> None:
        """Fold the changes so far into the storage and account tries (no disk write, caches kept).

        Why: hashing the tries is about a third of a block's work. Doing it while the block waits for
        its slot leaves :meth:`finish` only the changes since the last call. This is the per-transaction
        state-root step py-evm runs for pre-Byzantium receipts, so it is safe between transactions; the
        tries are canonical, so the final root does not depend on how often it ran.
        """
        if self.finished:
            raise RuntimeError("block already finished")
        started = time.perf_counter()
        self._state.make_state_root()
        self.commit_seconds += time.perf_counter() - started
        self.uncommitted = 0
        self.committed_at = time.monotonic()

    def finish(self, extra_data: bytes | None = None) -> QbftBlock:
        """Commit the state (storage and account tries) and return the unsealed block.

        ``extra_data`` replaces the template's (execution does not read it; QBFT fills in the round and
        vote late). The builder cannot be used afterwards.
        """
        if self.finished:
            raise RuntimeError("block already finished")
        self.finished = True
        started = time.perf_counter()
        self._state.persist()
        self.commit_seconds += time.perf_counter() - started
        header = self.header.copy(
            state_root=self._state.state_root,
            transaction_root=ordered_trie_root([tx.encode() for tx in self.included]),
            receipt_root=ordered_trie_root([r.encode() for r in self.receipts]),
        )
        if extra_data is not None:
            header = header.copy(extra_data=bytes(extra_data))
        self.header = header
        return QbftBlock(header, transactions=list(self.included), uncles=[], withdrawals=[])
