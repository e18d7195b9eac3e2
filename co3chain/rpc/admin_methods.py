"""admin_ peer management (geth/Besu names): ``admin_addPeer``, ``admin_removePeer``, ``admin_peers``.

For non-validator nodes (RPC/observer nodes, a PA not yet voted in): validators admit each other through
the validator set, so nobody edits files when membership changes; an operator admits an extra node at
run time with ``admin_addPeer(peer)`` on its own node. A node voted out of the validator set is refused
even here. These methods change who may connect: keep ``[rpc] host`` on 127.0.0.1 (the default) or put
the RPC port behind an authenticating proxy.

``peers`` is the node's :class:`~co3chain.node.membership.PeerAdmin` (``add_peer``, ``remove_peer``,
``peers_info``); bad input is ``-32602`` with the reason.
"""

from __future__ import annotations

from typing import Any

from co3chain.rpc.dispatch import Dispatcher
from co3chain.rpc.errors import InvalidParams


def register_admin_methods(dispatcher: Dispatcher, peers: Any) -> None:
    """Add the admin_ peer methods backed by ``peers``."""

    def _peer_param(value: Any) -> str:
        if not isinstance(value, str):
            raise InvalidParams("peer must be a string pubkey@host:port (enode:// optional)")
        return value

    def admin_addPeer(peer: Any) -> bool:
        try:
            return bool(peers.add_peer(_peer_param(peer)))
        except ValueError as exc:
            raise InvalidParams(str(exc)) from None

    def admin_removePeer(peer: Any) -> bool:
        try:
            return bool(peers.remove_peer(_peer_param(peer)))
        except ValueError as exc:
            raise InvalidParams(str(exc)) from None

    def admin_peers() -> list[dict[str, Any]]:
        return list(peers.peers_info())

    dispatcher.register("admin_addPeer", admin_addPeer)
    dispatcher.register("admin_removePeer", admin_removePeer)
    dispatcher.register("admin_peers", admin_peers)
