"""The producer's transaction-count guard must not be what bounds a block under the default settings.

Why: with the old default (2,000) and 1-second blocks a node could never include more than 2,000
transfers per second, however fast it built them, while the default 100M gas limit holds ~2,900 ERC-20
transfers (bench/rpc_throughput.py, docs/performance.md "Session 6: request path"). Blocks are bounded
by gas and, on a QBFT proposer, by its build-time budget; the count is only a guard.
"""

from __future__ import annotations

from pathlib import Path

import tomli_w

from co3chain.chain.builder import MIN_TX_GAS
from co3chain.chain.genesis import DEFAULT_GAS_LIMIT
from co3chain.node.config import ProducerConfig, load_config
from co3chain.node.producer import SingleValidatorProducer


def test_default_count_guard_admits_a_block_full_of_plain_transfers() -> None:
    assert ProducerConfig().max_block_txs * MIN_TX_GAS >= DEFAULT_GAS_LIMIT


def test_config_without_the_option_gets_the_default(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps({"node": {"genesis": "g"}, "producer": {"empty_blocks": True}}))
    assert load_config(path).producer.max_block_txs == ProducerConfig().max_block_txs


def test_single_validator_producer_default_matches_the_config_default() -> None:
    import inspect

    default = inspect.signature(SingleValidatorProducer).parameters["max_block_txs"].default
    assert default == ProducerConfig().max_block_txs
