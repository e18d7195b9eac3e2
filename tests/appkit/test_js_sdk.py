"""Runs the JavaScript SDK's own test suite (``cd clients/js && npm test``) so ``make test`` covers it.

The npm suite starts its live stack itself (anvil + the suite + the API with its oracle, through
``tests/appkit/js_stack.py``) and checks the client against the live OpenAPI document, a check-in from device
signature to reward and relayed votes signed with viem and ethers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.anvil import ANVIL

REPO = Path(__file__).resolve().parents[2]
JS = REPO / "clients" / "js"
NODE = shutil.which("node")
NPM = shutil.which("npm")

pytestmark = [pytest.mark.slow, pytest.mark.anvil,
              pytest.mark.skipif(NODE is None or NPM is None, reason="node/npm not installed: the JS SDK cannot run"),
              pytest.mark.skipif(not ANVIL.exists(), reason="anvil not installed (npm ci at the repository root)")]


def test_npm_test_of_the_js_sdk_passes() -> None:
    if not (JS / "node_modules" / "viem").exists():
        pytest.fail("clients/js dependencies are not installed: run `make clients-js` (part of `make deps`)")
    env = {**os.environ, "PYTHONPATH": str(REPO), "CO3_PYTHON": str(REPO / ".venv" / "bin" / "python")}
    proc = subprocess.run([str(NPM), "test", "--silent"], cwd=JS, env=env, capture_output=True, text=True,
                          timeout=480)
    assert proc.returncode == 0, f"npm test failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"
    assert "# fail 0" in proc.stdout and "# pass " in proc.stdout, proc.stdout[-3000:]
