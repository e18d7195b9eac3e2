"""API read latency under concurrent load, beside the node's raw JSON-RPC latency from the same run.

Usage: ``.venv/bin/python bench/api_latency.py [--requests 2000] [--concurrency 32] [--voters 10]``

Setup: a fresh anvil (cancun, automine) with the CO3 suite deployed, ``co3chain api serve`` as its own
process (indexer running), seeded through the API itself: citizens, an area with GeoJSON, a proposal and
relayed votes. Then an ``httpx.AsyncClient`` keeps ``--concurrency`` requests in flight over a mix of
reads (proposal with live state/results, citizen view, proposal votes from the index, area list, health).
The node figure is measured the same way (same client, same concurrency) with the ``eth_call`` the API
needs most (``CO3Governance.state``) and ``eth_blockNumber``, straight to anvil.

Reported per endpoint group: p50, p95, p99 latency (ms) and requests/s. Everything shares this machine's
cores (anvil, the API process, the load generator), so absolute numbers are pessimistic; the ratio
API/node shows the API's own overhead (HTTP + validation + the several contract calls per request).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from eth_account import Account  # noqa: E402
from eth_utils import keccak  # noqa: E402
from web3 import Web3  # noqa: E402

from co3chain.contracts.deploy import ArtifactSet  # noqa: E402
from co3chain.sdk import Client  # noqa: E402
from tests.api.helpers import PARK  # noqa: E402
from tests.api.live import anvil, api_process, deploy_on  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


async def load(make_request: Callable[[httpx.AsyncClient, int], Any], base_url: str, total: int,
               concurrency: int) -> tuple[list[float], float, int]:
    """Run ``total`` requests with ``concurrency`` in flight; returns latencies (s), wall time, errors."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:

        async def worker() -> None:
            nonlocal errors
            for i in counter:
                t0 = time.perf_counter()
                response = await make_request(client, i)
                latencies.append(time.perf_counter() - t0)
                if response.status_code >= 400:
                    errors += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - start
    return latencies, wall, errors


def report(label: str, latencies: list[float], wall: float, errors: int) -> None:
    ms = [x * 1000 for x in latencies]
    print(f"  {label:<34} p50 {percentile(ms, .5):7.2f} ms   p95 {percentile(ms, .95):7.2f} ms   "
          f"p99 {percentile(ms, .99):7.2f} ms   mean {statistics.fmean(ms):7.2f} ms   "
          f"{len(ms) / wall:8.1f} req/s   errors {errors}")


def seed(url: str, pa_key: str, w3: Web3, voters: int) -> tuple[str, list[str]]:
    """Citizens, an area, a proposal and relayed votes, all through the API."""
    pa, anon = Client(url, api_key=pa_key), Client(url)
    citizens = [Account.from_key(keccak(text=f"bench citizen {i}")) for i in range(voters)]
    for c in citizens:
        anon.wait_for_tx(pa.register_citizen(c.address, keccak(text=c.address), 2**40).txHash)
    anon.wait_for_tx(pa.create_area(PARK, "ipfs://park").txHash)
    now = int(w3.eth.get_block("latest")["timestamp"])
    created = pa.create_proposal(description="Bench ballot", vote_start=now + 2, vote_end=now + 10**6)
    anon.wait_for_tx(created.txHash)
    w3.provider.make_request("evm_increaseTime", [5])
    w3.provider.make_request("evm_mine", [])
    for i, c in enumerate(citizens):
        anon.wait_for_tx(anon.vote(c, created.proposalId, i % 3).txHash)
    head = w3.eth.block_number
    while (anon.health().indexedBlock or 0) < head:
        time.sleep(0.1)
    return created.proposalId, [c.address for c in citizens]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per measured group")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--voters", type=int, default=10)
    args = parser.parse_args()

    artifacts = ArtifactSet.committed()
    with anvil() as rpc_url, tempfile.TemporaryDirectory() as tmp:
        w3, manifest = deploy_on(rpc_url, artifacts)
        with api_process(Path(tmp), rpc_url, manifest) as (url, pa_key):
            pid, citizens = seed(url, pa_key, w3, args.voters)
            gov = w3.eth.contract(address=manifest["contracts"]["CO3Governance"]["address"],
                                  abi=artifacts.artifact("CO3Governance")["abi"])
            state_call = {"to": gov.address, "data": gov.encode_abi("state", [int(pid)])}

            def rpc(method: str, params: list[Any]) -> Callable[[httpx.AsyncClient, int], Any]:
                return lambda client, i: client.post("/", json={"jsonrpc": "2.0", "id": i, "method": method,
                                                                "params": params})

            def get(path: Callable[[int], str]) -> Callable[[httpx.AsyncClient, int], Any]:
                return lambda client, i: client.get(path(i))

            api_mix = [
                f"/v1/proposals/{pid}", f"/v1/citizens/{citizens[0]}", f"/v1/proposals/{pid}/votes", "/v1/areas",
                "/v1/health",
            ]
            groups: list[tuple[str, str, Callable[[httpx.AsyncClient, int], Any]]] = [
                ("node eth_blockNumber", rpc_url, rpc("eth_blockNumber", [])),
                ("node eth_call state(proposal)", rpc_url, rpc("eth_call", [state_call, "latest"])),
                ("api GET /v1/health", url, get(lambda i: "/v1/health")),
                ("api GET /v1/areas (index)", url, get(lambda i: "/v1/areas")),
                ("api GET /v1/proposals/{id}/votes", url, get(lambda i: f"/v1/proposals/{pid}/votes")),
                ("api GET /v1/proposals/{id} (live)", url, get(lambda i: f"/v1/proposals/{pid}")),
                ("api GET /v1/citizens/{address}", url, get(lambda i: f"/v1/citizens/{citizens[i % len(citizens)]}")),
                ("api mixed reads", url, get(lambda i: api_mix[i % len(api_mix)])),
            ]
            print(f"co3chain API read latency: {args.requests} requests per group, concurrency {args.concurrency}, "
                  f"{args.voters} voters indexed (anvil automine, API in its own process)")
            for label, base, make in groups:
                asyncio.run(load(make, base, min(100, args.requests), args.concurrency))  # warm-up
                latencies, wall, errors = asyncio.run(load(make, base, args.requests, args.concurrency))
                report(label, latencies, wall, errors)


if __name__ == "__main__":
    main()
