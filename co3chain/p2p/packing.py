"""Packing gossip and block replies into frames that respect the receiving peer's frame limit.

Why here and not in the sender: the limit is the *peer's* (announced in its HELLO), and a block reply that
exceeds it would be rejected as oversized, so the server answers with the longest prefix that fits and the
client simply asks again from where the answer stopped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from co3chain.p2p.messages import MAX_TXS_PER_MESSAGE, rlp_list_overhead

log = logging.getLogger("co3chain.p2p")

_LIST_HEADER_MAX = 9  # longest RLP list/string header


def chunk_txs(items: list[tuple[bytes, bytes]], frame_limit: int) -> Iterable[list[tuple[bytes, bytes]]]:
    """Split txs into TX messages that respect the count limit and the peer's frame size."""
    budget = frame_limit - 1 - _LIST_HEADER_MAX
    chunk: list[tuple[bytes, bytes]] = []
    size = 0
    for digest, raw in items:
        cost = len(raw) + rlp_list_overhead(len(raw))
        if cost > budget:
            log.warning("p2p: transaction 0x%s is larger than a frame, not gossiped", digest.hex())
            continue
        if chunk and (size + cost > budget or len(chunk) >= MAX_TXS_PER_MESSAGE):
            yield chunk
            chunk, size = [], 0
        chunk.append((digest, raw))
        size += cost
    if chunk:
        yield chunk


def fit_blocks(blocks: list[bytes], frame_limit: int) -> list[bytes]:
    """Longest prefix of ``blocks`` whose BLOCKS message fits in one frame of ``frame_limit`` bytes."""
    budget = frame_limit - 1 - 3 * _LIST_HEADER_MAX
    fitted: list[bytes] = []
    size = 0
    for block in blocks:
        cost = len(block) + rlp_list_overhead(len(block))
        if size + cost > budget:
            if not fitted:
                log.warning("p2p: block of %d bytes does not fit in the peer's frame limit", len(block))
            break
        fitted.append(block)
        size += cost
    return fitted
