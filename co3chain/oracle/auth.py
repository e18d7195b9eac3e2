"""Webhook source authentication: HMAC-SHA256 over timestamp and raw body, per-source secret.

Scheme (documented in ``docs/oracle.md``; chosen over per-request secp256k1 signatures because every AR and
social-network backend already has an HMAC webhook signer, and the key never needs to leave two servers):

* ``X-CO3-Source: <source name>`` — selects the secret;
* ``X-CO3-Timestamp: <unix seconds>`` — must be within ``±skew`` seconds of the oracle's clock;
* ``X-CO3-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." || raw body)>``.

Replays: a captured request is only acceptable inside the skew window, and inside that window it carries the
same (source, event id) as the original, which the queue stores idempotently — a replay is acknowledged but
never queued or rewarded twice.  A fresh timestamp needs a fresh signature, i.e. the secret.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from co3chain.errors import Co3Error

SOURCE_HEADER = "X-CO3-Source"
TIMESTAMP_HEADER = "X-CO3-Timestamp"
SIGNATURE_HEADER = "X-CO3-Signature"
SIGNATURE_PREFIX = "sha256="


class AuthError(Co3Error):
    """The request is not authenticated by a configured source (HTTP 401)."""


@dataclass(frozen=True)
class Source:
    """A configured webhook source: its name, payload family (``ar`` or ``social``) and shared secret."""

    name: str
    kind: str
    secret: bytes

    def __post_init__(self) -> None:
        if self.kind not in ("ar", "social"):
            raise Co3Error(f"source {self.name!r}: kind must be 'ar' or 'social', not {self.kind!r}")
        if len(self.secret) < 16:
            raise Co3Error(f"source {self.name!r}: secret must be at least 16 bytes")


def compute_signature(secret: bytes, timestamp: str | int, body: bytes) -> str:
    """The ``X-CO3-Signature`` header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret, str(timestamp).encode("ascii") + b"." + body, hashlib.sha256)
    return SIGNATURE_PREFIX + mac.hexdigest()


def sign_headers(source: Source, body: bytes, timestamp: int) -> dict[str, str]:
    """All three headers a source sends (used by source SDKs, tests and the benchmark)."""
    return {
        SOURCE_HEADER: source.name,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: compute_signature(source.secret, timestamp, body),
    }


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    raise AuthError(f"missing header {name}")


class Authenticator:
    """Checks webhook requests against the configured sources."""

    def __init__(self, sources: list[Source], skew_seconds: int = 300) -> None:
        if skew_seconds <= 0:
            raise Co3Error("auth skew window must be positive")
        self.sources = {s.name: s for s in sources}
        if len(self.sources) != len(sources):
            raise Co3Error("duplicate webhook source names in config")
        self.skew = skew_seconds

    def verify_signature(self, headers: Mapping[str, str], body: bytes) -> tuple[Source, int]:
        """Check source and HMAC only (no clock): returns the source and the signed timestamp.

        Co-signing operators use this on forwarded requests, which are legitimately older than the skew
        window by the time they arrive; freshness was enforced once, at ingestion.
        """
        name = _header(headers, SOURCE_HEADER)
        source = self.sources.get(name)
        if source is None:
            raise AuthError(f"unknown source {name!r}")
        ts_text = _header(headers, TIMESTAMP_HEADER)
        if not ts_text.isdigit() or len(ts_text) > 12:
            raise AuthError("timestamp header must be unix seconds")
        expected = compute_signature(source.secret, ts_text, body)
        if not hmac.compare_digest(expected, _header(headers, SIGNATURE_HEADER).strip()):
            raise AuthError("bad signature")
        return source, int(ts_text)

    def authenticate(self, headers: Mapping[str, str], body: bytes, now: float) -> Source:
        """Full check at ingestion: signature valid and timestamp within ``±skew`` of ``now``."""
        source, ts = self.verify_signature(headers, body)
        self.check_fresh(ts, now)
        return source

    def check_fresh(self, timestamp: int, now: float) -> None:
        """Refuse a signed timestamp outside ``±skew`` of ``now``."""
        if abs(now - timestamp) > self.skew:
            raise AuthError(f"timestamp outside the ±{self.skew}s window (replayed or clock skew)")
