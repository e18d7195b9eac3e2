"""The QBFT consensus driver: hosts the pure :class:`QbftEngine` over :class:`P2PNode` inside the node.

It is a :class:`~co3chain.node.producer.BlockProducer` (``run``/``stop``/``status``), so the node service
runs it exactly like the single-validator producer. One asyncio loop, one *consumer task*: every engine
input (peer message, timer, built block, restart after sync) goes through one queue, so the engine is
never re-entered and its actions run in order. Slow work leaves the loop:

* block building (:class:`~co3chain.node.block_filler.BlockFiller`: as proposer, transactions are executed
  into the open block during the block period) and proposal verification (``verify_proposal``: execution of
  every transaction) run in worker threads; a PROPOSAL is verified *before* it reaches the engine, whose
  synchronous ``validate_block`` then hits the remembered verdict (and the chain's cache of executed
  blocks, so importing the finalized block does not execute it again);
* imports run in a worker thread under one asyncio lock shared with :mod:`co3chain.node.sync`.

Validator set: :class:`~co3chain.node.sync.ValidatorSetIndex` replays every block's extraData vote
(``NodeChain.validator_provider``), so imports and proposals are checked against the set that the chain's
own votes imply. Votes of this node (``qbft_proposeValidatorVote``) live in
:class:`~co3chain.node.validator_votes.PersistentVotes` (a file in the data directory).

Transactions: accepted RPC transactions are gossiped to peers (batched per loop tick); transactions from
peers enter the pool and are relayed only if the pool accepted them. A peer that sends an undecodable
transaction or consensus message is disconnected and banned by the p2p layer (:class:`PeerMisbehaved`);
the node keeps running.

Allow-list: the current validators, the configured static peers, and subjects of this node's pending
*add* votes (an operator voting a PA in lets its node connect and sync before the vote applies).
Add votes are only cast for a subject that is connected and synced (see
:meth:`PersistentVotes.next_vote`): adding an offline validator to a small set would cost the set its
quorum — the "adding a validator to a one-validator network halts it" failure mode.

A node whose key is not (yet) a validator runs the same driver: the engine stays passive, the node
follows the chain through sync and starts sealing from the block where a vote adds it.

Account permissioning (:mod:`co3chain.node.permissioning`, when configured): a proposal carrying a
transaction whose sender is refused at the parent block is rejected like an invalid block, and this
node's own proposals leave such senders out. Blocks with a quorum of commit seals are not re-checked.

Empty blocks: QBFT needs a block per height to keep its timers meaningful, so the driver always builds
one every block period (``producer.empty_blocks = false`` applies only to single-validator sealing).

Canonical stored blocks: the same block (hash) can be sealed in several rounds and by several quorums;
:mod:`co3chain.node.seal_book` picks one form deterministically (lowest committed round, lowest-address
quorum of seals) and nodes exchange seals until each stores exactly that form — see that module for why.

Wire format of a CONSENSUS payload: one byte message code (0x12..0x15) followed by the RLP message body;
code 0x16 is a co3chain seal announcement (:class:`~co3chain.node.seal_book.Announcement`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_keys import keys

from co3chain.chain.chain import BlockImportError, NodeChain, StaleBlockError
from co3chain.chain.vm import QbftBlock
from co3chain.consensus.qbft.engine import (
    Action,
    Broadcast,
    Finalize,
    NeedBlock,
    ParentInfo,
    QbftConfig,
    QbftEngine,
    RoundStarted,
    ScheduleTimer,
)
from co3chain.consensus.qbft.evm_block import EvmBlock
from co3chain.consensus.qbft.extradata import QbftExtraData
from co3chain.consensus.qbft.messages import (
    Commit,
    KeySigner,
    MalformedMessageError,
    Message,
    Proposal,
    decode_message,
    encode_message,
)
from co3chain.consensus.qbft.timers import DEFAULT_MAX_ROUND_TIMEOUT, RoundTimerExpiry
from co3chain.node.block_filler import FINAL_FILL_SHARE, BlockFiller
from co3chain.node.build_budget import BuildBudget
from co3chain.node.membership import PeerAdmin, PeerMembership
from co3chain.node.producer import SealedBlockInfo
from co3chain.node.rawtx import RawTxShapeError, check_raw_transaction
from co3chain.node.seal_book import (
    SEALS_CODE,
    WINDOW,
    Announcement,
    BadAnnouncement,
    SealBook,
    form_of,
    speaks_seals,
    with_form,
)
from co3chain.node.sync import ChainSync, ValidatorSetIndex
from co3chain.node.validator_votes import PersistentVotes
from co3chain.node.wire_block import block_from_items
from co3chain.p2p import P2PConfig, P2PHandlers, P2PNode, Peer, PeerMisbehaved, Status

log = logging.getLogger("co3chain.node.qbft")

#: Remembered proposal verdicts (block hash → valid?).
_VERDICTS_KEPT = 64
#: Decoded proposed blocks kept for the engine (a height's proposals, a few rounds).
_DECODED_KEPT = 8
#: Share of the round-0 timeout a proposer may spend executing one block's transactions (during the period
#: and at the slot together). The rest is for every other validator to re-execute the block (on shared
#: cores, slower than the build), exchange PREPARE/COMMIT and import: a block that takes longer to verify
#: than the round timer forces a round change, and the re-proposal of the same heavy block in a longer
#: round (measured: p50 latency 20 s instead of 2 s). It is the only bound on the first heavy block after a
#: quiet spell (the adaptive gas cap has no sample yet) and on a block whose slot passed before it was opened
#: (its final fill is not time-boxed): set to 0.35 (the cap's share), that block took ~0.7 s at the slot and
#: the network fell into a round change (docs/performance-network.md, session 5).
BUILD_BUDGET_FRACTION = 0.125
#: Once this node has *measured* how long validators take to verify a block (the adaptive gas cap of
#: :class:`BuildBudget` is informed), execution during the block period may use this share of the round-0
#: timeout: the gas cap then bounds what the others verify, and the fixed bound above only made the proposer
#: stop filling a quarter of a second into a period it then sat out idle (measured: blocks of ~950
#: transfers with the pool holding thousands, the filler done 0.15 s before the slot). A block opened after
#: its slot (nothing filled during the period) still gets only the fixed bound at the slot.
INFORMED_BUILD_FRACTION = 0.35
#: A peer is "synced" for add-vote purposes when its head is at most this many blocks behind ours.
SYNCED_LAG = 2


@dataclass(frozen=True)
class DriverSettings:
    """Where to listen and whom to talk to (from the node config's ``[p2p]`` section)."""

    p2p_host: str = "127.0.0.1"
    p2p_port: int = 30303
    peers: tuple[str, ...] = ()
    data_dir: Path | None = None
    max_block_txs: int = 2000
    p2p_config: P2PConfig | None = None
    #: Host other nodes dial (``[p2p] advertise_host``); only shown in the peer string this node logs.
    advertise_host: str | None = None


class GossipingTxPool:
    """The tx pool as RPC sees it: every accepted transaction is also gossiped to the peers."""

    def __init__(self, pool: Any, gossip: Callable[[bytes], None]) -> None:
        self._pool = pool
        self._gossip = gossip

    def add(self, raw: bytes) -> bytes:
        # a client may spread one sender's nonces over the PAs' nodes: nonce n+17 can reach this node before
        # n..n+16 arrive by gossip; it is held (bounded, see TxPool) and gossiped, not refused
        add = getattr(self._pool, "add_holding_gaps", self._pool.add)
        tx_hash = add(raw)
        self._gossip(bytes(raw))
        return tx_hash

    def __getattr__(self, name: str) -> Any:  # status, pending_nonce, content, ... unchanged
        return getattr(self._pool, name)


class QbftDriver:
    """Hosts the QBFT engine for this node (see the module docstring)."""

    kind = "qbft"

    def __init__(
        self,
        chain: NodeChain,
        txpool: Any,
        private_key: bytes,
        settings: DriverSettings,
        *,
        on_sealed: Callable[[SealedBlockInfo], None] | None = None,
        on_round: Callable[[int, int], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.chain = chain
        self.txpool = txpool
        self._key = private_key
        self.address = keys.PrivateKey(private_key).public_key.to_canonical_address()
        self.settings = settings
        self.on_sealed = on_sealed
        self.on_round = on_round
        self.clock = clock
        genesis = chain.genesis
        self.block_period = genesis.block_period
        self.epoch_length = genesis.epoch_length
        self.config = QbftConfig(
            request_timeout=float(genesis.request_timeout),
            max_round_timeout=float(genesis.max_request_timeout or DEFAULT_MAX_ROUND_TIMEOUT),
        )
        self.sets = ValidatorSetIndex(chain)
        chain.validator_provider = self.sets.provider
        self.votes = PersistentVotes.in_data_dir(settings.data_dir)
        self.engine = QbftEngine(KeySigner(private_key), self, self.config)
        #: gas per block that the validators can verify within the round (learned from measurements)
        self.budget = BuildBudget(self.config.request_timeout)
        self.filler = BlockFiller(
            chain, txpool, self.address, max_txs=settings.max_block_txs, tx_filter=self._permitted,
            max_exec_seconds=self.config.request_timeout * BUILD_BUDGET_FRACTION, gas_cap=self.budget.gas_cap,
        )
        self.membership = PeerMembership(
            [_peer_pubkey(p) for p in settings.peers], _validator_history(self.sets), self.sets.current
        )
        self.p2p = P2PNode(
            private_key,
            settings.p2p_host,
            settings.p2p_port,
            static_peers=settings.peers,
            allowed_pubkeys=self._allowlist(),
            network_id=chain.chain_id,
            genesis_hash=chain.genesis_header.hash,
            handlers=P2PHandlers(
                on_tx=self._on_peer_txs,
                on_consensus=self._on_consensus,
                on_status=self._on_status,
                get_blocks=self._get_blocks,
                head_status=self._head_status,
            ),
            config=settings.p2p_config,
        )
        self.sync = ChainSync(
            chain,
            self.sets,
            request_blocks=self.p2p.request_blocks,
            peers=lambda: self.p2p.peers,
            import_block=self.import_block,
            on_synced=self._request_restart,
            penalize=lambda peer: self.p2p.ban(peer.node_id),
        )
        self.sets.add_listener(self._on_validator_set_changed)
        self.peer_admin = PeerAdmin(self.p2p, self.membership, lambda: self.p2p.update_allowlist(self._allowlist()))
        self._queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._import_lock = asyncio.Lock()
        self._stop = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._verdicts: OrderedDict[bytes, bool] = OrderedDict()
        #: proposed blocks decoded from the wire (encoded bytes → block), see :meth:`decode_block`
        self._decoded: OrderedDict[bytes, EvmBlock] = OrderedDict()
        #: locally accepted transactions waiting for the next gossip flush (appended by the RPC intake thread)
        self._outgoing_txs: list[bytes] = []
        self._outgoing_lock = threading.Lock()
        #: cross-thread wake-ups of the event loop for outgoing gossip (one per batch, see :meth:`gossip_tx`)
        self.gossip_wakeups = 0
        #: gossiped transactions admitted, and refused by reason ("already known", "nonce too low", ...)
        self.gossip_admitted = 0
        self.gossip_refusals: Counter[str] = Counter()
        #: gossiped transaction batches waiting for admission (see :meth:`_on_peer_txs`)
        self._admissions: deque[tuple[Peer, list[bytes]]] = deque()
        self._admitting: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.last: SealedBlockInfo | None = None
        #: commit seals known for recent blocks: one canonical stored form on every node
        self.seal_book = SealBook()
        self._seal_lock = asyncio.Lock()
        #: :class:`~co3chain.node.permissioning.AccountPermissioning` (set by the factory): proposals with
        #: a transaction from a refused sender are rejected, and this node does not propose one.
        self.permissioning: Any = None
        self.round_changes = 0
        self.finalized_blocks = 0
        #: ``fn(seconds, how)`` after each import (verification + execution + write): node metrics.
        self.on_import_seconds: Callable[[float, str], None] | None = None

    # ------------------------------------------------------------------ BlockProducer interface
    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self.p2p.start()
        advertised = self.settings.advertise_host or self.p2p.host
        log.info("qbft driver up: validator 0x%s listening %s:%d peer %s@%s:%d peers=%d validators=%d",
                 self.address.hex(), self.p2p.host, self.p2p.port, self.p2p.node_id.hex(), advertised,
                 self.p2p.port, len(self.settings.peers), len(self.sets.current))
        self.sync.start()
        consumer = asyncio.create_task(self._consume(), name="qbft-consumer")
        self._request_restart()
        try:
            await self._stop.wait()
        finally:
            consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await consumer
            for task in list(self._tasks):
                task.cancel()
            await self.sync.stop()
            async with self._import_lock:  # let an import in progress finish
                pass
            await self.p2p.stop()

    def stop(self) -> None:
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._stop.set)
        else:
            self._stop.set()

    def status(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "validator": "0x" + self.address.hex(),
            "isValidator": self.address in self.sets.current,
            "height": self.engine.height,
            "round": self.engine.round,
            "peers": len(self.p2p.peers),
            "validators": len(self.sets.current),
            "roundChanges": self.round_changes,
            "buildBudget": self.budget.status(self.chain.head.gas_limit),
            "lastBlock": None if self.last is None else self.last.number,
            "syncing": self.sync.syncing,
            "txGossip": {"admitted": self.gossip_admitted, "refused": dict(self.gossip_refusals)},
        }

    # ------------------------------------------------------------------ RPC wiring
    def attach_rpc(self, backend: Any, dispatcher: Any = None) -> None:
        """Expose votes, peers, sync state and tx gossip to RPC; add the qbft_ methods of this module.

        ``backend`` is the :class:`~co3chain.rpc.backend.RpcBackend` (its fields are read at call time, so
        this may run after the dispatcher was built); ``dispatcher`` gets :mod:`co3chain.rpc.qbft_methods`.
        """
        from co3chain.rpc.admin_methods import register_admin_methods
        from co3chain.rpc.qbft_methods import register_qbft_methods

        backend.consensus = self
        backend.txpool = GossipingTxPool(self.txpool, self.gossip_tx)
        backend.peer_count = self.peer_count
        backend.syncing = self.sync.status
        if dispatcher is not None:
            register_qbft_methods(dispatcher, self.chain, self)
            register_admin_methods(dispatcher, self.peer_admin)

    def peer_count(self) -> int:
        return len(self.p2p.peers)

    def propose_vote(self, address: bytes, add: bool) -> None:
        self.votes.propose(address, add)
        self._refresh_allowlist()

    def discard_vote(self, address: bytes) -> bool:
        had = self.votes.discard(address)
        self._refresh_allowlist()
        return had

    def pending_votes(self) -> dict[bytes, bool]:
        return self.votes.pending()

    # ------------------------------------------------------------------ engine BlockHost
    def decode_block(self, encoded: bytes) -> EvmBlock:
        """The proposal's block, decoded once per node: the pre-verification (worker thread) leaves it in
        ``_decoded``, so the engine's call for the same bytes costs a dictionary lookup."""
        block = self._decoded.get(encoded)
        if block is None:
            block = EvmBlock.decode(encoded, QbftBlock)
        return block

    def _decode_proposed(self, encoded: bytes, items: Any) -> EvmBlock | None:
        """Build a proposed block from its wire items, reusing pooled transactions (worker thread).

        ``None`` for junk (the engine refuses the proposal itself when it calls :meth:`decode_block`).
        """
        block = self._decoded.get(encoded)
        if block is not None:
            return block
        try:
            if items is None:
                block = EvmBlock.decode(encoded, QbftBlock)
            else:
                block = EvmBlock(block_from_items(encoded, items, getattr(self.txpool, "get", None)))
        except Exception:  # junk of any kind: the engine's decode_block refuses it and says why
            return None
        self._decoded[encoded] = block
        while len(self._decoded) > _DECODED_KEPT:
            self._decoded.popitem(last=False)
        return block

    def validate_block(self, block: EvmBlock) -> bool:  # type: ignore[override]
        verdict = self._verdicts.get(block.hash)
        if verdict is not None:
            return verdict
        return self._verify_proposal(block)

    def with_round(self, block: EvmBlock, round_: int) -> EvmBlock:  # type: ignore[override]
        return block.with_round(round_)

    def _verify_proposal(self, block: EvmBlock) -> bool:
        """Header rules + execution of a proposal on the head (worker thread, or the loop as a fallback)."""
        try:
            started = time.perf_counter()
            self.chain.verify_proposal(block.block)
            self.budget.observe_verify(time.perf_counter() - started, block.block.header.gas_used)
            if self.permissioning is not None:
                self.permissioning.check_block(block.block)
            ok = True
        except BlockImportError as exc:
            log.warning("proposal for #%d rejected: %s", block.height, exc)
            ok = False
        except Exception:
            log.exception("proposal for #%d could not be verified", block.height)
            ok = False
        self._verdicts[block.hash] = ok
        while len(self._verdicts) > _VERDICTS_KEPT:
            self._verdicts.popitem(last=False)
        return ok

    # ------------------------------------------------------------------ p2p handlers
    def _head_status(self) -> Status:
        head = self.chain.head
        return Status(self.chain.chain_id, self.chain.genesis_header.hash, head.block_number, head.hash)

    def _on_status(self, peer: Peer, status: Status) -> None:
        self.sync.on_peer_status(peer, status)

    async def _get_blocks(self, start: int, count: int) -> list[bytes]:
        def read() -> list[bytes]:
            out: list[bytes] = []
            for number in range(start, start + count):
                raw = self.chain.get_block_rlp_by_number(number)  # stored bytes are the wire form
                if raw is None:
                    break
                out.append(raw)
            return out

        return await asyncio.to_thread(read)

    def _on_consensus(self, peer: Peer, raw: bytes) -> bool | None:
        if len(raw) < 2:
            raise PeerMisbehaved("empty QBFT message")
        if raw[0] == SEALS_CODE:
            self._on_seals(peer, raw[1:])
            return False  # each node announces its own form; never relayed
        try:
            message = decode_message(raw[0], raw[1:])
        except MalformedMessageError as exc:
            raise PeerMisbehaved(f"malformed QBFT message: {exc}") from None
        height = message.payload.height
        head = self.chain.head.block_number
        if isinstance(message, Commit):
            try:
                self._observe_commit(message, head)
            except Exception:  # bookkeeping only: never let it cost the peer or the message
                log.debug("commit seal of #%d not recorded", height, exc_info=True)
        if height <= head:
            return False  # finished height: nothing to do, nothing to relay
        if height > head + 1:
            self.sync.on_future_height(height)
        if message.author not in self.sets.current:
            if height == head + 1:
                return False  # not a validator of this height: drop, do not relay
            # a later height may have another set: the engine buffers it (bounded per author), no relay
            self._queue.put_nowait(("msg", message))
            return False
        self._queue.put_nowait(("msg", message))
        return None

    def _on_peer_txs(self, peer: Peer, raws: list[bytes]) -> bool:
        """Queue gossiped transactions for admission in a worker thread; relay the accepted ones after.

        Why not admit here: this runs on the event loop that also carries QBFT messages and timers, and
        admission (RLP decode, sender recovery, checks) of a saturated network's gossip kept the loop busy
        past the round timer (round changes with blocks well under the gas cap). Batches are admitted one
        after the other, in arrival order, so one sender's nonces stay in order. Malformed RLP (a cheap,
        bounded check) still disconnects the peer at once; deeper decoding errors ban it from the worker.
        """
        for raw in raws:
            try:
                check_raw_transaction(raw)
            except RawTxShapeError as exc:
                raise PeerMisbehaved(f"undecodable transaction: {exc}") from None
        self._admissions.append((peer, raws))
        if self._admitting is None or self._admitting.done():
            self._admitting = asyncio.get_running_loop().create_task(self._admit_gossip())
            self._tasks.add(self._admitting)  # cancelled with the driver's other tasks on stop
            self._admitting.add_done_callback(self._tasks.discard)
        return False  # relayed by _admit_gossip once admitted

    async def _admit_gossip(self) -> None:
        while self._admissions:
            peer, raws = self._admissions.popleft()
            accepted, undecodable = await asyncio.to_thread(self._admit, raws)
            if undecodable:  # no honest node relays that
                log.warning("peer 0x%s sent an undecodable transaction: %s", peer.address.hex()[:12], undecodable)
                self.p2p.ban(peer.node_id)
            if accepted and self.p2p.running:
                self.p2p.broadcast_txs(accepted, exclude=peer.node_id)

    def _admit(self, raws: list[bytes]) -> tuple[list[bytes], str]:
        """Admit one gossiped batch (worker thread): ``(accepted raws, undecodable reason or "")``.

        A transaction beyond its sender's queued limit is held by the pool, not refused
        (:meth:`TxPool.add_holding_gaps`): nonces arrive from several peers in any order, and gossip delivers
        each transaction once, so a refusal here lost it on this node for good.
        """
        add = getattr(self.txpool, "add_holding_gaps", self.txpool.add)
        accepted: list[bytes] = []
        for raw in raws:
            try:
                add(raw)
            except Exception as exc:
                if getattr(exc, "code", None) == -32602:
                    return accepted, str(exc)
                # known, nonce too low, pool full...: normal under gossip; counted for operators
                self.gossip_refusals[_refusal_kind(str(exc))] += 1
                continue
            accepted.append(raw)
        self.gossip_admitted += len(accepted)
        return accepted, ""

    def gossip_tx(self, raw: bytes) -> None:
        """Queue a locally accepted transaction for gossip (thread-safe; one loop wake-up per batch).

        Why not ``call_soon_threadsafe`` per transaction: the RPC intake thread accepts dozens of
        transactions per wake-up, and each cross-thread call writes to the loop's self-pipe and wakes the
        loop (which also carries the QBFT messages and timers) for one transaction. Here the first
        transaction of a batch schedules the flush; the ones accepted before the loop gets to it join the
        same list and leave in the same TX frame(s).
        """
        loop = self._loop
        if loop is None:
            return
        with self._outgoing_lock:
            first = not self._outgoing_txs
            self._outgoing_txs.append(raw)
        if not first:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            loop.call_soon(self._flush_txs)
        else:
            with contextlib.suppress(RuntimeError):  # the loop closed: the node is stopping
                loop.call_soon_threadsafe(self._flush_txs)
                self.gossip_wakeups += 1

    #: The name the node service looks for (``_GossipingPool``).
    broadcast_local_tx = gossip_tx

    def _flush_txs(self) -> None:
        with self._outgoing_lock:
            batch, self._outgoing_txs = self._outgoing_txs, []
        if batch and self.p2p.running:
            self.p2p.broadcast_txs(batch)

    # ------------------------------------------------------------------ canonical stored form (seal_book)
    def _observe_commit(self, commit: Commit, head: int) -> None:
        """Every COMMIT is a seal for the seal book — also late ones, which the engine ignores."""
        payload = commit.payload
        if payload.height > head:
            if payload.height <= head + 2:
                self.seal_book.remember_commit(payload.height, payload.round, payload.digest, payload.commit_seal)
            return
        header = self._recent_header(payload.height, head)
        if header is not None and self.seal_book.add_commit(header, payload.round, payload.digest,
                                                            payload.commit_seal):
            self._spawn(self._store_form(payload.height))

    def _recent_header(self, height: int, head: int) -> Any:
        """The stored header of ``height`` when it is within the reconciled window (its seals learnt)."""
        if not self.seal_book.in_window(height, head) or height == 0:
            return None
        header = self.chain.get_header_by_number(height)
        if header is not None and self.seal_book.form(header) is None:
            self.seal_book.add_stored(header)
        return header

    def _on_seals(self, peer: Peer, body: bytes) -> None:
        try:
            ann = Announcement.decode(body)
        except BadAnnouncement as exc:
            raise PeerMisbehaved(str(exc)) from None
        try:
            self._merge_announcement(peer, ann)
        except Exception:  # a well-formed announcement whose seals do not fit our block: ignore it
            log.debug("seal announcement for #%d ignored", ann.height, exc_info=True)

    def _merge_announcement(self, peer: Peer, ann: Announcement) -> None:
        header = self._recent_header(ann.height, self.chain.head.block_number)
        if header is None:
            return
        limit = len(QbftExtraData.decode(header.extra_data).validators)
        if self.seal_book.add_seals(header, ann.round, ann.seals[:limit]):
            self._spawn(self._store_form(ann.height))
        ours = self.seal_book.form(header)
        if (ours is not None and (ours.round, ours.seals) != (ann.round, ann.seals) and self.p2p.running
                and speaks_seals(peer.client_id)):
            # the sender stores a form that ours beats (ours merged theirs): tell it ours
            with contextlib.suppress(Exception):
                self.p2p.send_consensus(peer, Announcement(ann.height, ours.round, ours.seals).encode())

    async def _store_form(self, height: int) -> None:
        """Rewrite the stored block ``height`` when the seal book knows a better form; announce it."""
        async with self._seal_lock:
            header = self.chain.get_header_by_number(height)
            if header is None:
                return
            form = self.seal_book.form(header)
            if form is None or form == form_of(header.extra_data):
                return
            try:
                stored = await asyncio.to_thread(self.chain.replace_seals, header.hash,
                                                 with_form(header.extra_data, form))
            except BlockImportError as exc:
                log.warning("block #%d: better seal form not stored: %s", height, exc)
                return
            log.debug("block #%d: stored form now round %d, %d seals", height, form.round, len(form.seals))
            self._announce(stored)

    def _announce(self, header: Any) -> None:
        if not self.p2p.running:
            return
        form = form_of(header.extra_data)
        older = [p for p in self.p2p.peers if not speaks_seals(p.client_id)]
        self.p2p.broadcast_consensus(Announcement(header.block_number, form.round, form.seals).encode(), older)

    def _after_import(self, header: Any) -> None:
        """Learn an imported block's seals (and early COMMITs), fix its form if needed, announce it."""
        number = header.block_number
        self.seal_book.prune(number)
        self.seal_book.add_stored(header)
        best = max([p.status.head_number for p in self.p2p.peers if p.status is not None] + [number])
        if number < best - WINDOW:
            return  # deep in a sync: peers have moved on from this block
        form = self.seal_book.form(header)
        if form is not None and form != form_of(header.extra_data):
            self._spawn(self._store_form(number))
        else:
            self._announce(header)

    # ------------------------------------------------------------------ allow-list / validator set
    def _allowlist(self) -> list[bytes]:
        adds = [a for a, add in self.votes.pending().items() if add]
        return self.membership.allowlist(self.sets.current, adds)

    def _refresh_allowlist(self) -> None:
        if self._loop is None:
            return
        self._loop.call_soon_threadsafe(lambda: self.p2p.update_allowlist(self._allowlist()))

    def _on_validator_set_changed(self, validators: tuple[bytes, ...]) -> None:
        self.votes.prune_applied(validators)
        self.membership.on_validator_set(validators)
        self._refresh_allowlist()

    def _eligible_adds(self) -> set[bytes]:
        head = self.chain.head.block_number
        return {
            p.address for p in self.p2p.peers if p.status is not None and p.status.head_number >= head - SYNCED_LAG
        }

    # ------------------------------------------------------------------ import (shared with sync)
    async def import_block(self, block: QbftBlock, how: str = "synced", verify_seals: bool = True) -> bool:
        """Verify (seals against the tracked set, execution) and import; ``False`` if rejected.

        ``how`` is for the log line: "sealed" (finalized by consensus here) or "synced" (fetched).
        ``verify_seals=False`` only for seals this node recovered already (see :meth:`_finalize`).
        """
        async with self._import_lock:
            number = block.header.block_number
            if number <= self.chain.head.block_number:
                return self.chain.get_canonical_hash(number) == block.header.hash
            started = time.perf_counter()
            try:
                header = await asyncio.to_thread(self.chain.import_block, block, verify_seals)
            except BlockImportError as exc:
                log.warning("import of block #%d refused: %s", number, exc)
                return False
        if self.on_import_seconds is not None:
            self.on_import_seconds(time.perf_counter() - started, how)
        if self.p2p.running:
            self.p2p.announce_status()
        self._after_import(header)
        log.info("block %d %s txs=%d gas=%d proposer=0x%s hash=0x%s", header.block_number, how,
                 len(block.transactions), header.gas_used, bytes(header.coinbase).hex()[:8], header.hash.hex()[:16])
        return True

    # ------------------------------------------------------------------ the consumer
    def _request_restart(self) -> None:
        self._queue.put_nowait(("restart", None))

    def _post(self, kind: str, item: Any) -> None:
        self._queue.put_nowait((kind, item))

    async def _consume(self) -> None:
        while True:
            kind, item = await self._queue.get()
            try:
                actions = await self._handle(kind, item)
                await self._execute(actions)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("consensus step %s failed", kind)

    async def _handle(self, kind: str, item: Any) -> list[Action]:
        if kind == "msg":
            if isinstance(item, Proposal):
                await self._preverify(item)
            return self.engine.on_message(item, self.clock())
        if kind == "timer":
            return self.engine.on_timer(item, self.clock())
        if kind == "built":
            return self.engine.on_block_built(item, self.clock())
        if kind == "restart":
            return self._restart_engine()
        raise ValueError(f"unknown consensus event {kind}")

    async def _preverify(self, proposal: Proposal) -> None:
        """Decode (once) and verify a proposal for the next height in a worker thread, off the event loop."""
        payload = proposal.payload
        if payload.height != self.chain.head.block_number + 1:
            return

        def decode_and_verify() -> None:
            block = self._decode_proposed(payload.block, payload.block_items)
            if block is not None and block.hash not in self._verdicts:
                self._verify_proposal(block)

        await asyncio.to_thread(decode_and_verify)

    def _restart_engine(self) -> list[Action]:
        head = self.chain.head
        height = head.block_number + 1
        if self.engine.height is not None and self.engine.height >= height:
            return []
        parent = ParentInfo(
            proposer=bytes(head.coinbase),
            validators=self.sets.current,
            round0_start=max(head.timestamp + self.block_period, self.clock()),
        )
        return self.engine.start(height, parent, self.clock())

    async def _execute(self, actions: Iterable[Action]) -> None:
        pending = list(actions)
        while pending:
            action = pending.pop(0)
            if isinstance(action, Broadcast):
                message: Message = action.message
                if self.p2p.running:
                    self.p2p.broadcast_consensus(bytes([message.code]) + encode_message(message))
            elif isinstance(action, ScheduleTimer):
                self._schedule_timer(action.expiry, action.at)
            elif isinstance(action, NeedBlock):
                self._spawn(self._build(action.height, action.round))
            elif isinstance(action, Finalize):
                pending = (await self._finalize(action)) + pending
            elif isinstance(action, RoundStarted):
                if self.on_round is not None:
                    self.on_round(action.height, action.round)
                if action.round > 0:
                    self.round_changes += 1
                    log.info("height %d round %d proposer 0x%s timeout %.1fs", action.height, action.round,
                             action.proposer.hex()[:8], action.timeout)

    def _schedule_timer(self, expiry: RoundTimerExpiry, at: float) -> None:
        assert self._loop is not None
        self._loop.call_later(max(0.0, at - self.clock()), self._post, "timer", expiry)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _build(self, height: int, round_: int) -> None:
        """Answer NeedBlock: fill a block on the head during the block period, close it at the slot.

        Transactions are executed as they arrive (:class:`BlockFiller`), so at the slot only the last
        arrivals and the state commit remain; the round may move on meanwhile, which abandons the block.
        """
        try:
            parent = self.chain.head
            if parent.block_number != height - 1:
                return

            def wanted() -> bool:
                return (not self._stop.is_set() and self.engine.height == height and self.engine.round == round_
                        and self.chain.head.hash == parent.hash)

            target = parent.timestamp + self.block_period
            opening = QbftExtraData(validators=list(self.sets.current), round=round_)
            self.filler.max_exec_seconds = self._exec_allowance()
            builder = self.filler.open(max(target, int(self.clock())), opening.encode())
            await self.filler.fill_until(builder, target, self.clock, wanted)
            if not wanted():
                return
            started = time.perf_counter()
            validators = self.sets.current
            vote = self.votes.next_vote(validators, height, self.epoch_length, eligible=self._eligible_adds())
            extra = QbftExtraData(validators=list(validators), vote=vote, round=round_)
            # the last arrivals go in too: briefly when the block was filled during the period, else (a
            # round > 0, or a pool that filled at the last instant) within the block's execution budget
            late = self.config.request_timeout * BUILD_BUDGET_FRACTION
            budget = FINAL_FILL_SHARE * self.block_period if builder.included else late
            result = await asyncio.to_thread(self.filler.finish, builder, budget, extra.encode())
            self.budget.observe_build(builder.exec_seconds + builder.commit_seconds, result.block.header.gas_used)
            block = EvmBlock(result.block)
            self._verdicts[block.hash] = True
            self.last = SealedBlockInfo(
                number=height, txs=len(result.included), gas_used=result.block.header.gas_used,
                rejected=len(result.rejected), build_seconds=time.perf_counter() - started,
                timestamp=builder.timestamp, interval=builder.timestamp - parent.timestamp,
            )
            self._post("built", block)
        except asyncio.CancelledError:
            raise
        except StaleBlockError:
            log.info("block %d round %d abandoned: the head moved while it was being filled", height, round_)
        except Exception:
            log.exception("building block %d round %d failed", height, round_)

    def _exec_allowance(self) -> float:
        """Seconds of execution one block may hold (see :data:`INFORMED_BUILD_FRACTION`)."""
        informed = self.budget.verify_samples > 0
        return self.config.request_timeout * (INFORMED_BUILD_FRACTION if informed else BUILD_BUDGET_FRACTION)

    def _permitted(self, txs: Sequence[Any]) -> Sequence[Any]:
        """Block-builder filter: only senders allowed by account permissioning (when configured)."""
        return txs if self.permissioning is None else self.permissioning.filter_transactions(txs)

    async def _finalize(self, action: Finalize) -> list[Action]:
        sealed: EvmBlock = action.block.sealed(action.commit_seals)  # type: ignore[attr-defined]
        header = sealed.block.header
        # store the canonical form right away (engine seals + every COMMIT seen for this height); the engine
        # recovered each of its seals on the COMMIT that carried it, so they are recorded as they are
        if action.signers:
            self.seal_book.add_verified(header, action.round, action.signers, action.commit_seals)
        self.seal_book.add_stored(header)
        form = self.seal_book.form(header)
        if form is not None and form != form_of(header.extra_data):
            sealed = action.block.with_round(form.round).sealed(form.seals)  # type: ignore[attr-defined]
        # a form from the seal book is a quorum of recovered seals by this block's validators (whose list the
        # import checks against the chain's set): the import need not recover them a second time
        ok = await self.import_block(sealed.block, "sealed", verify_seals=form is None)
        if not ok:
            self.sync.on_future_height(sealed.height + 2)  # fetch it from a peer instead
            return []
        self.finalized_blocks += 1
        if self.on_sealed is not None and self.last is not None and self.last.number == sealed.height:
            self.on_sealed(self.last)
        return self._restart_engine()


class QbftProducer(QbftDriver):
    """:class:`QbftDriver` with the constructor the node service calls (config ``[p2p]`` section)."""

    def __init__(
        self,
        chain: NodeChain,
        txpool: Any,
        private_key: bytes,
        p2p: Any,
        *,
        max_block_txs: int = 2000,
        data_dir: Path | None = None,
        on_sealed: Callable[[SealedBlockInfo], None] | None = None,
        on_round: Callable[[int, int], None] | None = None,
        clock: Callable[[], float] = time.time,
        p2p_config: P2PConfig | None = None,
    ) -> None:
        settings = DriverSettings(
            p2p_host=p2p.host,
            p2p_port=p2p.port,
            peers=tuple(str(p) for p in p2p.peers),
            data_dir=data_dir,
            max_block_txs=max_block_txs,
            p2p_config=p2p_config,
            advertise_host=getattr(p2p, "advertise_host", None),
        )
        super().__init__(chain, txpool, private_key, settings, on_sealed=on_sealed, on_round=on_round, clock=clock)


def _refusal_kind(message: str) -> str:
    """A pool refusal's message without its numbers ("nonce too low: next nonce 7, tx nonce 3" → "nonce too
    low: next nonce, tx nonce"), so refusals count by kind."""
    return " ".join(w for w in message.replace(",", " ,").split() if not w.strip(",").isdigit()).replace(" ,", ",")[:80]


def _validator_history(sets: ValidatorSetIndex) -> list[tuple[bytes, ...]]:
    """Every distinct validator set since genesis (identical consecutive sets share one tuple)."""
    distinct: dict[int, tuple[bytes, ...]] = {}
    for number in range(sets.last_block + 1):
        s = sets.for_child(number)
        distinct.setdefault(id(s), s)
    return list(distinct.values())


def _peer_pubkey(text: str) -> bytes:
    raw = text.strip().removeprefix("enode://")
    return bytes.fromhex(raw.partition("@")[0].removeprefix("0x"))


def qbft_producer_factory(service: Any) -> QbftDriver | None:
    """``NodeService`` producer factory: the QBFT driver for any node holding a key (else no producer).

    The service then calls :meth:`QbftDriver.attach_rpc` with its RPC backend and dispatcher.
    """
    if service.private_key is None:
        return None
    cfg = service.config
    metrics = getattr(service, "metrics", None)
    gauge = getattr(metrics, "round", None)
    driver = QbftProducer(
        service.chain,
        service.txpool,
        service.private_key,
        cfg.p2p,
        max_block_txs=cfg.producer.max_block_txs,
        data_dir=cfg.data_dir,
        on_sealed=service.on_sealed,
        on_round=None if gauge is None else (lambda _height, round_: gauge.set(round_)),
    )
    driver.permissioning = getattr(service, "permissioning", None)
    driver.on_import_seconds = getattr(metrics, "observe_import", None)
    return driver
