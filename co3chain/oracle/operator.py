"""One oracle operator: ingest, validate, sign its own share, and answer co-sign requests.

Why one class for both roles: a co-signer must run *exactly* the same ingestion and validation code as the
lead (same parsing, same attestation derivation, same queue-backed rate limits), so the co-sign path is
"ingest the forwarded request into my own queue, validate it myself, sign" — not a separate code path.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from co3chain.errors import Co3Error
from co3chain.oracle.auth import Authenticator, AuthError
from co3chain.oracle.chainview import ChainUnavailable, ChainView, HubInfo
from co3chain.oracle.events import OracleEvent, PayloadError, new_salt, parse_event, parse_salt
from co3chain.oracle.metrics import OracleMetrics
from co3chain.oracle.signing import (
    DEFAULT_TIME_RESOLUTION,
    SALT_HEADER,
    Cosigner,
    CosignMismatch,
    CosignRefused,
    CosignUnavailable,
    OperatorKey,
    Share,
    build_attestation,
    check_time_resolution,
    collect_shares,
    forwarded_request,
    ordered_signatures,
    parse_forwarded,
    same_attestation,
)
from co3chain.oracle.store import QueueItem, QueueStore
from co3chain.oracle.validation import Validator

log = logging.getLogger("co3chain.oracle")


@dataclass(frozen=True)
class Backoff:
    """Capped exponential backoff: ``min(cap, base * 2**attempts)`` seconds."""

    base: float = 1.0
    cap: float = 60.0

    def delay(self, attempts: int) -> float:
        return min(self.cap, self.base * 2 ** min(attempts, 30))


def event_of(item: QueueItem) -> OracleEvent:
    """Re-parse a queued item (the raw body and its salt are the source of truth, never the derived columns).

    Raises :class:`PayloadError` for a row whose body retention or erasure removed (only final rows are).
    """
    if item.redacted:
        raise PayloadError(f"{item.attestation_id}: raw body removed by retention/erasure")
    return parse_event(item.source, item.source_kind, item.body, item.salt,  # type: ignore[arg-type]
                       allow_legacy=True)


class OracleOperator:
    """The per-process oracle logic, independent of HTTP and of the submitter."""

    def __init__(self, *, store: QueueStore, auth: Authenticator, validator: Validator, chain: ChainView,
                 key: OperatorKey, attestation_ttl_s: int = 7 * 86_400, metrics: OracleMetrics | None = None,
                 cosigners: Sequence[Cosigner] = (), backoff: Backoff | None = None,
                 collect_concurrency: int = 8, time_resolution_s: int = DEFAULT_TIME_RESOLUTION) -> None:
        if attestation_ttl_s <= 0:
            raise Co3Error("attestation ttl must be positive")
        # Consortium-wide, like the ttl: the signed observedAt is rounded to it (docs/privacy.md §2).
        self.time_resolution = check_time_resolution(time_resolution_s)
        self.store = store
        self.auth = auth
        self.validator = validator
        self.chain = chain
        self.key = key
        self.ttl = attestation_ttl_s
        self.metrics = metrics or OracleMetrics(store)
        self.cosigners = list(cosigners)
        self.backoff = backoff or Backoff()
        self.collect_concurrency = collect_concurrency
        # Validation reads the queue history (rate limits, dedup): serialise it so two concurrent events of
        # one citizen cannot both pass a limit of one.
        self._validate_lock = threading.Lock()

    # -- ingestion --------------------------------------------------------------------------------------------

    def ingest(self, headers: Mapping[str, str], body: bytes, now: float, *, expected_kind: str | None = None,
               check_freshness: bool = True, salt: bytes | None | Literal["fresh"] = "fresh",
               ) -> tuple[QueueItem, bool]:
        """Authenticate and durably queue a webhook; returns (row, created).  Raises AuthError/PayloadError.

        ``salt``: ``"fresh"`` (webhooks) draws a new random evidence salt; on the co-sign path it is the salt
        the lead chose (``None``: the lead's row predates salting).  A source cannot pick it: the webhook
        routes never pass one.
        """
        try:
            source, ts = self.auth.verify_signature(headers, body)
            if check_freshness:
                self.auth.check_fresh(ts, now)
        except AuthError:
            self.metrics.auth_failures.inc()
            raise
        if expected_kind is not None and source.kind != expected_kind:
            raise PayloadError(f"source {source.name!r} sends {source.kind!r} events, not {expected_kind!r}")
        try:
            evidence_salt = new_salt() if salt == "fresh" else salt
            event = parse_event(source.name, source.kind, body, evidence_salt)  # type: ignore[arg-type]
        except PayloadError:
            self.metrics.bad_payloads.inc()
            raise
        signature = next(v for k, v in headers.items() if k.lower() == "x-co3-signature")
        item, created = self.store.insert_received(event, body, ts, signature.strip(), now)
        (self.metrics.received if created else self.metrics.duplicates).labels(source.name).inc()
        return item, created

    # -- validation -------------------------------------------------------------------------------------------

    def validate_item(self, item: QueueItem, now: float) -> QueueItem:
        """Move a ``received`` item to validated or rejected; on chain read errors defer it."""
        with self._validate_lock:
            current = self.store.get(item.attestation_id)
            if current is None or current.state != "received":
                return current or item
            try:
                event = event_of(current)
                verdict = self.validator.validate(event, now)
                location = self.validator.location_facts(event)
                # The validator has just read the activity (it exists), so the derivation cannot fail.
                attestation = self.derive_attestation(event, self.chain.hub()) if verdict.ok else None
            except ChainUnavailable as exc:
                self.store.defer(item.attestation_id, str(exc), now + self.backoff.delay(current.attempts), now)
                return self.store.get(item.attestation_id) or current
            except PayloadError as exc:  # should not happen: it parsed at ingestion
                self.store.mark_rejected(item.attestation_id, f"unparseable stored event: {exc}", now)
                self.metrics.rejected.labels("validation").inc()
                return self.store.get(item.attestation_id) or current
            if verdict.ok and attestation is not None:
                self.store.mark_validated(item.attestation_id, attestation, now, location)
                self.metrics.validated.inc()
            else:
                self.store.mark_rejected(item.attestation_id, verdict.reason or "rejected", now, location)
                self.metrics.rejected.labels("validation").inc()
                log.info("rejected %s/%s: %s", item.source, item.event_id, verdict.reason)
            return self.store.get(item.attestation_id) or current

    def validate_pending(self, now: float, limit: int = 100) -> int:
        """Validate due ``received`` items; returns how many were processed."""
        items = self.store.items_in_state("received", limit, now)
        for item in items:
            self.validate_item(item, now)
        return len(items)

    # -- signing ------------------------------------------------------------------------------------------------

    def derive_attestation(self, event: OracleEvent, hub: HubInfo, *, fresh: bool = False) -> dict[str, Any]:
        """The attestation of ``event`` for signer set ``hub``, with the activity's reward rule as read now.

        ``fresh``: read the activity from the node, not from the view's cache — done right before signing,
        so the signed reward is the rule in force then and all operators read it at about the same moment.
        """
        if fresh:
            forget = getattr(self.chain, "forget_activity", None)
            if forget is not None:
                forget(event.activity_id)
        activity = self.chain.activity(event.activity_id)
        if activity is None:
            raise Co3Error(f"unknown activity {event.activity_id}")
        return build_attestation(event, hub, activity, self.ttl, time_resolution_s=self.time_resolution)

    def own_share(self, item: QueueItem) -> Share:
        """This operator's signature over the stored attestation of a validated item."""
        if item.attestation is None:
            raise Co3Error(f"{item.attestation_id} has no attestation to sign")
        return self.key.sign(self.chain.hub(), item.attestation)

    def cosign(self, headers: Mapping[str, str], body: bytes, now: float,
               version_hint: int | None = None, observed_hint: int | None = None) -> Share:
        """Answer a lead's sign request: authenticate the source, ingest, validate independently, sign.

        Raises :class:`CosignRefused` with this operator's rejection reason, :class:`AuthError` /
        :class:`PayloadError` for bad requests, :class:`ChainUnavailable` when the chain cannot be read and
        :class:`CosignMismatch` when the lead's ``observedAt`` (``observed_hint``) is not the one this
        operator derives — a different ``[privacy] time_resolution``: it refuses rather than sign another
        struct.
        """
        salt = parse_salt(next((v for k, v in headers.items() if k.lower() == SALT_HEADER.lower()), None))
        item, _ = self.ingest(headers, body, now, check_freshness=False, salt=salt)
        if item.salt != salt and not item.redacted:
            # This operator queued the event earlier under another salt (the source also delivered it here):
            # the two commitments differ, so signing would only produce a share the lead cannot use.
            raise CosignRefused(f"{item.attestation_id}: queued here with another evidence salt; "
                                "deliver each event to one lead operator")
        if item.state == "received":
            item = self.validate_item(item, now)
        if item.state == "received":
            self.metrics.cosigned.labels("unavailable").inc()
            raise ChainUnavailable(item.reason or "validation deferred")
        if item.state == "rejected":
            self.metrics.cosigned.labels("refused").inc()
            raise CosignRefused(item.reason or "rejected")
        hub = self.chain.hub()
        if version_hint is not None and version_hint != hub.version:
            self.invalidate_chain_cache()
            hub = self.chain.hub()
        assert item.attestation is not None
        # Re-derived now, not the one stored at validation: the signer set may have rotated and the reward
        # rule may have changed since; what is signed is the current version and rule.
        try:
            attestation = self.derive_attestation(event_of(item), hub, fresh=True)
        except ChainUnavailable:
            raise
        except Co3Error as exc:
            self.metrics.cosigned.labels("refused").inc()
            raise CosignRefused(str(exc)) from exc
        if observed_hint is not None and observed_hint != attestation["observedAt"]:
            self.metrics.cosigned.labels("unavailable").inc()
            raise CosignMismatch(
                f"{item.attestation_id}: the lead signs observedAt {observed_hint}, this operator derives "
                f"{attestation['observedAt']} ([privacy] time_resolution here: {self.time_resolution} s); the "
                "time resolution must be the same on every operator")
        share = self.key.sign(hub, attestation)
        if item.state == "validated" or (item.state == "signed" and
                                         not same_attestation(attestation, item.attestation)):
            own = [{"signer": share.signer, "signature": "0x" + share.signature.hex()}]
            self.store.mark_signed(item.attestation_id, own, now, attestation=attestation)
        self.metrics.cosigned.labels("signed").inc()
        return share

    def invalidate_chain_cache(self) -> None:
        """Drop cached chain reads (signer set rotated, area changed) when the view supports it."""
        invalidate = getattr(self.chain, "invalidate", None)
        if invalidate is not None:
            invalidate()

    def collect_pending(self, now: float, limit: int = 50) -> int:
        """For due ``validated`` items: gather ≥ threshold shares and move them to ``signed``.

        Items are collected concurrently (``collect_concurrency``): each needs a round trip to every
        co-signer, which re-validates against the chain, so doing them one by one would leave the
        co-signers idle most of the time.
        """
        items = self.store.items_in_state("validated", limit, now)
        if len(items) <= 1 or self.collect_concurrency <= 1:
            for item in items:
                self.collect_item(item, now)
            return len(items)
        with cf.ThreadPoolExecutor(max_workers=min(self.collect_concurrency, len(items))) as pool:
            for fut in [pool.submit(self.collect_item, item, now) for item in items]:
                fut.result()
        return len(items)

    def collect_item(self, item: QueueItem, now: float) -> None:
        """Gather shares for one item; reject when too many operators refuse, else defer and retry."""
        try:
            hub = self.chain.hub()
            # Always re-derived with a fresh read of the reward rule (co-signers do the same).
            item = _with_attestation(item, self.derive_attestation(event_of(item), hub, fresh=True))
            own = self.key.sign(hub, item.attestation or {})
        except Co3Error as exc:  # chain unreadable, or this key is (no longer) a signer: retry later
            self.store.defer(item.attestation_id, str(exc), now + self.backoff.delay(item.attempts), now)
            log.warning("cannot sign %s: %s", item.attestation_id, exc)
            return
        result = collect_shares(item, own, self.cosigners, hub)
        if len(result.shares) >= hub.threshold:
            self.store.mark_signed(item.attestation_id, ordered_signatures(result.shares, hub.threshold), now,
                                   attestation=own.attestation)
            self.metrics.signed.inc()
            return
        max_refusals = len(hub.signers) - hub.threshold
        if len(result.refusals) > max_refusals:
            reason = "co-signers refused: " + " | ".join(result.refusals)
            self.store.mark_rejected(item.attestation_id, reason, now)
            self.metrics.rejected.labels("cosign").inc()
            return
        problems = result.refusals + result.failures
        reason = f"{len(result.shares)}/{hub.threshold} signatures: " + " | ".join(problems)
        self.store.defer(item.attestation_id, reason, now + self.backoff.delay(item.attempts), now)


def _with_attestation(item: QueueItem, attestation: dict[str, Any]) -> QueueItem:
    return replace(item, attestation=attestation)


class LocalCosigner:
    """A co-signer in the same process (single-machine mode, tests, benchmarks): same checks, no HTTP."""

    def __init__(self, operator: OracleOperator, clock: Callable[[], float] = time.time) -> None:
        self.operator = operator
        self.clock = clock
        self.name = f"local:{operator.key.address}"

    def request_share(self, item: QueueItem) -> Share:
        forwarded = parse_forwarded(forwarded_request(item))
        try:
            return self.operator.cosign(forwarded.headers, forwarded.body, self.clock(), forwarded.version,
                                        forwarded.observed_at)
        except ChainUnavailable as exc:
            raise CosignUnavailable(f"{self.name}: {exc}") from exc


__all__ = ["Backoff", "CosignRefused", "CosignUnavailable", "LocalCosigner", "OracleOperator", "event_of"]
