"""qbft_ methods that need the consensus driver or scan many headers, registered next to :mod:`methods`.

:class:`~co3chain.rpc.methods.EthApi` already serves ``qbft_getValidatorsBy*`` and, when the backend has a
``consensus`` object, the vote methods (``qbft_proposeValidatorVote``, ``qbft_discardValidatorVote``,
``qbft_getPendingVotes``). This module adds:

* ``qbft_getSignerMetrics(fromBlock?, toBlock?)`` (Besu): per validator, blocks proposed in the range and
  the last one; default range = the last 100 blocks; at most :data:`MAX_METRICS_RANGE` blocks.
* ``qbft_getConsensusStatus()`` (co3chain): the driver's height, round, peers, round-change count — what
  an operator looks at first when blocks stop.
"""

from __future__ import annotations

import asyncio
from typing import Any

from co3chain.chain.chain import NodeChain
from co3chain.rpc import formatters as fmt
from co3chain.rpc import params as P
from co3chain.rpc.dispatch import Dispatcher
from co3chain.rpc.errors import InvalidParams

#: Default signer-metrics window (Besu: the last 100 blocks).
DEFAULT_METRICS_BLOCKS = 100
#: Largest range one call may scan.
MAX_METRICS_RANGE = 100_000


def _number(chain: NodeChain, value: Any, name: str, default: int) -> int:
    if value is None:
        return default
    ref = P.block_number_or_tag(value, name)
    if ref.number is not None:
        return min(ref.number, chain.head.block_number)
    if ref.tag == "earliest":
        return 0
    return chain.head.block_number


def signer_metrics(chain: NodeChain, first: int, last: int) -> list[dict[str, Any]]:
    """Proposed-block counts per proposer over blocks ``first..last`` (genesis excluded)."""
    first = max(first, 1)
    counts: dict[bytes, list[int]] = {}
    for number in range(first, last + 1):
        header = chain.get_header_by_number(number)
        if header is None:
            break
        entry = counts.setdefault(bytes(header.coinbase), [0, 0])
        entry[0] += 1
        entry[1] = number
    for validator in chain.validators_for_child(chain.head):
        counts.setdefault(bytes(validator), [0, 0])
    return [
        {"address": fmt.hd(a), "proposedBlockCount": fmt.hq(c), "lastProposedBlockNumber": fmt.hq(n)}
        for a, (c, n) in sorted(counts.items())
    ]


def register_qbft_methods(dispatcher: Dispatcher, chain: NodeChain, consensus: Any = None) -> None:
    """Add the methods of this module to ``dispatcher`` (``consensus``: the QBFT driver, if any)."""

    async def qbft_getSignerMetrics(from_block: Any = None, to_block: Any = None) -> list[dict[str, Any]]:
        head = chain.head.block_number
        last = _number(chain, to_block, "toBlock", head)
        first = _number(chain, from_block, "fromBlock", max(last - DEFAULT_METRICS_BLOCKS + 1, 1))
        if first > last:
            raise InvalidParams("fromBlock is after toBlock")
        if last - first + 1 > MAX_METRICS_RANGE:
            raise InvalidParams(f"range larger than {MAX_METRICS_RANGE} blocks")
        return await asyncio.to_thread(signer_metrics, chain, first, last)

    dispatcher.register("qbft_getSignerMetrics", qbft_getSignerMetrics)

    if consensus is not None:

        def qbft_getConsensusStatus() -> dict[str, Any]:
            return dict(consensus.status())

        dispatcher.register("qbft_getConsensusStatus", qbft_getConsensusStatus)
