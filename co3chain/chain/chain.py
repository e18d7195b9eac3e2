"""``NodeChain``: the node's view of the QBFT chain (storage, execution, queries).

API (stable; RPC, consensus and node code build on it)::

    chain = NodeChain.open(data_dir: Path | None, genesis: Genesis,    # None = in memory
                           engine="revm" | "py-evm", cross_check=False)
    chain.engine -> ExecutionEngine (co3chain.chain.engine; .name, .stats for revm)
    chain.chain_id -> int            chain.genesis -> Genesis       chain.genesis_header -> QbftBlockHeader
    chain.head -> QbftBlockHeader    chain.vm_class -> type[QbftVM] chain.close()

    # queries (return None when unknown)
    get_header_by_number(n) / get_header_by_hash(h) -> QbftBlockHeader | None
    get_block_by_number(n) / get_block_by_hash(h) -> QbftBlock | None        (block.transactions)
    get_block_tx_hashes(h) -> (tx hashes, RLP size) | None                   (no transaction decoding)
    get_receipts(block_hash) -> list[Receipt] | None                         (py-evm receipts, block order)
    get_canonical_hash(n) -> bytes | None
    get_transaction_location(tx_hash) -> (block_hash, block_number, index) | None
    get_transaction(tx_hash) -> (SignedTransaction, TxLocation) | None
    get_transaction_receipt(tx_hash) -> ReceiptInfo | None   (per-tx gas, contract address, logs...)
    block_receipt_infos(block) -> list[ReceiptInfo]
    get_logs(from_block, to_block, addresses=None, topics=None) -> list[LogInfo]   (bloom-filtered)
    state_at(header) -> py-evm state (read-only use: get_balance/get_nonce/get_code/get_storage)
    get_proof(address, slots, header) -> dict  (EIP-1186 fields, Python types)

    # execution
    call(tx, header=None, state_override=None) -> bytes        raises CallReverted(data) / CallFailed
    estimate_gas(tx, header=None, state_override=None) -> int   (binary search; same errors)
    build_block(txs, coinbase, timestamp, extra_data, gas_limit=None, max_seconds=None)
        -> BuildResult(block, receipts, included, rejected=[(tx, reason)])   (on top of head; not persisted)
    open_block(coinbase, timestamp, extra_data, gas_limit=None) -> BlockBuilder   (incremental form:
        builder.add(txs, deadline) as txs arrive, then finish_block(builder, extra_data=None) -> BuildResult;
        raises StaleBlockError if the head moved meanwhile)
    verify_proposal(block) -> None    (header rules + execution of an unsealed proposal; cached for import)
    import_block(block, verify_seals=True) -> QbftBlockHeader   raises BlockImportError
    validate_header(header, parent=None) / verify_seals(header, validators)   (checks used by import)
    validators_at(block_number) -> list[bytes]     (validator list in that header's extraData)
    validators_for_child(parent_header) -> list[bytes]   (set that must seal the next block)
    validator_provider: Callable[[header], list[bytes]] | None   (consensus engine hook: vote tallying)
    add_import_listener(fn(block, receipts))       (called after each block is durably imported)
    senders -> SenderCache   (tx hash -> sender: ``senders.sender(tx)`` recovers once per node; the
                              pool, block building, proposal verification and receipts share it)

Wire format for p2p/sync: ``encode_block(block)`` / ``decode_block(raw)`` / ``decode_header(raw)`` in
:mod:`co3chain.chain.vm` (decoded headers are :class:`QbftBlockHeader`, so ``.hash`` is the QBFT hash).

``tx`` for call/estimate is a dict of Python values: ``from``/``to`` (20 bytes or hex), ``gas``,
``gasPrice``/``maxFeePerGas``, ``value`` (int or hex), ``data``/``input`` (bytes or hex).

Finality: QBFT has no forks, so ``import_block`` only accepts the child of the current head.
Durability: every import is one atomic, synced RocksDB write (see ``storage``); blocks caught up from peers
inside ``deferred_fsync()`` share one fsync per batch (kill -9 still loses nothing). A block produced with
``build_block`` and then sealed is imported without re-execution (its staged state is cached by hash;
seals and round are not part of the hash).
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import rlp
from eth._utils.address import generate_contract_address
from eth.chains.base import ChainContext
from eth.consensus.context import ConsensusContext
from eth.constants import BLANK_ROOT_HASH, ZERO_ADDRESS
from eth.exceptions import HeaderNotFound
from eth.rlp.transactions import BaseTransactionFields
from eth.vm.forks.berlin.transactions import TypedTransaction
from eth.vm.forks.cancun.receipts import CancunReceiptBuilder
from eth.vm.spoof import SpoofTransaction
from eth_bloom import BloomFilter
from eth_hash.auto import keccak
from eth_utils import ValidationError, to_canonical_address
from trie import HexaryTrie

from co3chain.chain.builder import BlockBuilder
from co3chain.chain.engine import DEFAULT_ENGINE, CallOutcome, EngineDivergence, make_engine
from co3chain.chain.fastreceipt import decode_legacy_receipt
from co3chain.chain.genesis import Genesis
from co3chain.chain.genesis_hash import alloc_state_root, cancun_genesis_header
from co3chain.chain.rawblock import block_tx_hashes, decode_wire_block, encode_block_body, replace_header
from co3chain.chain.rlpwrite import rlp_uint
from co3chain.chain.senders import SenderCache
from co3chain.chain.storage import KVStore, Overlay, StorageError, open_store
from co3chain.chain.vm import (
    QbftBlock,
    QbftBlockHeader,
    QbftVM,
    new_header,
    validate_qbft_header,
)
from co3chain.consensus.qbft.extradata import ExtraDataError, QbftExtraData
from co3chain.consensus.qbft.hashing import SealError, quorum, recover_seal_signers
from co3chain.errors import Co3Error

log = logging.getLogger("co3chain.chain")

# -- key schema --------------------------------------------------------------------------------------
_K_HEADER = b"co3:h:"
_K_BLOCK = b"co3:b:"
_K_RECEIPTS = b"co3:r:"
_K_NUMBER = b"co3:n:"
_K_TX = b"co3:t:"
_K_HEAD = b"co3:head"
_K_GENESIS = b"co3:genesis"
_K_CHAIN_ID = b"co3:chainid"
#: digest of the genesis input whose state was verified against the stored genesis hash (restart cache)
_K_GENESIS_DIGEST = b"co3:genesis-digest"

#: A block may be at most this far ahead of the local clock (DESIGN: ≤ now + 1 s).
MAX_FUTURE_SECONDS = 1
#: Gas cap for eth_call/estimateGas when the caller gives none (as geth's RPC gas cap).
DEFAULT_CALL_GAS_CAP = 50_000_000


class ChainError(Co3Error):
    """Base class for chain-layer errors."""


class BlockImportError(ChainError):
    """A block was rejected; the message says which rule failed."""


class StaleBlockError(ChainError):
    """A block under construction lost its parent: another block became the head meanwhile."""


class CallFailed(ChainError):
    """eth_call/estimateGas failed without revert data (e.g. out of gas, invalid opcode, bad input)."""


class SimulationError(CallFailed):
    """An eth_simulateV1 input the spec gives its own error code for (``code``: -38010 … -38023)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class CallReverted(CallFailed):
    """Execution reverted; ``data`` holds the raw revert bytes (ABI ``Error(string)`` or custom error)."""

    def __init__(self, data: bytes, message: str = "execution reverted") -> None:
        super().__init__(message)
        self.data = bytes(data)


@dataclass(frozen=True)
class TxLocation:
    block_hash: bytes
    block_number: int
    index: int


@dataclass
class BuildResult:
    """Outcome of :meth:`NodeChain.build_block`: the unsealed block and what happened to each tx."""

    block: QbftBlock
    receipts: list[Any]
    included: list[Any]
    rejected: list[tuple[Any, str]] = field(default_factory=list)

    def __iter__(self):  # allows ``block, receipts, included, rejected = chain.build_block(...)``
        return iter((self.block, self.receipts, self.included, self.rejected))


@dataclass(frozen=True)
class LogInfo:
    address: bytes
    topics: tuple[bytes, ...]
    data: bytes
    block_number: int
    block_hash: bytes
    tx_hash: bytes
    tx_index: int
    log_index: int  # index within the block


@dataclass(frozen=True)
class ReceiptInfo:
    tx_hash: bytes
    tx_index: int
    block_hash: bytes
    block_number: int
    sender: bytes
    to: bytes | None
    contract_address: bytes | None
    gas_used: int
    cumulative_gas_used: int
    effective_gas_price: int
    status: int
    logs: tuple[LogInfo, ...]
    bloom: int
    type: int


class _ChainDBView:
    """The slice of py-evm's ``ChainDatabaseAPI`` the VM needs: ``db``, header lookup, trie nodes."""

    def __init__(self, chain: NodeChain, db: KVStore) -> None:
        self._chain = chain
        self.db = db

    def get_block_header_by_hash(self, block_hash: bytes) -> QbftBlockHeader:
        raw = self.db.get(_K_HEADER + block_hash)
        if raw is None:
            raise HeaderNotFound(f"no header {block_hash.hex()}")
        header = rlp.decode(raw, sedes=QbftBlockHeader)
        header._hash = bytes(block_hash)
        return header

    def exists(self, key: bytes) -> bool:
        return key in self.db

    def persist_trie_data_dict(self, trie_data_dict: dict[bytes, bytes]) -> None:
        for k, v in trie_data_dict.items():
            self.db[k] = v


#: Set inside :meth:`NodeChain.deferred_fsync`: imports skip their own fsync (one at the end instead).
_DEFER_FSYNC: contextvars.ContextVar[bool] = contextvars.ContextVar("co3chain_defer_fsync", default=False)

#: Sealed headers whose commit-seal signers are remembered (two sync batches).
SEAL_MEMO_SIZE = 128


def _num_key(n: int) -> bytes:
    return _K_NUMBER + n.to_bytes(8, "big")


class NodeChain:
    """The node's chain. Thread-safe: one lock serialises build/import; reads need no lock."""

    def __init__(
        self, store: KVStore, genesis: Genesis, engine: str = DEFAULT_ENGINE, cross_check: bool = False
    ) -> None:
        self.store = store
        #: what executes transactions (``revm`` or ``py-evm``); both give byte-identical blocks
        self.engine = make_engine(engine)
        #: execute every block with the other engine too and refuse it on any difference
        #: (``CO3CHAIN_CROSS_CHECK=1`` turns it on for a whole test run or CI job without config edits)
        self.cross_check = cross_check or os.environ.get("CO3CHAIN_CROSS_CHECK") == "1"
        self.genesis = genesis
        self.chain_id = genesis.chain_id
        self.vm_class: type[QbftVM] = QbftVM.with_block_period(genesis.block_period, genesis.fixed_base_fee)
        self._chain_context = ChainContext(genesis.chain_id)
        self._lock = threading.RLock()
        self._built: dict[bytes, tuple[bytes, Overlay, list[Any]]] = {}
        #: (block hash, extraData) -> commit-seal signers, see :meth:`seal_signers`
        self._seal_signers: dict[tuple[bytes, bytes], tuple[bytes, ...]] = {}
        self._listeners: list[Callable[[QbftBlock, list[Any]], None]] = []
        self.validator_provider: Callable[[QbftBlockHeader], list[bytes]] | None = None
        #: tx hash -> sender, recovered once per node and shared by the pool, building, import and RPC
        self.senders = SenderCache()
        self.call_gas_cap = DEFAULT_CALL_GAS_CAP
        #: wall clock used to refuse blocks from the future (injectable for tests)
        self.clock: Callable[[], float] = time.time
        self.genesis_header = self._init_genesis()
        self._head = self._load_head()

    def release_genesis_alloc(self) -> Genesis:
        """Forget the parsed genesis ``alloc`` once block 0 is built or checked; returns the slimmer genesis.

        Why: nothing reads the alloc after :meth:`_init_genesis` (state lives in the store), but as Python
        objects it is large — ~470 MiB for a million-slot genesis, held for the node's whole life.
        """
        self.genesis = replace(self.genesis, alloc={})
        return self.genesis

    # -- lifecycle ---------------------------------------------------------------------------------
    @classmethod
    def open(
        cls, data_dir: Path | None, genesis: Genesis, engine: str = DEFAULT_ENGINE, cross_check: bool = False
    ) -> NodeChain:
        """Open (or initialise from ``genesis``) the chain in ``data_dir``; ``None`` keeps it in memory.

        ``engine`` picks the EVM (``revm`` default, ``py-evm``); ``cross_check`` runs both on every block.
        """
        store = open_store(data_dir)
        try:
            return cls(store, genesis, engine, cross_check)
        except BaseException:
            store.close()  # release the RocksDB lock so the caller can retry with the right genesis
            raise

    def close(self) -> None:
        self.store.close()

    def _build_genesis(self, db: KVStore) -> QbftBlockHeader:
        g = self.genesis
        state_root = alloc_state_root(g.alloc, db)
        # the same header description the `network genesis-hash` command hashes for any fork schedule
        return QbftBlockHeader(**cancun_genesis_header(g, state_root).py_evm_kwargs())

    def _init_genesis(self) -> QbftBlockHeader:
        stored = self.store.get(_K_GENESIS)
        digest = _genesis_digest(self.genesis)
        if stored is not None and self.store.get(_K_GENESIS_DIGEST) == digest:
            # Why: re-deriving the genesis state on every start costs O(alloc) time and memory (minutes
            # and GiBs for a million-slot alloc). This exact genesis input was checked against the
            # stored hash before; the stored chain id is still compared below.
            header = self.get_header_by_hash(stored)
            if header is not None:
                self._check_chain_id()
                return header
        overlay = Overlay(self.store)
        header = self._build_genesis(overlay)
        if stored is not None:
            if stored != header.hash:
                raise StorageError(
                    f"data directory belongs to another network: stored genesis 0x{stored.hex()}, "
                    f"genesis.json gives 0x{header.hash.hex()}"
                )
            self._check_chain_id()
            self.store.write_many({_K_GENESIS_DIGEST: digest})
            return header
        block = QbftBlock(header, transactions=[], uncles=[], withdrawals=[])
        self._stage_block(overlay, block, [])
        overlay[_K_GENESIS] = header.hash
        overlay[_K_CHAIN_ID] = self.chain_id.to_bytes(32, "big")
        overlay[_K_GENESIS_DIGEST] = digest
        overlay.flush()
        return header

    def _check_chain_id(self) -> None:
        stored_id = self.store.get(_K_CHAIN_ID)
        if stored_id is not None and int.from_bytes(stored_id, "big") != self.chain_id:
            # the genesis hash does not cover config.chainId, so check it separately
            raise StorageError(
                f"data directory belongs to chain id {int.from_bytes(stored_id, 'big')}, "
                f"genesis.json says {self.chain_id}"
            )

    def _load_head(self) -> QbftBlockHeader:
        head_hash = self.store.get(_K_HEAD)
        if head_hash is None:
            raise StorageError("database has a genesis but no head pointer (corrupt data directory)")
        header = self.get_header_by_hash(head_hash)
        if header is None:
            raise StorageError("head block header missing (corrupt data directory)")
        return header

    @property
    def head(self) -> QbftBlockHeader:
        return self._head

    def add_import_listener(self, fn: Callable[[QbftBlock, list[Any]], None]) -> None:
        """Call ``fn(block, receipts)`` after every block is durably imported (same thread)."""
        self._listeners.append(fn)

    # -- reads ---------------------------------------------------------------------------------------
    def get_canonical_hash(self, number: int) -> bytes | None:
        if number < 0:
            return None
        return self.store.get(_num_key(number))

    def get_header_by_hash(self, block_hash: bytes) -> QbftBlockHeader | None:
        raw = self.store.get(_K_HEADER + bytes(block_hash))
        if raw is None:
            return None
        header = rlp.decode(raw, sedes=QbftBlockHeader)
        header._hash = bytes(block_hash)  # stored under its hash at import: skip recomputing it
        return header

    def get_header_by_number(self, number: int) -> QbftBlockHeader | None:
        h = self.get_canonical_hash(number)
        return None if h is None else self.get_header_by_hash(h)

    def get_block_by_hash(self, block_hash: bytes) -> QbftBlock | None:
        """The stored block, decoded with the direct decoder (:func:`decode_wire_block`: the stored bytes
        are the wire encoding), each transaction carrying the sender this node already recovered (RPC
        formats ``from`` for every transaction of a full block; nothing is recovered here)."""
        raw = self.store.get(_K_BLOCK + bytes(block_hash))
        if raw is None:
            return None
        block = decode_wire_block(raw)
        prime_known = self.senders.prime_known
        for tx in block.transactions:
            prime_known(tx)
        return block

    def get_block_tx_hashes(self, block_hash: bytes) -> tuple[list[bytes], int] | None:
        """(transaction hashes, RLP size) of a stored block, read from its encoding without decoding the
        transactions (what ``eth_getBlockBy*(…, false)`` needs)."""
        raw = self.store.get(_K_BLOCK + bytes(block_hash))
        return None if raw is None else (block_tx_hashes(raw), len(raw))

    def get_block_by_number(self, number: int) -> QbftBlock | None:
        h = self.get_canonical_hash(number)
        return None if h is None else self.get_block_by_hash(h)

    def get_block_rlp_by_number(self, number: int) -> bytes | None:
        """The stored encoding of canonical block ``number``: the p2p/sync wire form (``encode_block``) as is.

        Why: serving a syncing peer used to decode every stored block and encode it again (~all of a serving
        node's CPU per block); the bytes on disk are already the wire bytes."""
        h = self.get_canonical_hash(number)
        return None if h is None else self.store.get(_K_BLOCK + bytes(h))

    def get_receipts(self, block_hash: bytes) -> list[Any] | None:
        raw = self.store.get(_K_RECEIPTS + bytes(block_hash))
        if raw is None:
            return None
        out = []
        for r in rlp.decode(raw):
            receipt = decode_legacy_receipt(r)  # direct for legacy receipts; py-evm for the rest
            out.append(receipt if receipt is not None else CancunReceiptBuilder.decode(r))
        return out

    def get_transaction_location(self, tx_hash: bytes) -> tuple[bytes, int, int] | None:
        raw = self.store.get(_K_TX + bytes(tx_hash))
        if raw is None:
            return None
        bh, num, idx = rlp.decode(raw)
        return bh, int.from_bytes(num, "big"), int.from_bytes(idx, "big")

    def get_transaction(self, tx_hash: bytes) -> tuple[Any, TxLocation] | None:
        loc = self.get_transaction_location(tx_hash)
        if loc is None:
            return None
        block = self.get_block_by_hash(loc[0])
        if block is None:
            return None
        tx = block.transactions[loc[2]]
        self.senders.prime(tx)  # callers format ``from``: reuse the sender recovered at execution
        return tx, TxLocation(*loc)

    def get_transaction_receipt(self, tx_hash: bytes) -> ReceiptInfo | None:
        loc = self.get_transaction_location(tx_hash)
        if loc is None:
            return None
        block = self.get_block_by_hash(loc[0])
        receipts = self.get_receipts(loc[0])
        if block is None or receipts is None:
            return None
        return self._receipt_infos(block, receipts, only=loc[2])[0]

    def block_receipt_infos(self, block: QbftBlock) -> list[ReceiptInfo]:
        """Per-transaction receipt details for a stored block (for eth_getBlockReceipts)."""
        receipts = self.get_receipts(block.hash) or []
        return self._receipt_infos(block, receipts)

    def _receipt_infos(
        self, block: QbftBlock, receipts: Sequence[Any], only: int | None = None
    ) -> list[ReceiptInfo]:
        """Receipt details of every tx of ``block`` (or just of tx index ``only``: one-element list).

        ``only`` skips the per-tx work (sender, log objects) of the other transactions; their receipts
        still give the previous cumulative gas and the block-wide log index offset.
        """
        if len(block.transactions) != len(receipts):
            raise ValueError(f"{len(block.transactions)} transactions but {len(receipts)} receipts")
        out: list[ReceiptInfo] = []
        prev_cum = 0
        log_index = 0
        base_fee = block.header.base_fee_per_gas
        txs = enumerate(zip(block.transactions, receipts, strict=True))
        if only is not None:
            if not 0 <= only < len(receipts):
                raise IndexError(f"transaction index {only} out of range")
            if only:
                prev_cum = receipts[only - 1].gas_used
                log_index = sum(len(r.logs) for r in receipts[:only])
            txs = iter([(only, (block.transactions[only], receipts[only]))])
        for i, (tx, r) in txs:
            logs = []
            for lg in r.logs:
                logs.append(
                    LogInfo(
                        address=lg.address,
                        topics=tuple(t.to_bytes(32, "big") for t in lg.topics),
                        data=lg.data,
                        block_number=block.number,
                        block_hash=block.hash,
                        tx_hash=tx.hash,
                        tx_index=i,
                        log_index=log_index,
                    )
                )
                log_index += 1
            sender = self.senders.sender(tx)
            contract = generate_contract_address(sender, tx.nonce) if not tx.to else None
            type_id = getattr(tx, "type_id", None) or 0
            if type_id == 2:
                price = min(tx.max_fee_per_gas, base_fee + tx.max_priority_fee_per_gas)
            else:
                price = tx.gas_price
            out.append(
                ReceiptInfo(
                    tx_hash=tx.hash,
                    tx_index=i,
                    block_hash=block.hash,
                    block_number=block.number,
                    sender=sender,
                    to=tx.to or None,
                    contract_address=contract,
                    gas_used=r.gas_used - prev_cum,
                    cumulative_gas_used=r.gas_used,
                    effective_gas_price=price,
                    status=1 if r.state_root == b"\x01" else 0,
                    logs=tuple(logs),
                    bloom=r.bloom,
                    type=type_id,
                )
            )
            prev_cum = r.gas_used
        return out

    def get_logs(
        self,
        from_block: int,
        to_block: int,
        addresses: Iterable[bytes] | None = None,
        topics: Sequence[bytes | Sequence[bytes] | None] | None = None,
    ) -> list[LogInfo]:
        """Logs in canonical blocks ``from_block..to_block`` (inclusive) matching the filter.

        ``topics[i]`` is ``None`` (any), one 32-byte topic or a list of alternatives. Blocks whose
        header bloom cannot match are skipped without reading receipts.
        """
        addrs = {bytes(a) for a in addresses} if addresses else None
        topic_sets: list[set[bytes] | None] = []
        for t in topics or []:
            if t is None:
                topic_sets.append(None)
            elif isinstance(t, bytes | bytearray):
                topic_sets.append({bytes(t)})
            else:
                alts = {bytes(x) for x in t if x is not None}
                topic_sets.append(alts or None)
        to_block = min(to_block, self.head.block_number)
        out: list[LogInfo] = []
        for n in range(max(0, from_block), to_block + 1):
            header = self.get_header_by_number(n)
            if header is None or not header.bloom:
                continue
            bloom = BloomFilter(header.bloom)
            if addrs is not None and not any(a in bloom for a in addrs):
                continue
            if any(ts is not None and not any(t in bloom for t in ts) for ts in topic_sets):
                continue
            block = self.get_block_by_hash(header.hash)
            receipts = self.get_receipts(header.hash)
            if block is None or receipts is None:
                continue
            for info in self._receipt_infos(block, receipts):
                for lg in info.logs:
                    if addrs is not None and lg.address not in addrs:
                        continue
                    if len(topic_sets) > len(lg.topics) and any(
                        ts is not None for ts in topic_sets[len(lg.topics) :]
                    ):
                        continue
                    if all(
                        ts is None or (i < len(lg.topics) and lg.topics[i] in ts)
                        for i, ts in enumerate(topic_sets)
                    ):
                        out.append(lg)
        return out

    def validators_at(self, block_number: int) -> list[bytes]:
        """Validator list recorded in the extraData of canonical block ``block_number``."""
        header = self.get_header_by_number(block_number)
        if header is None:
            raise ChainError(f"unknown block #{block_number}")
        return list(QbftExtraData.decode(header.extra_data).validators)

    def validators_for_child(self, parent: QbftBlockHeader) -> list[bytes]:
        """Validators that must seal (and be listed in) the child of ``parent``.

        Without a :attr:`validator_provider` (vote tallying by the consensus engine) the set never
        changes: the parent's list.
        """
        if self.validator_provider is not None:
            return sorted(self.validator_provider(parent))
        return list(QbftExtraData.decode(parent.extra_data).validators)

    # -- state ---------------------------------------------------------------------------------------
    def _vm(self, header: QbftBlockHeader, db: KVStore | None = None) -> QbftVM:
        return self.vm_class(
            header=header,
            chaindb=_ChainDBView(self, db if db is not None else self.store),  # type: ignore[arg-type]
            chain_context=self._chain_context,
            consensus_context=ConsensusContext(db if db is not None else self.store),
        )

    def with_store(self, store: KVStore) -> NodeChain:
        """This chain reading state through ``store`` -- the overlay of a built, unsealed block -- so that
        ``state_at``/``call``/``estimate_gas``/``get_proof`` answer for the pending state. A read-only view:
        never build or import blocks on it (it shares the lock, engine and caches with this chain)."""
        view = copy.copy(self)
        view.store = store
        return view

    def state_at(self, header: QbftBlockHeader | None = None) -> Any:
        """A py-evm state at ``header``'s state root (default head); do not persist it."""
        header = header or self.head
        return self._vm(header, Overlay(self.store)).state

    def get_proof(self, address: bytes, slots: Iterable[int], header: QbftBlockHeader | None = None) -> dict:
        """EIP-1186 proof: ``{address, balance, nonce, codeHash, storageHash, accountProof,
        storageProof: [{key, value, proof}]}`` with bytes/int values and RLP-encoded proof nodes."""
        header = header or self.head
        address = bytes(address)
        account_trie = HexaryTrie(self.store, header.state_root)
        account_key = keccak(address)
        account_proof = _encode_proof(account_trie.get_proof(account_key))
        raw_account = account_trie.get(account_key)
        if raw_account:
            nonce, balance, storage_root, code_hash = rlp.decode(raw_account)
            nonce_i, balance_i = int.from_bytes(nonce, "big"), int.from_bytes(balance, "big")
        else:
            nonce_i, balance_i, storage_root, code_hash = 0, 0, BLANK_ROOT_HASH, keccak(b"")
        storage_trie = HexaryTrie(self.store, storage_root)
        storage_proofs = []
        for slot in slots:
            slot_i = int(slot)
            key = keccak(slot_i.to_bytes(32, "big"))
            raw = storage_trie.get(key)
            value = rlp.decode(raw, sedes=rlp.sedes.big_endian_int) if raw else 0
            proof = _encode_proof(storage_trie.get_proof(key)) if storage_root != BLANK_ROOT_HASH else []
            storage_proofs.append({"key": slot_i, "value": value, "proof": proof})
        return {
            "address": address,
            "balance": balance_i,
            "nonce": nonce_i,
            "codeHash": code_hash,
            "storageHash": storage_root,
            "accountProof": account_proof,
            "storageProof": storage_proofs,
        }

    # -- eth_call / estimateGas ----------------------------------------------------------------------
    def _call_args(self, tx: dict[str, Any], header: QbftBlockHeader, gas: int | None) -> tuple:
        """(sender, to, value, data, gas, gas price) of a call dict, gas defaulted and capped."""
        sender = _opt_addr(tx.get("from")) or ZERO_ADDRESS
        to = _opt_addr(tx.get("to")) or b""
        value = _int(tx.get("value"), 0)
        data = _bytes(tx.get("data", tx.get("input")))
        gas_price = _int(tx.get("gasPrice", tx.get("maxFeePerGas")), 0)
        if gas is None:
            gas = _int(tx.get("gas"), 0) or min(header.gas_limit, self.call_gas_cap)
        return sender, to, value, data, min(gas, self.call_gas_cap), gas_price

    def _pyevm_call(
        self,
        tx: dict[str, Any],
        header: QbftBlockHeader,
        gas: int | None,
        state_override: dict | None,
        on_state: Callable[[Any], None] | None = None,
    ) -> tuple[Any, int]:
        """Run ``tx`` on py-evm and return (its computation, the intrinsic gas charged).

        Why py-evm here: calls with an EIP-2930 ``accessList`` (its intrinsic gas charged, its entries
        warm) and ``eth_createAccessList`` (which instruments the state's warm-marking) need hooks that
        pyrevm's ``message_call`` does not offer; both engines give the same result, this one is slower.
        """
        sender, to, value, data, gas, gas_price = self._call_args(tx, header, gas)
        vm = self._vm(_call_header(header), Overlay(self.store))
        state = vm.state
        if state_override:
            _apply_state_override(state, state_override)
        access_list = [(bytes(a), [int(k) for k in keys]) for a, keys in tx.get("accessList") or ()]
        if access_list:  # a type-1 call: access-list intrinsic gas is charged and its entries start warm
            unsigned = vm.get_transaction_builder().new_unsigned_access_list_transaction(
                self.chain_id, state.get_nonce(sender), gas_price, gas, to, value, data, access_list
            )
        else:
            unsigned = vm.create_unsigned_transaction(
                nonce=state.get_nonce(sender), gas_price=gas_price, gas=gas, to=to, value=value, data=data
            )
        if gas < unsigned.intrinsic_gas:  # geth's wording, checked before execution as geth does
            raise CallFailed(f"intrinsic gas too low: have {gas}, want {unsigned.intrinsic_gas}")
        spoof = SpoofTransaction(unsigned, from_=sender)
        if on_state is not None:
            on_state(state)
        try:
            return state.costless_execute_transaction(spoof), unsigned.intrinsic_gas
        except ValidationError as exc:
            raise CallFailed(_call_validation_reason(exc)) from exc

    def _run_call(
        self, tx: dict[str, Any], header: QbftBlockHeader, gas: int | None, state_override: dict | None
    ) -> CallOutcome:
        if tx.get("accessList"):
            comp, intrinsic = self._pyevm_call(tx, header, gas, state_override)
            return _outcome_of_computation(comp, intrinsic)
        sender, to, value, data, gas, gas_price = self._call_args(tx, header, gas)
        vm = self._vm(_call_header(header), Overlay(self.store))
        if state_override:
            _apply_state_override(vm.state, state_override)
        try:
            return self.engine.run_call(vm, sender, to, value, data, gas, gas_price)
        except ValidationError as exc:
            raise CallFailed(_call_validation_reason(exc)) from exc

    def call(
        self, tx: dict[str, Any], header: QbftBlockHeader | None = None, state_override: dict | None = None
    ) -> bytes:
        """Execute ``tx`` read-only on ``header``'s state (default head); return the output bytes.

        ``tx`` keys: from, to, value, data, gas, gasPrice, and ``accessList`` as
        ``[(address bytes, [slot ints])]`` (EIP-2930: its intrinsic gas is charged, its entries start warm).
        """
        out = self._run_call(tx, header or self.head, None, state_override)
        _raise_for_outcome(out)
        return out.output

    def estimate_gas(
        self, tx: dict[str, Any], header: QbftBlockHeader | None = None, state_override: dict | None = None
    ) -> int:
        """Smallest gas limit with which ``tx`` succeeds (binary search, as geth), optionally on a state
        with ``state_override`` applied (same shape as :meth:`call`'s)."""
        header = header or self.head
        cap = _int(tx.get("gas"), 0) or min(header.gas_limit, self.call_gas_cap)
        out = self._run_call(tx, header, cap, state_override)
        _raise_for_outcome(out)
        spent = out.gas_spent

        def ok(g: int) -> bool:
            try:
                return self._run_call(tx, header, g, state_override).success
            except CallFailed:
                return False

        lo, hi = max(spent - 1, 20_999), cap
        optimistic = min(hi, (spent + 2300) * 64 // 63)
        if optimistic < hi and ok(optimistic):
            hi = optimistic
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if ok(mid):
                hi = mid
            else:
                lo = mid
        return hi

    def create_access_list(
        self, tx: dict[str, Any], header: QbftBlockHeader | None = None, state_override: dict | None = None
    ) -> tuple[list[tuple[bytes, list[int]]], int, bytes | None, str | None]:
        """EIP-2930 list for ``tx`` as geth's ``eth_createAccessList``: (access list, gas used with the
        list, revert data or None, error message or None).

        Every address and slot the call touches, except the sender, the recipient (or created contract),
        the coinbase and precompiles, which are warm anyway. Repeated until the list is stable, because warming slots
        can change the path (e.g. code branching on ``gasleft()``).
        """
        header = header or self.head
        sender = _opt_addr(tx.get("from")) or ZERO_ADDRESS
        current = [(bytes(a), sorted(set(int(k) for k in ks))) for a, ks in tx.get("accessList") or ()]
        for _ in range(16):
            addresses: dict[bytes, set[int]] = {}

            def instrument(state: Any, seen: dict[bytes, set[int]] = addresses) -> None:
                mark_address, mark_slot = state.mark_address_warm, state.mark_storage_warm

                def address_warm(address: bytes) -> None:
                    seen.setdefault(bytes(address), set())
                    mark_address(address)

                def slot_warm(address: bytes, slot: int) -> None:
                    seen.setdefault(bytes(address), set()).add(int(slot))
                    mark_slot(address, slot)

                state.mark_address_warm, state.mark_storage_warm = address_warm, slot_warm

            call = {**tx, "accessList": current}
            gas = _int(tx.get("gas"), 0) or min(header.gas_limit, self.call_gas_cap)
            comp, _ = self._pyevm_call(call, header, gas, state_override, instrument)
            to = _opt_addr(tx.get("to"))
            recipient = to if to is not None else comp.msg.storage_address
            # warm anyway: sender, recipient, precompiles and (EIP-3651) the block's coinbase
            skip = {sender, recipient, header.coinbase} | set(comp.get_precompiles().keys())
            for a, ks in current:  # what the caller listed stays listed, as geth keeps it
                addresses.setdefault(a, set()).update(ks)
            found = sorted((a, sorted(ks)) for a, ks in addresses.items() if a not in skip or ks)
            used = min(gas, gas - comp.get_gas_remaining())
            used -= min(comp.get_gas_refund(), used // 5) if not comp.is_error else 0
            if found == sorted(current):
                break
            current = found
        from eth.exceptions import Revert

        revert = comp.output if comp.is_error and isinstance(comp.error, Revert) else None
        error = None
        if comp.is_error:
            error = "execution reverted" if revert is not None else f"{type(comp.error).__name__} {comp.error}"
        return current, used, revert, error

    def simulate(
        self,
        blocks: Sequence[dict[str, Any]],
        header: QbftBlockHeader | None = None,
        validation: bool = False,
        trace_transfers: bool = False,
    ) -> list[dict[str, Any]]:
        """eth_simulateV1: run ``blocks`` of calls on top of ``header`` (default head), each block on the
        state the previous one left, nothing persisted.

        A block is ``{"blockOverrides": {number, time, gasLimit, feeRecipient}, "stateOverrides": {...},
        "calls": [call dicts as for :meth:`call`]}``. Calls from one sender take consecutive nonces (unless
        given). Returns per block ``{"header", "calls": [{output, gasUsed, status, logs, reverted,
        error}], "tx_hashes"}``: the header carries the simulated state root, gas used, bloom and the roots
        of the simulated (unsigned) transactions and their receipts. ``validation`` checks given nonces.
        ``trace_transfers`` adds every value transfer (top level, internal calls and creations,
        SELFDESTRUCT; dropped with a reverting frame) to the call's logs as an ERC-7528 ``Transfer`` log from :data:`TRANSFER_LOG_EMITTER`, in
        execution order with the real logs; receipts, blooms and roots leave them out, as the spec says.
        """
        from eth.exceptions import Revert

        from co3chain.chain.triehash import ordered_trie_root

        parent = header or self.head
        db = Overlay(self.store)
        out: list[dict[str, Any]] = []
        for spec in blocks:
            ov = spec.get("blockOverrides") or {}
            number = _int(ov.get("number"), parent.block_number + 1)
            if number <= parent.block_number:
                raise SimulationError(-38020, f"block numbers must increase: {number} after {parent.block_number}")
            timestamp = _int(ov.get("time"), parent.timestamp + 1)
            if timestamp < parent.timestamp:
                raise SimulationError(
                    -38021, f"block timestamps must not decrease: {timestamp} after {parent.timestamp}"
                )
            template = new_header(
                parent,
                block_number=number,
                timestamp=timestamp,
                coinbase=_opt_addr(ov.get("feeRecipient")) or parent.coinbase,
                gas_limit=_int(ov.get("gasLimit"), parent.gas_limit),
                # unsealed, not a QBFT block: no validators or seals (geth and the spec show "0x"; web3.py
                # formats simulated blocks' extraData as at most 32 bytes)
                extra_data=b"",
                # geth: the chain's base fee when validating, else 0 (so unpriced calls are valid)
                base_fee_per_gas=_int(
                    ov.get("baseFeePerGas"), self.genesis.fixed_base_fee if validation else 0
                ),
            )
            vm = self._vm(_call_header(template), db)
            state = vm.state
            if trace_transfers:
                state.computation_class = _transfer_logging(state.computation_class)
            if spec.get("stateOverrides"):
                _apply_state_override(state, spec["stateOverrides"])
            calls: list[dict[str, Any]] = []
            receipts: list[bytes] = []
            tx_rlps: list[bytes] = []
            block_bloom = BloomFilter()
            used_total = 0
            for tx in spec.get("calls") or ():
                sender = _opt_addr(tx.get("from")) or ZERO_ADDRESS
                nonce = state.get_nonce(sender)
                given = _int(tx.get("nonce"), nonce) if tx.get("nonce") is not None else nonce
                if validation and given != nonce:
                    raise SimulationError(
                        -38010 if given < nonce else -38011,
                        f"nonce too {'low' if given < nonce else 'high'}: address 0x{sender.hex()}, "
                        f"tx: {given} state: {nonce}",
                    )
                gas = _int(tx.get("gas"), 0) or min(template.gas_limit - used_total, self.call_gas_cap)
                if used_total + gas > template.gas_limit:
                    raise SimulationError(-38015, "block gas limit exceeded by the block's calls")
                to = _opt_addr(tx.get("to")) or b""
                value, data = _int(tx.get("value"), 0), _bytes(tx.get("data", tx.get("input")))
                price = _int(tx.get("gasPrice", tx.get("maxFeePerGas")), 0)
                if validation and price < template.base_fee_per_gas:
                    raise SimulationError(
                        -38012, f"max fee per gas less than block base fee: address 0x{sender.hex()}, "
                        f"maxFeePerGas: {price}, baseFee: {template.base_fee_per_gas}",
                    )
                cost = value + (gas * price if validation else 0)
                if state.get_balance(sender) < cost:
                    raise SimulationError(
                        -38014, f"insufficient funds for gas * price + value: address 0x{sender.hex()} have "
                        f"{state.get_balance(sender)} want {cost}",
                    )
                access_list = [(bytes(x), [int(k) for k in ks]) for x, ks in tx.get("accessList") or ()]
                if access_list:
                    unsigned = vm.get_transaction_builder().new_unsigned_access_list_transaction(
                        self.chain_id, nonce, price, gas, to, value, data, access_list
                    )
                else:
                    unsigned = vm.create_unsigned_transaction(
                        nonce=nonce, gas_price=price, gas=gas, to=to, value=value, data=data
                    )
                if gas < unsigned.intrinsic_gas:
                    raise SimulationError(-38013, f"intrinsic gas too low: have {gas}, want {unsigned.intrinsic_gas}")
                state.lock_changes()  # a new transaction: cold accounts and slots again (as VM.apply_transaction)
                try:
                    comp = state.costless_execute_transaction(SpoofTransaction(unsigned, from_=sender))
                except ValidationError as exc:
                    raise CallFailed(str(exc)) from exc
                used = max_used = gas - comp.get_gas_remaining()
                if not comp.is_error:
                    used -= min(comp.get_gas_refund(), used // 5)
                used_total += used
                traced = [(bytes(a), [t.to_bytes(32, "big") for t in topics], bytes(d))
                          for a, topics, d in comp.get_log_entries()]
                logs = [lg for lg in traced if lg[0] != TRANSFER_LOG_EMITTER] if trace_transfers else traced
                bloom = BloomFilter()
                for a, topics, _ in logs:
                    bloom.add(a)
                    for t in topics:
                        bloom.add(t)
                block_bloom = BloomFilter(int(block_bloom) | int(bloom))
                status = 0 if comp.is_error else 1
                receipt = rlp.encode([status, used_total, int(bloom).to_bytes(256, "big"), logs])
                receipts.append((b"\x01" if access_list else b"") + receipt)
                tx_rlp = (b"\x01" if access_list else b"") + rlp.encode(unsigned)
                tx_rlps.append(tx_rlp)
                calls.append({
                    "output": comp.output,
                    "gasUsed": used,
                    "maxUsedGas": max_used,
                    "status": status,
                    "logs": traced,
                    "reverted": comp.is_error and isinstance(comp.error, Revert),
                    "error": None if not comp.is_error else f"{type(comp.error).__name__} {comp.error}".strip(),
                    # unsigned calls have no signature: identify each by its encoding and sender
                    "hash": keccak(tx_rlp + sender),
                    "sender": sender,
                    "tx": unsigned,
                    "type": 1 if access_list else 0,
                })
            state.persist()
            hdr = template.copy(
                state_root=state.state_root,
                gas_used=used_total,
                bloom=int(block_bloom),
                transaction_root=ordered_trie_root(tx_rlps),
                receipt_root=ordered_trie_root(receipts),
            )
            out.append({"header": hdr, "calls": calls})
            parent = hdr
        return out

    # -- execution -----------------------------------------------------------------------------------
    def _execute(
        self, parent: QbftBlockHeader, template: QbftBlockHeader, txs: Sequence[Any]
    ) -> tuple[QbftBlockHeader, list[Any], Overlay]:
        """Execute someone else's block in one go (any invalid tx raises); header with computed roots."""
        builder = BlockBuilder(self, parent, template, strict=True)
        builder.add(txs)
        block = builder.finish()
        return block.header, builder.receipts, builder.overlay

    def open_block(
        self, coinbase: bytes, timestamp: int, extra_data: bytes, gas_limit: int | None = None
    ) -> BlockBuilder:
        """A :class:`BlockBuilder` on the current head, to fill with :meth:`BlockBuilder.add` over time
        and close with :meth:`finish_block` (the incremental form of :meth:`build_block`)."""
        parent = self.head
        template = new_header(
            parent,
            coinbase=bytes(coinbase),
            timestamp=int(timestamp),
            extra_data=bytes(extra_data),
            gas_limit=gas_limit or parent.gas_limit,
            base_fee_per_gas=self.genesis.fixed_base_fee,
        )
        return BlockBuilder(self, parent, template)

    def finish_block(self, builder: BlockBuilder, extra_data: bytes | None = None) -> BuildResult:
        """Close ``builder`` (state commit, roots) and cache its state for the import of the sealed block.

        Raises :class:`StaleBlockError` when the head moved since :meth:`open_block` (another block was
        imported meanwhile): the transactions stay in the pool and go into a block on the new head.
        """
        with self._lock:
            if builder.parent.hash != self.head.hash:
                raise StaleBlockError(
                    f"block #{builder.parent.block_number + 1} was built on a parent that is no longer the head"
                )
            block = builder.finish(extra_data)
            if self.cross_check:
                self._cross_check(builder.parent, block, builder.receipts)
            self._remember(block.header.hash, builder.parent.hash, builder.overlay, builder.receipts)
            return BuildResult(block, builder.receipts, builder.included, builder.rejected)

    def build_block(
        self,
        txs: Iterable[Any],
        coinbase: bytes,
        timestamp: int,
        extra_data: bytes,
        gas_limit: int | None = None,
        max_seconds: float | None = None,
    ) -> BuildResult:
        """Execute ``txs`` (in order; invalid ones are skipped and reported) on top of head.

        Nothing is persisted; the staged state is cached so importing the sealed block is cheap.
        ``max_seconds`` bounds execution time: transactions not reached are neither included nor
        rejected (they stay in the pool), so a burst of heavy transactions cannot stall block production.
        """
        with self._lock:
            builder = self.open_block(coinbase, timestamp, extra_data, gas_limit)
            deadline = None if max_seconds is None else time.monotonic() + max_seconds
            builder.add(list(txs), deadline)
            return self.finish_block(builder)

    def seal_signers(self, header: QbftBlockHeader) -> list[bytes]:
        """Addresses that signed ``header``'s commit seals (in seal order); raises :class:`BlockImportError`.

        Why remembered: a synced block's seals are checked by the sync (which penalizes the peer that
        served a badly sealed block) and again by :meth:`import_block`, and the sync's prefetch thread
        recovers them ahead of the import; each check is one secp256k1 recovery per seal. The key is the
        block hash plus the whole extraData (seals and round included), so it names exactly one sealed
        header, and recovery is deterministic: a remembered answer is the answer. Bad seals are not
        remembered (they are rare and the error is re-raised each time).
        """
        key = (header.hash, bytes(header.extra_data))
        signers = self._seal_signers.get(key)
        if signers is not None:
            return list(signers)
        try:
            signers = recover_seal_signers(header)
        except (ExtraDataError, SealError) as exc:
            raise BlockImportError(f"block #{header.block_number}: bad commit seal: {exc}") from exc
        if len(self._seal_signers) >= SEAL_MEMO_SIZE:
            self._seal_signers.clear()
        self._seal_signers[key] = tuple(signers)
        return list(signers)

    def verify_seals(self, header: QbftBlockHeader, validators: Sequence[bytes]) -> list[bytes]:
        """Check the commit seals of ``header``: ≥ quorum distinct signers, all in ``validators``."""
        signers = self.seal_signers(header)
        valset = set(validators)
        outsiders = [s for s in signers if s not in valset]
        if outsiders:
            raise BlockImportError(
                f"block #{header.block_number}: commit seal by non-validator 0x{outsiders[0].hex()}"
            )
        distinct = set(signers)
        if len(distinct) != len(signers):
            raise BlockImportError(f"block #{header.block_number}: duplicate commit seal")
        need = quorum(len(valset))
        if len(distinct) < need:
            raise BlockImportError(
                f"block #{header.block_number}: {len(distinct)} commit seals, quorum is {need} of {len(valset)}"
            )
        return signers

    def validate_header(self, header: QbftBlockHeader, parent: QbftBlockHeader | None = None) -> None:
        """Header rules that do not need execution (parent link, constants, timestamps, validators)."""
        parent = parent or self.get_header_by_hash(header.parent_hash)
        if parent is None:
            raise BlockImportError(
                f"block #{header.block_number}: unknown parent 0x{header.parent_hash.hex()}"
            )
        try:
            validate_qbft_header(header, parent, self.genesis.block_period, self.genesis.fixed_base_fee)
        except ValidationError as exc:
            raise BlockImportError(f"block #{header.block_number}: {exc}") from exc
        if header.timestamp > self.clock() + MAX_FUTURE_SECONDS:
            raise BlockImportError(
                f"block #{header.block_number}: timestamp {header.timestamp} is in the future"
            )
        expected = self.validators_for_child(parent)
        listed = list(QbftExtraData.decode(header.extra_data).validators)
        if listed != expected:
            raise BlockImportError(
                f"block #{header.block_number}: extraData validator list is not the expected set"
            )

    @staticmethod
    def _as_qbft_block(block: Any) -> QbftBlock:
        if isinstance(block.header, QbftBlockHeader):
            return block
        return rlp.decode(rlp.encode(block), sedes=QbftBlock)

    def _check_structure(self, block: QbftBlock, parent: QbftBlockHeader) -> None:
        header = block.header
        if header.parent_hash != parent.hash or header.block_number != parent.block_number + 1:
            raise BlockImportError(
                f"block #{header.block_number} does not extend head #{parent.block_number}"
            )
        self.validate_header(header, parent)
        if block.uncles:
            raise BlockImportError("QBFT blocks have no ommers")
        if block.withdrawals:
            raise BlockImportError("QBFT blocks carry no withdrawals")

    def _executed(self, block: QbftBlock, parent: QbftBlockHeader) -> tuple[Overlay, list[Any]]:
        """Staged state and receipts of ``block`` on ``parent``: from the cache or by re-executing."""
        header = block.header
        cached = self._built.get(header.hash)
        if cached is not None and cached[0] == parent.hash:
            return cached[1], cached[2]
        template = _reexecution_template(header, parent)
        computed, receipts, overlay = self._execute(parent, template, block.transactions)
        _compare_roots(header, computed)
        if self.cross_check:
            self._cross_check(parent, block, receipts)
        self._remember(header.hash, parent.hash, overlay, receipts)
        return overlay, receipts

    def _cross_check(self, parent: QbftBlockHeader, block: QbftBlock, receipts: Sequence[Any]) -> None:
        """Re-execute ``block`` with the other engine; raise :class:`EngineDivergence` on any difference
        (header roots, bloom, gas used, every receipt byte). Why: ``[chain] cross_check`` is how a node
        proves, block by block, that revm and py-evm agree; a divergence must stop the node, not be
        sealed or imported."""
        other = make_engine("py-evm" if self.engine.name == "revm" else "revm")
        header = block.header
        template = _reexecution_template(header, parent)
        builder = BlockBuilder(self, parent, template, strict=True, engine=other)
        try:
            builder.add(block.transactions)
            computed = builder.finish().header
        except BlockImportError as exc:
            raise EngineDivergence(
                f"block #{header.block_number}: {other.name} rejects what {self.engine.name} accepted: {exc}"
            ) from exc
        for fname in ("gas_used", "receipt_root", "bloom", "state_root", "transaction_root"):
            a, b = getattr(header, fname), getattr(computed, fname)
            if a != b:
                raise EngineDivergence(
                    f"block #{header.block_number}: {fname} differs: {self.engine.name} {a!r}, {other.name} {b!r}"
                )
        for i, (r1, r2) in enumerate(zip(receipts, builder.receipts, strict=True)):
            if r1.encode() != r2.encode():
                raise EngineDivergence(f"block #{header.block_number}: receipt {i} differs between engines")
        log.debug("block #%d: %s and %s agree", header.block_number, self.engine.name, other.name)

    def _remember(self, block_hash: bytes, parent_hash: bytes, overlay: Overlay, receipts: list[Any]) -> None:
        if len(self._built) >= 8:
            self._built.clear()
        self._built[block_hash] = (parent_hash, overlay, receipts)

    def verify_proposal(self, block: QbftBlock) -> None:
        """Check a proposed (unsealed) child of head: header rules, then execution and every root.

        Raises :class:`BlockImportError`. The executed state is cached by block hash, so importing the
        block once it carries its commit seals does not execute it again.
        """
        with self._lock:
            block = self._as_qbft_block(block)
            parent = self.head
            self._check_structure(block, parent)
            self._executed(block, parent)

    def import_block(self, block: QbftBlock, verify_seals: bool = True) -> QbftBlockHeader:
        """Validate, execute and durably persist ``block`` as the new head; returns its header.

        Re-importing the current canonical block is a no-op. Raises :class:`BlockImportError`.
        """
        with self._lock:
            block = self._as_qbft_block(block)
            header = block.header
            parent = self.head
            if header.block_number <= parent.block_number:
                if self.get_canonical_hash(header.block_number) == header.hash:
                    return self.get_header_by_hash(header.hash)  # already final
                raise BlockImportError(
                    f"block #{header.block_number} conflicts with the finalized chain (head #{parent.block_number})"
                )
            self._check_structure(block, parent)
            if verify_seals:
                self.verify_seals(header, self.validators_for_child(parent))
            overlay, receipts = self._executed(block, parent)
            self._stage_block(overlay, block, receipts)
            overlay.flush(sync=not _DEFER_FSYNC.get())
            self._built.clear()
            self._head = header
        for fn in self._listeners:
            try:
                fn(block, receipts)
            except Exception:  # the block is final already; a listener bug must not look like a bad block
                log.exception("import listener %r failed for block #%d", fn, header.block_number)
        return header

    def sync_wal(self) -> None:
        """fsync the store's write-ahead log: every block imported so far survives a power loss."""
        self.store.sync_wal()

    @contextlib.contextmanager
    def deferred_fsync(self, fsync_on_exit: bool = True) -> Iterator[None]:
        """Blocks imported inside this context (same thread or asyncio task, and the worker threads they
        start with ``asyncio.to_thread``) are written without their own fsync; one fsync of the
        write-ahead log on leaving makes them all durable against power loss.

        Why: catching up from peers imports many blocks back to back, and an fsync per block (5–15 ms on
        a disk) is wall time spent waiting. Each block is still one atomic write that reaches the
        operating system before ``import_block`` returns, so a ``kill -9`` loses nothing
        (``tests/chain/test_crash.py``); a power loss may lose the last blocks of the batch, which are
        final on the network and fetched again. Blocks finalized by consensus here are imported outside
        this context (a ``ContextVar``, so another task's imports are not affected) and stay synced.
        ``fsync_on_exit=False``: the caller calls :meth:`sync_wal` itself (an event loop, from a thread).
        """
        token = _DEFER_FSYNC.set(True)
        try:
            yield
        finally:
            _DEFER_FSYNC.reset(token)
            if fsync_on_exit:
                self.store.sync_wal()

    def replace_seals(self, block_hash: bytes, extra_data: bytes) -> QbftBlockHeader:
        """Store another sealed form of a final block: same hash, other round/commit seals in extraData.

        Why: the QBFT block hash leaves out the round and the seals, so a block has several valid sealed
        forms; :mod:`co3chain.node.seal_book` makes every node store the same one. Refused unless the new
        header hashes to ``block_hash`` and carries a quorum of its validators' seals.
        """
        with self._lock:
            raw_block = self.store.get(_K_BLOCK + bytes(block_hash))
            stored = self.get_header_by_hash(block_hash)
            if raw_block is None or stored is None:
                raise BlockImportError(f"no stored block 0x{bytes(block_hash).hex()}")
            header = stored.copy(extra_data=bytes(extra_data))
            if header.hash != bytes(block_hash):
                raise BlockImportError("the new extraData changes the block hash")
            self.verify_seals(header, list(QbftExtraData.decode(header.extra_data).validators))
            header_rlp = rlp.encode(header)
            self.store.write_many({  # only the header changes: the stored transactions are copied as bytes
                _K_HEADER + header.hash: header_rlp,
                _K_BLOCK + header.hash: replace_header(raw_block, header_rlp),
            })
            if self._head.hash == header.hash:
                self._head = header
            return header

    def _stage_block(self, db: KVStore, block: QbftBlock, receipts: Sequence[Any]) -> None:
        header = block.header
        h = header.hash
        db[_K_HEADER + h] = rlp.encode(header)
        db[_K_BLOCK + h] = encode_block_body(block)  # reuses each transaction's encoding (rlp.encode re-serializes)
        db[_K_RECEIPTS + h] = rlp.encode([r.encode() for r in receipts])
        db[_num_key(header.block_number)] = h
        number = header.block_number
        for i, tx in enumerate(block.transactions):
            db[_K_TX + stored_tx_hash(tx)] = tx_location_rlp(h, number, i)
        db[_K_HEAD] = h


def stored_tx_hash(tx: Any) -> bytes:
    """``tx.hash``, from what the transaction already holds when that is exact.

    Why: a legacy transaction's ``hash`` is a plain property of py-evm's, ``keccak(rlp.encode(tx))`` on every
    read; pyrlp's ``encode`` returns the kept encoding (``_cached_rlp``, set by the block decoder) when
    there is one, so hashing that directly gives the same bytes without pyrlp's dispatch. A typed
    transaction's ``hash`` is a ``cached_property`` its decoder already filled. Anything else (another
    class, nothing kept) asks ``tx.hash``. Proven equal to ``tx.hash`` in ``tests/chain/test_stage_hash.py``.
    """
    attrs = tx.__dict__
    kind = type(tx).hash
    if kind is _LEGACY_HASH:
        raw = attrs.get("_cached_rlp")
        if raw:
            return keccak(raw)
    elif kind is _TYPED_HASH:
        known = attrs.get("hash")
        if known is not None:
            return known
    return tx.hash


_LEGACY_HASH = BaseTransactionFields.hash
_TYPED_HASH = TypedTransaction.__dict__["hash"]


def tx_location_rlp(block_hash: bytes, number: int, index: int) -> bytes:
    """``rlp.encode([block_hash, number, index])`` for a 32-byte hash, written directly.

    Why: the transaction index is stored for every transaction of every block; pyrlp's generic encoder
    (type inference, sedes lookup) took ~18 µs per entry, more than the rest of staging the block. Proven
    equal to ``rlp.encode`` on random values (``tests/chain/test_storage.py``).
    """
    payload = b"\xa0" + block_hash + rlp_uint(number) + rlp_uint(index)
    if len(payload) < 56:  # always for 64-bit numbers and indexes
        return bytes((0xC0 + len(payload),)) + payload
    size = len(payload).to_bytes((len(payload).bit_length() + 7) // 8, "big")
    return bytes((0xF7 + len(size),)) + size + payload


def _genesis_digest(g: Genesis) -> bytes:
    """keccak over every genesis field that determines block 0 (header fields and the whole alloc)."""
    h = keccak.new(b"co3chain-genesis-v1")
    for v in (g.difficulty, g.gas_limit, g.timestamp):
        h.update(int(v).to_bytes(32, "big"))
    for b in (g.coinbase, g.extra_data, g.mix_hash, g.nonce):
        h.update(len(b).to_bytes(4, "big") + bytes(b))
    if g.base_fee:  # only when non-zero, so digests of existing data directories stay valid
        h.update(b"base-fee" + g.base_fee.to_bytes(32, "big"))
    for addr in sorted(g.alloc):
        acct = g.alloc[addr]
        h.update(bytes(addr) + acct.balance.to_bytes(32, "big") + acct.nonce.to_bytes(32, "big"))
        h.update(len(acct.code).to_bytes(4, "big") + bytes(acct.code) + len(acct.storage).to_bytes(4, "big"))
        for slot in sorted(acct.storage):
            h.update(slot.to_bytes(32, "big") + acct.storage[slot].to_bytes(32, "big"))
    return h.digest()


#: ERC-7528's address for ETH in token-style events: eth_simulateV1's ``traceTransfers`` logs come from it
TRANSFER_LOG_EMITTER = bytes.fromhex("ee" * 20)
#: keccak("Transfer(address,address,uint256)")
TRANSFER_TOPIC = int.from_bytes(keccak(b"Transfer(address,address,uint256)"), "big")
_TRANSFER_LOGGING: dict[type, type] = {}


def _transfer_logging(base: type) -> type:
    """A subclass of the computation class ``base`` that logs each value transfer of its message.

    Why in the constructor: py-evm moves the value just before it builds a message's computation, and
    log entries are ordered by a transaction-wide counter, so a log added here sits before the logs the
    message's code emits, and is discarded with them if the frame fails.
    """
    cls = _TRANSFER_LOGGING.get(base)
    if cls is None:

        def __init__(self: Any, state: Any, message: Any, transaction_context: Any) -> None:
            base.__init__(self, state, message, transaction_context)
            if message.should_transfer_value and message.value:
                self.add_log_entry(
                    TRANSFER_LOG_EMITTER,
                    (TRANSFER_TOPIC, int.from_bytes(message.sender, "big"),
                     int.from_bytes(message.storage_address, "big")),
                    message.value.to_bytes(32, "big"),
                )

        opcodes = dict(base.opcodes)
        opcodes[_SELFDESTRUCT] = _SelfdestructTransferLog(base.opcodes[_SELFDESTRUCT])
        cls = _TRANSFER_LOGGING[base] = type(
            f"TransferLogging{base.__name__}", (base,), {"__init__": __init__, "opcodes": opcodes}
        )
    return cls


_SELFDESTRUCT = 0xFF


class _SelfdestructTransferLog:
    """SELFDESTRUCT that also logs the balance it moves to the beneficiary (``traceTransfers``)."""

    def __init__(self, opcode: Any) -> None:
        self.opcode = opcode
        self.mnemonic = getattr(opcode, "mnemonic", "SELFDESTRUCT")
        self.gas_cost = getattr(opcode, "gas_cost", 0)

    def __call__(self, computation: Any) -> None:
        contract = computation.msg.storage_address
        balance = computation.state.get_balance(contract)
        known = len(computation.beneficiaries)
        try:
            self.opcode(computation=computation)
        finally:  # the opcode ends the frame by raising Halt; a beneficiary appended means it ran
            if balance and len(computation.beneficiaries) > known:
                computation.add_log_entry(
                    TRANSFER_LOG_EMITTER,
                    (TRANSFER_TOPIC, int.from_bytes(contract, "big"),
                     int.from_bytes(computation.beneficiaries[-1], "big")),
                    balance.to_bytes(32, "big"),
                )


def _call_header(header: QbftBlockHeader) -> QbftBlockHeader:
    """``header`` with base fee 0, for read-only calls (eth_call, estimateGas, simulateV1).

    Why: calls are costless (no gas bought, as geth's ``NoBaseFee``): py-evm runs them at gas price 0, which
    its London rules refuse under a non-zero base fee. revm's call environment has base fee 0 as well.
    """
    if not header.base_fee_per_gas:
        return header
    return header.copy(base_fee_per_gas=0)


def _reexecution_template(header: QbftBlockHeader, parent: QbftBlockHeader) -> QbftBlockHeader:
    """``header`` with what execution computes reset (gas, bloom, roots, state on ``parent``), so that
    re-executing its transactions on it must arrive at the header's own values."""
    return header.copy(
        gas_used=0,
        bloom=0,
        state_root=parent.state_root,
        transaction_root=BLANK_ROOT_HASH,
        receipt_root=BLANK_ROOT_HASH,
    )


def _compare_roots(expected: QbftBlockHeader, computed: QbftBlockHeader) -> None:
    n = expected.block_number
    for fname in ("transaction_root", "gas_used", "receipt_root", "bloom", "state_root"):
        a, b = getattr(expected, fname), getattr(computed, fname)
        if a != b:
            show = (lambda v: f"0x{v.hex()}") if isinstance(a, bytes) else str
            raise BlockImportError(f"block #{n}: {fname} mismatch: header {show(a)}, computed {show(b)}")


def _encode_proof(nodes: Sequence[Any]) -> list[bytes]:
    out = []
    for i, node in enumerate(nodes):
        enc = rlp.encode(node)
        if i == 0 or len(enc) >= 32:  # embedded (<32 byte) nodes live inside their parent
            out.append(enc)
    return out


def _call_validation_reason(exc: ValidationError) -> str:
    reason = str(exc)
    if "enough balance" in reason:  # geth's wording, which clients match on
        reason = f"insufficient funds for gas * price + value ({reason.strip()})"
    return reason


def _outcome_of_computation(comp: Any, intrinsic_gas: int) -> CallOutcome:
    """A py-evm computation as an engine-independent :class:`CallOutcome` (as PyEvmEngine.run_call)."""
    from eth.exceptions import Revert

    spent = intrinsic_gas + comp.get_gas_used()
    if comp.is_error:
        reverted = isinstance(comp.error, Revert)
        err = "" if reverted else f"{type(comp.error).__name__} {comp.error}".strip()
        return CallOutcome(False, reverted, comp.output if reverted else b"", spent, 0, err)
    return CallOutcome(True, False, comp.output, spent, comp.get_gas_refund())


def _raise_for_outcome(out: CallOutcome) -> None:
    if not out.success:
        if out.reverted:
            raise CallReverted(out.output)
        raise CallFailed(
            out.error if out.error.startswith("execution failed") else f"execution failed: {out.error}"
        )


def _int(v: Any, default: int) -> int:
    if v is None:
        return default
    if isinstance(v, str):
        return int(v, 16) if v.lower().startswith("0x") else int(v)
    return int(v)


def _bytes(v: Any) -> bytes:
    if v is None:
        return b""
    if isinstance(v, str):
        return bytes.fromhex(v[2:] if v.lower().startswith("0x") else v)
    return bytes(v)


def _opt_addr(v: Any) -> bytes | None:
    if v is None or v == b"" or v == "":
        return None
    if isinstance(v, str):
        return to_canonical_address(v)
    if len(v) != 20:
        raise CallFailed(f"address must be 20 bytes, got {len(v)}")
    return bytes(v)


def _apply_state_override(state: Any, overrides: dict) -> None:
    """geth-style overrides: {address: {balance, nonce, code, state | stateDiff}} (Python or hex values)."""
    for addr, ov in overrides.items():
        a = _opt_addr(addr)
        if a is None:
            raise CallFailed("state override needs an address")
        if "balance" in ov:
            state.set_balance(a, _int(ov["balance"], 0))
        if "nonce" in ov:
            state.set_nonce(a, _int(ov["nonce"], 0))
        if "code" in ov:
            state.set_code(a, _bytes(ov["code"]))
        if "state" in ov and "stateDiff" in ov:
            raise CallFailed("state override: give either state or stateDiff, not both")
        if "state" in ov:
            state.delete_storage(a)
            for k, v in ov["state"].items():
                state.set_storage(a, _int(k, 0), _int(v, 0))
        for k, v in ov.get("stateDiff", {}).items():
            state.set_storage(a, _int(k, 0), _int(v, 0))
