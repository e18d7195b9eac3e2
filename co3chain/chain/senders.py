"""Transaction senders recovered from their signatures once per node, shared by pool, builder and import.

Why: recovering a sender (RLP of the signing payload + secp256k1 public-key recovery) costs 150–450 µs
of CPU and py-evm repeats it on every path a transaction takes through a node: ``tx.validate()`` of a
legacy transaction recovers the key *and* verifies the signature against it, ``tx.sender`` recovers it
again, and each freshly decoded copy of the same transaction (RPC, gossip, the proposal, the sealed block,
stored blocks read for receipts) starts from scratch. On a CPU-bound validator that was ~20 % of the
per-transaction cost.

Safety: entries are keyed by the transaction hash, the keccak of the complete signed encoding. It commits
to every signed field *and* to the signature (v / y_parity, r, s), so two transactions with the same hash
are the same signed transaction and have the same sender. Only successful recoveries are stored: a bad
signature is re-checked (and fails) every time it is seen. The first sighting of a hash on a node always
recovers the sender from the signature itself.

A recovered transaction object is also primed for py-evm: its ``sender`` cached property is filled and
its ``check_signature_validity`` becomes a no-op, because a successful recovery *is* that check (py-evm's
version recovers the public key and verifies the signature with that same key, which cannot fail once
recovery succeeded; the low-s rule is enforced separately by ``validate()`` / Homestead state rules).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

#: ~200 bytes per entry: 65,536 entries is ~13 MB and covers many full blocks plus a full pool.
DEFAULT_MAX_ENTRIES = 65_536


def _signature_already_checked() -> None:
    """Stands in for ``check_signature_validity`` on a transaction whose sender was recovered."""


def _prime(tx: Any, sender: bytes) -> None:
    """Attach ``sender`` to this transaction object so py-evm neither recovers nor re-verifies it."""
    attrs = tx.__dict__
    attrs["sender"] = sender  # the slot py-evm's ``cached_property`` reads first
    attrs["check_signature_validity"] = _signature_already_checked


class SenderCache:
    """Bounded LRU map ``tx hash -> sender`` with priming of transaction objects. Thread-safe."""

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be >= 1, got {max_entries}")
        self.max_entries = max_entries
        self._senders: OrderedDict[bytes, bytes] = OrderedDict()
        self._lock = threading.Lock()
        #: how many senders were actually recovered from a signature (for tests and benchmarks)
        self.recoveries = 0

    def __len__(self) -> int:
        return len(self._senders)

    def sender(self, tx: Any) -> bytes:
        """Sender of signed transaction ``tx``; recovered from its signature only on the first sighting
        of its hash. Raises what ``tx.sender`` raises for a bad signature (``BadSignature``,
        ``ValidationError``, ``ValueError``)."""
        attrs = tx.__dict__
        known = attrs.get("sender")
        if known is not None and "check_signature_validity" in attrs:
            return known  # primed by this cache earlier
        tx_hash = tx.hash
        with self._lock:
            cached = self._senders.get(tx_hash)
            if cached is not None:
                self._senders.move_to_end(tx_hash)
        if cached is None:
            # py-evm's own cached value (if any) was recovered from this object's signature too
            cached = known if known is not None else bytes(tx.get_sender())
            with self._lock:
                if known is None:
                    self.recoveries += 1
                self._senders[tx_hash] = cached
                if len(self._senders) > self.max_entries:
                    self._senders.popitem(last=False)
        _prime(tx, cached)
        return cached

    def prime(self, tx: Any) -> bytes | None:
        """Like :meth:`sender` but returns ``None`` for a bad signature instead of raising, leaving
        ``tx`` untouched so that py-evm's own validation reports the error as it always did."""
        try:
            return self.sender(tx)
        except Exception:  # any failure means "not recoverable": py-evm reports it in its own words
            return None
