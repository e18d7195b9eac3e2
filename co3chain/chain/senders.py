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
from collections.abc import Iterable
from typing import Any

from coincurve import PublicKey
from eth_hash.auto import keccak

from co3chain.chain.rlpwrite import rlp_list, rlp_string, rlp_uint

try:  # the libsecp256k1 binding coincurve itself calls (see ``_recover_public_key``)
    from coincurve._libsecp256k1 import ffi as _ffi
    from coincurve._libsecp256k1 import lib as _lib
    from coincurve.context import GLOBAL_CONTEXT as _GLOBAL_CONTEXT
except ImportError:  # pragma: no cover - another coincurve layout: the public API below still works
    _lib = None

#: ~200 bytes per entry: 65,536 entries is ~13 MB and covers many full blocks plus a full pool.
DEFAULT_MAX_ENTRIES = 65_536


#: secp256k1 group order: a valid r or s lies in [1, N).
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def _legacy_signing_message(tx: Any) -> tuple[bytes, int] | None:
    """``(message, recovery id)`` of a legacy transaction, or ``None`` for a ``v`` py-evm should judge.

    Same bytes as py-evm's ``get_message_for_signing``: the six fields, plus ``chain_id, 0, 0`` for an
    EIP-155 signature (``v = 35 + 2 * chain_id + recovery id``), encoded with a minimal RLP writer
    instead of building an unsigned transaction object.
    """
    v = tx.v
    fields = [
        rlp_uint(tx.nonce),
        rlp_uint(tx.gas_price),
        rlp_uint(tx.gas),
        rlp_string(bytes(tx.to)),
        rlp_uint(tx.value),
        rlp_string(bytes(tx.data)),
    ]
    if v in (27, 28):
        return rlp_list(b"".join(fields)), v - 27
    if v < 37:  # 29..36: not a valid legacy v, or EIP-155 with chain id 0 -- py-evm's words
        return None
    chain_id = (v - 35) // 2
    fields += [rlp_uint(chain_id), b"\x80", b"\x80"]
    return rlp_list(b"".join(fields)), v - 35 - 2 * chain_id


def _recover_public_key(signature: bytes, message_hash: bytes) -> bytes:
    """Uncompressed public key (65 bytes) of a 65-byte recoverable ``r || s || recovery id`` signature;
    ``ValueError`` when libsecp256k1 refuses it.

    Why not ``PublicKey.from_signature_and_message(...).format(compressed=False)``: the same three
    libsecp256k1 calls (parse, recover, serialize) on the same global context, minus coincurve's object
    and argument layers (~5 µs per transaction). ``tests/chain/test_senders.py`` proves both equal.
    """
    if _lib is None:  # pragma: no cover
        return PublicKey.from_signature_and_message(signature, message_hash, hasher=None).format(compressed=False)
    ctx = _GLOBAL_CONTEXT.ctx
    parsed = _ffi.new("secp256k1_ecdsa_recoverable_signature *")
    if not _lib.secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, parsed, signature[:64], signature[64]):
        raise ValueError("Failed to parse recoverable signature.")
    public = _ffi.new("secp256k1_pubkey *")
    if not _lib.secp256k1_ecdsa_recover(ctx, public, parsed, message_hash):
        raise ValueError("failed to recover ECDSA public key")
    out = _ffi.new("unsigned char[65]")
    out_len = _ffi.new("size_t *", 65)
    _lib.secp256k1_ec_pubkey_serialize(ctx, out, out_len, public, _lib.SECP256K1_EC_UNCOMPRESSED)
    return bytes(_ffi.buffer(out, 65))


def recover_from_message(message: bytes, recovery_id: int, r: int, s: int) -> bytes | None:
    """Address whose key signed ``keccak(message)`` with ``(r, s, recovery_id)``, or ``None`` for a
    signature ``eth_keys`` would not accept (``1 <= r, s < N``, recovery id 0/1) or a failed recovery.

    The same libsecp256k1 recovery ``eth_keys``' coincurve backend makes on the same message hash."""
    if recovery_id not in (0, 1) or not (0 < r < SECP256K1_N and 0 < s < SECP256K1_N):
        return None
    try:
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes((recovery_id,))
        return keccak(_recover_public_key(signature, keccak(message))[1:])[12:]
    except Exception:  # any oddity: py-evm decides (and words the error)
        return None


def recover_sender(tx: Any) -> bytes | None:
    """Sender of ``tx`` recovered with coincurve directly, or ``None`` to leave the case to py-evm.

    Why: py-evm's ``get_sender`` re-encodes the transaction through an unsigned-transaction object and
    goes through ``eth_keys`` (validation, object wrappers) around the same libsecp256k1 call; that was
    ~400 µs of the ~60 µs the curve arithmetic needs. Exactness: only signatures ``eth_keys`` accepts
    (``1 <= r, s < N``, recovery id 0/1) take this path, and the recovery is the same coincurve call
    ``eth_keys``' coincurve backend makes on the same message hash, so the result is the same address;
    anything else (including a failed recovery) returns ``None`` and py-evm reports it in its own words.
    The message bytes are proven equal to py-evm's on random transactions in ``tests/chain/test_senders.py``.
    """
    try:
        if getattr(tx, "type_id", None) is None:
            found = _legacy_signing_message(tx)
            if found is None:
                return None
            message, recid = found
        else:
            message, recid = tx.get_message_for_signing(), tx.y_parity
        return recover_from_message(message, recid, tx.r, tx.s)
    except Exception:  # any oddity: py-evm decides (and words the error)
        return None


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
        #: hashes being recovered right now by some thread -> the event a waiting thread sleeps on (made
        #: only when one waits: an event per transaction costs ~2.5 µs on the admission path). Why: one
        #: transaction can reach a node on two threads at once (a client's ``eth_sendRawTransaction`` on the
        #: intake thread and the same bytes gossiped by a peer); without this both pay the ~40 µs recovery.
        #: (Sync and replay no longer recover ahead in a thread: see :mod:`co3chain.chain.recovery_process`.)
        self._in_flight: dict[bytes, threading.Event | None] = {}
        #: how many senders were actually recovered from a signature (for tests and benchmarks)
        self.recoveries = 0

    def __len__(self) -> int:
        return len(self._senders)

    def sender(
        self, tx: Any, tx_hash: bytes | None = None, signing: tuple[bytes, int] | None = None
    ) -> bytes:
        """Sender of signed transaction ``tx``; recovered from its signature only on the first sighting
        of its hash. Raises what ``tx.sender`` raises for a bad signature (``BadSignature``,
        ``ValidationError``, ``ValueError``).

        A caller that already has them (:class:`co3chain.chain.txdecode.TxDecoder`) passes ``tx_hash``
        (= ``tx.hash``) and ``signing`` = ``(message, recovery id)`` (= what ``tx`` signed), which
        saves re-encoding the transaction to get them."""
        attrs = tx.__dict__
        known = attrs.get("sender")
        if known is not None and "check_signature_validity" in attrs:
            return known  # primed by this cache earlier
        if tx_hash is None:
            tx_hash = tx.hash
        cached, busy = self._lookup_or_claim(tx_hash)
        if busy is not None:  # another thread is recovering this very transaction: wait for its answer
            busy.wait()
            cached, busy = self._lookup_or_claim(tx_hash)
        if cached is None:
            try:
                cached = self._recover(tx, known, signing)
                with self._lock:
                    if known is None:
                        self.recoveries += 1
                    self._senders[tx_hash] = cached
                    if len(self._senders) > self.max_entries:
                        self._senders.popitem(last=False)
            finally:
                if busy is None:
                    self._release(tx_hash)
        _prime(tx, cached)
        return cached

    def _lookup_or_claim(self, tx_hash: bytes) -> tuple[bytes | None, threading.Event | None]:
        """``(sender, None)`` when cached; ``(None, event)`` when another thread is recovering it (wait on the
        event, then look again); ``(None, None)`` when the caller has claimed the recovery and must call
        :meth:`_release` when done, whatever happens."""
        with self._lock:
            cached = self._senders.get(tx_hash)
            if cached is not None:
                self._senders.move_to_end(tx_hash)
                return cached, None
            if tx_hash in self._in_flight:
                busy = self._in_flight[tx_hash]
                if busy is None:
                    busy = self._in_flight[tx_hash] = threading.Event()
                return None, busy
            self._in_flight[tx_hash] = None
            return None, None

    def _release(self, tx_hash: bytes) -> None:
        with self._lock:
            done = self._in_flight.pop(tx_hash, None)
        if done is not None:
            done.set()

    @staticmethod
    def _recover(tx: Any, known: bytes | None, signing: tuple[bytes, int] | None) -> bytes:
        # py-evm's own cached value (if any) was recovered from this object's signature too
        if known is not None:
            return known
        if signing is not None:
            sender = recover_from_message(signing[0], signing[1], tx.r, tx.s)
        else:
            sender = recover_sender(tx)
        if sender is None:
            sender = bytes(tx.get_sender())  # py-evm's own path: raises for a bad signature
        return sender

    def learn(self, pairs: Iterable[tuple[bytes, bytes]]) -> None:
        """Remember ``(transaction hash, sender)`` pairs this node recovered elsewhere (its own recovery
        child process, :mod:`co3chain.chain.recovery_process`), so the first lookup of each finds it.

        Only for senders recovered from the signature of the transaction with that very hash: the hash
        commits to the signed fields and the signature, so the pair holds for every copy of it."""
        with self._lock:
            known = self._senders
            for tx_hash, sender in pairs:
                known[tx_hash] = sender
            while len(known) > self.max_entries:
                known.popitem(last=False)

    def prime_known(self, tx: Any) -> bool:
        """Attach the sender to ``tx`` only when this cache already knows it (never recovers); returns
        whether it did.

        Why: a block read back from the store (RPC, audit replay) holds fresh transaction objects; most
        senders were recovered by this node when it admitted or imported them, and formatting ``from``
        would otherwise recover each one again (~60 µs). Callers that never read senders pay one hash
        lookup per transaction, not a recovery."""
        attrs = tx.__dict__
        if "check_signature_validity" in attrs and attrs.get("sender") is not None:
            return True
        tx_hash = tx.hash
        with self._lock:
            cached = self._senders.get(tx_hash)
        if cached is None:
            return False
        _prime(tx, cached)
        return True

    def prime(self, tx: Any) -> bytes | None:
        """Like :meth:`sender` but returns ``None`` for a bad signature instead of raising, leaving
        ``tx`` untouched so that py-evm's own validation reports the error as it always did."""
        try:
            return self.sender(tx)
        except Exception:  # any failure means "not recoverable": py-evm reports it in its own words
            return None
