"""``audit chain --replay``: re-execute every block from the genesis file in a fresh in-memory state.

Why: seals prove that a quorum of validators signed a header, not that the header tells the truth. A
cartel of validators could seal a state root in which someone holds tokens no transaction gave them, or
receipts without the vote logs that were emitted; and any node can serve altered receipts or balances
under perfectly valid headers. Re-executing the sealed transactions from the genesis ``alloc`` with py-evm
(the cross-check engine, never the node's state) gives the auditor its own state root, receipts root,
logs bloom and gas used for every block, and its own receipts and account state to hold the node's
answers against.

Authority: the replayed values are authoritative when the block's transactions are the sealed ones
(their recomputed ``transactionsRoot`` equals the header's), because they follow from the genesis file
and the transactions alone. Once a block's state differs, every later block is executed on the auditor's
state; its differences are consequences, grouped under the first one (``consequences``), not new errors.

Engine (``--replay-engine``): py-evm by default, on purpose. The node executes with revm, so a replay
with py-evm is an execution by *another* implementation of the EVM: a bug in revm (or in how the node
drives it) that the validators sealed shows up here as a divergence. ``revm`` replays faster (the node's
own engine, still on the auditor's own state from the genesis file) and suits a routine re-check of a long
chain; py-evm is the one to trust when the point is independence.

Checkpoints (``--checkpoint FILE``) hold the live state as content-addressed trie nodes (each value is
checked against its keccak when loaded, so a checkpoint cannot be edited into another state) plus the
block number and hash it belongs to; a later run resumes after that block.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import rlp
from eth.chains.base import ChainContext
from eth.consensus.context import ConsensusContext
from eth.constants import BLANK_ROOT_HASH, EMPTY_SHA3
from eth.db.atomic import AtomicDB
from eth.db.backends.memory import MemoryDB
from eth.exceptions import HeaderNotFound
from eth_hash.auto import keccak
from eth_utils import ValidationError
from trie import HexaryTrie

from co3chain.audit.genesis_check import alloc_state_root, expected_genesis_header
from co3chain.audit.headers import Header
from co3chain.audit.progress import progress_bar
from co3chain.audit.receipts import ReceiptsError, encode_receipt
from co3chain.audit.report import AuditReport
from co3chain.audit.rpc import RpcClient, RpcError, hex_bytes, hex_int
from co3chain.chain.builder import header_with_receipt
from co3chain.chain.engine import ENGINE_NAMES, make_engine
from co3chain.chain.genesis import Genesis
from co3chain.chain.recovery_process import TRANSACTIONS, RecoveryProcess, SenderFeed, feed_senders
from co3chain.chain.senders import SenderCache
from co3chain.chain.triehash import ordered_trie_root
from co3chain.chain.vm import QbftBlock, QbftBlockHeader, QbftVM, decode_header
from co3chain.errors import Co3Error

CHECKPOINT_VERSION = 1
#: Seconds between checkpoint writes during a long replay (and one at the end).
CHECKPOINT_EVERY_SECONDS = 30.0
#: Trie nodes kept in memory before unreachable ones (earlier blocks' states) are dropped.
COMPACT_MIN_NODES = 200_000
#: Account-state comparisons with the node per batch at the end of the replay.
STATE_CHECK_LIMIT = 20_000
AUTHORITY_REPLAY = ("the replay: it re-executes the sealed transactions from the genesis file alone, so it "
                    "does not depend on the node or the validators' word")
AUTHORITY_SEALED = ("the sealed header, because the replayed receipts hash to its receiptsRoot; the node's "
                    "answer is not what the validators sealed")


class ReplayError(Co3Error):
    """The replay cannot run (unsupported chain, unusable checkpoint)."""


# -- transactions from JSON ---------------------------------------------------------------------------
def _access_list(items: Any) -> tuple[tuple[bytes, tuple[int, ...]], ...]:
    return tuple(
        (hex_bytes(e["address"], "accessList.address", 20), tuple(hex_int(k, "storageKey") for k in e["storageKeys"]))
        for e in items or []
    )


def transaction_from_json(tj: Mapping[str, Any], builder: Any) -> Any:
    """A signed py-evm transaction from a JSON-RPC transaction object (types 0, 1, 2)."""
    kind = hex_int(tj.get("type", "0x0"), "type")
    to = b"" if tj.get("to") is None else hex_bytes(tj["to"], "to", 20)
    nonce, gas, value = hex_int(tj["nonce"], "nonce"), hex_int(tj["gas"], "gas"), hex_int(tj["value"], "value")
    data = hex_bytes(tj.get("input") or tj.get("data") or "0x", "input")
    r, s = hex_int(tj["r"], "r"), hex_int(tj["s"], "s")
    if kind == 0:
        return builder.new_transaction(nonce, hex_int(tj["gasPrice"], "gasPrice"), gas, to, value, data,
                                       hex_int(tj["v"], "v"), r, s)
    y_parity = hex_int(tj.get("yParity", tj.get("v")), "yParity")
    chain_id = hex_int(tj["chainId"], "chainId")
    if kind == 1:
        return builder.new_access_list_transaction(chain_id, nonce, hex_int(tj["gasPrice"], "gasPrice"), gas, to,
                                                   value, data, _access_list(tj.get("accessList")), y_parity, r, s)
    if kind == 2:
        return builder.new_dynamic_fee_transaction(
            chain_id, nonce, hex_int(tj["maxPriorityFeePerGas"], "maxPriorityFeePerGas"),
            hex_int(tj["maxFeePerGas"], "maxFeePerGas"), gas, to, value, data, _access_list(tj.get("accessList")),
            y_parity, r, s)
    raise RpcError(f"transaction type {kind} is not replayable on this chain")


# -- the replay engine --------------------------------------------------------------------------------
class _ChainView:
    """The slice of py-evm's chain database the VM reads: the state DB and ancestors for BLOCKHASH."""

    def __init__(self, db: AtomicDB) -> None:
        self.db = db
        self.headers: dict[bytes, QbftBlockHeader] = {}
        self._order: list[bytes] = []

    def remember(self, header: QbftBlockHeader) -> None:
        self.headers[header.hash] = header
        self._order.append(header.hash)
        if len(self._order) > 300:  # BLOCKHASH reaches 256 back
            self.headers.pop(self._order.pop(0), None)

    def get_block_header_by_hash(self, block_hash: bytes) -> QbftBlockHeader:
        try:
            return self.headers[bytes(block_hash)]
        except KeyError:
            raise HeaderNotFound(f"no header 0x{bytes(block_hash).hex()}") from None


@dataclass
class Divergence:
    """The first block whose replayed result differs, and the later blocks that inherit the difference."""

    block: int
    kinds: list[str]
    consequences: list[int] = field(default_factory=list)


@dataclass
class ReplayStats:
    blocks: int = 0
    transactions: int = 0
    gas: int = 0
    seconds: float = 0.0
    resumed_from: int | None = None
    compactions: int = 0
    engine: str = "py-evm"

    def to_dict(self) -> dict[str, Any]:
        return {"replayedBlocks": self.blocks, "replayedTransactions": self.transactions, "replayedGas": self.gas,
                "replaySeconds": round(self.seconds, 3),
                "replayBlocksPerSecond": round(self.blocks / self.seconds, 1) if self.seconds > 0 else None,
                "replayResumedFrom": self.resumed_from, "replayCompactions": self.compactions,
                "replayEngine": self.engine}


class Replayer:
    """Feed full JSON blocks in order; it executes them and adds findings to ``report``."""

    def __init__(self, genesis: Genesis, report: AuditReport, checkpoint: Path | None = None,
                 engine: str = "py-evm", recovery: RecoveryProcess | None = None) -> None:
        if engine not in ENGINE_NAMES:
            raise ReplayError(f"unknown replay engine {engine!r} (choose one of {', '.join(ENGINE_NAMES)})")
        self.genesis = genesis
        #: executes the transactions on the auditor's state (py-evm: independent of the node's revm)
        self.engine = make_engine(engine)
        #: each sender recovered once from its signature (py-evm alone recovers it twice per transaction)
        self.senders = SenderCache()
        self.report = report
        self.checkpoint_path = checkpoint
        #: every trie node and code blob by hash; earlier states' nodes are dropped by :meth:`compact`
        self.kv: dict[bytes, bytes] = {}
        self.db = AtomicDB(MemoryDB(self.kv))
        self.view = _ChainView(self.db)
        self.compact_min_nodes = COMPACT_MIN_NODES
        self._compact_at = COMPACT_MIN_NODES
        self.vm_class = QbftVM.with_block_period(genesis.block_period, genesis.fixed_base_fee)
        self.builder = self.vm_class.get_transaction_builder()
        self.chain_context = ChainContext(genesis.chain_id)
        self.stats = ReplayStats(engine=engine)
        self.touched: set[bytes] = set(genesis.alloc)
        self.divergence: Divergence | None = None
        self.stopped: str | None = None
        self.served_receipts_checked = 0
        self._last_checkpoint = time.monotonic()
        #: the genesis alloc's state root, computed once (the genesis check of the audit reuses it)
        self.genesis_state_root = alloc_state_root(genesis, self.db)
        genesis_header = expected_genesis_header(genesis, self.genesis_state_root)
        self.genesis_hash = genesis_header.plain_hash()
        self.last_number = 0
        self.last_hash = self.genesis_hash
        self.state_root = self.genesis_state_root
        self.view.remember(decode_header(rlp.encode(list(genesis_header.items))))
        #: replayed receipts of the block just executed (for the served-receipts check)
        self.receipts: list[Any] = []
        #: transactions decoded by :meth:`prefetch`, by ``id()`` of their block's JSON object
        self._prepared: dict[int, list[Any]] = {}
        #: index of each prefetched block's job in :attr:`_feed`, by ``id()`` of its JSON object
        self._job_of: dict[int, int] = {}
        self._feed: SenderFeed | None = None
        #: the sender recovery child (``None``: the shared one, for batches worth it)
        self._recovery = recovery

    # -- checkpoints ----------------------------------------------------------------------------------
    def resume(self, client: RpcClient) -> int | None:
        """Load the checkpoint file if there is one; returns the last replayed block (``None``: from genesis)."""
        path = self.checkpoint_path
        if path is None or not path.exists():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ReplayError(f"cannot read checkpoint {path}: {exc}") from None
        if data.get("version") != CHECKPOINT_VERSION or data.get("genesisHash") != "0x" + self.genesis_hash.hex():
            raise ReplayError(f"checkpoint {path} belongs to another genesis file or format; delete it to start over")
        for value_hex in data["nodes"]:
            value = bytes.fromhex(value_hex)
            self.db[keccak(value)] = value  # content-addressed: an edited node is simply another node
        self.state_root = bytes.fromhex(data["stateRoot"][2:])
        if self.state_root != BLANK_ROOT_HASH and self.state_root not in self.db:
            raise ReplayError(f"checkpoint {path} lacks its state root node")
        self.last_number = int(data["block"])
        self.last_hash = bytes.fromhex(data["blockHash"][2:])
        self.touched = {bytes.fromhex(a[2:]) for a in data.get("touched", [])}
        self.stats.resumed_from = self.last_number
        self._load_ancestors(client)
        return self.last_number

    def _load_ancestors(self, client: RpcClient) -> None:
        """The 256 headers before the resume point (BLOCKHASH), linked back from the checkpoint's hash."""
        lo = max(0, self.last_number - 256)
        blocks = client.batch([("eth_getBlockByNumber", (hex(n), False)) for n in range(lo, self.last_number + 1)])
        headers = [_qbft_header(b) for b in blocks]
        if headers[-1].state_root != self.state_root:
            raise ReplayError(f"checkpoint state root 0x{self.state_root.hex()} is not the one sealed in block "
                              f"{self.last_number}; delete the checkpoint to start over")
        expected = self.last_hash
        for h in reversed(headers):
            if h.hash != expected:
                raise ReplayError(f"the node's block {h.block_number} does not link to the checkpointed chain")
            expected = h.parent_hash
        for h in headers:
            self.view.remember(h)

    def save_checkpoint(self, force: bool = False) -> None:
        if self.checkpoint_path is None or self.stopped:
            return
        if not force and time.monotonic() - self._last_checkpoint < CHECKPOINT_EVERY_SECONDS:
            return
        nodes = sorted(v.hex() for v in _reachable(self.db, self.state_root))
        data = {"version": CHECKPOINT_VERSION, "genesisHash": "0x" + self.genesis_hash.hex(),
                "chainId": self.genesis.chain_id, "block": self.last_number, "blockHash": "0x" + self.last_hash.hex(),
                "stateRoot": "0x" + self.state_root.hex(), "touched": sorted("0x" + a.hex() for a in self.touched),
                "nodes": nodes}
        tmp = self.checkpoint_path.with_name(self.checkpoint_path.name + ".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, self.checkpoint_path)
        self._last_checkpoint = time.monotonic()

    # -- blocks ---------------------------------------------------------------------------------------
    def replay(self, block_json: Mapping[str, Any], header: Header) -> None:
        """Execute one block (the next after :attr:`last_number`) and compare its roots."""
        if self.stopped:
            return
        n = header.number
        started = time.perf_counter()
        qheader = _qbft_header_from(header)
        job = self._job_of.pop(id(block_json), None)
        if job is not None and self._feed is not None:
            self._feed.advance(job)  # learn the senders the child recovered so far, send the next blocks
        try:
            txs = self._prepared.pop(id(block_json), None)
            if txs is None:
                txs = self._transactions(block_json)
        except (RpcError, KeyError, TypeError, ValueError) as exc:
            self._stop(n, "replay-transactions", f"the node's transactions cannot be decoded: {exc}")
            return
        if txs and not all(isinstance(t, Mapping) for t in block_json["transactions"]):
            self._stop(n, "replay-transactions", "the node returned transaction hashes, not transactions")
            return
        for tj, tx in zip(block_json.get("transactions") or [], txs, strict=True):
            if tj.get("hash") and hex_bytes(tj["hash"], "hash", 32) != tx.hash:
                self.report.add("replay-transactions", f"the node reports transaction {tj['hash']} but its fields "
                                                      f"hash to 0x{tx.hash.hex()}", n)
        tx_root = ordered_trie_root([tx.encode() for tx in txs])
        if tx_root != qheader.transaction_root:
            self._stop(n, "transactions-root", "the transactions the node serves are not the ones sealed in the "
                                               f"header (transactionsRoot 0x{qheader.transaction_root.hex()}, "
                                               f"served transactions give 0x{tx_root.hex()})")
            return
        for tx in txs:
            chain_id = getattr(tx, "chain_id", None)
            if chain_id is not None and chain_id != self.genesis.chain_id:
                self.report.add("replay-chain-id", f"transaction 0x{tx.hash.hex()} is signed for chain id {chain_id}, "
                                                   f"the genesis file says {self.genesis.chain_id}", n,
                                field="config.chainId", authoritative=AUTHORITY_REPLAY)
        template = qheader.copy(state_root=self.state_root, gas_used=0, bloom=0,
                                transaction_root=BLANK_ROOT_HASH, receipt_root=BLANK_ROOT_HASH)
        vm = self.vm_class(header=template, chaindb=self.view, chain_context=self.chain_context,  # type: ignore[arg-type]
                           consensus_context=ConsensusContext(self.db))
        vm.block_preprocessing(QbftBlock(template, transactions=[], uncles=[], withdrawals=[]))
        work = template
        receipts = []
        try:
            for tx in txs:
                self.senders.prime(tx)
                receipt = self.engine.apply_transaction(vm, work, tx)
                work = header_with_receipt(work, receipt)  # add_receipt_to_header without a header copy
                receipts.append(receipt)
                self.touched.add(tx.sender)
                if tx.to:
                    self.touched.add(bytes(tx.to))
                else:
                    self.touched.add(_created(tx))
                self.touched.update(bytes(lg.address) for lg in receipt.logs)
        except (ValidationError, ValueError) as exc:
            self._stop(n, "invalid-transaction", f"transaction {len(receipts)} of the block cannot be executed on the "
                                                 f"replayed state: {exc}")
            return
        vm.state.persist()
        self.touched.add(qheader.coinbase)
        state_root = vm.state.state_root
        receipts_root = ordered_trie_root([r.encode() for r in receipts])
        self._compare(n, qheader, state_root, receipts_root, work)
        self.state_root = state_root
        self.receipts = receipts
        self.view.remember(qheader)
        self.last_number, self.last_hash = n, qheader.hash
        self.stats.blocks += 1
        self.stats.transactions += len(txs)
        self.stats.gas += work.gas_used
        if len(self.kv) > self._compact_at:
            self.compact()
        self.stats.seconds += time.perf_counter() - started
        self.save_checkpoint()

    def _transactions(self, block_json: Mapping[str, Any]) -> list[Any]:
        return [transaction_from_json(tj, self.builder) for tj in block_json.get("transactions") or []]

    def prefetch(self, blocks: Iterable[Any]) -> None:
        """Decode the transactions of the fetched ``blocks`` (JSON) now, and have the sender recovery child
        process recover their senders on the other core while :meth:`replay` executes them one by one.

        Why a child process (:mod:`co3chain.chain.recovery_process`): signature recovery is ~40 µs per
        transaction; a worker *thread* fought the replay for the GIL and cost more than it saved.
        Sound: the child answers ``(transaction hash, sender)`` pairs recovered from the signatures of the
        encodings sent to it (the auditor's own decoding of what the node served), and :meth:`replay` looks
        each sender up by the hash of the transaction it executes; anything unanswered it recovers itself.
        A block whose transactions do not decode is left to :meth:`replay` to report.
        """
        self.wait_prefetch()
        if self.stopped:
            return
        jobs: list[tuple[int, Any, int]] = []
        for block_json in blocks:
            decoded = None
            if isinstance(block_json, Mapping):
                with contextlib.suppress(Exception):  # whatever it is, replay() meets it again and reports it
                    decoded = self._transactions(block_json)
            if not decoded:
                jobs.append((TRANSACTIONS, [], 0))
                continue
            self._prepared[id(block_json)] = decoded
            self._job_of[id(block_json)] = len(jobs)
            jobs.append((TRANSACTIONS, [tx.encode() for tx in decoded], len(decoded)))
        self._feed = feed_senders(self.senders, jobs, self._recovery)
        self._feed.advance(0)  # the first block replays right away: the child starts on the second

    def wait_prefetch(self) -> None:
        """Drop the sender recovery of the previous batch and forget its undecoded leftovers."""
        if self._feed is not None:
            self._feed.close()
            self._feed = None
        self._prepared.clear()
        self._job_of.clear()

    def compact(self) -> None:
        """Keep only the nodes of the current state: a long replay's memory follows the state's size, not the
        chain's length (the store is content-addressed, so nothing the next block reads is lost)."""
        live = {keccak(v): v for v in _reachable(self.db, self.state_root)}
        self.kv.clear()
        self.kv.update(live)
        self.stats.compactions += 1
        self._compact_at = max(self.compact_min_nodes, 2 * len(self.kv))

    def _compare(self, n: int, sealed: QbftBlockHeader, state_root: bytes, receipts_root: bytes,
                 work: QbftBlockHeader) -> None:
        diffs: list[tuple[str, str, str, str]] = []  # (kind, header field, sealed, replayed)
        if sealed.state_root != state_root:
            diffs.append(("state-root", "stateRoot", "0x" + sealed.state_root.hex(), "0x" + state_root.hex()))
        if sealed.receipt_root != receipts_root:
            diffs.append(("receipts-root", "receiptsRoot", "0x" + sealed.receipt_root.hex(), "0x" + receipts_root.hex()))
        if sealed.bloom != work.bloom:
            diffs.append(("logs-bloom", "logsBloom", hex(sealed.bloom), hex(work.bloom)))
        if sealed.gas_used != work.gas_used:
            diffs.append(("gas-used", "gasUsed", str(sealed.gas_used), str(work.gas_used)))
        if not diffs:
            return
        if self.divergence is not None:
            self.divergence.consequences.append(n)
            return
        self.divergence = Divergence(n, [d[0] for d in diffs])
        for kind, name, sealed_v, replayed_v in diffs:
            self.report.add(kind, f"the sealed header says {name} {sealed_v}; re-executing the block's transactions "
                                  f"from the genesis gives {replayed_v}", n, headerField=name, expected=replayed_v,
                            actual=sealed_v, authoritative=AUTHORITY_REPLAY, rootCause=True)

    def _stop(self, n: int, kind: str, message: str) -> None:
        self.stopped = f"block {n}"
        self.report.add(kind, message + "; the replay stops here (later blocks cannot be re-executed)", n,
                        authoritative=AUTHORITY_REPLAY, rootCause=True)

    def finish(self) -> None:
        """Summarise grouped consequences and write the final checkpoint."""
        self.wait_prefetch()
        d = self.divergence
        if d is not None and d.consequences:
            span = f"{d.consequences[0]}–{d.consequences[-1]}" if len(d.consequences) > 1 else str(d.consequences[0])
            self.report.add("replay-consequence",
                            f"{len(d.consequences)} later block(s) ({span}) also differ from the replay: they are built "
                            f"on block {d.block}'s state, so they follow from it and are not separate faults", d.block,
                            severity="info", consequenceOf=d.block, blocks=d.consequences[:1000])
        self.save_checkpoint(force=True)

    # -- the node's answers against the replay -------------------------------------------------------
    def check_served_receipts(self, n: int, served: Any) -> None:
        """Compare the node's receipts for block ``n`` with the replayed ones (the sealed ones, when the roots agree)."""
        if self.stopped or (self.divergence is not None and self.divergence.block <= n):
            return
        if not isinstance(served, list) or len(served) != len(self.receipts):
            got = len(served) if isinstance(served, list) else "no"
            self.report.add("served-receipts", f"the node serves {got} receipts, the block has {len(self.receipts)}", n,
                            authoritative=AUTHORITY_SEALED)
            return
        ordered = sorted(served, key=lambda r: hex_int(r.get("transactionIndex", "0x0"), "transactionIndex"))
        for i, (mine, theirs) in enumerate(zip(self.receipts, ordered, strict=True)):
            self.served_receipts_checked += 1
            try:
                their_enc = encode_receipt(theirs)
            except ReceiptsError as exc:
                self.report.add("served-receipts", f"receipt {i}: {exc}", n, authoritative=AUTHORITY_SEALED)
                continue
            if their_enc != mine.encode():
                self.report.add("served-receipts", f"the node's receipt of transaction {i} "
                                                   f"({theirs.get('transactionHash')}) differs from the sealed one: "
                                                   f"{_receipt_diff(mine, theirs)}", n,
                                authoritative=AUTHORITY_SEALED, transaction=theirs.get("transactionHash"))

    @staticmethod
    def _account_answers(client: RpcClient, chunk: list[bytes], tag: str, with_proofs: bool) -> list[Any]:
        """[balance, nonce, code, proof-or-None] per account of ``chunk``."""
        calls: list[tuple[str, tuple[Any, ...]]] = []
        for a in chunk:
            ah = "0x" + a.hex()
            calls += [("eth_getBalance", (ah, tag)), ("eth_getTransactionCount", (ah, tag)), ("eth_getCode", (ah, tag))]
            if with_proofs:
                calls.append(("eth_getProof", (ah, [], tag)))
        try:
            got = client.batch(calls)
        except RpcError:
            if not with_proofs:
                raise
            got = client.batch([c for c in calls if c[0] != "eth_getProof"])
            with_proofs = False
        out: list[Any] = []
        step = 4 if with_proofs else 3
        for i in range(0, len(got), step):
            out += [*got[i:i + 3], got[i + 3] if with_proofs else None]
        return out

    def check_served_state(self, client: RpcClient, block: int, progress: bool | None = None) -> int:
        """Compare the node's balance, nonce, code and storage root of every touched account at ``block``."""
        if self.stopped or self.divergence is not None:
            return 0
        trie = HexaryTrie(self.db, self.state_root)
        addresses = sorted(self.touched)[:STATE_CHECK_LIMIT]
        if len(self.touched) > STATE_CHECK_LIMIT:
            self.report.add("served-state", f"the node's state is compared for {STATE_CHECK_LIMIT} of the "
                                            f"{len(self.touched)} accounts the chain touched", block, severity="info")
        tag = hex(block)
        with_proofs = True
        answers: list[Any] = []
        per_batch = max(1, client.batch_size // 4)
        with progress_bar("comparing the node's state", len(addresses), progress) as advance:
            for start in range(0, len(addresses), per_batch):
                chunk = addresses[start:start + per_batch]
                answers += self._account_answers(client, chunk, tag, with_proofs)
                if answers and answers[-1] is None and with_proofs:
                    with_proofs = False  # the node has no eth_getProof: compare without storage roots
                advance(len(chunk))
        for i, a in enumerate(addresses):
            balance, nonce, code, proof = answers[4 * i:4 * i + 4]
            raw = trie.get(keccak(a))
            mine = rlp.decode(raw) if raw else [b"", b"", BLANK_ROOT_HASH, EMPTY_SHA3]
            want = {"balance": int.from_bytes(mine[1], "big"), "nonce": int.from_bytes(mine[0], "big"),
                    "codeHash": bytes(mine[3]), "storageHash": bytes(mine[2])}
            got: dict[str, Any] = {}
            try:
                got["balance"] = hex_int(balance, "balance")
                got["nonce"] = hex_int(nonce, "nonce")
                got["codeHash"] = keccak(hex_bytes(code, "code"))
                if isinstance(proof, dict) and proof.get("storageHash"):
                    got["storageHash"] = hex_bytes(proof["storageHash"], "storageHash", 32)
            except RpcError as exc:
                self.report.add("served-state", f"0x{a.hex()}: {exc}", block, authoritative=AUTHORITY_SEALED)
                continue
            for name, value in got.items():
                if value != want[name]:
                    show = (lambda v: "0x" + v.hex()) if isinstance(value, bytes) else str
                    self.report.add("served-state", f"the node says 0x{a.hex()} has {name} {show(value)}; the replayed "
                                                    f"state sealed in block {block} gives {show(want[name])}", block,
                                    authoritative=AUTHORITY_SEALED.replace("receipts hash to its receiptsRoot",
                                                                           "state root equals its stateRoot"),
                                    account="0x" + a.hex(), field=name, expected=show(want[name]), actual=show(value))
        return len(addresses)


def _created(tx: Any) -> bytes:
    from eth._utils.address import generate_contract_address

    return generate_contract_address(tx.sender, tx.nonce)


def _qbft_header(block: Any) -> QbftBlockHeader:
    from co3chain.audit.headers import header_from_json

    if block is None:
        raise ReplayError("the node lacks a block the replay needs")
    return _qbft_header_from(header_from_json(block))


def _qbft_header_from(header: Header) -> QbftBlockHeader:
    if len(header.items) != 20:
        raise ReplayError("replay supports Cancun headers from genesis (co3chain); this chain's headers have "
                          f"{len(header.items)} fields")
    return decode_header(rlp.encode(list(header.items)))


def _receipt_diff(mine: Any, theirs: Mapping[str, Any]) -> str:
    parts = []
    status = 1 if mine.state_root == b"\x01" else 0
    try:
        if hex_int(theirs.get("status"), "status") != status:
            parts.append(f"status {theirs.get('status')} instead of {status}")
        if hex_int(theirs.get("cumulativeGasUsed"), "cumulativeGasUsed") != mine.gas_used:
            parts.append(f"cumulative gas {int(theirs['cumulativeGasUsed'], 16)} instead of {mine.gas_used}")
    except RpcError:
        parts.append("malformed status or gas")
    logs = theirs.get("logs") or []
    if len(logs) != len(mine.logs):
        parts.append(f"{len(logs)} logs instead of {len(mine.logs)}")
    else:
        for j, (lg, ml) in enumerate(zip(logs, mine.logs, strict=True)):
            if str(lg.get("data", "")).lower() != "0x" + bytes(ml.data).hex():
                parts.append(f"log {j} data differs")
            elif [str(t).lower() for t in lg.get("topics", [])] != ["0x" + t.to_bytes(32, "big").hex() for t in ml.topics]:
                parts.append(f"log {j} topics differ")
            elif str(lg.get("address", "")).lower() != "0x" + bytes(ml.address).hex():
                parts.append(f"log {j} address differs")
    return "; ".join(parts) or "logs bloom or type differs"


def _reachable(db: AtomicDB, state_root: bytes) -> Iterable[bytes]:
    """Every trie node and code blob of the state at ``state_root`` (what a checkpoint must hold)."""
    seen: set[bytes] = set()
    out: list[bytes] = []

    def walk(ref: Any, account_trie: bool) -> None:
        if isinstance(ref, list):  # an inlined node
            visit(ref, account_trie)
            return
        if not ref or len(ref) != 32 or ref in seen or ref == BLANK_ROOT_HASH:
            return
        seen.add(ref)
        raw = db[ref]
        out.append(raw)
        visit(rlp.decode(raw), account_trie)

    def visit(node: list, account_trie: bool) -> None:
        if len(node) == 17:
            for child in node[:16]:
                walk(child, account_trie)
            if account_trie and node[16]:
                account(node[16])
        elif len(node) == 2:
            is_leaf = node[0][0] >> 4 in (2, 3)
            if is_leaf:
                if account_trie:
                    account(node[1])
            else:
                walk(node[1], account_trie)

    def account(value: bytes) -> None:
        _nonce, _balance, storage_root, code_hash = rlp.decode(value)
        walk(bytes(storage_root), False)
        if code_hash != EMPTY_SHA3 and code_hash not in seen:
            seen.add(code_hash)
            out.append(db[code_hash])

    walk(state_root, True)
    return out
