"""Node process housekeeping: OS thread names follow Python's; the garbage collector is tuned once."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from co3chain.node.threadnames import name_os_threads


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="Linux /proc only")
def test_os_threads_get_their_python_names() -> None:
    stop = threading.Event()
    t = threading.Thread(target=stop.wait, name="tx-intake-0-and-a-long-tail")
    t.start()
    try:
        assert name_os_threads() >= 1
        comm = Path(f"/proc/self/task/{t.native_id}/comm").read_text().strip()
        assert comm == "tx-intake-0-and"  # Linux keeps 15 bytes
        assert name_os_threads() == 0  # already named: nothing to do
    finally:
        stop.set()
        t.join()


def _thresholds(env: dict[str, str]) -> str:
    code = (
        "import gc; from co3chain.node.service import tune_gc; tune_gc(); "
        "print(gc.get_threshold(), gc.get_freeze_count() > 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_tune_gc_freezes_start_up_objects_and_raises_thresholds() -> None:
    env = {k: v for k, v in os.environ.items() if k != "CO3CHAIN_GC"}
    assert _thresholds(env) == "(20000, 10, 100) True"
    assert _thresholds(env | {"CO3CHAIN_GC": "default"}) == "(700, 10, 10) False"
