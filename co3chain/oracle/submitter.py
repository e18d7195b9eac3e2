"""Batches signed attestations into ``AttestationHub.submitBatch`` transactions, exactly once.

Crash safety — the order of operations is the point of this module:

1. before building a batch, ``isUsed(id)`` is read for every candidate; used ids are marked confirmed
   (a previous run got them on chain) and never sent again;
2. the transaction is signed locally with an explicit nonce and *recorded* (raw bytes + hash, events moved to
   ``submitted``) in one SQLite commit **before** it is broadcast;
3. on restart, :meth:`Submitter.recover` looks at every recorded, unresolved transaction: mined → resolve
   from its receipt; nonce consumed by something else → ``isUsed`` decides per id; still unknown → the
   *same* raw bytes are re-broadcast (same nonce, same hash, so it cannot be included twice).

Release schedule (``[submitter] schedule_seconds``, ``docs/privacy.md`` §2): a block's timestamp tells when
its batch was sent, so sending as soon as an attestation is signed publishes each event's time to within the
oracle's latency, whatever the coarse ``observedAt`` hides.  With a period ``P`` > 0 batches leave only in
the first ``schedule_window_seconds`` after a multiple of ``P`` (Unix time): signed items wait for the next
boundary, and block times reveal only the period.  Receipt polling and re-broadcasts of already recorded
transactions are not held (they repeat a send made at a boundary).

Even a bug here cannot double-reward: the hub marks each id used, and a re-sent id is skipped on chain
(``AttestationRejected(AttestationAlreadyUsed)``) — the submitter then records it as confirmed.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from eth_utils import to_checksum_address
from hexbytes import HexBytes

from co3chain.contracts.typed_data import ATTESTATION_FIELDS, attestation_tuple
from co3chain.errors import Co3Error
from co3chain.oracle.chainview import ChainView
from co3chain.oracle.metrics import OracleMetrics
from co3chain.oracle.operator import Backoff
from co3chain.oracle.store import QueueItem, QueueStore, Submission

log = logging.getLogger("co3chain.oracle.submitter")

#: Test hook: ``CO3CHAIN_ORACLE_FAULT=after_record`` / ``after_broadcast`` kills the process (SIGKILL) at that
#: point, to prove in tests that a crash between signing/recording and broadcasting loses or doubles nothing.
FAULT_ENV = "CO3CHAIN_ORACLE_FAULT"


def _fault(point: str) -> None:
    if os.environ.get(FAULT_ENV) == point:
        log.warning("fault injection: SIGKILL at %s", point)
        os.kill(os.getpid(), signal.SIGKILL)


ErrorDecoderFn = Callable[[bytes], str]

#: On-chain rejections that mean "signatures are for another signer set", not "bad attestation".
RESIGN_ERRORS = ("WrongSignerSetVersion", "NotASigner", "InsufficientSignatures")


@dataclass(frozen=True)
class SubmitterConfig:
    """``[submitter]`` settings."""

    batch_size: int = 25
    gas_per_attestation: int = 700_000  # a first reward (mint + delegation + checkpoints + budgets) is ~545k
    gas_base: int = 100_000
    rebroadcast_after_s: float = 30.0
    max_inflight: int = 4
    schedule_seconds: float = 0.0  # > 0: send only just after multiples of this period (0: as soon as signed)
    schedule_window_seconds: float = 60.0  # how long after each boundary sending stays open

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= 500:
            raise Co3Error("submitter batch_size must be between 1 and 500")
        if self.max_inflight < 1:
            raise Co3Error("submitter max_inflight must be at least 1")
        if self.schedule_seconds < 0:
            raise Co3Error("submitter schedule_seconds must be 0 (send at once) or a period in seconds")
        if self.schedule_seconds and not 0 < self.schedule_window_seconds <= self.schedule_seconds:
            raise Co3Error("submitter schedule_window_seconds must be > 0 and at most schedule_seconds")

    def release_open(self, now: float) -> bool:
        """True when a batch may be sent at ``now``: always without a schedule, else only within
        ``schedule_window_seconds`` after a multiple of ``schedule_seconds``."""
        period = self.schedule_seconds
        return period <= 0 or now % period < self.schedule_window_seconds

    def next_release(self, now: float) -> float:
        """When sending opens next (``now`` if it is open)."""
        if self.release_open(now):
            return now
        return now - now % self.schedule_seconds + self.schedule_seconds


class Submitter:
    """Owns one sending account; single-threaded (called from the oracle worker loop)."""

    def __init__(self, *, w3: Any, hub: Any, account: Any, store: QueueStore, chain: ChainView,
                 config: SubmitterConfig | None = None, metrics: OracleMetrics | None = None,
                 backoff: Backoff | None = None, decode_error: ErrorDecoderFn | None = None,
                 fee_fields: Callable[[Any], dict[str, int]] | None = None) -> None:
        self.w3 = w3
        self.hub = hub
        self.account = account
        self.store = store
        self.chain = chain
        self.config = config or SubmitterConfig()
        self.metrics = metrics or OracleMetrics()
        self.backoff = backoff or Backoff()
        self.decode_error = decode_error or (lambda data: "0x" + data.hex())
        self._fee_fields = fee_fields or _default_fees
        self._next_nonce: int | None = None
        self._next_broadcast: dict[str, float] = {}  # tx hash → when to (re-)broadcast it
        self._broadcast_failures: dict[str, int] = {}
        self._accepted_topic = _event_topic(hub, "AttestationAccepted")
        self._rejected_topic = _event_topic(hub, "AttestationRejected")

    # -- nonces -------------------------------------------------------------------------------------------------

    def _chain_nonce(self) -> int:
        return int(self.w3.eth.get_transaction_count(self.account.address, "pending"))

    def _take_nonce(self) -> int:
        """Next nonce: the larger of the node's pending count and our own recorded transactions."""
        if self._next_nonce is None:
            recorded = [s.nonce + 1 for s in self.store.pending_submissions()]
            self._next_nonce = max([self._chain_nonce(), *recorded])
        nonce = self._next_nonce
        self._next_nonce += 1
        return nonce

    # -- recovery and polling -----------------------------------------------------------------------------------

    def recover(self, now: float) -> None:
        """Resolve every recorded, unresolved transaction after a (re)start; re-broadcast the unknown ones."""
        self._next_nonce = None
        for sub in self.store.pending_submissions():
            if not self._resolve(sub, now):
                self._broadcast(sub.raw_tx, sub.tx_hash, now)

    def poll(self, now: float) -> int:
        """Check receipts of in-flight transactions; returns how many were resolved."""
        resolved = 0
        for sub in self.store.pending_submissions():
            if self._resolve(sub, now):
                resolved += 1
            elif now >= self._next_broadcast.get(sub.tx_hash, 0.0):
                self._broadcast(sub.raw_tx, sub.tx_hash, now)
        return resolved

    def _receipt(self, tx_hash: str) -> Any | None:
        from web3.exceptions import TransactionNotFound

        try:
            return self.w3.eth.get_transaction_receipt(tx_hash)
        except TransactionNotFound:
            return None

    def _resolve(self, sub: Submission, now: float) -> bool:
        """Settle ``sub`` if its fate is known; False while it may still be mined."""
        # Nonce first, receipt second: if the nonce was already consumed before we looked for the receipt
        # and there is none, the nonce went to another transaction (the reverse order races with mining).
        latest_nonce = int(self.w3.eth.get_transaction_count(self.account.address, "latest"))
        receipt = self._receipt(sub.tx_hash)
        if receipt is not None:
            self._apply_receipt(sub, receipt, now)
            return True
        if latest_nonce > sub.nonce:
            # Our nonce was consumed by another transaction (replaced or lost): the chain decides per id.
            used = [aid for aid in sub.attestation_ids if self._is_used(aid)]
            for aid in used:
                self.store.mark_confirmed(aid, self._find_block(aid), now)
                self.metrics.confirmed.inc()
            self.store.fail_submission(sub.tx_hash, "dropped", now, now)
            self.metrics.txs.labels("dropped").inc()
            return True
        return False

    def _apply_receipt(self, sub: Submission, receipt: Any, now: float) -> None:
        block = int(receipt["blockNumber"])
        if int(receipt["status"]) != 1:
            log.warning("submitBatch %s reverted in block %s", sub.tx_hash, block)
            self.metrics.txs.labels("reverted").inc()
            retry = now + self.backoff.delay(_max_attempts(self.store, sub.attestation_ids))
            self.store.fail_submission(sub.tx_hash, "reverted", retry, now)
            return
        accepted: set[str] = set()
        rejected: dict[str, str] = {}
        for entry in receipt["logs"]:
            if to_checksum_address(entry["address"]) != self.hub.address or not entry["topics"]:
                continue
            topic = HexBytes(entry["topics"][0])
            aid = "0x" + bytes(HexBytes(entry["topics"][1])).hex() if len(entry["topics"]) > 1 else None
            if aid is None:
                continue
            if topic == self._accepted_topic:
                accepted.add(aid)
            elif topic == self._rejected_topic:
                ev = self.hub.events.AttestationRejected().process_log(entry)
                rejected[aid] = self.decode_error(bytes(ev["args"]["reason"]))
        confirmed = set(accepted)
        resign: list[str] = []
        for aid, reason in rejected.items():
            if aid in sub.attestation_ids and self._is_used(aid):
                confirmed.add(aid)  # used by an earlier submission (e.g. before a crash): not a rejection
            elif aid in sub.attestation_ids and reason == "0x":
                # Empty revert data: the item ran out of gas inside the batch.  Not the attestation's fault;
                # confirm_submission returns it to 'signed' for another try.
                log.warning("attestation %s failed without reason (out of gas?) in %s", aid, sub.tx_hash)
            elif aid in sub.attestation_ids and reason.startswith(RESIGN_ERRORS):
                resign.append(aid)  # the signer set rotated under us: sign again, do not reject
            elif aid in sub.attestation_ids:
                self.store.mark_rejected(aid, f"on-chain: {reason}", now)
                self.metrics.rejected.labels("onchain").inc()
        retry = now + self.backoff.delay(_max_attempts(self.store, sub.attestation_ids))
        self.store.confirm_submission(sub.tx_hash, block, confirmed, now, retry_at=retry)
        if resign:
            invalidate = getattr(self.chain, "invalidate", None)
            if invalidate is not None:
                invalidate()
            for aid in resign:
                self.store.resign(aid, f"on-chain: {rejected[aid]}", now)
        self.metrics.confirmed.inc(len(confirmed))
        self.metrics.txs.labels("mined").inc()

    def _is_used(self, aid: str) -> bool:
        return bool(self.hub.functions.isUsed(bytes.fromhex(aid[2:])).call())

    def _find_block(self, aid: str) -> int | None:
        """Block of the ``AttestationAccepted`` event of ``aid`` (None if not found)."""
        logs = self.w3.eth.get_logs({"address": self.hub.address, "fromBlock": 0, "toBlock": "latest",
                                     "topics": [self._accepted_topic, HexBytes(aid)]})
        return int(logs[-1]["blockNumber"]) if logs else None

    def _broadcast(self, raw: bytes, tx_hash: str, now: float) -> bool:
        """Send the recorded bytes; schedule the next attempt (soon with backoff after a failure, else only
        if the transaction is still not mined after ``rebroadcast_after_s``)."""
        try:
            self.w3.eth.send_raw_transaction(raw)
        except Exception as exc:  # "already known" / "nonce too low" are normal on re-broadcast
            failures = self._broadcast_failures.get(tx_hash, 0)
            self._broadcast_failures[tx_hash] = failures + 1
            self._next_broadcast[tx_hash] = now + self.backoff.delay(failures)
            log.info("broadcast of %s: %s", tx_hash, exc)
            return False
        self._broadcast_failures.pop(tx_hash, None)
        self._next_broadcast[tx_hash] = now + self.config.rebroadcast_after_s
        return True

    # -- submission -----------------------------------------------------------------------------------------------

    def submit_ready(self, now: float) -> int:
        """Send one batch of due ``signed`` items (if in-flight room); returns how many items were handled
        (sent, found already used, or sent back for re-signing).  Outside the release window of a schedule
        nothing is sent (0)."""
        if not self.config.release_open(now):
            return 0
        if len(self.store.pending_submissions()) >= self.config.max_inflight:
            return 0
        items = self.store.items_in_state("signed", self.config.batch_size, now)
        if not items:
            return 0
        hub = self.chain.hub()
        batch: list[QueueItem] = []
        for item in items:
            if self._is_used(item.attestation_id):
                self.store.mark_confirmed(item.attestation_id, self._find_block(item.attestation_id), now)
                self.metrics.confirmed.inc()
            elif item.attestation is None or item.attestation.get("signerSetVersion") != hub.version:
                self.store.resign(item.attestation_id, f"signer set is now version {hub.version}", now)
            elif set(item.attestation) != set(ATTESTATION_FIELDS):
                # Signed in the format of an older hub (before rewards were signed): sign it again.
                self.store.resign(item.attestation_id, "attestation format changed: re-sign with the reward", now)
            else:
                batch.append(item)
        if batch:
            self._send_batch(batch, now)
        return len(items)

    def _send_batch(self, batch: Sequence[QueueItem], now: float) -> None:
        attestations = [attestation_tuple(item.attestation or {}) for item in batch]
        signatures = [[bytes.fromhex(s["signature"][2:]) for s in item.signatures or []] for item in batch]
        nonce = self._take_nonce()
        call = self.hub.functions.submitBatch(attestations, signatures)
        # Not eth_estimateGas: submitBatch catches per-item failures, so the estimate would be the gas of
        # the path where items run out of gas and are skipped.  A fixed per-item budget is safe; unused gas
        # is refunded.
        gas = self.config.gas_base + self.config.gas_per_attestation * len(batch)
        tx = call.build_transaction({
            "from": self.account.address, "nonce": nonce, "chainId": int(self.w3.eth.chain_id),
            "gas": gas, **self._fee_fields(self.w3),
        })
        signed = self.account.sign_transaction(tx)
        raw = bytes(signed.raw_transaction)
        tx_hash = "0x" + bytes(signed.hash).hex()
        self.store.record_submission(tx_hash, nonce, raw, [i.attestation_id for i in batch], now)
        _fault("after_record")
        self.metrics.batch_size.observe(len(batch))
        self.metrics.txs.labels("sent").inc()
        if not self._broadcast(raw, tx_hash, now):
            # Still recorded: poll() re-broadcasts it, or finds its nonce consumed and requeues its events.
            log.warning("broadcast of %s failed; will retry", tx_hash)
            self._next_nonce = None
        _fault("after_broadcast")


def _max_attempts(store: QueueStore, ids: Sequence[str]) -> int:
    attempts = [item.attempts for aid in ids if (item := store.get(aid)) is not None]
    return max(attempts, default=0)


def _event_topic(contract: Any, name: str) -> HexBytes:
    from eth_utils import event_abi_to_log_topic

    for item in contract.abi:
        if item.get("type") == "event" and item.get("name") == name:
            return HexBytes(event_abi_to_log_topic(item))
    raise Co3Error(f"AttestationHub ABI has no event {name}")


def _default_fees(w3: Any) -> dict[str, int]:
    from co3chain.contracts.deploy import fee_fields

    return fee_fields(w3)


def wait_idle(step: Callable[[], int], timeout: float, interval: float = 0.05) -> None:
    """Run ``step`` until it reports no work (helper for scripts)."""
    deadline = time.monotonic() + timeout
    while step() and time.monotonic() < deadline:
        time.sleep(interval)
