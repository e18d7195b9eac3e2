"""Block production and honest-request latency of real nodes under each attack of issue 17, side by side
with no attack.

Two set-ups (loopback, block period 1 s):

* ``--validators 1`` — one ``co3chain node start`` subprocess (``network init``); every attack hits it;
* ``--validators 4`` (default) — a 4-validator network (``co3chain.node.localnet``, one process per PA) and
  every attack runs against ``--attacked`` of them at once (default 2: more than QBFT's one tolerated
  fault, the case that stopped the network before the fixes).

For each scenario the attackers run in threads for ``--seconds`` while the probe counts blocks finalized in
the window (on the first attacked node) and times an honest ``eth_getBalance`` every 0.2 s, round-robin
over the attacked nodes; their RSS is sampled too. Per attacked node:

* ``none``            — baseline
* ``rlp-bomb``        — 2 clients looping ``eth_sendRawTransaction 0x + c1×100000``
* ``eth-call``        — 6 clients looping a 50M-gas ``eth_call`` that spins until out of gas
* ``pool-fill``       — 2 clients sending nonce-gap transactions from fresh keys
* ``ws-stall``        — 2 WebSocket clients subscribing and requesting 1 MiB answers, never reading
* ``slow-loris``      — 200 HTTP connections that never finish their headers
* ``p2p-handshake``   — 64 silent connections to the p2p port from 16 loopback addresses

After the last scenario ``co3chain audit chain`` runs against every node (verdict in the last column).

    .venv/bin/python bench/attack_liveness.py [--validators 4] [--attacked 2] [--seconds 15]
                                              [--only rlp-bomb,eth-call] [--json out.json]

Done means (issue 17): ≥ 75 % of block slots filled and every honest request answered under each attack,
and the audit passes on every node. Figures depend on the machine (2 shared cores here); compare the rows,
not absolute numbers.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.hostile import attacks as A  # noqa: E402


def _audit(rpc: str, genesis: Path, last: int) -> bool:
    out = subprocess.run([sys.executable, "-m", "co3chain.cli", "audit", "chain", "--rpc", rpc, "--genesis",
                          str(genesis), "--to", str(last), "--no-progress", "--quiet"],
                         capture_output=True, text=True, timeout=600)
    return out.returncode == 0


def _run(names: list[str], seconds: float, targets: list[tuple[str, int]], pids: list[int], chain_id: int
         ) -> list[dict[str, Any]]:
    rows = []
    for name in names:
        print(f"running {name} for {seconds:.0f} s against {len(targets)} node(s) ...", file=sys.stderr, flush=True)
        res = A.measure([u for u, _ in targets], A.scenario_attacks(name, targets, chain_id), seconds, pid=pids)
        rows.append({
            "scenario": name, "blocks": res.blocks, "slots": res.slots, "block_share": round(res.block_share, 3),
            "honest_ok": len(res.honest_latencies), "honest_failed": res.honest_failures,
            "p50_ms": round(res.p50_ms, 1), "max_ms": round(res.max_ms, 1), "rss_mb_max": round(res.rss_mb_max, 1),
            "pass": res.block_share >= 0.75 and res.honest_failures == 0,
        })
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--validators", type=int, choices=(1, 4), default=4, help="1 node, or a 4-validator network")
    ap.add_argument("--attacked", type=int, default=2, help="attacked validators of the 4 (default 2)")
    ap.add_argument("--seconds", type=float, default=15.0, help="measured window per scenario")
    ap.add_argument("--only", default="", help="comma-separated scenario names (default: all)")
    ap.add_argument("--json", dest="json_path", type=Path, default=None, help="write the rows as JSON here")
    args = ap.parse_args()
    names = [n for n in args.only.split(",") if n] or list(A.SCENARIOS)
    unknown = [n for n in names if n not in A.SCENARIOS]
    if unknown:
        ap.error(f"unknown scenario(s): {', '.join(unknown)}; known: {', '.join(A.SCENARIOS)}")
    if not 1 <= args.attacked <= 4:
        ap.error("--attacked must be 1..4")
    if "none" not in names:
        names.insert(0, "none")

    with tempfile.TemporaryDirectory(prefix="co3-attack-") as tmp:
        if args.validators == 1:
            from tests.node.procs import make_network

            node, _ = make_network(Path(tmp))
            node.start()
            try:
                node.wait_height(2)
                assert node.proc is not None
                p2p = int(tomllib.loads(node.config.read_text())["p2p"]["port"])
                rows = _run(names, args.seconds, [(node.url, p2p)], [node.proc.pid], 1999)
                last = A.block_number(node.url)
                audits = [_audit(node.url, Path(tmp) / "net" / "genesis.json", last)]
            finally:
                node.terminate()
        else:
            from tests.network.netutil import Network

            net = Network(Path(tmp) / "net", 4)
            try:
                net.start_all()
                net.wait_height([0, 1, 2, 3], 2)
                attacked = list(range(args.attacked))
                targets = [(net.nodes[i].rpc, net.p2p_base + i) for i in attacked]
                pids = [p for p in (net.nodes[i].pid() for i in attacked) if p is not None]
                rows = _run(names, args.seconds, targets, pids, 4242)
                last = min(net.height(i) for i in range(4))
                audits = [_audit(n.rpc, net.root / "genesis.json", last) for n in net.nodes]
            finally:
                net.stop_all()

    setup = "1 validator" if args.validators == 1 else f"{args.attacked} of 4 validators attacked"
    print(f"{setup}, {args.seconds:.0f} s per scenario")
    print(f"{'scenario':<15}{'blocks/slots':>13}{'share':>7}{'honest ok/fail':>16}{'p50 ms':>9}{'max ms':>9}"
          f"{'RSS MiB':>9}  verdict")
    for r in rows:
        print(f"{r['scenario']:<15}{r['blocks']:>6}/{r['slots']:<6}{r['block_share']:>7.0%}"
              f"{r['honest_ok']:>9}/{r['honest_failed']:<6}{r['p50_ms']:>9.1f}{r['max_ms']:>9.1f}"
              f"{r['rss_mb_max']:>9.1f}  {'ok' if r['pass'] else 'FAIL'}")
    print(f"audit chain afterwards: {sum(audits)}/{len(audits)} node(s) pass")
    if args.json_path is not None:
        args.json_path.write_text(json.dumps({"setup": setup, "rows": rows, "audit_pass": audits}, indent=2))
    return 0 if all(r["pass"] for r in rows) and all(audits) else 1


if __name__ == "__main__":
    raise SystemExit(main())
