"""The py-evm adapter: engine digests and seals agree with the chain's QBFT hashing."""

from __future__ import annotations

import pytest
import rlp
from eth.vm.forks.cancun.blocks import CancunBlock, CancunBlockHeader

from co3chain.consensus.qbft import hashing
from co3chain.consensus.qbft.engine import Finalize, ParentInfo, QbftEngine
from co3chain.consensus.qbft.evm_block import EvmBlock
from co3chain.consensus.qbft.extradata import QbftExtraData, Vote
from co3chain.consensus.qbft.messages import KeySigner
from tests.consensus.sim import make_keys

SIGNER = KeySigner(make_keys(1, seed=5)[0])


def _block(round_: int = 0) -> CancunBlock:
    extra = QbftExtraData(validators=[SIGNER.address], vote=Vote(b"\x42" * 20, True), round=round_)
    header = CancunBlockHeader(
        difficulty=1,
        block_number=1,
        gas_limit=30_000_000,
        timestamp=1_700_000_000,
        coinbase=SIGNER.address,
        parent_hash=b"\x11" * 32,
        extra_data=extra.encode(),
        mix_hash=bytes.fromhex("63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365"),
        base_fee_per_gas=0,
        withdrawals_root=b"\x56" * 32,
        blob_gas_used=0,
        excess_blob_gas=0,
        parent_beacon_block_root=b"\x00" * 32,
    )
    return CancunBlock(header, transactions=[], uncles=[], withdrawals=[])


def test_adapter_fields_and_hashes() -> None:
    block = EvmBlock(_block())
    assert (block.height, block.round, block.proposer) == (1, 0, SIGNER.address)
    assert block.hash == hashing.onchain_header_hash(block.block.header)
    assert block.commit_seal_hash(0) == block.hash  # round 0, no seals: both hashes coincide
    moved = block.with_round(3)
    assert moved.round == 3 and moved.hash == block.hash
    assert moved.commit_seal_hash(3) != block.hash
    assert moved.commit_seal_hash(3) == hashing.commit_seal_hash(moved.block.header)
    decoded = EvmBlock.decode(block.encoded, CancunBlock)
    assert decoded.hash == block.hash and decoded.encoded == block.encoded


def test_bad_blocks_raise_value_error() -> None:
    with pytest.raises(ValueError):
        EvmBlock.decode(b"\xc0", CancunBlock)
    junk = _block().copy(header=_block().header.copy(extra_data=b"\x01\x02"))
    with pytest.raises(ValueError):
        EvmBlock(junk)


class _Host:
    def decode_block(self, encoded: bytes) -> EvmBlock:
        return EvmBlock.decode(encoded, CancunBlock)

    def validate_block(self, block: EvmBlock) -> bool:  # type: ignore[override]
        return True

    def with_round(self, block: EvmBlock, round_: int) -> EvmBlock:  # type: ignore[override]
        return block.with_round(round_)


def test_engine_seals_verify_with_chain_hashing() -> None:
    engine = QbftEngine(SIGNER, _Host())
    engine.start(1, ParentInfo(b"\x00" * 20, [SIGNER.address]), 0.0)
    actions = engine.on_block_built(EvmBlock(_block()), 0.0)
    final = actions[-1]
    assert isinstance(final, Finalize)
    sealed = final.block.sealed(final.commit_seals)  # type: ignore[attr-defined]
    assert hashing.recover_seal_signers(sealed.block.header) == [SIGNER.address]
    assert sealed.hash == final.block.hash  # seals do not change the on-chain hash


def test_unknown_transaction_type_is_not_a_block() -> None:
    """A proposal whose block holds an unknown typed transaction is refused like junk, not a crash."""
    from co3chain.chain.vm import QbftBlock

    good = rlp.decode(EvmBlock(_block()).encoded)
    good[1] = [b"\x07\xc0"]  # transaction type 7 does not exist
    with pytest.raises(ValueError):
        EvmBlock.decode(rlp.encode(good), QbftBlock)
