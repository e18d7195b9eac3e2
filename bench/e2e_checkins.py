"""AR check-ins per second from webhook to on-chain attestation on ONE co3chain node, next to the same node's
raw ERC-20 transfer rate measured in the same run.

Usage: ``.venv/bin/python bench/e2e_checkins.py [--events 500] [--citizens 4] [--batch-size 25]
[--concurrency 8] [--api-requests 1000] [--api-concurrency 32] [--txs 3000] [--senders 50]``

Setup (``tests/e2e/stack.py``): ``co3chain network init --validators 1`` (block period 1 s) + ``node start``;
the CO3 suite deployed with ``deploy_suite`` (hub with 3 oracle signers, threshold 2); ``co3chain api serve``
(used by the PA to seed the area and register the citizens); three ``co3chain oracle run`` operators — a lead
(webhooks, submitter) and two co-signers over HTTP, each validating every event against the node itself.

Phase 1: ``--events`` check-ins (HMAC-signed by the AR source, device-signed by ``--citizens`` citizens) are
posted concurrently to the lead; measured from the first POST to the moment the lead reports the last one
confirmed on chain. Phase 2, API read latency on the same stack: the PA opens a proposal and the phase-1
citizens vote on it through the SDK (relayed), then, once the API's indexer has the votes, ``--api-requests``
reads with ``--api-concurrency`` in flight cycle through the mix of ``bench/api_latency.py`` (proposal with live
state, citizen view, proposal votes from the index, area list, health), timed per endpoint group with that
script's load helper; a node read (``eth_call CO3Governance.state``, what the API needs most) runs the same way
as the baseline. Phase 3, oracle and API idle but running: ``--txs`` pre-signed ERC-20 transfers (the workload
of ``bench/rpc_throughput.py``) sent through ``eth_sendRawTransaction``; measured from the first submission to
the last inclusion. The summary prints the three side by side with their ratios.

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
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import api_latency as apib  # noqa: E402
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


@dataclass
class ReadGroup:
    """Latencies (s) of one endpoint group inside a concurrent read run; ``wall`` is that whole run's wall time."""

    label: str
    latencies: list[float]
    wall: float
    errors: int

    def p(self, q: float) -> float:
        """Latency percentile in milliseconds (``bench/api_latency.py``'s interpolation)."""
        return apib.percentile([x * 1000 for x in self.latencies], q)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall


@dataclass
class ReadResult:
    api: ReadGroup  # every API request of the mix
    groups: list[ReadGroup]  # the same requests split by endpoint
    node: ReadGroup  # the node baseline (eth_call)
    votes: int


def register_citizens(stack: Stack, citizens: int) -> list[Any]:
    """Fresh citizens registered by the PA through the API (they sign check-ins, then vote)."""
    with cf.ThreadPoolExecutor(min(citizens, 8)) as pool:
        return list(pool.map(lambda i: stack.new_citizen(f"bench-{i}"), range(citizens)))


def run_checkins(stack: Stack, accounts: list[Any], events: int, concurrency: int, timeout: float) -> CheckinResult:
    """Post ``events`` check-ins concurrently and wait until the lead has them all confirmed or rejected."""
    citizens = len(accounts)
    now = int(time.time())
    bodies = [checkin_body(f"bench-{i}", key=accounts[i % citizens].key, timestamp=now - 30 + (i % 20),
                           chain_id=int(stack.w3.eth.chain_id), hub=stack.contracts["AttestationHub"].address)
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


def seed_votes(stack: Stack, accounts: list[Any]) -> tuple[int, int]:
    """A proposal opened by the PA and one relayed vote per citizen; waits until the API has indexed them."""
    pid = stack.open_proposal("bench reads")
    for i, citizen in enumerate(accounts):
        stack.wait_tx(stack.anon.vote(citizen, pid, i % 3).txHash)
    stack.wait_indexed(stack.w3.eth.block_number)
    indexed = len(stack.anon.proposal_votes(pid))
    if indexed != len(accounts):
        raise SystemExit(f"the API indexed {indexed} votes on proposal {pid}; {len(accounts)} were cast")
    return pid, indexed


def measure_group(label: str, base_url: str, mix: list[tuple[str, str]], total: int,
                  concurrency: int) -> list[ReadGroup]:
    """``total`` GETs cycling through ``mix`` (label, path) with ``concurrency`` in flight, after a warm-up.

    Returns the whole run first, then one group per path: each request is also timed around its own call,
    so a mixed run still gives per-endpoint percentiles under the mixed load.
    """
    paths = [path for _, path in mix]
    per_path: list[list[float]] = [[] for _ in paths]
    failed = [0] * len(paths)

    async def get(client: httpx.AsyncClient, i: int) -> httpx.Response:
        t0 = time.perf_counter()
        response = await client.get(paths[i % len(paths)])
        per_path[i % len(paths)].append(time.perf_counter() - t0)
        failed[i % len(paths)] += response.status_code >= 400
        return response

    asyncio.run(apib.load(get, base_url, min(100, total), concurrency))  # warm-up: connections, caches
    for timings in per_path:
        timings.clear()
    failed[:] = [0] * len(paths)
    latencies, wall, errors = asyncio.run(apib.load(get, base_url, total, concurrency))
    return [ReadGroup(label, latencies, wall, errors),
            *(ReadGroup(name, lat, wall, err) for (name, _), lat, err in zip(mix, per_path, failed, strict=True))]


def measure_node_read(url: str, governance: Any, pid: int, total: int, concurrency: int) -> ReadGroup:
    """The node baseline: ``eth_call CO3Governance.state(pid)`` through the same load helper."""
    call = {"to": governance.address, "data": governance.encode_abi("state", [pid])}

    def post(client: httpx.AsyncClient, i: int) -> Any:
        return client.post("/", json={"jsonrpc": "2.0", "id": i, "method": "eth_call", "params": [call, "latest"]})

    asyncio.run(apib.load(post, url, min(100, total), concurrency))
    latencies, wall, errors = asyncio.run(apib.load(post, url, total, concurrency))
    return ReadGroup("node eth_call state(proposal)", latencies, wall, errors)


def run_reads(stack: Stack, accounts: list[Any], total: int, concurrency: int) -> ReadResult:
    """Seed a voted proposal, then the ``bench/api_latency.py`` read mix and the node baseline."""
    pid, votes = seed_votes(stack, accounts)
    mix = [("GET /v1/proposals/{id} (live)", f"/v1/proposals/{pid}"),
           ("GET /v1/citizens/{address}", f"/v1/citizens/{accounts[0].address}"),
           ("GET /v1/proposals/{id}/votes (index)", f"/v1/proposals/{pid}/votes"),
           ("GET /v1/areas (index)", "/v1/areas"), ("GET /v1/health", "/v1/health")]
    api, *groups = measure_group("API mixed reads (all of the below)", stack.api.url, mix, total, concurrency)
    node = measure_node_read(stack.node.url, stack.contracts["CO3Governance"], pid, max(1, total // 2), concurrency)
    return ReadResult(api, groups, node, votes)


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
    ap.add_argument("--api-requests", type=int, default=1000, help="API reads in the latency phase")
    ap.add_argument("--api-concurrency", type=int, default=32, help="API reads in flight")
    ap.add_argument("--txs", type=int, default=3000, help="ERC-20 transfers for the raw rate")
    ap.add_argument("--senders", type=int, default=50, help="ERC-20 sending accounts")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the check-ins")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs, databases)")
    args = ap.parse_args()
    if min(args.events, args.citizens, args.txs, args.senders, args.concurrency, args.batch_size,
           args.api_requests, args.api_concurrency) < 1:
        ap.error("every count must be at least 1")

    workdir = Path(tempfile.mkdtemp(prefix="co3-e2e-bench-"))
    txpool = (f"[txpool]\nmax_per_sender = {max(64, args.txs // args.senders + 8)}\n"
              f"max_total = {max(8192, args.txs * 2)}\n")
    t_start = time.perf_counter()
    try:
        print("starting node, deploying the suite, API and 3 oracle operators …", flush=True)
        with running_stack(workdir, batch_size=args.batch_size, node_config_extra=txpool) as stack:
            print(f"stack up in {time.perf_counter() - t_start:.0f} s; posting {args.events} check-ins …", flush=True)
            accounts = register_citizens(stack, args.citizens)
            ci = run_checkins(stack, accounts, args.events, args.concurrency, args.timeout)
            print(f"seeding a proposal with {args.citizens} votes, then {args.api_requests} API reads "
                  f"({args.api_concurrency} in flight) …", flush=True)
            reads = run_reads(stack, accounts, args.api_requests, args.api_concurrency)
            print(f"sending {args.txs} ERC-20 transfers to the same node …", flush=True)
            erc = run_erc20(stack.node.url, args.txs, args.senders, args.concurrency)
    finally:
        if args.keep:
            print(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    print(f"\nOne co3chain node (1 validator, 1 s blocks), 2-of-3 oracle, API, everything on this machine "
          f"({time.perf_counter() - t_start:.0f} s total)")
    print(f"  check-ins: {ci.confirmed}/{ci.events} confirmed, {ci.rejected} rejected, in {ci.total_seconds:.2f} s; "
          f"webhook ingest {ci.events / ci.ingest_seconds:.1f}/s; {ci.transactions} submitBatch txs, "
          f"{(ci.gas / ci.confirmed if ci.confirmed else 0):,.0f} gas/attestation")
    print(f"  API reads ({reads.votes} votes indexed, {args.api_concurrency} in flight, one mixed run; "
          f"req/s = that endpoint's share of it):")
    for g in [reads.api, *reads.groups, reads.node]:
        print(f"    {g.label:<38} p50 {g.p(.5):7.1f} ms  p95 {g.p(.95):7.1f} ms  {g.rate:7.1f} req/s  "
              f"errors {g.errors}")
    print(f"  ERC-20: {erc.txs} txs in {erc.seconds:.2f} s, {erc.blocks} blocks, {erc.failed} rejected, "
          f"inclusion p50 {erc.p50 * 1000:.0f} ms, p95 {erc.p95 * 1000:.0f} ms")

    node_p50 = reads.node.p(.5)
    rows = [
        ("check-ins → on-chain attestation", f"{ci.rate:8.1f} /s", f"{ci.rate / erc.tps:6.3f} × raw tx/s"),
        ("API reads (mix)", f"{reads.api.rate:8.1f} req/s", f"{reads.api.rate / erc.tps:6.3f} × raw tx/s"),
        ("API read p50", f"{reads.api.p(.5):8.1f} ms",
         f"{reads.api.p(.5) / node_p50:6.2f} × node eth_call p50 ({node_p50:.1f} ms)"),
        ("API read p95", f"{reads.api.p(.95):8.1f} ms",
         f"{reads.api.p(.95) / reads.node.p(.95):6.2f} × node eth_call p95 ({reads.node.p(.95):.1f} ms)"),
        ("raw ERC-20 transfers (node)", f"{erc.tps:8.1f} tx/s", "1.000"),
    ]
    print("\n  summary                            value           ratio")
    for label, value, ratio in rows:
        print(f"  {label:<34} {value:<15} {ratio}")
    if ci.confirmed != ci.events or erc.failed or reads.api.errors or reads.node.errors:
        raise SystemExit("not every check-in was confirmed, some transfers were rejected or some reads failed "
                         "(see --keep logs)")


if __name__ == "__main__":
    main()
