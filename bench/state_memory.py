"""Resident memory of a node's chain with a large state (default 100,000 accounts, 1,000,000 slots).

Builds a genesis with ``--accounts`` funded accounts and one ERC-20-like contract holding ``--slots``
balances, opens it in a RocksDB data directory, then builds and imports ``--blocks`` blocks of
``--txs`` token transfers between random holders with the chosen engine. Reports RSS after genesis,
after the blocks, and of a fresh process re-opening the data directory and importing more blocks (what
a restarted node costs). Not a test: run it when the machine is quiet.

    .venv/bin/python bench/state_memory.py [--accounts 100000] [--slots 1000000] [--engine revm]
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from eth_account import Account
from eth_hash.auto import keccak
from eth_keys import keys

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from co3chain.chain.chain import NodeChain  # noqa: E402
from co3chain.chain.genesis import make_genesis, parse_genesis  # noqa: E402
from co3chain.consensus.qbft.extradata import QbftExtraData  # noqa: E402
from co3chain.consensus.qbft.hashing import sign_commit_seal  # noqa: E402
from tests.chain.bench_erc20 import TOKEN, TOKEN_RUNTIME  # noqa: E402

VKEY = b"\x01" * 32
VADDR = keys.PrivateKey(VKEY).public_key.to_canonical_address()
SELECTOR = keccak(b"transfer(address,uint256)")[:4]


def rss_mb() -> float:
    """Current resident set size (from /proc), in MiB."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def holder(i: int) -> bytes:
    return keccak(b"holder" + i.to_bytes(4, "big"))[:20]


def balance_slot(addr: bytes) -> str:
    return "0x" + keccak(addr.rjust(32, b"\0") + b"\0" * 32).hex()


def genesis_doc(n_accounts: int, n_slots: int, senders: list) -> dict:
    alloc: dict = {holder(i): 10**18 for i in range(n_accounts)}
    storage = {balance_slot(holder(i)): hex(10**18) for i in range(n_slots)}
    for a in senders:
        storage[balance_slot(bytes.fromhex(a.address[2:]))] = hex(10**24)
        alloc[bytes.fromhex(a.address[2:])] = 10**24
    alloc[TOKEN] = {"code": "0x" + TOKEN_RUNTIME.hex(), "storage": storage, "balance": 0}
    return make_genesis([VADDR], 1337, alloc, block_period=1)


def run_blocks(
    chain: NodeChain, senders: list, n_blocks: int, n_txs: int, n_slots: int, start_nonce: int
) -> float:
    rng = random.Random(start_nonce)
    builder = chain.vm_class.get_transaction_builder()
    t0 = time.perf_counter()
    for b in range(n_blocks):
        txs = []
        for j in range(n_txs):
            sender = senders[j % len(senders)]
            to = holder(rng.randrange(n_slots))
            data = SELECTOR + to.rjust(32, b"\0") + (1).to_bytes(32, "big")
            raw = sender.sign_transaction(
                {
                    "nonce": start_nonce + b * (n_txs // len(senders)) + j // len(senders),
                    "gas": 60_000,
                    "gasPrice": 0,
                    "to": "0x" + TOKEN.hex(),
                    "value": 0,
                    "data": data,
                    "chainId": 1337,
                }
            ).raw_transaction
            txs.append(builder.decode(bytes(raw)))
        extra = QbftExtraData(validators=[VADDR])
        res = chain.build_block(txs, VADDR, chain.head.timestamp + 1, extra.encode())
        assert not res.rejected, res.rejected[:1]
        h = res.block.header
        seal = sign_commit_seal(VKEY, h, 0)
        chain.import_block(res.block.copy(header=h.copy(extra_data=extra.with_seals([seal]).encode())))
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--slots", type=int, default=1_000_000)
    ap.add_argument("--blocks", type=int, default=5)
    ap.add_argument("--txs", type=int, default=500)
    ap.add_argument("--engine", choices=["revm", "py-evm"], default="revm")
    ap.add_argument("--data-dir", help="reuse/keep this data directory (child mode uses it)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    senders = [Account.from_key(keccak(b"sender" + i.to_bytes(4, "big"))) for i in range(50)]
    rss0 = rss_mb()
    t0 = time.perf_counter()
    genesis = parse_genesis(genesis_doc(args.accounts, args.slots, senders))
    gc.collect()
    rss1 = rss_mb()
    if args.child:
        t1 = time.perf_counter()
        chain = NodeChain.open(Path(args.data_dir), genesis, engine=args.engine)
        open_s = time.perf_counter() - t1
        opened = rss_mb()
        secs = run_blocks(
            chain, senders, args.blocks, args.txs, args.slots, start_nonce=args.blocks * args.txs // 50
        )
        print(
            f"restarted process: interpreter+modules {rss0:.0f} MiB, parsed genesis objects "
            f"+{rss1 - rss0:.0f} MiB, chain open ({open_s:.1f} s) +{opened - rss1:.0f} MiB, after "
            f"{args.blocks} more blocks +{rss_mb() - rss1:.0f} MiB over the parsed genesis (total RSS "
            f"{rss_mb():.0f} MiB), {args.blocks * args.txs / secs:.0f} tx/s"
        )
        chain.close()
        return
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="co3mem-"))
    parse_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    chain = NodeChain.open(data_dir, genesis, engine=args.engine)
    gen_s = time.perf_counter() - t1
    print(
        f"{args.accounts} accounts, {args.slots} slots; genesis parsed in {parse_s:.0f} s, state built "
        f"and written in {gen_s:.0f} s; RSS {rss_mb():.0f} MiB (parsed genesis objects: +{rss1 - rss0:.0f} MiB over {rss0:.0f} MiB)"
    )
    del genesis
    secs = run_blocks(chain, senders, args.blocks, args.txs, args.slots, start_nonce=0)
    print(
        f"after {args.blocks} blocks x {args.txs} transfers ({args.blocks * args.txs / secs:.0f} tx/s, "
        f"engine {args.engine}): RSS {rss_mb():.0f} MiB, peak "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )
    chain.close()
    du = subprocess.run(["du", "-sm", str(data_dir)], capture_output=True, text=True).stdout.split()[0]
    print(f"data directory: {du} MiB")
    subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            "--data-dir",
            str(data_dir),
            "--accounts",
            str(args.accounts),
            "--slots",
            str(args.slots),
            "--blocks",
            str(args.blocks),
            "--txs",
            str(args.txs),
            "--engine",
            args.engine,
        ],
        check=True,
    )
    if not args.data_dir:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
