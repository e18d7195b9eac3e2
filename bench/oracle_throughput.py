"""Oracle throughput on anvil: AR check-ins per second from webhook to confirmed on-chain attestation.

Usage: ``.venv/bin/python bench/oracle_throughput.py [--events 200] [--batch-size 25] [--concurrency 8]``

Setup: a fresh anvil (cancun, automine), the reward suite deployed (hub with 3 signers, threshold 2), and
three real ``co3chain oracle run`` processes on this machine — a lead (webhooks, submitter) and two
co-signers reached over HTTP, each validating every event independently against the chain.  ``--events``
check-ins of one registered citizen are posted concurrently, each HMAC-signed and device-signed.

Reported: webhook ingest rate (202s per second), end-to-end rate (first POST → last attestation confirmed),
transactions used and gas per attestation.  All processes share the machine's cores with anvil, so this is
a lower bound for operators on separate machines.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.oracle.chain_helpers import anvil_node  # noqa: E402
from tests.oracle.cluster import Cluster, deploy_for_oracle  # noqa: E402
from tests.oracle.helpers import checkin_body, domain_of  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=25)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()

    with anvil_node() as url, tempfile.TemporaryDirectory() as tmp:
        print(f"anvil at {url}; deploying the reward suite …", flush=True)
        suite = deploy_for_oracle(url)
        cluster = Cluster.create(Path(tmp), url, suite, batch_size=args.batch_size)
        try:
            cluster.start_all()
            now = int(suite.w3.eth.get_block("latest")["timestamp"])
            bodies = [checkin_body(f"bench-{i}", timestamp=now - 30 + (i % 20), **domain_of(suite))
                      for i in range(args.events)]
            start_block = suite.w3.eth.block_number
            client = httpx.Client(timeout=60, limits=httpx.Limits(max_connections=args.concurrency))
            t0 = time.perf_counter()
            with cf.ThreadPoolExecutor(args.concurrency) as pool:
                codes = list(pool.map(lambda b: cluster.post_checkin(b, client).status_code, bodies))
            t_ingest = time.perf_counter() - t0
            if codes.count(202) != args.events:
                raise SystemExit(f"webhook answered {sorted(set(codes))}; expected 202 for all")
            status: dict = {}
            while time.perf_counter() - t0 < args.timeout:
                status = httpx.get(cluster.lead.url + "/oracle/v1/status", timeout=10).json()
                if status["queue"]["confirmed"] + status["rejected"] >= args.events:
                    break
                time.sleep(0.1)
            t_total = time.perf_counter() - t0
            confirmed, rejected = status["queue"]["confirmed"], status["rejected"]
            end_block = suite.w3.eth.block_number
            gas = txs = 0
            for n in range(start_block + 1, end_block + 1):
                block = suite.w3.eth.get_block(n, full_transactions=True)
                for tx in block["transactions"]:
                    if tx["to"] == suite.hub.address:
                        txs += 1
                        gas += suite.w3.eth.get_transaction_receipt(tx["hash"])["gasUsed"]
        finally:
            cluster.stop_all()

    print(f"events: {args.events}  confirmed: {confirmed}  rejected: {rejected}")
    print(f"webhook ingest: {args.events / t_ingest:.1f} check-ins/s ({t_ingest:.2f} s)")
    print(f"webhook → on-chain attestation: {confirmed / t_total:.1f} check-ins/s ({t_total:.2f} s)")
    if confirmed:
        print(f"submitBatch transactions: {txs}; gas per attestation: {gas / confirmed:,.0f}")
    if confirmed != args.events:
        raise SystemExit("not every check-in was confirmed (see the oracle logs)")


if __name__ == "__main__":
    main()
