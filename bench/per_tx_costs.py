"""Where one ERC-20 transfer's CPU goes on a co3chain node, and the 2-core ceiling that follows.

Usage: ``.venv/bin/python bench/per_tx_costs.py [--txs 1500] [--engine revm]``

Measured one step at a time, single thread, on ``--txs`` pre-signed token transfers (one per sender, the
minimal ERC-20 of ``tests/chain/bench_erc20.py`` with balances in the genesis):

* ``rlp decode``      raw bytes -> py-evm transaction object (what every receiver does first);
* ``sender recovery`` signing hash + secp256k1 public-key recovery (coincurve), once per node;
* ``pool admission``  ``TxPool.add`` of a raw transaction: decode, recovery, nonce/balance/fee checks;
* ``execution``       the engine running the transactions into an open block (state reads and writes);
* ``state commit``    folding the block's changes into the account and storage tries (hashing);
* ``block roots``     transactions and receipts roots, and the block's RLP encoding.

Every validator admits every transaction (gossip) and executes every block (the proposer builds, the
others re-execute), so a network of V validators on C cores can finalize at most
``C / (V * (admission + execution + commit + roots))`` transactions per second, before any RPC, p2p or
consensus overhead. The script prints that ceiling for 4 validators on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from eth_account import Account  # noqa: E402
from eth_hash.auto import keccak  # noqa: E402
from eth_keys import keys  # noqa: E402
from eth_utils import to_checksum_address  # noqa: E402

from co3chain.chain.chain import NodeChain  # noqa: E402
from co3chain.chain.genesis import make_genesis, parse_genesis  # noqa: E402
from co3chain.chain.senders import SenderCache  # noqa: E402
from co3chain.chain.triehash import ordered_trie_root  # noqa: E402
from co3chain.consensus.qbft.extradata import QbftExtraData  # noqa: E402
from co3chain.node.txpool import TxPool  # noqa: E402
from tests.chain.bench_erc20 import TOKEN, TOKEN_RUNTIME  # noqa: E402

SELECTOR = keccak(b"transfer(address,uint256)")[:4]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--txs", type=int, default=1500, help="At most ~1,900 (100M block gas limit).")
    parser.add_argument("--engine", choices=["revm", "py-evm"], default="revm")
    parser.add_argument("--validators", type=int, default=4)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    n = args.txs
    vkey = b"\x01" * 32
    vaddr = keys.PrivateKey(vkey).public_key.to_canonical_address()
    accts = [Account.from_key(keccak(b"per-tx" + i.to_bytes(4, "big"))) for i in range(n)]
    storage = {"0x" + keccak(bytes.fromhex(a.address[2:]).rjust(32, b"\0") + bytes(32)).hex(): hex(10**18)
               for a in accts}
    genesis = parse_genesis(make_genesis([vaddr], 1337, {TOKEN: {"code": "0x" + TOKEN_RUNTIME.hex(),
                                                                 "storage": storage, "balance": 0}}, block_period=1))
    raws = [bytes(a.sign_transaction({"nonce": 0, "gas": 60_000, "gasPrice": 0, "to": to_checksum_address(TOKEN),
                                      "value": 0, "chainId": 1337,
                                      "data": SELECTOR + (i + 7000).to_bytes(32, "big") + (1).to_bytes(32, "big")}
                                     ).raw_transaction) for i, a in enumerate(accts)]
    chain = NodeChain.open(None, genesis, engine=args.engine)
    builder_cls = chain.vm_class.get_transaction_builder()
    costs: dict[str, float] = {}

    t0 = time.perf_counter()
    txs = [builder_cls.decode(r) for r in raws]
    costs["rlp decode"] = time.perf_counter() - t0

    cache = SenderCache(n + 1)
    t0 = time.perf_counter()
    for tx in txs:
        cache.sender(tx)
    costs["sender recovery"] = time.perf_counter() - t0

    pool = TxPool(NodeChain.open(None, genesis, engine=args.engine))
    t0 = time.perf_counter()
    for r in raws:
        pool.add(r)
    costs["pool admission"] = time.perf_counter() - t0

    extra = QbftExtraData(validators=[vaddr]).encode()
    block = chain.open_block(vaddr, chain.head.timestamp + 1, extra)
    fresh = [builder_cls.decode(r) for r in raws]
    for tx in fresh:
        chain.senders.sender(tx)  # recovered at admission on a real node
    t0 = time.perf_counter()
    block.add(fresh)
    costs["execution"] = time.perf_counter() - t0
    assert len(block.included) == n, block.rejected[:2]
    t0 = time.perf_counter()
    block.commit_state()
    costs["state commit"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ordered_trie_root([tx.encode() for tx in block.included])
    ordered_trie_root([r.encode() for r in block.receipts])
    block.finish()
    costs["block roots"] = time.perf_counter() - t0

    per_tx_us = {k: round(v / n * 1e6, 1) for k, v in costs.items()}
    node_us = per_tx_us["pool admission"] + per_tx_us["execution"] + per_tx_us["state commit"] + per_tx_us["block roots"]
    ceiling = args.cores * 1e6 / (args.validators * node_us)
    result = {"txs": n, "engine": args.engine, "microsecondsPerTx": per_tx_us, "nodeMicrosecondsPerTx": round(node_us, 1),
              "ceilingTxPerSecond": round(ceiling), "validators": args.validators, "cores": args.cores}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{n} ERC-20 transfers, engine {args.engine}: microseconds per transaction")
    for k, v in per_tx_us.items():
        print(f"  {k:<16} {v:>8}")
    print(f"  one node, per tx (admission + execution + commit + roots): {node_us:.0f} us")
    print(f"  ceiling for {args.validators} validators on {args.cores} cores: {ceiling:.0f} tx/s "
          "(every node admits and executes every transaction; no RPC, p2p or consensus counted)")


if __name__ == "__main__":
    main()
