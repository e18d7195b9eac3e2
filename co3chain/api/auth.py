"""PA authentication by API key, per-key rate limiting, and per-client limits on the open relay endpoints
(token buckets → 429 with Retry-After).

Why constant-time lookup by hash: the API never stores keys, only ``sha256(key)``; comparing hashes with
``hmac.compare_digest`` avoids leaking a matching prefix through timing.
"""

from __future__ import annotations

import hmac
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
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
            raise _retry_after(wait, f"rate limit of {principal.name!r} exceeded")
        return principal


def _retry_after(wait: float, message: str) -> ApiError:
    retry = max(1, math.ceil(wait))
    return ApiError(429, "rate_limited", f"{message}; retry in {retry}s", headers={"Retry-After": str(retry)})


class ClientLimiter:
    """One token bucket per client address, for routes anyone may call (the gasless relay).

    Why: a relayed action needs a valid citizen signature, so a flood cannot get transactions through,
    but every request still costs a signature recovery and node reads; a per-address budget keeps one
    client from taking that capacity from everyone else. The table keeps the ``max_clients`` most recent
    addresses (least recently seen dropped first), so memory stays bounded under address spraying.

    Behind a reverse proxy every request comes from the proxy: list it in ``trusted_proxies`` and the
    client is the last ``X-Forwarded-For`` hop the proxy appended (earlier hops are client-supplied and
    ignored). The header is ignored from anyone else.
    """

    def __init__(self, rate: float, burst: int, *, trusted_proxies: Sequence[str] = (), max_clients: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.trusted_proxies = frozenset(trusted_proxies)
        self.max_clients = max_clients
        self.clock = clock
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()
        self._lock = threading.Lock()

    def client_of(self, peer: str | None, forwarded_for: str | None) -> str:
        """The address a request is charged to."""
        peer = peer or "unknown"
        if peer in self.trusted_proxies and forwarded_for:
            hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
            if hops:
                return hops[-1]
        return peer

    def __len__(self) -> int:
        return len(self._buckets)

    def check(self, client: str) -> None:
        """Charge one request to ``client``; 429 when its budget is spent."""
        with self._lock:
            bucket = self._buckets.get(client)
            if bucket is None:
                bucket = TokenBucket(self.rate, self.burst, self.clock)
                self._buckets[client] = bucket
                while len(self._buckets) > self.max_clients:
                    self._buckets.popitem(last=False)
            else:
                self._buckets.move_to_end(client)
        wait = bucket.take()
        if wait > 0:
            raise _retry_after(wait, f"relay rate limit for {client} exceeded")
