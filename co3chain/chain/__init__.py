"""Chain layer: QBFT Cancun VM (``vm``), Besu genesis (``genesis``), RocksDB storage (``storage``) and
:class:`~co3chain.chain.chain.NodeChain` (``chain``), the node's import/build/query API."""

from co3chain.chain import fasthash  # noqa: F401  (first: fast keccak for everything below)
from co3chain.chain.chain import (
    BlockImportError,
    BuildResult,
    CallFailed,
    CallReverted,
    ChainError,
    LogInfo,
    NodeChain,
    ReceiptInfo,
)
from co3chain.chain.genesis import Genesis, GenesisError, load_genesis, make_genesis, parse_genesis

__all__ = [
    "BlockImportError",
    "BuildResult",
    "CallFailed",
    "CallReverted",
    "ChainError",
    "Genesis",
    "GenesisError",
    "LogInfo",
    "NodeChain",
    "ReceiptInfo",
    "load_genesis",
    "make_genesis",
    "parse_genesis",
]
