"""Bounded LRU set of message hashes for gossip duplicate suppression.

Why bounded: a long-running node sees an unbounded stream of transactions and consensus messages; keeping
the most recent ``capacity`` hashes is enough because a duplicate arrives within a few network round trips.
"""

from __future__ import annotations

from collections import OrderedDict


class SeenCache:
    """A set that forgets its least recently added/touched members beyond ``capacity``."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be positive")
        self.capacity = capacity
        self._items: OrderedDict[bytes, None] = OrderedDict()

    def add(self, key: bytes) -> bool:
        """Insert ``key``; return True if it was not present (i.e. the message is new)."""
        if key in self._items:
            self._items.move_to_end(key)
            return False
        self._items[key] = None
        if len(self._items) > self.capacity:
            self._items.popitem(last=False)
        return True

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)
