"""Block production and honest-request latency of a real node under each attack of issue 17, side by side
with no attack.

One ``co3chain node start`` subprocess (``network init``, 1 validator, block period 1 s, loopback). For each
scenario the attackers run in threads for ``--seconds`` while the probe counts blocks sealed in the window
and times an honest ``eth_getBalance`` every 0.2 s; the node's RSS is sampled too. Scenarios:

* ``none``            — baseline
* ``rlp-bomb``        — 2 clients looping ``eth_sendRawTransaction 0x + c1×100000``
* ``eth-call``        — 6 clients looping a 50M-gas ``eth_call`` that spins until out of gas
* ``pool-fill``       — 2 clients sending nonce-gap transactions from fresh keys
* ``ws-stall``        — 2 WebSocket clients subscribing and requesting 1 MiB answers, never reading
* ``slow-loris``      — 300 HTTP connections that never finish their headers
* ``p2p-handshake``   — 64 silent connections to the p2p port from 16 loopback addresses

    .venv/bin/python bench/attack_liveness.py [--seconds 15] [--only rlp-bomb,eth-call] [--json out.json]

Done means (issue 17): ≥ 75 % of block slots filled and every honest request answered under each attack.
Figures depend on the machine (2 shared cores here); compare the rows, not absolute numbers.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.hostile import attacks as A  # noqa: E402
from tests.node.procs import make_network  # noqa: E402

Scenario = Callable[[str, str, int], list[Callable[[threading.Event], None]]]


def _scenarios() -> dict[str, Scenario]:
    return {
        "none": lambda url, host, p2p: [],
        "rlp-bomb": lambda url, host, p2p: [lambda s: A.rlp_bomb(url, s) for _ in range(2)],
        "eth-call": lambda url, host, p2p: [lambda s: A.call_flood(url, s) for _ in range(6)],
        "pool-fill": lambda url, host, p2p: [lambda s, i=i: A.pool_fill(url, s, seed=f"bench{i}-")
                                             for i in range(2)],
        "ws-stall": lambda url, host, p2p: [lambda s: A.ws_stall(url, s) for _ in range(2)],
        "slow-loris": lambda url, host, p2p: [lambda s: A.slow_loris(url, s)],
        "p2p-handshake": lambda url, host, p2p: [lambda s: A.handshake_hold(host, p2p, s)],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=15.0, help="measured window per scenario")
    ap.add_argument("--only", default="", help="comma-separated scenario names (default: all)")
    ap.add_argument("--json", dest="json_path", type=Path, default=None, help="write the rows as JSON here")
    args = ap.parse_args()
    scenarios = _scenarios()
    names = [n for n in args.only.split(",") if n] or list(scenarios)
    unknown = [n for n in names if n not in scenarios]
    if unknown:
        ap.error(f"unknown scenario(s): {', '.join(unknown)}; known: {', '.join(scenarios)}")
    if "none" not in names:
        names.insert(0, "none")

    rows = []
    with tempfile.TemporaryDirectory(prefix="co3-attack-") as tmp:
        node, _ = make_network(Path(tmp))
        node.start()
        try:
            node.wait_height(2)
            import tomllib

            cfg = tomllib.loads(node.config.read_text())
            p2p_port = int(cfg["p2p"]["port"])
            assert node.proc is not None
            for name in names:
                print(f"running {name} for {args.seconds:.0f} s ...", file=sys.stderr, flush=True)
                res = A.measure(node.url, scenarios[name](node.url, "127.0.0.1", p2p_port), args.seconds,
                                pid=node.proc.pid)
                rows.append({
                    "scenario": name, "blocks": res.blocks, "slots": res.slots,
                    "block_share": round(res.block_share, 3),
                    "honest_ok": len(res.honest_latencies), "honest_failed": res.honest_failures,
                    "p50_ms": round(res.p50_ms, 1), "max_ms": round(res.max_ms, 1),
                    "rss_mb_max": round(res.rss_mb_max, 1),
                    "pass": res.block_share >= 0.75 and res.honest_failures == 0,
                })
        finally:
            node.terminate()

    print(f"{'scenario':<15}{'blocks/slots':>13}{'share':>7}{'honest ok/fail':>16}{'p50 ms':>9}{'max ms':>9}"
          f"{'RSS MiB':>9}  verdict")
    for r in rows:
        print(f"{r['scenario']:<15}{r['blocks']:>6}/{r['slots']:<6}{r['block_share']:>7.0%}"
              f"{r['honest_ok']:>9}/{r['honest_failed']:<6}{r['p50_ms']:>9.1f}{r['max_ms']:>9.1f}"
              f"{r['rss_mb_max']:>9.1f}  {'ok' if r['pass'] else 'FAIL'}")
    if args.json_path is not None:
        args.json_path.write_text(json.dumps(rows, indent=2))
    return 0 if all(r["pass"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
