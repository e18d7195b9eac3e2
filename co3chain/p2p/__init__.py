"""Authenticated, allow-listed transport between consortium nodes (TCP + AES-GCM), with gossip.

Identity
    A node is identified by the 64-byte public key of its secp256k1 validator key; its validator address is
    ``keccak(pubkey)[12:]``. Peers are written ``<128-hex pubkey>@host:port`` (:class:`Enode`).

Security
    Every connection starts with a mutually authenticated handshake (:mod:`co3chain.p2p.handshake`): both
    sides sign a transcript with both ephemeral ECDH keys, nonces, the network id and the genesis hash; the
    session keys (HKDF-SHA256) encrypt every frame with AES-256-GCM and a per-direction counter nonce
    (:mod:`co3chain.p2p.frames`). Only allow-listed nodes are dialed or accepted; allow-list entries are 64-byte
    node keys or 20-byte validator addresses (so the QBFT validator set can be used as is), the list can be
    replaced at runtime (:meth:`P2PNode.update_allowlist`), and removed peers are disconnected at once.

Messages (:mod:`co3chain.p2p.messages`)
    HELLO/STATUS (network id, genesis hash, head number/hash), TX (raw tx batches), CONSENSUS (raw QBFT
    message bytes), GET_BLOCKS/BLOCKS, PING/PONG, DISCONNECT. Payloads are RLP; frames are length-prefixed
    with a configurable maximum size (16 MiB by default).

Contract with the node
    ``P2PNode(private_key, host, port, static_peers, allowed_pubkeys, network_id, genesis_hash, handlers,
    config)`` then ``await start()`` / ``await stop()``, all on one asyncio event loop.

    * ``broadcast(MsgType.TX | CONSENSUS | STATUS, payload, exclude=None)`` (or ``broadcast_txs``,
      ``broadcast_consensus``, ``announce_status``) floods to all connected peers except ``exclude``; the
      hashes are remembered so echoes are not delivered back. ``send_consensus(peer, raw)`` targets one peer.
    * Received TX and CONSENSUS messages are deduplicated by keccak hash (bounded LRU), delivered once to
      ``handlers.on_tx(peer, raw_txs)`` / ``handlers.on_consensus(peer, raw_msg)`` and then relayed to every
      other peer unless the handler returns ``False`` (``on_tx`` may instead return the txs to relay). The
      node validates content (signatures, validator membership): the p2p layer only authenticates the
      *sender connection*, not the original author of a relayed message.
    * ``await request_blocks(peer, start, count) -> list[bytes]`` asks one peer; the remote answers through
      ``handlers.get_blocks(start, count)`` (sync or async) and may return fewer blocks (at most
      ``config.max_blocks_per_request``, and what fits in one frame); an empty list means "don't have them".
    * ``handlers.head_status() -> Status`` is sent in HELLO and by ``announce_status()``; peers' statuses
      arrive via ``handlers.on_status(peer, status)`` and are kept in ``peer.status``.
    * ``peers`` lists connected :class:`Peer` objects (``node_id``, ``address``, ``status``, ``inbound``,
      ``rtt``, ``stats``); ``on_peer_connected`` / ``on_peer_disconnected`` report changes.
    * Handlers run on the event loop and must not block; a handler raising :class:`PeerMisbehaved` gets the
      sending peer disconnected and banned; other handler exceptions are logged and the message is not relayed.

Example (the node side, inside a running event loop)::

    p2p = P2PNode(validator_key, "0.0.0.0", 30303, static_peers=cfg.peers, allowed_pubkeys=validator_addresses,
                  network_id=chain_id, genesis_hash=genesis.hash,
                  handlers=P2PHandlers(on_tx=txpool.add_remote, on_consensus=qbft.on_message,
                                       on_status=sync.on_peer_status, get_blocks=chain.encoded_blocks,
                                       head_status=chain.status))
    await p2p.start()
    p2p.broadcast_consensus(signed_commit)          # after the engine emits a message
    blocks = await p2p.request_blocks(peer, head + 1, 128)
    p2p.update_allowlist(new_validator_addresses)   # after a validator vote is applied

Robustness
    A peer whose frame fails authentication or exceeds the size limit is disconnected (``BAD_FRAME``); one
    that sends authenticated but invalid content (undecodable payload, unknown type, bad reply) is also
    banned for ``config.ban_seconds`` (``PROTOCOL_ERROR``). Handshakes time out (``handshake_timeout``),
    idle peers are dropped (``ping_interval`` / ``idle_timeout``), static peers are redialed with capped
    exponential backoff, simultaneous dials are resolved by keeping the connection dialed by the lower node
    id. Per-peer send queues are bounded: see :class:`P2PConfig` for the drop/disconnect policy.
"""

from co3chain.p2p.config import P2PConfig
from co3chain.p2p.errors import (
    DuplicateConnection,
    FrameError,
    FrameTooLarge,
    HandshakeError,
    NotAllowedError,
    P2PError,
    PeerMisbehaved,
    PeerNotConnected,
    ProtocolError,
    RequestTimeout,
)
from co3chain.p2p.identity import Enode, NodeKey, pubkey_to_address
from co3chain.p2p.messages import DisconnectReason, MsgType, Status
from co3chain.p2p.node import P2PHandlers, P2PNode
from co3chain.p2p.peer import Peer, PeerStats

__all__ = [
    "DisconnectReason",
    "DuplicateConnection",
    "Enode",
    "FrameError",
    "FrameTooLarge",
    "HandshakeError",
    "MsgType",
    "NodeKey",
    "NotAllowedError",
    "P2PConfig",
    "P2PError",
    "P2PHandlers",
    "P2PNode",
    "Peer",
    "PeerMisbehaved",
    "PeerNotConnected",
    "PeerStats",
    "ProtocolError",
    "RequestTimeout",
    "Status",
    "pubkey_to_address",
]
