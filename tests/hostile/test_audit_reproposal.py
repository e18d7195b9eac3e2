"""Finding 8: a block re-proposed after a round change (original proposer, later round) passes the audit;
a coinbase that proposed no round up to the block's round is still ``wrong-proposer``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from co3chain.audit.chainverify import ChainParams, verify_headers
from co3chain.consensus.qbft.extradata import QbftExtraData
from co3chain.consensus.qbft.hashing import sign_commit_seal
from co3chain.consensus.qbft.proposer import select_proposer
from tests.audit.devnet import KEY_OF, Devnet


def _produce(d: Devnet, *, round_: int, proposer_round: int) -> None:
    """Seal a block whose extraData says ``round_`` but whose coinbase proposed ``proposer_round``."""
    parent = d.chain.head
    vals = d._sets[parent.block_number]
    proposer = select_proposer(vals, parent.coinbase, proposer_round)
    extra = QbftExtraData(validators=list(vals), vote=None, round=round_)
    res = d.chain.build_block([], proposer, parent.timestamp + d.genesis.block_period, extra.encode())
    header = res.block.header
    seals = [sign_commit_seal(KEY_OF[v], header, round_) for v in vals]
    d.chain.import_block(res.block.copy(header=header.copy(extra_data=extra.with_seals(seals).encode())))
    d._sets[header.block_number] = d.tracker.apply_block(header.block_number, proposer, None)


@pytest.fixture
def net() -> Iterator[Devnet]:
    d = Devnet(n_validators=4)
    yield d
    d.close()


def _params(d: Devnet) -> ChainParams:
    return ChainParams(epoch_length=d.genesis.epoch_length, block_period=d.genesis.block_period,
                       genesis_extra_data=d.genesis.extra_data, clock=lambda: 2**40)


def test_reproposed_block_passes_and_a_stranger_round_does_not(net: Devnet) -> None:
    net.produce_empty(2)
    _produce(net, round_=2, proposer_round=0)   # prepared in round 0, committed in round 2
    _produce(net, round_=1, proposer_round=1)   # an ordinary round-1 proposal
    _produce(net, round_=1, proposer_round=3)   # coinbase is round 3's proposer: proposed nothing by round 1
    findings, _ = verify_headers(_params(net), net.headers_json())
    assert {(f.kind, f.block) for f in findings} == {("wrong-proposer", 5)}
