"""QBFT network throughput and submit→finalized latency: 4 validators on loopback vs. a single validator.

Usage: ``.venv/bin/python bench/network_throughput.py [--txs 3000] [--concurrency 32] [--validators 4]
[--engine revm|py-evm] [--erc20] [--batch 25] [--rate 300]``

Setup per configuration (same run, same machine): ``co3chain network up``-style networks of real node
processes (``co3chain.node.localnet``) on free loopback ports, block period 1 s. The load is plain value
transfers (21,000 gas, zero gas price, so any key can send) from ``--senders`` throw-away keys, or with
``--erc20`` token ``transfer`` calls on a minimal ERC-20 placed in the genesis alloc with a balance for every
sender; pre-signed, then pushed with ``eth_sendRawTransaction`` by an ``httpx.AsyncClient`` keeping
``--concurrency`` requests in flight, spread round-robin over every node's RPC (clients talk to their own
PA's node). ``--batch N`` sends N transactions per HTTP request (a JSON-RPC batch): one Python client
cannot offer more than ~200 single requests per second on this machine, which was the bound of earlier runs. A poller
watches node1's new blocks every 50 ms and timestamps each transaction when the block carrying it appears
(finality is immediate in QBFT: imported = final).

Reported: offered submit rate, sustained finalized tx/s (included transactions / time from first submit
to last inclusion), submit→finalized latency p50/p95/max, blocks and transactions per block. On two CPU
cores the processes, the load generator and the poller compete for the same cores.

Current figures, before/after ratios and the analysis: ``docs/performance-network.md`` (ERC-20, JSON-RPC
batches, alternating runs). Earlier measurements, kept for reference (2 shared cores, other engineers' jobs
running; block period 1 s, round timeout 2 s; two runs)::

    validators  mode         offered/s  finalized tx/s  p50 s  p95 s  round changes
    4           saturate     172-185    122-139         7.7-9.4  10-11.3  0
    4           paced 40/s   40         38              0.88-0.90  1.35-1.64  0
    1           saturate     218-312    186-297         1.3-4.3  2.2-6.0  0
    1           paced 40/s   40         39              0.58-0.60  1.03-1.05  0

With the revm engine (2026-12-02, load average 10-13 from other jobs, so the load generator itself only
offered 41 tx/s): 4 validators saturate 41 offered / 41 final tx/s, p50 4.2 s; paced 40/s p50 0.79 s,
p95 1.26 s; 1 validator saturate 99 tx/s; 0 round changes in every mode. Not a measure of the engine:
rerun on a quiet machine.

What bounds it: CPU, not consensus. During the 4-validator run ``top`` shows 0 % idle: each node process
gets ~25 % of a core, the load generator ~30 %, other jobs the rest. Every transaction is admitted by all
four nodes (gossip: RLP decode, signature recovery, nonce/balance checks) and executed by all four (the
proposer builds, three validators re-execute the proposal), so the network spends about 4× the single
node's CPU per transaction on the same two cores; the saturated latency is queueing in the nodes' pools
behind that work. Consensus itself stays cheap: no round changes and ~1.1-1.2 s block intervals under
load, and the paced latency (≈ half a block period of waiting + one QBFT round of three message hops)
is within 0.3 s of the single node's. Blocks are capped by the build budget (1/8 of the round timeout:
~550 transfers), which keeps verification on the other validators inside the round timer; without it
(first measurement) 1,800-transfer blocks forced 27 round changes and a p50 of 20 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from eth_account import Account  # noqa: E402

from co3chain.node import localnet  # noqa: E402
from tests.network.netutil import free_port_block  # noqa: E402

TOKEN_ADDRESS = "0x7070707070707070707070707070707070707070"  # tests.chain.bench_erc20.TOKEN

CHAIN_ID = 1337
SINK = "0x000000000000000000000000000000000000c0DE"
#: the minimal ERC-20 of ``tests/chain/bench_erc20.py`` (balances live in slot keccak(holder . 0))
TRANSFER = bytes.fromhex("a9059cbb")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def sender_keys(senders: int) -> list[Any]:
    return [Account.create() for _ in range(senders)]


def presign(count: int, keys: list[Any], erc20: bool = False, nonces: list[int] | None = None) -> list[tuple[str, str]]:
    """``count`` raw transfers (hex) with their hashes, round-robin over ``keys`` (value or token transfers);
    ``nonces`` (per key, advanced here) carries on from an earlier batch."""
    senders = len(keys)
    nonces = [0] * senders if nonces is None else nonces
    out = []
    for i in range(count):
        s = i % senders
        if erc20:
            to = (0x5000 + i).to_bytes(32, "big")
            tx = {"to": TOKEN_ADDRESS, "value": 0, "gas": 60_000, "data": TRANSFER + to + (1).to_bytes(32, "big")}
        else:
            tx = {"to": SINK, "value": 0, "gas": 21000}
        tx.update(gasPrice=0, nonce=nonces[s], chainId=CHAIN_ID)
        signed = keys[s].sign_transaction(tx)
        nonces[s] += 1
        out.append(("0x" + bytes(signed.raw_transaction).hex(), "0x" + bytes(signed.hash).hex()))
    return out


async def _rpc(client: httpx.AsyncClient, url: str, method: str, *params: Any) -> Any:
    r = await client.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
    body = r.json()
    if "error" in body:
        raise RuntimeError(f"{method}: {body['error']}")
    return body["result"]


def add_token(net_dir: Path, keys: list[Any]) -> None:
    """Put the benchmark ERC-20 into the network's genesis alloc, with a balance for every sender."""
    from eth_hash.auto import keccak

    from tests.chain.bench_erc20 import TOKEN_RUNTIME

    storage = {"0x" + keccak(bytes.fromhex(k.address[2:]).rjust(32, b"\0") + bytes(32)).hex(): hex(10**24)
               for k in keys}
    for path in [net_dir / "genesis.json", *net_dir.glob("*/genesis.json")]:
        doc = json.loads(path.read_text(encoding="utf-8"))
        doc["alloc"][TOKEN_ADDRESS[2:].lower()] = {"balance": "0x0", "code": "0x" + TOKEN_RUNTIME.hex(),
                                                   "storage": storage}
        path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


#: the load ends when no transaction has landed for this long after the last submission
STALL_SECONDS = 30.0


def _is_busy(error: Any) -> bool:
    """Whether a JSON-RPC error says "retry later": the node's intake is full (-32005), or this sender has
    too many transactions queued behind a nonce gap on that node.

    Why the second: the bench spreads one sender's consecutive nonces over the nodes, so a node may get
    nonce n+1 by RPC before nonce n reaches it by gossip; a real client resends such a refusal a moment
    later. Counting it as an error instead left every later nonce of that sender unfinalizable ("lost"),
    which then also spoiled the paced run that follows."""
    if not isinstance(error, dict):
        return False
    return error.get("code") == -32005 or "too many queued" in str(error.get("message", ""))


async def run_load(urls: list[str], txs: list[tuple[str, str]], concurrency: int,
                   rate: float | None = None, batch: int = 1) -> dict[str, Any]:
    """Submit ``txs`` (as fast as possible, or paced at ``rate`` tx/s; ``batch`` per HTTP request) and time
    their finalization."""
    submitted: dict[str, float] = {}
    finalized: dict[str, float] = {}
    blocks: list[tuple[int, int, float]] = []  # number, tx count, seen at
    errors = 0
    retries = 0
    gap_retries = 0  # of which: "too many queued (nonce-gap)" refusals (the rest: intake full, -32005)
    error_kinds: Counter[str] = Counter()
    done_submitting = asyncio.Event()
    limits = httpx.Limits(max_connections=concurrency + 4, max_keepalive_connections=concurrency + 4)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        start_block = int(await _rpc(client, urls[0], "eth_blockNumber"), 16)

        async def poller() -> None:
            next_block = start_block + 1
            last_progress = time.perf_counter()
            while True:
                head = int(await _rpc(client, urls[0], "eth_blockNumber"), 16)
                while next_block <= head:
                    block = await _rpc(client, urls[0], "eth_getBlockByNumber", hex(next_block), False)
                    seen = time.perf_counter()
                    for h in block["transactions"]:
                        finalized.setdefault(h, seen)
                    blocks.append((next_block, len(block["transactions"]), seen))
                    if block["transactions"]:
                        last_progress = seen
                    next_block += 1
                if done_submitting.is_set() and all(h in finalized for h in submitted):
                    return
                if done_submitting.is_set() and time.perf_counter() - last_progress > STALL_SECONDS:
                    return  # accepted transactions that never land are reported as "unfinalized"
                await asyncio.sleep(0.05)

        async def send(i: int) -> None:
            """Submit the ``i``-th group of ``batch`` transactions (one JSON-RPC batch request).

            Transactions the node answers "busy" (-32005, its intake is full) are sent again after a
            short pause, as a real client would: the figures then include the node's backpressure, and
            a later nonce of the same sender never waits forever behind one that was never accepted."""
            nonlocal errors, retries, gap_retries
            group = txs[i * batch:(i + 1) * batch]
            t0 = time.perf_counter()
            for _attempt in range(100):
                body = [{"jsonrpc": "2.0", "id": k, "method": "eth_sendRawTransaction", "params": [raw]}
                        for k, (raw, _) in enumerate(group)]
                try:
                    r = await client.post(urls[i % len(urls)], json=body if len(body) > 1 else body[0])
                    answers = r.json() if len(body) > 1 else [r.json()]
                except (httpx.HTTPError, ValueError) as exc:
                    errors += len(group)
                    error_kinds[type(exc).__name__] += len(group)
                    return
                ok = {a.get("id") for a in answers if isinstance(a, dict) and "error" not in a}
                busy = {a.get("id") for a in answers if isinstance(a, dict) and _is_busy(a.get("error"))}
                retry = []
                gap_retries += sum(1 for a in answers if isinstance(a, dict) and a.get("id") in busy
                                   and "too many queued" in str((a.get("error") or {}).get("message", "")))
                for k, (raw, tx_hash) in enumerate(group):
                    if k in ok:
                        submitted[tx_hash] = t0
                    elif k in busy:
                        retry.append((raw, tx_hash))
                    else:
                        errors += 1
                        why = next((a.get("error") for a in answers if isinstance(a, dict) and a.get("id") == k), None)
                        error_kinds[str((why or {}).get("message", "no answer"))[:60]] += 1
                if not retry:
                    return
                retries += len(retry)
                group = retry
                await asyncio.sleep(0.2)
            errors += len(group)

        groups = (len(txs) + batch - 1) // batch
        counter = iter(range(groups))

        async def worker() -> None:
            for i in counter:
                await send(i)

        async def paced(per_second: float) -> None:
            slots = asyncio.Semaphore(concurrency)
            tasks = []

            async def one(i: int) -> None:
                try:
                    await send(i)
                finally:
                    slots.release()

            for i in range(groups):
                delay = t_start + i * batch / per_second - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                await slots.acquire()
                tasks.append(asyncio.create_task(one(i)))
            await asyncio.gather(*tasks)

        poll_task = asyncio.create_task(poller())
        t_start = time.perf_counter()
        if rate is None:
            await asyncio.gather(*(worker() for _ in range(concurrency)))
        else:
            await paced(rate)
        t_submitted = time.perf_counter()
        done_submitting.set()
        await asyncio.wait_for(poll_task, timeout=300)
    lat = [finalized[h] - submitted[h] for h in submitted if h in finalized]
    last_inclusion = max(finalized[h] for h in submitted if h in finalized)
    used = [b for b in blocks if b[2] <= last_inclusion]
    return {
        "txs": len(txs),
        "submitErrors": errors,
        "busyRetries": retries,
        "nonceGapRetries": gap_retries,
        "errorKinds": dict(error_kinds),
        "unfinalized": sum(1 for h in submitted if h not in finalized),
        "submitSeconds": round(t_submitted - t_start, 2),
        "offeredTxPerSecond": round(len(submitted) / (t_submitted - t_start), 1),
        "finalizedTxPerSecond": round(len(lat) / (last_inclusion - t_start), 1),
        "latencyP50": round(percentile(lat, 0.5), 3),
        "latencyP95": round(percentile(lat, 0.95), 3),
        "latencyMax": round(max(lat), 3),
        "blocks": len(used),
        "txsPerBlockMax": max((b[1] for b in used), default=0),
        "txsPerBlockMean": round(statistics.mean(b[1] for b in used), 1) if used else 0,
    }


def run_config(validators: int, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Saturating run (throughput), then a paced run at ``--rate`` (latency below saturation)."""
    keys = sender_keys(args.senders)
    with tempfile.TemporaryDirectory(prefix=f"co3bench{validators}-") as tmp:
        net_dir = (args.keep / f"net{validators}") if args.keep else Path(tmp) / "net"
        nodes = localnet.create_network(
            net_dir, validators, chain_id=CHAIN_ID,
            rpc_port=free_port_block(validators), p2p_port=free_port_block(validators),
            base_fee=0,  # free gas: the unfunded senders below sign at gas price 0 (figures stay comparable)
        )
        if args.erc20:
            add_token(net_dir, keys)
        try:
            for n in nodes:
                with n.config.open("a", encoding="utf-8") as f:
                    f.write(f'\n[chain]\nengine = "{args.engine}"\n')
                localnet.start_node(n)
            localnet.wait_for_blocks(nodes, 2, 120)
            urls = [n.rpc for n in nodes]
            results = []
            nonces = [0] * len(keys)
            for mode, rate, count in (("saturate", None, args.txs), (f"paced {args.rate:g}/s", args.rate,
                                                                         int(args.rate * args.paced_seconds))):
                txs = presign(count, keys, args.erc20, nonces)
                before = _round_changes(nodes)
                cpu_before = _nodes_cpu_seconds(nodes)
                result = asyncio.run(run_load(urls, txs, args.concurrency, rate, args.batch))
                cpu = _nodes_cpu_seconds(nodes) - cpu_before
                final = result["txs"] - result["submitErrors"] - result["unfinalized"]
                result.update(nodeCpuSeconds=round(cpu, 1),
                              nodeCpuMsPerTx=round(1000 * cpu / final, 2) if final > 0 else None)
                result.update(mode=mode, validators=validators, roundChanges=_round_changes(nodes) - before,
                              kind="erc20" if args.erc20 else "value",
                              buildBudget=[localnet.rpc_call(n.rpc, "qbft_getConsensusStatus").get("buildBudget")
                                           for n in nodes],
                              txGossip=[localnet.rpc_call(n.rpc, "qbft_getConsensusStatus").get("txGossip")
                                        for n in nodes])
                results.append(result)
        finally:
            for n in nodes:
                localnet.stop_node(n, timeout=15)
    return results


def _nodes_cpu_seconds(nodes: list[localnet.LocalNode]) -> float:
    """CPU seconds (user + system, all threads) the node processes have used so far (Linux ``/proc``).

    Why: on a machine shared with other work, tx/s and latency follow the others' load; the CPU the
    nodes spend per finalized transaction (all validators together) is the steadier figure to compare.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for node in nodes:
        try:
            pid = int(node.pid_file.read_text().split()[0])
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, ValueError, IndexError):
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14 and 15 of stat)
    return total


def _round_changes(nodes: list[localnet.LocalNode]) -> int:
    """Round changes summed over the nodes (each node counts the rounds it moved to: one network-wide round
    change counts once per validator)."""
    return sum(int(localnet.rpc_call(n.rpc, "qbft_getConsensusStatus")["roundChanges"]) for n in nodes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--txs", type=int, default=3000)
    parser.add_argument("--senders", type=int, default=150)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--validators", type=int, default=4)
    parser.add_argument("--rate", type=float, default=40.0, help="Offered tx/s of the paced (latency) run.")
    parser.add_argument("--paced-seconds", type=float, default=20.0, help="Duration of the paced run.")
    parser.add_argument("--engine", choices=["revm", "py-evm"], default="revm", help="Execution engine of every node.")
    parser.add_argument("--erc20", action="store_true", help="ERC-20 token transfers instead of value transfers.")
    parser.add_argument("--batch", type=int, default=1, help="Transactions per HTTP request (JSON-RPC batch).")
    parser.add_argument("--keep", type=Path, default=None, help="Keep the networks (logs) under this directory.")
    parser.add_argument("--only", type=int, default=None, help="Run only this validator count (default: N, then 1).")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = []
    for validators in ((args.only,) if args.only else (args.validators, 1)):
        print(f"running {validators}-validator network...", file=sys.stderr)
        results.extend(run_config(validators, args))
    if args.json:
        print(json.dumps(results, indent=2))
        return
    header = f"{'validators':>10} {'mode':>14} {'offered/s':>10} {'final tx/s':>10} {'p50 s':>7} {'p95 s':>7} {'max s':>7} " \
             f"{'blocks':>6} {'tx/blk max':>10} {'rounds>0':>8} {'errors':>6} {'busy':>6} {'lost':>5} " \
             f"{'cpu ms/tx':>9}"
    print(header)
    for r in results:
        if r["errorKinds"]:
            print(f"  submit errors: {r['errorKinds']}", file=sys.stderr)
        gossip = [g for g in r.get("txGossip") or [] if g]
        if gossip or r.get("nonceGapRetries"):
            print(f"  nonce-gap refusals resent by the client: {r.get('nonceGapRetries', 0)}; gossip refused per node: "
                  + "; ".join(", ".join(f"{k} {v}" for k, v in sorted(g["refused"].items())) or "-" for g in gossip),
                  file=sys.stderr)
        budgets = [b for b in r.get("buildBudget") or [] if b]
        if budgets:  # what bounded the blocks: each node's learned gas cap and verification cost
            print("  build budget (gas cap Mgas / µs per kgas): " + ", ".join(
                f"{b['gasCap'] / 1e6:.1f}/{b['microsecondsPerKgas']}" for b in budgets), file=sys.stderr)
        print(f"{r['validators']:>10} {r['mode']:>14} {r['offeredTxPerSecond']:>10} {r['finalizedTxPerSecond']:>10} "
              f"{r['latencyP50']:>7} {r['latencyP95']:>7} {r['latencyMax']:>7} {r['blocks']:>6} "
              f"{r['txsPerBlockMax']:>10} {r['roundChanges']:>8} {r['submitErrors']:>6} "
              f"{r['busyRetries']:>6} {r['unfinalized']:>5} {r['nodeCpuMsPerTx']!s:>9}")


if __name__ == "__main__":
    main()
