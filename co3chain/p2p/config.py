"""Tunables of the p2p layer with defaults sized for a consortium of a few dozen validator nodes."""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True)
class P2PConfig:
    """All limits and timers in one place (seconds, bytes).

    Backpressure policy: each peer has a bounded send queue (``send_queue_frames`` frames and
    ``send_queue_bytes`` bytes). When it is full, *droppable* gossip (TX batches) is dropped for that peer and
    counted in ``Peer.stats.dropped_frames`` (transactions are re-gossiped by other peers and re-sent by
    clients, so losing some is harmless), while a non-droppable message (CONSENSUS, BLOCKS, STATUS, PING/PONG)
    disconnects the peer with ``SLOW_PEER``: a peer that cannot keep up with consensus traffic is effectively
    down, and the reconnect + sync path is the clean way to catch it up.
    """

    max_frame_size: int = 16 * MIB
    handshake_timeout: float = 5.0
    ping_interval: float = 15.0
    idle_timeout: float = 45.0
    request_timeout: float = 10.0
    reconnect_min: float = 0.5
    reconnect_max: float = 30.0
    ban_seconds: float = 30.0
    max_peers: int = 64
    max_pending_handshakes: int = 16
    #: Inbound handshakes must finish this fast (outbound dials keep ``handshake_timeout``): a stranger
    #: holding a slot silently holds it for at most this long.
    inbound_handshake_timeout: float = 2.0
    #: Pending inbound handshakes from one IP address (the general slots).
    max_pending_per_ip: int = 2
    #: Extra pending-handshake slots only for the addresses of allow-listed peers (static peers' hosts and
    #: addresses peers have authenticated from), so strangers filling the general slots cannot keep
    #: validators from reconnecting.
    reserved_handshakes: int = 16
    send_queue_frames: int = 4096
    send_queue_bytes: int = 64 * MIB
    seen_cache_size: int = 65536
    known_cache_size: int = 8192
    max_blocks_per_request: int = 256
    max_concurrent_block_requests: int = 4
    stream_buffer: int = 1 * MIB
    #: Sent in HELLO. Words after the name are capabilities: ``seals`` = understands co3chain seal
    #: announcements (:mod:`co3chain.node.seal_book`); nodes send those only to peers that list it, since an
    #: older node would treat the unknown message code as misbehaviour and ban the sender mid-upgrade.
    client_id: str = "co3chain/0.1 seals"

    def __post_init__(self) -> None:
        if self.max_frame_size < 1024:
            raise ValueError("max_frame_size must be at least 1024 bytes")
        if self.idle_timeout <= self.ping_interval:
            raise ValueError("idle_timeout must be longer than ping_interval")
        if not 0 < self.reconnect_min <= self.reconnect_max:
            raise ValueError("need 0 < reconnect_min <= reconnect_max")
        for name in ("handshake_timeout", "inbound_handshake_timeout", "request_timeout", "ping_interval"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.send_queue_frames < 1 or self.send_queue_bytes < self.max_frame_size:
            raise ValueError("send queue must hold at least one maximal frame")
        if len(self.client_id.encode()) > 64:
            raise ValueError("client_id longer than 64 bytes")
