"""``P2PNode``: listener, static-peer dialers, permissioning, gossip and block requests.

See the package docstring (``co3chain.p2p``) for the contract with the node; this module is the machinery.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from co3chain.p2p.backoff import Backoff
from co3chain.p2p.config import P2PConfig
from co3chain.p2p.errors import (
    DuplicateConnection,
    FrameTooLarge,
    HandshakeError,
    NotAllowedError,
    P2PError,
    PeerNotConnected,
    ProtocolError,
)
from co3chain.p2p.frames import FrameOpener, FrameSealer
from co3chain.p2p.handshake import HandshakeResult, initiate, respond
from co3chain.p2p.identity import Enode, NodeKey, keccak256, pubkey_to_address, validate_pubkey
from co3chain.p2p.messages import (
    PROTOCOL_VERSION,
    Blocks,
    DisconnectReason,
    GetBlocks,
    Hello,
    MsgType,
    Status,
    decode_frame,
    encode_message,
)
from co3chain.p2p.packing import chunk_txs, fit_blocks
from co3chain.p2p.peer import Peer
from co3chain.p2p.seen import SeenCache

log = logging.getLogger("co3chain.p2p")

PeerRef = Peer | bytes


@dataclass
class P2PHandlers:
    """Callbacks into the node. All run on the event loop and must not block.

    ``on_tx`` and ``on_consensus`` decide relaying: return ``None`` to relay everything new, ``False`` to relay
    nothing, or (``on_tx``) the iterable of raw txs to relay. Raise :class:`PeerMisbehaved` to disconnect and ban
    the sender. If a callback returns an awaitable it is run as a task (and relaying proceeds as for ``None``).
    ``get_blocks`` may be sync or async; it returns encoded blocks from ``start`` (fewer or none if unknown).
    """

    on_tx: Callable[[Peer, list[bytes]], Iterable[bytes] | bool | None] | None = None
    on_consensus: Callable[[Peer, bytes], bool | None] | None = None
    on_status: Callable[[Peer, Status], Any] | None = None
    get_blocks: Callable[[int, int], list[bytes] | Awaitable[list[bytes]]] | None = None
    head_status: Callable[[], Status] | None = None
    on_peer_connected: Callable[[Peer], Any] | None = None
    on_peer_disconnected: Callable[[Peer], Any] | None = None


class P2PNode:
    """A consortium node's network endpoint (see the package docstring for the contract)."""

    def __init__(
        self,
        private_key: bytes,
        host: str,
        port: int,
        static_peers: Iterable[str | Enode] = (),
        allowed_pubkeys: Iterable[bytes] = (),
        network_id: int = 1,
        genesis_hash: bytes = b"\x00" * 32,
        handlers: P2PHandlers | None = None,
        config: P2PConfig | None = None,
    ) -> None:
        if not isinstance(genesis_hash, bytes) or len(genesis_hash) != 32:
            raise P2PError("genesis_hash must be 32 bytes")
        if not 0 <= network_id < 2**64:
            raise P2PError("network_id must fit in 64 bits")
        self._key = NodeKey(private_key)
        self.host = host
        self._port = port
        self.network_id = network_id
        self.genesis_hash = genesis_hash
        self.handlers = handlers or P2PHandlers()
        self.config = config or P2PConfig()
        self._allowed: frozenset[bytes] = _parse_allowlist(allowed_pubkeys)
        self._static: dict[bytes, Enode] = {}
        for item in static_peers:
            enode = item if isinstance(item, Enode) else Enode.parse(item)
            if enode.pubkey != self._key.public_key:
                self._static[enode.pubkey] = enode
        self._peers: dict[bytes, Peer] = {}
        self._banned: dict[bytes, float] = {}
        self._seen = SeenCache(self.config.seen_cache_size)
        self._server: asyncio.Server | None = None
        self._running = False
        self._dialers: dict[bytes, asyncio.Task[None]] = {}
        self._dial_wake: dict[bytes, asyncio.Event] = {}
        self._inbound_tasks: set[asyncio.Task[Any]] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        #: pending inbound handshakes per remote IP, and how many use the general / reserved slots
        self._pending_by_ip: dict[str, int] = {}
        self._pending_general = 0
        self._pending_reserved = 0
        #: IPs allow-listed peers have authenticated from (they get reserved handshake slots)
        self._trusted_ips: set[str] = set()

    # ------------------------------------------------------------ identity and state

    @property
    def node_id(self) -> bytes:
        return self._key.public_key

    @property
    def address(self) -> bytes:
        return self._key.address

    @property
    def port(self) -> int:
        """The listening port (the real one once started with port 0)."""
        return self._port

    @property
    def enode(self) -> str:
        return str(Enode(self.node_id, self.host, self._port))

    @property
    def peers(self) -> list[Peer]:
        """Connected peers (with ``status``, ``rtt``, ``stats``)."""
        return list(self._peers.values())

    def get_peer(self, node_id: bytes) -> Peer | None:
        return self._peers.get(node_id)

    @property
    def allowed_pubkeys(self) -> frozenset[bytes]:
        """The allow-list entries: 64-byte node public keys and/or 20-byte validator addresses."""
        return self._allowed

    def is_allowed(self, node_id: bytes) -> bool:
        """Is ``node_id`` on the allow-list, by its public key or by its validator address?"""
        return node_id in self._allowed or pubkey_to_address(node_id) in self._allowed

    @property
    def static_peers(self) -> list[Enode]:
        return list(self._static.values())

    @property
    def running(self) -> bool:
        return self._running

    def is_banned(self, node_id: bytes) -> bool:
        until = self._banned.get(node_id)
        if until is None:
            return False
        if time.monotonic() >= until:
            del self._banned[node_id]
            return False
        return True

    def ban(self, node_id: bytes, seconds: float | None = None) -> None:
        """Refuse connections with ``node_id`` for a while and drop the current one."""
        duration = self.config.ban_seconds if seconds is None else seconds
        self._banned[node_id] = time.monotonic() + duration
        peer = self._peers.get(node_id)
        if peer is not None:
            peer.close(DisconnectReason.REQUESTED)

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Listen, then keep connections to every static peer alive."""
        if self._running:
            raise P2PError("p2p node already started")
        self._server = await asyncio.start_server(
            self._handle_inbound, self.host, self._port, limit=self.config.stream_buffer
        )
        self._port = self._server.sockets[0].getsockname()[1]
        self._running = True
        for enode in self._static.values():
            self._start_dialer(enode.pubkey)
        log.info("p2p: listening on %s:%d as 0x%s", self.host, self._port, self.address.hex())

    async def stop(self) -> None:
        """Close the listener, every connection and every background task."""
        if not self._running:
            return
        self._running = False
        assert self._server is not None
        self._server.close()
        pending = [*self._dialers.values(), *self._inbound_tasks, *self._tasks]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        await asyncio.gather(*(p.aclose(DisconnectReason.SHUTDOWN) for p in list(self._peers.values())))
        self._dialers.clear()
        self._dial_wake.clear()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 1.0)
        self._server = None

    # ------------------------------------------------------------ permissioning

    def update_allowlist(self, pubkeys: Iterable[bytes]) -> None:
        """Replace the allow-list (e.g. after a validator vote). Drops peers no longer allowed.

        Entries are 64-byte node public keys or 20-byte validator addresses (what a QBFT validator vote
        yields); a node is admitted if either its key or its address is listed.
        """
        self._allowed = _parse_allowlist(pubkeys)
        for peer in list(self._peers.values()):
            if not self.is_allowed(peer.node_id):
                peer.close(DisconnectReason.NOT_ALLOWED)
        for wake in self._dial_wake.values():
            wake.set()

    def add_static_peer(self, peer: str | Enode) -> Enode:
        """Keep a connection to ``peer`` from now on (dialed while it is allow-listed)."""
        enode = peer if isinstance(peer, Enode) else Enode.parse(peer)
        if enode.pubkey == self.node_id:
            raise P2PError("cannot add ourselves as a static peer")
        self._static[enode.pubkey] = enode
        if self._running:
            if enode.pubkey in self._dialers:
                self._dial_wake[enode.pubkey].set()
            else:
                self._start_dialer(enode.pubkey)
        return enode

    def remove_static_peer(self, node_id: bytes) -> None:
        """Stop redialing ``node_id`` (an existing connection stays until either side closes it)."""
        self._static.pop(node_id, None)
        task = self._dialers.pop(node_id, None)
        self._dial_wake.pop(node_id, None)
        if task is not None:
            task.cancel()

    def disconnect_peer(self, node_id: bytes) -> None:
        peer = self._peers.get(node_id)
        if peer is not None:
            peer.close(DisconnectReason.REQUESTED)

    def _admissible(self, pubkey: bytes) -> bool:
        if pubkey == self.node_id or not self.is_allowed(pubkey) or self.is_banned(pubkey):
            return False
        return pubkey in self._peers or len(self._peers) < self.config.max_peers

    # ------------------------------------------------------------ connections

    async def connect(self, peer: str | Enode) -> Peer:
        """Dial one peer now (static peers are dialed automatically). Returns the connected peer."""
        enode = peer if isinstance(peer, Enode) else Enode.parse(peer)
        if not self._running:
            raise P2PError("p2p node is not running")
        if not self._admissible(enode.pubkey):
            raise NotAllowedError(
                f"will not dial {enode}: not allow-listed, banned, ourselves or too many peers"
            )
        existing = self._peers.get(enode.pubkey)
        if existing is not None:
            return existing
        writer: asyncio.StreamWriter | None = None
        try:
            async with asyncio.timeout(self.config.handshake_timeout):
                reader, writer = await asyncio.open_connection(
                    enode.host, enode.port, limit=self.config.stream_buffer
                )
                result = await initiate(
                    reader, writer, self._key, enode.pubkey, self.network_id, self.genesis_hash
                )
                return await self._establish(reader, writer, result, inbound=False)
        except TimeoutError:
            if writer is not None:
                writer.close()
            raise HandshakeError(f"connecting to {enode} timed out") from None
        except BaseException:
            if writer is not None:
                writer.close()
            raise

    def _reserved_ip(self, ip: str) -> bool:
        """Is ``ip`` the address of an allow-listed peer (a static peer's host, or seen authenticated)?"""
        return ip in self._trusted_ips or any(e.host == ip for e in self._static.values())

    def _take_inbound_slot(self, ip: str) -> str | None:
        """Admission of one inbound connection before any cryptography: ``"reserved"`` / ``"general"``
        slot taken, or ``None`` (refuse). Strangers share ``max_pending_handshakes`` general slots with at
        most ``max_pending_per_ip`` each; allow-listed peers' addresses also have their own slots."""
        cfg = self.config
        if self._reserved_ip(ip) and self._pending_reserved < cfg.reserved_handshakes:
            self._pending_reserved += 1
            kind = "reserved"
        elif (
            self._pending_general < cfg.max_pending_handshakes
            and self._pending_by_ip.get(ip, 0) < cfg.max_pending_per_ip
        ):
            self._pending_general += 1
            kind = "general"
        else:
            return None
        self._pending_by_ip[ip] = self._pending_by_ip.get(ip, 0) + 1
        return kind

    def _release_inbound_slot(self, ip: str, kind: str) -> None:
        if kind == "reserved":
            self._pending_reserved -= 1
        else:
            self._pending_general -= 1
        left = self._pending_by_ip.get(ip, 1) - 1
        if left > 0:
            self._pending_by_ip[ip] = left
        else:
            self._pending_by_ip.pop(ip, None)

    async def _handle_inbound(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        peername = writer.get_extra_info("peername")
        ip = str(peername[0]) if peername else "?"
        slot = self._take_inbound_slot(ip) if self._running and task is not None else None
        if slot is None or task is None:
            writer.close()
            return
        self._inbound_tasks.add(task)
        try:
            async with asyncio.timeout(self.config.inbound_handshake_timeout):
                result = await respond(
                    reader, writer, self._key, self.network_id, self.genesis_hash, self._admissible
                )
                await self._establish(reader, writer, result, inbound=True)
            self._trusted_ips.add(ip)
        except (P2PError, OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
            log.info("p2p: inbound connection from %s refused: %s", peername, exc)
            writer.close()
        except asyncio.CancelledError:
            writer.close()
        except Exception:
            log.exception("p2p: inbound connection failed")
            writer.close()
        finally:
            self._inbound_tasks.discard(task)
            self._release_inbound_slot(ip, slot)

    async def _establish(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        result: HandshakeResult,
        inbound: bool,
    ) -> Peer:
        """Exchange HELLO over the new session, then register and start the peer."""
        cfg = self.config
        sealer = FrameSealer(result.send_key)
        opener = FrameOpener(result.recv_key, cfg.max_frame_size)
        hello = Hello(PROTOCOL_VERSION, cfg.client_id, cfg.max_frame_size, self._head_status())
        writer.write(sealer.seal(encode_message(MsgType.HELLO, hello)))
        await writer.drain()
        try:
            messages = decode_frame(await opener.read(reader))
            msg_type, remote = messages[0]
            if msg_type is not MsgType.HELLO or len(messages) != 1:
                raise ProtocolError(f"expected a lone HELLO, got {[m.name for m, _ in messages]}")
        except ProtocolError as exc:
            raise HandshakeError(f"invalid HELLO: {exc}") from exc
        except asyncio.IncompleteReadError as exc:
            raise HandshakeError("connection closed before HELLO") from exc
        if remote.version != PROTOCOL_VERSION:
            raise HandshakeError(f"unsupported p2p protocol version {remote.version}")
        if remote.status.network_id != self.network_id or remote.status.genesis_hash != self.genesis_hash:
            raise HandshakeError("HELLO status is for another network")
        if remote.max_frame_size < 1024:
            raise HandshakeError(f"remote frame limit {remote.max_frame_size} is unusably small")
        if not self._running:
            raise HandshakeError("node is stopping")
        if not self._admissible(result.remote_pubkey):  # the allow-list may have changed meanwhile
            raise NotAllowedError("peer is no longer admissible")
        peer = Peer(
            node_id=result.remote_pubkey,
            reader=reader,
            writer=writer,
            sealer=sealer,
            opener=opener,
            inbound=inbound,
            hello=remote,
            config=cfg,
            on_message=self._on_message,
            on_close=self._on_peer_closed,
        )
        self._register(peer)
        peer.start()
        log.info("p2p: connected %s (%s)", peer, peer.client_id)
        try:
            self._call(self.handlers.on_peer_connected, peer)
            self._call(self.handlers.on_status, peer, peer.status)
        except ProtocolError as exc:  # a handler rejected the peer (PeerMisbehaved)
            log.warning("p2p: handler rejected %s: %s", peer, exc)
            peer.close(DisconnectReason.PROTOCOL_ERROR)
        return peer

    def _preferred(self, peer: Peer) -> bool:
        """Tie-break for simultaneous dials: both sides keep the connection dialed by the lower node id."""
        initiator = peer.node_id if peer.inbound else self.node_id
        return initiator == min(self.node_id, peer.node_id)

    def _register(self, peer: Peer) -> None:
        existing = self._peers.get(peer.node_id)
        if existing is not None:
            if self._preferred(peer) and not self._preferred(existing):
                self._peers[peer.node_id] = peer
                existing.close(DisconnectReason.DUPLICATE)
                return
            raise DuplicateConnection(f"already connected to {existing}")
        self._peers[peer.node_id] = peer

    def _on_peer_closed(self, peer: Peer) -> None:
        if self._peers.get(peer.node_id) is peer:
            del self._peers[peer.node_id]
        if peer.close_reason is DisconnectReason.PROTOCOL_ERROR and self.config.ban_seconds > 0:
            self._banned[peer.node_id] = time.monotonic() + self.config.ban_seconds
        self._call(self.handlers.on_peer_disconnected, peer)

    def _start_dialer(self, pubkey: bytes) -> None:
        self._dial_wake[pubkey] = asyncio.Event()
        # a fresh context: a dialer started by an RPC call (admin peer methods) must not inherit its
        # RPC-lane mark, or the peer's work would run on the RPC threads (co3chain.rpc.workpool)
        self._dialers[pubkey] = asyncio.create_task(
            self._dial_loop(pubkey), name=f"p2p-dial-{pubkey[:4].hex()}", context=contextvars.Context()
        )

    async def _dial_loop(self, pubkey: bytes) -> None:
        """Keep one connection to a static peer: capped exponential backoff with jitter between failures."""
        cfg = self.config
        backoff = Backoff(cfg.reconnect_min, cfg.reconnect_max)
        wake = self._dial_wake[pubkey]
        last_error = ""  # a failure is logged at INFO when its reason changes, then at DEBUG while it repeats
        while self._running and pubkey in self._static:
            peer = self._peers.get(pubkey)
            if peer is not None:
                await peer.wait_closed()
                await _sleep_or_wake(wake, cfg.reconnect_min)
                continue
            if not self.is_allowed(pubkey):
                await _sleep_or_wake(wake, cfg.reconnect_max)
                continue
            ban_until = self._banned.get(pubkey)
            if ban_until is not None and self.is_banned(pubkey):
                await _sleep_or_wake(wake, ban_until - time.monotonic())
                continue
            try:
                await self.connect(self._static[pubkey])
                backoff.reset()
                last_error = ""
            except DuplicateConnection:
                continue
            except Exception as exc:  # keep the dialer alive whatever happened; it retries with backoff
                if not isinstance(exc, P2PError | OSError):
                    log.exception("p2p: unexpected error dialing %s", pubkey[:4].hex())
                delay = backoff.next()
                reason = f"{type(exc).__name__}: {exc}"
                log.log(logging.INFO if reason != last_error else logging.DEBUG,
                        "p2p: cannot connect to peer %s… (0x%s): %s; retrying (next in %.1f s)",
                        pubkey[:4].hex(), pubkey_to_address(pubkey).hex(), reason, delay)
                last_error = reason
                await _sleep_or_wake(wake, delay)

    # ------------------------------------------------------------ inbound messages

    def _on_message(self, peer: Peer, msg_type: MsgType, payload: Any) -> None:
        if msg_type is MsgType.TX:
            self._handle_txs(peer, payload)
        elif msg_type is MsgType.CONSENSUS:
            self._handle_consensus(peer, payload)
        elif msg_type is MsgType.STATUS:
            if payload.network_id != self.network_id or payload.genesis_hash != self.genesis_hash:
                raise ProtocolError("STATUS for another network")
            peer.status = payload
            self._call(self.handlers.on_status, peer, payload)
        elif msg_type is MsgType.GET_BLOCKS:
            self._serve_blocks(peer, payload)
        else:
            raise ProtocolError(f"unexpected {msg_type.name} message")

    def _handle_txs(self, peer: Peer, txs: list[bytes]) -> None:
        fresh: dict[bytes, bytes] = {}
        for raw in txs:
            digest = keccak256(raw)
            peer.known.add(digest)
            if self._seen.add(digest):
                fresh[digest] = raw
        if not fresh:
            return
        decision = self._call(self.handlers.on_tx, peer, list(fresh.values()))
        if decision is False:
            return
        relay = fresh if decision is None or decision is True else {keccak256(raw): raw for raw in decision}
        self._gossip_txs(relay, {peer.node_id})

    def _handle_consensus(self, peer: Peer, raw: bytes) -> None:
        digest = keccak256(raw)
        peer.known.add(digest)
        if not self._seen.add(digest):
            return
        if self._call(self.handlers.on_consensus, peer, raw) is False:
            return
        self._gossip_one(MsgType.CONSENSUS, raw, digest, {peer.node_id})

    def _serve_blocks(self, peer: Peer, request: GetBlocks) -> None:
        if peer.serving >= self.config.max_concurrent_block_requests:
            raise ProtocolError("too many concurrent GET_BLOCKS requests")
        peer.serving += 1
        self._spawn(self._serve_blocks_task(peer, request))

    async def _serve_blocks_task(self, peer: Peer, request: GetBlocks) -> None:
        try:
            count = min(request.count, self.config.max_blocks_per_request)
            blocks: list[bytes] = []
            if count > 0 and self.handlers.get_blocks is not None:
                try:
                    result = self.handlers.get_blocks(request.start, count)
                    if inspect.isawaitable(result):
                        result = await result
                    blocks = list(result)[:count]
                    if not all(isinstance(b, bytes) for b in blocks):
                        raise TypeError("get_blocks must return a list of bytes")
                except Exception:
                    log.exception("p2p: get_blocks(%d, %d) failed", request.start, count)
                    blocks = []
            blocks = fit_blocks(blocks, peer.remote_max_frame)
            if peer.connected:
                peer.send(MsgType.BLOCKS, Blocks(request.request_id, blocks))
        finally:
            peer.serving -= 1

    # ------------------------------------------------------------ outbound messages

    def broadcast(
        self, msg_type: MsgType, payload: Any, exclude: PeerRef | Iterable[PeerRef] | None = None
    ) -> int:
        """Send to every connected peer except ``exclude``; returns how many peers it was queued to.

        ``TX``: payload is a list of raw txs (batched into frames, dropped for slow peers, deduplicated).
        ``CONSENSUS``: raw QBFT message bytes. ``STATUS``: a :class:`Status`. Gossiped messages are recorded
        as seen so their echoes are not delivered back to the node.
        """
        excluded = _exclude_set(exclude)
        if msg_type is MsgType.TX:
            items = {keccak256(raw): raw for raw in payload}
            for digest in items:
                self._seen.add(digest)
            return self._gossip_txs(items, excluded)
        if msg_type is MsgType.CONSENSUS:
            digest = keccak256(payload)
            self._seen.add(digest)
            return self._gossip_one(MsgType.CONSENSUS, payload, digest, excluded)
        if msg_type is MsgType.STATUS:
            plaintext = encode_message(MsgType.STATUS, payload)
            targets = [p for p in self._peers.values() if p.node_id not in excluded]
            return sum(1 for p in targets if p.send_plaintext(plaintext))
        raise ValueError(f"{msg_type.name} messages cannot be broadcast")

    def broadcast_txs(
        self, raw_txs: Iterable[bytes], exclude: PeerRef | Iterable[PeerRef] | None = None
    ) -> int:
        return self.broadcast(MsgType.TX, list(raw_txs), exclude)

    def broadcast_consensus(self, raw_msg: bytes, exclude: PeerRef | Iterable[PeerRef] | None = None) -> int:
        return self.broadcast(MsgType.CONSENSUS, raw_msg, exclude)

    def announce_status(self) -> int:
        """Tell every peer our current head (call after importing a block)."""
        return self.broadcast(MsgType.STATUS, self._head_status())

    def send_consensus(self, peer: PeerRef, raw_msg: bytes) -> bool:
        """Send one QBFT message to a single peer (e.g. a reply during round-change catch-up)."""
        target = self._resolve(peer)
        digest = keccak256(raw_msg)
        self._seen.add(digest)
        target.known.add(digest)
        return target.send(MsgType.CONSENSUS, raw_msg)

    async def request_blocks(self, peer: PeerRef, start: int, count: int) -> list[bytes]:
        """Fetch up to ``count`` encoded blocks from ``start`` from ``peer`` (fewer when it has fewer).

        Raises :class:`PeerNotConnected` or :class:`RequestTimeout`.
        """
        if not 0 <= start < 2**64 or not 0 < count < 2**32:
            raise ValueError("need 0 <= start < 2**64 and 0 < count < 2**32")
        return await self._resolve(peer).request_blocks(start, count, self.config.request_timeout)

    def _gossip_txs(self, items: dict[bytes, bytes], excluded: set[bytes]) -> int:
        queued = 0
        for peer in list(self._peers.values()):
            if peer.node_id in excluded:
                continue
            fresh = [(d, raw) for d, raw in items.items() if d not in peer.known]
            sent_any = False
            for chunk in chunk_txs(fresh, peer.remote_max_frame):
                if peer.send(MsgType.TX, [raw for _, raw in chunk], droppable=True):
                    sent_any = True
                    for digest, _ in chunk:
                        peer.known.add(digest)
            queued += sent_any
        return queued

    def _gossip_one(self, msg_type: MsgType, raw: bytes, digest: bytes, excluded: set[bytes]) -> int:
        plaintext = encode_message(msg_type, raw)
        if len(plaintext) > self.config.max_frame_size:
            raise FrameTooLarge(f"{msg_type.name} message of {len(raw)} bytes exceeds max_frame_size")
        queued = 0
        for peer in list(self._peers.values()):
            if peer.node_id in excluded or digest in peer.known:
                continue
            try:
                ok = peer.send_plaintext(plaintext)
            except FrameTooLarge as exc:
                log.warning("p2p: not sending to %s: %s", peer, exc)
                continue
            if ok:
                peer.known.add(digest)
                queued += 1
        return queued

    # ------------------------------------------------------------ helpers

    def _resolve(self, peer: PeerRef) -> Peer:
        node_id = peer.node_id if isinstance(peer, Peer) else peer
        found = self._peers.get(node_id)
        if found is None or not found.connected:
            raise PeerNotConnected(f"peer {node_id[:8].hex()}… is not connected")
        return found

    def _head_status(self) -> Status:
        if self.handlers.head_status is None:
            return Status(self.network_id, self.genesis_hash, 0, self.genesis_hash)
        return self.handlers.head_status()

    def _call(self, fn: Callable[..., Any] | None, *args: Any) -> Any:
        """Run a node callback: bugs are logged (not blamed on the peer), ProtocolError propagates."""
        if fn is None:
            return None
        try:
            result = fn(*args)
        except ProtocolError:
            raise
        except Exception:
            log.exception("p2p: handler %s failed", getattr(fn, "__name__", fn))
            return False
        if inspect.isawaitable(result):
            self._spawn(result)
            return None
        return result

    def _spawn(self, awaitable: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(awaitable)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("p2p: background task failed", exc_info=task.exception())


async def _sleep_or_wake(wake: asyncio.Event, seconds: float) -> None:
    """Sleep up to ``seconds``; return early when ``wake`` is set (allow-list or static peers changed)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(max(seconds, 0.0)):
            await wake.wait()
    wake.clear()


def _parse_allowlist(entries: Iterable[bytes]) -> frozenset[bytes]:
    parsed = set()
    for entry in entries:
        raw = bytes(entry)
        if len(raw) == 20:
            parsed.add(raw)
        elif len(raw) == 64:
            parsed.add(validate_pubkey(raw))
        else:
            raise P2PError(f"allow-list entry of {len(raw)} bytes: expected a 64-byte key or 20-byte address")
    return frozenset(parsed)


def _exclude_set(exclude: PeerRef | Iterable[PeerRef] | None) -> set[bytes]:
    if exclude is None:
        return set()
    if isinstance(exclude, Peer):
        return {exclude.node_id}
    if isinstance(exclude, bytes):
        return {exclude}
    return {p.node_id if isinstance(p, Peer) else p for p in exclude}
