"""PA authentication by API key, and per-key rate limiting (token bucket → 429 with Retry-After).

Why constant-time lookup by hash: the API never stores keys, only ``sha256(key)``; comparing hashes with
``hmac.compare_digest`` avoids leaking a matching prefix through timing.
"""

from __future__ import annotations

import hmac
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from co3chain.api.config import ApiKeyEntry, hash_api_key
from co3chain.api.errors import ApiError

API_KEY_HEADER = "X-API-Key"


class TokenBucket:
    """``rate`` tokens per second up to ``burst``; each request takes one."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.clock = clock
        self._tokens = float(burst)
        self._at = clock()
        self._lock = threading.Lock()

    def take(self) -> float:
        """Take a token: 0.0 on success, else the seconds until one is available."""
        with self._lock:
            now = self.clock()
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return 0.0
            return (1.0 - self._tokens) / self.rate


@dataclass
class PrincipalPA:
    """An authenticated PA: its name and the sender that signs with its on-chain account."""

    name: str
    sender: Any  # co3chain.api.sender.TxSender

    @property
    def address(self) -> str:
        return str(self.sender.address)


class KeyRing:
    """API-key hashes → PA principals, each with its own rate-limit bucket."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._entries: list[tuple[str, PrincipalPA, TokenBucket]] = []
        self.clock = clock

    def add(self, entry: ApiKeyEntry, sender: Any) -> None:
        self._entries.append((entry.key_hash, PrincipalPA(entry.pa, sender), TokenBucket(entry.rate, entry.burst,
                                                                                         self.clock)))

    def __len__(self) -> int:
        return len(self._entries)

    def authenticate(self, key: str | None) -> PrincipalPA:
        """The PA owning ``key``; 401 when missing or unknown, 429 when over its rate."""
        if not key:
            raise ApiError(401, "missing_api_key", f"this operation needs a PA API key in the {API_KEY_HEADER} header")
        digest = hash_api_key(key)
        found = None
        for key_hash, principal, bucket in self._entries:
            if hmac.compare_digest(key_hash, digest):
                found = (principal, bucket)
        if found is None:
            raise ApiError(401, "invalid_api_key", "unknown API key")
        principal, bucket = found
        wait = bucket.take()
        if wait > 0:
            retry = max(1, math.ceil(wait))
            raise ApiError(429, "rate_limited", f"rate limit of {principal.name!r} exceeded; retry in {retry}s",
                           headers={"Retry-After": str(retry)})
        return principal
