"""Transaction pool: admission checks with JSON-RPC error codes, per-sender nonce ordering, limits.

Per sender the pool keeps transactions by nonce. Those forming a gap-free run from the sender's state
nonce are *pending* (minable); the rest are *queued* until the gap is filled. A transaction with the same
sender and nonce replaces the old one only if both its fee cap and its tip are strictly higher and at
least 10 % higher (geth's rule; on a zero-price network equal-price resubmissions are therefore refused
as underpriced: raise the price by at least 1 wei to replace a transaction).

Limits (what an outsider can make the pool hold), after geth's legacypool:

* per sender at most ``max_per_sender`` transactions, of which at most ``max_queued_per_sender`` queued
  (nonce gaps: a sender cannot park a run of unminable transactions);
* globally ``max_total`` transactions *and* ``max_bytes`` of encoded transactions (the count alone let
  40 × 2.3 MB transactions add 200 MB per node; raw transactions are also capped at 128 KiB);
* queued transactions expire after ``queued_lifetime`` seconds (geth: 3 h; ours: 15 min by default);
* on a QBFT validator (:meth:`add_holding_gaps`: gossip, and RPC, whose accepted transactions are gossiped
  to every validator at once) a transaction beyond the queued limit is not refused but *held* outside the
  pool (at most ``gap_hold`` transactions and ``gap_hold_bytes`` in all, oldest dropped first, same
  lifetime) and enters the pool once its sender's gap has been filled enough for the queued limit to let
  it in. Why: validators receive one sender's nonces from several peers and by RPC in any order (a client
  spreading its nonces over the PAs' nodes, a relay overtaking another); refusing nonce n+17 because
  n..n+16 were still on their way lost it on that node for good (gossip is delivered once) and stalled
  every later nonce of the sender there. Held transactions are not selectable and not counted as queued,
  and ``nonce too high`` (``max_per_sender`` ahead of the state) still applies, so a sender still cannot
  make a node mine or pool more than before; geth likewise accepts and later drops over-limit queued ones;
* when the pool is full, a transaction from a *protected* sender (``protected(sender)``: validators,
  the node's allow-listed accounts and ``[txpool] protected``, i.e. the relayer, oracle and PA accounts)
  evicts other senders' transactions — queued ones first, then the latest nonces of the sender holding
  the most — so a flood never keeps the consortium's own accounts out. Unprotected senders are refused
  with "txpool is full".

On a deployed consortium network only allow-listed accounts should send transactions at all (citizens
act through the relayer): configure the genesis ``accountAllowlist`` / on-chain permissioning contract;
the pool then refuses everyone else before any of the limits above come into play.

Admission errors are :class:`TxPoolError` with ``code`` -32602 (undecodable input) or -32000 and the
geth/Besu message texts wallets recognise ("nonce too low", "insufficient funds for gas * price +
value", ...). Thread-safe: RPC threads add while the block producer selects.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import rlp
from eth.exceptions import PyEVMError
from eth_keys.exceptions import BadSignature
from eth_utils import ValidationError
from rlp.exceptions import RLPException

from co3chain.chain.chain import NodeChain
from co3chain.chain.txdecode import DecodedTx, TxDecoder
from co3chain.chain.txrules import passes_validate
from co3chain.errors import Co3Error
from co3chain.node.rawtx import MAX_TX_BYTES, RawTxShapeError, check_raw_transaction

INVALID_PARAMS = -32602
SERVER_ERROR = -32000


class TxPoolError(Co3Error):
    """A transaction was refused; ``code`` is the JSON-RPC error code, ``message`` the text."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


#: geth's default 4,096 + 1,024 slots of 32 KiB would be 160 MiB; a consortium node needs far less.
DEFAULT_MAX_BYTES = 32 * 1024 * 1024
DEFAULT_MAX_QUEUED_PER_SENDER = 16
DEFAULT_QUEUED_LIFETIME = 15 * 60.0
#: Gossiped nonce-gap transactions held beyond the queued limit, node-wide (count and encoded bytes).
DEFAULT_GAP_HOLD = 2048
DEFAULT_GAP_HOLD_BYTES = 4 * 1024 * 1024


def encode_tx(tx: Any) -> bytes:
    """``tx`` as on the wire (EIP-2718 envelope for typed transactions)."""
    encode = getattr(tx, "encode", None)
    if callable(encode):
        return bytes(encode())
    return rlp.encode(tx)


def encoded_size(tx: Any) -> int:
    """Bytes of ``tx`` on the wire."""
    return len(encode_tx(tx))


@dataclass(slots=True)
class _Entry:
    tx: Any
    sender: bytes
    seq: int  # arrival order: FIFO among equal prices
    size: int = 0
    added_at: float = 0.0
    #: ``tx.hash`` taken once (a legacy transaction re-encodes and re-hashes on every access)
    hash: bytes = b""
    #: ``tx.max_fee_per_gas`` / ``tx.max_priority_fee_per_gas`` / ``tx.nonce`` / ``tx.gas``, read once
    #: (py-evm serves each through two or three property layers; selection reads them per block)
    fee_cap: int = 0
    tip: int = 0
    nonce: int = 0
    gas: int = 0


class ProtectedSenders:
    """``protected(sender)`` for :class:`TxPool`: the validators of the head's child plus fixed accounts
    (``[txpool] protected``, ``[permissions] accounts``, the genesis allow-list). Cached per head."""

    def __init__(self, chain: NodeChain, accounts: Iterable[bytes] = ()) -> None:
        self.chain = chain
        self.accounts = frozenset(bytes(a) for a in accounts)
        self._head: bytes | None = None
        self._validators: frozenset[bytes] = frozenset()

    def __call__(self, sender: bytes) -> bool:
        if sender in self.accounts:
            return True
        head = self.chain.head
        if head.hash != self._head:
            self._validators = frozenset(self.chain.validators_for_child(head))
            self._head = head.hash
        return sender in self._validators


class TxPool:
    """In-memory pool on top of a :class:`NodeChain` (state nonces and balances at the head)."""

    def __init__(
        self,
        chain: NodeChain,
        max_per_sender: int = 64,
        max_total: int = 8192,
        allowlist: Callable[[bytes], bool] | None = None,
        price_bump_percent: int = 10,
        allow_unprotected: bool = False,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_queued_per_sender: int = DEFAULT_MAX_QUEUED_PER_SENDER,
        queued_lifetime: float = DEFAULT_QUEUED_LIFETIME,
        protected: Callable[[bytes], bool] | None = None,
        clock: Callable[[], float] = time.monotonic,
        gap_hold: int = DEFAULT_GAP_HOLD,
        gap_hold_bytes: int = DEFAULT_GAP_HOLD_BYTES,
    ) -> None:
        self.chain = chain
        self.max_per_sender = max_per_sender
        self.max_total = max_total
        self.max_bytes = max_bytes
        self.max_queued_per_sender = max_queued_per_sender
        self.queued_lifetime = queued_lifetime
        self.protected = protected
        self.clock = clock
        self._bytes = 0
        self._next_expiry_check = 0.0
        #: Durable record of accepted transactions (:class:`co3chain.node.txjournal.TxJournal`), if any.
        self.journal: Any = None
        self.allowlist = allowlist
        self.price_bump_percent = price_bump_percent
        self.allow_unprotected = allow_unprotected
        self._lock = threading.RLock()
        self._by_sender: dict[bytes, dict[int, _Entry]] = {}
        self._by_hash: dict[bytes, _Entry] = {}
        #: gossiped transactions held beyond their sender's queued limit (see the module docstring)
        self.gap_hold = gap_hold
        self.gap_hold_bytes = gap_hold_bytes
        self._held: OrderedDict[bytes, _Entry] = OrderedDict()
        self._held_by_sender: dict[bytes, dict[int, _Entry]] = {}
        self._held_bytes = 0
        self._seq = itertools.count()
        self._state: Any = None
        self._state_head: bytes | None = None
        #: ``sender -> (nonce, balance)`` at ``_state_head`` (read once per sender per head)
        self._accounts: dict[bytes, tuple[int, int]] = {}
        #: direct decoder into py-evm's classes (admission's fast path; py-evm decodes what it declines)
        self._fast_decoder = TxDecoder(chain.vm_class.get_transaction_builder())

    # -- state helpers ---------------------------------------------------------------------------------
    def _head_state(self) -> Any:
        head = self.chain.head
        if self._state_head != head.hash:
            self._state = self.chain.state_at(head)
            self._state_head = head.hash
            self._accounts = {}
        return self._state

    def _account(self, sender: bytes) -> tuple[int, int]:
        """``(nonce, balance)`` of ``sender`` at the head (the head state is read-only here)."""
        state = self._head_state()
        account = self._accounts.get(sender)
        if account is None:
            account = self._accounts[sender] = (state.get_nonce(sender), state.get_balance(sender))
        return account

    def _state_nonce(self, sender: bytes) -> int:
        return self._account(sender)[0]

    # -- admission -------------------------------------------------------------------------------------
    def decode(self, raw_tx: bytes) -> Any:
        """Decode raw bytes into a py-evm signed transaction or raise a -32602 TxPoolError.

        Size (128 KiB) and RLP nesting are checked first by an iterative scan: the recursive decoder
        never sees a bomb (see :mod:`co3chain.node.rawtx`).
        """
        try:
            check_raw_transaction(bytes(raw_tx))
        except RawTxShapeError as exc:
            raise TxPoolError(INVALID_PARAMS, str(exc)) from None
        try:
            return self.chain.vm_class.get_transaction_builder().decode(bytes(raw_tx))
        except (RLPException, ValidationError, PyEVMError, ValueError, TypeError) as exc:
            raise TxPoolError(INVALID_PARAMS, f"invalid transaction: {exc}") from None

    def add(self, raw_tx: bytes, *, hold_gap: bool = False) -> bytes:
        """Validate and insert a raw signed transaction; returns its hash.

        Well-formed legacy, EIP-2930 and EIP-1559 transactions take the direct decoder, which also
        hands over the hash and the signed bytes (:mod:`co3chain.chain.txdecode`); anything it
        declines goes through :meth:`decode` (shape checks, py-evm's decoder and its error messages).
        ``hold_gap``: hold a transaction beyond its sender's queued limit instead of refusing it (gossip,
        see the module docstring).
        """
        raw = bytes(raw_tx)
        decoded = self._fast_decoder.decode(raw) if len(raw) <= MAX_TX_BYTES else None
        if decoded is None:
            return self.add_transaction(self.decode(raw), size=len(raw), raw=raw, hold_gap=hold_gap)
        tx_hash = self._insert(decoded.tx, len(raw), decoded, hold_gap)
        if self.journal is not None:
            self.journal.append(raw)
        return tx_hash

    def add_holding_gaps(self, raw_tx: bytes) -> bytes:
        """:meth:`add`, holding nonce-gap overflow instead of refusing it: for a QBFT validator, whose
        transactions (from peers, and from clients spreading their nonces over the PAs' nodes) arrive in
        any nonce order. A held transaction is accepted (journaled, and gossiped by the validator)."""
        return self.add(raw_tx, hold_gap=True)

    def add_transaction(self, tx: Any, size: int | None = None, raw: bytes | None = None, *,
                        hold_gap: bool = False) -> bytes:
        """Validate and insert an already decoded transaction (e.g. received from a peer).

        With a journal attached, the transaction is on it before this returns (outside the pool lock:
        the journal's compaction takes the pool lock while holding its own).
        """
        tx_hash = self._insert(tx, size, None, hold_gap)
        if self.journal is not None:
            self.journal.append(raw if raw is not None else encode_tx(tx))
        return tx_hash

    def _insert(self, tx: Any, size: int | None, decoded: DecodedTx | None = None, hold_gap: bool = False) -> bytes:
        # legacy txs re-hash on every ``.hash`` access; the direct decoder hashed the bytes once
        tx_hash = tx.hash if decoded is None else decoded.hash
        if tx_hash in self._by_hash or tx_hash in self._held:
            # gossip delivers each tx once per peer: identical bytes already passed every check below
            raise TxPoolError(SERVER_ERROR, "already known")
        if getattr(tx, "type_id", None) == 3:
            raise TxPoolError(SERVER_ERROR, "transaction type not supported: blob transactions")
        gas, nonce = tx.gas, tx.nonce
        fee_cap, tip = tx.max_fee_per_gas, tx.max_priority_fee_per_gas
        intrinsic_gas = tx.intrinsic_gas
        if gas < intrinsic_gas:
            raise TxPoolError(SERVER_ERROR, f"intrinsic gas too low: have {gas}, want {intrinsic_gas}")
        # Recover the sender first (once per tx hash on this node: the chain's cache is shared with
        # block building, proposal verification and import). A successful recovery is the signature
        # check, so ``validate()`` below only checks the fields; on failure ``validate()`` runs py-evm's
        # own signature check and reports it in the usual words.
        # For a directly decoded transaction whose sender was recovered, ``passes_validate`` answers
        # the same question as ``validate()`` without its bookkeeping (co3chain/chain/txrules.py).
        sender_error: Exception | None = None
        signing = None
        if decoded is not None and decoded.signing_message is not None:
            signing = (decoded.signing_message, decoded.recovery_id)
        try:
            sender = self.chain.senders.sender(tx, tx_hash, signing)
        except (ValidationError, BadSignature, ValueError) as exc:
            sender_error = exc
        if decoded is None or sender_error is not None or not passes_validate(tx, intrinsic_gas):
            try:
                tx.validate()
            except (ValidationError, ValueError) as exc:
                raise TxPoolError(SERVER_ERROR, f"invalid transaction: {exc}") from None
        if sender_error is not None:
            raise TxPoolError(SERVER_ERROR, f"invalid sender: {sender_error}") from None
        chain_id = tx.chain_id
        if chain_id is None:
            if not self.allow_unprotected:
                raise TxPoolError(
                    SERVER_ERROR,
                    "invalid chain id: only replay-protected (EIP-155) transactions are accepted",
                )
        elif chain_id != self.chain.chain_id:
            raise TxPoolError(
                SERVER_ERROR, f"invalid chain id: got {chain_id}, expected {self.chain.chain_id}"
            )
        if self.allowlist is not None and not self.allowlist(sender):
            raise TxPoolError(SERVER_ERROR, "sender not allow-listed")
        if gas > self.chain.head.gas_limit:
            raise TxPoolError(SERVER_ERROR, "exceeds block gas limit")
        if tip > fee_cap:
            raise TxPoolError(SERVER_ERROR, "max priority fee per gas higher than max fee per gas")
        base_fee = self.chain.genesis.fixed_base_fee
        if fee_cap < base_fee:  # the base fee never changes: such a transaction never fits a block
            raise TxPoolError(
                SERVER_ERROR,
                f"max fee per gas less than block base fee: maxFeePerGas: {fee_cap}, baseFee: {base_fee}",
            )

        with self._lock:
            if tx_hash in self._by_hash or tx_hash in self._held:
                raise TxPoolError(SERVER_ERROR, "already known")
            state_nonce, balance = self._account(sender)
            if nonce < state_nonce:
                raise TxPoolError(SERVER_ERROR, f"nonce too low: next nonce {state_nonce}, tx nonce {nonce}")
            if nonce >= state_nonce + self.max_per_sender:
                raise TxPoolError(SERVER_ERROR, f"nonce too high: next nonce {state_nonce}, tx nonce {nonce}")
            if balance < gas * fee_cap + tx.value:
                raise TxPoolError(SERVER_ERROR, "insufficient funds for gas * price + value")

            if size is None:
                size = encoded_size(tx)
            now = self.clock()
            self._expire_queued(now)
            txs = self._by_sender.setdefault(sender, {})
            old = txs.get(nonce)
            if old is not None:
                bump = 100 + self.price_bump_percent
                if (
                    fee_cap <= old.fee_cap
                    or tip <= old.tip
                    or fee_cap * 100 < old.fee_cap * bump
                    or tip * 100 < old.tip * bump
                ):
                    raise TxPoolError(SERVER_ERROR, "replacement transaction underpriced")
            else:
                if len(txs) >= self.max_per_sender:
                    raise TxPoolError(SERVER_ERROR, "txpool is full: too many transactions from this sender")
                if self._beyond_queued_limit(sender, nonce, state_nonce, txs):
                    if not txs:
                        del self._by_sender[sender]
                    if hold_gap and self._hold(
                        _Entry(tx, sender, next(self._seq), size, now, tx_hash, fee_cap, tip, nonce, gas)
                    ):
                        return tx_hash
                    raise TxPoolError(
                        SERVER_ERROR,
                        "txpool is full: too many queued (nonce-gap) transactions from this sender",
                    )
            freed = (1, old.size) if old is not None else (0, 0)
            if not self._make_room(sender, 1 - freed[0], size - freed[1]):
                if not txs:
                    del self._by_sender[sender]
                raise TxPoolError(SERVER_ERROR, "txpool is full")
            if old is not None:
                self._drop(old)
                txs = self._by_sender.setdefault(sender, {})
            entry = _Entry(tx, sender, next(self._seq), size, now, tx_hash, fee_cap, tip, nonce, gas)
            txs[nonce] = entry
            self._by_hash[tx_hash] = entry
            self._bytes += size
            if sender in self._held_by_sender:
                self._release_held(sender)
            return tx_hash

    def _beyond_queued_limit(self, sender: bytes, nonce: int, state_nonce: int, txs: Mapping[int, Any]) -> bool:
        """Whether pooling ``nonce`` next to ``sender``'s pooled ``txs`` would exceed its queued (nonce-gap)
        limit: the nonce lies beyond the gap-free run from the state nonce and the transactions outside that
        run already number ``max_queued_per_sender`` (lock held)."""
        if len(txs) < self.max_queued_per_sender:  # else ``len(txs) - run`` stays below the limit
            return False
        run = len(self._run_from(sender, state_nonce))
        return nonce > state_nonce + run and len(txs) - run >= self.max_queued_per_sender

    # -- nonce-gap overflow held for gossip (see the module docstring) ----------------------------------
    def _hold(self, entry: _Entry) -> bool:
        """Hold ``entry`` beyond its sender's queued limit (lock held); False when it cannot be held."""
        if entry.size > self.gap_hold_bytes or self.gap_hold <= 0:
            return False
        mine = self._held_by_sender.get(entry.sender)
        if mine is not None and entry.nonce in mine:
            return False  # one held transaction per nonce: a replacement waits for the original's fate
        while self._held and (len(self._held) >= self.gap_hold
                              or self._held_bytes + entry.size > self.gap_hold_bytes):
            self._unhold(next(iter(self._held.values())))  # oldest first
        self._held[entry.hash] = entry
        self._held_by_sender.setdefault(entry.sender, {})[entry.nonce] = entry
        self._held_bytes += entry.size
        return True

    def _unhold(self, entry: _Entry) -> None:
        if self._held.pop(entry.hash, None) is None:
            return
        self._held_bytes -= entry.size
        mine = self._held_by_sender.get(entry.sender)
        if mine is not None and mine.get(entry.nonce) is entry:
            del mine[entry.nonce]
            if not mine:
                del self._held_by_sender[entry.sender]

    def _release_held(self, sender: bytes) -> None:
        """Move ``sender``'s held transactions into the pool as far as the queued limit now allows, lowest
        nonce first; drop the ones a block or another transaction made stale (lock held)."""
        held = self._held_by_sender.get(sender)
        if not held:
            return
        state_nonce = self._state_nonce(sender)
        for nonce in sorted(held):
            entry = held[nonce]
            txs = self._by_sender.get(sender, {})
            if nonce < state_nonce or nonce in txs:  # mined meanwhile, or that nonce is taken in the pool
                self._unhold(entry)
                continue
            if self._beyond_queued_limit(sender, nonce, state_nonce, txs):
                return  # still beyond the limit (and so is every higher nonce): wait for more of the gap
            if not self._make_room(sender, 1, entry.size):
                return
            self._unhold(entry)
            self._by_sender.setdefault(sender, {})[nonce] = entry
            self._by_hash[entry.hash] = entry
            self._bytes += entry.size

    @property
    def held(self) -> int:
        """Gossiped transactions held beyond their sender's queued limit (not in the pool yet)."""
        return len(self._held)

    # -- limits ----------------------------------------------------------------------------------------
    def _is_protected(self, sender: bytes) -> bool:
        return self.protected is not None and bool(self.protected(sender))

    def _fits(self, count: int, size: int) -> bool:
        return len(self._by_hash) + count <= self.max_total and self._bytes + size <= self.max_bytes

    def _make_room(self, sender: bytes, count: int, size: int) -> bool:
        """True when ``count`` more transactions of ``size`` bytes fit, evicting unprotected senders'
        transactions for a protected ``sender`` if needed (lock held)."""
        if self._fits(count, size):
            return True
        if not self._is_protected(sender) or size > self.max_bytes:
            return False
        for victim in self._eviction_order(sender):
            self._drop(victim)
            if self._fits(count, size):
                return True
        return False

    def _eviction_order(self, keep: bytes) -> Iterable[_Entry]:
        """Unprotected senders' transactions in the order a protected sender evicts them: every queued
        (nonce-gap) one first, then, from the sender holding the most, its latest nonces (no new gaps).
        Lazy: the state is read once per candidate sender, only as far as eviction needs."""
        candidates = [s for s in self._by_sender if s != keep and not self._is_protected(s)]
        for s in candidates:
            _, queued = self._split(s)
            yield from reversed(queued)
        while True:
            left = [s for s in candidates if self._by_sender.get(s)]
            if not left:
                return
            biggest = max(left, key=lambda s: len(self._by_sender[s]))
            txs = self._by_sender[biggest]
            yield txs[max(txs)]

    def _drop(self, entry: _Entry) -> None:
        """Remove one entry (lock held)."""
        if self._by_hash.pop(entry.hash, None) is None:
            return
        self._bytes -= entry.size
        txs = self._by_sender.get(entry.sender, {})
        if txs.get(entry.nonce) is entry:
            del txs[entry.nonce]
        if not txs:
            self._by_sender.pop(entry.sender, None)

    def _expire_queued(self, now: float) -> None:
        """Drop queued (nonce-gap) transactions older than ``queued_lifetime`` (lock held; runs at most
        once a second, and reads the state only for senders that have an old transaction)."""
        if now < self._next_expiry_check:
            return
        self._next_expiry_check = now + 1.0
        cutoff = now - self.queued_lifetime
        for entry in [e for e in self._held.values() if e.added_at < cutoff]:
            self._unhold(entry)
        old_senders = {e.sender for e in self._by_hash.values() if e.added_at < cutoff}
        for sender in old_senders:
            _, queued = self._split(sender)
            for entry in queued:
                if entry.added_at < cutoff:
                    self._drop(entry)

    def expire_queued(self) -> None:
        """Drop expired queued transactions now (also done on admission and on block import)."""
        with self._lock:
            self._next_expiry_check = 0.0
            self._expire_queued(self.clock())

    def raw_transactions(self) -> list[bytes]:
        """Every pooled transaction encoded, each sender's in nonce order, then the held ones (the journal's
        compaction: a held transaction was accepted too, and must survive a restart like the rest)."""
        with self._lock:
            txs = [e.tx for sender in self._by_sender.values() for _, e in sorted(sender.items())]
            txs += [e.tx for held in self._held_by_sender.values() for _, e in sorted(held.items())]
        return [encode_tx(tx) for tx in txs]

    @property
    def size_bytes(self) -> int:
        """Encoded bytes of every pooled transaction."""
        return self._bytes

    # -- queries ---------------------------------------------------------------------------------------
    def _split(self, sender: bytes) -> tuple[list[_Entry], list[_Entry]]:
        txs = self._by_sender.get(sender, {})
        nonce = self._state_nonce(sender)
        pending: list[_Entry] = []
        while nonce in txs:
            pending.append(txs[nonce])
            nonce += 1
        pend_ids = {id(e) for e in pending}
        queued = [txs[n] for n in sorted(txs) if id(txs[n]) not in pend_ids]
        return pending, queued

    def _run_from(self, sender: bytes, nonce: int | None) -> list[_Entry]:
        """``sender``'s transactions with consecutive nonces from ``nonce`` (default: its state nonce)."""
        txs = self._by_sender.get(sender, {})
        n = self._state_nonce(sender) if nonce is None else nonce
        run: list[_Entry] = []
        while n in txs:
            run.append(txs[n])
            n += 1
        return run

    def pending_nonce(self, address: bytes) -> int:
        """Next nonce for ``address`` counting its pending pool transactions (``eth_getTransactionCount``
        with ``"pending"``)."""
        with self._lock:
            pending, _ = self._split(bytes(address))
            return self._state_nonce(bytes(address)) + len(pending)

    def get(self, tx_hash: bytes) -> Any | None:
        """The pooled or held transaction with ``tx_hash`` or ``None`` (``eth_getTransactionByHash``: a held
        transaction was accepted, and a client polling its hash must not take it for dropped)."""
        tx_hash = bytes(tx_hash)
        entry = self._by_hash.get(tx_hash) or self._held.get(tx_hash)
        return None if entry is None else entry.tx

    def __contains__(self, tx_hash: object) -> bool:
        return tx_hash in self._by_hash

    def __len__(self) -> int:
        return len(self._by_hash)

    def status(self) -> dict[str, int]:
        """``{"pending": n, "queued": n}`` (txpool_status). Held transactions count as queued: they are
        accepted and waiting for a nonce gap to close, which is what "queued" tells an operator."""
        with self._lock:
            p, q = 0, len(self._held)
            for sender in self._by_sender:
                pend, queued = self._split(sender)
                p += len(pend)
                q += len(queued)
            return {"pending": p, "queued": q}

    def content(self) -> dict[str, dict[bytes, dict[int, Any]]]:
        """``{"pending": {sender: {nonce: tx}}, "queued": {...}}`` with py-evm tx objects (txpool_content);
        held transactions are listed as queued (see :meth:`status`)."""
        with self._lock:
            out: dict[str, dict[bytes, dict[int, Any]]] = {"pending": {}, "queued": {}}
            for sender in self._by_sender:
                pend, queued = self._split(sender)
                if pend:
                    out["pending"][sender] = {e.tx.nonce: e.tx for e in pend}
                if queued:
                    out["queued"][sender] = {e.tx.nonce: e.tx for e in queued}
            for sender, by_nonce in self._held_by_sender.items():
                listed = out["queued"].setdefault(sender, {})
                for nonce, entry in by_nonce.items():
                    listed.setdefault(nonce, entry.tx)
                out["queued"][sender] = dict(sorted(listed.items()))
            return out

    def pending_transactions(self) -> list[Any]:
        """All pending (minable) transactions, in the order :meth:`select_for_block` would pick them."""
        return self.select_for_block(None)

    # -- block production ------------------------------------------------------------------------------
    def select_for_block(
        self,
        gas_limit: int | None,
        max_txs: int | None = None,
        exclude: Collection[bytes] = (),
        next_nonces: Mapping[bytes, int] | None = None,
    ) -> list[Any]:
        """Pending transactions for the next block: nonce order per sender, higher tip first across
        senders, FIFO among equal tips; total declared gas ≤ ``gas_limit`` (``None`` = no limit) and
        at most ``max_txs`` transactions.

        For a block under construction (an incremental builder asks again for what arrived since):
        ``next_nonces`` maps a sender to the nonce after its last transaction already in the block, so
        the selection starts there; ``exclude`` lists hashes to skip anyway (ones the block refused).
        Skipped transactions do not count against ``max_txs`` or gas, and their successors stay eligible.
        """
        with self._lock:
            starts = next_nonces or {}
            queues = {s: self._run_from(s, starts.get(s)) for s in self._by_sender}
            heap: list[tuple[int, int, bytes, int]] = []

            def offer(sender: bytes, i: int) -> None:
                """Put ``sender``'s ``i``-th pending transaction (if any) in the running."""
                if i < len(queues[sender]):
                    entry = queues[sender][i]
                    heapq.heappush(heap, (-entry.tip, entry.seq, sender, i))

            for sender in queues:
                offer(sender, 0)
            chosen: list[Any] = []
            remaining = gas_limit
            while heap:
                _, _, sender, i = heapq.heappop(heap)
                entry = queues[sender][i]
                if entry.hash in exclude:
                    offer(sender, i + 1)
                    continue
                if remaining is not None:
                    if entry.gas > remaining:
                        continue  # this sender's later nonces cannot go in either
                    remaining -= entry.gas
                chosen.append(entry.tx)
                if max_txs is not None and len(chosen) >= max_txs:
                    break
                offer(sender, i + 1)
                if remaining is not None and remaining < 21000:
                    break
            return chosen

    def remove(self, tx_hashes: Iterable[bytes]) -> None:
        """Drop transactions (e.g. rejected by block building)."""
        with self._lock:
            for h in tx_hashes:
                entry = self._by_hash.get(bytes(h))
                if entry is not None:
                    self._drop(entry)

    def drop_rejected(self, rejected: Iterable[tuple[Any, str]]) -> None:
        """Drop the ``(tx, reason)`` pairs that :meth:`NodeChain.build_block` could not include."""
        self.remove(tx.hash for tx, _ in rejected)

    def on_block_imported(self, block: Any, receipts: Any = None) -> None:
        """Evict the block's transactions and every transaction whose nonce is now stale.

        Signature matches :meth:`NodeChain.add_import_listener` so it can be registered directly.
        """
        with self._lock:
            hashes = [tx.hash for tx in block.transactions]
            self.remove(hashes)
            self._expire_queued(self.clock())
            if not self._by_sender and not self._held:
                return
            # block txs were executed, so their senders are in the chain's cache (no recovery here)
            block_senders = {self.chain.senders.prime(tx) for tx in block.transactions}
            for sender in block_senders & set(self._by_sender):
                nonce = self._state_nonce(sender)
                stale = [e.hash for n, e in self._by_sender[sender].items() if n < nonce]
                self.remove(stale)
            # the block may hold the gap of a sender's held transactions (mined by another proposer)
            for sender in block_senders & set(self._held_by_sender):
                self._release_held(sender)
