"""ERC-20 transfers per second through JSON-RPC on one co3chain node, and the same workload on anvil.

Workload: an OpenZeppelin ERC20 (bench-local, solc 0.8.30 via the project's compiler driver) minted to
``--senders`` accounts; ``--txs`` transfers between them are pre-signed (legacy, EIP-155) and sent with
``eth_sendRawTransaction`` by ``--concurrency`` concurrent HTTP clients. A watcher follows new blocks
and records when each transaction is first seen in a block. Reported per chain: sustained throughput
(txs / (last inclusion - first submission)), p50/p95 submit→included latency; then the ratio.

co3chain runs as a real ``co3chain node start`` subprocess (``network init``, 1 validator,
block period 1 s); anvil runs with ``--block-time 1 --hardfork cancun`` so both seal once per second, and
both have the same block gas limit (``BLOCK_GAS_LIMIT``, 1e9).

    .venv/bin/python bench/rpc_throughput.py [--txs 3000] [--senders 100] [--concurrency 16] [--rate 0] [--no-anvil]
        [--engine revm|py-evm] [--breakdown] [--pyspy DIR [--pyspy-gil] [--pyspy-native]] [--perf]

``--breakdown`` adds, for each chain, user vs system CPU, context switches per transaction and CPU per
thread (the node names its OS threads: ``loop``, ``tx-intake``, ``node-worker``...); ``--pyspy`` records
the node's stacks during the load and ``--perf`` runs ``perf stat`` on it (docs/performance.md, session 5).
Run it from the tree you measure (``python -m`` puts the current directory before ``PYTHONPATH``).

Both chains get the same load and the same polling: one watcher asks ``eth_getBlockByNumber`` for the
next block (every 50 ms until it exists); no per-transaction receipt polling on either.

Unthrottled (default) measures the maximum sustained rate: the whole batch is offered at once, so the
latency figures then include queueing behind earlier blocks. ``--rate R`` offers R tx/s (open loop) and
measures latency at that load.

The node's CPU time per transaction (``/proc``) is printed for both chains: on a shared machine it is
the load-robust figure for comparing two versions of the node. A second line per chain says how long
submission took, how busy the node (and the load generator) were meanwhile and when each block was seen:
at a few thousand transactions the throughput figure mostly measures how many 1-second slots the batch
spans (docs/performance.md, "Session 6: request path").

Measured 2026-12-02 on the 2 shared cores (load average 10-15 from other jobs: absolute figures are low
and noisy), 3,000 transfers, nine side-by-side runs: co3chain 211-765 tx/s against anvil 899-2,442 tx/s,
ratio 0.15-0.70 (final code: 0.47, 0.28, 0.61); node CPU ~815-835 µs per transaction with the final code
(the tree before issue 18's single-node work: ~1,100-1,360 µs), anvil ~200 µs. Profile, history and the
reasons behind the remaining gap: docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

REPO = Path(__file__).resolve().parent.parent
#: the node runs under this interpreter (whichever venv runs the benchmark; PYTHONPATH picks the tree)
CO3 = [sys.executable, "-m", "co3chain.cli"]
ANVIL = REPO / "node_modules" / ".bin" / "anvil"

TOKEN_SOURCE = """// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Benchmark token: OpenZeppelin ERC20 minted to a list of holders at deployment.
contract BenchToken is ERC20 {
    constructor(address[] memory holders, uint256 amount) ERC20("Bench", "BNC") {
        for (uint256 i = 0; i < holders.length; i++) {
            _mint(holders[i], amount);
        }
    }
}
"""


def compile_token() -> bytes:
    from co3chain.contracts.compiler import collect_sources, run_solcjs, standard_json_input

    sources = collect_sources(REPO, ["@openzeppelin/contracts/token/ERC20/ERC20.sol"])
    sources["bench/BenchToken.sol"] = TOKEN_SOURCE
    out = run_solcjs(standard_json_input(sources))
    return bytes.fromhex(out["contracts"]["bench/BenchToken.sol"]["BenchToken"]["evm"]["bytecode"]["object"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rpc(url: str, method: str, *params: Any) -> Any:
    r = httpx.post(
        url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}, timeout=60
    )
    body = r.json()
    if "error" in body:
        raise RuntimeError(f"{method}: {body['error']}")
    return body["result"]


def wait_rpc(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"node exited with {proc.returncode}")
        try:
            rpc(url, "eth_blockNumber")
            return
        except (httpx.HTTPError, RuntimeError):
            time.sleep(0.2)
    raise RuntimeError(f"RPC at {url} did not come up")


def wait_receipt(url: str, tx_hash: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = rpc(url, "eth_getTransactionReceipt", tx_hash)
        if r is not None:
            return r
        time.sleep(0.2)
    raise RuntimeError(f"tx {tx_hash} not mined")


@dataclass
class Result:
    name: str
    txs: int
    seconds: float
    p50: float
    p95: float
    blocks: int
    failed: int
    #: CPU seconds the node process used during the load (user + system), None where unreadable
    cpu: float | None = None
    #: ``--breakdown``: lines describing where the node's CPU went
    breakdown: list[str] | None = None
    #: seconds from the first submission to the last answer (all transactions handed over)
    submit_seconds: float | None = None
    #: CPU seconds the node used during those ``submit_seconds``
    submit_cpu: float | None = None
    #: seconds after the first submission at which each block with workload transactions was seen
    block_offsets: list[float] | None = None
    #: CPU seconds the load generator (this process) used during ``submit_seconds``
    client_cpu: float | None = None

    @property
    def tps(self) -> float:
        return self.txs / self.seconds

    @property
    def cpu_us_per_tx(self) -> float | None:
        return None if self.cpu is None or not self.txs else self.cpu / self.txs * 1e6


def process_cpu(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` (Linux ``/proc``), ``None`` elsewhere.

    Why: on a shared machine wall-clock throughput moves with other people's load; the node's own CPU
    per transaction moves much less and says how much work each transaction costs.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class ProcSnapshot:
    """What ``/proc`` says about a process at one instant: CPU split, context switches, per-thread CPU."""

    user: float
    system: float
    voluntary: int
    involuntary: int
    #: thread id -> (OS thread name, CPU seconds)
    threads: dict[int, tuple[str, float]]


def proc_snapshot(pid: int) -> ProcSnapshot | None:
    """Read ``/proc/<pid>`` (Linux); context switches are summed over the threads (``/proc/<pid>/status``
    alone counts only the main thread's)."""
    tick = os.sysconf("SC_CLK_TCK")
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        threads: dict[int, tuple[str, float]] = {}
        vol = invol = 0
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                st = task.joinpath("stat").read_text()
                status = task.joinpath("status").read_text()
            except OSError:  # the thread ended meanwhile
                continue
            name = st.split("(", 1)[1].rsplit(")", 1)[0]
            tf = st.rsplit(")", 1)[1].split()
            threads[int(task.name)] = (name, (int(tf[11]) + int(tf[12])) / tick)
            for line in status.splitlines():
                if line.startswith("voluntary_ctxt_switches:"):
                    vol += int(line.split()[1])
                elif line.startswith("nonvoluntary_ctxt_switches:"):
                    invol += int(line.split()[1])
    except OSError:
        return None
    return ProcSnapshot(int(fields[11]) / tick, int(fields[12]) / tick, vol, invol, threads)


def breakdown_lines(a: ProcSnapshot, b: ProcSnapshot, txs: int) -> list[str]:
    """Per-transaction figures between two snapshots: user/system CPU, context switches, busiest threads
    (threads of one name, e.g. executor workers, are added together)."""
    per = 1e6 / max(1, txs)
    out = [
        f"    user {(b.user - a.user) * per:.0f} µs/tx, system {(b.system - a.system) * per:.0f} µs/tx; "
        f"context switches per tx: voluntary {(b.voluntary - a.voluntary) / max(1, txs):.2f}, "
        f"involuntary {(b.involuntary - a.involuntary) / max(1, txs):.2f}"
    ]
    by_name: dict[str, float] = {}
    for tid, (name, cpu) in b.threads.items():
        base = a.threads.get(tid, (name, 0.0))[1]
        key = name.rstrip("0123456789").rstrip("_-") or name
        by_name[key] = by_name.get(key, 0.0) + cpu - base
    for name, cpu in sorted(by_name.items(), key=lambda kv: -kv[1]):
        if cpu > 0:
            out.append(f"    thread {name:16s} {cpu * per:6.0f} µs/tx")
    return out


@contextlib.contextmanager
def profiled(pid: int, args: argparse.Namespace, label: str) -> Any:
    """While the load runs: optional py-spy (``--pyspy DIR``: raw stacks, idle excluded, one run plain,
    ``--pyspy-gil`` only GIL holders, ``--pyspy-native`` with native frames) and ``perf stat``."""
    procs = []
    if args.pyspy:
        out = Path(args.pyspy) / f"{label}.txt"
        cmd = [args.pyspy_bin, "record", "--pid", str(pid), "-f", "raw", "-o", str(out), "-r", "200",
               "-d", str(args.pyspy_seconds), "--nonblocking", "--threads"]
        if args.pyspy_gil:
            cmd.append("--gil")
        if args.pyspy_native:
            cmd = [c for c in cmd if c != "--nonblocking"] + ["--native"]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    if args.perf:
        perf_out = Path(tempfile.gettempdir()) / f"co3bench-perf-{label}-{os.getpid()}.txt"
        procs.append(subprocess.Popen(
            ["perf", "stat", "-e", "instructions,cycles,task-clock,context-switches", "-p", str(pid),
             "-o", str(perf_out)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        yield
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(30)
        if args.perf:
            with contextlib.suppress(OSError):
                print(f"  perf stat ({label}):\n" + perf_out.read_text().strip(), file=sys.stderr)


def make_accounts(n: int) -> list[Any]:
    return [Account.from_key(bytes.fromhex(f"{i + 1:064x}")) for i in range(n)]


def sign_workload(
    accounts: list[Any], token: str, chain_id: int, gas_price: int, total: int, first_nonce: dict[str, int]
) -> list[tuple[str, str]]:
    """``total`` transfers round-robin over senders; returns ``(tx_hash, raw_hex)`` in submission order."""
    sel = function_signature_to_4byte_selector("transfer(address,uint256)")
    out = []
    nonces = dict(first_nonce)
    n = len(accounts)
    for i in range(total):
        a = accounts[i % n]
        to = accounts[(i + 1) % n].address
        data = sel + abi_encode(["address", "uint256"], [to, 1])
        tx = {
            "nonce": nonces[a.address],
            "gas": 80_000,
            "gasPrice": gas_price,
            "to": token,
            "value": 0,
            "data": data,
            "chainId": chain_id,
        }
        nonces[a.address] += 1
        signed = a.sign_transaction(tx)
        out.append(("0x" + bytes(signed.hash).hex(), "0x" + bytes(signed.raw_transaction).hex()))
    return out


class FastClient:
    """Minimal keep-alive HTTP/1.1 JSON-RPC client on asyncio streams.

    Why not httpx: on a 2-core machine shared with the node, httpx's per-request CPU (~1 ms) caps the
    load generator below the node's capacity and the benchmark would measure the client.
    """

    def __init__(self, url: str) -> None:
        rest = url.split("://", 1)[1]
        hostport = rest.split("/", 1)[0]
        self.host, port = hostport.rsplit(":", 1)
        self.port = int(port)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def call(self, method: str, params: list[Any]) -> Any:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
        head = (
            f"POST / HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        assert self.reader is not None
        headers = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in headers.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return json.loads(await self.reader.readexactly(length))

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()


async def run_load(
    url: str,
    workload: list[tuple[str, str]],
    concurrency: int,
    rate: float = 0.0,
    on_submitted: Any = None,
) -> tuple[dict[str, float], dict[str, float], int, int]:
    """Send ``workload``; ``on_submitted()`` (optional) is called once every submission was answered."""
    submitted: dict[str, float] = {}
    included: dict[str, float] = {}
    failed = 0
    done = asyncio.Event()
    wanted = {h for h, _ in workload}
    start_block = int(rpc(url, "eth_blockNumber"), 16)
    blocks_seen = 0
    watch_client = FastClient(url)

    async def watch() -> None:
        nonlocal blocks_seen
        n = start_block + 1
        while not done.is_set():
            block = (await watch_client.call("eth_getBlockByNumber", [hex(n), False])).get("result")
            if block is None:
                await asyncio.sleep(0.05)
                continue
            now = time.perf_counter()
            blocks_seen += 1
            for h in block["transactions"]:
                if h in wanted and h not in included:
                    included[h] = now
            if len(included) + failed >= len(workload):
                done.set()
            n += 1

    queue: asyncio.Queue[tuple[int, str, str]] = asyncio.Queue()
    for i, (h, raw) in enumerate(workload):
        queue.put_nowait((i, h, raw))
    t0 = time.perf_counter()

    async def sender() -> None:
        nonlocal failed
        client = FastClient(url)
        try:
            while True:
                try:
                    i, h, raw = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                if rate > 0:  # open-loop pacing: tx i is due at t0 + i / rate
                    delay = t0 + i / rate - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                t = time.perf_counter()
                body = await client.call("eth_sendRawTransaction", [raw])
                if "error" in body:
                    failed += 1
                    print(f"  submit failed: {body['error']}", file=sys.stderr)
                else:
                    submitted[h] = t
        finally:
            await client.close()

    watcher = asyncio.create_task(watch())
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    if on_submitted is not None:
        on_submitted()
    try:
        await asyncio.wait_for(done.wait(), timeout=300)
    finally:
        done.set()
        await watcher
        await watch_client.close()
    return submitted, included, failed, blocks_seen


def summarize(
    name: str,
    submitted: dict[str, float],
    included: dict[str, float],
    failed: int,
    blocks: int,
    cpu0: float | None = None,
    cpu1: float | None = None,
) -> Result:
    lat = sorted(included[h] - submitted[h] for h in included if h in submitted)
    seconds = max(included.values()) - min(submitted.values())
    p95 = lat[min(len(lat) - 1, int(0.95 * len(lat)))]
    cpu = None if cpu0 is None or cpu1 is None else cpu1 - cpu0
    first = min(submitted.values())
    offsets = sorted({round(t - first, 2) for t in included.values()})
    return Result(name, len(included), seconds, statistics.median(lat), p95, blocks, failed, cpu,
                  block_offsets=offsets)


class SubmitClock:
    """Records when the last submission was answered and the node's CPU time at that moment.

    Why: throughput counts until the last *inclusion*, which waits for the next block slot (1 s periods)
    and for whatever the block limits leave to a later block; how fast the node took the transactions
    and how busy it was meanwhile tell request-path limits apart from block-period quantization.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.start = time.perf_counter()
        self.cpu0 = process_cpu(pid)
        self.client0 = time.process_time()
        self.end: float | None = None
        self.cpu1: float | None = None
        self.client1 = 0.0

    def __call__(self) -> None:
        self.end = time.perf_counter()
        self.cpu1 = process_cpu(self.pid)
        self.client1 = time.process_time()

    def fill(self, res: Result, first_submission: float) -> None:
        if self.end is None:
            return
        res.submit_seconds = self.end - first_submission
        res.client_cpu = self.client1 - self.client0
        if self.cpu0 is not None and self.cpu1 is not None:
            res.submit_cpu = self.cpu1 - self.cpu0


def prepare(
    url: str, accounts: list[Any], bytecode: bytes, gas_price: int
) -> tuple[str, int, dict[str, int]]:
    chain_id = int(rpc(url, "eth_chainId"), 16)
    deployer = accounts[0]
    ctor = abi_encode(["address[]", "uint256"], [[a.address for a in accounts], 10**24])
    nonce = int(rpc(url, "eth_getTransactionCount", deployer.address, "pending"), 16)
    tx = {
        "nonce": nonce,
        "gas": 8_000_000,
        "gasPrice": gas_price,
        "data": bytecode + ctor,
        "value": 0,
        "chainId": chain_id,
    }
    signed = deployer.sign_transaction(tx)
    h = rpc(url, "eth_sendRawTransaction", "0x" + bytes(signed.raw_transaction).hex())
    receipt = wait_receipt(url, h)
    if receipt["status"] != "0x1":
        raise RuntimeError("token deployment failed")
    token = to_checksum_address(receipt["contractAddress"])
    nonces = {a.address: int(rpc(url, "eth_getTransactionCount", a.address, "pending"), 16) for a in accounts}
    return token, chain_id, nonces


#: block gas limit of both chains. Why equal: with 1 s blocks a batch is finalized in whole blocks, so a
#: chain allowed 10x the gas per block (anvil had 1e9, co3chain its 1e8 default until 2026-12-02) measured
#: a different block size, not a faster node. 1e9 holds ~28,000 ERC-20 transfers: neither chain is capped.
BLOCK_GAS_LIMIT = 1_000_000_000


def bench_co3chain(accounts: list[Any], bytecode: bytes, args: argparse.Namespace, workdir: Path) -> Result:
    port = free_port()
    net = workdir / "net"
    alloc = [f"--alloc={a.address}={10**24}" for a in accounts]
    subprocess.run(
        [
            *CO3,
            "network",
            "init",
            "--validators",
            "1",
            "--chain-id",
            "31337",
            "--out",
            str(net),
            "--rpc-port",
            str(port),
            "--p2p-port",  # a free one: two benchmark runs (or a local network) must not collide on 30303
            str(free_port()),
            "--gas-limit",  # the same block gas limit as anvil's: both chains may fill a block alike
            str(BLOCK_GAS_LIMIT),
            *alloc,
        ],
        check=True,
        capture_output=True,
    )
    cfg = net / "node1" / "config.toml"
    text = (
        cfg.read_text()
        + f"\n[txpool]\nmax_per_sender = {max(64, args.txs // len(accounts) + 8)}\nmax_total = {max(8192, args.txs * 2)}\n"
        + f'\n[chain]\nengine = "{args.engine}"\n'
    )
    cfg.write_text(text)
    log = open(workdir / "node.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [*CO3, "node", "start", "--config", str(cfg)], stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_rpc(url, proc)
        # new networks charge a fixed base fee (1000 wei): pay what the node asks, as on anvil
        gas_price = int(rpc(url, "eth_gasPrice"), 16) * 2
        token, chain_id, nonces = prepare(url, accounts, bytecode, gas_price)
        workload = sign_workload(accounts, token, chain_id, gas_price, args.txs, nonces)
        snap0 = proc_snapshot(proc.pid)
        cpu0 = process_cpu(proc.pid)
        clock = SubmitClock(proc.pid)
        with profiled(proc.pid, args, "co3chain"):
            submitted, included, failed, blocks = asyncio.run(
                run_load(url, workload, args.concurrency, args.rate, clock)
            )
        cpu1 = process_cpu(proc.pid)
        snap1 = proc_snapshot(proc.pid)
        res = summarize("co3chain", submitted, included, failed, blocks, cpu0, cpu1)
        clock.fill(res, min(submitted.values()))
        if args.breakdown and snap0 and snap1:
            res.breakdown = breakdown_lines(snap0, snap1, res.txs)
        return res
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def bench_anvil(accounts: list[Any], bytecode: bytes, args: argparse.Namespace) -> Result:
    port = free_port()
    proc = subprocess.Popen(
        [
            str(ANVIL),
            "--port",
            str(port),
            "--hardfork",
            "cancun",
            "--block-time",
            "1",
            "--silent",
            "--gas-limit",
            str(BLOCK_GAS_LIMIT),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_rpc(url, proc)
        for a in accounts:
            rpc(url, "anvil_setBalance", a.address, hex(10**24))
        gas_price = int(rpc(url, "eth_gasPrice"), 16) * 2
        token, chain_id, nonces = prepare(url, accounts, bytecode, gas_price)
        workload = sign_workload(accounts, token, chain_id, gas_price, args.txs, nonces)
        snap0 = proc_snapshot(proc.pid)
        cpu0 = process_cpu(proc.pid)
        clock = SubmitClock(proc.pid)
        submitted, included, failed, blocks = asyncio.run(
            run_load(url, workload, args.concurrency, args.rate, clock)
        )
        cpu1 = process_cpu(proc.pid)
        snap1 = proc_snapshot(proc.pid)
        res = summarize("anvil", submitted, included, failed, blocks, cpu0, cpu1)
        clock.fill(res, min(submitted.values()))
        if args.breakdown and snap0 and snap1:
            res.breakdown = breakdown_lines(snap0, snap1, res.txs)
        return res
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--txs", type=int, default=3000)
    ap.add_argument("--senders", type=int, default=100)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--rate", type=float, default=0.0, help="Offered load in tx/s (0 = as fast as possible).")
    ap.add_argument("--no-anvil", action="store_true")
    ap.add_argument("--engine", choices=["revm", "py-evm"], default="revm", help="co3chain execution engine.")
    ap.add_argument("--json", action="store_true", help="Print results as JSON.")
    ap.add_argument("--breakdown", action="store_true",
                    help="Also print user/system CPU, context switches and CPU per thread (from /proc).")
    ap.add_argument("--pyspy", metavar="DIR", help="Record py-spy raw stacks of the co3chain node into DIR.")
    ap.add_argument("--pyspy-bin", default=shutil.which("py-spy") or "/tmp/pyspy/bin/py-spy")
    ap.add_argument("--pyspy-seconds", type=int, default=10)
    ap.add_argument("--pyspy-gil", action="store_true", help="py-spy: only samples holding the GIL.")
    ap.add_argument("--pyspy-native", action="store_true", help="py-spy: include native frames.")
    ap.add_argument("--perf", action="store_true", help="perf stat -e instructions,... on the node.")
    args = ap.parse_args()
    accounts = make_accounts(args.senders)
    bytecode = compile_token()
    results = []
    workdir = Path(tempfile.mkdtemp(prefix="co3bench-"))
    try:
        results.append(bench_co3chain(accounts, bytecode, args, workdir))
        if not args.no_anvil and ANVIL.exists():
            results.append(bench_anvil(accounts, bytecode, args))
    finally:
        if not os.environ.get("CO3BENCH_KEEP"):
            shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        print(json.dumps([r.__dict__ | {"tps": r.tps, "cpu_us_per_tx": r.cpu_us_per_tx} for r in results], indent=2))
        return
    print(
        f"ERC-20 transfers through JSON-RPC: {args.txs} txs, {args.senders} senders, "
        f"concurrency {args.concurrency}, engine {args.engine}, "
        + (f"offered {args.rate:.0f} tx/s" if args.rate else "unthrottled")
    )
    for r in results:
        cpu = f"  node CPU {r.cpu_us_per_tx:.0f} µs/tx" if r.cpu_us_per_tx is not None else ""
        print(
            f"  {r.name:9s} {r.tps:8.1f} tx/s  ({r.txs} txs in {r.seconds:.2f} s, {r.blocks} blocks, "
            f"{r.failed} rejected)  latency p50 {r.p50 * 1000:.0f} ms  p95 {r.p95 * 1000:.0f} ms{cpu}"
        )
        if r.submit_seconds:
            busy = f", node busy {r.submit_cpu / r.submit_seconds:.2f} CPU-s/s meanwhile" if r.submit_cpu else ""
            if r.client_cpu is not None:
                busy += f" (load generator {r.client_cpu / r.submit_seconds:.2f})"
            seen = ", ".join(f"{t:.2f}" for t in r.block_offsets or [])
            print(f"    submitted in {r.submit_seconds:.2f} s ({r.txs / r.submit_seconds:.0f} tx/s){busy}; "
                  f"blocks seen at +[{seen}] s")
        for line in r.breakdown or []:
            print(line)
    if len(results) == 2:
        print(f"  ratio co3chain/anvil: {results[0].tps / results[1].tps:.2f}")


if __name__ == "__main__":
    main()
