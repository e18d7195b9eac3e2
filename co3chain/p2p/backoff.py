"""Reconnect delays for static peers."""

from __future__ import annotations

import random


class Backoff:
    """Capped exponential backoff with ±20 % jitter (so restarted nodes don't redial in lockstep)."""

    def __init__(self, minimum: float, maximum: float) -> None:
        self.minimum = minimum
        self.maximum = maximum
        self._current = minimum

    def next(self) -> float:
        """The delay before the next attempt; doubles each call up to ``maximum``."""
        delay = self._current * random.uniform(0.8, 1.2)
        self._current = min(self._current * 2, self.maximum)
        return min(delay, self.maximum)

    def reset(self) -> None:
        self._current = self.minimum
