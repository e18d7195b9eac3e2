"""QBFT flavour of py-evm's Cancun VM.

Why a custom VM: py-evm's Paris+ forks assume proof-of-stake headers (difficulty 0, extraData ≤ 32 bytes,
``hash = keccak(rlp(header))``). A Besu-compatible QBFT chain has difficulty 1, a constant mixHash, an
RLP extraData carrying validators/vote/round/commit seals, and a block hash that *excludes* round and
seals. py-evm derives parent links, ``BLOCKHASH`` and header lookups from ``header.hash``, so the header
class itself must return the QBFT on-chain hash.

Execution rules are plain Cancun with: a base fee fixed by genesis -- 0 on a free-gas network
(``zeroBaseFee``), else the genesis ``baseFeePerGas`` in every block (``fixedBaseFee``; burned, as in
EIP-1559, so nobody earns it) -- instead of EIP-1559's moving base fee, no blob transactions, no withdrawals, ``parent_beacon_block_root`` zero, no block reward.
Commit seals are *not* checked here (``validate_seal`` is a no-op): the chain verifies them with
:func:`co3chain.consensus.qbft.hashing.recover_seal_signers` against the validator set of the parent.
"""

from __future__ import annotations

from typing import Any, ClassVar

import rlp
from eth.abc import BlockHeaderAPI
from eth.constants import BLANK_ROOT_HASH, EMPTY_UNCLE_HASH, ZERO_ADDRESS, ZERO_HASH32
from eth.vm.forks.cancun import CancunVM
from eth.vm.forks.cancun.blocks import CancunBlock, CancunBlockHeader
from eth.vm.forks.cancun.receipts import CancunReceiptBuilder
from eth.vm.forks.cancun.state import CancunState
from eth.vm.forks.cancun.transactions import CancunTransactionBuilder
from eth.vm.forks.shanghai.withdrawals import Withdrawal
from eth_hash.auto import keccak
from eth_utils import ValidationError, encode_hex
from rlp.sedes import CountableList

from co3chain.chain.statedb import BatchedAccountDB
from co3chain.consensus.qbft.extradata import ExtraDataError, QbftExtraData
from co3chain.consensus.qbft.hashing import onchain_header_hash

#: Besu/GoQuorum QBFT mixHash: ASCII "ctical byzantine fault tolerance".
QBFT_MIX_HASH = bytes.fromhex("63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365")
QBFT_DIFFICULTY = 1
QBFT_NONCE = b"\x00" * 8
#: Gas-limit bounds as in Ethereum: a block may move the limit by < parent/1024.
GAS_LIMIT_ADJUSTMENT_FACTOR = 1024
MIN_GAS_LIMIT = 5000
#: EIP-4844 transactions need a blob sidecar network; this chain refuses them.
BLOB_TX_TYPE = 3


class QbftBlockHeader(CancunBlockHeader):
    """Cancun header whose :attr:`hash` is the QBFT on-chain hash (round and seals excluded)."""

    _hash = None

    @property
    def hash(self) -> bytes:
        if self._hash is None:
            try:
                self._hash = onchain_header_hash(self)
            except ExtraDataError:
                # Only reachable for headers that fail validation anyway; keep them hashable for logs.
                self._hash = keccak(rlp.encode(self))
        return self._hash

    @property
    def hex_hash(self) -> str:
        return encode_hex(self.hash)

    def __str__(self) -> str:
        return f"<QbftBlockHeader #{self.block_number} {self.hex_hash[2:10]}>"


class QbftBlock(CancunBlock):
    """Cancun block carrying a :class:`QbftBlockHeader`."""

    transaction_builder = CancunTransactionBuilder
    receipt_builder = CancunReceiptBuilder
    fields = [
        ("header", QbftBlockHeader),
        ("transactions", CountableList(transaction_builder)),
        ("uncles", CountableList(None, max_length=0)),
        ("withdrawals", CountableList(Withdrawal)),
    ]

    @property
    def hash(self) -> bytes:
        return self.header.hash

    def with_header(self, header: QbftBlockHeader) -> QbftBlock:
        """The same block under ``header`` (sealing, a new round), sharing the immutable transactions.

        ``copy(header=...)`` would deep-copy every transaction: about 9 ms for 600 on the slot's path.
        """
        return type(self)(
            header, transactions=self.transactions, uncles=self.uncles, withdrawals=self.withdrawals
        )


def encode_block(block: QbftBlock) -> bytes:
    """RLP of a full block (header with seals, transactions, ommers, withdrawals) for p2p/sync."""
    return rlp.encode(block)


def decode_block(raw: bytes) -> QbftBlock:
    """Inverse of :func:`encode_block`; raises ``rlp.DecodingError``/``DeserializationError`` on junk."""
    return rlp.decode(bytes(raw), sedes=QbftBlock)


def decode_header(raw: bytes) -> QbftBlockHeader:
    """Decode a header RLP into a :class:`QbftBlockHeader` (so ``.hash`` is the QBFT hash)."""
    return rlp.decode(bytes(raw), sedes=QbftBlockHeader)


def new_header(parent: BlockHeaderAPI, **fields: Any) -> QbftBlockHeader:
    """A child header of ``parent`` with every QBFT constant filled in.

    ``state_root`` starts as the parent's (execution reads it); tx/receipt roots are blank until filled.
    """
    params: dict[str, Any] = {
        "parent_hash": parent.hash,
        "uncles_hash": EMPTY_UNCLE_HASH,
        "coinbase": ZERO_ADDRESS,
        "state_root": parent.state_root,  # execution starts from the parent's state
        "difficulty": QBFT_DIFFICULTY,
        "block_number": parent.block_number + 1,
        "gas_limit": parent.gas_limit,
        "mix_hash": QBFT_MIX_HASH,
        "nonce": QBFT_NONCE,
        "base_fee_per_gas": 0,
        "withdrawals_root": BLANK_ROOT_HASH,
        "blob_gas_used": 0,
        "excess_blob_gas": 0,
        "parent_beacon_block_root": ZERO_HASH32,
    }
    params.update(fields)
    return QbftBlockHeader(**params)


class QbftState(CancunState):
    """Cancun state whose tries are committed in batches (:mod:`co3chain.chain.statedb`)."""

    account_db_class = BatchedAccountDB


class QbftVM(CancunVM):
    """Cancun execution with QBFT header rules. Use :meth:`with_block_period` to bind the block period."""

    fork = "qbft-cancun"
    block_class = QbftBlock
    _state_class = QbftState
    extra_data_max_bytes: ClassVar[int] = 1 << 20
    block_period: ClassVar[int] = 1
    #: the base fee every block must carry (0 = free gas); set from genesis by :meth:`with_block_period`
    base_fee: ClassVar[int] = 0

    @classmethod
    def with_block_period(cls, seconds: int, base_fee: int = 0) -> type[QbftVM]:
        """A VM subclass enforcing ``timestamp >= parent.timestamp + seconds`` and the fixed ``base_fee``."""
        return type(
            f"QbftVM{seconds}s", (cls,), {"block_period": int(seconds), "base_fee": int(base_fee)}
        )

    @staticmethod
    def create_header_from_parent(
        parent_header: BlockHeaderAPI | None, **header_params: Any
    ) -> BlockHeaderAPI:  # type: ignore[override]
        if parent_header is None:
            raise ValidationError("QBFT genesis headers are built from genesis.json, not from a parent")
        return new_header(parent_header, **header_params)

    @staticmethod
    def get_block_reward() -> int:
        return 0

    def validate_seal(self, header: BlockHeaderAPI) -> None:
        """No PoW/PoS seal: QBFT commit seals are checked by the chain against the validator set."""

    def validate_seal_extension(self, header: BlockHeaderAPI, parents: Any) -> None:
        """No seal extension in QBFT."""

    @classmethod
    def validate_header(cls, header: BlockHeaderAPI, parent_header: BlockHeaderAPI) -> None:
        """QBFT header rules; raises ``eth_utils.ValidationError`` with the failing rule."""
        validate_qbft_header(header, parent_header, cls.block_period, cls.base_fee)


def validate_qbft_header(
    header: BlockHeaderAPI, parent: BlockHeaderAPI, block_period: int, base_fee: int = 0
) -> None:
    """Check every consensus-independent QBFT header rule of ``header`` against ``parent``.

    ``base_fee`` is the network's fixed base fee (genesis; 0 on a free-gas network).
    """
    if parent is None:
        raise ValidationError("parent header is required")
    if header.parent_hash != parent.hash:
        raise ValidationError("parent_hash does not match the parent block hash")
    if header.block_number != parent.block_number + 1:
        raise ValidationError(f"block #{header.block_number} does not follow parent #{parent.block_number}")
    if header.timestamp < parent.timestamp + block_period:
        raise ValidationError(
            f"timestamp {header.timestamp} is earlier than parent {parent.timestamp} + period {block_period}"
        )
    if header.difficulty != QBFT_DIFFICULTY:
        raise ValidationError(f"difficulty must be {QBFT_DIFFICULTY}, got {header.difficulty}")
    if header.mix_hash != QBFT_MIX_HASH:
        raise ValidationError("mixHash is not the QBFT constant")
    if header.nonce != QBFT_NONCE:
        raise ValidationError("nonce must be zero")
    if header.uncles_hash != EMPTY_UNCLE_HASH:
        raise ValidationError("QBFT blocks have no ommers")
    if header.base_fee_per_gas != base_fee:
        raise ValidationError(f"base fee must be {base_fee} on this network, got {header.base_fee_per_gas}")
    if header.withdrawals_root != BLANK_ROOT_HASH:
        raise ValidationError("QBFT blocks carry no withdrawals")
    if header.blob_gas_used != 0 or header.excess_blob_gas != 0:
        raise ValidationError("QBFT blocks carry no blobs")
    if header.parent_beacon_block_root != ZERO_HASH32:
        raise ValidationError("parent beacon block root must be zero")
    if header.gas_used > header.gas_limit:
        raise ValidationError(f"gas used {header.gas_used} exceeds gas limit {header.gas_limit}")
    if header.gas_limit < MIN_GAS_LIMIT:
        raise ValidationError(f"gas limit {header.gas_limit} below minimum {MIN_GAS_LIMIT}")
    delta = abs(header.gas_limit - parent.gas_limit)
    if delta and delta >= parent.gas_limit // GAS_LIMIT_ADJUSTMENT_FACTOR:
        raise ValidationError(
            f"gas limit {header.gas_limit} moves more than 1/{GAS_LIMIT_ADJUSTMENT_FACTOR} from "
            f"parent {parent.gas_limit}"
        )
    try:
        QbftExtraData.decode(header.extra_data)
    except ExtraDataError as exc:
        raise ValidationError(f"invalid QBFT extraData: {exc}") from exc
