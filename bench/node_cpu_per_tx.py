"""CPU per ERC-20 transfer inside one node process: pool admission, then block building.

Why a second benchmark next to ``rpc_throughput.py``: on a machine shared with other people's jobs,
wall-clock throughput moves with their load; the CPU time this process spends per transaction moves much
less, so it is the figure to compare between two versions of the code (run both in the same minutes).

Workload: ``--senders`` accounts each sign ``--per-sender`` legacy ``transfer`` calls to a minimal ERC-20
(``tests/chain/bench_erc20.py``'s token, balances set in genesis). Measured with ``time.process_time``:

* admission: ``TxPool.add(raw)`` for every transaction (size/shape checks, RLP decode, sender recovery,
  field validation, nonce/balance checks, pool insertion; no HTTP);
* building: ``NodeChain.build_block`` over all of them (engine execution, receipts, state and block roots).

    .venv/bin/python bench/node_cpu_per_tx.py [--senders 100] [--per-sender 20] [--engine revm|py-evm] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eth_account import Account  # noqa: E402
from eth_hash.auto import keccak  # noqa: E402
from eth_keys import keys  # noqa: E402
from eth_utils import to_checksum_address  # noqa: E402

from co3chain.chain.chain import NodeChain  # noqa: E402
from co3chain.chain.genesis import make_genesis, parse_genesis  # noqa: E402
from co3chain.consensus.qbft.extradata import QbftExtraData  # noqa: E402
from co3chain.consensus.qbft.hashing import sign_commit_seal  # noqa: E402
from co3chain.node.txpool import TxPool  # noqa: E402
from tests.chain.bench_erc20 import TOKEN, TOKEN_RUNTIME  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--senders", type=int, default=100)
    ap.add_argument("--per-sender", type=int, default=20)
    ap.add_argument("--engine", choices=["revm", "py-evm"], default="revm")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()

    vaddr = keys.PrivateKey(b"\x01" * 32).public_key.to_canonical_address()
    accts = [Account.from_key(keccak(i.to_bytes(4, "big"))) for i in range(args.senders)]
    storage = {}
    alloc: dict = {}
    for a in accts:
        slot = keccak(bytes.fromhex(a.address[2:]).rjust(32, b"\0") + b"\0" * 32)
        storage["0x" + slot.hex()] = hex(10**18)
        alloc[bytes.fromhex(a.address[2:])] = {"balance": 10**20}
    alloc[TOKEN] = {"code": "0x" + TOKEN_RUNTIME.hex(), "storage": storage, "balance": 0}
    genesis = parse_genesis(make_genesis([vaddr], 1337, alloc, block_period=1))
    selector = keccak(b"transfer(address,uint256)")[:4]
    raws = []
    for nonce in range(args.per_sender):
        for i, a in enumerate(accts):
            to = bytes.fromhex(accts[(i + 1) % len(accts)].address[2:])
            tx = {
                "nonce": nonce,
                "gas": 60_000,
                "gasPrice": 0,
                "to": to_checksum_address(TOKEN),
                "value": 0,
                "data": selector + to.rjust(32, b"\0") + (1).to_bytes(32, "big"),
                "chainId": 1337,
            }
            raws.append(bytes(a.sign_transaction(tx).raw_transaction))
    n = len(raws)
    admit, build, own = [], [], []
    for _ in range(args.runs):
        chain = NodeChain.open(None, genesis, engine=args.engine)
        pool = TxPool(chain, max_per_sender=args.per_sender + 8, max_total=n + 10)
        t0 = time.process_time()
        for raw in raws:
            pool.add(raw)
        t1 = time.process_time()
        txs = pool.select_for_block(None)
        t2 = time.process_time()
        res = chain.build_block(txs, vaddr, chain.head.timestamp + 1, QbftExtraData(validators=[vaddr]).encode())
        t3 = time.process_time()
        assert len(res.included) == n and not res.rejected, res.rejected[:2]
        header = res.block.header
        extra = QbftExtraData(validators=[vaddr])
        sealed = res.block.with_header(header.copy(  # as the QBFT driver seals: transactions shared, not copied
            extra_data=extra.with_seals([sign_commit_seal(b"\x01" * 32, header, 0)]).encode()))
        t4 = time.process_time()
        chain.import_block(sealed)  # the proposer's own sealed block: staged state reused, written once
        t5 = time.process_time()
        admit.append((t1 - t0) / n * 1e6)
        build.append((t3 - t2) / n * 1e6)
        own.append((t5 - t4) / n * 1e6)
    print(
        f"{n} ERC-20 transfers ({args.senders} senders x {args.per_sender}), engine {args.engine}, "
        f"{args.runs} runs, CPU µs per transaction (median, min-max):"
    )
    print(f"  admission (TxPool.add)   {statistics.median(admit):6.0f}  ({min(admit):.0f}-{max(admit):.0f})")
    print(f"  building (build_block)   {statistics.median(build):6.0f}  ({min(build):.0f}-{max(build):.0f})")
    print(f"  own block import (seal)  {statistics.median(own):6.0f}  ({min(own):.0f}-{max(own):.0f})")


if __name__ == "__main__":
    main()
