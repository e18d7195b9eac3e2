"""One established, authenticated connection: reader, writer (bounded send queue) and keepalive tasks.

The peer owns its session ciphers, so frames are sealed in the order they are written (the writer task seals
and writes each frame in one synchronous step). Session-level messages (PING/PONG, BLOCKS replies,
DISCONNECT) are handled here; everything else goes to the node's ``on_message`` callback, which may raise
:class:`ProtocolError` to have the peer disconnected.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from co3chain.p2p.config import P2PConfig
from co3chain.p2p.errors import FrameError, FrameTooLarge, PeerNotConnected, ProtocolError, RequestTimeout
from co3chain.p2p.frames import FrameOpener, FrameSealer
from co3chain.p2p.identity import pubkey_to_address
from co3chain.p2p.messages import (
    Blocks,
    DisconnectReason,
    GetBlocks,
    Hello,
    MsgType,
    Status,
    decode_frame,
    encode_message,
)
from co3chain.p2p.seen import SeenCache

log = logging.getLogger("co3chain.p2p")

_WRITE_BATCH_BYTES = 256 * 1024  # write this much before awaiting drain()
_PACK_BYTES = 64 * 1024  # small queued messages are packed into frames of up to this size


@dataclass
class PeerStats:
    frames_in: int = 0
    frames_out: int = 0
    messages_in: int = 0
    messages_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    dropped_frames: int = 0


class Peer:
    """A connected node. Read ``node_id``, ``address``, ``status``, ``inbound``, ``rtt``, ``stats``."""

    def __init__(
        self,
        *,
        node_id: bytes,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        sealer: FrameSealer,
        opener: FrameOpener,
        inbound: bool,
        hello: Hello,
        config: P2PConfig,
        on_message: Callable[[Peer, MsgType, Any], None],
        on_close: Callable[[Peer], None],
    ) -> None:
        self.node_id = node_id
        self.address = pubkey_to_address(node_id)
        self.inbound = inbound
        self.client_id = hello.client_id
        self.status: Status = hello.status
        self.remote_max_frame = hello.max_frame_size
        peername = writer.get_extra_info("peername") or ("?", 0)
        self.remote_host: str = str(peername[0])
        self.remote_port: int = int(peername[1])
        self.connected_at = time.time()
        self.rtt: float | None = None
        self.stats = PeerStats()
        self.known = SeenCache(config.known_cache_size)
        self.close_reason: DisconnectReason | None = None
        self.remote_reason: int | None = None
        self.serving = 0  # GET_BLOCKS requests from this peer being served right now

        self._reader = reader
        self._writer = writer
        self._sealer = sealer
        self._opener = opener
        self._config = config
        self._on_message = on_message
        self._on_close = on_close
        self._loop = asyncio.get_running_loop()
        self._queue: deque[bytes] = deque()
        self._queued_bytes = 0
        self._wake = asyncio.Event()
        self._closed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._pending: dict[int, tuple[asyncio.Future[list[bytes]], int]] = {}
        self._next_request_id = 1
        self._last_recv = self._loop.time()
        self._ping_nonce = 0
        self._ping_sent_at: float | None = None

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        tag = self.node_id[:4].hex()
        for name, coro in (
            ("read", self._read_loop()),
            ("write", self._write_loop()),
            ("ping", self._ping_loop()),
        ):
            self._tasks.append(asyncio.create_task(coro, name=f"p2p-{name}-{tag}"))

    @property
    def connected(self) -> bool:
        return self.close_reason is None

    async def wait_closed(self) -> None:
        await self._closed.wait()

    async def aclose(self, reason: DisconnectReason) -> None:
        """Close and wait until the connection's tasks have finished."""
        self.close(reason)
        await asyncio.gather(*self._tasks, return_exceptions=True)
        try:
            await asyncio.wait_for(self._writer.wait_closed(), 1.0)
        except TimeoutError:  # the remote does not read: don't wait for the buffer to drain
            self._writer.transport.abort()
        except Exception:  # the connection is gone either way
            pass

    def close(self, reason: DisconnectReason) -> None:
        """Tear the connection down (idempotent). Tells the remote why unless it already left."""
        if self.close_reason is not None:
            return
        self.close_reason = reason
        transport = self._writer.transport
        if reason not in (DisconnectReason.REMOTE_CLOSED, DisconnectReason.REMOTE_DISCONNECT):
            with contextlib.suppress(Exception):
                if not transport.is_closing():
                    self._writer.write(self._sealer.seal(encode_message(MsgType.DISCONNECT, reason)))
        if reason is DisconnectReason.SLOW_PEER:
            transport.abort()  # its buffers are full: don't wait to flush them
        else:
            self._writer.close()
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
        for fut, _ in self._pending.values():
            if not fut.done():
                fut.set_exception(
                    PeerNotConnected(f"peer {self.node_id[:8].hex()}… disconnected ({reason.name})")
                )
        self._pending.clear()
        self._queue.clear()
        self._queued_bytes = 0
        self._closed.set()
        log.info("p2p: disconnected %s (%s)", self, reason.name)
        self._on_close(self)

    # ------------------------------------------------------------ sending

    @property
    def queued_frames(self) -> int:
        return len(self._queue)

    @property
    def queued_bytes(self) -> int:
        return self._queued_bytes

    def send(self, msg_type: MsgType, payload: Any, *, droppable: bool = False) -> bool:
        """Encode and queue a message; see :meth:`send_plaintext`."""
        return self.send_plaintext(encode_message(msg_type, payload), droppable=droppable)

    def send_plaintext(self, plaintext: bytes, *, droppable: bool = False) -> bool:
        """Queue an encoded message. Returns False if it was dropped (full queue) or the peer is closed.

        A full queue drops ``droppable`` messages and disconnects the peer (``SLOW_PEER``) otherwise.
        """
        if self.close_reason is not None:
            return False
        if len(plaintext) > self.remote_max_frame:
            raise FrameTooLarge(
                f"message of {len(plaintext)} bytes exceeds the peer's frame limit {self.remote_max_frame}"
            )
        if (
            len(self._queue) >= self._config.send_queue_frames
            or self._queued_bytes + len(plaintext) > self._config.send_queue_bytes
        ):
            if droppable:
                self.stats.dropped_frames += 1
                return False
            log.warning("p2p: send queue to %s is full, disconnecting the slow peer", self)
            self.close(DisconnectReason.SLOW_PEER)
            return False
        self._queue.append(plaintext)
        self._queued_bytes += len(plaintext)
        self._wake.set()
        return True

    async def request_blocks(self, start: int, count: int, timeout: float) -> list[bytes]:
        """Ask for up to ``count`` encoded blocks from number ``start``; the answer may hold fewer."""
        if self.close_reason is not None:
            raise PeerNotConnected(f"peer {self.node_id[:8].hex()}… is not connected")
        request_id = self._next_request_id
        self._next_request_id += 1
        fut: asyncio.Future[list[bytes]] = self._loop.create_future()
        self._pending[request_id] = (fut, count)
        try:
            if not self.send(MsgType.GET_BLOCKS, GetBlocks(request_id, start, count)):
                raise PeerNotConnected(f"peer {self.node_id[:8].hex()}… disconnected")
            try:
                async with asyncio.timeout(timeout):
                    return await fut
            except TimeoutError:
                raise RequestTimeout(
                    f"no BLOCKS answer from {self.node_id[:8].hex()}… in {timeout} s"
                ) from None
        finally:
            self._pending.pop(request_id, None)

    # ------------------------------------------------------------ tasks

    async def _write_loop(self) -> None:
        try:
            while True:
                while not self._queue:
                    self._wake.clear()
                    await self._wake.wait()
                batch = 0
                pack_limit = min(_PACK_BYTES, self.remote_max_frame)
                while self._queue and batch < _WRITE_BATCH_BYTES:
                    parts = [self._queue.popleft()]
                    size = len(parts[0])
                    while self._queue and size + len(self._queue[0]) <= pack_limit:
                        parts.append(self._queue.popleft())
                        size += len(parts[-1])
                    self._queued_bytes -= size
                    frame = self._sealer.seal(parts[0] if len(parts) == 1 else b"".join(parts))
                    self._writer.write(frame)
                    batch += len(frame)
                    self.stats.frames_out += 1
                    self.stats.messages_out += len(parts)
                    self.stats.bytes_out += len(frame)
                await self._writer.drain()
        except (ConnectionError, RuntimeError):
            self.close(DisconnectReason.REMOTE_CLOSED)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("p2p: writer for %s failed", self)
            self.close(DisconnectReason.INTERNAL_ERROR)

    async def _read_loop(self) -> None:
        try:
            while True:
                plaintext = await self._opener.read(self._reader)
                self._last_recv = self._loop.time()
                self.stats.frames_in += 1
                self.stats.bytes_in += len(plaintext)
                for msg_type, payload in decode_frame(plaintext):
                    self.stats.messages_in += 1
                    self._dispatch(msg_type, payload)
                    if self.close_reason is not None:  # e.g. DISCONNECT, or a handler dropped the peer
                        return
        except (asyncio.IncompleteReadError, ConnectionError):
            self.close(DisconnectReason.REMOTE_CLOSED)
        except FrameError as exc:
            log.warning("p2p: bad frame from %s: %s", self, exc)
            self.close(DisconnectReason.BAD_FRAME)
        except ProtocolError as exc:
            log.warning("p2p: protocol violation by %s: %s", self, exc)
            self.close(DisconnectReason.PROTOCOL_ERROR)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("p2p: reader for %s failed", self)
            self.close(DisconnectReason.INTERNAL_ERROR)

    async def _ping_loop(self) -> None:
        cfg = self._config
        while True:
            await asyncio.sleep(cfg.ping_interval)
            if self._loop.time() - self._last_recv > cfg.idle_timeout:
                log.warning("p2p: %s silent for more than %.1f s", self, cfg.idle_timeout)
                self.close(DisconnectReason.TIMEOUT)
                return
            self._ping_nonce += 1
            self._ping_sent_at = self._loop.time()
            self.send(MsgType.PING, self._ping_nonce)

    def _dispatch(self, msg_type: MsgType, payload: Any) -> None:
        if msg_type is MsgType.PING:
            self.send(MsgType.PONG, payload)
        elif msg_type is MsgType.PONG:
            if payload == self._ping_nonce and self._ping_sent_at is not None:
                self.rtt = self._loop.time() - self._ping_sent_at
                self._ping_sent_at = None
        elif msg_type is MsgType.BLOCKS:
            self._resolve_blocks(payload)
        elif msg_type is MsgType.DISCONNECT:
            self.remote_reason = payload
            self.close(DisconnectReason.REMOTE_DISCONNECT)
        elif msg_type is MsgType.HELLO:
            raise ProtocolError("HELLO after the session was established")
        else:
            self._on_message(self, msg_type, payload)

    def _resolve_blocks(self, reply: Blocks) -> None:
        entry = self._pending.get(reply.request_id)
        if entry is None:
            return  # a late answer to a request that already timed out
        fut, count = entry
        if len(reply.blocks) > count:
            raise ProtocolError(f"BLOCKS: {len(reply.blocks)} blocks for a request of {count}")
        if not fut.done():
            fut.set_result(reply.blocks)

    def __repr__(self) -> str:
        direction = "in" if self.inbound else "out"
        return f"Peer({self.node_id[:4].hex()}… 0x{self.address.hex()} {direction} {self.remote_host}:{self.remote_port})"
