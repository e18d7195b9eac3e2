"""anvil, the reference dev node, for side-by-side and compatibility tests: one launcher for every suite.

Why one module: each test package used to start anvil its own way (ports, readiness wait, teardown); a
fix to one (e.g. killing the npm wrapper's process group) never reached the others.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[1]
ANVIL = REPO / "node_modules" / ".bin" / "anvil"
#: anvil's first well-known dev account (funded on every anvil start); never a real key.
ANVIL_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
#: flags that make anvil behave like our permissioned chain: zero base fee and zero gas price
ZERO_FEE_FLAGS = ("--block-base-fee-per-gas", "0", "--gas-price", "0")


class AnvilUnavailable(RuntimeError):
    """anvil is not installed (``npm ci`` installs it) or did not start."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def require_anvil() -> None:
    """Skip the calling test when anvil is not installed (the reference tool is optional)."""
    if not ANVIL.exists():
        pytest.skip(f"anvil not installed at {ANVIL} (run `npm ci`)")


def _ready(url: str) -> bool:
    try:
        body = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=2)
        return "result" in body.json()
    except (httpx.HTTPError, ValueError):
        return False


@contextmanager
def running_anvil(*extra: str, block_time: float | None = None, start_timeout: float = 20.0) -> Iterator[str]:
    """anvil (cancun) on a free port with ``extra`` flags; yields its URL and stops it afterwards.

    The process runs in its own process group: the npm wrapper spawns the real binary, and both go.
    """
    if not ANVIL.exists():
        raise AnvilUnavailable(f"anvil not installed at {ANVIL} (run `npm ci`)")
    port = free_port()
    cmd = [str(ANVIL), "--port", str(port), "--hardfork", "cancun", "--silent", *extra]
    if block_time:
        cmd += ["--block-time", str(block_time)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while not _ready(url):
            if proc.poll() is not None:
                raise AnvilUnavailable(f"anvil exited with code {proc.returncode}")
            if time.monotonic() > deadline:
                raise AnvilUnavailable(f"anvil did not start within {start_timeout:.0f} s")
            time.sleep(0.1)
        yield url
    finally:
        _signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)
            proc.wait()


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
