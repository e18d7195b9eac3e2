"""Who may hold a p2p connection to this node: the allow-list follows the validator set.

Why a policy object: the allow-list has four sources that disagree in edge cases, and the answer must be
the same on every PA's node without anyone editing files:

* current validators (from the chain's own votes) — always admitted;
* subjects of this node's pending *add* votes — admitted so a PA being voted in can connect and sync;
* static peers (``[p2p] peers`` in config.toml) and peers added at run time (``admin_addPeer``) — the
  operator's explicit choice, for non-validator nodes (RPC/observer nodes, a PA not yet voted in);
* **former validators** — a node whose address was a validator and was voted out is refused even if a
  static or admin peer list still names it: a removal by vote must cut the PA off at once, not when every
  other operator has cleaned up its config.

Thread-safety: the validator-set listener runs on the import worker thread while RPC and p2p run on the
event loop, so state changes go through one lock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from co3chain.p2p.errors import P2PError
from co3chain.p2p.identity import Enode, pubkey_to_address

log = logging.getLogger("co3chain.p2p.membership")


def _hex(address: bytes) -> str:
    return "0x" + address.hex()


class PeerMembership:
    """Allow-list policy of one node (see the module docstring)."""

    def __init__(
        self,
        static_pubkeys: Iterable[bytes],
        validator_history: Iterable[Iterable[bytes]],
        current: Iterable[bytes],
    ) -> None:
        self._lock = threading.Lock()
        self._static = {bytes(k) for k in static_pubkeys}
        self._admin: dict[bytes, Enode] = {}
        now = {bytes(a) for a in current}
        seen: set[bytes] = set()
        for validators in validator_history:
            seen.update(bytes(a) for a in validators)
        self._former = seen - now
        self._current = now

    # ---------------------------------------------------------------- validator set
    @property
    def former_validators(self) -> frozenset[bytes]:
        with self._lock:
            return frozenset(self._former)

    def on_validator_set(self, validators: Iterable[bytes]) -> tuple[set[bytes], set[bytes]]:
        """Track a new validator set; returns (added, removed) addresses."""
        new = {bytes(a) for a in validators}
        with self._lock:
            added, removed = new - self._current, self._current - new
            self._former = (self._former | removed) - new
            self._current = new
        for a in sorted(removed):
            log.warning("p2p: %s was voted out of the validator set: its p2p access is revoked", _hex(a))
        for a in sorted(added):
            log.info("p2p: %s joined the validator set: admitted to p2p", _hex(a))
        return added, removed

    # ---------------------------------------------------------------- runtime peers (admin_*)
    def add_admin_peer(self, enode: Enode) -> None:
        with self._lock:
            self._admin[enode.pubkey] = enode

    def remove_admin_peer(self, pubkey: bytes) -> Enode | None:
        with self._lock:
            return self._admin.pop(pubkey, None)

    @property
    def admin_peers(self) -> list[Enode]:
        with self._lock:
            return list(self._admin.values())

    def refused_reason(self, pubkey: bytes) -> str | None:
        """Why a listed peer is not admitted (``None`` if nothing in this policy refuses it)."""
        address = pubkey_to_address(pubkey)
        with self._lock:
            if address in self._former:
                return f"{_hex(address)} was removed from the validator set"
        return None

    # ---------------------------------------------------------------- the list
    def allowlist(self, current: Iterable[bytes], pending_adds: Iterable[bytes]) -> list[bytes]:
        """Entries for :meth:`P2PNode.update_allowlist` (20-byte addresses and 64-byte public keys)."""
        adds = [bytes(a) for a in pending_adds]
        with self._lock:
            former = self._former - set(adds)
            listed = [k for k in (*self._static, *self._admin) if pubkey_to_address(k) not in former]
        return [*(bytes(a) for a in current), *adds, *listed]


class PeerAdmin:
    """Runtime peer management behind ``admin_addPeer`` / ``admin_removePeer`` / ``admin_peers``.

    ``refresh`` recomputes and installs the allow-list (the driver's); it runs on the event loop like
    every RPC handler. Added peers are kept until restart, as in geth and Besu (persist them in
    ``[p2p] peers`` to survive one).
    """

    def __init__(self, p2p: Any, membership: PeerMembership, refresh: Callable[[], None]) -> None:
        self.p2p = p2p
        self.membership = membership
        self.refresh = refresh

    def add_peer(self, text: str) -> bool:
        try:
            enode = Enode.parse(text)
        except P2PError as exc:
            raise ValueError(str(exc)) from None
        if enode.pubkey == self.p2p.node_id:
            raise ValueError("that is this node's own identity")
        reason = self.membership.refused_reason(enode.pubkey)
        if reason is not None:
            raise ValueError(f"refused: {reason}")
        self.membership.add_admin_peer(enode)
        self.refresh()
        self.p2p.add_static_peer(enode)
        log.info("p2p: peer %s added by admin_addPeer", enode)
        return True

    def remove_peer(self, text: str) -> bool:
        try:
            enode = Enode.parse(text)
        except P2PError as exc:
            raise ValueError(str(exc)) from None
        removed = self.membership.remove_admin_peer(enode.pubkey)
        self.p2p.remove_static_peer(enode.pubkey)
        self.refresh()  # drops the connection unless another source (validator, static peer) allows it
        if removed is not None:
            log.info("p2p: peer %s removed by admin_removePeer", enode)
        return removed is not None

    def peers_info(self) -> list[dict[str, Any]]:
        static = {e.pubkey for e in self.p2p.static_peers}
        out = []
        for peer in self.p2p.peers:
            status = peer.status
            out.append({
                "id": peer.node_id.hex(),
                "enode": f"enode://{peer.node_id.hex()}@{peer.remote_host}:{peer.remote_port}",
                "address": "0x" + peer.address.hex(),
                "name": peer.client_id,
                "network": {
                    "inbound": peer.inbound,
                    "static": peer.node_id in static,
                    "remoteAddress": f"{peer.remote_host}:{peer.remote_port}",
                },
                "head": None if status is None else hex(status.head_number),
                "rtt": peer.rtt,
            })
        return out
