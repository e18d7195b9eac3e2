"""Helpers to run ``co3chain node start`` as a real subprocess in tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from co3chain.keys import load_private_key, read_password
from co3chain.node.cli import init_network

REPO = Path(__file__).resolve().parents[2]
CO3 = [sys.executable, "-m", "co3chain.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rpc(url: str, method: str, *params: Any) -> dict[str, Any]:
    return httpx.post(
        url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}, timeout=30
    ).json()


@dataclass
class NodeProcess:
    config: Path
    url: str
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._fh = open(self.log, "ab")  # noqa: SIM115 - closed in wait()/kill()
        self.proc = subprocess.Popen(
            [*CO3, "node", "start", "--config", str(self.config)],
            stdout=self._fh,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"node exited early ({self.proc.returncode}):\n{self.log.read_text()}")
            try:
                if "result" in rpc(self.url, "eth_blockNumber"):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"node RPC did not come up:\n{self.log.read_text()}")

    def block_number(self) -> int:
        return int(rpc(self.url, "eth_blockNumber")["result"], 16)

    def wait_height(self, n: int, timeout: float = 60) -> int:
        deadline = time.time() + timeout
        while time.time() < deadline:
            h = self.block_number()
            if h >= n:
                return h
            time.sleep(0.2)
        raise AssertionError(f"height {n} not reached")

    def terminate(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(30)
        self._fh.close()
        return code

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(30)
        self._fh.close()


def make_network(tmp_path: Path, **kw: Any) -> tuple[NodeProcess, bytes]:
    """One-validator network in ``tmp_path/net``; returns the node handle and the validator key."""
    port = free_port()
    init_network(tmp_path / "net", 1, 1999, rpc_port=port, p2p_port=free_port(), **kw)
    node_dir = tmp_path / "net" / "node1"
    key = load_private_key(node_dir / "key.json", read_password(node_dir / "password"))
    return NodeProcess(node_dir / "config.toml", f"http://127.0.0.1:{port}", tmp_path / "node.log"), key
