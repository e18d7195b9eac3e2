"""kill -9 during block import must leave the RocksDB data dir at a consistent head."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from co3chain.chain.chain import NodeChain
from tests.chain.helpers import PROBE_ADDR, USERS, make_test_genesis

REPO = Path(__file__).resolve().parents[2]


def _check_consistent(data_dir: Path, at_least: int) -> int:
    chain = NodeChain.open(data_dir, make_test_genesis(1))
    try:
        head = chain.head
        assert head.block_number >= at_least, "a block reported as imported was lost"
        assert head.state_root in chain.store, "head state root missing"
        st = chain.state_at(head)
        assert st.get_storage(PROBE_ADDR, 0) == (head.block_number if head.block_number else 7)
        assert st.get_balance(USERS[2]) == 10**24 + 20 * head.block_number
        for n in range(head.block_number + 1):
            block = chain.get_block_by_number(n)
            assert block is not None and block.number == n
            assert len(chain.get_receipts(block.hash)) == len(block.transactions)
            if n:
                assert block.header.parent_hash == chain.get_header_by_number(n - 1).hash
        assert chain.get_block_by_number(head.block_number + 1) is None
        return head.block_number
    finally:
        chain.close()


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["synced", "deferred"])
def test_kill_9_during_imports_keeps_head_consistent(tmp_path: Path, mode: str) -> None:
    """``deferred``: blocks imported as a syncing node imports them (one fsync per batch of blocks) must
    survive ``kill -9`` all the same: each write reached the operating system before the import returned."""
    rng = random.Random(1234)
    data_dir = tmp_path / "node"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    confirmed = 0
    kills = 0
    for _ in range(5):
        proc = subprocess.Popen(
            [sys.executable, str(REPO / "tests/chain/crash_child.py"), str(data_dir), "1000", mode],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO,
        )
        lines: list[str] = []
        reader = threading.Thread(
            target=lambda p=proc, out=lines: out.extend(iter(p.stdout.readline, "")), daemon=True
        )
        reader.start()
        deadline = time.monotonic() + 60
        while not any(x.startswith("imported") for x in lines) and time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"child exited early: {proc.stderr.read()}")
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 1.5))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        reader.join(timeout=5)
        kills += 1
        imported = [int(x.split()[1]) for x in lines if x.startswith("imported")]
        assert imported, "child never imported a block"
        confirmed = _check_consistent(data_dir, max(imported))
    assert kills == 5 and confirmed >= 5
