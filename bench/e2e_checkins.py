"""AR check-ins per second from webhook to on-chain attestation on ONE co3chain node, next to the same node's
raw ERC-20 transfer rate measured in the same run.

Usage: ``.venv/bin/python bench/e2e_checkins.py [--events 500] [--citizens 4] [--batch-size 25]
[--concurrency 8] [--txs 3000] [--senders 50]``

Setup (``tests/e2e/stack.py``): ``co3chain network init --validators 1`` (block period 1 s) + ``node start``;
the CO3 suite deployed with ``deploy_suite`` (hub with 3 oracle signers, threshold 2); ``co3chain api serve``
(used by the PA to seed the area and register the citizens); three ``co3chain oracle run`` operators — a lead
(webhooks, submitter) and two co-signers over HTTP, each validating every event against the node itself.

Phase 1: ``--events`` check-ins (HMAC-signed by the AR source, device-signed by ``--citizens`` citizens) are
posted concurrently to the lead; measured from the first POST to the moment the lead reports the last one
confirmed on chain. Phase 2, same node process, oracle and API idle but running: ``--txs`` pre-signed ERC-20
transfers (the workload of ``bench/rpc_throughput.py``) sent through ``eth_sendRawTransaction``; measured from
the first submission to the last inclusion. Printed side by side with their ratio.

Why the ratio matters: an attestation costs more gas than a transfer (2 signature recoveries, mint, reputation
checkpoint) and needs 3 operators' chain reads and signatures, so the ratio says how much of the node's raw
transaction capacity the reward pipeline turns into check-ins.
Every process shares this machine's cores; operators on separate machines would do better.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures as cf
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import rpc_throughput as rpcb  # noqa: E402
from tests.e2e.stack import Stack, running_stack, wait_for  # noqa: E402
from tests.oracle.helpers import checkin_body  # noqa: E402


@dataclass
class CheckinResult:
    events: int
    confirmed: int
    rejected: int
    ingest_seconds: float
    total_seconds: float
    transactions: int
    gas: int

    @property
    def rate(self) -> float:
        return self.confirmed / self.total_seconds


def run_checkins(stack: Stack, events: int, citizens: int, concurrency: int, timeout: float) -> CheckinResult:
    """Post ``events`` check-ins concurrently and wait until the lead has them all confirmed or rejected."""
    with cf.ThreadPoolExecutor(min(citizens, 8)) as pool:
        accounts = list(pool.map(lambda i: stack.new_citizen(f"bench-{i}"), range(citizens)))
    now = int(time.time())
    bodies = [checkin_body(f"bench-{i}", key=accounts[i % citizens].key, timestamp=now - 30 + (i % 20))
              for i in range(events)]
    hub = stack.contracts["AttestationHub"].address
    start_block = stack.w3.eth.block_number
    status_url = stack.cluster.lead.url + "/oracle/v1/status"
    with httpx.Client(timeout=60, limits=httpx.Limits(max_connections=concurrency)) as client:
        t0 = time.perf_counter()
        with cf.ThreadPoolExecutor(concurrency) as pool:
            codes = list(pool.map(lambda b: stack.cluster.post_checkin(b, client).status_code, bodies))
        t_ingest = time.perf_counter() - t0
        if codes.count(202) != events:
            raise SystemExit(f"webhook answered {sorted(set(codes))}; expected 202 for every check-in")

        def done() -> dict | None:
            s = client.get(status_url).json()
            return s if s["queue"].get("confirmed", 0) + s["rejected"] >= events else None

        status = wait_for(f"{events} check-ins to be confirmed", done, timeout, interval=0.1)
        t_total = time.perf_counter() - t0
    txs = gas = 0
    for n in range(start_block + 1, stack.w3.eth.block_number + 1):
        for tx in stack.w3.eth.get_block(n, full_transactions=True)["transactions"]:
            if tx["to"] == hub:
                txs += 1
                gas += int(stack.w3.eth.get_transaction_receipt(tx["hash"])["gasUsed"])
    return CheckinResult(events, int(status["queue"].get("confirmed", 0)), int(status["rejected"]), t_ingest,
                         t_total, txs, gas)


def run_erc20(url: str, txs: int, senders: int, concurrency: int) -> rpcb.Result:
    """The ``bench/rpc_throughput.py`` workload against the already running node (zero gas price)."""
    accounts = rpcb.make_accounts(senders)
    token, chain_id, nonces = rpcb.prepare(url, accounts, rpcb.compile_token(), 0)
    workload = rpcb.sign_workload(accounts, token, chain_id, 0, txs, nonces)
    submitted, included, failed, blocks = asyncio.run(rpcb.run_load(url, workload, concurrency))
    return rpcb.summarize("co3chain", submitted, included, failed, blocks)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=500, help="check-ins to post")
    ap.add_argument("--citizens", type=int, default=4, help="distinct citizens signing the check-ins")
    ap.add_argument("--batch-size", type=int, default=25, help="oracle submitBatch size")
    ap.add_argument("--concurrency", type=int, default=8, help="concurrent webhook / JSON-RPC clients")
    ap.add_argument("--txs", type=int, default=3000, help="ERC-20 transfers for the raw rate")
    ap.add_argument("--senders", type=int, default=50, help="ERC-20 sending accounts")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the check-ins")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs, databases)")
    args = ap.parse_args()
    if min(args.events, args.citizens, args.txs, args.senders, args.concurrency, args.batch_size) < 1:
        ap.error("every count must be at least 1")

    workdir = Path(tempfile.mkdtemp(prefix="co3-e2e-bench-"))
    txpool = (f"[txpool]\nmax_per_sender = {max(64, args.txs // args.senders + 8)}\n"
              f"max_total = {max(8192, args.txs * 2)}\n")
    t_start = time.perf_counter()
    try:
        print("starting node, deploying the suite, API and 3 oracle operators …", flush=True)
        with running_stack(workdir, batch_size=args.batch_size, node_config_extra=txpool) as stack:
            print(f"stack up in {time.perf_counter() - t_start:.0f} s; posting {args.events} check-ins …", flush=True)
            ci = run_checkins(stack, args.events, args.citizens, args.concurrency, args.timeout)
            print(f"sending {args.txs} ERC-20 transfers to the same node …", flush=True)
            erc = run_erc20(stack.node.url, args.txs, args.senders, args.concurrency)
    finally:
        if args.keep:
            print(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    print(f"\nOne co3chain node (1 validator, 1 s blocks), 2-of-3 oracle, everything on this machine "
          f"({time.perf_counter() - t_start:.0f} s total)")
    print(f"  check-ins → on-chain attestation {ci.rate:8.1f} /s  ({ci.confirmed}/{ci.events} confirmed, "
          f"{ci.rejected} rejected, in {ci.total_seconds:.2f} s; webhook ingest {ci.events / ci.ingest_seconds:.1f}/s;"
          f" {ci.transactions} submitBatch txs, "
          f"{(ci.gas / ci.confirmed if ci.confirmed else 0):,.0f} gas/attestation)")
    print(f"  raw ERC-20 transfers             {erc.tps:8.1f} tx/s ({erc.txs} txs in {erc.seconds:.2f} s, "
          f"{erc.blocks} blocks, {erc.failed} rejected, p50 {erc.p50 * 1000:.0f} ms, p95 {erc.p95 * 1000:.0f} ms)")
    print(f"  ratio check-ins / ERC-20 tx:     {ci.rate / erc.tps:8.3f}")
    if ci.confirmed != ci.events or erc.failed:
        raise SystemExit("not every check-in was confirmed or some transfers were rejected (see --keep logs)")


if __name__ == "__main__":
    main()
