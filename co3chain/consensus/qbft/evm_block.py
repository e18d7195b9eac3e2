"""Adapter from py-evm blocks to the engine's :class:`~co3chain.consensus.qbft.engine.Block` protocol.

Why here and generic: the engine must not know py-evm, and the node should not re-derive QBFT hashing. This
wraps any ``rlp.Serializable`` block whose ``header`` has ``block_number``, ``coinbase`` and a QBFT
``extra_data`` (e.g. :class:`co3chain.chain.vm.QbftBlock`), using :mod:`extradata` and :mod:`hashing` for
every hash, so proposals, commit seals and the chain agree byte for byte.

Host usage::

    class NodeBlockHost:                       # implements engine.BlockHost
        def decode_block(self, encoded):        # ValueError on junk, as the engine expects
            return EvmBlock.decode(encoded, QbftBlock)
        def validate_block(self, block):        # header rules + execution against the local head
            ...
        def with_round(self, block, round_):
            return block.with_round(round_)

    # on Finalize(block, round, seals): chain.import_block(block.sealed(seals).block)
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any

import rlp

from co3chain.chain.rawblock import encode_block_body
from co3chain.consensus.qbft.extradata import ExtraDataError, QbftExtraData
from co3chain.consensus.qbft.hashing import commit_seal_hash, onchain_header_hash


class EvmBlock:
    """A py-evm block seen through the engine's Block protocol (immutable; ``with_*`` return copies)."""

    def __init__(self, block: Any) -> None:
        self.block = block
        try:
            self.extra = QbftExtraData.decode(block.header.extra_data)
        except ExtraDataError as exc:
            raise ValueError(f"block extraData is not QBFT extraData: {exc}") from exc

    @classmethod
    def decode(cls, encoded: bytes, block_class: type) -> EvmBlock:
        """Decode a block RLP with ``block_class`` (the VM's block sedes); ``ValueError`` on junk."""
        try:
            block = rlp.decode(encoded, sedes=block_class)
        except Exception as exc:  # RLP errors, and the sedes' own (e.g. py-evm's unknown transaction type)
            raise ValueError(f"not a block: {exc!r}") from exc
        return cls(block)

    @property
    def height(self) -> int:
        return int(self.block.header.block_number)

    @property
    def round(self) -> int:
        return self.extra.round

    @property
    def proposer(self) -> bytes:
        return bytes(self.block.header.coinbase)

    @cached_property
    def hash(self) -> bytes:
        return onchain_header_hash(self.block.header)

    @cached_property
    def encoded(self) -> bytes:
        # each transaction's kept encoding is reused (rlp.encode would serialize them all again)
        return encode_block_body(self.block)

    def commit_seal_hash(self, round_: int) -> bytes:
        return commit_seal_hash(self.block.header, round_)

    def _with_extra(self, extra: QbftExtraData) -> EvmBlock:
        header = self.block.header.copy(extra_data=extra.encode())
        with_header = getattr(self.block, "with_header", None)  # no deep copy of the transactions
        return EvmBlock(with_header(header) if with_header else self.block.copy(header=header))

    def with_round(self, round_: int) -> EvmBlock:
        """The same block proposed in ``round_`` (only extraData's round changes; seals dropped)."""
        return self._with_extra(self.extra.with_round(round_).with_seals([]))

    def sealed(self, commit_seals: Sequence[bytes]) -> EvmBlock:
        """The block ready for import: extraData carries ``commit_seals`` (from :class:`Finalize`)."""
        return self._with_extra(self.extra.with_seals(list(commit_seals)))
