"""Import/sync speed: a follower importing a chain of ERC-20 blocks, and ``audit chain --replay`` over it.

Usage: ``.venv/bin/python bench/import_speed.py [--blocks 40] [--per-block 250] [--paths ...]
[--baseline 3131f26] [--stages] [--json]``

The chain: an in-process 4-validator QBFT devnet (``tests.audit.devnet``) whose genesis holds a minimal
ERC-20 token (``tests.chain.bench_erc20``) with a balance for each of ``--senders`` fresh keys; ``--blocks``
blocks of ``--per-block`` token transfers, each block sealed by all 4 validators. Then, in the same run:

* **follower import, as the node syncs**: a fresh node with a RocksDB data directory receives the blocks
  as wire bytes (``GET_BLOCKS`` answers of 64 blocks) and runs :func:`co3chain.node.sync.import_synced` on
  each answer (decode, senders recovered ahead by the sender recovery child process on the other core,
  seal quorum against the tracked validator set, header rules, execution, roots, durable write), once per
  engine: ``py-evm`` (the engine every node ran before issue 18) and ``revm`` (the default now). Senders
  are not known to the follower (it never saw the transactions in its pool), so each is recovered once.
* **audit chain --replay** over the devnet's JSON-RPC (in-process transport), with the replay engine
  ``py-evm`` (the default: an engine independent of the node's) and ``revm``.
* with ``--baseline COMMIT``: the py-evm follower of that commit's tree (issue 18's "today's rate" is
  ``3131f26``), same workload, run by this script in a ``git archive`` of it, after the rows above.

Reported: transactions/s and blocks/s per path (wall clock: the *rate*), transactions per CPU second
(the bench process's threads plus the recovery child's CPU: the *cost*; on a shared machine the steadier
figure), and the ratios of both against the first row and the baseline.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from eth_account import Account  # noqa: E402
from eth_hash.auto import keccak  # noqa: E402
from eth_utils import to_checksum_address  # noqa: E402

from co3chain.audit.chain_audit import ChainAuditOptions, audit_chain  # noqa: E402
from co3chain.audit.rpc import RpcClient  # noqa: E402
from co3chain.chain.chain import NodeChain  # noqa: E402
from co3chain.chain.vm import decode_block, encode_block  # noqa: E402
from co3chain.node.sync import ValidatorSetIndex, verify_block_seals  # noqa: E402

try:
    from co3chain.node.sync import import_synced
except ImportError:  # a tree from before import_synced (to compare with): the same steps, block by block
    import_synced = None
from tests.audit.devnet import CHAIN_ID, Devnet  # noqa: E402
from tests.chain.bench_erc20 import TOKEN, TOKEN_RUNTIME  # noqa: E402

SELECTOR = keccak(b"transfer(address,uint256)")[:4]
#: blocks per GET_BLOCKS answer (``co3chain.node.sync.DEFAULT_BATCH``)
SYNC_BATCH = 64


def token_alloc(addresses: list[bytes]) -> dict[bytes, Any]:
    storage = {"0x" + keccak(a.rjust(32, b"\0") + bytes(32)).hex(): hex(10**24) for a in addresses}
    return {TOKEN: {"code": "0x" + TOKEN_RUNTIME.hex(), "storage": storage, "balance": 0}}


def build_chain(n_blocks: int, per_block: int, n_senders: int) -> tuple[Devnet, list[bytes], int]:
    """The devnet with ``n_blocks`` blocks of token transfers; returns it, the wire blocks and the tx count."""
    keys = [Account.from_key(keccak(b"import-bench" + i.to_bytes(4, "big"))) for i in range(n_senders)]
    d = Devnet(n_validators=4, alloc=token_alloc([bytes.fromhex(k.address[2:]) for k in keys]))
    nonces = [0] * n_senders
    sent = 0
    for b in range(n_blocks):
        raws = []
        for _ in range(per_block):
            s = sent % n_senders
            to = (0x1000 + sent).to_bytes(32, "big")
            tx = {"nonce": nonces[s], "gas": 60_000, "gasPrice": 0, "to": to_checksum_address(TOKEN), "value": 0,
                  "data": SELECTOR + to + (1).to_bytes(32, "big"), "chainId": CHAIN_ID}
            raws.append(bytes(keys[s].sign_transaction(tx).raw_transaction))
            nonces[s] += 1
            sent += 1
        d.produce(raws)
        print(f"\rbuilt block {b + 1}/{n_blocks}", end="", file=sys.stderr)
    print(file=sys.stderr)
    wire = [encode_block(d.chain.get_block_by_number(n)) for n in range(1, n_blocks + 1)]
    return d, wire, sent


def cold_caches() -> None:
    """Forget the process-wide caches of decoded trie nodes before a timed run.

    Why: every path of this bench imports or replays the *same* chain in one process, so without this a
    run would find the nodes of the whole chain decoded by the previous run, which a real follower (or an
    auditor, one process per audit) never does. Caches missing from an older tree are skipped.
    """
    for module, name in (("co3chain.chain.batchtrie", "_GET_CACHE"), ("co3chain.chain.statedb", "_NODE_CACHE")):
        cache = getattr(sys.modules.get(module), name, None)
        if cache is not None:
            cache.clear()


def follower_import(d: Devnet, wire: list[bytes], engine: str) -> tuple[float, float]:
    """Wall-clock and CPU seconds for a fresh RocksDB node to import ``wire`` through the sync path."""
    cold_caches()
    with tempfile.TemporaryDirectory(prefix="co3import-") as tmp:
        follower = NodeChain.open(Path(tmp) / "chain", d.genesis, engine=engine)
        follower.clock = d.chain.clock
        sets = ValidatorSetIndex(follower)
        follower.validator_provider = sets.provider

        def run() -> None:
            for i in range(0, len(wire), SYNC_BATCH):
                batch = wire[i:i + SYNC_BATCH]
                if import_synced is None:
                    for raw in batch:
                        block = decode_block(raw)
                        assert verify_block_seals(block, sets.for_child(follower.head.block_number))
                        follower.import_block(block, True)
                elif import_synced(follower, sets, batch) != len(batch):
                    raise SystemExit(f"follower ({engine}) refused a block")

        _, seconds, cpu, CHILD_CPU[engine] = timed(run)
        assert follower.head.hash == d.chain.head.hash
        follower.close()
    return seconds, cpu


def timed(run: Callable[[], Any]) -> tuple[Any, float, float, float]:
    """``run()``'s result, wall seconds, CPU seconds (this process's threads *and* the sender recovery
    child's, which is part of the cost) and the child's share of them."""
    child = _recovery_child()
    child_cpu0 = child.cpu_seconds if child is not None else 0.0
    t0, c0 = time.perf_counter(), time.process_time()
    result = run()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    child_cpu = 0.0
    if child is not None:
        child.settle()
        child_cpu = child.cpu_seconds - child_cpu0
    return result, seconds, cpu + child_cpu, child_cpu


#: CPU seconds of the sender recovery child process during each engine's follower import
CHILD_CPU: dict[str, float] = {}


def _recovery_child() -> Any:
    """The process-wide sender recovery child, started and idle, or ``None`` in a tree from before it.

    Started before any timed run: a node starts it once (its first large sync batch), so its start-up
    (a Python interpreter importing the decoder, ~1 CPU-second) is not a per-transaction cost."""
    try:
        from co3chain.chain.recovery_process import TRANSACTIONS, shared_recovery
    except ImportError:
        return None
    child = shared_recovery()
    if not child.jobs_answered:
        child.submit(TRANSACTIONS, [])
        child.settle(60)
    return child


def follower_stages(d: Devnet, wire: list[bytes], txs: int) -> dict[str, float]:
    """CPU µs per transaction of each step of a revm follower's import (``--stages``).

    Each step is timed with ``time.thread_time`` on the thread that runs it, so the sender prefetch (a
    worker thread) appears as the difference between the process CPU and the importing thread's steps.
    Steps missing from an older tree are skipped.
    """
    import co3chain.chain.builder as builder_mod
    import co3chain.chain.chain as chain_mod
    import co3chain.chain.storage as storage_mod
    import co3chain.node.sync as sync_mod

    spent: dict[str, float] = {}
    undo: list[tuple[Any, str, Any]] = []

    def timed(owner: Any, name: str, label: str) -> None:
        fn = getattr(owner, name, None)
        if fn is None:
            return

        def wrapper(*a: Any, **kw: Any) -> Any:
            t = time.thread_time()
            try:
                return fn(*a, **kw)
            finally:
                spent[label] = spent.get(label, 0.0) + time.thread_time() - t

        undo.append((owner, name, fn))
        setattr(owner, name, staticmethod(wrapper) if isinstance(owner.__dict__.get(name), staticmethod) else wrapper)

    timed(sync_mod.ChainSync, "_decode", "decode wire blocks")
    timed(chain_mod.NodeChain, "verify_seals", "commit seals (import thread)")
    timed(chain_mod.NodeChain, "_check_structure", "header rules")
    timed(builder_mod.BlockBuilder, "add", "execution: BlockBuilder.add")
    timed(builder_mod.BlockBuilder, "finish", "state commit and roots: BlockBuilder.finish")
    timed(chain_mod.NodeChain, "_stage_block", "staging header/body/receipts/index")
    timed(storage_mod.Overlay, "flush", "RocksDB write batch")
    timed(chain_mod.NodeChain, "import_block", "import_block (all of it)")
    try:
        _seconds, cpu = follower_import(d, wire, "revm")
    finally:
        for owner, name, fn in reversed(undo):
            setattr(owner, name, staticmethod(fn) if isinstance(owner.__dict__.get(name), staticmethod) else fn)
    out = {label: round(1e6 * v / txs, 1) for label, v in spent.items()}
    out["sender recovery child process"] = round(1e6 * CHILD_CPU.get("revm", 0.0) / txs, 1)
    out["CPU of the import (all threads + recovery child)"] = round(1e6 * cpu / txs, 1)
    return out


def replay(d: Devnet, engine: str, batch: int) -> tuple[float, float]:
    try:
        options = ChainAuditOptions(progress=False, replay=True, replay_engine=engine)
    except TypeError:  # a tree from before --replay-engine: py-evm only
        if engine != "py-evm":
            return float("nan"), float("nan")
        options = ChainAuditOptions(progress=False, replay=True)
    cold_caches()
    served = [0.0, 0.0]  # wall and CPU seconds the devnet spent serving the auditor's JSON-RPC calls

    def transport(payload: Any) -> Any:
        t, c = time.perf_counter(), time.thread_time()
        try:
            return d.transport(payload)
        finally:
            served[0] += time.perf_counter() - t
            served[1] += time.thread_time() - c

    report, seconds, cpu, _ = timed(lambda: audit_chain(RpcClient(transport, batch), d.genesis, options))
    SERVED[engine] = (served[0], served[1])
    if not report.passed:
        raise SystemExit(f"replay ({engine}) did not pass: {report.to_dict()}")
    return seconds, cpu


#: wall and CPU seconds the in-process devnet spent *serving* each replay's JSON-RPC calls: the node's
#: work, on another machine in a real audit (where the auditor pays network time instead)
SERVED: dict[str, tuple[float, float]] = {}

def node_gc_settings() -> None:
    """The garbage-collector settings a node runs with (``co3chain.node.service.tune_gc``), if this tree's
    node has them.

    Why: this bench measures what a node's import costs; a node tunes the collector once after start-up
    and, left at CPython's defaults here, the ~200,000 decoded trie nodes in the bench process made full
    collections cost ~16 µs per transfer that no node pays. A tree from before ``tune_gc`` (the issue's
    baseline) ran its node with the defaults, so it runs with them here too.
    """
    try:
        from co3chain.node.service import tune_gc
    except ImportError:
        return
    tune_gc()


#: the paths this bench can time, by ``--paths`` key
PATHS = ("import-pyevm", "import-revm", "replay-pyevm", "replay-revm")
#: the tree issue 18 measured "today's rate" on (its py-evm follower: 783 tx per CPU second then)
ISSUE_BASELINE = "3131f26"


def run_baseline(args: argparse.Namespace) -> dict[str, Any]:
    """The py-evm follower row of ``args.baseline``'s tree, run by this very script in a ``git archive`` of it.

    Why this script and not the tree's own: the workload (chain, senders, batch size, cold caches) must
    be the same; the script falls back to the block-by-block import of trees older than ``import_synced``.
    """
    import shutil
    import subprocess

    with tempfile.TemporaryDirectory(prefix="co3baseline-") as tmp:
        archive = subprocess.run(["git", "-C", str(REPO), "archive", args.baseline], capture_output=True, check=False)
        if archive.returncode:
            raise SystemExit(f"--baseline: git archive {args.baseline} failed: {archive.stderr.decode().strip()}")
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        script = Path(tmp) / "bench" / "import_speed_current.py"
        shutil.copyfile(__file__, script)
        print(f"running follower import, py-evm, on {args.baseline}...", file=sys.stderr)
        done = subprocess.run(
            [sys.executable, str(script), "--json", "--paths", "import-pyevm", "--blocks", str(args.blocks),
             "--per-block", str(args.per_block), "--senders", str(args.senders)],
            capture_output=True, text=True, check=False,
        )
        if done.returncode:
            raise SystemExit(f"--baseline: the run on {args.baseline} failed:\n{done.stderr[-2000:]}")
        return json.loads(done.stdout)["rows"][0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=40)
    parser.add_argument("--per-block", type=int, default=250)
    parser.add_argument("--senders", type=int, default=500)
    parser.add_argument("--batch", type=int, default=50, help="JSON-RPC batch size of the auditor")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--stages", action="store_true",
                        help="also: CPU µs per transaction of each step of the revm follower's import")
    parser.add_argument("--paths", default=",".join(PATHS),
                        help=f"comma-separated subset of {', '.join(PATHS)} (the first one run is the x1.0 row)")
    parser.add_argument("--baseline", metavar="COMMIT",
                        help="also run this bench's py-evm follower on the tree of COMMIT (git archive, same "
                             f"workload, same run) and compare; issue 18's baseline is {ISSUE_BASELINE}")
    args = parser.parse_args()
    wanted = [p.strip() for p in args.paths.split(",") if p.strip()]
    if not wanted or set(wanted) - set(PATHS):
        parser.error(f"--paths takes a comma-separated subset of {', '.join(PATHS)}")
    d, wire, txs = build_chain(args.blocks, args.per_block, args.senders)
    node_gc_settings()
    stages: dict[str, float] | None = None
    rows: list[dict[str, Any]] = []
    try:
        for key, what, fn in (
            ("import-pyevm", "follower import, py-evm", lambda: follower_import(d, wire, "py-evm")),
            ("import-revm", "follower import, revm", lambda: follower_import(d, wire, "revm")),
            ("replay-pyevm", "audit --replay, py-evm", lambda: replay(d, "py-evm", args.batch)),
            ("replay-revm", "audit --replay, revm", lambda: replay(d, "revm", args.batch)),
        ):
            if key not in wanted:
                continue
            print(f"running {what}...", file=sys.stderr)
            s, cpu = fn()
            if s != s:  # not available in this tree
                continue
            rows.append({"path": what, "seconds": round(s, 2), "txPerSecond": round(txs / s, 1),
                         "blocksPerSecond": round(args.blocks / s, 2), "cpuSeconds": round(cpu, 2),
                         "txPerCpuSecond": round(txs / cpu, 1)})
            engine = "revm" if key.endswith("revm") else "py-evm"
            if key.startswith("replay") and engine in SERVED:
                served_wall, served_cpu = SERVED[engine]
                rows[-1]["auditorSide"] = {"servingSeconds": round(served_wall, 2),
                                           "txPerSecond": round(txs / (s - served_wall), 1),
                                           "txPerCpuSecond": round(txs / (cpu - served_cpu), 1)}
        if args.stages:
            print("running follower import, revm, per step...", file=sys.stderr)
            stages = follower_stages(d, wire, txs)
    finally:
        d.close()
    baseline = run_baseline(args) if args.baseline else None
    base = rows[0]["txPerSecond"]
    base_cpu = rows[0]["txPerCpuSecond"]
    for r in rows:
        r["vsPyEvmImport"] = round(r["txPerSecond"] / base, 2)
        r["cpuVsPyEvmImport"] = round(r["txPerCpuSecond"] / base_cpu, 2)
    if baseline is not None:
        for r in rows:
            r["vsBaseline"] = round(r["txPerSecond"] / baseline["txPerSecond"], 2)
            r["cpuVsBaseline"] = round(r["txPerCpuSecond"] / baseline["txPerCpuSecond"], 2)
    if args.json:
        print(json.dumps({"blocks": args.blocks, "perBlock": args.per_block, "txs": txs, "rows": rows,
                          "baseline": baseline, "revmFollowerCpuMicrosPerTx": stages}, indent=2))
        return
    print(f"{args.blocks} blocks x {args.per_block} ERC-20 transfers ({txs} txs), 4 seals per block")
    for r in rows:
        print(f"  {r['path']:<26} {r['txPerSecond']:>8} tx/s {r['blocksPerSecond']:>7} blocks/s "
              f"({r['seconds']} s)  x{r['vsPyEvmImport']}   per CPU second: {r['txPerCpuSecond']:>8} tx "
              f"x{r['cpuVsPyEvmImport']}")
    for r in rows:
        side = r.get("auditorSide")
        if side:
            print(f"  {r['path']}, auditor's side only (the devnet's in-process JSON-RPC serving, "
                  f"{side['servingSeconds']} s, taken out): {side['txPerSecond']} tx/s, "
                  f"{side['txPerCpuSecond']} tx per CPU second")
    if baseline is not None:
        print(f"baseline: py-evm follower of {args.baseline}, same workload, run after the rows above: "
              f"{baseline['txPerSecond']} tx/s, {baseline['txPerCpuSecond']} tx per CPU second")
        for r in rows:
            print(f"  {r['path']:<26} x{r['vsBaseline']} the baseline's rate, x{r['cpuVsBaseline']} per CPU second")
    if stages:
        print("revm follower, CPU µs per transaction by step (thread CPU of the thread running it):")
        for label, micros in stages.items():
            print(f"  {label:<45} {micros:>8}")


if __name__ == "__main__":
    main()
