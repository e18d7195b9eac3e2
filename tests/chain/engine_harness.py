"""Run the same transactions through chains on different engines and demand byte-identical blocks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth._utils.address import generate_contract_address
from eth_hash.auto import keccak

from co3chain.chain.chain import NodeChain
from co3chain.chain.genesis import Genesis
from co3chain.consensus.qbft.extradata import QbftExtraData
from tests.chain.helpers import VALIDATOR_KEYS, addr, decode_tx, seal_block

OP_SELECTOR = keccak(b"op(uint8,uint256,uint256)")[:4]
MARK_SELECTOR = keccak(b"mark()")[:4]


def op_call(kind: int, a: int, b: int) -> bytes:
    return OP_SELECTOR + kind.to_bytes(32, "big") + a.to_bytes(32, "big") + b.to_bytes(32, "big")


def created_address(sender: bytes, nonce: int) -> bytes:
    return generate_contract_address(sender, nonce)


@dataclass
class Outcome:
    header: Any
    receipts: list[bytes]
    included: list[bytes]
    rejected: list[bytes]


class EnginePair:
    """Chains on the given engines fed identical blocks; :meth:`block` asserts they stay identical."""

    def __init__(self, genesis: Genesis, engines: tuple[str, ...] = ("revm", "py-evm")) -> None:
        self.chains = [NodeChain.open(None, genesis, engine=e) for e in engines]
        self.engines = engines
        self.key = VALIDATOR_KEYS[0]

    @property
    def main(self) -> NodeChain:
        return self.chains[0]

    def block(self, raws: list[bytes]) -> Outcome:
        outcomes = []
        for chain in self.chains:
            vals = chain.validators_for_child(chain.head)
            extra = QbftExtraData(validators=vals).encode()
            txs = [decode_tx(chain, r) for r in raws]
            res = chain.build_block(txs, addr(self.key), chain.head.timestamp + 1, extra)
            chain.import_block(seal_block(res.block, [self.key]))
            outcomes.append(
                Outcome(
                    res.block.header,
                    [r.encode() for r in res.receipts],
                    [t.hash for t in res.included],
                    [t.hash for t, _ in res.rejected],
                )
            )
        first = outcomes[0]
        for name, other in zip(self.engines[1:], outcomes[1:], strict=True):
            assert other.included == first.included, f"{name}: different transactions included"
            assert other.rejected == first.rejected, f"{name}: different transactions rejected"
            for i, (r1, r2) in enumerate(zip(first.receipts, other.receipts, strict=True)):
                assert r1 == r2, f"{name}: receipt {i} differs"
            for f in ("gas_used", "bloom", "receipt_root", "transaction_root", "state_root"):
                assert getattr(first.header, f) == getattr(other.header, f), f"{name}: header {f} differs"
            assert other.header.hash == first.header.hash
        return first

    def close(self) -> None:
        for c in self.chains:
            c.close()
