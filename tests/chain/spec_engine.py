"""The Ethereum execution specification (PyPI ``ethereum-execution``, Cancun) as a third, reference engine.

Why: revm and py-evm are both *implementations*; the specification is the executable definition they are
meant to follow. Feeding it the blocks co3chain built and sealed and demanding the same state root,
receipts (bytes), receipts root, logs bloom and gas used catches a bug that revm and py-evm happen to
share (py-evm backs both engines' state and roots, so that is not far-fetched).

How: the spec keeps its own state (``ethereum.forks.cancun.state.State``), filled from the genesis
``alloc``; each block's body goes through the spec's ``apply_body`` with the block environment of a
co3chain block: base fee 0, ``prev_randao`` = the QBFT mixHash, zero parent beacon root, no withdrawals,
and BLOCKHASH answered from the chain's own (QBFT) block hashes. The spec's header rules are not used:
they are proof-of-stake rules (difficulty 0, 32-byte extraData), and QBFT headers are checked by
co3chain itself.

Only what the spec calls a valid block can be fed: co3chain's builder drops invalid transactions, so the
sealed block holds only includable ones. The spec interprets every opcode in Python: slow, so the
differential test gives it a smaller stream than the revm/py-evm pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

spec_fork = pytest.importorskip("ethereum.forks.cancun.fork", reason="ethereum-execution (test extra) not installed")

from ethereum.forks.cancun import vm as spec_vm  # noqa: E402
from ethereum.forks.cancun.blocks import Receipt  # noqa: E402
from ethereum.forks.cancun.bloom import logs_bloom  # noqa: E402
from ethereum.forks.cancun.fork_types import Account  # noqa: E402
from ethereum.forks.cancun.state import State, set_account, set_storage, state_root  # noqa: E402
from ethereum.forks.cancun.transactions import LegacyTransaction  # noqa: E402
from ethereum.forks.cancun.trie import root  # noqa: E402
from ethereum_rlp import rlp  # noqa: E402
from ethereum_types.bytes import Bytes, Bytes20, Bytes32  # noqa: E402
from ethereum_types.numeric import U64, U256, Uint  # noqa: E402

from co3chain.chain.genesis import Genesis  # noqa: E402


@dataclass
class SpecOutcome:
    state_root: bytes
    receipts_root: bytes
    bloom: int
    gas_used: int
    receipts: list[bytes]


def _wire(tx: Any) -> LegacyTransaction | Bytes:
    """A py-evm signed transaction as the spec's ``apply_body`` takes it (legacy object / typed bytes)."""
    encoded = bytes(tx.encode())
    if getattr(tx, "type_id", None) is None:
        return rlp.decode_to(LegacyTransaction, encoded)
    return Bytes(encoded)


class SpecChain:
    """The specification's state for one chain, advanced block by block with :meth:`apply`."""

    def __init__(self, genesis: Genesis) -> None:
        self.chain_id = genesis.chain_id
        #: last block applied (0: the genesis state)
        self.height = 0
        self.state = State()
        for address, acct in genesis.alloc.items():
            addr = Bytes20(address)
            set_account(self.state, addr, Account(nonce=Uint(acct.nonce), balance=U256(acct.balance),
                                                  code=Bytes(acct.code)))
            for slot, value in acct.storage.items():
                set_storage(self.state, addr, Bytes32(slot.to_bytes(32, "big")), U256(value))

    def apply(self, header: Any, transactions: list[Any], block_hashes: list[bytes]) -> SpecOutcome:
        """Execute one block's transactions; ``block_hashes``: hashes of the (up to 256) previous blocks,
        oldest first, as BLOCKHASH sees them."""
        env = spec_vm.BlockEnvironment(
            chain_id=U64(self.chain_id),
            state=self.state,
            block_gas_limit=Uint(header.gas_limit),
            block_hashes=[Bytes32(h) for h in block_hashes],
            coinbase=Bytes20(header.coinbase),
            number=Uint(header.block_number),
            base_fee_per_gas=Uint(header.base_fee_per_gas),
            time=U256(header.timestamp),
            prev_randao=Bytes32(header.mix_hash),
            excess_blob_gas=U64(0),
            parent_beacon_block_root=Bytes32(bytes(32)),
        )
        out = spec_fork.apply_body(env, tuple(_wire(tx) for tx in transactions), ())
        receipts = []
        for key in out.receipt_keys:
            value = out.receipts_trie._data[key]
            receipts.append(rlp.encode(value) if isinstance(value, Receipt) else bytes(value))
        return SpecOutcome(
            state_root=bytes(state_root(self.state)),
            receipts_root=bytes(root(out.receipts_trie)),
            bloom=int.from_bytes(logs_bloom(out.block_logs), "big"),
            gas_used=int(out.block_gas_used),
            receipts=receipts,
        )
