"""Round timeouts: ``requesttimeoutseconds × 2^round``, capped.

Besu and GoQuorum double the round timer on every round change without an upper bound; after a long outage
(more than a third of the validators down for hours) the surviving nodes then sit in rounds whose timers
last days, so the network needs as long to recover as it was down. We cap the timeout at
``max_timeout`` seconds (default :data:`DEFAULT_MAX_ROUND_TIMEOUT`). Liveness still holds under partial
synchrony as long as the cap exceeds message delay plus block-building time; safety never depends on
timers.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Default cap for a single round timer, in seconds.
DEFAULT_MAX_ROUND_TIMEOUT = 60.0


@dataclass(frozen=True)
class RoundTimerExpiry:
    """Token the host hands back to the engine when a scheduled round timer fires."""

    height: int
    round: int


def round_timeout(base_seconds: float, round_: int, max_timeout: float = DEFAULT_MAX_ROUND_TIMEOUT) -> float:
    """Timeout of ``round_``: ``base × 2^round`` but never above ``max(max_timeout, base)``."""
    if base_seconds <= 0:
        raise ValueError("request timeout must be positive")
    if round_ < 0:
        raise ValueError("round must be non-negative")
    cap = max(max_timeout, base_seconds)
    # Compare exponents first so huge rounds never build huge integers or overflow floats.
    if round_ >= 64 or base_seconds * (1 << round_) >= cap:
        return cap
    return base_seconds * (1 << round_)
