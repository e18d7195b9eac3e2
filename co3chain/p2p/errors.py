"""Exceptions raised by the p2p layer.

Why a hierarchy: the node must tell apart "the remote misbehaved" (:class:`ProtocolError`, the peer is
disconnected and briefly banned), "the remote is not welcome / not who we expected"
(:class:`HandshakeError`, :class:`NotAllowedError`) and local usage errors (:class:`FrameTooLarge`,
:class:`PeerNotConnected`, :class:`RequestTimeout`) without parsing messages.
"""

from __future__ import annotations

from co3chain.errors import Co3Error


class P2PError(Co3Error):
    """Base class of every p2p error."""


class HandshakeError(P2PError):
    """The authenticated handshake failed (bad signature, wrong key, wrong network, timeout, ...)."""


class NotAllowedError(HandshakeError):
    """The remote node id is not in the allow-list, is banned, or is ourselves."""


class DuplicateConnection(HandshakeError):
    """We already hold a preferred connection to this node; the new one is dropped."""


class ProtocolError(P2PError):
    """The remote sent something invalid after the handshake; it is disconnected and banned for a while."""


class FrameError(ProtocolError):
    """A frame could not be authenticated or had an invalid length.

    The connection is dropped but the node id is *not* banned: the bytes are not attributable to the peer
    (an on-path attacker could have produced them), unlike an authenticated but invalid message.
    """


class PeerMisbehaved(ProtocolError):
    """Raised by a node handler (``on_tx``, ``on_consensus``, ...) to have the sending peer disconnected."""


class FrameTooLarge(P2PError):
    """A message we were asked to send does not fit in one frame of the peer's size limit."""


class PeerNotConnected(P2PError):
    """The peer is not (or no longer) connected."""


class RequestTimeout(P2PError):
    """A request to a peer got no answer in time."""
