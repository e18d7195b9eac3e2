"""Attestation construction and M-of-N co-signing.

Design (``docs/oracle.md``): every operator process holds exactly one signer key.  The *lead* operator
(webhooks + submitter) forwards each validated event — the original raw body and the source's HMAC headers —
to the other operators' ``POST /oracle/v1/sign``.  A co-signer authenticates the source's HMAC itself,
re-parses the body, validates it against its own chain reads, geometry files and queue history, derives the
attestation itself and only then signs.  The lead accepts a returned signature only if it recovers to a
current signer over exactly the attestation the lead derived.  Nothing is signed blindly: an attestation
is a pure function of (raw body, source, hub signer-set version, the activity's reward rule, ttl), so honest
operators agree on it.

Why the reward is in the attestation: the hub mints exactly the signed amounts, so an area manager who
raises an activity's reward after the oracles signed cannot inflate what those attestations mint.  Each
operator reads the rule from the chain itself right before signing (lead and co-signers alike); if the rule
changes between two operators' reads their attestations differ, the lead refuses the mismatching share and
retries later, when all operators see the same rule.

Why ``observedAt`` is coarse (``docs/privacy.md`` §2): the hub only needs "observed before the block and
inside the activity window", so the signed time is the event's second rounded *down* to ``[privacy]
time_resolution`` (default one hour), never before the activity's ``startsAt`` (the hub checks the activity
is open at ``observedAt``).  ``expiresAt`` is the exact time plus the TTL rounded *up* to the resolution: never
earlier than with exact times, and it does not give the exact time back as ``expiresAt - ttl``.  Like the
TTL, the resolution is a consortium-wide setting: operators with different values derive different structs.
Off-chain validation (dedup, rate limits, event age) keeps using the exact time.
"""

from __future__ import annotations

import base64
import concurrent.futures as cf
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from eth_account import Account

from co3chain.contracts.typed_data import (
    TypedDataError,
    normalize_attestation,
    recover_attestation_signer,
    sign_attestation,
)
from co3chain.errors import Co3Error
from co3chain.oracle.auth import SIGNATURE_HEADER, SOURCE_HEADER, TIMESTAMP_HEADER
from co3chain.oracle.chainview import ActivityInfo, HubInfo
from co3chain.oracle.events import OracleEvent
from co3chain.oracle.store import QueueItem

SIGN_PATH = "/oracle/v1/sign"
#: Forwarded to co-signers with the source's headers: the lead's per-event evidence salt (``0x`` + 64 hex), so
#: every operator derives the same salted evidence commitment.  Never read from a source's webhook request.
SALT_HEADER = "X-Co3-Evidence-Salt"


class CosignRefused(Co3Error):
    """A co-signer validated the event and refuses to sign it (the reason is its rejection reason)."""


class CosignUnavailable(Co3Error):
    """A co-signer could not be asked (down, timeout, chain unreadable on its side): retry later."""


class CosignMismatch(CosignUnavailable):
    """A co-signer derives another ``observedAt`` than the lead: ``[privacy] time_resolution`` differs
    between operators (or the activity's start changed between their reads).  Not the citizen's fault, so
    never a rejection: the lead retries until the consortium's operators agree again."""


#: Default ``[privacy] time_resolution``: the signed ``observedAt`` says only which hour an activity was in.
DEFAULT_TIME_RESOLUTION = 3600
#: Largest accepted resolution (a day): coarser adds little privacy and mostly hits the activity-start clamp.
MAX_TIME_RESOLUTION = 86_400
_UINT64_MAX = 2**64 - 1


def check_time_resolution(seconds: int) -> int:
    """``seconds`` if it is a valid resolution (an integer from 1 = exact to one day), else a readable error."""
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not 1 <= seconds <= MAX_TIME_RESOLUTION:
        raise Co3Error(f"time resolution must be an integer number of seconds from 1 (exact) to "
                       f"{MAX_TIME_RESOLUTION}, got {seconds!r}")
    return seconds


def coarse_observed_at(observed_at: int, starts_at: int, resolution_s: int) -> int:
    """``observed_at`` rounded down to ``resolution_s``, but not before ``starts_at`` (the hub requires the
    activity to be open at the signed time).  Depends only on the event and the activity, so every operator
    with the same resolution derives the same value."""
    return max(observed_at - observed_at % resolution_s, min(starts_at, observed_at))


def coarse_expires_at(observed_at: int, ttl_seconds: int, resolution_s: int) -> int:
    """``observed_at + ttl`` rounded up to ``resolution_s`` (capped to uint64): never shorter than the exact
    expiry, and it reveals no more about the event time than ``observedAt`` does."""
    exact = observed_at + ttl_seconds
    return min(exact + (-exact) % resolution_s, _UINT64_MAX)


def build_attestation(event: OracleEvent, hub: HubInfo, activity: ActivityInfo, ttl_seconds: int, *,
                      time_resolution_s: int = DEFAULT_TIME_RESOLUTION) -> dict[str, Any]:
    """The attestation for ``event`` in JSON form (hex ``bytes32``), deterministic across operators.

    ``activity`` is the on-chain activity of the event as this operator reads it now: its reward rule is
    signed and its ``startsAt`` clamps the coarse ``observedAt`` (see the module docstring).
    ``time_resolution_s`` = 1 signs the exact second.
    """
    if activity.activity_id != event.activity_id:
        raise Co3Error(f"activity {activity.activity_id} given for an event of activity {event.activity_id}")
    resolution = check_time_resolution(time_resolution_s)
    return {
        "id": "0x" + event.attestation_id.hex(),
        "subject": event.citizen,
        "activityId": event.activity_id,
        "kind": int(event.kind),
        "evidenceHash": "0x" + event.evidence_hash.hex(),
        "observedAt": coarse_observed_at(event.observed_at, activity.starts_at, resolution),
        "expiresAt": coarse_expires_at(event.observed_at, ttl_seconds, resolution),
        "tokenReward": activity.token_reward,
        "reputationReward": activity.reputation_reward,
        "signerSetVersion": hub.version,
    }


def same_attestation(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """True when two attestation dicts describe the same struct (hex case and address case ignored)."""
    try:
        return normalize_attestation(a) == normalize_attestation(b)
    except TypedDataError:
        return False


@dataclass(frozen=True)
class Share:
    """One operator's signature over an attestation."""

    signer: str
    signature: bytes
    attestation: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"signer": self.signer, "signature": "0x" + self.signature.hex(), "attestation": self.attestation}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Share:
        try:
            sig = bytes.fromhex(str(data["signature"]).removeprefix("0x"))
            return cls(str(data["signer"]), sig, dict(data["attestation"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise CosignUnavailable(f"malformed co-signer reply: {exc}") from exc


class OperatorKey:
    """This operator's signer key (loaded from a keystore by the service)."""

    def __init__(self, private_key: bytes) -> None:
        self._key = private_key
        self.address = Account.from_key(private_key).address

    def sign(self, hub: HubInfo, attestation: Mapping[str, Any]) -> Share:
        if self.address not in hub.signers:
            raise Co3Error(f"this operator's key {self.address} is not in the hub's current signer set")
        sig = sign_attestation(self._key, hub.chain_id, hub.address, attestation)
        return Share(self.address, sig, dict(attestation))


def forwarded_request(item: QueueItem) -> dict[str, Any]:
    """The JSON a lead sends to co-signers: the source's original HMAC headers and raw body, plus the
    signer-set version the lead saw (only a hint to refresh a stale cache; the co-signer reads the chain)."""
    request: dict[str, Any] = {
        "headers": {SOURCE_HEADER: item.source, TIMESTAMP_HEADER: str(item.auth_timestamp),
                    SIGNATURE_HEADER: item.auth_signature},
        "body": base64.b64encode(item.body).decode("ascii"),
    }
    if item.evidence_salt:
        request["headers"][SALT_HEADER] = item.evidence_salt
    if item.attestation is not None:
        request["signerSetVersion"] = int(item.attestation["signerSetVersion"])
        # The coarse time the lead derived: a co-signer with another time resolution refuses with a clear
        # reason instead of signing a struct the lead cannot use.
        request["observedAt"] = int(item.attestation["observedAt"])
    return request


@dataclass(frozen=True)
class ForwardedRequest:
    """A parsed co-sign request; the lead's signer-set version and ``observedAt`` are hints (None: absent,
    e.g. from an older lead), never trusted as facts: the co-signer derives the attestation itself."""

    headers: dict[str, str]
    body: bytes
    version: int | None = None
    observed_at: int | None = None


def parse_forwarded(data: Mapping[str, Any]) -> ForwardedRequest:
    """Inverse of :func:`forwarded_request` (raises :class:`Co3Error` on malformed input)."""
    try:
        headers = {str(k): str(v) for k, v in dict(data["headers"]).items()}
        body = base64.b64decode(str(data["body"]), validate=True)
        version, observed = data.get("signerSetVersion"), data.get("observedAt")
        return ForwardedRequest(headers, body, None if version is None else int(version),
                                None if observed is None else int(observed))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise Co3Error(f"malformed sign request: {exc}") from exc


class Cosigner(Protocol):
    """Another operator that can be asked to sign."""

    name: str

    def request_share(self, item: QueueItem) -> Share: ...


class HttpCosigner:
    """A remote operator reached over HTTP (its ``POST /oracle/v1/sign``)."""

    def __init__(self, url: str, timeout: float = 10.0, client: httpx.Client | None = None) -> None:
        self.name = url
        self.url = url.rstrip("/") + SIGN_PATH
        self._client = client or httpx.Client(timeout=timeout)

    def request_share(self, item: QueueItem) -> Share:
        try:
            resp = self._client.post(self.url, json=forwarded_request(item))
        except httpx.HTTPError as exc:
            raise CosignUnavailable(f"{self.name}: {exc.__class__.__name__}: {exc}") from exc
        if resp.status_code == 422:
            raise CosignRefused(f"{self.name}: {_detail(resp)}")
        if resp.status_code != 200:
            raise CosignUnavailable(f"{self.name}: HTTP {resp.status_code} {_detail(resp)}")
        return Share.from_json(resp.json())


def _detail(resp: httpx.Response) -> str:
    try:
        return str(resp.json().get("detail"))
    except ValueError:
        return resp.text[:200]


@dataclass(frozen=True)
class Collection:
    """Outcome of asking all operators: valid shares, refusals and unreachable peers."""

    shares: list[Share]
    refusals: list[str]
    failures: list[str]


def verify_share(share: Share, hub: HubInfo, attestation: Mapping[str, Any]) -> str | None:
    """None if ``share`` is a current signer's signature over ``attestation``, else why not."""
    if not same_attestation(share.attestation, attestation):
        return f"{share.signer} signed a different attestation {share.attestation}"
    try:
        signer = recover_attestation_signer(hub.chain_id, hub.address, attestation, share.signature)
    except Exception as exc:  # malformed signature bytes
        return f"unrecoverable signature from {share.signer}: {exc}"
    if signer not in hub.signers:
        return f"signature by {signer}, which is not a current signer"
    if signer.lower() != share.signer.lower():
        return f"signature claims {share.signer} but recovers to {signer}"
    return None


def collect_shares(item: QueueItem, own: Share, cosigners: Sequence[Cosigner], hub: HubInfo,
                   executor: cf.Executor | None = None) -> Collection:
    """Ask every co-signer in parallel; keep the valid, distinct shares (own first)."""
    shares = {own.signer: own}
    refusals: list[str] = []
    failures: list[str] = []
    attestation = own.attestation

    def ask(c: Cosigner) -> Share:
        return c.request_share(item)

    pool = executor or cf.ThreadPoolExecutor(max_workers=max(1, len(cosigners)))
    try:
        futures = {pool.submit(ask, c): c for c in cosigners}
        for fut in cf.as_completed(futures):
            try:
                share = fut.result()
            except CosignRefused as exc:
                refusals.append(str(exc))
                continue
            except Exception as exc:  # a peer bug must not stop collection from the others
                failures.append(f"{futures[fut].name}: {exc}")
                continue
            problem = verify_share(share, hub, attestation)
            if problem:
                failures.append(f"{futures[fut].name}: {problem}")
            else:
                shares.setdefault(share.signer, share)
    finally:
        if executor is None:
            pool.shutdown(wait=True)
    return Collection(list(shares.values()), refusals, failures)


def ordered_signatures(shares: Sequence[Share], threshold: int) -> list[dict[str, str]]:
    """The first ``threshold`` signatures by ascending signer address, stored as JSON in the queue.

    Why exactly ``threshold``: extra signatures only cost gas; ascending order is what the hub checks.
    """
    ordered = sorted(shares, key=lambda s: int(s.signer, 16))[:threshold]
    return [{"signer": s.signer, "signature": "0x" + s.signature.hex()} for s in ordered]
