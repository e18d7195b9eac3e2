"""Child process for the crash test: import blocks into a RocksDB data dir until killed.

Each block carries transactions that set the probe contract's slot 0 to the block number, so the parent
can check that the state at the head matches the head. After each ``import_block`` returns, the new
head number is printed (and flushed): everything printed must survive ``kill -9``.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from co3chain.chain.chain import NodeChain
from tests.chain.helpers import PROBE_ADDR, USER_KEYS, USERS, make_test_genesis, produce, sign_tx


def _import_one(chain: NodeChain) -> None:
    n = chain.head.block_number + 1
    nonce = chain.state_at().get_nonce(USERS[0])
    raws = [sign_tx(USER_KEYS[0], chain, nonce=nonce, to=PROBE_ADDR, data=n.to_bytes(32, "big"))]
    raws += [
        sign_tx(
            USER_KEYS[1],
            chain,
            nonce=chain.state_at().get_nonce(USERS[1]) + i,
            to=USERS[2],
            value=1,
            gas=21000,
        )
        for i in range(20)
    ]
    produce(chain, raws)
    print(f"imported {chain.head.block_number}", flush=True)


def main(data_dir: str, max_blocks: int, deferred: bool = False) -> None:
    """``deferred``: import as a syncing node does, 8 blocks per fsync (``NodeChain.deferred_fsync``)."""
    chain = NodeChain.open(Path(data_dir), make_test_genesis(1))
    print(f"start {chain.head.block_number}", flush=True)
    for start in range(0, max_blocks, 8):
        with chain.deferred_fsync() if deferred else contextlib.nullcontext():
            for _ in range(min(8, max_blocks - start)):
                _import_one(chain)
    chain.close()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3:] == ["deferred"])
